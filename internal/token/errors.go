package token

import (
	"errors"
	"fmt"
)

// Verification errors. Verify wraps exactly one of them, so callers can tell
// what was wrong with a token with errors.Is. None of them is a technical
// failure: they all mean "this token is not acceptable".
var (
	// ErrMalformed: the token is not a well-formed compact JWS with JSON
	// header and claims.
	ErrMalformed = errors.New("token: malformed token")
	// ErrTooLarge: the token is longer than MaxTokenSize bytes.
	ErrTooLarge = errors.New("token: token too large")
	// ErrAlgorithm: the header's alg is none, not allowed, or not the
	// algorithm of the key named by kid.
	ErrAlgorithm = errors.New("token: algorithm not accepted")
	// ErrUnknownKey: no trusted key has the token's kid.
	ErrUnknownKey = errors.New("token: unknown signing key")
	// ErrForbiddenHeader: the header carries jku, x5u, jwk, x5c, crit or b64
	// (RFC 7797: go-jose would verify such a token over another input).
	ErrForbiddenHeader = errors.New("token: forbidden header parameter")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("token: invalid signature")
	// ErrExpired: exp is in the past beyond the clock skew.
	ErrExpired = errors.New("token: token expired")
	// ErrNotYetValid: nbf or iat is in the future beyond the clock skew.
	ErrNotYetValid = errors.New("token: token not yet valid")
	// ErrIssuer: iss is not the expected issuer.
	ErrIssuer = errors.New("token: wrong issuer")
	// ErrAudience: aud does not contain the expected audience.
	ErrAudience = errors.New("token: wrong audience")
	// ErrTokenType: the type claim or the typ header is not the expected
	// token type (an access token used as a refresh token or vice versa).
	ErrTokenType = errors.New("token: wrong token type")
	// ErrMissingClaim: sub, jti, sid or exp is missing.
	ErrMissingClaim = errors.New("token: missing required claim")
	// ErrLifetime: exp - iat exceeds the verifier's MaxTokenLifetime (or iat is
	// missing).
	ErrLifetime = errors.New("token: token lifetime too long")
)

// Key management errors.
var (
	// ErrNoSigningKey: no key may sign at this moment.
	ErrNoSigningKey = errors.New("token: no signing key available")
	// ErrInvalidConfig: a constructor was given an unusable configuration.
	ErrInvalidConfig = errors.New("token: invalid configuration")
	// ErrInvalidInput: Issue* was called with unusable arguments.
	ErrInvalidInput = errors.New("token: invalid input")
)

// errorf wraps sentinel with a formatted detail: "<sentinel>: <detail>".
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
