package session

import (
	"context"
	"net/http"

	"github.com/authmesh/authmesh/internal/bearer"
	"github.com/authmesh/authmesh/internal/token"
)

// Validator is what the middleware needs: *SessionValidator implements it.
// Tests of handlers may supply their own.
type Validator interface {
	ValidateAccessToken(raw string) (*Claims, error)
}

var _ Validator = (*SessionValidator)(nil)

// UnauthorizedBody is the body of every 401 the middleware writes.
const UnauthorizedBody = "Invalid or expired token"

// UnavailableBody is the body of every 503 the middleware writes while the
// validator cannot decide (see IsUnavailable).
const UnavailableBody = "Service temporarily unable to validate tokens; retry shortly"

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header by the rules of ParseBearer; anything else yields "".
func BearerToken(r *http.Request) string {
	return ParseBearer(authorization(r))
}

// bearer is ParseBearer(h) for v: the token's alphabet is not checked
// again when it is a token v has verified and cached (its every character
// was checked then), which saves reading it a second time per request.
func (v *SessionValidator) bearer(h string) string {
	tok := bearer.Candidate(h)
	if tok == "" {
		return ""
	}
	if _, ok := v.cache.get(tok); ok || bearer.Valid(tok) {
		return tok
	}
	return ""
}

// authorization is r.Header.Get("Authorization") without canonicalizing
// a name that already is canonical: the same map lookup, on every request.
func authorization(r *http.Request) string {
	if v := r.Header["Authorization"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ParseBearer extracts the token of an authorization value "Bearer <token>",
// for net/http and for other transports such as gRPC metadata, by the one
// rule the auth service applies too (RFC 6750): at most 8 KiB, the scheme
// in any letter case, one or more spaces, then one token of the token68
// alphabet (letters, digits, "-._~+/", then optional "=" padding), with
// nothing around it. Anything else yields "".
func ParseBearer(h string) string {
	return bearer.Token(h)
}

// HTTPMiddleware rejects requests without a valid access token: 401 with
// body "Invalid or expired token" and a WWW-Authenticate: Bearer header, or
// 503 with Retry-After while the validator cannot decide (not ready yet, or
// stale and failing closed). Valid requests reach next with the claims in
// their context (GetClaims, GetUserID, GetTokenID).
//
// The token is the Authorization header's or, without that header, the
// access cookie's (Config.AccessCookieName). A state-changing request
// (not GET, HEAD or OPTIONS) that the cookie authenticates must also prove
// same-origin intent, or gets 403 (docs/SECURITY.md).
func HTTPMiddleware(v Validator) func(http.Handler) http.Handler {
	web := webAuthFor(v)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, fromCookie := web.token(r)
			if raw == "" {
				reject(w, ErrMissingToken)
				return
			}
			if err := web.csrf(r, fromCookie); err != nil {
				forbid(w, err)
				return
			}
			ctx, err := withValidatedClaims(r.Context(), v, raw)
			if err != nil {
				reject(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// withValidatedClaims validates raw as an access token and returns ctx
// carrying the caller's copy of its claims. For a *SessionValidator the
// copy and the context are one allocation (claimsContext).
func withValidatedClaims(ctx context.Context, v Validator, raw string) (context.Context, error) {
	sv, ok := v.(*SessionValidator)
	if !ok {
		c, err := v.ValidateAccessToken(raw)
		recordValidation(ctx, err)
		if err != nil {
			return nil, err
		}
		return NewContext(ctx, c, raw), nil
	}
	c, err := sv.check(raw, token.TypeAccess, sv.cfg.AccessTokenCacheTTL)
	recordValidation(ctx, err)
	if err != nil {
		return nil, err
	}
	cc := &claimsContext{Context: ctx, raw: raw}
	c.cloneInto(&cc.owned)
	return cc, nil
}

// RequireAuth protects a single handler function like HTTPMiddleware,
// cookie included.
func RequireAuth(v Validator, h http.HandlerFunc) http.HandlerFunc {
	return HTTPMiddleware(v)(h).ServeHTTP
}

// OptionalHTTPMiddleware identifies the caller when a valid access token is
// presented (header or cookie, as HTTPMiddleware) and lets every request
// through; handlers use GetUserID to tell the difference. A
// cookie-authenticated state-changing request that fails the CSRF check
// passes as anonymous.
func OptionalHTTPMiddleware(v Validator) func(http.Handler) http.Handler {
	web := webAuthFor(v)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if raw, fromCookie := web.token(r); raw != "" && web.csrf(r, fromCookie) == nil {
				if ctx, err := withValidatedClaims(r.Context(), v, raw); err == nil {
					r = r.WithContext(ctx)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func reject(w http.ResponseWriter, err error) {
	if IsUnavailable(err) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, UnavailableBody, http.StatusServiceUnavailable)
		return
	}
	// RFC 6750 §3.1: no error code when no credentials were presented.
	if err == ErrMissingToken {
		w.Header().Set("WWW-Authenticate", `Bearer`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	http.Error(w, UnauthorizedBody, http.StatusUnauthorized)
}
