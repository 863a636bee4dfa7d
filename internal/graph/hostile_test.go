package graph_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/graph"
)

// nested returns a query nesting me n levels deep through an invalid field,
// which the limits must refuse before validation looks at it.
func nested(n int) string {
	return "{ me " + strings.Repeat("{ me ", n-1) + "{ id }" + strings.Repeat(" }", n-1) + " }"
}

func aliases(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := 0; i < n; i++ {
		b.WriteString("a")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(": __typename ")
	}
	b.WriteString("}")
	return b.String()
}

// fragmentBomb spreads each fragment into the next twice: 2^n fields once
// expanded from a short text.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("query { me { ...F0 } }\nfragment F" + itoa(n) + " on User { id }\n")
	for i := 0; i < n; i++ {
		b.WriteString("fragment F" + itoa(i) + " on User { ...F" + itoa(i+1) + " a" + itoa(i) + ": email ...F" + itoa(i+1) + " }\n")
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func postRaw(contentType, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func postQuery(q string) *http.Request {
	b, _ := json.Marshal(map[string]any{"query": q})
	return postRaw("application/json", string(b))
}

func TestHostileAndNonGraphQLRequests(t *testing.T) {
	introspection, err := os.ReadFile("testdata/introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	deepVars := `{"query":"{ me { id } }","variables":{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"malformed JSON", postRaw("application/json", `{"query": "{ me { id } }"`), 400, "BAD_REQUEST", "JSON"},
		{"not JSON at all", postRaw("application/json", `query { me { id } }`), 400, "BAD_REQUEST", "JSON"},
		{"JSON array (batch)", postRaw("application/json", `[{"query":"{ me { id } }"}]`), 400, "BAD_REQUEST", "JSON object"},
		{"JSON string", postRaw("application/json", `"{ me { id } }"`), 400, "BAD_REQUEST", "JSON object"},
		{"query not a string", postRaw("application/json", `{"query": 42}`), 400, "BAD_REQUEST", "query"},
		{"variables not an object", postRaw("application/json", `{"query":"{ me { id } }","variables":[1]}`), 400, "BAD_REQUEST", "variables"},
		{"trailing data", postRaw("application/json", `{"query":"{ me { id } }"} {"query":"x"}`), 400, "BAD_REQUEST", "after the JSON"},
		{"missing query", postRaw("application/json", `{"variables":{}}`), 400, "BAD_REQUEST", "missing query"},
		{"empty body", postRaw("application/json", ``), 400, "BAD_REQUEST", "empty"},
		{"whitespace body", postRaw("application/json", " \n\t "), 400, "BAD_REQUEST", "empty"},
		{"wrong content type", postRaw("text/plain", `{"query":"{ me { id } }"}`), 415, "BAD_REQUEST", "Content-Type"},
		{"form content type", postRaw("application/x-www-form-urlencoded", `query=%7B+me+%7B+id+%7D+%7D`), 415, "BAD_REQUEST", "Content-Type"},
		{"no content type", postRaw("", `{"query":"{ me { id } }"}`), 415, "BAD_REQUEST", "Content-Type"},
		{"garbage content type", postRaw(";;;=", `{"query":"{ me { id } }"}`), 415, "BAD_REQUEST", "Content-Type"},
		{"body over 1 MiB", postRaw("application/json", `{"query":"{ me { id } }","x":"`+strings.Repeat("a", 1<<20)+`"}`), 413, "BAD_REQUEST", "larger than"},
		{"invalid UTF-8 and NULs", postRaw("application/json", "{\"query\":\"{ me \xff\xfe\x00 }\"}"), 400, "BAD_REQUEST", "JSON"},
		{"deeply nested variables", postRaw("application/json", deepVars), 400, "BAD_REQUEST", "JSON"},
		{"PUT", httptest.NewRequest(http.MethodPut, "/graphql", strings.NewReader(`{"query":"{ me { id } }"}`)), 405, "BAD_REQUEST", "method"},
		{"DELETE", httptest.NewRequest(http.MethodDelete, "/graphql", nil), 405, "BAD_REQUEST", "method"},
		{"GET without query", httptest.NewRequest(http.MethodGet, "/graphql", nil), 400, "BAD_REQUEST", "missing query"},
		{"GET mutation", httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(`mutation { logout }`), nil), 405, "BAD_REQUEST", "POST"},
		{"GET bad variables", httptest.NewRequest(http.MethodGet, "/graphql?query=%7Bme%7Bid%7D%7D&variables=%7B", nil), 400, "BAD_REQUEST", "variables"},
		{"syntax error", postQuery(`{ me { id `), 422, "GRAPHQL_PARSE_FAILED", ""},
		{"unknown field", postQuery(`{ secrets { id } }`), 422, "GRAPHQL_VALIDATION_FAILED", ""},
		{"empty document", postQuery(`# nothing`), 422, "GRAPHQL_VALIDATION_FAILED", ""},
		{"unknown operation name", postRaw("application/json", `{"query":"query A { me { id } }","operationName":"B"}`), 422, "GRAPHQL_VALIDATION_FAILED", ""},
		{"wrong variable type", postRaw("application/json", `{"query":"mutation($t: String!) { refreshToken(token: $t) { token } }","variables":{"t":{"a":1}}}`), 422, "GRAPHQL_VALIDATION_FAILED", ""},
		{"depth 100", postQuery(nested(100)), 422, "GRAPHQL_VALIDATION_FAILED", "too deep"},
		{"depth 11", postQuery(nested(10)), 422, "GRAPHQL_VALIDATION_FAILED", "too deep"},
		{"1000 aliases", postQuery(aliases(1000)), 422, "GRAPHQL_VALIDATION_FAILED", "too many fields"},
		{"51 aliases", postQuery(aliases(51)), 422, "GRAPHQL_VALIDATION_FAILED", "too many fields"},
		{"fragment bomb", postQuery(fragmentBomb(40)), 422, "GRAPHQL_VALIDATION_FAILED", "too many fields"},
		{"fragment cycle", postQuery(`{ me { ...A } } fragment A on User { id ...B } fragment B on User { email ...A }`), 422, "GRAPHQL_VALIDATION_FAILED", "cycle"},
		{"unused fragment cycle", postQuery(`{ me { id } } fragment A on User { ...B } fragment B on User { ...A }`), 422, "GRAPHQL_VALIDATION_FAILED", ""},
		{"self-spreading fragment", postQuery(`{ me { ...A } } fragment A on User { ...A }`), 422, "GRAPHQL_VALIDATION_FAILED", "cycle"},
		{"token flood", postQuery("{ me { " + strings.Repeat("id ", 20000) + "} }"), 422, "GRAPHQL_PARSE_FAILED", ""},
		{"many operations", postQuery(strings.Repeat("query { me { id email createdAt } } ", 30)), 422, "GRAPHQL_VALIDATION_FAILED", "too many fields"},
		{"introspection off", postRaw("application/json", mustJSON(map[string]any{"query": string(introspection)})), 422, "GRAPHQL_VALIDATION_FAILED", "introspection is disabled"},
		{"__type off", postQuery(`{ __type(name: "User") { name } }`), 422, "GRAPHQL_VALIDATION_FAILED", "introspection is disabled"},
		{"nested __schema off", postQuery(`{ me { id __schema { types { name } } } }`), 422, "GRAPHQL_VALIDATION_FAILED", "introspection is disabled"},
	}
	e := newEnv(t, graph.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(tt.req)
			if resp.status != tt.wantStatus || resp.code() != tt.wantCode {
				t.Fatalf("got status %d code %q; want %d %q: %.300s", resp.status, resp.code(), tt.wantStatus, tt.wantCode, resp.raw)
			}
			if !strings.Contains(resp.Errors[0].Message, tt.wantInMsg) {
				t.Errorf("got message %q; want it to mention %q", resp.Errors[0].Message, tt.wantInMsg)
			}
			if len(resp.raw) > 4096 {
				t.Errorf("got a %d-byte error body; want a short one", len(resp.raw))
			}
		})
	}
	if n := e.fake.authCalls; n != 0 {
		t.Errorf("refused requests reached the service: %d Authenticate calls", n)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestIntrospectionOn(t *testing.T) {
	introspection, err := os.ReadFile("testdata/introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, graph.Config{Introspection: true})
	resp := ok(t, e.do(postRaw("application/json", mustJSON(map[string]any{"query": string(introspection)}))))
	for _, want := range []string{`"refreshToken"`, `"revokeSession"`, `"Time"`, `"lastUsedAt"`} {
		if !strings.Contains(string(resp.Data["__schema"]), want) {
			t.Errorf("schema lacks %s", want)
		}
	}
	// Ordinary operations keep their limits.
	if got := e.do(postQuery(nested(100))).code(); got != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("depth 100 with introspection on: got code %q; want GRAPHQL_VALIDATION_FAILED", got)
	}
	deepIntro := "{ __schema { types { " + strings.Repeat("fields { type { ", 10) + "name" + strings.Repeat(" } }", 10) + " } } }"
	if got := e.do(postQuery(deepIntro)).code(); got != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("introspection 23 deep: got code %q; want GRAPHQL_VALIDATION_FAILED", got)
	}
}
