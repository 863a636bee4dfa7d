package session_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
	"github.com/authmesh/authmesh/session"
)

const secret = "test-secret-that-is-at-least-32-bytes-long"

// issuer mints HS256 tokens as the auth service does.
func issuer(t testing.TB, sec string, clock func() time.Time) *token.Issuer {
	t.Helper()
	return tokentest.HMACIssuer(t, sec, token.IssuerConfig{Clock: clock})
}

func access(t testing.TB, iss *token.Issuer, sub, sid string) (string, token.Claims) {
	t.Helper()
	raw, c, err := iss.IssueAccess(sub, sid, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return raw, c
}

// newValidator builds a validator closed at the end of the test; unless cfg
// has a Logger, its messages go to the test's log (nowhere in benchmarks,
// whose output they would interleave).
func newValidator(t testing.TB, cfg session.Config) *session.SessionValidator {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tbWriter{t}, nil))
		if _, bench := t.(*testing.B); bench {
			cfg.Logger = slog.New(slog.DiscardHandler)
		}
	}
	v, err := session.NewSessionValidator(cfg)
	if err != nil {
		t.Fatalf("NewSessionValidator: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  session.Config
		want string
	}{
		{"no key source", session.Config{}, "JWT secret is required"},
		{"bad auth url", session.Config{AuthURL: "localhost:8080"}, "must be an http(s) URL"},
		{"negative lifetime", session.Config{JWTSecret: secret, IgnoreRevocations: true, MaxTokenLifetime: -time.Second}, "MaxTokenLifetime"},
		{"negative skew", session.Config{JWTSecret: secret, IgnoreRevocations: true, ClockSkew: -time.Second}, "ClockSkew"},
		{"secret without revocation source", session.Config{JWTSecret: secret}, "set Config.RedisAddr or Config.AuthURL"},
		{"ignoring revocations from Redis", session.Config{JWTSecret: secret, RedisAddr: "127.0.0.1:1", IgnoreRevocations: true}, "IgnoreRevocations"},
		{"ignoring revocations from the feed", session.Config{AuthURL: "http://127.0.0.1:1", IgnoreRevocations: true}, "IgnoreRevocations"},
		{"feed token no header can carry", session.Config{AuthURL: "http://127.0.0.1:1", FeedToken: "a token"}, "FeedToken"},
		{"CA for a plain http auth url", session.Config{AuthURL: "http://127.0.0.1:1", AuthCAFile: "/etc/hostname"}, "not https://"},
		{"CA file missing", session.Config{AuthURL: "https://127.0.0.1:1", AuthCAFile: "/nonexistent/ca.pem"}, "AuthCAFile"},
		{"CA file without a certificate", session.Config{AuthURL: "https://127.0.0.1:1", AuthCAFile: "/etc/hostname"}, "no PEM certificate"},
		{"CA file and HTTP client", session.Config{AuthURL: "https://127.0.0.1:1", AuthCAFile: "/etc/hostname", HTTPClient: &http.Client{}}, "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := session.NewSessionValidator(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want error containing %q", err, tt.want)
			}
		})
	}
}

// TestNoRevocationSource: a secret alone is refused with ErrNoRevocationSource;
// the explicit opt-out is accepted and warns on slog.Default() when no
// Logger is configured.
func TestNoRevocationSource(t *testing.T) {
	if _, err := session.NewSessionValidator(session.Config{JWTSecret: secret}); !errors.Is(err, session.ErrNoRevocationSource) {
		t.Fatalf("secret alone: got %v; want ErrNoRevocationSource", err)
	}
	var buf testenv.LogBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	v, err := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if !strings.Contains(buf.String(), "IgnoreRevocations") {
		t.Fatalf("default logger got %q; want the IgnoreRevocations warning", buf.String())
	}
	if h := v.Health(); h.Source != "none" || !h.Ready {
		t.Fatalf("Health: got %+v; want ready with source none", h)
	}
}

// tbWriter writes to a test's log.
type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestValidateAccessToken(t *testing.T) {
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	iss := issuer(t, secret, nil)
	good, _ := access(t, iss, "user-1", "sess-1")
	refresh, _, _ := iss.IssueRefresh("user-1", "sess-1", 0, time.Now(), time.Now().Add(time.Hour))
	past := issuer(t, secret, func() time.Time { return time.Now().Add(-time.Hour) })
	expired, _, err := past.IssueAccess("user-1", "sess-1", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := access(t, issuer(t, "another-secret-that-is-32-bytes-long!!", nil), "user-1", "sess-1")
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", good, nil},
		{"empty", "", session.ErrMissingToken},
		{"garbage", "not-a-jwt", session.ErrMalformed},
		{"expired", expired, session.ErrExpired},
		{"foreign secret", foreign, session.ErrInvalidSignature},
		{"alg none", none, session.ErrInvalidSignature},
		{"tampered payload", tampered, session.ErrInvalidSignature},
		{"refresh used as access", refresh, session.ErrInvalidClaims},
		{"oversized", strings.Repeat("a", 9<<10), session.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.ValidateAccessToken(tt.token)
			if tt.want == nil {
				if err != nil || c.UserID != "user-1" || c.SessionID != "sess-1" || c.TokenID == "" {
					t.Fatalf("got %+v, %v; want valid claims", c, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
		})
	}
	if _, err := v.ValidateRefreshToken(refresh); err != nil {
		t.Fatalf("ValidateRefreshToken: %v", err)
	}
}

func TestWrongIssuerAndAudience(t *testing.T) {
	iss := issuer(t, secret, nil)
	raw, _ := access(t, iss, "u", "s")
	for name, cfg := range map[string]session.Config{
		"issuer":   {JWTSecret: secret, IgnoreRevocations: true, Issuer: "someone-else"},
		"audience": {JWTSecret: secret, IgnoreRevocations: true, Audience: "billing"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := newValidator(t, cfg).ValidateAccessToken(raw); !errors.Is(err, session.ErrInvalidClaims) {
				t.Fatalf("got %v; want ErrInvalidClaims", err)
			}
		})
	}
}

// TestAuthURLTransport: an AuthURL the validator would use (for keys or
// the feed) must be https or loopback, unless AllowInsecureAuthURL opts in.
func TestAuthURLTransport(t *testing.T) {
	tests := []struct {
		name string
		cfg  session.Config
		ok   bool
	}{
		{"http non-loopback, keys", session.Config{AuthURL: "http://auth:8080"}, false},
		{"http non-loopback IP, keys", session.Config{AuthURL: "http://10.0.0.7:8080"}, false},
		{"http non-loopback, feed only", session.Config{JWTSecret: secret, AuthURL: "http://auth.example"}, false},
		{"http non-loopback, opted in", session.Config{AuthURL: "http://auth:8080", AllowInsecureAuthURL: true}, true},
		{"http non-loopback, unused", session.Config{JWTSecret: secret, RedisAddr: "127.0.0.1:1", AuthURL: "http://auth:8080"}, true},
		{"https non-loopback", session.Config{AuthURL: "https://auth.example"}, true},
		{"http localhost", session.Config{AuthURL: "http://localhost:8080"}, true},
		{"http 127.0.0.2", session.Config{AuthURL: "http://127.0.0.2:8080"}, true},
		{"http [::1]", session.Config{AuthURL: "http://[::1]:8080"}, true},
		{"http localhost lookalike", session.Config{AuthURL: "http://localhost.attacker.example"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := session.NewSessionValidator(tt.cfg)
			if err == nil {
				v.Close()
			}
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, session.ErrInsecureAuthURL) {
				t.Fatalf("got %v; want ok %v", err, tt.ok)
			}
		})
	}
}

// TestMaxTokenLifetime: a correctly signed token meant to live longer than
// MaxTokenLifetime (default 360h) is rejected.
func TestMaxTokenLifetime(t *testing.T) {
	long := tokentest.HMACIssuer(t, secret, token.IssuerConfig{AccessTokenTTL: 400 * time.Hour})
	raw, _ := access(t, long, "user-1", "sess-1")
	normal, _ := access(t, issuer(t, secret, nil), "user-1", "sess-1")
	tests := []struct {
		name string
		max  time.Duration
		raw  string
		want error
	}{
		{"400h token, default bound", 0, raw, session.ErrInvalidClaims},
		{"400h token, 401h bound", 401 * time.Hour, raw, nil},
		{"15m token, 10m bound", 10 * time.Minute, normal, session.ErrInvalidClaims},
		{"15m token, default bound", 0, normal, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true, MaxTokenLifetime: tt.max})
			_, err := v.ValidateAccessToken(tt.raw)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
		})
	}
}

// redisPair starts Redis, an auth-side revocation store and a validator.
func redisPair(t testing.TB, cfg session.Config) (*redisstore.Store, *session.SessionValidator, *testenv.RedisServer) {
	t.Helper()
	rs := testenv.StartRedis(t)
	store := revoketest.RedisStore(t, rs.Client(t), redisstore.Config{})
	cfg.JWTSecret, cfg.RedisAddr = secret, rs.Addr
	v := newValidator(t, cfg)
	testenv.WaitFor(t, "validator ready", func() bool { return v.Health().Ready })
	return store, v, rs
}

func TestRevocationThroughRedis(t *testing.T) {
	store, v, _ := redisPair(t, session.Config{})
	iss := issuer(t, secret, nil)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Unix()

	byJTI, c1 := access(t, iss, "u1", "s1")
	bySID, _ := access(t, iss, "u2", "s2")
	byUser, _ := access(t, iss, "u3", "s3")
	bystander, _ := access(t, iss, "u4", "s4")
	for _, tok := range []string{byJTI, bySID, byUser, bystander} {
		if _, err := v.ValidateAccessToken(tok); err != nil { // also fills the cache
			t.Fatalf("before revocation: %v", err)
		}
	}
	for _, e := range []revoke.Entry{
		{Kind: revoke.KindToken, ID: c1.ID, Expires: exp},
		{Kind: revoke.KindSession, ID: "s2", Expires: exp},
		{Kind: revoke.KindUser, ID: "u3", Before: time.Now().Unix() + 1, Expires: exp},
	} {
		if _, err := store.Revoke(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []string{byJTI, bySID, byUser} {
		testenv.WaitFor(t, "revocation applied", func() bool {
			_, err := v.ValidateAccessToken(tok)
			return errors.Is(err, session.ErrRevoked)
		})
	}
	if _, err := v.ValidateAccessToken(bystander); err != nil {
		t.Fatalf("never-revoked token rejected: %v", err)
	}
}

func TestNotReadyAnswers503(t *testing.T) {
	// Nothing listens on this port: the first snapshot never loads.
	v := newValidator(t, session.Config{JWTSecret: secret, RedisAddr: "127.0.0.1:1"})
	raw, _ := access(t, issuer(t, secret, nil), "u", "s")
	if _, err := v.ValidateAccessToken(raw); !errors.Is(err, session.ErrNotReady) {
		t.Fatalf("got %v; want ErrNotReady", err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	session.HTTPMiddleware(v)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Fatal("handler reached before the validator was ready")
	})).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if h := v.Health(); h.Ready || !h.Rejecting {
		t.Fatalf("Health: got %+v; want not ready and rejecting", h)
	}
}

// clock is a settable clock for staleness tests.
type clock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d += d
}

func TestStalenessPolicy(t *testing.T) {
	for _, failClosed := range []bool{false, true} {
		t.Run(map[bool]string{false: "fail-open", true: "fail-closed"}[failClosed], func(t *testing.T) {
			clk := &clock{}
			_, v, rs := redisPair(t, session.Config{FailClosed: failClosed, MaxStaleness: 2 * time.Second, Clock: clk.Now})
			raw, _ := access(t, issuer(t, secret, nil), "u", "s")
			if _, err := v.ValidateAccessToken(raw); err != nil {
				t.Fatal(err)
			}
			rs.Stop()
			clk.Add(time.Minute)
			h := v.Health()
			if !h.Degraded || h.Rejecting != failClosed {
				t.Fatalf("Health: got %+v; want degraded, rejecting=%v", h, failClosed)
			}
			_, err := v.ValidateAccessToken(raw)
			if failClosed && !errors.Is(err, session.ErrStale) {
				t.Fatalf("fail-closed: got %v; want ErrStale", err)
			}
			if !failClosed && err != nil {
				t.Fatalf("fail-open: got %v; want valid", err)
			}
		})
	}
}

// TestStalenessOnTheDefaultClock is TestStalenessPolicy without a Clock:
// the validator then measures staleness on the monotonic clock it reads
// once per request, and still refuses tokens once the state is too old.
func TestStalenessOnTheDefaultClock(t *testing.T) {
	_, v, rs := redisPair(t, session.Config{FailClosed: true, MaxStaleness: 300 * time.Millisecond})
	raw, _ := access(t, issuer(t, secret, nil), "u", "s")
	if _, err := v.ValidateAccessToken(raw); err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	testenv.WaitFor(t, "the cached token refused as stale", func() bool {
		_, err := v.ValidateAccessToken(raw)
		return errors.Is(err, session.ErrStale)
	})
}

func TestMiddleware(t *testing.T) {
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	raw, c := access(t, issuer(t, secret, nil), "user-9", "s")
	h := session.HTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := session.GetUserID(r.Context())
		jti, _ := session.GetTokenID(r.Context())
		w.Write([]byte(id + " " + jti))
	}))
	tests := []struct {
		name   string
		header string
		code   int
		body   string
	}{
		{"valid", "Bearer " + raw, 200, "user-9 " + c.ID},
		{"lower-case scheme", "bearer " + raw, 200, "user-9 " + c.ID},
		{"missing", "", 401, "Invalid or expired token\n"},
		{"basic auth", "Basic dXNlcjpwYXNz", 401, "Invalid or expired token\n"},
		{"garbage", "Bearer \x00\x01garbage", 401, "Invalid or expired token\n"},
		{"8 KiB header", "Bearer " + strings.Repeat("x", 8<<10), 401, "Invalid or expired token\n"},
		{"alg none", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", 401, "Invalid or expired token\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code || rec.Body.String() != tt.body {
				t.Fatalf("got %d %q; want %d %q", rec.Code, rec.Body.String(), tt.code, tt.body)
			}
			wantAuth := `Bearer error="invalid_token"`
			if session.BearerToken(req) == "" { // no bearer credentials at all
				wantAuth = "Bearer"
			}
			if got := rec.Header().Get("WWW-Authenticate"); tt.code == 401 && got != wantAuth {
				t.Fatalf("WWW-Authenticate: got %q; want %q", got, wantAuth)
			}
		})
	}
}

func TestOptionalMiddleware(t *testing.T) {
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	raw, _ := access(t, issuer(t, secret, nil), "user-5", "s")
	h := session.OptionalHTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := session.GetUserID(r.Context())
		if !ok {
			id = "anonymous"
		}
		w.Write([]byte(id))
	}))
	for header, want := range map[string]string{"": "anonymous", "Bearer " + raw: "user-5", "Bearer bad": "anonymous"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.String() != want {
			t.Fatalf("header %q: got %d %q; want 200 %q", header, rec.Code, rec.Body.String(), want)
		}
	}
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true, Metrics: reg})
	raw, _ := access(t, issuer(t, secret, nil), "u", "s")
	v.ValidateAccessToken(raw)
	v.ValidateAccessToken("garbage")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetValue() + "}"
			}
			got[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for name, want := range map[string]float64{
		"authmesh_validations_total{valid}":   1,
		"authmesh_validations_total{invalid}": 1,
		"authmesh_validator_ready":            1,
		"authmesh_revocation_entries":         0,
	} {
		if got[name] != want {
			t.Errorf("%s: got %v; want %v", name, got[name], want)
		}
	}
	if _, err := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true, Metrics: reg}); err == nil {
		t.Fatal("registering twice on one registry must fail")
	}
}
