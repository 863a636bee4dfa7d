package authclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authmesh/authmesh/internal/authclient"
)

// server answers /graphql with body (status 200 unless the query is
// "fail") after checking the request the client sent, and
// /api/protected with 200 for the bearer "live", 401 otherwise.
func server(t *testing.T, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/graphql":
			var req map[string]any
			b, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(b, &req); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request %s %q (%s): not a GraphQL POST", r.Method, b, r.Header.Get("Content-Type"))
			}
			if got := r.Header.Get("User-Agent"); got != "test/1.0" {
				t.Errorf("User-Agent = %q", got)
			}
			if req["query"] == "fail" {
				w.WriteHeader(http.StatusBadGateway)
			}
			if req["query"] == "bearer" && r.Header.Get("Authorization") != "Bearer tok" {
				t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
			}
			if v, ok := req["variables"]; ok && req["query"] != "vars" {
				t.Errorf("variables %v sent for query %v", v, req["query"])
			}
			io.WriteString(w, body)
		case "/api/protected":
			if r.Header.Get("Authorization") != "Bearer live" {
				w.WriteHeader(http.StatusUnauthorized)
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestDo(t *testing.T) {
	tests := []struct {
		name, query, body string
		vars              map[string]any
		wantStatus        int
		wantErr           error
		wantCode          string
		wantToken         string
	}{
		{name: "data", query: "q", body: `{"data":{"login":{"token":"t1"}}}`, wantStatus: 200, wantToken: "t1"},
		{name: "bearer", query: "bearer", body: `{"data":{"login":{"token":"t2"}}}`, wantStatus: 200, wantToken: "t2"},
		{name: "variables", query: "vars", vars: map[string]any{"e": "x"}, body: `{"data":{"login":{"token":"t3"}}}`, wantStatus: 200, wantToken: "t3"},
		{name: "graphql error", query: "q", body: `{"errors":[{"message":"no","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}`, wantStatus: 200, wantCode: "UNAUTHENTICATED"},
		{name: "not json", query: "fail", body: `<html>bad gateway</html>`, wantStatus: 502, wantErr: authclient.ErrUndecodable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server(t, tt.body)
			c := authclient.New(s.Client(), "test/1.0")
			bearer := ""
			if tt.query == "bearer" {
				bearer = "tok"
			}
			a, err := c.Do(context.Background(), s.URL, authclient.Request{Query: tt.query, Variables: tt.vars, Bearer: bearer})
			if !errors.Is(err, tt.wantErr) || a == nil || a.Status != tt.wantStatus {
				t.Fatalf("Do = %+v, %v; want status %d, error %v", a, err, tt.wantStatus, tt.wantErr)
			}
			if err != nil {
				if string(a.Body) != tt.body {
					t.Errorf("Body = %q, want %q", a.Body, tt.body)
				}
				return
			}
			if tt.wantCode != "" {
				if len(a.Errors) != 1 || a.Errors[0].Code() != tt.wantCode || a.Errors[0].Message != "no" {
					t.Errorf("Errors = %+v, want one with code %s", a.Errors, tt.wantCode)
				}
				return
			}
			var out struct{ Token string }
			if err := a.Field("login", &out); err != nil || out.Token != tt.wantToken {
				t.Errorf("Field(login) = %+v, %v; want token %q", out, err, tt.wantToken)
			}
			if err := a.Field("missing", &out); err == nil {
				t.Error("Field(missing) = nil error")
			}
		})
	}
}

func TestDoWithoutAnswer(t *testing.T) {
	s := server(t, "")
	s.Close()
	a, err := authclient.New(s.Client(), "test/1.0").Do(context.Background(), s.URL, authclient.Request{Query: "q"})
	if a != nil || err == nil || errors.Is(err, authclient.ErrUndecodable) {
		t.Fatalf("Do to a closed server = %+v, %v; want nil and a transport error", a, err)
	}
}

func TestProtected(t *testing.T) {
	s := server(t, "")
	c := authclient.New(s.Client(), "")
	for token, want := range map[string]int{"live": 200, "revoked": 401} {
		if got, err := c.Protected(context.Background(), s.URL, token); err != nil || got != want {
			t.Errorf("Protected(%s) = %d, %v; want %d", token, got, err, want)
		}
	}
	s.Close()
	if got, err := c.Protected(context.Background(), s.URL, "live"); err == nil || got != 0 {
		t.Errorf("Protected on a closed server = %d, %v; want 0 and an error", got, err)
	}
}
