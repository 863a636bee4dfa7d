package keyring

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/jwks"
)

// sealInfo is the HKDF info string of the key-encryption key; changing it
// makes every sealed key unreadable.
const sealInfo = "authmesh/token key-encryption v1"

// sealVersion is the first byte of a sealed private key.
const sealVersion = 1

// sealer encrypts private keys at rest with AES-256-GCM under a key derived
// from the configured secret with HKDF-SHA256.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(secret []byte) (*sealer, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive key-encryption key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keyring: key-encryption cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: key-encryption cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// sealAAD binds a sealed key to its record, so a sealed blob cannot be
// moved to another kid or algorithm.
func sealAAD(kid, alg string) []byte { return []byte("authmesh-key:" + alg + ":" + kid) }

// seal returns version || nonce || ciphertext.
func (s *sealer) seal(kid, alg string, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("keyring: seal nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, sealAAD(kid, alg)), nil
}

func (s *sealer) open(kid, alg string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: key %s: bad sealed format", ErrKeyUnseal, kid)
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealAAD(kid, alg))
	if err != nil {
		return nil, fmt.Errorf("%w: key %s", ErrKeyUnseal, kid)
	}
	return plain, nil
}

// generatePrivateKey creates a new private key for alg.
func generatePrivateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case token.AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case token.AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case token.AlgRS256:
		return rsa.GenerateKey(rand.Reader, token.MinRSABits)
	}
	return nil, invalidConfig("unsupported algorithm %q", alg)
}

// keyTimes are the lifetime boundaries of a new key.
type keyTimes struct {
	created, signFrom, signUntil, publishUntil time.Time
}

// newKeyRecord generates a key for alg and returns its record (private key
// sealed when s is not nil) and its loaded form.
func newKeyRecord(alg string, t keyTimes, s *sealer) (KeyRecord, *ringKey, error) {
	priv, err := generatePrivateKey(alg)
	if err != nil {
		return KeyRecord{}, nil, err
	}
	pub := priv.Public()
	kid, err := jwks.Thumbprint(pub)
	if err != nil {
		return KeyRecord{}, nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyRecord{}, nil, fmt.Errorf("keyring: encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return KeyRecord{}, nil, fmt.Errorf("keyring: encode public key: %w", err)
	}
	rec := KeyRecord{
		KeyID: kid, Algorithm: alg, Private: privDER, Public: pubDER,
		CreatedAt: t.created, SignFrom: t.signFrom, SignUntil: t.signUntil, PublishUntil: t.publishUntil,
	}
	if s != nil {
		if rec.Private, err = s.seal(kid, alg, privDER); err != nil {
			return KeyRecord{}, nil, err
		}
		rec.Sealed = true
	}
	k := &ringKey{meta: rec, pub: pub, signer: token.NewSigningKey(kid, alg, priv)}
	k.meta.Private = nil
	return rec, k, nil
}

// loadKeyRecord parses a stored record. The private key is parsed (and
// unsealed) only when withPrivate is set, that is when the key may still sign.
func loadKeyRecord(rec KeyRecord, s *sealer, withPrivate bool) (*ringKey, error) {
	pub, err := x509.ParsePKIXPublicKey(rec.Public)
	if err != nil {
		return nil, fmt.Errorf("keyring: key %s: parse public key: %w", rec.KeyID, err)
	}
	alg, err := token.PublicKeyAlgorithm(pub)
	if err != nil || alg != rec.Algorithm {
		return nil, fmt.Errorf("keyring: key %s: public key does not fit algorithm %q", rec.KeyID, rec.Algorithm)
	}
	k := &ringKey{meta: rec, pub: pub}
	k.meta.Private = nil
	if !withPrivate {
		return k, nil
	}
	der := rec.Private
	if rec.Sealed {
		if s == nil {
			return nil, fmt.Errorf("%w (key %s)", ErrKeySealed, rec.KeyID)
		}
		if der, err = s.open(rec.KeyID, rec.Algorithm, rec.Private); err != nil {
			return nil, err
		}
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keyring: key %s: parse private key: %w", rec.KeyID, err)
	}
	signer, ok := priv.(crypto.Signer)
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if eq, okEq := pub.(equaler); !ok || !okEq || !eq.Equal(signer.Public()) {
		return nil, fmt.Errorf("keyring: key %s: private key does not match public key", rec.KeyID)
	}
	k.signer = token.NewSigningKey(rec.KeyID, rec.Algorithm, signer)
	return k, nil
}

// ringKey is a loaded key of the ring. meta is the record without private
// material; signer is nil for keys that can no longer sign.
type ringKey struct {
	meta   KeyRecord
	pub    any
	signer token.SigningKey
}
