package session

import (
	"net/http"
	"slices"
	"strings"
)

// IsService reports whether the claims are those of a service token (a
// client acting for itself, OAuth 2.0 client credentials) rather than of a
// user token: a service token has a ClientID and no SessionID.
func (c *Claims) IsService() bool { return c.ClientID != "" }

// HasScope reports whether every one of scopes was granted (Scope). No
// scopes: true.
func (c *Claims) HasScope(scopes ...string) bool {
	for _, want := range scopes {
		found := false
		for s := range strings.FieldsSeq(c.Scope) {
			if s == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// HasAudience reports whether aud is one of the token's audiences.
func (c *Claims) HasAudience(aud string) bool { return slices.Contains(c.Audience, aud) }

// InsufficientScopeBody is the body of the 403 RequireScope writes.
const InsufficientScopeBody = "Insufficient scope"

// RequireScope returns middleware for one route or group of routes that
// lets through only requests whose token was granted every one of scopes;
// others get 403 "Insufficient scope" with a WWW-Authenticate header
// naming the scopes required (RFC 6750 §3.1, insufficient_scope). It reads
// the claims HTTPMiddleware (or StreamingHTTPMiddleware) put in the
// context, so it goes inside it; a request without claims gets 401.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	challenge := `Bearer error="insufficient_scope", scope="` + strings.Join(scopes, " ") + `"`
	return func(next http.Handler) http.Handler {
		return guard(next, func(c *Claims) bool { return c.HasScope(scopes...) }, func(w http.ResponseWriter) {
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, InsufficientScopeBody, http.StatusForbidden)
		})
	}
}

// guard returns a handler that serves next when the claims HTTPMiddleware
// put in the request's context pass allow, answers 401 when there are
// none, and otherwise lets deny answer.
func guard(next http.Handler, allow func(*Claims) bool, deny func(http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := GetClaims(r.Context())
		if !ok {
			reject(w, ErrMissingToken)
			return
		}
		if !allow(c) {
			deny(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireAudience returns middleware for one route or group of routes
// that lets through only requests whose token names aud among its
// audiences (aud); others get 401 "Invalid or expired token", as a token
// meant for another service is not a token for this one. Config.Audience
// requires an audience of every request a validator sees; this requires
// one per route. Like RequireScope it goes inside HTTPMiddleware.
func RequireAudience(aud string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return guard(next, func(c *Claims) bool { return c.HasAudience(aud) }, func(w http.ResponseWriter) { reject(w, ErrInvalidClaims) })
	}
}

// EmailNotVerifiedBody is the body of the 403 RequireVerifiedEmail writes.
const EmailNotVerifiedBody = "Email address not verified"

// RequireVerifiedEmail returns middleware for one route or group of routes
// that lets through only requests whose user token states a verified
// email address (EmailVerified, the email_verified claim); others get 403
// "Email address not verified". A user verifies through the link the auth
// service mails; the claim appears in the tokens issued afterwards (the
// next refresh). A service token has no email and is refused. Like
// RequireScope it goes inside HTTPMiddleware; a request without claims
// gets 401.
func RequireVerifiedEmail(next http.Handler) http.Handler {
	return guard(next, func(c *Claims) bool { return c.EmailVerified }, func(w http.ResponseWriter) {
		http.Error(w, EmailNotVerifiedBody, http.StatusForbidden)
	})
}
