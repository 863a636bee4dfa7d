package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/authmesh/authmesh/session"
)

// Service A calls service B on behalf of its caller: ForwardingTransport
// sends the caller's token on, and B, validating it itself, sees the user.
func ExampleForwardingTransport() {
	const secret = "your-super-secret-jwt-key-here"
	v, _ := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	defer v.Close()

	b := httptest.NewServer(session.HTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := session.GetUserID(r.Context())
		fmt.Fprintf(w, "B serves %s", id)
	})))
	defer b.Close()

	toB := &http.Client{Transport: &session.ForwardingTransport{}} // https, or loopback as here
	a := httptest.NewServer(session.HTTPMiddleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, b.URL, nil)
		resp, err := toB.Do(req)
		if err != nil {
			http.Error(w, "B unreachable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	})))
	defer a.Close()

	req, _ := http.NewRequest(http.MethodGet, a.URL, nil)
	req.Header.Set("Authorization", "Bearer "+mint(secret, "user-42"))
	resp, _ := http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output:
	// B serves user-42
}
