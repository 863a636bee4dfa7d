package graph_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph"
)

func TestAuthorizationHeader(t *testing.T) {
	e := newEnv(t, graph.Config{})
	lr := e.registerAndLogin("a@b.c", "Test1234!")
	tests := []struct {
		name, header string
		wantStatus   int
		wantCode     string // "" means success
	}{
		{"no header", "", http.StatusOK, "UNAUTHENTICATED"},
		{"Bearer", "Bearer " + lr.Token, http.StatusOK, ""},
		{"lower-case scheme", "bearer " + lr.Token, http.StatusOK, ""},
		{"upper-case scheme", "BEARER " + lr.Token, http.StatusOK, ""},
		{"extra spaces", "  Bearer   " + lr.Token + "  ", http.StatusOK, ""},
		{"scheme only", "Bearer", http.StatusOK, "UNAUTHENTICATED"},
		{"scheme and space", "Bearer ", http.StatusOK, "UNAUTHENTICATED"},
		{"other scheme", "Basic YTpi", http.StatusOK, "UNAUTHENTICATED"},
		{"raw token without scheme", lr.Token, http.StatusOK, "UNAUTHENTICATED"},
		{"two tokens", "Bearer " + lr.Token + " " + lr.Token, http.StatusOK, "UNAUTHENTICATED"},
		{"invalid token", "Bearer not-a-token", http.StatusOK, "UNAUTHENTICATED"},
		{"8 KiB token", "Bearer " + strings.Repeat("x", 8<<10-7), http.StatusOK, "UNAUTHENTICATED"},
		{"absurd header", "Bearer " + strings.Repeat("x", 8<<10), http.StatusBadRequest, "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ me { email } }"}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp := e.do(req)
			if resp.status != tt.wantStatus || resp.code() != tt.wantCode {
				t.Errorf("got status %d code %q; want %d %q (body %.200s)", resp.status, resp.code(), tt.wantStatus, tt.wantCode, resp.raw)
			}
		})
	}
}

func TestAuthenticateOncePerRequest(t *testing.T) {
	e := newEnv(t, graph.Config{})
	lr := e.registerAndLogin("a@b.c", "Test1234!")
	e.fake.authCalls = 0
	ok(t, e.post(`{ me { id } sessions { id } again: me { email } }`, nil, lr.Token))
	if e.fake.authCalls != 1 {
		t.Errorf("got %d Authenticate calls; want 1", e.fake.authCalls)
	}
	e.fake.authCalls = 0
	ok(t, e.post(`mutation { login(input: {email: "a@b.c", password: "Test1234!"}) { token } }`, nil, "some-token"))
	if e.fake.authCalls != 0 {
		t.Errorf("login: got %d Authenticate calls; want 0 (lazy)", e.fake.authCalls)
	}
}

func TestErrorMapping(t *testing.T) {
	secret := errors.New(`pq: SELECT password_hash FROM users WHERE email='a@b.c'`)
	tests := []struct {
		name        string
		err         error
		panicWith   any
		wantCode    string
		wantMessage string
		wantRetry   float64 // 0: no retryAfter
		wantLogged  bool
	}{
		{"unauthenticated", &auth.Error{Code: auth.CodeUnauthenticated, Message: "token expired"}, nil, "UNAUTHENTICATED", "token expired", 0, false},
		{"bad input", &auth.Error{Code: auth.CodeBadUserInput, Message: "password too short"}, nil, "BAD_USER_INPUT", "password too short", 0, false},
		{"email taken", &auth.Error{Code: auth.CodeEmailTaken, Message: "email taken"}, nil, "EMAIL_TAKEN", "email taken", 0, false},
		{"invalid credentials", &auth.Error{Code: auth.CodeInvalidCredentials, Message: "invalid email or password"}, nil, "INVALID_CREDENTIALS", "invalid email or password", 0, false},
		{"rate limited", &auth.Error{Code: auth.CodeRateLimited, Message: "too many attempts", RetryAfter: 1200 * time.Millisecond}, nil, "RATE_LIMITED", "too many attempts", 2, false},
		{"rate limited, no time", &auth.Error{Code: auth.CodeRateLimited, Message: "too many attempts"}, nil, "RATE_LIMITED", "too many attempts", 1, false},
		{"not found", &auth.Error{Code: auth.CodeNotFound, Message: "no such session"}, nil, "NOT_FOUND", "no such session", 0, false},
		{"refresh reused", &auth.Error{Code: auth.CodeRefreshReused, Message: "refresh token reused"}, nil, "REFRESH_TOKEN_REUSED", "refresh token reused", 0, false},
		{"wrapped auth error", fmt.Errorf("login: %w", &auth.Error{Code: auth.CodeEmailTaken, Message: "email taken"}), nil, "EMAIL_TAKEN", "email taken", 0, false},
		{"coded internal", &auth.Error{Code: auth.CodeInternal, Message: "db said " + secret.Error(), Err: secret}, nil, "INTERNAL", "internal error (request id rid-7)", 0, true},
		{"plain error", secret, nil, "INTERNAL", "internal error (request id rid-7)", 0, true},
		{"panic", nil, "boom: " + secret.Error(), "INTERNAL", "internal error (request id rid-7)", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, graph.Config{})
			if tt.err != nil {
				e.fake.fail["Login"] = tt.err
			}
			if tt.panicWith != nil {
				e.fake.panics["Login"] = tt.panicWith
			}
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"mutation { login(input: {email: \"a@b.c\", password: \"x\"}) { token } }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Request-ID", "rid-7")
			resp := e.do(req)
			if resp.status != http.StatusOK || len(resp.Errors) != 1 {
				t.Fatalf("got status %d, %d errors; want 200 with one error: %s", resp.status, len(resp.Errors), resp.raw)
			}
			got := resp.Errors[0]
			if resp.code() != tt.wantCode || got.Message != tt.wantMessage {
				t.Errorf("got code %q message %q; want %q %q", resp.code(), got.Message, tt.wantCode, tt.wantMessage)
			}
			if len(got.Path) != 1 || got.Path[0] != "login" {
				t.Errorf("got path %v; want [login]", got.Path)
			}
			retry, hasRetry := got.Extensions["retryAfter"].(float64)
			if retry != tt.wantRetry || hasRetry != (tt.wantRetry != 0) {
				t.Errorf("got retryAfter %v (present %v); want %v", got.Extensions["retryAfter"], hasRetry, tt.wantRetry)
			}
			if len(got.Extensions) != map[bool]int{true: 2, false: 1}[hasRetry] {
				t.Errorf("got extensions %v; want only code (and retryAfter)", got.Extensions)
			}
			if strings.Contains(resp.raw, "SELECT") || strings.Contains(resp.raw, "goroutine") {
				t.Errorf("response leaks internals: %s", resp.raw)
			}
			logged := e.log.String()
			if tt.wantLogged != strings.Contains(logged, "rid-7") {
				t.Errorf("log %q: logged with request id = %v; want %v", logged, !tt.wantLogged, tt.wantLogged)
			}
			if tt.wantLogged && !strings.Contains(logged, "SELECT") {
				t.Errorf("log %q: want the cause", logged)
			}
		})
	}
}

func TestResolverPanicElsewhere(t *testing.T) {
	e := newEnv(t, graph.Config{})
	lr := e.registerAndLogin("a@b.c", "Test1234!")
	e.fake.panics["Sessions"] = "kaboom"
	resp := e.post(`{ me { email } sessions { id } }`, nil, lr.Token)
	if resp.status != http.StatusOK || resp.code() != "INTERNAL" {
		t.Fatalf("got status %d code %q; want 200 INTERNAL: %s", resp.status, resp.code(), resp.raw)
	}
	if !strings.Contains(e.log.String(), "kaboom") {
		t.Errorf("log %q: want the panic value", e.log.String())
	}
}
