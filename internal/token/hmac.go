package token

// HMACKeys is the key source of the shared-secret mode (JWT_SECRET): one
// HS256 secret that both signs and verifies. Its JWKS is the empty set,
// since a shared secret is never published. Safe for concurrent use.
type HMACKeys struct {
	key privateKey
}

var (
	_ Signer           = (*HMACKeys)(nil)
	_ VerificationKeys = (*HMACKeys)(nil)
)

// NewHMACKeys returns an HS256 key source for secret. The secret is copied.
// Any non-empty secret is accepted; enforcing a minimum length (32 bytes in
// production) is the caller's policy.
func NewHMACKeys(secret []byte) (*HMACKeys, error) {
	if len(secret) == 0 {
		return nil, errorf(ErrInvalidConfig, "HMAC secret is empty")
	}
	return &HMACKeys{key: privateKey{alg: AlgHS256, key: append([]byte(nil), secret...)}}, nil
}

// SigningKey returns the HS256 key. Tokens signed with it carry no kid.
func (h *HMACKeys) SigningKey() (SigningKey, error) { return &h.key, nil }

// VerificationKey returns the secret for alg HS256 and an empty kid.
// A token naming a kid is not one of ours: ErrUnknownKey.
func (h *HMACKeys) VerificationKey(kid, alg string) (any, error) {
	if kid != "" {
		return nil, ErrUnknownKey
	}
	if alg != AlgHS256 {
		return nil, ErrAlgorithm
	}
	return h.key.key, nil
}

// Algorithms returns the algorithms this source verifies: HS256.
func (h *HMACKeys) Algorithms() []string { return []string{AlgHS256} }

// JWKS returns the empty key set {"keys":[]}: a shared secret is never published.
func (h *HMACKeys) JWKS() ([]byte, error) { return []byte(`{"keys":[]}`), nil }
