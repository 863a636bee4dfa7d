package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/authmesh/authmesh/internal/auth"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		code     auth.Code // "" when valid
	}{
		{"  Alice@Example.COM ", "alice@example.com", ""},
		{"ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "alice@example.com", ""}, // full-width
		{"ﬁle@example.com", "file@example.com", ""},    // ligature
		{"ALİCE@example.com", "alice@example.com", ""}, // dotted capital I lower-cases to i
		{"josé@example.com", "josé@example.com", ""},
		{"jose\u0301@example.com", "josé@example.com", ""}, // decomposed é composes
		{"", "", auth.CodeBadUserInput},
		{"not-an-email", "", auth.CodeBadUserInput},
		{"Name <a@b.c>", "", auth.CodeBadUserInput},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := auth.NormalizeEmail(tt.in)
			var ae *auth.Error
			switch {
			case tt.code != "" && (!errors.As(err, &ae) || ae.Code != tt.code):
				t.Fatalf("got %q, %v; want code %s", got, err, tt.code)
			case tt.code == "" && (err != nil || got != tt.want):
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestRegisterRefusesLookAlikes: an address that differs from an account's
// only by compatibility characters is that account's; one mixing scripts in
// a part is refused; single-script addresses in any script are welcome.
func TestRegisterRefusesLookAlikes(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "auth.db"))
	ctx := context.Background()
	if _, err := e.svc.Register(ctx, "alice@example.com", "Test1234!", e.clients); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		email string
		code  auth.Code // "" when accepted
	}{
		{"ａｌｉｃｅ@example.com", auth.CodeEmailTaken},
		{"ALICE@EXAMPLE.COM", auth.CodeEmailTaken},
		{"\u0430lice@example.com", auth.CodeBadUserInput}, // Cyrillic а in a Latin name
		{"alice@ex\u0430mple.com", auth.CodeBadUserInput}, // ... in a Latin domain label
		{"\u03b1lice@example.com", auth.CodeBadUserInput}, // Greek α
		{"иван@почта.рф", ""},                             // all Cyrillic
		{"ivan@почта.рф", ""},                             // one script per part
		{"山田たろう@example.jp", ""},                          // Han with Hiragana
		{"josé.2024+news@example.com", ""},                // Latin with digits and punctuation
		{"\u0430\u0432\u0441@example.com", ""},            // Cyrillic only, even if it looks Latin-ish
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			_, err := e.svc.Register(ctx, tt.email, "Test1234!", e.clients)
			var ae *auth.Error
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("got %v; want the account created", err)
			case tt.code != "" && (!errors.As(err, &ae) || ae.Code != tt.code):
				t.Fatalf("got %v; want %s", err, tt.code)
			}
		})
	}
	if _, err := e.svc.Login(ctx, "ａｌｉｃｅ@example.com", "Test1234!", e.clients); err != nil {
		t.Fatalf("login with the full-width form of the account's address: %v", err)
	}
}

// TestAccountFromBeforeNFKCStillLogsIn: an account stored under the old
// normalisation (lower-case only) keeps logging in with its address.
func TestAccountFromBeforeNFKCStillLogsIn(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "auth.db"))
	ctx := context.Background()
	const legacy = "ｂｏｂ@example.com" // stored as it was typed, lower-cased
	hash, err := e.cfg.Passwords.Hash(ctx, "Test1234!")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateUser(ctx, legacy, hash, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Login(ctx, legacy, "Test1234!", e.clients)
	if err != nil {
		t.Fatalf("login of a pre-NFKC account: %v", err)
	}
	if res.Email != legacy {
		t.Errorf("logged into %q; want the stored account %q", res.Email, legacy)
	}
}
