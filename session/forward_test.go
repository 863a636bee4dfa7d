package session_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/session"
)

// TestForwardingChain: a user calls service A, whose handler calls
// service B with ForwardingTransport; B, validating on its own, sees the
// user. A call made outside an authenticated request carries no token and
// B refuses it; a request with its own Authorization keeps it.
func TestForwardingChain(t *testing.T) {
	v := newValidator(t, session.Config{JWTSecret: secret, IgnoreRevocations: true})
	raw, _ := access(t, issuer(t, secret, nil), "user-1", "sess-1")
	b := httptest.NewServer(session.HTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := session.GetUserID(r.Context())
		io.WriteString(w, "B sees "+id)
	})))
	defer b.Close()
	client := &http.Client{Transport: &session.ForwardingTransport{}}
	callB := func(ctx context.Context, auth string) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body)), nil
	}
	relay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, body, err := callB(r.Context(), "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	})
	mux := http.NewServeMux()
	mux.Handle("/plain", session.HTTPMiddleware(v)(relay))
	mux.Handle("/stream", session.StreamingHTTPMiddleware(v)(relay))
	a := httptest.NewServer(mux)
	defer a.Close()

	for _, path := range []string{"/plain", "/stream"} {
		req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "B sees user-1" {
			t.Fatalf("user → A%s → B: got %d %q; want 200 %q", path, resp.StatusCode, body, "B sees user-1")
		}
	}
	if code, _, err := callB(context.Background(), ""); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("no caller's token: got %d, %v; want 401 from B", code, err)
	}
	ctx := session.NewContext(context.Background(), &session.Claims{UserID: "user-1"}, "not-the-token-to-send")
	if code, body, err := callB(ctx, "Bearer "+raw); err != nil || code != http.StatusOK || body != "B sees user-1" {
		t.Fatalf("own Authorization header: got %d %q, %v; want it kept", code, body, err)
	}
}

// TestForwardingRefusesPlainHTTP: the token is never sent over plain http
// to a host other than loopback unless AllowInsecure is set; the request
// is refused before any connection is made.
func TestForwardingRefusesPlainHTTP(t *testing.T) {
	ctx := session.NewContext(context.Background(), &session.Claims{UserID: "u"}, "tok")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://192.0.2.1/api", nil) // TEST-NET-1
	_, err := (&session.ForwardingTransport{}).RoundTrip(req)
	if !errors.Is(err, session.ErrInsecureForward) {
		t.Fatalf("got %v; want ErrInsecureForward", err)
	}
	if tok, ok := session.GetToken(ctx); !ok || tok != "tok" {
		t.Fatalf("GetToken: %q, %v", tok, ok)
	}
	if _, ok := session.GetToken(context.Background()); ok {
		t.Fatal("GetToken of a context without a token reported one")
	}
}
