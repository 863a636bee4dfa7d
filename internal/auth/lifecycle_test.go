package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/mail"
	"github.com/authmesh/authmesh/internal/ratelimit"
	"github.com/authmesh/authmesh/internal/token"
)

// letters composes with internal/mail, as the server does, and remembers
// each letter by its Message-ID so a test can read what was enqueued.
type letters struct {
	mu    sync.Mutex
	calls int
	byID  map[string]auth.Letter
}

func (l *letters) Compose(x auth.Letter, now time.Time) (auth.Mail, error) {
	env, err := mail.Compose("authmesh <no-reply@auth.test>", mail.Message{To: x.To, Subject: x.Subject, Text: x.Text, HTML: x.HTML}, now)
	if err != nil {
		return auth.Mail{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.byID[env.ID] = x
	return auth.Mail{ID: env.ID, From: env.From, To: env.To, Subject: env.Subject, Data: env.Data}, nil
}

// mailEnv is an env whose service sends mail, with the log captured.
type mailEnv struct {
	*env
	letters *letters
	log     *bytes.Buffer
	logMu   *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newMailEnv(t *testing.T, dsn string, edit func(*auth.Config)) *mailEnv {
	t.Helper()
	e := newEnv(t, dsn)
	m := &mailEnv{env: e, letters: &letters{byID: map[string]auth.Letter{}}, log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	cfg := e.cfg
	cfg.Mail = auth.MailConfig{Tokens: e.db, Composer: m.letters, PublicURL: "https://auth.test/"}
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{m.logMu, m.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if edit != nil {
		edit(&cfg)
	}
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, e.cfg = svc, cfg
	return m
}

// mailed returns the letters enqueued since the last call, oldest first.
func (m *mailEnv) mailed(t *testing.T) []auth.Letter {
	t.Helper()
	q, err := m.db.ClaimMail(context.Background(), m.clock.Now().Add(1000*time.Hour), 10000*time.Hour, 1000)
	if err != nil {
		t.Fatal(err)
	}
	m.letters.mu.Lock()
	defer m.letters.mu.Unlock()
	var out []auth.Letter
	for _, x := range q {
		out = append(out, m.letters.byID[x.Envelope.ID])
	}
	return out
}

var linkRE = regexp.MustCompile(`https://auth\.test/(verify-email|reset-password)\?token=([A-Za-z0-9_-]+)`)

// one returns the token of the one letter mailed since the last call,
// checking its recipient, subject and link path.
func (m *mailEnv) one(t *testing.T, to, subject, path string) string {
	t.Helper()
	got := m.mailed(t)
	if len(got) != 1 || got[0].To != to || got[0].Subject != subject {
		t.Fatalf("mailed: got %+v; want one %q letter to %s", got, subject, to)
	}
	if path == "" {
		return ""
	}
	match := linkRE.FindStringSubmatch(got[0].Text)
	if match == nil || match[1] != path || !strings.Contains(got[0].HTML, match[0]) {
		t.Fatalf("letter %q: no %s link in both parts:\n%s", subject, path, got[0].Text)
	}
	if len(match[2]) < 22 {
		t.Fatalf("token %q: want at least 128 bits", match[2])
	}
	return match[2]
}

func (m *mailEnv) register(t *testing.T, email, pw string) auth.User {
	t.Helper()
	u, err := m.svc.Register(context.Background(), email, pw, m.clients)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u
}

// TestVerifyEmail: register mails a link; consuming it verifies the
// address, which me, login and the access token's email_verified claim
// then show; the link works once.
func TestVerifyEmail(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		m := newMailEnv(t, dsn, nil)
		ctx := context.Background()
		m.register(t, "vera@example.com", "Test1234!")
		raw := m.one(t, "vera@example.com", auth.SubjectVerifyEmail, "verify-email")
		r, err := m.svc.Login(ctx, "vera@example.com", "Test1234!", m.clients)
		if err != nil || r.EmailVerified {
			t.Fatalf("login before verifying: got %+v, %v; want emailVerified false", r, err)
		}
		if c, _ := m.verify.Verify(r.Token, token.TypeAccess); c.EmailVerified {
			t.Errorf("access token before verifying: email_verified true")
		}
		if err := m.svc.VerifyEmail(ctx, raw); err != nil {
			t.Fatalf("VerifyEmail: %v", err)
		}
		wantCode(t, m.svc.VerifyEmail(ctx, raw), auth.CodeInvalidToken)
		me, err := m.svc.Me(ctx, m.caller(t, r.Token))
		if err != nil || !me.EmailVerified() {
			t.Fatalf("me after verifying: got %+v, %v; want verified", me, err)
		}
		r, err = m.svc.Login(ctx, "vera@example.com", "Test1234!", m.clients)
		if err != nil || !r.EmailVerified {
			t.Fatalf("login after verifying: got %+v, %v; want emailVerified", r, err)
		}
		if c, _ := m.verify.Verify(r.Token, token.TypeAccess); !c.EmailVerified {
			t.Errorf("access token after verifying: email_verified false")
		}
		// Verified: a request sends nothing.
		if err := m.svc.RequestEmailVerification(ctx, m.caller(t, r.Token)); err != nil {
			t.Fatal(err)
		}
		if got := m.mailed(t); len(got) != 0 {
			t.Errorf("request when verified: mailed %+v; want nothing", got)
		}
	})
}

// TestBadLinksAreRefused: expired, reused, tampered, superseded, unknown
// and wrong-purpose tokens are refused with a code and a message a person
// can act on, and leave the account unverified.
func TestBadLinksAreRefused(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		m := newMailEnv(t, dsn, nil)
		ctx := context.Background()
		m.register(t, "bad@example.com", "Test1234!")
		first := m.one(t, "bad@example.com", auth.SubjectVerifyEmail, "verify-email")
		r, err := m.svc.Login(ctx, "bad@example.com", "Test1234!", m.clients)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.svc.RequestEmailVerification(ctx, m.caller(t, r.Token)); err != nil {
			t.Fatal(err)
		}
		second := m.one(t, "bad@example.com", auth.SubjectVerifyEmail, "verify-email")
		if err := m.svc.RequestPasswordReset(ctx, "bad@example.com", m.clients); err != nil {
			t.Fatal(err)
		}
		reset := m.one(t, "bad@example.com", auth.SubjectResetPassword, "reset-password")
		unknown, _ := auth.NewAccountToken()
		tampered := []byte(second)
		tampered[5] ^= 1
		for _, tc := range []struct {
			name, raw string
			code      auth.Code
		}{
			{"superseded", first, auth.CodeInvalidToken},
			{"tampered", string(tampered), auth.CodeInvalidToken},
			{"unknown", unknown, auth.CodeInvalidToken},
			{"garbage", "not a token", auth.CodeInvalidToken},
			{"empty", "", auth.CodeInvalidToken},
			{"too long", strings.Repeat("A", 5000), auth.CodeInvalidToken},
			{"reset token", reset, auth.CodeInvalidToken},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := m.svc.VerifyEmail(ctx, tc.raw)
				wantCode(t, err, tc.code)
				if msg := auth.ErrorMessage(err); !strings.Contains(msg, "Request a new one") {
					t.Errorf("message %q: want one that says what to do", msg)
				}
			})
		}
		m.clock.Add(auth.DefaultEmailVerificationTTL)
		wantCode(t, m.svc.VerifyEmail(ctx, second), auth.CodeTokenExpired)
		wantCode(t, m.svc.ResetPassword(ctx, reset, "New-pass-1234"), auth.CodeTokenExpired)
		if u, _ := m.db.UserByEmail(ctx, "bad@example.com"); u.EmailVerified() {
			t.Errorf("a refused link verified the address")
		}
	})
}

// TestResetPassword: the reset link sets a policy-abiding password, ends
// every session (old access tokens rejected by validators, old refresh
// token refused), spends the account's other links and mails a notice.
func TestResetPassword(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		m := newMailEnv(t, dsn, nil)
		ctx := context.Background()
		m.register(t, "rita@example.com", "Test1234!")
		verifyLink := m.one(t, "rita@example.com", auth.SubjectVerifyEmail, "verify-email")
		old, err := m.svc.Login(ctx, "rita@example.com", "Test1234!", m.clients)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.svc.RequestPasswordReset(ctx, " RITA@example.com ", m.clients); err != nil {
			t.Fatal(err)
		}
		raw := m.one(t, "rita@example.com", auth.SubjectResetPassword, "reset-password")
		wantCode(t, m.svc.ResetPassword(ctx, raw, "short"), auth.CodeBadUserInput)
		m.clock.Add(2 * time.Second)
		if err := m.svc.ResetPassword(ctx, raw, "New-pass-1234"); err != nil {
			t.Fatalf("ResetPassword (after a refused weak password, the link still works): %v", err)
		}
		m.one(t, "rita@example.com", auth.SubjectPasswordChanged, "")
		wantCode(t, m.svc.ResetPassword(ctx, raw, "Other-pass-1234"), auth.CodeInvalidToken)
		wantCode(t, m.svc.VerifyEmail(ctx, verifyLink), auth.CodeInvalidToken)
		if !m.rejected(t, old.Token) {
			t.Errorf("an access token from before the reset is still accepted by validators")
		}
		_, err = m.svc.Refresh(ctx, old.RefreshToken, m.clients)
		wantCode(t, err, auth.CodeUnauthenticated)
		_, err = m.svc.Login(ctx, "rita@example.com", "Test1234!", m.clients)
		wantCode(t, err, auth.CodeInvalidCredentials)
		if r, err := m.svc.Login(ctx, "rita@example.com", "New-pass-1234", m.clients); err != nil || !r.EmailVerified {
			t.Fatalf("login with the new password: %+v, %v; want a verified address (the reset link proved it)", r, err)
		}
	})
}

// TestChangePasswordSpendsLinks: a password change voids pending links.
func TestChangePasswordSpendsLinks(t *testing.T) {
	m := newMailEnv(t, "sqlite:"+t.TempDir()+"/auth.db", nil)
	ctx := context.Background()
	m.register(t, "carl@example.com", "Test1234!")
	verifyLink := m.one(t, "carl@example.com", auth.SubjectVerifyEmail, "verify-email")
	r, err := m.svc.Login(ctx, "carl@example.com", "Test1234!", m.clients)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.svc.ChangePassword(ctx, m.caller(t, r.Token), "Test1234!", "New-pass-1234"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.svc.VerifyEmail(ctx, verifyLink), auth.CodeInvalidToken)
}

// counting wraps the store and the hasher to count the work a request does.
type counting struct {
	auth.Users
	auth.AccountTokens
	auth.Passwords
	mu    sync.Mutex
	calls []string
}

func (c *counting) note(s string) { c.mu.Lock(); c.calls = append(c.calls, s); c.mu.Unlock() }

func (c *counting) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	c.note("UserByEmail")
	return c.Users.UserByEmail(ctx, email)
}

func (c *counting) UserByID(ctx context.Context, id string) (auth.User, error) {
	c.note("UserByID")
	return c.Users.UserByID(ctx, id)
}

func (c *counting) IssueAccountToken(ctx context.Context, t auth.AccountToken, mails ...auth.Mail) error {
	c.note("IssueAccountToken")
	return c.AccountTokens.IssueAccountToken(ctx, t, mails...)
}

func (c *counting) QueueMail(ctx context.Context, now time.Time, mails ...auth.Mail) error {
	c.note("QueueMail")
	return c.AccountTokens.QueueMail(ctx, now, mails...)
}

func (c *counting) Hash(ctx context.Context, pw string) (string, error) {
	c.note("Hash")
	return c.Passwords.Hash(ctx, pw)
}

func (c *counting) Verify(ctx context.Context, pw, enc string) (bool, bool, error) {
	c.note("Verify")
	return c.Passwords.Verify(ctx, pw, enc)
}

func (c *counting) VerifyDummy(ctx context.Context, pw string) {
	c.note("VerifyDummy")
	c.Passwords.VerifyDummy(ctx, pw)
}

// TestPasswordResetDoesTheSameWork: a reset request for an existing and
// for an unknown address answers alike after the same work (store calls,
// letters composed, password hashes), counted rather than timed; only the
// outbox differs, where the caller cannot look.
func TestPasswordResetDoesTheSameWork(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		var c *counting
		m := newMailEnv(t, dsn, func(cfg *auth.Config) {
			c = &counting{Users: cfg.Users, AccountTokens: cfg.Mail.Tokens, Passwords: cfg.Passwords}
			cfg.Users, cfg.Mail.Tokens, cfg.Passwords = c, c, c
		})
		ctx := context.Background()
		m.register(t, "known@example.com", "Test1234!")
		m.mailed(t)
		work := func(email string) (calls []string, composed int, err error) {
			c.mu.Lock()
			c.calls = nil
			c.mu.Unlock()
			m.letters.mu.Lock()
			before := m.letters.calls
			m.letters.mu.Unlock()
			err = m.svc.RequestPasswordReset(ctx, email, m.clients)
			m.letters.mu.Lock()
			defer m.letters.mu.Unlock()
			return c.calls, m.letters.calls - before, err
		}
		kCalls, kComposed, kErr := work("known@example.com")
		uCalls, uComposed, uErr := work("unknown@example.com")
		if kErr != nil || uErr != nil {
			t.Fatalf("answers: known %v, unknown %v; want both nil", kErr, uErr)
		}
		if strings.Join(kCalls, ",") != strings.Join(uCalls, ",") || kComposed != uComposed || kComposed != 1 {
			t.Errorf("work: known %v + %d letters, unknown %v + %d letters; want the same", kCalls, kComposed, uCalls, uComposed)
		}
		if got := m.mailed(t); len(got) != 1 || got[0].To != "known@example.com" || got[0].Subject != auth.SubjectResetPassword {
			t.Errorf("outbox: got %+v; want the one reset letter to the known address", got)
		}
	})
}

// TestMailRequestsAreLimited: reset requests are limited per address
// (known or not) and per client with the service's limiter.
func TestMailRequestsAreLimited(t *testing.T) {
	lim, err := ratelimit.NewLogin(ratelimit.NewMemory(nil, 0), ratelimit.Config{
		MailAddress: ratelimit.Limit{Rate: 2, Period: time.Hour}, MailClient: ratelimit.Limit{Rate: 2, Period: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := newMailEnv(t, "sqlite:"+t.TempDir()+"/auth.db", func(cfg *auth.Config) { cfg.Limiter = lim })
	ctx := context.Background()
	a := auth.ClientInfo{IP: "192.0.2.10"}
	b := auth.ClientInfo{IP: "192.0.2.20"}
	for i, tc := range []struct {
		email  string
		client auth.ClientInfo
		code   auth.Code
	}{
		{"nobody@example.com", a, ""},
		{"nobody@example.com", b, ""},
		{"nobody@example.com", b, auth.CodeRateLimited}, // the address's 2
		{"other@example.com", a, ""},
		{"third@example.com", a, auth.CodeRateLimited}, // client a's 2
	} {
		err := m.svc.RequestPasswordReset(ctx, tc.email, tc.client)
		if tc.code == "" && err != nil || tc.code != "" && auth.ErrorCode(err) != tc.code {
			t.Errorf("request %d (%s from %s): got %v; want code %q", i, tc.email, tc.client.IP, err, tc.code)
		}
	}
}

// TestRequireVerifiedEmail: login refuses an unverified account (only
// with the right password) and mails a fresh link; register answers a
// taken address like a new one, notifying a verified owner, and letting a
// registrant who confirms the address replace an unverified holder.
func TestRequireVerifiedEmail(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		m := newMailEnv(t, dsn, func(cfg *auth.Config) { cfg.Mail.RequireVerifiedEmail = true })
		ctx := context.Background()
		m.register(t, "owner@example.com", "Test1234!")
		m.mailed(t)
		_, err := m.svc.Login(ctx, "owner@example.com", "wrong-pass-1", m.clients)
		wantCode(t, err, auth.CodeInvalidCredentials)
		_, err = m.svc.Login(ctx, "owner@example.com", "Test1234!", m.clients)
		wantCode(t, err, auth.CodeEmailNotVerified)
		fresh := m.one(t, "owner@example.com", auth.SubjectVerifyEmail, "verify-email")
		if err := m.svc.VerifyEmail(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		if _, err := m.svc.Login(ctx, "owner@example.com", "Test1234!", m.clients); err != nil {
			t.Fatalf("login once verified: %v", err)
		}

		// A taken, verified address: the same answer, and a notice.
		newU := m.register(t, "fresh@example.com", "Test1234!")
		m.mailed(t)
		takenU := m.register(t, "owner@example.com", "Other-1234!")
		if takenU.Email != newU.Email[:0]+"owner@example.com" || takenU.ID == "" || takenU.CreatedAt.IsZero() || takenU.EmailVerified() {
			t.Errorf("register of a taken address: got %+v; want an answer shaped like a new account's", takenU)
		}
		m.one(t, "owner@example.com", auth.SubjectRegisterAttempt, "")
		if _, err := m.svc.Login(ctx, "owner@example.com", "Test1234!", m.clients); err != nil {
			t.Fatalf("the owner's password must still work: %v", err)
		}

		// A squatter holds an address without verifying it; its owner
		// registers and confirms first.
		m.register(t, "victim@example.com", "Squat-1234!")
		m.mailed(t) // to the victim's mailbox; the squatter cannot read it
		m.register(t, "victim@example.com", "Mine-1234!")
		link := m.one(t, "victim@example.com", auth.SubjectVerifyEmail, "verify-email")
		if err := m.svc.VerifyEmail(ctx, link); err != nil {
			t.Fatalf("confirming the pending registration: %v", err)
		}
		r, err := m.svc.Login(ctx, "victim@example.com", "Mine-1234!", m.clients)
		if err != nil || !r.EmailVerified {
			t.Fatalf("the registrant's login: got %+v, %v; want a verified account", r, err)
		}
		_, err = m.svc.Login(ctx, "victim@example.com", "Squat-1234!", m.clients)
		wantCode(t, err, auth.CodeInvalidCredentials)
	})
}

// TestTokensNeverLogged: no token of a mailed link appears in the
// service's log, whatever the flow.
func TestTokensNeverLogged(t *testing.T) {
	m := newMailEnv(t, "sqlite:"+t.TempDir()+"/auth.db", func(cfg *auth.Config) { cfg.Mail.RequireVerifiedEmail = true })
	ctx := context.Background()
	var tokens []string
	m.register(t, "log@example.com", "Test1234!")
	tokens = append(tokens, m.one(t, "log@example.com", auth.SubjectVerifyEmail, "verify-email"))
	_, _ = m.svc.Login(ctx, "log@example.com", "Test1234!", m.clients)
	tokens = append(tokens, m.one(t, "log@example.com", auth.SubjectVerifyEmail, "verify-email"))
	_ = m.svc.VerifyEmail(ctx, tokens[0]) // superseded: refused
	if err := m.svc.VerifyEmail(ctx, tokens[1]); err != nil {
		t.Fatal(err)
	}
	_ = m.svc.RequestPasswordReset(ctx, "log@example.com", m.clients)
	tokens = append(tokens, m.one(t, "log@example.com", auth.SubjectResetPassword, "reset-password"))
	if err := m.svc.ResetPassword(ctx, tokens[2], "New-pass-1234"); err != nil {
		t.Fatal(err)
	}
	err := m.svc.ResetPassword(ctx, tokens[2], "New-pass-5678")
	m.logMu.Lock()
	defer m.logMu.Unlock()
	out := m.log.String()
	if !strings.Contains(out, "password reset") {
		t.Fatalf("log: want the flows' lines, got:\n%s", out)
	}
	for _, raw := range tokens {
		if strings.Contains(out, raw) || strings.Contains(err.Error(), raw) || strings.Contains(out, auth.HashAccountToken(raw)) {
			t.Errorf("token %s… appears in the log or an error", raw[:6])
		}
	}
	if errors.Is(err, nil) {
		t.Fatal("reused reset: want an error")
	}
}

// TestRegisterTakenIsMailLimited: under REQUIRE_VERIFIED_EMAIL, register
// of a taken address cannot flood its owner's mailbox: beyond the mail
// limit the answer is the same and nothing is sent.
func TestRegisterTakenIsMailLimited(t *testing.T) {
	lim, err := ratelimit.NewLogin(ratelimit.NewMemory(nil, 0), ratelimit.Config{MailAddress: ratelimit.Limit{Rate: 1, Period: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	m := newMailEnv(t, "sqlite:"+t.TempDir()+"/auth.db", func(cfg *auth.Config) {
		cfg.Limiter, cfg.Mail.RequireVerifiedEmail = lim, true
	})
	m.register(t, "busy@example.com", "Test1234!")
	m.mailed(t)
	for i := range 3 {
		if u := m.register(t, "busy@example.com", "Other-1234!"); u.Email != "busy@example.com" || u.ID == "" {
			t.Fatalf("register %d: got %+v; want a new account's answer", i, u)
		}
	}
	if got := m.mailed(t); len(got) != 1 {
		t.Errorf("mailed: got %d letters; want 1 (the limit)", len(got))
	}
}
