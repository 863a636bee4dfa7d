package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
)

// JWS algorithm names ("alg") this package signs and verifies.
const (
	AlgHS256 = "HS256"
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// b64 is the base64url encoding of JWS segments.
var b64 = base64.RawURLEncoding

// MinRSABits is the smallest RSA modulus accepted for signing or verifying,
// and the size of the RSA keys a key ring generates.
const MinRSABits = 2048

// Signer provides the key new tokens are signed with. Implementations are
// safe for concurrent use.
type Signer interface {
	// SigningKey returns the key that signs new tokens at this moment.
	SigningKey() (SigningKey, error)
}

// SigningKey is one private key, ready to sign. Implementations are safe for
// concurrent use.
type SigningKey interface {
	// KeyID is the kid put in the token header; empty for HS256.
	KeyID() string
	// Algorithm is the JWS alg of the key.
	Algorithm() string
	// Sign returns the JWS signature of signingInput (RFC 7515 §5.1).
	Sign(signingInput []byte) ([]byte, error)
}

// VerificationKeys looks up the keys tokens are verified with.
// Implementations are safe for concurrent use and never do I/O in
// VerificationKey.
type VerificationKeys interface {
	// VerificationKey returns the public key (ed25519.PublicKey,
	// *ecdsa.PublicKey, *rsa.PublicKey) or HMAC secret ([]byte) named by kid.
	// It returns ErrUnknownKey when no trusted key has that kid and
	// ErrAlgorithm when alg is not the key's algorithm.
	VerificationKey(kid, alg string) (any, error)
}

// algorithmSet is implemented by key sources that know their algorithm
// family; the Verifier uses it for its default allowlist.
type algorithmSet interface {
	Algorithms() []string
}

// AsymmetricAlgorithms is the default allowlist for key sources that do not
// say otherwise, and the algorithms a key ring or a JWKS may hold.
func AsymmetricAlgorithms() []string { return []string{AlgEdDSA, AlgES256, AlgRS256} }

// privateKey is a SigningKey backed by a private key or HMAC secret.
type privateKey struct {
	kid string
	alg string
	key any // []byte, ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey
}

var _ SigningKey = (*privateKey)(nil)

// NewSigningKey returns the SigningKey of a private key for alg: an
// ed25519.PrivateKey for EdDSA, a P-256 *ecdsa.PrivateKey for ES256 or an
// *rsa.PrivateKey of at least MinRSABits for RS256. Tokens it signs carry
// kid.
func NewSigningKey(kid, alg string, key crypto.Signer) SigningKey {
	return &privateKey{kid: kid, alg: alg, key: key}
}

func (k *privateKey) KeyID() string     { return k.kid }
func (k *privateKey) Algorithm() string { return k.alg }

// Sign signs deterministically for every algorithm (ES256 uses RFC 6979, then
// takes the low-S form of the signature), so the same input always gives the
// same signature, and that signature is the only one Verify accepts.
func (k *privateKey) Sign(input []byte) ([]byte, error) {
	switch key := k.key.(type) {
	case []byte:
		m := hmac.New(sha256.New, key)
		m.Write(input)
		return m.Sum(nil), nil
	case ed25519.PrivateKey:
		return ed25519.Sign(key, input), nil
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(input)
		der, err := key.Sign(nil, h[:], crypto.SHA256) // nil rand: RFC 6979
		if err != nil {
			return nil, fmt.Errorf("token: ES256 sign: %w", err)
		}
		return ecdsaRaw(der)
	case *rsa.PrivateKey:
		h := sha256.Sum256(input)
		return rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	}
	return nil, fmt.Errorf("token: unsupported private key type %T", k.key)
}

// p256Order and p256HalfOrder are n and floor(n/2) of P-256. An ECDSA
// signature (r, s) has the twin (r, n-s), valid for the same input; ES256
// accepts only the one with s <= n/2 ("low-S"), so a token cannot be
// re-encoded into a second valid string.
var (
	p256Order     = elliptic.P256().Params().N
	p256HalfOrder = new(big.Int).Rsh(p256Order, 1).FillBytes(make([]byte, 32))
)

// ecdsaRaw converts an ASN.1 ECDSA signature to the JWS form R||S (RFC 7518
// §3.4) with S in its low form.
func ecdsaRaw(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, fmt.Errorf("token: ES256 signature: %w", err)
	}
	out := make([]byte, 64)
	sig.S.FillBytes(out[32:])
	if highS(out[32:]) {
		sig.S.Sub(p256Order, sig.S)
	}
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// verifySignature checks sig over input with key under alg. The key's type
// must match alg: an HMAC secret never verifies an asymmetric alg and a
// public key never verifies HS256.
func verifySignature(alg string, key any, input, sig []byte) error {
	switch alg {
	case AlgHS256:
		secret, ok := key.([]byte)
		if !ok {
			return ErrAlgorithm
		}
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		var sum [sha256.Size]byte
		if !hmac.Equal(m.Sum(sum[:0]), sig) {
			return ErrSignature
		}
		return nil
	case AlgEdDSA:
		pub, ok := key.(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return ErrAlgorithm
		}
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, input, sig) {
			return ErrSignature
		}
		return nil
	case AlgES256:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return ErrAlgorithm
		}
		if len(sig) != 64 || highS(sig[32:]) {
			return ErrSignature
		}
		h := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, h[:], r, s) {
			return ErrSignature
		}
		return nil
	case AlgRS256:
		pub, ok := key.(*rsa.PublicKey)
		if !ok || pub.N.BitLen() < MinRSABits {
			return ErrAlgorithm
		}
		h := sha256.Sum256(input)
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) != nil {
			return ErrSignature
		}
		return nil
	}
	return ErrAlgorithm
}

// highS reports whether the 32-byte big-endian s exceeds floor(n/2) of P-256.
func highS(s []byte) bool { return bytes.Compare(s, p256HalfOrder) > 0 }

// PublicKeyAlgorithm names the JWS alg a public key is used with: EdDSA,
// ES256 (P-256) or RS256 (at least MinRSABits); other keys are an error.
func PublicKeyAlgorithm(pub any) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return AlgEdDSA, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return AlgES256, nil
		}
	case *rsa.PublicKey:
		if k.N.BitLen() >= MinRSABits {
			return AlgRS256, nil
		}
	}
	return "", fmt.Errorf("token: unsupported public key type %T", pub)
}
