package session

import (
	"context"
	"net/http"
	"strings"

	"github.com/authmesh/authmesh/internal/token"
)

// Validator is what the middleware needs: *SessionValidator implements it.
// Tests of handlers may supply their own.
type Validator interface {
	ValidateAccessToken(raw string) (*Claims, error)
}

var _ Validator = (*SessionValidator)(nil)

// maxAuthHeader bounds the Authorization header the middleware will parse.
const maxAuthHeader = 8 << 10

// UnauthorizedBody is the body of every 401 the middleware writes.
const UnauthorizedBody = "Invalid or expired token"

// UnavailableBody is the body of every 503 the middleware writes while the
// validator cannot decide (see IsUnavailable).
const UnavailableBody = "Service temporarily unable to validate tokens; retry shortly"

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive; anything else yields "".
func BearerToken(r *http.Request) string {
	return ParseBearer(r.Header.Get("Authorization"))
}

// ParseBearer extracts the token of an authorization value "Bearer <token>"
// by the rules of BearerToken (case-insensitive scheme, bounded length), for
// transports other than net/http such as gRPC metadata. Anything else
// yields "".
func ParseBearer(h string) string {
	if len(h) > maxAuthHeader || len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// HTTPMiddleware rejects requests without a valid access token: 401 with
// body "Invalid or expired token" and a WWW-Authenticate: Bearer header, or
// 503 with Retry-After while the validator cannot decide (not ready yet, or
// stale and failing closed). Valid requests reach next with the claims in
// their context (GetClaims, GetUserID, GetTokenID).
func HTTPMiddleware(v Validator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := BearerToken(r)
			if raw == "" {
				reject(w, ErrMissingToken)
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
		if err != nil {
			return nil, err
		}
		return WithClaims(ctx, c), nil
	}
	c, err := sv.check(raw, token.TypeAccess, sv.cfg.AccessTokenCacheTTL)
	if err != nil {
		return nil, err
	}
	cc := &claimsContext{Context: ctx}
	c.cloneInto(&cc.owned)
	return cc, nil
}

// RequireAuth protects a single handler function like HTTPMiddleware.
func RequireAuth(v Validator, h http.HandlerFunc) http.HandlerFunc {
	return HTTPMiddleware(v)(h).ServeHTTP
}

// OptionalHTTPMiddleware identifies the caller when a valid access token is
// presented and lets every request through; handlers use GetUserID to tell
// the difference.
func OptionalHTTPMiddleware(v Validator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if raw := BearerToken(r); raw != "" {
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
