package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authmesh/authmesh/session"
)

// TestServiceTokenClaims: the claims tell a service token (ClientID, no
// SessionID) from a user token.
func TestServiceTokenClaims(t *testing.T) {
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	iss := issuer(t, secret, nil)
	svc, _, err := iss.IssueService("billing", []string{"orders"}, []string{"orders:read"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	user, _ := access(t, iss, "user-1", "sess-1")
	for _, tt := range []struct {
		name, raw           string
		service             bool
		userID, client, sid string
	}{
		{"service", svc, true, "billing", "billing", ""},
		{"user", user, false, "user-1", "", "sess-1"},
	} {
		for call := 1; call <= 2; call++ { // a signature check, then the cache
			c, err := v.ValidateAccessToken(tt.raw)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if c.IsService() != tt.service || c.UserID != tt.userID || c.ClientID != tt.client || c.SessionID != tt.sid {
				t.Fatalf("%s call %d: got %+v", tt.name, call, c)
			}
		}
	}
}

func TestRequireScopeAndAudience(t *testing.T) {
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	iss := issuer(t, secret, nil)
	mint := func(aud []string, scopes ...string) string {
		raw, _, err := iss.IssueService("billing", aud, scopes, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	user, _ := access(t, iss, "user-1", "sess-1")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := session.HTTPMiddleware(v)(session.RequireAudience("orders")(session.RequireScope("orders:read", "orders:list")(ok)))
	tests := []struct {
		name      string
		raw       string
		code      int
		challenge string
	}{
		{"audience and both scopes", mint([]string{"orders"}, "orders:list", "orders:read", "extra"), http.StatusNoContent, ""},
		{"one scope missing", mint([]string{"orders"}, "orders:read"), http.StatusForbidden, `Bearer error="insufficient_scope", scope="orders:read orders:list"`},
		{"no scope", mint([]string{"orders"}), http.StatusForbidden, `Bearer error="insufficient_scope", scope="orders:read orders:list"`},
		{"a scope's prefix is not the scope", mint([]string{"orders"}, "orders:rea", "orders:list"), http.StatusForbidden, `Bearer error="insufficient_scope", scope="orders:read orders:list"`},
		{"another audience", mint([]string{"payments"}, "orders:read", "orders:list"), http.StatusUnauthorized, `Bearer error="invalid_token"`},
		{"user token: no audience, no scope", user, http.StatusUnauthorized, `Bearer error="invalid_token"`},
		{"no token", "", http.StatusUnauthorized, "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/orders", nil)
			if tt.raw != "" {
				r.Header.Set("Authorization", "Bearer "+tt.raw)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.code || rec.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("got %d %q; want %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.code, tt.challenge)
			}
		})
	}
	// Without HTTPMiddleware in front there are no claims: 401, never a pass.
	rec := httptest.NewRecorder()
	session.RequireScope("x")(ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("RequireScope without claims: got %d; want 401", rec.Code)
	}
}
