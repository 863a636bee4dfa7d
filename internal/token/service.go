package token

import (
	"crypto/rand"
	"strings"
	"time"
)

// A service token is an access token issued to an OAuth 2.0 client for
// itself (the client credentials grant): sub and client_id both name the
// client, aud the service it may call, scope what it may do there, and it
// has no sid, since no device session stands behind it. A user token has
// a sid and no client_id.

// IsService reports whether c are the claims of a service token.
func (c Claims) IsService() bool { return c.ClientID != "" }

// checkKind checks the claims every token needs, and those that tell a
// user token (sub, sid) from a service token (sub = client_id, no sid).
func checkKind(c *Claims) error {
	if c.Subject == "" || c.ID == "" || c.ExpiresAt == 0 {
		return ErrMissingClaim
	}
	if c.ClientID == "" {
		if c.SessionID == "" {
			return ErrMissingClaim
		}
		return nil
	}
	// A service token: only access tokens are issued to clients.
	if c.Type != TypeAccess || c.SessionID != "" || c.Subject != c.ClientID {
		return ErrTokenType
	}
	return nil
}

// IssueService signs a service token for clientID: sub and client_id are
// clientID, aud is audience (the issuer's configured audience when empty),
// scope the space-separated scopes granted; iat is issuedAt (zero means
// now; at most 1s in the future), nbf is now, exp is now + AccessTokenTTL
// and jti is 128 random bits.
func (i *Issuer) IssueService(clientID string, audience []string, scopes []string, issuedAt time.Time) (string, Claims, error) {
	if clientID == "" || len(clientID) > maxIDLen {
		return "", Claims{}, errorf(ErrInvalidInput, "client id must be 1..%d bytes", maxIDLen)
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return "", Claims{}, errorf(ErrInvalidInput, "scope %q is not a scope token (RFC 6749 §3.3)", s)
		}
	}
	if len(audience) == 0 {
		audience = i.cfg.Audience
	}
	now := i.cfg.Clock()
	if issuedAt.IsZero() {
		issuedAt = now
	}
	if issuedAt.After(now.Add(maxIssueSkew)) {
		return "", Claims{}, errorf(ErrInvalidInput, "issuedAt %v is in the future", issuedAt)
	}
	c := Claims{
		Issuer: i.cfg.Issuer, Subject: clientID, Audience: append([]string(nil), audience...),
		ExpiresAt: now.Add(i.cfg.AccessTokenTTL).Unix(), NotBefore: now.Unix(), IssuedAt: issuedAt.Unix(),
		ID: rand.Text(), Type: TypeAccess, ClientID: clientID, Scope: strings.Join(scopes, " "),
	}
	raw, err := i.sign(c, typAccess)
	return raw, c, err
}
