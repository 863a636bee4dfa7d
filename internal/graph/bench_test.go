package graph_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// benchHandler runs req-producing f through a handler and fails on 5xx.
func benchRequests(b *testing.B, cfg graph.Config, query string) {
	h, err := graph.NewHandler(newFake(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	body := mustJSON(map[string]any{"query": query})
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

func BenchmarkLoginMutation(b *testing.B) {
	benchRequests(b, graph.Config{}, `mutation { login(input: {email: "a@b.c", password: "x"}) { token } }`)
}

func BenchmarkReject1000Aliases(b *testing.B) { benchRequests(b, graph.Config{}, aliases(1000)) }

func BenchmarkRejectDepth100(b *testing.B) { benchRequests(b, graph.Config{}, nested(100)) }

func BenchmarkRejectFragmentBomb(b *testing.B) { benchRequests(b, graph.Config{}, fragmentBomb(40)) }

// The widest document validated with introspection on: 300 fields.
func BenchmarkIntrospectionWidest(b *testing.B) {
	benchRequests(b, graph.Config{Introspection: true}, "{ __schema { types { "+strings.Repeat("name ", 297)+"} } }")
}
