package jwks

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"

	"github.com/authmesh/authmesh/internal/token"
)

// JWK and JWKS encoding and parsing are go-jose's (RFC 7517, 7518, 8037,
// 7638): they are off the request path, so a well-kept library is worth more
// here than the speed of hand-written code. go-jose reads JSON with member
// names matched exactly and repeated names refused. This file adds the
// policy: which keys are trusted, and one encoding per key.

// Key is a public key to publish, named by its kid.
type Key struct {
	KeyID  string // the kid
	Public any    // ed25519.PublicKey, *ecdsa.PublicKey (P-256) or *rsa.PublicKey
}

// Marshal returns the JWK Set document of keys ({"keys":[]} when empty).
// Each JWK holds kty and the key members, kid, alg and use "sig"; never
// private material, since every Key is a public key.
func Marshal(keys []Key) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		alg, err := token.PublicKeyAlgorithm(k.Public)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public, KeyID: k.KeyID, Algorithm: alg, Use: "sig"})
	}
	b, err := josejson.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jwks: encode JWKS: %w", err)
	}
	return b, nil
}

// Thumbprint is the RFC 7638 JWK thumbprint of pub, unpadded base64url: the
// kid of the keys the auth service generates.
func Thumbprint(pub any) (string, error) {
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jwks: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// verificationKey is a trusted public key with its algorithm.
type verificationKey struct {
	alg string
	key any
}

// errSkipJWK wraps why a received JWK is left out; errDuplicateKid is the
// case an operator should hear about.
var (
	errSkipJWK      = errors.New("jwks: JWK not usable for verification")
	errDuplicateKid = fmt.Errorf("%w: duplicate kid (the first is kept)", errSkipJWK)
)

// parseJWKS reads a JWK Set document and keeps its usable keys by kid. Each
// unusable key is reported to skip and left out; a repeated kid keeps the
// first. A document that is not a JWK Set, or whose keys are all unusable,
// is an error; an empty "keys" array is a valid empty set.
func parseJWKS(body []byte, skip func(kid string, err error)) (map[string]verificationKey, error) {
	var doc struct {
		Keys *[]josejson.RawMessage `json:"keys"`
	}
	if err := josejson.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, errors.New("jwks: JWKS is not a JWK Set document")
	}
	byID := make(map[string]verificationKey, len(*doc.Keys))
	for _, raw := range *doc.Keys {
		kid, vk, err := parseJWK(raw)
		if err == nil {
			if _, dup := byID[kid]; dup {
				err = errDuplicateKid
			}
		}
		if err != nil {
			skip(kid, err)
			continue
		}
		byID[kid] = vk
	}
	if len(byID) == 0 && len(*doc.Keys) > 0 {
		return nil, errors.New("jwks: JWKS holds no usable key")
	}
	return byID, nil
}

// parseJWK turns a received JWK into a verification key. It refuses keys
// without kid, keys not meant for signatures, keys carrying private or
// symmetric material, unsupported kty/crv/alg, weak RSA keys, and key
// members not in their one canonical encoding (RFC 7518: unpadded
// base64url, minimal RSA integers, full-length EC coordinates).
func parseJWK(raw []byte) (kid string, vk verificationKey, err error) {
	var j jose.JSONWebKey
	if err := j.UnmarshalJSON(raw); err != nil {
		return "", vk, fmt.Errorf("%w: %v", errSkipJWK, err)
	}
	var ops struct {
		KeyOps []string `json:"key_ops"`
	}
	if err := josejson.Unmarshal(raw, &ops); err != nil {
		return j.KeyID, vk, fmt.Errorf("%w: key_ops: %v", errSkipJWK, err)
	}
	switch {
	case j.KeyID == "":
		return "", vk, fmt.Errorf("%w: no kid", errSkipJWK)
	case j.Use != "" && j.Use != "sig":
		return j.KeyID, vk, fmt.Errorf("%w: use %q", errSkipJWK, j.Use)
	case ops.KeyOps != nil && !slices.Contains(ops.KeyOps, "verify"):
		return j.KeyID, vk, fmt.Errorf("%w: key_ops without verify", errSkipJWK)
	case !j.IsPublic():
		return j.KeyID, vk, fmt.Errorf("%w: private or symmetric key material", errSkipJWK)
	}
	alg, err := token.PublicKeyAlgorithm(j.Key)
	if err != nil {
		return j.KeyID, vk, fmt.Errorf("%w: %v", errSkipJWK, err)
	}
	if j.Algorithm != "" && j.Algorithm != alg {
		return j.KeyID, vk, fmt.Errorf("%w: alg %q does not fit the key (%s)", errSkipJWK, j.Algorithm, alg)
	}
	if pub, ok := j.Key.(*rsa.PublicKey); ok && (pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<32-1) {
		return j.KeyID, vk, fmt.Errorf("%w: weak RSA exponent", errSkipJWK)
	}
	if err := canonicalJWK(raw, j.Key); err != nil {
		return j.KeyID, vk, err
	}
	return j.KeyID, verificationKey{alg: alg, key: j.Key}, nil
}

// canonicalJWK checks that the key members of raw (crv, x, y, n, e) are
// exactly go-jose's encoding of key: base64url decoders skip line feeds and
// ignore trailing bits, so without this one key would have many encodings.
func canonicalJWK(raw []byte, key any) error {
	want, err := josejson.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		return fmt.Errorf("%w: %v", errSkipJWK, err)
	}
	var got, canon map[string]josejson.RawMessage
	if josejson.Unmarshal(raw, &got) != nil || josejson.Unmarshal(want, &canon) != nil {
		return fmt.Errorf("%w: not a JSON object", errSkipJWK)
	}
	for _, m := range []string{"crv", "x", "y", "n", "e"} {
		if !bytes.Equal(got[m], canon[m]) {
			return fmt.Errorf("%w: %q is not in canonical form", errSkipJWK, m)
		}
	}
	return nil
}
