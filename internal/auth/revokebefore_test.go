package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// TestRevokeIssuedBefore: one call revokes every token issued before the
// cut-off (of everyone, or of one user): validators refuse the access
// tokens, the sessions begun before it can no longer refresh, and a login
// after it works.
func TestRevokeIssuedBefore(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		for _, global := range []bool{false, true} { // one user first: the journal is shared
			name := map[bool]string{true: "everyone", false: "one user"}[global]
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, dsn)
				ctx := context.Background()
				mail := map[bool]string{true: "all", false: "one"}[global]
				alice := e.signup(t, "alice-"+mail+"@example.com")
				bob := e.signup(t, "bob-"+mail+"@example.com")
				e.clock.Add(2 * time.Second)
				user := ""
				if !global {
					user = alice.UserID
				}
				ended, err := e.svc.RevokeIssuedBefore(ctx, e.clock.Now(), user)
				if err != nil {
					t.Fatalf("RevokeIssuedBefore: %v", err)
				}
				// Globally, the sessions of the first subtest end too.
				if want := map[bool]int{true: 2, false: 1}[global]; ended < want || (!global && ended != want) {
					t.Errorf("sessions ended = %d; want %d", ended, want)
				}
				if !e.rejected(t, alice.Token) {
					t.Error("alice's access token issued before the cut-off is accepted")
				}
				if got := e.rejected(t, bob.Token); got != global {
					t.Errorf("bob's access token rejected = %v; want %v", got, global)
				}
				_, err = e.svc.Refresh(ctx, alice.RefreshToken, e.clients)
				wantCode(t, err, auth.CodeUnauthenticated)

				e.clock.Add(time.Second)
				again, err := e.svc.Login(ctx, "alice-"+mail+"@example.com", "Test1234!", e.clients)
				if err != nil {
					t.Fatalf("login after the cut-off: %v", err)
				}
				if e.rejected(t, again.Token) {
					t.Error("a token issued after the cut-off is rejected")
				}
				if _, err := e.svc.Refresh(ctx, again.RefreshToken, e.clients); err != nil {
					t.Errorf("refresh of a session begun after the cut-off: %v", err)
				}
				// Repeating it succeeds.
				if _, err := e.svc.RevokeIssuedBefore(ctx, e.clock.Now().Add(-3*time.Second), user); err != nil {
					t.Errorf("repeated RevokeIssuedBefore: %v", err)
				}
			})
		}
	})
}

func TestRevokeIssuedBeforeRejectsBadInput(t *testing.T) {
	e := newEnv(t, "sqlite:"+t.TempDir()+"/a.db")
	ctx := context.Background()
	tests := []struct {
		name string
		at   time.Time
		user string
		code auth.Code
	}{
		{"no time", time.Time{}, "", auth.CodeBadUserInput},
		{"future", e.clock.Now().Add(time.Hour), "", auth.CodeBadUserInput},
		{"unknown user", e.clock.Now(), "no-such-user", auth.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.RevokeIssuedBefore(ctx, tt.at, tt.user)
			wantCode(t, err, tt.code)
		})
	}
}
