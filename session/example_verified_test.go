package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/session"
)

// mintUser stands in for the auth service: an access token of a user
// whose email address is verified or not (the email_verified claim).
func mintUser(secret, userID string, verified bool) string {
	keys, _ := token.NewHMACKeys([]byte(secret))
	iss, _ := token.NewIssuer(keys, token.IssuerConfig{})
	raw, _, _ := iss.IssueUserAccess(userID, "session-1", time.Now(), verified)
	return raw
}

// A route only users with a verified email address may use: inside
// HTTPMiddleware, RequireVerifiedEmail answers 403 to the others.
func ExampleRequireVerifiedEmail() {
	const secret = "your-super-secret-jwt-key-here"
	v, _ := session.NewSessionValidator(session.Config{JWTSecret: secret, IgnoreRevocations: true})
	defer v.Close()

	checkout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := session.GetClaims(r.Context())
		fmt.Fprintf(w, "checkout for %s", c.UserID)
	})
	h := session.HTTPMiddleware(v)(session.RequireVerifiedEmail(checkout))

	for _, tok := range []string{mintUser(secret, "user-42", true), mintUser(secret, "user-43", false)} {
		r := httptest.NewRequest(http.MethodPost, "/checkout", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Printf("%d %q\n", rec.Code, rec.Body.String())
	}
	// Output:
	// 200 "checkout for user-42"
	// 403 "Email address not verified\n"
}
