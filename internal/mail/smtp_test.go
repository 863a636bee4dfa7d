package mail_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	authmail "github.com/authmesh/authmesh/internal/mail"
	"github.com/authmesh/authmesh/internal/testenv"
)

// received is one message a test SMTP server accepted.
type received struct {
	from, to, user string
	tls            bool
	data           []byte
}

// smtpServer is a real SMTP server on loopback (go-smtp), recording what
// it accepts.
type smtpServer struct {
	addr, port string
	mu         sync.Mutex
	got        []received
	user, pass string // AUTH PLAIN credentials it accepts, when set
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

type serverMode int

const (
	plainOnly   serverMode = iota // no TLS at all
	startTLS                      // offers STARTTLS
	implicitTLS                   // TLS from the first byte (smtps)
)

// startSMTP serves on 127.0.0.1 until the test ends; cert is its TLS
// certificate where mode uses TLS.
func startSMTP(t *testing.T, mode serverMode, cert tls.Certificate, user, pass string) *smtpServer {
	t.Helper()
	return startSMTPAt(t, "127.0.0.1:0", mode, cert, user, pass)
}

// startSMTPAt is startSMTP listening on addr.
func startSMTPAt(t *testing.T, addr string, mode serverMode, cert tls.Certificate, user, pass string) *smtpServer {
	t.Helper()
	s := &smtpServer{user: user, pass: pass}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s, c: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // the client decides; these tests check it does
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var ln net.Listener
	var err error
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case startTLS:
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	case implicitTLS:
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.addr = ln.Addr().String()
	_, s.port, _ = net.SplitHostPort(s.addr)
	return s
}

type smtpSession struct {
	s    *smtpServer
	c    *smtp.Conn
	cur  received
	user string
}

func (x *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.user || pass != x.s.pass {
			return errors.New("bad credentials")
		}
		x.user = user
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.user != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.cur = received{from: from}
	return nil
}
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error { x.cur.to = to; return nil }
func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, x.cur.tls = x.c.TLSConnectionState()
	x.cur.data, x.cur.user = b, x.user
	x.s.mu.Lock()
	x.s.got = append(x.s.got, x.cur)
	x.s.mu.Unlock()
	return nil
}
func (x *smtpSession) Reset()        {}
func (x *smtpSession) Logout() error { return nil }

// testCert is a certificate for localhost, 127.0.0.1 and mail.example,
// and a pool trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ca := testenv.NewCA(t, "test SMTP CA")
	return ca.Certificate("test SMTP", "localhost", "mail.example"), ca.Pool
}

// toLocal dials srv whatever host the configuration names, so a
// non-loopback name is tested without traffic leaving the machine.
func toLocal(srv *smtpServer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.addr)
	}
}

func TestSMTPSend(t *testing.T) {
	cert, roots := testCert(t)
	env, err := authmail.Compose("no-reply@auth.example", authmail.Message{To: "ada@example.com", Subject: "Verify", Text: "t", HTML: "<p>h</p>"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		mode       serverMode
		url        string // %s: the server's port
		user, pass string // what the server accepts
		remote     bool   // name a non-loopback host (dialled locally)
		wantErr    error  // nil: delivered
		wantTLS    bool
	}{
		{name: "loopback without STARTTLS", mode: plainOnly, url: "smtp://127.0.0.1:%s"},
		{name: "loopback takes STARTTLS when offered", mode: startTLS, url: "smtp://localhost:%s", wantTLS: true},
		{name: "remote without STARTTLS is refused", mode: plainOnly, url: "smtp://mail.example:%s", remote: true, wantErr: authmail.ErrNoSTARTTLS},
		{name: "remote with STARTTLS and AUTH", mode: startTLS, url: "smtp://ada:s3cret@mail.example:%s", user: "ada", pass: "s3cret", remote: true, wantTLS: true},
		{name: "implicit TLS", mode: implicitTLS, url: "smtps://ada:s3cret@mail.example:%s", user: "ada", pass: "s3cret", remote: true, wantTLS: true},
		{name: "wrong password", mode: startTLS, url: "smtp://ada:wrong@localhost:%s", user: "ada", pass: "s3cret", wantErr: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, tc.mode, cert, tc.user, tc.pass)
			cfg, err := authmail.ParseSMTPURL(fmt.Sprintf(tc.url, srv.port))
			if err != nil {
				t.Fatal(err)
			}
			cfg.TLS = &tls.Config{RootCAs: roots}
			if tc.remote {
				cfg.Dial = toLocal(srv)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = authmail.NewSMTP(cfg).Send(ctx, env)
			got := srv.messages()
			switch {
			case tc.wantErr == errAny:
				if err == nil || len(got) != 0 {
					t.Fatalf("got %v, %d delivered; want an error and nothing delivered", err, len(got))
				}
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) || len(got) != 0 {
					t.Fatalf("got %v, %d delivered; want %v and nothing delivered", err, len(got), tc.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d messages delivered; want 1", len(got))
			}
			m := got[0]
			if m.from != env.From || m.to != env.To || string(m.data) != string(env.Data) || m.tls != tc.wantTLS || m.user != tc.user {
				t.Errorf("delivered from %q to %q tls=%v user=%q (%d bytes); want %q %q tls=%v user=%q (%d bytes)",
					m.from, m.to, m.tls, m.user, len(m.data), env.From, env.To, tc.wantTLS, tc.user, len(env.Data))
			}
		})
	}
}

// errAny stands for "some error" in the table.
var errAny = errors.New("any error")

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		in                       string
		host, port, user, secret string
		implicit, bad            bool
	}{
		{in: "smtp://mail.example", host: "mail.example", port: "587"},
		{in: "smtp://u:p%40ss@mail.example:2525", host: "mail.example", port: "2525", user: "u", secret: "p@ss"},
		{in: "smtps://mail.example", host: "mail.example", port: "465", implicit: true},
		{in: "smtp://[::1]:25", host: "::1", port: "25"},
		{in: "http://mail.example", bad: true},
		{in: "mail.example:587", bad: true},
		{in: "smtp://", bad: true},
		{in: "smtp://mail.example/path", bad: true},
		{in: "smtp://mail.example?x=1", bad: true},
	} {
		c, err := authmail.ParseSMTPURL(tc.in)
		if tc.bad {
			if !errors.Is(err, authmail.ErrSMTPURL) {
				t.Errorf("%q: got %v; want ErrSMTPURL", tc.in, err)
			}
			continue
		}
		if err != nil || c.Host != tc.host || c.Port != tc.port || c.Username != tc.user || c.Password != tc.secret || c.Implicit != tc.implicit {
			t.Errorf("%q: got %+v, %v", tc.in, c, err)
		}
	}
}
