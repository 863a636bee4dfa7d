package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	authmail "github.com/authmesh/authmesh/internal/mail"
	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/testenv"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// outboxEnv is an outbox over a real SQLite store, delivering over SMTP to
// 127.0.0.1:port, where a test may or may not run a server.
type outboxEnv struct {
	db    *store.DB
	clock *fakeClock
	ob    *authmail.Outbox
	reg   *prometheus.Registry
	log   *testenv.LogBuffer
	addr  string
}

func newOutboxEnv(t *testing.T) *outboxEnv {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "auth.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &outboxEnv{db: db, clock: &fakeClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}, reg: prometheus.NewRegistry(), log: new(testenv.LogBuffer)}
	e.addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	host, port, _ := net.SplitHostPort(e.addr)
	sender := authmail.NewSMTP(authmail.SMTPConfig{Host: host, Port: port})
	e.ob, err = authmail.NewOutbox(db, sender, authmail.OutboxConfig{
		Clock: e.clock.Now, Logger: slog.New(slog.NewTextHandler(e.log, nil)), Metrics: e.reg,
		MinBackoff: time.Second, MaxBackoff: 8 * time.Second, GiveUpAfter: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *outboxEnv) enqueue(t *testing.T, secret string) authmail.Envelope {
	t.Helper()
	env, err := authmail.Compose("no-reply@auth.example", authmail.Message{To: "ada@example.com", Subject: "Reset your password", Text: "token=" + secret, HTML: "<p>token=" + secret + "</p>"}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.EnqueueMail(context.Background(), env, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	return env
}

func (e *outboxEnv) deliverDue(t *testing.T) int {
	t.Helper()
	n, err := e.ob.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOutboxRidesThroughAnSMTPOutage: while the SMTP server is down each
// attempt fails and the next waits twice as long (capped); once it is back
// the message is delivered exactly once, with its Message-ID.
func TestOutboxRidesThroughAnSMTPOutage(t *testing.T) {
	e := newOutboxEnv(t)
	const secret = "tok-3f9c2a"
	env := e.enqueue(t, secret)
	e.deliverDue(t) // attempt 1: nobody listens
	var waits []time.Duration
	last := e.clock.Now()
	for len(waits) < 5 {
		e.clock.Add(250 * time.Millisecond)
		if e.deliverDue(t) == 1 {
			waits = append(waits, e.clock.Now().Sub(last))
			last = e.clock.Now()
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range waits {
		if w != want[i] {
			t.Errorf("wait after attempt %d: %s; want %s (backoff doubles, capped at 8s)", i+1, w, want[i])
		}
	}
	if got := counter(t, e.reg, "authmesh_mail_retries_total"); got != 6 {
		t.Errorf("retries counted: %v; want 6", got)
	}

	srv := startSMTPAt(t, e.addr, plainOnly, tls.Certificate{}, "", "")
	for len(srv.messages()) == 0 {
		e.clock.Add(time.Second)
		e.deliverDue(t)
	}
	e.clock.Add(time.Hour)
	e.deliverDue(t)
	got := srv.messages()
	if len(got) != 1 || !bytes.Equal(got[0].data, env.Data) || !strings.Contains(string(got[0].data), env.ID) {
		t.Fatalf("%d delivered; want the message once, as queued", len(got))
	}
	if v := counter(t, e.reg, "authmesh_mail_sent_total"); v != 1 {
		t.Errorf("sent counted %v; want 1", v)
	}
	if strings.Contains(e.log.String(), secret) {
		t.Errorf("the log shows the message body:\n%s", e.log.String())
	}
}

// TestOutboxGivesUp: a message failing past GiveUpAfter ends as failed,
// logged and counted, and is never tried again.
func TestOutboxGivesUp(t *testing.T) {
	e := newOutboxEnv(t)
	env := e.enqueue(t, "tok")
	e.deliverDue(t)
	e.clock.Add(time.Hour)
	if n := e.deliverDue(t); n != 1 {
		t.Fatalf("claimed %d; want the message", n)
	}
	if v := counter(t, e.reg, "authmesh_mail_failed_total"); v != 1 {
		t.Errorf("failed counted %v; want 1", v)
	}
	if out := e.log.String(); !strings.Contains(out, "giving up") || !strings.Contains(out, env.ID) {
		t.Errorf("log lacks the give-up of %s:\n%s", env.ID, out)
	}
	srv := startSMTPAt(t, e.addr, plainOnly, tls.Certificate{}, "", "")
	e.clock.Add(48 * time.Hour)
	if n := e.deliverDue(t); n != 0 || len(srv.messages()) != 0 {
		t.Errorf("a failed message was tried again")
	}
}

// counter reads a registered counter's value.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("%s not registered", name)
	return 0
}

// blockingSender holds every delivery until its context ends, as a slow
// SMTP server would while the service shuts down.
type blockingSender struct{ started chan struct{} }

func (b blockingSender) Send(ctx context.Context, _ authmail.Envelope) error {
	b.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestOutboxHandsBackAtShutdown: a delivery cut short by shutdown is
// handed back at once, so a restarted service retries it at its next
// poll instead of when the 5-minute lease ends.
func TestOutboxHandsBackAtShutdown(t *testing.T) {
	e := newOutboxEnv(t)
	env := e.enqueue(t, "tok")
	b := blockingSender{started: make(chan struct{}, 1)}
	ob, err := authmail.NewOutbox(e.db, b, authmail.OutboxConfig{Clock: e.clock.Now, Logger: slog.New(slog.NewTextHandler(e.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := ob.DeliverDue(ctx); done <- err }()
	<-b.started
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("DeliverDue at shutdown: %v; want context.Canceled", err)
	}

	srv := startSMTPAt(t, e.addr, plainOnly, tls.Certificate{}, "", "")
	if n := e.deliverDue(t); n != 1 {
		t.Fatalf("claimed %d right after the shutdown; want the handed-back message", n)
	}
	if got := srv.messages(); len(got) != 1 || !bytes.Equal(got[0].data, env.Data) {
		t.Fatalf("%d delivered; want the message once", len(got))
	}
}
