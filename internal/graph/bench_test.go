package graph_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// benchRequests posts query through a handler again and again and fails
// on 5xx.
func benchRequests(b *testing.B, cfg graph.Config, query string) {
	benchVariables(b, cfg, query, nil)
}

// benchVariables is benchRequests with GraphQL variables.
func benchVariables(b *testing.B, cfg graph.Config, query string, vars map[string]any) {
	h, err := graph.NewHandler(newFake(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	body := mustJSON(map[string]any{"query": query, "variables": vars})
	for b.Loop() {
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// Inline strings: parsed and validated on every request, never cached (a
// real client's password or token differs each time anyway).
func BenchmarkLoginMutation(b *testing.B) {
	benchRequests(b, graph.Config{}, `mutation { login(input: {email: "a@b.c", password: "x"}) { token } }`)
}

// The same login with variables: the parsed document is cached.
func BenchmarkLoginMutationVariables(b *testing.B) {
	benchVariables(b, graph.Config{}, `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`,
		map[string]any{"e": "a@b.c", "p": "x"})
}

func BenchmarkRefreshInline(b *testing.B) {
	benchRequests(b, graph.Config{}, `mutation { refreshToken(token: "refresh-unknown") { token refreshToken } }`)
}

func BenchmarkRefreshVariables(b *testing.B) {
	benchVariables(b, graph.Config{}, `mutation($t: String!) { refreshToken(token: $t) { token refreshToken } }`,
		map[string]any{"t": "refresh-unknown"})
}

func BenchmarkReject1000Aliases(b *testing.B) { benchRequests(b, graph.Config{}, aliases(1000)) }

func BenchmarkRejectDepth100(b *testing.B) { benchRequests(b, graph.Config{}, nested(100)) }

func BenchmarkRejectFragmentBomb(b *testing.B) { benchRequests(b, graph.Config{}, fragmentBomb(40)) }

// The widest document validated with introspection on: 300 fields.
func BenchmarkIntrospectionWidest(b *testing.B) {
	benchRequests(b, graph.Config{Introspection: true}, "{ __schema { types { "+strings.Repeat("name ", 297)+"} } }")
}
