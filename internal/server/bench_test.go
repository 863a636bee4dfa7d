package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authmesh/authmesh/internal/server"
)

// BenchmarkRefreshEmbedded measures refresh-token rotations per second
// through the whole service (GraphQL, token checks, SQLite compare-and-swap,
// issuing the new pair) on the embedded store. Each parallel worker logs in
// once before the timer starts and then continues its own rotation chain,
// as many clients refreshing at once would. HS256 is the quick-start
// secret mode; EdDSA is the embedded default (keys generated at start).
// "inline" sends the token inside the query text, as the README does, so
// every document is new to the parsed-query cache; "variables" sends the
// same document each time with the token as a GraphQL variable.
func BenchmarkRefreshEmbedded(b *testing.B) {
	const secret = "benchmark-secret-benchmark-secret-0123456789"
	for _, bc := range []struct {
		name, secret string
		variables    bool
	}{
		{"HS256/inline", secret, false},
		{"HS256/variables", secret, true},
		{"EdDSA/inline", "", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := newBenchServer(b, bc.secret)
			workers := runtime.GOMAXPROCS(0)
			chains := make([]string, workers)
			for i := range chains {
				chains[i] = benchLogin(b, h, "bench@example.com")
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) - 1)
				if i >= len(chains) {
					b.Error("more parallel workers than pre-opened sessions")
					return
				}
				refresh := chains[i]
				for pb.Next() {
					var err error
					if refresh, err = benchRefresh(h, refresh, bc.variables); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}

// newBenchServer wires the real service on SQLite in a temporary
// directory, with cheap password hashing and no rate limits.
func newBenchServer(b *testing.B, secret string) http.Handler {
	b.Helper()
	env := map[string]string{
		"DATA_DIR": b.TempDir(), "JWT_SECRET": secret, "RATE_LIMITS": "off",
		"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1",
	}
	cfg, err := server.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	h := srv.Handler()
	var reg json.RawMessage
	q := `mutation { register(input: {email: "bench@example.com", password: "Bench1234!x"}) { message } }`
	if err := post(h, q, "register", &reg); err != nil {
		b.Fatal(err)
	}
	return h
}

// benchLogin opens a session and returns its refresh token.
func benchLogin(b *testing.B, h http.Handler, email string) string {
	b.Helper()
	var out struct{ RefreshToken string }
	q := fmt.Sprintf(`mutation { login(input: {email: %q, password: "Bench1234!x"}) { refreshToken } }`, email)
	if err := post(h, q, "login", &out); err != nil {
		b.Fatal(err)
	}
	return out.RefreshToken
}

// benchRefresh rotates refresh and returns its successor.
func benchRefresh(h http.Handler, refresh string, variables bool) (string, error) {
	var out struct{ Token, RefreshToken string }
	var err error
	if variables {
		err = post(h, `mutation($t: String!) { refreshToken(token: $t) { token refreshToken } }`, "refreshToken", &out, "t", refresh)
	} else {
		err = post(h, `mutation { refreshToken(token: "`+refresh+`") { token refreshToken } }`, "refreshToken", &out)
	}
	if err != nil {
		return "", err
	}
	if out.Token == "" || out.RefreshToken == "" || out.RefreshToken == refresh {
		return "", fmt.Errorf("refreshToken: got %+v; want a new pair", out)
	}
	return out.RefreshToken, nil
}

// post sends a GraphQL document (with optional variable name/value pairs)
// to the handler and decodes data[field].
func post(h http.Handler, query, field string, out any, vars ...string) error {
	req := map[string]any{"query": query}
	if len(vars) > 0 {
		v := map[string]string{}
		for i := 0; i+1 < len(vars); i += 2 {
			v[vars[i]] = vars[i+1]
		}
		req["variables"] = v
	}
	body, _ := json.Marshal(req)
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	b, _ := io.ReadAll(rec.Body)
	var resp struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("%s: status %d, body %.200q", field, rec.Code, b)
	}
	if len(resp.Errors) > 0 {
		return fmt.Errorf("%s: %s", field, resp.Errors[0].Message)
	}
	return json.Unmarshal(resp.Data[field], out)
}
