package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestGraphQLResultsMetric: every root field's outcome is counted under
// its field and code, which the alerts (deployments/prometheus) read.
func TestGraphQLResultsMetric(t *testing.T) {
	h := newServer(t, map[string]string{"JWT_SECRET": strings.Repeat("s", 32)}).Handler()
	for _, q := range []string{`{"query":"{ me { id } }"}`, `{"query":"mutation { login(input: {email: \"nobody@example.com\", password: \"Wrong-pass1\"}) { token } }"}`} {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(q))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	_, _, metrics := call(t, h, http.MethodGet, "/metrics")
	for _, want := range []string{
		`authmesh_graphql_results_total{code="UNAUTHENTICATED",field="me"} 1`,
		`authmesh_graphql_results_total{code="INVALID_CREDENTIALS",field="login"} 1`,
		`authmesh_dependency_up{dependency="database"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
