package keyring

import "time"

// KeyRecord is a signing key as persisted by a key store. Private holds the
// PKCS#8 DER encoding of the private key, sealed when a key-encryption secret
// is configured; Public holds the PKIX DER encoding of the public key.
type KeyRecord struct {
	KeyID        string    // the kid
	Algorithm    string    // "EdDSA", "ES256" or "RS256"
	Private      []byte    // PKCS#8 DER, possibly sealed (see Sealed)
	Sealed       bool      // Private is encrypted with the key-encryption secret
	Public       []byte    // PKIX DER
	CreatedAt    time.Time // when the key was generated and first published
	SignFrom     time.Time // the key signs nothing before this (published first)
	SignUntil    time.Time // the key signs nothing after this (retired)
	PublishUntil time.Time // dropped from JWKS after this: SignUntil + max(access, refresh token TTL) + skew
}
