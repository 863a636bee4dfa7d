package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// TestAuditTrail: logins (good and bad), logout, refresh reuse and admin
// actions are recorded with the user, session, IP and user agent, newest
// first, and pruned after the retention.
func TestAuditTrail(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		r := e.signup(t, "audited@example.com")
		if _, err := e.svc.Login(ctx, "audited@example.com", "wrong-password", e.clients); err == nil {
			t.Fatal("login with a wrong password succeeded")
		}
		pair, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(auth.DefaultRefreshReuseGrace * 2)
		if _, err := e.svc.Refresh(ctx, r.RefreshToken, e.clients); auth.ErrorCode(err) != auth.CodeRefreshReused {
			t.Fatalf("replayed refresh: %v", err)
		}
		_ = pair
		e.svc.AdminAudit(ctx, "user.disable", r.UserID, "", auth.ClientInfo{IP: "127.0.0.1", UserAgent: "authmesh-cli"})

		list, err := e.svc.AuditEvents(ctx, r.UserID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range list {
			got = append(got, ev.Event)
		}
		want := []string{auth.EventAdminAction, auth.EventRefreshReused, auth.EventLoginFailed, auth.EventLoginSucceeded}
		if len(got) != len(want) {
			t.Fatalf("events %v; want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("events %v; want %v (newest first)", got, want)
			}
		}
		login := list[3]
		if login.UserID != r.UserID || login.SessionID != r.SessionID || login.IP != e.clients.IP || login.UserAgent != e.clients.UserAgent || login.At.IsZero() {
			t.Errorf("login event %+v; want user, session, IP, user agent and time", login)
		}
		if _, err := e.svc.AuditEvents(ctx, "", 0); auth.ErrorCode(err) != auth.CodeBadUserInput {
			t.Errorf("limit 0: %v; want BAD_USER_INPUT", err)
		}
		n, err := e.db.PruneEvents(ctx, e.clock.Now().Add(time.Second))
		if err != nil || n != 4 {
			t.Fatalf("PruneEvents: %d, %v; want 4 deleted", n, err)
		}
	})
}

// TestAuditUserActions: a password change and a user revoking one of their
// sessions are recorded too.
func TestAuditUserActions(t *testing.T) {
	e := newEnv(t, "sqlite:"+t.TempDir()+"/a.db")
	ctx := context.Background()
	laptop := e.signup(t, "careful@example.com")
	phone, err := e.svc.Login(ctx, "careful@example.com", "Test1234!", e.clients)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeSession(ctx, e.caller(t, laptop.Token), phone.SessionID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ChangePassword(ctx, e.caller(t, laptop.Token), "Test1234!", "Another1234!x"); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.AuditEvents(ctx, laptop.UserID, 2)
	if err != nil || len(list) != 2 || list[0].Event != auth.EventPasswordChanged || list[1].Event != auth.EventSessionRevoked || list[0].SessionID != laptop.SessionID {
		t.Fatalf("events %+v, %v; want password.changed then session.revoked, from the laptop's session", list, err)
	}
}
