package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// adminCall sends one admin request with token (none when "").
func adminCall(t *testing.T, h http.Handler, method, path, token string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	b, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, path, rec.Code, b)
	}
	return rec.Code, out
}

// TestAdminAPI drives the admin API over a real service: find, disable
// (login refused), enable, sessions, keys, and clear 4xx for bad input.
func TestAdminAPI(t *testing.T) {
	const token = "admin-test-token-0123456789"
	srv := newServer(t, map[string]string{"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "ADMIN_TOKEN": token})
	pub, adm := srv.Handler(), srv.AdminHandler()
	if code, _, _ := call(t, pub, http.MethodGet, "/admin/v1/keys"); code != http.StatusNotFound {
		t.Fatalf("public port serves /admin/v1/keys: %d; want 404", code)
	}
	var reg struct{ User struct{ ID string } }
	if err := post(pub, `mutation { register(input: {email: "ops@example.com", password: "Test1234!x"}) { user { id } } }`, "register", &reg); err != nil {
		t.Fatal(err)
	}
	login := `mutation { login(input: {email: "ops@example.com", password: "Test1234!x"}) { token } }`
	var out struct{ Token string }
	if err := post(pub, login, "login", &out); err != nil {
		t.Fatal(err)
	}

	if code, body := adminCall(t, adm, http.MethodGet, "/admin/v1/users?email=ops@example.com", ""); code != 401 || body["code"] != "UNAUTHENTICATED" {
		t.Fatalf("no token: %d %v; want 401", code, body)
	}
	if code, _ := adminCall(t, adm, http.MethodGet, "/admin/v1/users?email=ops@example.com", token+"x"); code != 401 {
		t.Fatalf("wrong token: %d; want 401", code)
	}
	code, body := adminCall(t, adm, http.MethodGet, "/admin/v1/users?email=ops@example.com", token)
	if code != 200 || body["id"] != reg.User.ID || body["disabled"] != false {
		t.Fatalf("find: %d %v", code, body)
	}
	path := "/admin/v1/users/" + reg.User.ID
	if code, body := adminCall(t, adm, http.MethodGet, path+"/sessions", token); code != 200 || len(body["sessions"].([]any)) != 1 {
		t.Fatalf("sessions: %d %v; want one", code, body)
	}
	if code, body := adminCall(t, adm, http.MethodPost, path+"/disable", token); code != 200 || body["disabled"] != true {
		t.Fatalf("disable: %d %v", code, body)
	}
	if err := post(pub, login, "login", &out); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("login of a disabled account: %v; want refused as disabled", err)
	}
	if code, body := adminCall(t, adm, http.MethodPost, path+"/enable", token); code != 200 || body["disabled"] != false {
		t.Fatalf("enable: %d %v", code, body)
	}
	if err := post(pub, login, "login", &out); err != nil {
		t.Fatalf("login after enable: %v", err)
	}

	code, body = adminCall(t, adm, http.MethodGet, "/admin/v1/keys", token)
	keys, _ := body["keys"].([]any)
	if code != 200 || len(keys) == 0 {
		t.Fatalf("keys: %d %v", code, body)
	}
	old := keys[0].(map[string]any)["kid"]
	code, body = adminCall(t, adm, http.MethodPost, "/admin/v1/keys/rotate", token)
	if code != 200 || body["signing_kid"] == old || body["signing_kid"] == "" {
		t.Fatalf("rotate: %d %v (old kid %v)", code, body, old)
	}
	_, body = adminCall(t, adm, http.MethodGet, "/admin/v1/keys", token)
	if s := fmt.Sprint(body); !strings.Contains(s, fmt.Sprint(old)) {
		t.Fatalf("after rotation the old key %v is no longer listed: %s", old, s)
	}

	code, body = adminCall(t, adm, http.MethodGet, "/admin/v1/audit?user="+reg.User.ID, token)
	if s := fmt.Sprint(body); code != 200 || !strings.Contains(s, "login.succeeded") || !strings.Contains(s, "login.failed") || !strings.Contains(s, "user.disable") {
		t.Fatalf("audit: %d %s; want the logins, the failed one and the admin actions", code, s)
	}

	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/admin/v1/users", 400},
		{http.MethodGet, "/admin/v1/users?email=nobody@example.com", 404},
		{http.MethodGet, "/admin/v1/users?email=not-an-email@", 400},
		{http.MethodPost, "/admin/v1/users/no-such-id/disable", 404},
		{http.MethodDelete, path + "/sessions/no-such-session", 404},
		{http.MethodGet, "/admin/v1/nope", 404},
		{http.MethodGet, "/admin/v1/audit?limit=lots", 400},
	} {
		if code, body := adminCall(t, adm, tt.method, tt.path, token); code != tt.want || body["error"] == "" {
			t.Errorf("%s %s: %d %v; want %d with an error message", tt.method, tt.path, code, body, tt.want)
		}
	}
	if code, body := adminCall(t, adm, http.MethodDelete, path, token); code != 200 || body["deleted"] != true {
		t.Fatalf("delete: %d %v", code, body)
	}
	if code, _ := adminCall(t, adm, http.MethodGet, path, token); code != 404 {
		t.Fatalf("deleted user still found: %d", code)
	}
}

// TestAdminKeysWithSharedSecret: with JWT_SECRET there are no keys to list
// or rotate, which the API says with a 409 rather than an error.
func TestAdminKeysWithSharedSecret(t *testing.T) {
	adm := newServer(t, map[string]string{"JWT_SECRET": strings.Repeat("s", 32)}).AdminHandler()
	if code, body := adminCall(t, adm, http.MethodPost, "/admin/v1/keys/rotate", ""); code != 409 || !strings.Contains(fmt.Sprint(body["error"]), "JWT_SECRET") {
		t.Fatalf("rotate with a shared secret: %d %v; want 409 naming JWT_SECRET", code, body)
	}
}

// Go's profiles are served on the admin listener, behind its token, and
// not on the public port.
func TestProfilesOnTheAdminListenerOnly(t *testing.T) {
	const token = "admin-test-token-0123456789"
	srv := newServer(t, map[string]string{"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "ADMIN_TOKEN": token})
	pub, adm := srv.Handler(), srv.AdminHandler()
	get := func(h http.Handler, path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		if rec := get(pub, path, token); rec.Code != http.StatusNotFound {
			t.Errorf("public port GET %s: %d; want 404", path, rec.Code)
		}
		if rec := get(adm, path, ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("admin GET %s without the token: %d; want 401", path, rec.Code)
		}
	}
	if rec := get(adm, "/debug/pprof/heap?debug=1", token); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "heap profile") {
		t.Errorf("admin GET /debug/pprof/heap?debug=1: %d %.100q; want 200 and a heap profile", rec.Code, rec.Body.String())
	}
	if rec := get(adm, "/debug/pprof/cmdline", token); rec.Code != http.StatusNotFound {
		t.Errorf("admin GET /debug/pprof/cmdline: %d; want 404 (the command line is not served)", rec.Code)
	}
}
