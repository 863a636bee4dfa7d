package e2e_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// TestMailSurvivesOutageAndRestart: the SMTP server is down when a reset
// is requested, the auth service restarts while the message waits, the
// server comes back: the message arrives, once, and its link works.
// MAIL_RETRY_BACKOFF is lowered from its 5 s default so the retries come
// within seconds.
func TestMailSurvivesOutageAndRestart(t *testing.T) {
	serverBin, _ := binaries(t)
	m := startMailServer(t)
	auth := start(t, serverBin, merge(cheapArgon, m.env(), map[string]string{"DATA_DIR": t.TempDir(), "MAIL_RETRY_BACKOFF": "500ms"}), "/healthz")
	a := registerAndLogin(t, auth.URL, "outage@example.com")
	waitMail(t, m, a.Email, subjVerify) // the path works before the outage

	m.Stop()
	requested := time.Now()
	gql(t, auth.URL, fmt.Sprintf(`mutation { requestPasswordReset(email: %q) }`, a.Email), "")
	retries := func() int { return strings.Count(auth.Logs(), "will retry") }
	testenv.WaitFor(t, "a failed delivery attempt", func() bool { return retries() >= 1 })
	before := retries()
	auth.Restart("/healthz")
	testenv.WaitFor(t, "the restarted service to retry", func() bool { return retries() > before })
	m.Start()

	msg := waitMail(t, m, a.Email, subjReset)
	t.Logf("reset requested during the outage: delivered %s after the request, %d failed attempts logged (%d before the restart)",
		msg.At.Sub(requested).Round(time.Millisecond), retries(), before)
	testenv.WaitFor(t, "the delivery to be recorded", func() bool {
		return strings.Contains(auth.Logs(), `msg="mail: delivered" message_id=`+msg.MessageID)
	})
	path, tok := msg.Link(t)
	if code, body := newBrowser(t, auth.URL).submit(path, tok, url.Values{"password": {"N3w-passphrase!"}}); code != 200 {
		t.Fatalf("the delayed reset link: %d %q; want 200", code, body)
	}
	// The notice is queued after the reset message was marked sent: once
	// it has arrived, the outbox has passed the reset message by.
	waitMail(t, m, a.Email, subjPasswordNote)
	if n := m.Deliveries(msg.MessageID); n != 1 {
		t.Errorf("the reset message (Message-ID %s) was delivered %d times; want once", msg.MessageID, n)
	}
	if d := m.Duplicates(); len(d) > 0 {
		t.Errorf("delivered more than once: %v", d)
	}
}

// TestMailReplicasDeliverOnce: two auth replicas on one PostgreSQL share
// one outbox; each message is delivered once, whichever replica queued or
// claimed it.
func TestMailReplicasDeliverOnce(t *testing.T) {
	serverBin, _ := binaries(t)
	m := startMailServer(t)
	env := merge(cheapArgon, m.env(), map[string]string{"DATABASE_URL": testenv.Postgres(t)})
	reps := startTogether(t, serverBin, []map[string]string{env, env}, "/healthz")

	const n = 24
	for i := range n {
		register(t, reps[i%2].URL, fmt.Sprintf("replica-%02d@example.com", i))
	}
	testenv.WaitFor(t, fmt.Sprintf("%d verification messages", n), func() bool { return len(m.Messages()) >= n })
	// One more message queued on each replica, once the others are in:
	// when both have arrived, each replica has polled past the first n.
	for i, rep := range reps {
		register(t, rep.URL, fmt.Sprintf("last-%d@example.com", i))
	}
	for i := range reps {
		waitMail(t, m, fmt.Sprintf("last-%d@example.com", i), subjVerify)
	}
	for i := range n {
		if got := m.Find(fmt.Sprintf("replica-%02d@example.com", i), subjVerify); len(got) != 1 {
			t.Errorf("replica-%02d@example.com got %d verification messages; want 1", i, len(got))
		}
	}
	if d := m.Duplicates(); len(d) > 0 {
		t.Errorf("delivered more than once: %v", d)
	}
	t.Logf("%d messages delivered once each: %d by replica A, %d by replica B", len(m.Messages()),
		strings.Count(reps[0].Logs(), `msg="mail: delivered"`), strings.Count(reps[1].Logs(), `msg="mail: delivered"`))
}

// register runs the register mutation.
func register(t *testing.T, base, email string) {
	t.Helper()
	var reg struct{ User struct{ ID string } }
	gql(t, base, fmt.Sprintf(`mutation { register(input: {email: %q, password: "Test1234!"}) { user { id } } }`, email), "").field(t, "register", &reg)
}
