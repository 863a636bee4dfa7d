package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestTokenEndpointErrors: malformed token requests get the RFC 6749 §5.2
// error they deserve, never a 5xx, and a valid one a bearer token.
func TestTokenEndpointErrors(t *testing.T) {
	srv := newServer(t, map[string]string{})
	secret, err := srv.Clients().Create(context.Background(), "billing", []string{"orders"}, []string{"orders:read"})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	tests := []struct {
		name      string
		body      string
		basic     [2]string
		code      int
		errorCode string
	}{
		{"valid, form", "grant_type=client_credentials&client_id=billing&client_secret=" + secret, [2]string{}, 200, ""},
		{"valid, basic", "grant_type=client_credentials&scope=orders%3Aread", [2]string{"billing", secret}, 200, ""},
		{"no grant type", "client_id=billing&client_secret=" + secret, [2]string{}, 400, "invalid_request"},
		{"another grant", "grant_type=password&username=a&password=b", [2]string{}, 400, "unsupported_grant_type"},
		{"repeated parameter", "grant_type=client_credentials&scope=a&scope=b", [2]string{"billing", secret}, 400, "invalid_request"},
		{"two authentication methods", "grant_type=client_credentials&client_secret=" + secret, [2]string{"billing", secret}, 400, "invalid_request"},
		{"no client", "grant_type=client_credentials", [2]string{}, 401, "invalid_client"},
		{"wrong secret", "grant_type=client_credentials", [2]string{"billing", "nope"}, 401, "invalid_client"},
		{"scope not allowed", "grant_type=client_credentials&scope=admin", [2]string{"billing", secret}, 400, "invalid_scope"},
		{"audience not allowed", "grant_type=client_credentials&audience=payments", [2]string{"billing", secret}, 400, "invalid_target"},
		{"audience and resource disagree", "grant_type=client_credentials&audience=orders&resource=payments", [2]string{"billing", secret}, 400, "invalid_request"},
		{"not a form", "{}", [2]string{"billing", secret}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic[0] != "" {
				r.SetBasicAuth(url.QueryEscape(tt.basic[0]), url.QueryEscape(tt.basic[1]))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var resp struct {
				Error       string `json:"error"`
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
				ExpiresIn   int64  `json:"expires_in"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tt.code || resp.Error != tt.errorCode {
				t.Fatalf("got %d %q; want %d %q (%s)", rec.Code, resp.Error, tt.code, tt.errorCode, rec.Body)
			}
			if tt.code == 200 && (resp.AccessToken == "" || resp.TokenType != "Bearer" || resp.ExpiresIn <= 0) {
				t.Fatalf("grant %s", rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q; want no-store", rec.Header().Get("Cache-Control"))
			}
			if tt.code == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("401 without a Basic challenge")
			}
		})
	}
}
