package session

import (
	"errors"
	"fmt"

	"github.com/authmesh/authmesh/internal/token"
)

// Errors returned by validation, for callers to test with errors.Is. A
// rejected token never produces an error that is not one of these.
var (
	// ErrMissingToken: no bearer token was presented.
	ErrMissingToken = errors.New("session: missing bearer token")
	// ErrMalformed: the token is not a well-formed JWT of acceptable size.
	ErrMalformed = errors.New("session: malformed token")
	// ErrInvalidSignature: the signature does not verify, the algorithm is
	// not allowed, or the signing key is unknown.
	ErrInvalidSignature = errors.New("session: invalid token signature")
	// ErrExpired: the token is past its exp (beyond ClockSkew).
	ErrExpired = errors.New("session: token expired")
	// ErrNotYetValid: the token's nbf or iat is in the future (beyond ClockSkew).
	ErrNotYetValid = errors.New("session: token not yet valid")
	// ErrInvalidClaims: wrong issuer, audience or token type, a required
	// claim is missing, or exp - iat exceeds Config.MaxTokenLifetime.
	ErrInvalidClaims = errors.New("session: invalid token claims")
	// ErrRevoked: the token, its device session or its user was revoked.
	ErrRevoked = errors.New("session: token revoked")
	// ErrNotReady: the first snapshot of the revocation state has not loaded
	// yet; retry shortly. Not a statement about the token.
	ErrNotReady = errors.New("session: revocation state not loaded yet")
	// ErrStale: the validator is configured to fail closed and its
	// revocation state is older than Config.MaxStaleness. Not a statement
	// about the token.
	ErrStale = errors.New("session: revocation state is stale")
	// ErrUnsupported: the revocation state holds an entry of a protocol
	// version or kind this version cannot interpret (written by a newer
	// auth service), so it cannot tell which tokens are revoked and refuses
	// them all until the entry expires. Upgrade the service. Not a
	// statement about the token.
	ErrUnsupported = errors.New("session: revocation state holds entries this version cannot interpret; upgrade")
)

// ErrNoRevocationSource is returned by NewSessionValidator for a JWTSecret
// with neither Redis nor AuthURL: such a validator would accept revoked
// tokens until they expire. Its message names the fix.
var ErrNoRevocationSource = errors.New("session: no revocation source: revoked tokens would stay valid until they expire (set Config.RedisAddr or Config.AuthURL to receive revocations, or Config.IgnoreRevocations to accept that)")

// classify maps errors of the token package onto this package's sentinels,
// keeping the cause for logs.
func classify(err error) error {
	var s error
	switch {
	case errors.Is(err, token.ErrExpired):
		s = ErrExpired
	case errors.Is(err, token.ErrNotYetValid):
		s = ErrNotYetValid
	case errors.Is(err, token.ErrSignature), errors.Is(err, token.ErrAlgorithm),
		errors.Is(err, token.ErrUnknownKey), errors.Is(err, token.ErrForbiddenHeader):
		s = ErrInvalidSignature
	case errors.Is(err, token.ErrIssuer), errors.Is(err, token.ErrAudience),
		errors.Is(err, token.ErrTokenType), errors.Is(err, token.ErrMissingClaim),
		errors.Is(err, token.ErrLifetime):
		s = ErrInvalidClaims
	default:
		s = ErrMalformed
	}
	return fmt.Errorf("%w: %w", s, err)
}
