package graph_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/graph"
	"github.com/authmesh/authmesh/internal/testenv"
)

// gqlResponse is a GraphQL response as a client sees it.
type gqlResponse struct {
	status int
	header http.Header
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	raw string
}

// code returns the first error's extensions.code, or "".
func (r *gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// field unmarshals data.name into v.
func (r *gqlResponse) field(t *testing.T, name string, v any) {
	t.Helper()
	raw, ok := r.Data[name]
	if !ok {
		t.Fatalf("response has no data.%s: %s", name, r.raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("data.%s: %v: %s", name, err, raw)
	}
}

// env is a handler over a fake service.
type env struct {
	t    *testing.T
	fake *fakeService
	h    http.Handler
	log  *testenv.LogBuffer
}

func newEnv(t *testing.T, cfg graph.Config) *env {
	t.Helper()
	e := &env{t: t, fake: newFake(), log: &testenv.LogBuffer{}}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(e.log, nil))
	}
	h, err := graph.NewHandler(e.fake, cfg)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	e.h = h
	return e
}

// do sends req and decodes the response, failing on 5xx or a non-JSON body.
func (e *env) do(req *http.Request) *gqlResponse {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	out := &gqlResponse{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Code >= 500 {
		e.t.Fatalf("status %d (a 5xx); body %s", rec.Code, out.raw)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("Content-Type %q; want application/json (status %d, body %.200s)", ct, rec.Code, out.raw)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		e.t.Fatalf("response is not JSON: %v: %.300s", err, out.raw)
	}
	return out
}

// post sends a GraphQL operation with an optional bearer token.
func (e *env) post(query string, vars map[string]any, token string) *gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(req)
}

// ok fails the test if resp has errors.
func ok(t *testing.T, resp *gqlResponse) *gqlResponse {
	t.Helper()
	if resp.status != http.StatusOK || len(resp.Errors) > 0 {
		t.Fatalf("status %d, errors %s", resp.status, resp.raw)
	}
	return resp
}

type loginResult struct {
	Token, RefreshToken, UserID, Email, SessionID, ExpiresAt string
}

// registerAndLogin makes an account and logs it in.
func (e *env) registerAndLogin(email, password string) loginResult {
	e.t.Helper()
	ok(e.t, e.post(`mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { message user { id email } } }`,
		map[string]any{"e": email, "p": password}, ""))
	var lr loginResult
	ok(e.t, e.post(`mutation($e:String!,$p:String!){ login(input:{email:$e,password:$p}) { token refreshToken userId email sessionId expiresAt } }`,
		map[string]any{"e": email, "p": password}, "")).field(e.t, "login", &lr)
	return lr
}

func TestNewHandlerConfig(t *testing.T) {
	if _, err := graph.NewHandler(nil, graph.Config{}); err == nil {
		t.Errorf("NewHandler(nil service): got nil error; want one")
	}
	if _, err := graph.NewHandler(newFake(), graph.Config{MaxDepth: -1}); err == nil {
		t.Errorf("NewHandler(MaxDepth -1): got nil error; want one")
	}
}

func TestPlaygroundHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	graph.PlaygroundHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/playground", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK || !strings.Contains(string(body), "/graphql") || !strings.Contains(strings.ToLower(string(body)), "graphiql") {
		t.Errorf("playground: got status %d, body %.200s; want 200 with GraphiQL pointed at /graphql", rec.Code, body)
	}
}

func TestClientInfo(t *testing.T) {
	t.Run("default is the peer", func(t *testing.T) {
		e := newEnv(t, graph.Config{})
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"mutation { register(input:{email:\"a@b.c\",password:\"Test1234!\"}) { message } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "curl/8.0")
		req.RemoteAddr = "[2001:db8::1]:4444"
		ok(t, e.do(req))
		want := auth.ClientInfo{IP: "2001:db8::1", UserAgent: "curl/8.0"}
		if got := e.fake.clients[0]; got != want {
			t.Errorf("got client %+v; want %+v", got, want)
		}
	})
	t.Run("Config.ClientInfo", func(t *testing.T) {
		want := auth.ClientInfo{IP: "198.51.100.7", UserAgent: "resolved"}
		e := newEnv(t, graph.Config{ClientInfo: func(*http.Request) auth.ClientInfo { return want }})
		ok(t, e.post(`mutation { register(input:{email:"a@b.c",password:"Test1234!"}) { message } }`, nil, ""))
		if got := e.fake.clients[0]; got != want {
			t.Errorf("got client %+v; want %+v", got, want)
		}
	})
}

func TestRequestID(t *testing.T) {
	e := newEnv(t, graph.Config{})
	tests := []struct {
		name, incoming string
		honoured       bool
	}{
		{"none", "", false},
		{"short printable", "req-42.abc", true},
		{"too long", strings.Repeat("a", 65), false},
		{"control characters", "abc\ndef", false},
		{"spaces", "abc def", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ me { id } }"}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.incoming != "" {
				req.Header["X-Request-Id"] = []string{tt.incoming}
			}
			resp := e.do(req)
			got := resp.header.Get("X-Request-ID")
			if tt.honoured && got != tt.incoming {
				t.Errorf("got X-Request-ID %q; want %q", got, tt.incoming)
			}
			if !tt.honoured && (got == "" || got == tt.incoming) {
				t.Errorf("got X-Request-ID %q; want a fresh id", got)
			}
		})
	}
}
