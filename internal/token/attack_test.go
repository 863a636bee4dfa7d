package token_test

import (
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

var b64 = base64.RawURLEncoding

// forge builds a compact JWS from header and claims, signed by sign (nil: no signature).
func forge(t *testing.T, header, claims map[string]any, sign func([]byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

func hs256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

// toMap returns claims as a JSON object map.
func toMap(t *testing.T, c token.Claims) map[string]any {
	t.Helper()
	b, _ := json.Marshal(c)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestVerifyRejectsAttacks(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	ring := tokentest.NewKeySource(t, token.AlgEdDSA, clock, discardLogger())
	rsaRing := tokentest.NewKeySource(t, token.AlgRS256, clock, discardLogger())
	hkeys := tokentest.NewKeySource(t, token.AlgHS256, clock, discardLogger())
	iss, v := tokentest.Pair(t, ring, clock)
	_, rv := tokentest.Pair(t, rsaRing, clock)
	_, hv := tokentest.Pair(t, hkeys, clock)
	// A verifier that allows HS256 next to EdDSA must still refuse HS256
	// with the Ed25519 key: the key's algorithm decides.
	mixed, err := token.NewVerifier(ring, token.VerifierConfig{Audience: "api", Clock: clock,
		Algorithms: []string{token.AlgHS256, token.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}

	// The access token lives 15m: a 10m bound refuses it.
	short, err := token.NewVerifier(ring, token.VerifierConfig{Audience: "api", Clock: clock, MaxTokenLifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}

	sk, _ := ring.SigningKey()
	kid := sk.KeyID()
	edSign := func(in []byte) []byte { s, _ := sk.Sign(in); return s }
	rsk, _ := rsaRing.SigningKey()
	edPub, _ := ring.VerificationKey(kid, token.AlgEdDSA)
	edDER, _ := x509.MarshalPKIXPublicKey(edPub)
	edPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edDER})
	rsaPub, _ := rsaRing.VerificationKey(rsk.KeyID(), token.AlgRS256)
	rsaDER, _ := x509.MarshalPKIXPublicKey(rsaPub)
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)

	access, accessClaims, err := iss.IssueAccess("user-1", "sess-1", now)
	if err != nil {
		t.Fatal(err)
	}
	refresh, _, err := iss.IssueRefresh("user-1", "sess-1", 1, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c := toMap(t, accessClaims)
	hdr := map[string]any{"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}
	ed := func(h, cl map[string]any) string { return forge(t, h, cl, edSign) }
	edRaw := func(h, cl string) string {
		input := b64.EncodeToString([]byte(h)) + "." + b64.EncodeToString([]byte(cl))
		return input + "." + b64.EncodeToString(edSign([]byte(input)))
	}
	parts := strings.Split(access, ".")
	tampered := parts[0] + "." + b64.EncodeToString([]byte(strings.Replace(mustDecode(t, parts[1]), "user-1", "admin", 1))) + "." + parts[2]

	tests := []struct {
		name string
		v    *token.Verifier
		raw  string
		typ  string
		want error
	}{
		{"valid control", v, access, token.TypeAccess, nil},
		{"alg none", v, forge(t, with(hdr, "alg", "none"), c, nil), token.TypeAccess, token.ErrAlgorithm},
		{"alg NONE", v, forge(t, with(hdr, "alg", "NONE"), c, nil), token.TypeAccess, token.ErrAlgorithm},
		{"alg none mixed", mixed, forge(t, with(hdr, "alg", "none"), c, nil), token.TypeAccess, token.ErrAlgorithm},
		{"HS256 with Ed25519 key bytes", v, forge(t, with(hdr, "alg", "HS256"), c, hs256(edPub.(ed25519.PublicKey))), token.TypeAccess, token.ErrAlgorithm},
		{"HS256 with Ed25519 key bytes mixed", mixed, forge(t, with(hdr, "alg", "HS256"), c, hs256(edPub.(ed25519.PublicKey))), token.TypeAccess, token.ErrAlgorithm},
		{"HS256 with Ed25519 PEM mixed", mixed, forge(t, with(hdr, "alg", "HS256"), c, hs256(edPEM)), token.TypeAccess, token.ErrAlgorithm},
		{"HS256 with RSA DER", rv, forge(t, map[string]any{"alg": "HS256", "kid": rsk.KeyID(), "typ": "at+jwt"}, c, hs256(rsaDER)), token.TypeAccess, token.ErrAlgorithm},
		{"EdDSA token on HS256 verifier", hv, access, token.TypeAccess, token.ErrAlgorithm},
		{"alg ES256 with Ed25519 kid", mixed, forge(t, with(hdr, "alg", "ES256"), c, edSign), token.TypeAccess, token.ErrAlgorithm},
		{"unknown kid", v, ed(with(hdr, "kid", "no-such-key"), c), token.TypeAccess, token.ErrUnknownKey},
		{"no kid", v, ed(with(hdr, "kid", nil), c), token.TypeAccess, token.ErrUnknownKey},
		{"kid path traversal", v, ed(with(hdr, "kid", "../../etc/passwd"), c), token.TypeAccess, token.ErrUnknownKey},
		{"kid SQL injection", v, ed(with(hdr, "kid", "' OR 1=1--"), c), token.TypeAccess, token.ErrUnknownKey},
		{"kid NUL and long", v, ed(with(hdr, "kid", kid+"\x00"+strings.Repeat("A", 2000)), c), token.TypeAccess, token.ErrUnknownKey},
		{"kid on HS256 verifier", hv, forge(t, map[string]any{"alg": "HS256", "kid": "x", "typ": "at+jwt"}, c, hs256(tokentest.Secret)), token.TypeAccess, token.ErrUnknownKey},
		{"jku", v, ed(with(hdr, "jku", "https://evil.example/jwks.json"), c), token.TypeAccess, token.ErrForbiddenHeader},
		{"x5u", v, ed(with(hdr, "x5u", "https://evil.example/cert"), c), token.TypeAccess, token.ErrForbiddenHeader},
		{"jwk", v, ed(with(hdr, "jwk", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(foreign.Public().(ed25519.PublicKey))}), c), token.TypeAccess, token.ErrForbiddenHeader},
		{"x5c", v, ed(with(hdr, "x5c", []string{"MIIB"}), c), token.TypeAccess, token.ErrForbiddenHeader},
		{"crit", v, ed(with(hdr, "crit", []string{"exp"}), c), token.TypeAccess, token.ErrForbiddenHeader},
		{"b64 false (unencoded payload)", v, ed(with(hdr, "b64", false), c), token.TypeAccess, token.ErrForbiddenHeader},
		{"repeated unknown header member", v, edRaw(`{"alg":"EdDSA","kid":"`+kid+`","typ":"at+jwt","x":1,"x":2}`, mustJSON(t, c)), token.TypeAccess, token.ErrMalformed},
		{"repeated unknown claim", v, edRaw(mustJSON(t, hdr), strings.Replace(mustJSON(t, c), "{", `{"x":1,"x":1,`, 1)), token.TypeAccess, token.ErrMalformed},
		{"repeated claim, escaped", v, edRaw(mustJSON(t, hdr), strings.Replace(mustJSON(t, c), "{", `{"s\u0075b":"admin",`, 1)), token.TypeAccess, token.ErrMalformed},
		{"tampered payload", v, tampered, token.TypeAccess, token.ErrSignature},
		{"foreign key, valid kid", v, forge(t, hdr, c, func(in []byte) []byte { return ed25519.Sign(foreign, in) }), token.TypeAccess, token.ErrSignature},
		{"signature stripped", v, parts[0] + "." + parts[1] + ".", token.TypeAccess, token.ErrSignature},
		{"HS256 wrong secret", hv, forge(t, map[string]any{"alg": "HS256", "typ": "at+jwt"}, c, hs256([]byte("guess"))), token.TypeAccess, token.ErrSignature},
		{"expired", v, ed(hdr, with(c, "exp", now.Add(-time.Minute).Unix())), token.TypeAccess, token.ErrExpired},
		{"nbf beyond skew", v, ed(hdr, with(c, "nbf", now.Add(time.Minute).Unix())), token.TypeAccess, token.ErrNotYetValid},
		{"iat beyond skew", v, ed(hdr, with(c, "iat", now.Add(time.Minute).Unix())), token.TypeAccess, token.ErrNotYetValid},
		{"nbf within skew", v, ed(hdr, with(c, "nbf", now.Add(10*time.Second).Unix())), token.TypeAccess, nil},
		{"lifetime over 360h", v, ed(hdr, with(c, "exp", now.Add(360*time.Hour+time.Second).Unix())), token.TypeAccess, token.ErrLifetime},
		{"lifetime exactly 360h", v, ed(hdr, with(c, "exp", now.Add(360*time.Hour).Unix())), token.TypeAccess, nil},
		{"lifetime 100 years", v, ed(hdr, with(c, "exp", now.AddDate(100, 0, 0).Unix())), token.TypeAccess, token.ErrLifetime},
		{"lifetime over bound, iat backdated", v, ed(hdr, with(c, "iat", now.Add(-361*time.Hour).Unix())), token.TypeAccess, token.ErrLifetime},
		{"lifetime over tighter bound", short, access, token.TypeAccess, token.ErrLifetime},
		{"no iat", v, ed(hdr, with(c, "iat", nil)), token.TypeAccess, token.ErrLifetime},
		{"exp beyond 2^53", v, ed(hdr, with(c, "exp", json.Number("9007199254740993"))), token.TypeAccess, token.ErrMalformed},
		{"iat below -2^53", v, ed(hdr, with(c, "iat", json.Number("-9007199254740993"))), token.TypeAccess, token.ErrMalformed},
		{"wrong iss", v, ed(hdr, with(c, "iss", "evil")), token.TypeAccess, token.ErrIssuer},
		{"wrong aud", v, ed(hdr, with(c, "aud", []string{"other"})), token.TypeAccess, token.ErrAudience},
		{"no aud", v, ed(hdr, with(c, "aud", nil)), token.TypeAccess, token.ErrAudience},
		{"aud as string", v, ed(hdr, with(c, "aud", "api")), token.TypeAccess, nil},
		{"refresh as access", v, refresh, token.TypeAccess, token.ErrTokenType},
		{"access as refresh", v, access, token.TypeRefresh, token.ErrTokenType},
		{"type claim refresh, typ at+jwt", v, ed(hdr, with(c, "type", "refresh")), token.TypeRefresh, token.ErrTokenType},
		{"no typ header", v, ed(with(hdr, "typ", nil), c), token.TypeAccess, token.ErrTokenType},
		{"typ JWT", v, ed(with(hdr, "typ", "JWT"), c), token.TypeAccess, token.ErrTokenType},
		{"no type claim", v, ed(hdr, with(c, "type", nil)), token.TypeAccess, token.ErrTokenType},
		{"missing sub", v, ed(hdr, with(c, "sub", nil)), token.TypeAccess, token.ErrMissingClaim},
		{"missing jti", v, ed(hdr, with(c, "jti", nil)), token.TypeAccess, token.ErrMissingClaim},
		{"missing sid", v, ed(hdr, with(c, "sid", nil)), token.TypeAccess, token.ErrMissingClaim},
		{"missing exp", v, ed(hdr, with(c, "exp", nil)), token.TypeAccess, token.ErrMissingClaim},
		{"sub not a string", v, ed(hdr, with(c, "sub", 42)), token.TypeAccess, token.ErrMalformed},
		{"exp not a number", v, ed(hdr, with(c, "exp", "tomorrow")), token.TypeAccess, token.ErrMalformed},
		{"over 8 KiB", v, ed(hdr, with(c, "pad", strings.Repeat("x", 8<<10))), token.TypeAccess, token.ErrTooLarge},
		{"non-base64", v, "e30!.e30.AAAA", token.TypeAccess, token.ErrMalformed},
		{"padding", v, parts[0] + "==." + parts[1] + "." + parts[2], token.TypeAccess, token.ErrMalformed},
		{"header not JSON", v, b64.EncodeToString([]byte("not json")) + "." + parts[1] + "." + parts[2], token.TypeAccess, token.ErrMalformed},
		{"2 segments", v, parts[0] + "." + parts[1], token.TypeAccess, token.ErrMalformed},
		{"4 segments", v, access + ".AAAA", token.TypeAccess, token.ErrMalformed},
		{"empty segments", v, "..", token.TypeAccess, token.ErrMalformed},
		{"empty string", v, "", token.TypeAccess, token.ErrMalformed},
		{"unknown wanted type", v, access, "id", token.ErrTokenType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.v.Verify(tt.raw, tt.typ)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v; want %v", err, tt.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// p256N is the order of P-256.
var p256N = elliptic.P256().Params().N

// ed25519L is the order of the Ed25519 base point.
var ed25519L, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// twinSignature returns another encoding of sig that the bare primitive of
// alg also accepts (ES256: (r, n-s); EdDSA: S+L; RS256: s+N), or nil where
// the algorithm has none (HS256).
func twinSignature(t testing.TB, alg string, sig []byte, pub any) []byte {
	t.Helper()
	switch alg {
	case token.AlgES256:
		s := new(big.Int).Sub(p256N, new(big.Int).SetBytes(sig[32:]))
		out := append([]byte(nil), sig[:32]...)
		return append(out, s.FillBytes(make([]byte, 32))...)
	case token.AlgEdDSA:
		le := slices.Clone(sig[32:])
		slices.Reverse(le)
		s := new(big.Int).Add(new(big.Int).SetBytes(le), ed25519L)
		if s.BitLen() > 256 {
			return nil
		}
		out := s.FillBytes(make([]byte, 32))
		slices.Reverse(out)
		return append(slices.Clone(sig[:32]), out...)
	case token.AlgRS256:
		n := pub.(*rsa.PublicKey).N
		return new(big.Int).Add(new(big.Int).SetBytes(sig), n).Bytes()
	}
	return nil
}

// TestVerifyOneTokenOneString: for every algorithm, a valid access or
// refresh token is accepted only in the exact form it was issued in. A byte
// outside the base64url alphabet anywhere in any segment (line feed, CR,
// space, padding, the standard alphabet's + and /, ...) and a second
// signature encoding (the ES256 high-S twin) are refused.
func TestVerifyOneTokenOneString(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	bad := []string{"\n", "\r", "\r\n", " ", "\t", "=", "+", "/", "%", "\x00", "é", "\\n", "."}
	for _, alg := range tokentest.AllAlgs {
		t.Run(alg, func(t *testing.T) {
			keys := tokentest.NewKeySource(t, alg, clock, discardLogger())
			iss, v := tokentest.Pair(t, keys, clock)
			access, _, err := iss.IssueAccess("user-1", "sess-1", now)
			if err != nil {
				t.Fatal(err)
			}
			refresh, _, err := iss.IssueRefresh("user-1", "sess-1", 3, now, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			sk, _ := keys.SigningKey()
			pub, _ := keys.VerificationKey(sk.KeyID(), alg)
			for _, tc := range []struct{ typ, raw string }{{token.TypeAccess, access}, {token.TypeRefresh, refresh}} {
				if _, err := v.Verify(tc.raw, tc.typ); err != nil {
					t.Fatalf("control %s: Verify = %v; want nil", tc.typ, err)
				}
				parts := strings.Split(tc.raw, ".")
				for seg := range parts {
					for _, pos := range []int{0, len(parts[seg]) / 2, len(parts[seg])} {
						for _, c := range bad {
							p := slices.Clone(parts)
							p[seg] = p[seg][:pos] + c + p[seg][pos:]
							raw := strings.Join(p, ".")
							if _, err := v.Verify(raw, tc.typ); !errors.Is(err, token.ErrMalformed) {
								t.Errorf("%s with %q in segment %d at %d: Verify = %v; want ErrMalformed", tc.typ, c, seg, pos, err)
							}
						}
					}
				}
				sig, err := b64.DecodeString(parts[2])
				if err != nil {
					t.Fatal(err)
				}
				if twin := twinSignature(t, alg, sig, pub); twin != nil {
					raw := parts[0] + "." + parts[1] + "." + b64.EncodeToString(twin)
					if _, err := v.Verify(raw, tc.typ); !errors.Is(err, token.ErrSignature) {
						t.Errorf("%s with twin signature: Verify = %v; want ErrSignature", tc.typ, err)
					}
				}
			}
		})
	}
}

// TestES256SignsLowS: ES256 signatures are low-S (the only form Verify
// accepts) and stay deterministic, so a refresh token re-issued with the
// same arguments is the same string. Each signature before normalisation
// is high-S with probability 1/2, so 64 tokens catch a signer without it.
func TestES256SignsLowS(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	keys := tokentest.NewKeySource(t, token.AlgES256, clock, discardLogger())
	iss, v := tokentest.Pair(t, keys, clock)
	half := new(big.Int).Rsh(p256N, 1)
	for gen := range int64(64) {
		raw, _, err := iss.IssueRefresh("user-1", "sess-1", gen, now, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		again, _, _ := iss.IssueRefresh("user-1", "sess-1", gen, now, now.Add(time.Hour))
		if again != raw {
			t.Fatalf("gen %d: re-issued refresh token differs: not deterministic", gen)
		}
		sig, err := b64.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
		if err != nil || len(sig) != 64 {
			t.Fatalf("gen %d: signature %d bytes, %v", gen, len(sig), err)
		}
		if s := new(big.Int).SetBytes(sig[32:]); s.Cmp(half) > 0 {
			t.Fatalf("gen %d: high-S signature", gen)
		}
		if _, err := v.Verify(raw, token.TypeRefresh); err != nil {
			t.Fatalf("gen %d: Verify = %v", gen, err)
		}
	}
}
