package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/web"
)

// fakeService accepts the refresh token "good" and the access token "live".
type fakeService struct{ loggedOut []string }

func (f *fakeService) Refresh(_ context.Context, raw string, _ auth.ClientInfo) (auth.TokenPair, error) {
	if raw != "good" {
		return auth.TokenPair{}, &auth.Error{Code: auth.CodeUnauthenticated, Message: "refresh token is invalid"}
	}
	return auth.TokenPair{Token: "live", RefreshToken: "good2", ExpiresAt: time.Now().Add(time.Minute)}, nil
}

func (f *fakeService) Authenticate(_ context.Context, tok string) (auth.Caller, error) {
	if tok != "live" {
		return auth.Caller{}, &auth.Error{Code: auth.CodeUnauthenticated, Message: "invalid"}
	}
	return auth.Caller{SessionID: "s1"}, nil
}

func (f *fakeService) Logout(_ context.Context, c auth.Caller) error {
	f.loggedOut = append(f.loggedOut, c.SessionID)
	return nil
}

func TestRefreshAndLogout(t *testing.T) {
	svc := &fakeService{}
	h, err := web.New(web.Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler http.Handler
		method  string
		cookies string
		status  int
		sets    string // a Set-Cookie prefix expected
	}{
		{"refresh", h.GuardCookies(http.HandlerFunc(h.Refresh)), http.MethodPost, "authmesh_refresh=good", http.StatusOK, "authmesh_access=live;"},
		{"refresh without a cookie", h.GuardCookies(http.HandlerFunc(h.Refresh)), http.MethodPost, "", http.StatusUnauthorized, "authmesh_access=;"},
		{"refresh with a bad cookie", h.GuardCookies(http.HandlerFunc(h.Refresh)), http.MethodPost, "authmesh_refresh=bad", http.StatusUnauthorized, "authmesh_refresh=;"},
		{"refresh by GET", h.GuardCookies(http.HandlerFunc(h.Refresh)), http.MethodGet, "authmesh_refresh=good", http.StatusMethodNotAllowed, ""},
		{"logout", h.GuardCookies(http.HandlerFunc(h.Logout)), http.MethodPost, "authmesh_access=live", http.StatusOK, "authmesh_access=;"},
		{"logout with the refresh cookie only", h.GuardCookies(http.HandlerFunc(h.Logout)), http.MethodPost, "authmesh_refresh=good", http.StatusOK, "authmesh_refresh=;"},
		{"logout signed out", h.GuardCookies(http.HandlerFunc(h.Logout)), http.MethodPost, "", http.StatusOK, "authmesh_access=;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://auth.example.com/auth/x", nil)
			r.Header.Set("X-Authmesh-Transport", "cookie")
			r.Header.Set("Origin", "http://auth.example.com")
			if tt.cookies != "" {
				r.Header.Set("Cookie", tt.cookies)
			}
			w := httptest.NewRecorder()
			tt.handler.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status: got %d (%s); want %d", w.Code, w.Body, tt.status)
			}
			if tt.sets == "" {
				return
			}
			for _, c := range w.Header().Values("Set-Cookie") {
				if strings.HasPrefix(c, tt.sets) {
					return
				}
			}
			t.Errorf("Set-Cookie %q; want one starting %q", w.Header().Values("Set-Cookie"), tt.sets)
		})
	}
	if len(svc.loggedOut) != 2 {
		t.Errorf("sessions logged out: %v; want two (access cookie, then refresh cookie)", svc.loggedOut)
	}
	// A simple form: no transport header, so 403 even from the same origin.
	r := httptest.NewRequest(http.MethodPost, "http://auth.example.com/auth/logout", strings.NewReader("x=1"))
	r.Header.Set("Cookie", "authmesh_access=live")
	w := httptest.NewRecorder()
	h.GuardCookies(http.HandlerFunc(h.Logout)).ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "cross-site request refused") {
		t.Errorf("form POST: %d %s; want 403 refusing a cross-site request", w.Code, w.Body)
	}
}
