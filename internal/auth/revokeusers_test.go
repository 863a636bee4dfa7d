package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

func TestRevokeUsersEndsEveryTokenAndSessionOfEach(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	type account struct{ first, second auth.LoginResult }
	accounts := map[string]account{}
	for _, email := range []string{"a@example.com", "b@example.com", "keep@example.com"} {
		first := e.signup(t, email)
		second, err := e.svc.Login(ctx, email, "Test1234!", e.clients)
		if err != nil {
			t.Fatal(err)
		}
		accounts[email] = account{first, second}
	}
	a, b, keep := accounts["a@example.com"], accounts["b@example.com"], accounts["keep@example.com"]

	tests := []struct {
		name string
		ids  []string
		code auth.Code
	}{
		{"no ids", nil, auth.CodeBadUserInput},
		{"empty id", []string{a.first.UserID, ""}, auth.CodeBadUserInput},
		{"unknown id", []string{a.first.UserID, "no-such-user"}, auth.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.RevokeUsers(ctx, tc.ids)
			wantCode(t, err, tc.code)
		})
	}
	if e.rejected(t, a.first.Token) {
		t.Fatal("a refused call revoked a token")
	}

	e.clock.Add(time.Second)
	ended, err := e.svc.RevokeUsers(ctx, []string{a.first.UserID, b.first.UserID, a.first.UserID})
	if err != nil {
		t.Fatalf("RevokeUsers: %v", err)
	}
	if ended != 4 {
		t.Errorf("ended %d sessions; want 4", ended)
	}
	if n := e.flaky.bulkCalls.Load(); n != 2 {
		t.Errorf("%d bulk revocations; want 2 (the users' cut-offs, then their sessions)", n)
	}
	for _, r := range []auth.LoginResult{a.first, a.second, b.first, b.second} {
		if !e.rejected(t, r.Token) {
			t.Errorf("user %s session %s: access token still accepted", r.UserID, r.SessionID)
		}
		if _, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients); err == nil {
			t.Errorf("user %s session %s: refresh still works", r.UserID, r.SessionID)
		}
	}
	if e.rejected(t, keep.first.Token) || e.rejected(t, keep.second.Token) {
		t.Error("an account not named lost its tokens")
	}
	// Not disabled: the owner logs in again.
	e.clock.Add(time.Second)
	if _, err := e.svc.Login(ctx, "a@example.com", "Test1234!", e.clients); err != nil {
		t.Errorf("login after RevokeUsers: %v", err)
	}
	// Repeating succeeds.
	if _, err := e.svc.RevokeUsers(ctx, []string{b.first.UserID}); err != nil {
		t.Errorf("RevokeUsers again: %v", err)
	}
}
