package session

import (
	"time"

	"github.com/authmesh/authmesh/internal/token"
)

// Claims are the verified claims of a token.
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
}

func claimsFrom(c token.Claims) *Claims {
	return &Claims{
		UserID:    c.Subject,
		TokenID:   c.ID,
		SessionID: c.SessionID,
		Type:      c.Type,
		Issuer:    c.Issuer,
		Audience:  c.Audience,
		IssuedAt:  time.Unix(c.IssuedAt, 0),
		NotBefore: time.Unix(c.NotBefore, 0),
		ExpiresAt: time.Unix(c.ExpiresAt, 0),
	}
}
