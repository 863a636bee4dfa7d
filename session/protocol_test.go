package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/session"
)

// A revocation of a kind this version does not know (written by a newer
// auth service) makes the validator refuse every token with ErrUnsupported
// (503) and say why in Health, instead of ignoring it and failing open.
func TestValidatorRefusesWhatItCannotRead(t *testing.T) {
	_, v, rs := redisPair(t, session.Config{})
	raw, _ := access(t, issuer(t, secret, nil), "user-1", "sess-1")
	if _, err := v.ValidateAccessToken(raw); err != nil {
		t.Fatalf("before: %v", err)
	}
	// What a newer auth service would append for a kind this version lacks.
	err := rs.Client(t).XAdd(context.Background(), &redis.XAddArgs{
		Stream: redissync.DefaultPrefix + "{revocations}:log",
		Values: []any{"v", "2", "k", "before", "i", "all", "e", "4102444800", "b", "0", "a", "0"},
	}).Err()
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the unreadable entry refused", func() bool {
		_, err := v.ValidateAccessToken(raw)
		return errors.Is(err, session.ErrUnsupported)
	})
	if h := v.Health(); !h.Rejecting || !h.Degraded || !strings.Contains(h.String(), "upgrade") {
		t.Errorf("Health = %+v (%s); want degraded, rejecting, saying upgrade", h, h)
	}
	rec := httptest.NewRecorder()
	session.HTTPMiddleware(v)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, bearerRequest(raw))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("middleware answered %d; want 503", rec.Code)
	}
}

// A validator whose Issuer differs from the auth service's is not ready and
// names both issuers, instead of answering 401 to every request.
func TestValidatorReportsIssuerMismatch(t *testing.T) {
	rs := testenv.StartRedis(t)
	revoketest.RedisStore(t, rs.Client(t), redisstore.Config{Issuer: "https://auth.example"})
	v := newValidator(t, session.Config{JWTSecret: secret, RedisAddr: rs.Addr, Issuer: "https://other.example"})
	testenv.WaitFor(t, "the mismatch reported", func() bool { return v.Health().Problem != "" })
	h := v.Health()
	if h.Ready || !strings.Contains(h.Problem, "https://auth.example") || !strings.Contains(h.Problem, "https://other.example") {
		t.Errorf("Health = %+v; want not ready, naming both issuers", h)
	}
	raw, _ := access(t, issuer(t, secret, nil), "user-1", "sess-1")
	if _, err := v.ValidateAccessToken(raw); !errors.Is(err, session.ErrNotReady) {
		t.Errorf("ValidateAccessToken = %v; want ErrNotReady", err)
	}
	rec := httptest.NewRecorder()
	session.HTTPMiddleware(v)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, bearerRequest(raw))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("middleware answered %d; want 503", rec.Code)
	}
}

// bearerRequest is a GET carrying raw as its bearer token.
func bearerRequest(raw string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+raw)
	return r
}
