package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/auth"
)

// changeLetters splits the letters of one changeEmail: the link to the new
// address (its token) and the notice to the old one.
func (m *mailEnv) changeLetters(t *testing.T, oldEmail, newEmail string) string {
	t.Helper()
	got := m.mailed(t)
	var tok string
	var noticed bool
	for _, l := range got {
		switch {
		case l.To == newEmail && l.Subject == auth.SubjectVerifyEmail:
			match := linkRE.FindStringSubmatch(l.Text)
			if match == nil || match[1] != "verify-email" || !strings.Contains(l.HTML, match[0]) {
				t.Fatalf("the new address's letter has no verify-email link in both parts:\n%s", l.Text)
			}
			tok = match[2]
		case l.To == oldEmail && l.Subject == auth.SubjectEmailChanging:
			if !strings.Contains(l.Text, newEmail) {
				t.Errorf("the notice does not name the new address:\n%s", l.Text)
			}
			noticed = true
		default:
			t.Errorf("unexpected letter %q to %s", l.Subject, l.To)
		}
	}
	if tok == "" || !noticed || len(got) != 2 {
		t.Fatalf("mailed %d letters (link: %v, notice: %v); want a link to %s and a notice to %s", len(got), tok != "", noticed, newEmail, oldEmail)
	}
	return tok
}

// TestChangeEmail: the password is required; the address changes only
// when the link mailed to the new address is consumed, which leaves it
// verified; the old address is told; login then takes the new address.
func TestChangeEmail(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		m := newMailEnv(t, dsn, nil)
		ctx := context.Background()
		r := m.signup(t, "old@example.com")
		m.mailed(t) // the registration's verification letter
		c := m.caller(t, r.Token)

		for _, tc := range []struct {
			name, email, password string
			code                  auth.Code
		}{
			{"wrong password", "new@example.com", "Wrong1234!", auth.CodeInvalidCredentials},
			{"same address", "OLD@example.com", "Test1234!", auth.CodeBadUserInput},
			{"not an address", "new@", "Test1234!", auth.CodeBadUserInput},
		} {
			if err := m.svc.ChangeEmail(ctx, c, tc.email, tc.password); auth.ErrorCode(err) != tc.code {
				t.Errorf("%s: got %v; want %s", tc.name, err, tc.code)
			}
		}
		if got := m.mailed(t); len(got) != 0 {
			t.Fatalf("refused changes mailed %d letters", len(got))
		}

		if err := m.svc.ChangeEmail(ctx, c, "New@Example.com", "Test1234!"); err != nil {
			t.Fatal(err)
		}
		raw := m.changeLetters(t, "old@example.com", "new@example.com")
		if u, _ := m.svc.Me(ctx, c); u.Email != "old@example.com" {
			t.Fatalf("before the link is used: email %q; want the old one", u.Email)
		}
		if _, err := m.svc.Login(ctx, "new@example.com", "Test1234!", m.clients); auth.ErrorCode(err) != auth.CodeInvalidCredentials {
			t.Fatalf("login with the new address before confirming: %v", err)
		}
		if err := m.svc.VerifyEmail(ctx, raw); err != nil {
			t.Fatalf("VerifyEmail(change_email): %v", err)
		}
		u, _ := m.svc.Me(ctx, c)
		if u.Email != "new@example.com" || !u.EmailVerified() {
			t.Fatalf("after the link: %+v; want new@example.com, verified", u)
		}
		if _, err := m.svc.Login(ctx, "new@example.com", "Test1234!", m.clients); err != nil {
			t.Fatalf("login with the new address: %v", err)
		}
		if _, err := m.svc.Login(ctx, "old@example.com", "Test1234!", m.clients); auth.ErrorCode(err) != auth.CodeInvalidCredentials {
			t.Fatalf("login with the old address: %v", err)
		}
		if err := m.svc.VerifyEmail(ctx, raw); auth.ErrorCode(err) != auth.CodeInvalidToken {
			t.Errorf("the link again: %v; want INVALID_TOKEN", err)
		}
		if strings.Contains(m.log.String(), raw) {
			t.Error("the log holds the link's token")
		}
	})
}

// TestChangeEmailTaken: an address another account has is EMAIL_TAKEN at
// once; one taken between the request and the link is refused when the
// link is used, and the account keeps its address.
func TestChangeEmailTaken(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		m := newMailEnv(t, dsn, nil)
		ctx := context.Background()
		c := m.caller(t, m.signup(t, "mover@example.com").Token)
		m.signup(t, "holder@example.com")
		m.mailed(t)
		if err := m.svc.ChangeEmail(ctx, c, "holder@example.com", "Test1234!"); auth.ErrorCode(err) != auth.CodeEmailTaken {
			t.Fatalf("change to a taken address: %v; want EMAIL_TAKEN", err)
		}

		if err := m.svc.ChangeEmail(ctx, c, "race@example.com", "Test1234!"); err != nil {
			t.Fatal(err)
		}
		raw := m.changeLetters(t, "mover@example.com", "race@example.com")
		m.register(t, "race@example.com", "Test1234!") // someone else, meanwhile
		if err := m.svc.VerifyEmail(ctx, raw); auth.ErrorCode(err) != auth.CodeEmailTaken || !strings.Contains(err.Error(), "keeps its current address") {
			t.Fatalf("the link once the address is taken: %v; want EMAIL_TAKEN saying the account keeps its address", err)
		}
		if u, _ := m.svc.Me(ctx, c); u.Email != "mover@example.com" {
			t.Errorf("email %q; want the account to keep its address", u.Email)
		}
	})
}

// TestChangeEmailVoided: a newer request supersedes the older link, and a
// password change voids the pending change.
func TestChangeEmailVoided(t *testing.T) {
	m := newMailEnv(t, "sqlite:"+t.TempDir()+"/auth.db", nil)
	ctx := context.Background()
	c := m.caller(t, m.signup(t, "ada@example.com").Token)
	m.mailed(t)
	if err := m.svc.ChangeEmail(ctx, c, "first@example.com", "Test1234!"); err != nil {
		t.Fatal(err)
	}
	first := m.changeLetters(t, "ada@example.com", "first@example.com")
	if err := m.svc.ChangeEmail(ctx, c, "second@example.com", "Test1234!"); err != nil {
		t.Fatal(err)
	}
	second := m.changeLetters(t, "ada@example.com", "second@example.com")
	if err := m.svc.VerifyEmail(ctx, first); auth.ErrorCode(err) != auth.CodeInvalidToken {
		t.Errorf("the superseded link: %v; want INVALID_TOKEN", err)
	}
	if err := m.svc.ChangePassword(ctx, c, "Test1234!", "N3w-passphrase!"); err != nil {
		t.Fatal(err)
	}
	if err := m.svc.VerifyEmail(ctx, second); auth.ErrorCode(err) != auth.CodeInvalidToken {
		t.Errorf("the link after a password change: %v; want INVALID_TOKEN", err)
	}
	if u, _ := m.svc.Me(ctx, c); u.Email != "ada@example.com" {
		t.Errorf("email %q; want unchanged", u.Email)
	}
}

// TestChangeEmailRequireVerified: with REQUIRE_VERIFIED_EMAIL a taken
// address is answered like a free one; the old address is told, and the
// taken one gets no link.
func TestChangeEmailRequireVerified(t *testing.T) {
	m := newMailEnv(t, "sqlite:"+t.TempDir()+"/auth.db", func(cfg *auth.Config) { cfg.Mail.RequireVerifiedEmail = true })
	ctx := context.Background()
	for _, e := range []string{"mover@example.com", "holder@example.com"} {
		m.register(t, e, "Test1234!")
		if err := m.svc.VerifyEmail(ctx, m.one(t, e, auth.SubjectVerifyEmail, "verify-email")); err != nil {
			t.Fatal(err)
		}
	}
	r, err := m.svc.Login(ctx, "mover@example.com", "Test1234!", m.clients)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.svc.ChangeEmail(ctx, m.caller(t, r.Token), "holder@example.com", "Test1234!"); err != nil {
		t.Fatalf("change to a taken address: %v; want the answer of a free one", err)
	}
	m.one(t, "mover@example.com", auth.SubjectEmailChanging, "")
}
