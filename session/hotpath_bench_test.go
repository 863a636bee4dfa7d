package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/session"
)

// The hot-path benchmarks: run them in one invocation so that load on a
// shared machine hits every row alike, and compare ratios rather than
// absolute times:
//
//	go test -run '^$' -bench 'HotPath|Middleware' -benchmem -cpu 1,2 -count 5 ./session/
//
// Every row runs under RunParallel, so ns/op is wall time per validation
// over all goroutines: throughput with 2 goroutines ÷ throughput with 1 is
// ns/op at -cpu 1 ÷ ns/op at -cpu 2.

// hotPathRevocations is how many revocations the Redis-synced validator
// holds while it is measured: lookups are real, not short-circuited by an
// empty set.
const hotPathRevocations = 2000

// BenchmarkHotPath compares authmesh's cached validation with what a user
// would otherwise write: golang-jwt/jwt/v5 with strict options and no
// revocation, and the same plus one Redis GET per request.
func BenchmarkHotPath(b *testing.B) {
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	plain := newValidator(b, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	synced := revokedValidator(b)
	p := strictParser()
	rdb := testenv.StartRedis(b).Client(b)
	ctx := context.Background()
	rows := []struct {
		name     string
		validate func() error
	}{
		{"authmesh-no-revocation", func() error { _, err := plain.ValidateAccessToken(raw); return err }},
		{"authmesh-redis-revocation", func() error { _, err := synced.ValidateAccessToken(raw); return err }},
		{"jwt-v5-strict", func() error { _, err := parseStrict(p, raw); return err }},
		{"jwt-v5-strict+redis-GET", func() error {
			c, err := parseStrict(p, raw)
			if err != nil {
				return err
			}
			if err := rdb.Get(ctx, "revoked:"+c.ID).Err(); err != redis.Nil {
				return fmt.Errorf("revocation lookup: %v", err)
			}
			return nil
		}},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) { benchValidate(b, row.validate) })
	}
}

// revokedValidator is a validator synced from a real Redis that holds
// hotPathRevocations token and session revocations.
func revokedValidator(b *testing.B) *session.SessionValidator {
	b.Helper()
	store, v, _ := redisPair(b, session.Config{})
	exp := time.Now().Add(time.Hour).Unix()
	for i := 0; i < hotPathRevocations; i++ {
		kind := []revoke.Kind{revoke.KindToken, revoke.KindSession}[i%2]
		if _, err := store.Revoke(context.Background(), revoke.Entry{Kind: kind, ID: fmt.Sprint("revoked-", i), Expires: exp}); err != nil {
			b.Fatal(err)
		}
	}
	testenv.WaitFor(b, "revocations applied", func() bool { return v.Health().Revocations >= hotPathRevocations })
	return v
}

// benchValidate runs validate on every goroutine RunParallel starts.
func benchValidate(b *testing.B, validate func() error) {
	b.Helper()
	if err := validate(); err != nil { // warms the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := validate(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// jwtClaims are the claims a golang-jwt user would declare for our tokens.
type jwtClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Type      string `json:"type"`
}

// strictParser is golang-jwt configured as strictly as authmesh checks:
// one algorithm, the issuer, exp required, iat checked, the same leeway.
func strictParser() *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithIssuer(token.DefaultIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
	)
}

func parseStrict(p *jwt.Parser, raw string) (*jwtClaims, error) {
	var c jwtClaims
	if _, err := p.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return []byte(secret), nil }); err != nil {
		return nil, err
	}
	if c.Type != token.TypeAccess || c.ID == "" || c.Subject == "" {
		return nil, fmt.Errorf("claims: %+v", c)
	}
	return &c, nil
}

// BenchmarkMiddleware measures what HTTPMiddleware adds: "bare" is the
// handler alone, "by-hand" the handler validating the token itself (the
// least a user could write), "middleware" the handler behind
// HTTPMiddleware. The middleware's own cost is middleware − by-hand.
// "streaming" is the handler behind StreamingHTTPMiddleware (watched for
// revocation), and the "+done" rows put a handler that looks at
// r.Context().Done() once, as a streaming handler does, behind either.
// No Redis: the rows also run under valgrind --tool=callgrind
// (docs/PERFORMANCE.md, "Instruction counts").
func BenchmarkMiddleware(b *testing.B) {
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	v := newValidator(b, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	var sink string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := session.GetUserID(r.Context())
		sink = id
	})
	doneHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			return
		default:
		}
		id, _ := session.GetUserID(r.Context())
		sink = id
	})
	rows := []struct {
		name string
		h    http.Handler
	}{
		{"bare", handler},
		{"by-hand", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := v.ValidateAccessToken(session.BearerToken(r))
			if err != nil {
				http.Error(w, session.UnauthorizedBody, http.StatusUnauthorized)
				return
			}
			sink = c.UserID
		})},
		{"middleware", session.HTTPMiddleware(v)(handler)},
		{"streaming", session.StreamingHTTPMiddleware(v)(handler)},
		{"middleware+done", session.HTTPMiddleware(v)(doneHandler)},
		{"streaming+done", session.StreamingHTTPMiddleware(v)(doneHandler)},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				parent, cancel := context.WithCancel(context.Background()) // as net/http's
				defer cancel()
				r, _ := http.NewRequestWithContext(parent, http.MethodGet, "/", nil)
				r.Header.Set("Authorization", "Bearer "+raw)
				w := discardWriter{h: http.Header{}}
				for pb.Next() {
					row.h.ServeHTTP(w, r)
				}
			})
		})
	}
	_ = sink
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

// BenchmarkHotPathScaling measures the throughput of two goroutines
// relative to one directly, for hosts too loaded for -cpu 1,2 runs
// minutes apart to compare: each of b.N rounds times a slice of
// validations on one goroutine, then the same number on each of two
// goroutines at once, so that both see the same load. It reports the
// median over the rounds of (2 × time of one) ÷ (time of two), the
// "x2-throughput" metric; 2 would be perfect scaling. It needs
// GOMAXPROCS ≥ 2.
func BenchmarkHotPathScaling(b *testing.B) {
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	plain := newValidator(b, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	synced := revokedValidator(b)
	for _, row := range []struct {
		name string
		v    *session.SessionValidator
	}{{"authmesh-no-revocation", plain}, {"authmesh-redis-revocation", synced}} {
		b.Run(row.name, func(b *testing.B) {
			const slice = 20_000
			run := func(n int) {
				for i := 0; i < n; i++ {
					if _, err := row.v.ValidateAccessToken(raw); err != nil {
						b.Error(err)
						return
					}
				}
			}
			var ratios []float64
			for b.Loop() {
				t0 := time.Now()
				run(slice)
				one := time.Since(t0)
				var wg sync.WaitGroup
				t0 = time.Now()
				for g := 0; g < 2; g++ {
					wg.Add(1)
					go func() { defer wg.Done(); run(slice) }()
				}
				wg.Wait()
				two := time.Since(t0)
				ratios = append(ratios, 2*float64(one)/float64(two))
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], "x2-throughput")
		})
	}
}

// BenchmarkProtectedRoute puts a load generator on a real HTTP server on
// loopback with two routes answering the same body: /bare, the handler
// alone, and /protected, the handler behind HTTPMiddleware (a validator
// synced from a real Redis holding revocations). Each of b.N rounds runs
// the generator (keep-alive clients, 8 at a time) against one route for a
// slice of time and then against the other, alternating which goes first,
// so that both see the same load, and the benchmark reports the median
// over the rounds of protected ÷ bare requests per second
// ("protected/bare"), and the median requests per second of each:
//
//	go test -run '^$' -bench ProtectedRoute -benchtime 5x ./session/
func BenchmarkProtectedRoute(b *testing.B) {
	raw, _ := access(b, issuer(b, secret, nil), "user-1", "sess-1")
	v := revokedValidator(b)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux := http.NewServeMux()
	mux.Handle("/bare", ok)
	mux.Handle("/protected", session.HTTPMiddleware(v)(ok))
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	const clients, slice = 8, 500 * time.Millisecond
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	rps := func(path string) float64 {
		var n atomic.Int64
		deadline := time.Now().Add(slice)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
					req.Header.Set("Authorization", "Bearer "+raw)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("%s: %s", path, resp.Status)
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(n.Load()) / slice.Seconds()
	}
	rps("/bare") // warms connections and the cache
	rps("/protected")
	var ratios, bare, protected []float64
	round := 0
	for b.Loop() {
		var pb, pp float64
		if round%2 == 0 {
			pb, pp = rps("/bare"), rps("/protected")
		} else {
			pp, pb = rps("/protected"), rps("/bare")
		}
		round++
		ratios, bare, protected = append(ratios, pp/pb), append(bare, pb), append(protected, pp)
	}
	median := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	b.ReportMetric(median(ratios), "protected/bare")
	b.ReportMetric(median(bare), "bare-req/s")
	b.ReportMetric(median(protected), "protected-req/s")
	b.ReportMetric(0, "ns/op")
}
