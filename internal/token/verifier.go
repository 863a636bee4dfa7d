package token

import (
	"encoding/base64"
	"slices"
	"strings"
	"time"
)

// MaxTokenSize is the longest token Verify accepts, in bytes.
const MaxTokenSize = 8 << 10

// DefaultClockSkew is the default tolerance for clock differences, used by
// the verifier, the auth service and the session validator alike.
const DefaultClockSkew = 30 * time.Second

// maxKidLen bounds the kid looked up in a key source.
const maxKidLen = 256

// b64strict decodes base64url without padding and rejects non-canonical
// trailing bits. It still skips CR and LF (as every encoding/base64 decoder
// does), so Verify first refuses any byte outside the base64url alphabet:
// together, one token has exactly one string form.
var b64strict = base64.RawURLEncoding.Strict()

// b64urlAlphabet marks the bytes of the base64url alphabet (RFC 4648 §5).
var b64urlAlphabet = func() (set [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		set[c] = true
	}
	return set
}()

// compactForm reports whether raw consists of base64url characters and dots
// only (the segment count is checked separately).
func compactForm(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; !b64urlAlphabet[c] && c != '.' {
			return false
		}
	}
	return true
}

// VerifierConfig configures a Verifier. Zero values are defaults.
type VerifierConfig struct {
	// Issuer is the required iss claim (default "authentication-service").
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// ClockSkew is the tolerance applied to exp, nbf and iat (default 30s;
	// negative means none).
	ClockSkew time.Duration
	// MaxTokenLifetime bounds exp - iat: a token meant to live longer is refused
	// (ErrLifetime) even when correctly signed, so a leaked or mis-issued
	// signing key cannot mint tokens valid for years. A token without iat
	// is refused too. Default DefaultRefreshTokenTTL (360h), the longest a token
	// of the auth service lives by default; it must not be negative.
	MaxTokenLifetime time.Duration
	// Algorithms is the allowlist of JWS algorithms. Default: the algorithm
	// family of the key source (HS256 for HMACKeys, EdDSA/ES256/RS256
	// otherwise). The algorithm must also be the key's own algorithm.
	Algorithms []string
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

// Verifier checks tokens locally: CPU only, no I/O. Safe for concurrent use.
type Verifier struct {
	keys     VerificationKeys
	issuer   string
	audience string
	skew     int64 // seconds
	lifetime int64 // seconds
	algs     []string
	clock    func() time.Time
}

// NewVerifier returns a Verifier trusting the keys of keys.
func NewVerifier(keys VerificationKeys, cfg VerifierConfig) (*Verifier, error) {
	if keys == nil {
		return nil, errorf(ErrInvalidConfig, "verifier needs VerificationKeys")
	}
	v := &Verifier{keys: keys, issuer: cfg.Issuer, audience: cfg.Audience, clock: cfg.Clock}
	if v.issuer == "" {
		v.issuer = DefaultIssuer
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	switch skew := cfg.ClockSkew; {
	case skew == 0:
		v.skew = int64(DefaultClockSkew / time.Second)
	case skew > 0:
		v.skew = int64((skew + time.Second - 1) / time.Second)
	}
	switch life := cfg.MaxTokenLifetime; {
	case life < 0:
		return nil, errorf(ErrInvalidConfig, "negative MaxTokenLifetime")
	case life == 0:
		v.lifetime = int64(DefaultRefreshTokenTTL / time.Second)
	default:
		v.lifetime = int64((life + time.Second - 1) / time.Second)
	}
	v.algs = slices.Clone(cfg.Algorithms)
	if len(v.algs) == 0 {
		if as, ok := keys.(algorithmSet); ok {
			v.algs = as.Algorithms()
		} else {
			v.algs = AsymmetricAlgorithms()
		}
	}
	for _, a := range v.algs {
		if a != AlgHS256 && a != AlgEdDSA && a != AlgES256 && a != AlgRS256 {
			return nil, errorf(ErrInvalidConfig, "algorithm %q cannot be allowed", a)
		}
	}
	return v, nil
}

// verifyHeader is the part of the JOSE header Verify looks at.
type verifyHeader struct {
	alg, kid, typ string
	forbidden     bool // jku, x5u, jwk, x5c, crit or b64 present
}

// parseHeader reads a JOSE header; a repeated member is an error.
func parseHeader(data []byte) (verifyHeader, error) {
	var h verifyHeader
	err := scanObject(data, func(name []byte, v jsonValue) error {
		var err error
		switch string(name) {
		case "alg":
			h.alg, err = v.str()
		case "kid":
			h.kid, err = v.str()
		case "typ":
			h.typ, err = v.str()
		case "jku", "x5u", "jwk", "x5c", "crit", "b64":
			h.forbidden = true
		}
		return err
	})
	return h, err
}

// Verify checks raw as a token of type wantType (TypeAccess, TypeRefresh
// or TypeDevice) and returns its claims. The error wraps exactly one of the package's
// verification sentinels. The algorithm is never taken from the token: it
// must be allowed and be the algorithm of the key named by kid.
func (v *Verifier) Verify(raw string, wantType string) (Claims, error) {
	if len(raw) > MaxTokenSize {
		return Claims{}, ErrTooLarge
	}
	if !compactForm(raw) {
		return Claims{}, ErrMalformed
	}
	dot1 := strings.IndexByte(raw, '.')
	if dot1 <= 0 {
		return Claims{}, ErrMalformed
	}
	dot2 := dot1 + 1 + strings.IndexByte(raw[dot1+1:], '.')
	if dot2 <= dot1+1 || strings.IndexByte(raw[dot2+1:], '.') >= 0 {
		return Claims{}, ErrMalformed
	}
	// One buffer: a copy of raw (the signing input is its prefix), then the
	// decoded header, payload and signature.
	buf := make([]byte, len(raw)+b64.DecodedLen(len(raw)))
	src := buf[:copy(buf, raw)]
	input := src[:dot2]
	header, rest, ok := decodeSegment(buf[len(raw):], src[:dot1])
	if !ok {
		return Claims{}, ErrMalformed
	}
	payload, rest, ok := decodeSegment(rest, src[dot1+1:dot2])
	if !ok {
		return Claims{}, ErrMalformed
	}
	// An empty signature is decoded as such, so that alg "none" is
	// reported as ErrAlgorithm below.
	sig, _, ok := decodeSegment(rest, src[dot2+1:])
	if !ok && dot2+1 < len(src) {
		return Claims{}, ErrMalformed
	}

	h, err := parseHeader(header)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	if h.forbidden {
		return Claims{}, ErrForbiddenHeader
	}
	if !slices.Contains(v.algs, h.alg) {
		return Claims{}, ErrAlgorithm
	}
	if len(h.kid) > maxKidLen {
		return Claims{}, ErrUnknownKey
	}
	key, err := v.keys.VerificationKey(h.kid, h.alg)
	if err != nil {
		return Claims{}, err
	}
	if err := verifySignature(h.alg, key, input, sig); err != nil {
		return Claims{}, err
	}

	c, err := parseClaims(payload)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	if err := v.checkClaims(&c, h.typ, wantType); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// decodeSegment decodes the base64url segment seg into the front of dst and
// returns the decoded bytes and the unused rest of dst.
func decodeSegment(dst, seg []byte) (out, rest []byte, ok bool) {
	if len(seg) == 0 {
		return nil, dst, false
	}
	n, err := b64strict.Decode(dst, seg)
	if err != nil {
		return nil, dst, false
	}
	return dst[:n], dst[n:], true
}

// checkClaims validates the authenticated header typ and claims.
func (v *Verifier) checkClaims(w *Claims, typ, wantType string) error {
	var wantTyp string
	switch wantType {
	case TypeAccess:
		wantTyp = typAccess
	case TypeRefresh:
		wantTyp = typRefresh
	case TypeDevice:
		wantTyp = typDevice
	default:
		return ErrTokenType
	}
	if w.Type != wantType || !(strings.EqualFold(typ, wantTyp) || strings.EqualFold(typ, "application/"+wantTyp)) {
		return ErrTokenType
	}
	if err := checkKind(w); err != nil {
		return err
	}
	if w.Issuer != v.issuer {
		return ErrIssuer
	}
	if v.audience != "" && !slices.Contains(w.Audience, v.audience) {
		return ErrAudience
	}
	now := v.clock().Unix()
	if now-v.skew >= w.ExpiresAt {
		return ErrExpired
	}
	if limit := now + v.skew; w.NotBefore > limit || w.IssuedAt > limit {
		return ErrNotYetValid
	}
	// Both are bounded to ±2^53 by the claims reader: no overflow.
	if w.ExpiresAt-w.IssuedAt > v.lifetime {
		return ErrLifetime
	}
	return nil
}

// KeyIDOf returns the kid in the JOSE header of raw, or "" when there is
// none or the header is unreadable. It verifies nothing: call it on a token
// Verify accepted, to check the key that signed it against revocations.
func KeyIDOf(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok || len(head) > 4096 {
		return ""
	}
	b, err := b64.DecodeString(head)
	if err != nil {
		return ""
	}
	h, err := parseHeader(b)
	if err != nil || len(h.kid) > maxKidLen {
		return ""
	}
	return h.kid
}
