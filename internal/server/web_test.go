package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/server"
)

// cookieLogin registers and logs in with the cookie transport through h,
// and returns the answer.
func cookieLogin(t *testing.T, h http.Handler, origin string) *httptest.ResponseRecorder {
	t.Helper()
	post := func(query string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "http://auth.example.com/graphql", bytes.NewBufferString(query))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Authmesh-Transport", "cookie")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	post(`{"query":"mutation { register(input: {email: \"c@example.com\", password: \"Test1234!\"}) { message } }"}`)
	return post(`{"query":"mutation { login(input: {email: \"c@example.com\", password: \"Test1234!\"}) { token refreshToken userId } }"}`)
}

// The cookies' flags follow the configuration: Secure with an https
// PUBLIC_URL, SameSite and Domain as set; the tokens are null in the body.
func TestCookieFlags(t *testing.T) {
	cheap := map[string]string{"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"}
	tests := []struct {
		name string
		vars map[string]string
		want []string // in every Set-Cookie of the session cookies
		not  []string
	}{
		{"defaults", map[string]string{}, []string{"HttpOnly", "SameSite=Lax"}, []string{"Secure", "Domain="}},
		{"https PUBLIC_URL", map[string]string{"PUBLIC_URL": "https://auth.example.com"}, []string{"HttpOnly", "Secure", "SameSite=Lax"}, nil},
		{"Strict and a Domain", map[string]string{"COOKIE_SAMESITE": "Strict", "COOKIE_DOMAIN": "example.com"}, []string{"SameSite=Strict", "Domain=example.com"}, nil},
		{"None over https", map[string]string{"COOKIE_SAMESITE": "None", "PUBLIC_URL": "https://auth.example.com"}, []string{"SameSite=None", "Secure"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range cheap {
				tt.vars[k] = v
			}
			w := cookieLogin(t, newServer(t, tt.vars).Handler(), "")
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"token":null,"refreshToken":null`) {
				t.Fatalf("login: %d %s", w.Code, w.Body)
			}
			seen := map[string]string{}
			for _, c := range w.Header().Values("Set-Cookie") {
				name, _, _ := strings.Cut(c, "=")
				seen[name] = c
			}
			for name, path := range map[string]string{"authmesh_access": "Path=/;", "authmesh_refresh": "Path=/auth;"} {
				c, ok := seen[name]
				if !ok {
					t.Fatalf("no %s cookie in %v", name, seen)
				}
				for _, want := range append(tt.want, path) {
					if !strings.Contains(c, want) {
						t.Errorf("%s: %q lacks %q", name, c, want)
					}
				}
				for _, not := range tt.not {
					if strings.Contains(c, not) {
						t.Errorf("%s: %q has %q", name, c, not)
					}
				}
			}
		})
	}
}

func TestCookieTransportConfiguration(t *testing.T) {
	cheap := map[string]string{"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"}
	off := newServer(t, map[string]string{"COOKIE_TRANSPORT": "off", "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"}).Handler()
	if w := cookieLogin(t, off, ""); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "COOKIE_TRANSPORT") {
		t.Errorf("cookie login with COOKIE_TRANSPORT=off: %d %s; want 400 naming COOKIE_TRANSPORT", w.Code, w.Body)
	}
	if code, _, _ := call(t, off, http.MethodGet, "/account"); code != http.StatusNotFound {
		t.Errorf("GET /account with COOKIE_TRANSPORT=off: %d; want 404", code)
	}
	on := newServer(t, cheap).Handler()
	if w := cookieLogin(t, on, "https://evil.example"); w.Code != http.StatusForbidden {
		t.Errorf("cookie login from another origin: %d %s; want 403 (login CSRF)", w.Code, w.Body)
	}
	for _, bad := range []map[string]string{
		{"COOKIE_SAMESITE": "None"}, // needs https
		{"COOKIE_SAMESITE": "sometimes"},
		{"COOKIE_TRANSPORT": "maybe"},
		{"ALLOWED_ORIGINS": "*"},
	} {
		bad["DATA_DIR"] = t.TempDir()
		if _, err := server.LoadConfig(env(bad)); err == nil {
			t.Errorf("LoadConfig(%v): got nil error", bad)
		}
	}
	for path, ctype := range map[string]string{"/account": "text/html", "/authmesh.js": "text/javascript", "/account.js": "text/javascript", "/account.css": "text/css"} {
		code, h, _ := call(t, on, http.MethodGet, path)
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %s", path, code, h.Get("Content-Type"))
		}
	}
	if _, h, _ := call(t, on, http.MethodGet, "/account"); !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("/account CSP: %q", h.Get("Content-Security-Policy"))
	}
}
