package session

import "context"

type ctxKey struct{}

// WithClaims returns a context carrying c, as the middleware does. Useful in
// tests of handlers.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
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
