package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

var b64 = base64.RawURLEncoding

// publicJWK is the published form of a verification key (RFC 7517, 7518, 8037).
// It has no field for private material, so none can be published.
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// jwkSet is a JWK Set document.
type jwkSet[K any] struct {
	Keys []K `json:"keys"`
}

// encodeJWK returns the public JWK of pub.
func encodeJWK(kid string, pub any) (publicJWK, error) {
	j := publicJWK{Kid: kid, Use: "sig"}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X, j.Alg = "OKP", "Ed25519", b64.EncodeToString(k), AlgEdDSA
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return j, fmt.Errorf("token: unsupported curve %s", k.Curve.Params().Name)
		}
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return j, fmt.Errorf("token: encode EC key: %w", err)
		}
		j.Kty, j.Crv, j.Alg = "EC", "P-256", AlgES256
		j.X, j.Y = b64.EncodeToString(raw[1:33]), b64.EncodeToString(raw[33:])
	case *rsa.PublicKey:
		j.Kty, j.Alg = "RSA", AlgRS256
		j.N = b64.EncodeToString(k.N.Bytes())
		j.E = b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	default:
		return j, fmt.Errorf("token: unsupported public key type %T", pub)
	}
	return j, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of pub, used as the kid of keys
// this package generates.
func thumbprint(pub any) (string, error) {
	j, err := encodeJWK("", pub)
	if err != nil {
		return "", err
	}
	var canonical string
	switch j.Kty {
	case "OKP":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, j.Crv, j.X)
	case "EC":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, j.Crv, j.X, j.Y)
	case "RSA":
		canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, j.E, j.N)
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64.EncodeToString(sum[:]), nil
}

// inputJWK is a JWK as received from a JWKS document. The private members
// are decoded only to detect (and refuse) private material.
type inputJWK struct {
	Kty    string          `json:"kty"`
	Crv    string          `json:"crv"`
	X      string          `json:"x"`
	Y      string          `json:"y"`
	N      string          `json:"n"`
	E      string          `json:"e"`
	Kid    string          `json:"kid"`
	Alg    string          `json:"alg"`
	Use    string          `json:"use"`
	KeyOps []string        `json:"key_ops"`
	D      json.RawMessage `json:"d"`
	P      json.RawMessage `json:"p"`
	Q      json.RawMessage `json:"q"`
	DP     json.RawMessage `json:"dp"`
	DQ     json.RawMessage `json:"dq"`
	QI     json.RawMessage `json:"qi"`
	Oth    json.RawMessage `json:"oth"`
	K      json.RawMessage `json:"k"`
}

// verificationKey is a trusted public key with its algorithm.
type verificationKey struct {
	alg string
	key any
}

var errSkipJWK = errors.New("token: JWK not usable for verification")

// parseJWK turns a received JWK into a verification key. It refuses keys
// without kid, keys not meant for signatures, keys carrying private
// material, unsupported kty/crv/alg and weak RSA keys.
func parseJWK(j inputJWK) (verificationKey, error) {
	var none verificationKey
	switch {
	case j.Kid == "":
		return none, fmt.Errorf("%w: no kid", errSkipJWK)
	case j.Use != "" && j.Use != "sig":
		return none, fmt.Errorf("%w: use %q", errSkipJWK, j.Use)
	case j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify"):
		return none, fmt.Errorf("%w: key_ops without verify", errSkipJWK)
	case j.D != nil || j.P != nil || j.Q != nil || j.DP != nil || j.DQ != nil || j.QI != nil || j.Oth != nil || j.K != nil:
		return none, fmt.Errorf("%w: private or symmetric key material", errSkipJWK)
	}
	var vk verificationKey
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return none, fmt.Errorf("%w: bad Ed25519 x", errSkipJWK)
		}
		vk = verificationKey{alg: AlgEdDSA, key: ed25519.PublicKey(x)}
	case j.Kty == "EC" && j.Crv == "P-256":
		x, errX := b64.DecodeString(j.X)
		y, errY := b64.DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return none, fmt.Errorf("%w: bad P-256 coordinates", errSkipJWK)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return none, fmt.Errorf("%w: %v", errSkipJWK, err)
		}
		vk = verificationKey{alg: AlgES256, key: pub}
	case j.Kty == "RSA":
		pub, err := parseRSAJWK(j.N, j.E)
		if err != nil {
			return none, err
		}
		vk = verificationKey{alg: AlgRS256, key: pub}
	default:
		return none, fmt.Errorf("%w: unsupported kty %q crv %q", errSkipJWK, j.Kty, j.Crv)
	}
	if j.Alg != "" && j.Alg != vk.alg {
		return none, fmt.Errorf("%w: alg %q does not fit kty %q", errSkipJWK, j.Alg, j.Kty)
	}
	return vk, nil
}

func parseRSAJWK(n64, e64 string) (*rsa.PublicKey, error) {
	nb, errN := b64.DecodeString(n64)
	eb, errE := b64.DecodeString(e64)
	if errN != nil || errE != nil || len(eb) == 0 || len(eb) > 4 || len(nb) > 2048 {
		return nil, fmt.Errorf("%w: bad RSA n or e", errSkipJWK)
	}
	n := new(big.Int).SetBytes(nb)
	e := int(new(big.Int).SetBytes(eb).Int64())
	if n.BitLen() < minRSABits || e < 3 || e&1 == 0 {
		return nil, fmt.Errorf("%w: weak RSA key", errSkipJWK)
	}
	return &rsa.PublicKey{N: n, E: e}, nil
}
