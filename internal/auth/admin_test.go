package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
)

// TestDisableUser: disabling an account revokes every token of it through
// the journal (as every validator sees it), refuses login and refresh with
// ACCOUNT_DISABLED, and enabling it lets the owner log in again.
func TestDisableUser(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		r := e.signup(t, "victim@example.com")
		found, err := e.svc.FindUser(ctx, "Victim@Example.com")
		if err != nil || found.ID != r.UserID || found.PasswordHash != "" {
			t.Fatalf("FindUser by email: %+v, %v", found, err)
		}
		if byID, err := e.svc.FindUser(ctx, r.UserID); err != nil || byID.Email != "victim@example.com" {
			t.Fatalf("FindUser by id: %+v, %v", byID, err)
		}
		u, err := e.svc.DisableUser(ctx, r.UserID)
		if err != nil || u.DisabledAt.IsZero() {
			t.Fatalf("DisableUser: %+v, %v", u, err)
		}
		if !e.rejected(t, r.Token) {
			t.Fatal("the disabled user's access token is still accepted by a validator")
		}
		_, err = e.svc.Login(ctx, "victim@example.com", "Test1234!", e.clients)
		wantCode(t, err, auth.CodeAccountDisabled)
		_, err = e.svc.Refresh(ctx, r.RefreshToken, e.clients)
		if code := auth.ErrorCode(err); code != auth.CodeAccountDisabled && code != auth.CodeUnauthenticated {
			t.Fatalf("refresh of a disabled account: %v; want refused", err)
		}
		if list, err := e.svc.UserSessions(ctx, r.UserID); err != nil || len(list) != 0 {
			t.Fatalf("sessions after disable: %v, %v; want none", list, err)
		}
		if _, err := e.svc.DisableUser(ctx, r.UserID); err != nil {
			t.Fatalf("disabling twice: %v", err)
		}

		e.clock.Add(2 * time.Second)
		if _, err := e.svc.EnableUser(ctx, r.UserID); err != nil {
			t.Fatal(err)
		}
		again, err := e.svc.Login(ctx, "victim@example.com", "Test1234!", e.clients)
		if err != nil {
			t.Fatalf("login after enable: %v", err)
		}
		if e.rejected(t, again.Token) {
			t.Fatal("a token issued after re-enabling is rejected")
		}
	})
}

// TestAdminUserActions: sessions listed and revoked by an operator, and a
// deleted account is gone with its tokens revoked; bad ids are 4xx codes.
func TestAdminUserActions(t *testing.T) {
	e := newEnv(t, "sqlite:"+t.TempDir()+"/a.db")
	ctx := context.Background()
	r := e.signup(t, "ops@example.com")
	list, err := e.svc.UserSessions(ctx, r.UserID)
	if err != nil || len(list) != 1 || list[0].ID != r.SessionID {
		t.Fatalf("UserSessions: %v, %v", list, err)
	}
	if err := e.svc.RevokeUserSession(ctx, r.UserID, r.SessionID); err != nil {
		t.Fatal(err)
	}
	if !e.rejected(t, r.Token) {
		t.Fatal("token of a revoked session still accepted")
	}
	other := e.signup(t, "other@example.com")
	wantCode(t, e.svc.RevokeUserSession(ctx, r.UserID, other.SessionID), auth.CodeNotFound)
	if err := e.svc.DeleteUser(ctx, other.UserID); err != nil {
		t.Fatal(err)
	}
	if !e.rejected(t, other.Token) {
		t.Fatal("token of a deleted user still accepted")
	}
	_, err = e.svc.FindUser(ctx, other.UserID)
	wantCode(t, err, auth.CodeNotFound)
	wantCode(t, e.svc.DeleteUser(ctx, other.UserID), auth.CodeNotFound)
	_, err = e.svc.FindUser(ctx, "")
	wantCode(t, err, auth.CodeBadUserInput)
	_, err = e.svc.DisableUser(ctx, "someone@example.com")
	wantCode(t, err, auth.CodeBadUserInput)
}
