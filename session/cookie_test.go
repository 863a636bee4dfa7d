package session_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/session"
)

// The middleware reads the access token from the cookie when there is no
// Authorization header (the header wins), and refuses a cookie-authenticated
// state-changing request that does not prove same-origin intent.
func TestMiddlewareAcceptsTheAccessCookie(t *testing.T) {
	v, tok := newCookieValidator(t, session.Config{AllowedOrigins: []string{"https://app.example.com"}})
	custom, _ := newCookieValidator(t, session.Config{AccessCookieName: "sid"})
	none, _ := newCookieValidator(t, session.Config{AccessCookieName: session.NoCookie})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := session.GetUserID(r.Context())
		w.Write([]byte("user " + id))
	})
	tests := []struct {
		name   string
		v      *session.SessionValidator
		method string
		cookie string // name=value
		header map[string]string
		status int
	}{
		{"cookie, GET", v, http.MethodGet, session.DefaultAccessCookieName + "=" + tok, nil, http.StatusOK},
		{"header wins over cookie", v, http.MethodGet, session.DefaultAccessCookieName + "=" + tok, map[string]string{"Authorization": "Bearer garbage"}, http.StatusUnauthorized},
		{"bearer POST needs no CSRF proof", v, http.MethodPost, "", map[string]string{"Authorization": "Bearer " + tok, "Origin": "https://evil.example"}, http.StatusOK},
		{"cookie POST without the header", v, http.MethodPost, session.DefaultAccessCookieName + "=" + tok, nil, http.StatusForbidden},
		{"cookie POST from another origin", v, http.MethodPost, session.DefaultAccessCookieName + "=" + tok, map[string]string{session.TransportHeader: "cookie", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"cookie POST from its own origin", v, http.MethodPost, session.DefaultAccessCookieName + "=" + tok, map[string]string{session.TransportHeader: "cookie", "Origin": "http://svc.example"}, http.StatusOK},
		{"cookie POST from an allowed origin", v, http.MethodPost, session.DefaultAccessCookieName + "=" + tok, map[string]string{session.TransportHeader: "cookie", "Origin": "https://app.example.com"}, http.StatusOK},
		{"custom cookie name", custom, http.MethodGet, "sid=" + tok, nil, http.StatusOK},
		{"default name ignored under a custom one", custom, http.MethodGet, session.DefaultAccessCookieName + "=" + tok, nil, http.StatusUnauthorized},
		{"NoCookie", none, http.MethodGet, session.DefaultAccessCookieName + "=" + tok, nil, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, h := range []http.Handler{session.HTTPMiddleware(tt.v)(ok), session.RequireAuth(tt.v, ok)} {
				r := httptest.NewRequest(tt.method, "http://svc.example/api", nil)
				if tt.cookie != "" {
					r.Header.Set("Cookie", tt.cookie)
				}
				for k, val := range tt.header {
					r.Header.Set(k, val)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != tt.status {
					t.Fatalf("status: got %d (%q); want %d", w.Code, w.Body, tt.status)
				}
				if w.Code == http.StatusForbidden && !strings.HasPrefix(w.Body.String(), session.ForbiddenBody) {
					t.Errorf("body %q; want it to start with %q", w.Body, session.ForbiddenBody)
				}
			}
		})
	}
	// OptionalHTTPMiddleware: the cookie identifies a GET; a forged POST
	// passes as anonymous.
	opt := session.OptionalHTTPMiddleware(v)(ok)
	for method, want := range map[string]string{http.MethodGet: "user u1", http.MethodPost: "user "} {
		r := httptest.NewRequest(method, "http://svc.example/api", nil)
		r.Header.Set("Cookie", session.DefaultAccessCookieName+"="+tok)
		w := httptest.NewRecorder()
		opt.ServeHTTP(w, r)
		if w.Body.String() != want {
			t.Errorf("optional %s: got %q; want %q", method, w.Body, want)
		}
	}
}

func TestConfigRefusesABadAllowedOrigin(t *testing.T) {
	_, err := session.NewSessionValidator(session.Config{JWTSecret: strings.Repeat("k", 32), IgnoreRevocations: true, AllowedOrigins: []string{"*"}})
	if err == nil || !strings.Contains(err.Error(), "AllowedOrigins") {
		t.Fatalf("got %v; want an error naming AllowedOrigins", err)
	}
}

// newCookieValidator returns a validator for cfg with the test secret and a
// token of user u1 it accepts.
func newCookieValidator(t *testing.T, cfg session.Config) (*session.SessionValidator, string) {
	t.Helper()
	cfg.JWTSecret, cfg.IgnoreRevocations = secret, true
	return newValidator(t, cfg), mint(secret, "u1")
}

func TestCORSMiddleware(t *testing.T) {
	v, _ := newCookieValidator(t, session.Config{AllowedOrigins: []string{"https://app.example.com"}})
	h := session.CORSMiddleware(v)(session.HTTPMiddleware(v)(http.NotFoundHandler()))
	for origin, want := range map[string]int{"https://app.example.com": http.StatusNoContent, "https://evil.example": http.StatusForbidden} {
		r := httptest.NewRequest(http.MethodOptions, "http://svc.example/api", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("preflight from %s: %d; want %d", origin, w.Code, want)
		}
	}
}
