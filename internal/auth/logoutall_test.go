package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// TestRefreshAfterCutOff: a refresh that reads its session after the user's
// "log out everywhere" cut-off was set, but before the session was ended
// in the database (the race logoutAll has with refresh), is refused.
func TestRefreshAfterCutOff(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	r := e.signup(t, "race@example.com")
	e.clock.Add(2 * time.Second)
	// The state logoutAll leaves between setting the cut-off and ending the
	// sessions.
	if err := e.db.SetTokensValidAfter(ctx, r.UserID, e.clock.Now().Unix()+1); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients)
	wantCode(t, err, auth.CodeUnauthenticated)

	// A session begun after the cut-off refreshes normally.
	e.clock.Add(time.Second)
	again, err := e.svc.Login(ctx, "race@example.com", "Test1234!", e.clients)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(ctx, again.RefreshToken, e.clients); err != nil {
		t.Fatalf("refresh of a session begun after the cut-off: %v", err)
	}
}

// TestLogoutAllRevokesEachSession: every session logoutAll ends is revoked
// by sid as well as by the user-wide cut-off, so a token minted for one of
// them at the cut-off (by a refresh that raced) is still rejected.
func TestLogoutAllRevokesEachSession(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	laptop := e.signup(t, "all@example.com")
	phone, err := e.svc.Login(ctx, "all@example.com", "Test1234!", e.clients)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.LogoutAll(ctx, e.caller(t, laptop.Token)); err != nil {
		t.Fatal(err)
	}
	set := e.revokedSet(t)
	for _, sid := range []string{laptop.SessionID, phone.SessionID} {
		// A token of the session issued well after the cut-off.
		if _, revoked := set.Check("some-new-jti", sid, laptop.UserID, e.clock.Now().Unix()+60); !revoked {
			t.Errorf("session %s: a token issued after the cut-off is accepted; want the session revoked by sid", sid)
		}
	}
}
