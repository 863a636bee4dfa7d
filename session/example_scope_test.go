package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/session"
)

// mintService stands in for the auth service's token endpoint (OAuth 2.0
// client credentials): a service token for clientID.
func mintService(secret, clientID string, aud []string, scopes ...string) string {
	keys, _ := token.NewHMACKeys([]byte(secret))
	iss, _ := token.NewIssuer(keys, token.IssuerConfig{AccessTokenTTL: 5 * time.Minute})
	raw, _, _ := iss.IssueService(clientID, aud, scopes, time.Time{})
	return raw
}

// A route for other services only: the caller's token must be meant for
// this service ("orders") and grant "orders:read". Inside HTTPMiddleware.
func ExampleRequireScope() {
	const secret = "your-super-secret-jwt-key-here"
	v, _ := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	defer v.Close()

	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := session.GetClaims(r.Context())
		fmt.Fprintf(w, "orders for %s", c.ClientID)
	})
	h := session.HTTPMiddleware(v)(session.RequireAudience("orders")(session.RequireScope("orders:read")(list)))

	for _, tok := range []string{
		mintService(secret, "billing", []string{"orders"}, "orders:read"),
		mintService(secret, "billing", []string{"orders"}),                  // no scope
		mintService(secret, "billing", []string{"payments"}, "orders:read"), // another service's token
	} {
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Printf("%d %q\n", rec.Code, rec.Body.String())
	}
	// Output:
	// 200 "orders for billing"
	// 403 "Insufficient scope\n"
	// 401 "Invalid or expired token\n"
}

// Telling a service calling for itself from a user.
func ExampleClaims_IsService() {
	const secret = "your-super-secret-jwt-key-here"
	v, _ := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	defer v.Close()

	for _, tok := range []string{mint(secret, "user-42"), mintService(secret, "billing", nil, "orders:read")} {
		c, _ := v.ValidateAccessToken(tok)
		if c.IsService() {
			fmt.Printf("service %s, scope %q\n", c.ClientID, c.Scope)
		} else {
			fmt.Printf("user %s in session %s\n", c.UserID, c.SessionID)
		}
	}
	// Output:
	// user user-42 in session session-1
	// service billing, scope "orders:read"
}
