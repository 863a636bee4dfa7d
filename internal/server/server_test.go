package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/server"
)

// newServer wires a real service on SQLite in a temporary directory.
func newServer(t *testing.T, vars map[string]string) *server.Server {
	t.Helper()
	vars["DATA_DIR"] = t.TempDir()
	cfg, err := server.LoadConfig(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func call(t *testing.T, h http.Handler, method, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, rec.Header(), string(b)
}

func TestPlaygroundOnlyWhenEnabled(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want int
	}{
		{"development default", map[string]string{}, 200},
		{"production default", map[string]string{"AUTH_ENV": "production", "JWT_SECRET": strings.Repeat("s", 32)}, 404},
		{"turned off", map[string]string{"GRAPHQL_PLAYGROUND": "off"}, 404},
		{"turned on in production", map[string]string{"AUTH_ENV": "production", "JWT_SECRET": strings.Repeat("s", 32), "GRAPHQL_PLAYGROUND": "on"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := call(t, newServer(t, tt.vars).Handler(), http.MethodGet, "/playground")
			if code != tt.want || (tt.want == 404 && strings.Contains(body, "playground")) {
				t.Fatalf("GET /playground: got %d %q; want %d", code, body, tt.want)
			}
		})
	}
}

func TestPublicEndpoints(t *testing.T) {
	for _, mode := range []struct {
		name    string
		vars    map[string]string
		jwksHas string
	}{
		{"shared secret", map[string]string{"JWT_SECRET": strings.Repeat("s", 32)}, `{"keys":[]}`},
		{"asymmetric", map[string]string{}, `"crv":"Ed25519"`},
	} {
		t.Run(mode.name, func(t *testing.T) {
			h := newServer(t, mode.vars).Handler()
			if code, _, body := call(t, h, http.MethodGet, "/.well-known/jwks.json"); code != 200 || !strings.Contains(body, mode.jwksHas) {
				t.Fatalf("jwks: got %d %s; want %s", code, body, mode.jwksHas)
			}
			code, _, body := call(t, h, http.MethodGet, "/.well-known/openid-configuration")
			var disc map[string]any
			if code != 200 || json.Unmarshal([]byte(body), &disc) != nil ||
				disc["issuer"] != "authentication-service" || disc["jwks_uri"] != "http://localhost:8080/.well-known/jwks.json" {
				t.Fatalf("discovery: got %d %s", code, body)
			}
			for path, want := range map[string]int{"/healthz": 200, "/livez": 200, "/readyz": 200, "/playground": 200, "/nope": 404} {
				if code, hdr, _ := call(t, h, http.MethodGet, path); code != want {
					t.Fatalf("%s: got %d; want %d", path, code, want)
				} else if want == 404 && hdr.Get("Content-Type") != "application/json" {
					t.Fatalf("404 is not JSON: %q", hdr.Get("Content-Type"))
				}
			}
			code, hdr, body := call(t, h, http.MethodGet, "/v1/revocations")
			if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || !strings.Contains(body, `"cursor"`) {
				t.Fatalf("feed snapshot: got %d %q %s", code, hdr.Get("Content-Type"), body)
			}
			_, _, metrics := call(t, h, http.MethodGet, "/metrics")
			for _, want := range []string{`authmesh_http_requests_total{code="200",method="get",route="healthz"} 1`, "authmesh_feed_clients 0", "go_goroutines"} {
				if !strings.Contains(metrics, want) {
					t.Fatalf("metrics lack %q", want)
				}
			}
		})
	}
}
