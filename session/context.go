package session

import "context"

type ctxKey struct{}

// WithClaims returns a context carrying c, as the middleware does. Useful in
// tests of handlers.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// claimsContext is the context HTTPMiddleware gives a request: the
// caller's copy of the claims lives in the same allocation as the context
// that carries them, so the middleware allocates once for both (and once
// more for the request net/http makes WithContext copy).
type claimsContext struct {
	context.Context
	owned ownedClaims
	raw   string // the token itself, for forwarding (GetToken)
}

func (c *claimsContext) Value(key any) any {
	switch key {
	case ctxKey{}:
		return &c.owned.c
	case tokenKey{}:
		if c.raw != "" {
			return c.raw
		}
	}
	return c.Context.Value(key)
}

// GetClaims returns the verified claims the middleware stored in ctx.
func GetClaims(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok && c != nil
}

// GetUserID returns the authenticated user's id (the sub claim).
func GetUserID(ctx context.Context) (string, bool) {
	c, ok := GetClaims(ctx)
	if !ok {
		return "", false
	}
	return c.UserID, true
}

// GetTokenID returns the id (jti) of the token that authenticated the request.
func GetTokenID(ctx context.Context) (string, bool) {
	c, ok := GetClaims(ctx)
	if !ok {
		return "", false
	}
	return c.TokenID, true
}

// GetSessionID returns the device session id (sid) of the request's token.
func GetSessionID(ctx context.Context) (string, bool) {
	c, ok := GetClaims(ctx)
	if !ok {
		return "", false
	}
	return c.SessionID, true
}
