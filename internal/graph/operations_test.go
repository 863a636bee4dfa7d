package graph_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/graph"
)

func TestOperations(t *testing.T) {
	e := newEnv(t, graph.Config{})

	var reg struct {
		Message string
		User    struct{ ID, Email string }
	}
	ok(t, e.post(`mutation { register(input: {email: "a@b.c", password: "Test1234!"}) { message user { id email } } }`, nil, "")).field(t, "register", &reg)
	if reg.Message != "User registered successfully" || reg.User.Email != "a@b.c" || reg.User.ID == "" {
		t.Errorf("register: got %+v; want the message and the user", reg)
	}

	var lr loginResult
	ok(t, e.post(`mutation { login(input: {email: "a@b.c", password: "Test1234!"}) { token refreshToken userId email sessionId expiresAt } }`, nil, "")).field(t, "login", &lr)
	if lr.Token == "" || lr.RefreshToken == "" || lr.UserID != reg.User.ID || lr.Email != "a@b.c" || lr.SessionID == "" {
		t.Errorf("login: got %+v; want tokens, user id %s and session", lr, reg.User.ID)
	}
	if lr.ExpiresAt != "2024-05-01T12:15:00Z" {
		t.Errorf("login expiresAt: got %q; want 2024-05-01T12:15:00Z (RFC 3339)", lr.ExpiresAt)
	}

	var me struct{ ID, Email, CreatedAt, LastLoginAt string }
	ok(t, e.post(`query { me { id email createdAt lastLoginAt } }`, nil, lr.Token)).field(t, "me", &me)
	if me.ID != reg.User.ID || me.CreatedAt != "2024-05-01T12:00:00Z" || me.LastLoginAt != "2024-05-01T12:00:00Z" {
		t.Errorf("me: got %+v; want id %s and RFC 3339 times", me, reg.User.ID)
	}

	second := e.post(`mutation { login(input: {email: "a@b.c", password: "Test1234!"}) { token sessionId } }`, nil, "")
	var lr2 loginResult
	ok(t, second).field(t, "login", &lr2)

	var sessions []struct {
		ID                     string
		Current                bool
		DeviceType, DeviceName string
		IPAddress, UserAgent   string
		CreatedAt, LastUsedAt  string
	}
	ok(t, e.post(`query { sessions { id current deviceType deviceName ipAddress userAgent createdAt lastUsedAt } }`, nil, lr.Token)).field(t, "sessions", &sessions)
	if len(sessions) != 2 {
		t.Fatalf("sessions: got %d; want 2", len(sessions))
	}
	for _, s := range sessions {
		if s.Current != (s.ID == lr.SessionID) {
			t.Errorf("session %s: current %v; want %v", s.ID, s.Current, s.ID == lr.SessionID)
		}
		if s.DeviceType != "desktop" || s.IPAddress != "192.0.2.1" || s.LastUsedAt != "2024-05-01T12:00:00Z" {
			t.Errorf("session %+v: want device type, peer IP 192.0.2.1 and RFC 3339 times", s)
		}
	}

	var pair struct{ Token, RefreshToken, ExpiresAt string }
	ok(t, e.post(`mutation($t: String!) { refreshToken(token: $t) { token refreshToken expiresAt } }`, map[string]any{"t": lr.RefreshToken}, "")).field(t, "refreshToken", &pair)
	if pair.Token == "" || pair.RefreshToken == "" || pair.RefreshToken == lr.RefreshToken {
		t.Errorf("refreshToken: got %+v; want a new pair", pair)
	}
	if got := e.post(`mutation($t: String!) { refreshToken(token: $t) { token } }`, map[string]any{"t": lr.RefreshToken}, "").code(); got != "UNAUTHENTICATED" {
		t.Errorf("reusing a refresh token: got code %q; want UNAUTHENTICATED", got)
	}

	var changed bool
	ok(t, e.post(`mutation { changePassword(input: {oldPassword: "Test1234!", newPassword: "New5678!x"}) }`, nil, lr.Token)).field(t, "changePassword", &changed)
	if !changed {
		t.Errorf("changePassword: got false; want true")
	}
	if got := e.post(`query { me { id } }`, nil, lr2.Token).code(); got != "UNAUTHENTICATED" {
		t.Errorf("other session after changePassword: got code %q; want UNAUTHENTICATED", got)
	}

	lr3 := e.post(`mutation { login(input: {email: "a@b.c", password: "New5678!x"}) { token sessionId } }`, nil, "")
	var third loginResult
	ok(t, lr3).field(t, "login", &third)
	var revoked bool
	ok(t, e.post(`mutation($id: ID!) { revokeSession(id: $id) }`, map[string]any{"id": third.SessionID}, lr.Token)).field(t, "revokeSession", &revoked)
	if !revoked {
		t.Errorf("revokeSession: got false; want true")
	}
	if got := e.post(`mutation { revokeSession(id: "nope") }`, nil, lr.Token).code(); got != "NOT_FOUND" {
		t.Errorf("revokeSession of an unknown id: got code %q; want NOT_FOUND", got)
	}

	var out bool
	ok(t, e.post(`mutation { logout }`, nil, lr.Token)).field(t, "logout", &out)
	if got := e.post(`query { me { id } }`, nil, lr.Token).code(); got != "UNAUTHENTICATED" {
		t.Errorf("me after logout: got code %q; want UNAUTHENTICATED", got)
	}

	a := e.registerAndLogin("x@y.z", "Test1234!")
	ok(t, e.post(`mutation { logoutAll }`, nil, a.Token)).field(t, "logoutAll", &out)
	if !out {
		t.Errorf("logoutAll: got false; want true")
	}
	if got := e.post(`query { sessions { id } }`, nil, a.Token).code(); got != "UNAUTHENTICATED" {
		t.Errorf("sessions after logoutAll: got code %q; want UNAUTHENTICATED", got)
	}
}

func TestLastLoginAtNullBeforeLogin(t *testing.T) {
	e := newEnv(t, graph.Config{})
	lr := e.registerAndLogin("a@b.c", "Test1234!")
	e.fake.mu.Lock()
	e.fake.users["a@b.c"].user.LastLoginAt = time.Time{}
	e.fake.mu.Unlock()
	resp := ok(t, e.post(`{ me { lastLoginAt } }`, nil, lr.Token))
	if got := string(resp.Data["me"]); got != `{"lastLoginAt":null}` {
		t.Errorf("got %s; want lastLoginAt null", got)
	}
}

func TestGETQuery(t *testing.T) {
	e := newEnv(t, graph.Config{})
	lr := e.registerAndLogin("a@b.c", "Test1234!")
	req := httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(`{ me { email } }`), nil)
	req.Header.Set("Authorization", "Bearer "+lr.Token)
	resp := ok(t, e.do(req))
	if got := string(resp.Data["me"]); got != `{"email":"a@b.c"}` {
		t.Errorf("GET me: got %s; want the email", got)
	}
}
