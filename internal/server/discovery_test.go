package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/server"
)

// discoveryDoc fetches the discovery document and the algorithms of the
// keys in the JWKS.
func discoveryDoc(t *testing.T, h http.Handler) (doc map[string]any, jwksAlgs []string) {
	t.Helper()
	code, _, body := call(t, h, http.MethodGet, "/.well-known/openid-configuration")
	if code != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("discovery: got %d %s", code, body)
	}
	code, _, body = call(t, h, http.MethodGet, "/.well-known/jwks.json")
	var set struct {
		Keys []struct {
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &set) != nil {
		t.Fatalf("jwks: got %d %s", code, body)
	}
	for _, k := range set.Keys {
		if !slices.Contains(jwksAlgs, k.Alg) {
			jwksAlgs = append(jwksAlgs, k.Alg)
		}
	}
	slices.Sort(jwksAlgs)
	return doc, jwksAlgs
}

// algs reads the access-token algorithms of a discovery document.
func algs(t *testing.T, doc map[string]any) []string {
	t.Helper()
	raw, ok := doc["access_token_signing_alg_values_supported"].([]any)
	if !ok {
		t.Fatalf("access_token_signing_alg_values_supported missing: %v", doc)
	}
	var out []string
	for _, a := range raw {
		out = append(out, a.(string))
	}
	return out
}

func TestDiscoveryListsOnlyTheAlgorithmsInUse(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"shared secret", map[string]string{"JWT_SECRET": strings.Repeat("s", 32)}, []string{"HS256"}},
		{"default", map[string]string{}, []string{"EdDSA"}},
		{"ES256", map[string]string{"SIGNING_ALG": "ES256"}, []string{"ES256"}},
		{"RS256", map[string]string{"SIGNING_ALG": "RS256"}, []string{"RS256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, jwksAlgs := discoveryDoc(t, newServer(t, tt.vars).Handler())
			if got := algs(t, doc); !slices.Equal(got, tt.want) {
				t.Errorf("access_token_signing_alg_values_supported: got %v; want %v", got, tt.want)
			}
			if tt.vars["JWT_SECRET"] == "" && !slices.Equal(algs(t, doc), jwksAlgs) {
				t.Errorf("discovery lists %v; the JWKS holds %v", algs(t, doc), jwksAlgs)
			}
			for field := range doc {
				if strings.HasPrefix(field, "id_token") {
					t.Errorf("discovery has %s, but the service issues no ID tokens", field)
				}
			}
		})
	}
}

// After SIGNING_ALG changes, the key of the old algorithm still signs until
// rotation: discovery must keep listing it, as the JWKS does.
func TestDiscoveryFollowsTheKeysAfterAnAlgorithmChange(t *testing.T) {
	dir := t.TempDir()
	start := func(alg string) http.Handler {
		t.Helper()
		cfg, err := server.LoadConfig(env(map[string]string{"DATA_DIR": dir, "SIGNING_ALG": alg}))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv.Handler()
	}
	first := start("EdDSA")
	if doc, _ := discoveryDoc(t, first); !slices.Equal(algs(t, doc), []string{"EdDSA"}) {
		t.Fatalf("first start: got %v; want [EdDSA]", algs(t, doc))
	}
	doc, jwksAlgs := discoveryDoc(t, start("ES256"))
	if got := algs(t, doc); !slices.Contains(got, "EdDSA") || !slices.Equal(got, jwksAlgs) {
		t.Errorf("after switching to ES256: discovery lists %v, JWKS holds %v; want the same, with EdDSA", got, jwksAlgs)
	}
}
