package session

import (
	"slices"
	"time"

	"github.com/authmesh/authmesh/internal/token"
)

// Claims are the verified claims of a token. Every call of
// ValidateAccessToken or ValidateRefreshToken returns claims of its own:
// the caller may modify them, Audience included, without affecting the
// validator's cache or any other caller.
type Claims struct {
	UserID    string    // sub
	TokenID   string    // jti
	SessionID string    // sid: the device session
	Type      string    // "access" or "refresh"
	Issuer    string    // iss
	Audience  []string  // aud
	IssuedAt  time.Time // iat
	NotBefore time.Time // nbf
	ExpiresAt time.Time // exp
	// ClientID (client_id) is set on service tokens only: the OAuth 2.0
	// client the token was issued to, which UserID (sub) then names too.
	// A service token has no SessionID. See IsService.
	ClientID string
	// Scope (scope) is the space-separated list of scopes granted; see
	// HasScope.
	Scope string
	// EmailVerified (email_verified) is true on a user's access token when
	// the user's email address is verified; see RequireVerifiedEmail.
	EmailVerified bool
}

func claimsFrom(c token.Claims) *Claims {
	return &Claims{
		UserID:    c.Subject,
		TokenID:   c.ID,
		SessionID: c.SessionID,
		Type:      c.Type,
		Issuer:    c.Issuer,
		Audience:  slices.Clone(c.Audience),
		IssuedAt:  time.Unix(c.IssuedAt, 0),
		NotBefore: time.Unix(c.NotBefore, 0),
		ExpiresAt: time.Unix(c.ExpiresAt, 0),
		ClientID:  c.ClientID,
		Scope:     c.Scope,

		EmailVerified: c.EmailVerified,
	}
}

// inlineAudience is how many audience values a copy of Claims holds in
// the same allocation as the claims themselves.
const inlineAudience = 4

// ownedClaims is a copy of Claims together with room for its audience, so
// that handing a caller its own claims costs one allocation.
type ownedClaims struct {
	c   Claims
	aud [inlineAudience]string
}

// clone returns a deep copy of c that shares no memory with it: one
// allocation for up to inlineAudience audience values, two beyond.
func (c *Claims) clone() *Claims { return c.cloneInto(new(ownedClaims)) }

// cloneInto makes o a deep copy of c and returns its claims, for callers
// that allocate o together with something else (the middleware's context).
func (c *Claims) cloneInto(o *ownedClaims) *Claims {
	o.c = *c
	switch n := len(c.Audience); {
	case c.Audience == nil:
	case n <= inlineAudience:
		o.c.Audience = o.aud[:n:n]
		copy(o.c.Audience, c.Audience)
	default:
		o.c.Audience = slices.Clone(c.Audience)
	}
	return &o.c
}
