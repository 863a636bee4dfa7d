package token_test

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// diffKey is one real key of a supported algorithm, with the verifier that
// trusts it and the key go-jose verifies with.
type diffKey struct {
	alg    string
	kid    string
	signer token.SigningKey
	pub    any // what go-jose and twinSignature need
	v      *token.Verifier
}

// diffKeys returns one key per supported algorithm, valid at fuzzNow.
func diffKeys(tb testing.TB) []diffKey {
	tb.Helper()
	clock := func() time.Time { return fuzzNow }
	var out []diffKey
	for _, alg := range tokentest.AllAlgs {
		keys := tokentest.NewKeySource(tb, alg, clock, discardLogger())
		sk, err := keys.SigningKey()
		if err != nil {
			tb.Fatal(err)
		}
		pub, err := keys.VerificationKey(sk.KeyID(), alg)
		if err != nil {
			tb.Fatal(err)
		}
		v, err := token.NewVerifier(keys, token.VerifierConfig{Audience: "api", Clock: clock})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, diffKey{alg: alg, kid: sk.KeyID(), signer: sk, pub: pub, v: v})
	}
	return out
}

// compact signs header.claims (raw JSON bytes, as given) with k.
func (k diffKey) compact(tb testing.TB, header, claims []byte) string {
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(claims)
	sig, err := k.signer.Sign([]byte(input))
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// Mutations applied to a freshly signed token.
const (
	mutNone   = iota
	mutInsert // insert a byte at pos
	mutSet    // replace the byte at pos
	mutDelete // delete the byte at pos
	mutTwin   // replace the signature by its twin (ES256: (r, n-s))
	mutCount
)

func mutate(tb testing.TB, k diffKey, raw string, mode uint8, pos uint16, b byte) string {
	if len(raw) == 0 {
		return raw
	}
	p := int(pos) % len(raw)
	switch mode % mutCount {
	case mutInsert:
		return raw[:p] + string([]byte{b}) + raw[p:]
	case mutSet:
		return raw[:p] + string([]byte{b}) + raw[p+1:]
	case mutDelete:
		return raw[:p] + raw[p+1:]
	case mutTwin:
		i := strings.LastIndexByte(raw, '.')
		sig, err := b64.DecodeString(raw[i+1:])
		if err != nil || (k.alg == token.AlgES256 && len(sig) != 64) {
			return raw
		}
		if twin := twinSignature(tb, k.alg, sig, k.pub); twin != nil {
			return raw[:i+1] + b64.EncodeToString(twin)
		}
	}
	return raw
}

// joseRead verifies raw with go-jose, alg pinned, and returns its reading
// of the header and claims.
func joseRead(raw string, k diffKey) (jose.Header, token.Claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(k.alg)})
	if err != nil {
		return jose.Header{}, token.Claims{}, fmt.Errorf("ParseSigned: %w", err)
	}
	var std jwt.Claims
	var ext struct {
		SessionID *string `json:"sid"`
		Type      *string `json:"type"`
		Gen       *int64  `json:"gen"`
	}
	if err := tok.Claims(k.pub, &std, &ext); err != nil {
		return jose.Header{}, token.Claims{}, fmt.Errorf("Claims: %w", err)
	}
	c := token.Claims{Issuer: std.Issuer, Subject: std.Subject, Audience: std.Audience, ID: std.ID}
	for dst, src := range map[*int64]*jwt.NumericDate{&c.ExpiresAt: std.Expiry, &c.NotBefore: std.NotBefore, &c.IssuedAt: std.IssuedAt} {
		if src != nil {
			*dst = int64(*src)
		}
	}
	if ext.SessionID != nil {
		c.SessionID = *ext.SessionID
	}
	if ext.Type != nil {
		c.Type = *ext.Type
	}
	if ext.Gen != nil {
		c.Generation = *ext.Gen
	}
	return tok.Headers[0], c, nil
}

// sameClaims compares claims, an empty aud array equal to none.
func sameClaims(a, b token.Claims) bool {
	if !slices.Equal(a.Audience, b.Audience) {
		return false
	}
	a.Audience, b.Audience = nil, nil
	return reflect.DeepEqual(a, b)
}

// checkOneString fails unless raw is the only encoding of its bytes: every
// segment is the canonical base64url of what it decodes to, and an ES256
// signature is low-S.
func checkOneString(t *testing.T, raw, alg string) {
	t.Helper()
	for _, seg := range strings.Split(raw, ".") {
		dec, err := b64.DecodeString(seg)
		if err != nil || b64.EncodeToString(dec) != seg {
			t.Fatalf("accepted a non-canonical segment %q", seg)
		}
	}
	if alg == token.AlgES256 {
		sig, _ := b64.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
		if new(big.Int).SetBytes(sig[32:]).Cmp(new(big.Int).Rsh(p256N, 1)) > 0 {
			t.Fatalf("accepted a high-S ES256 signature")
		}
	}
}

// FuzzVerifyDifferential signs fuzzed headers and claims with real keys of
// every supported algorithm, mutates the token, and requires that every
// token Verify accepts is also accepted by go-jose v4 with the same
// algorithm pinned, with the same kid, typ and claims, and is in canonical
// form. A token go-jose reads differently (duplicate or case-variant
// members, escapes, numbers) must therefore be refused by Verify.
func FuzzVerifyDifferential(f *testing.F) {
	keys := diffKeys(f)
	exp, now := fuzzNow.Add(time.Hour).Unix(), fuzzNow.Unix()
	claims := func(typ, extra string) []byte {
		return fmt.Appendf(nil, `{"iss":"authentication-service","sub":"user-1","aud":["api"],"exp":%d,"nbf":%d,"iat":%d,"jti":"j-1","sid":"sess-1","type":%q%s}`,
			exp, now, now, typ, extra)
	}
	for i, k := range keys {
		kid := ""
		if k.kid != "" {
			kid = fmt.Sprintf(`,"kid":%q`, k.kid)
		}
		hdr := func(typ, extra string) []byte {
			return fmt.Appendf(nil, `{"alg":%q%s,"typ":%q%s}`, k.alg, kid, typ, extra)
		}
		alg := uint8(i)
		f.Add(alg, hdr("at+jwt", ""), claims("access", ""), uint8(mutNone), uint16(0), byte(0))
		f.Add(alg, hdr("rt+jwt", ""), claims("refresh", `,"gen":3`), uint8(mutNone), uint16(0), byte(0))
		f.Add(alg, hdr("at+jwt", ""), claims("access", ""), uint8(mutTwin), uint16(0), byte(0))
		f.Add(alg, hdr("at+jwt", ""), claims("access", ""), uint8(mutInsert), uint16(200), byte('\n'))
		f.Add(alg, hdr("application/at+jwt", `,"x":1,"x":2`), claims("access", `,"s\u0075b":"user-2"`), uint8(mutNone), uint16(0), byte(0))
		f.Add(alg, hdr("AT+JWT", `,"ALG":"none"`), claims("access", `,"Sub":"admin","SUB":"root","other":{"a":[1,{"a":2,"a":3}]}`), uint8(mutNone), uint16(0), byte(0))
		f.Add(alg, hdr("at+jwt", ""), claims("access", `,"exp":1.99e9`)[1:], uint8(mutNone), uint16(0), byte(0))
		for _, member := range []string{`,"b64":false`, `,"zip":"DEF"`, `,"nonce":"n"`, `,"enc":"A128GCM"`, `,"typ":"at+jwt"`, `,"k\u0069d":"x"`} {
			f.Add(alg, hdr("at+jwt", member), claims("access", ""), uint8(mutNone), uint16(0), byte(0))
		}
		f.Add(alg, hdr("at+jwt", ""), claims("access", `,"exp":9007199254740993`), uint8(mutNone), uint16(0), byte(0))
		f.Add(alg, hdr("at+jwt", ""), claims("access", `,"gen":1.0`), uint8(mutNone), uint16(0), byte(0))
		f.Add(alg, hdr("at+jwt", ""), []byte(fmt.Sprintf(`{"iss":"authentication-service","sub":"\ud83d\ude00\u0000","aud":"api","exp":%d.9,"nbf":null,"iat":%de0,"jti":"j","sid":"s","type":"access","x":1,"x":1}`, exp, now)), uint8(mutNone), uint16(0), byte(0))
	}
	f.Fuzz(func(t *testing.T, alg uint8, header, claims []byte, mode uint8, pos uint16, b byte) {
		k := keys[int(alg)%len(keys)]
		raw := mutate(t, k, k.compact(t, header, claims), mode, pos, b)
		for _, typ := range []string{token.TypeAccess, token.TypeRefresh} {
			ours, err := k.v.Verify(raw, typ)
			if err != nil {
				if !slices.ContainsFunc(verificationErrors, func(s error) bool { return errors.Is(err, s) }) {
					t.Fatalf("Verify error %v wraps no verification sentinel", err)
				}
				continue
			}
			checkOneString(t, raw, k.alg)
			hdr, theirs, err := joseRead(raw, k)
			if err != nil {
				t.Fatalf("Verify accepted a %s token go-jose refuses: %v\nheader %q\nclaims %q", k.alg, err, header, claims)
			}
			if !sameClaims(ours, theirs) {
				t.Fatalf("%s claims differ:\nours    %+v\ngo-jose %+v\nclaims %q", k.alg, ours, theirs, claims)
			}
			typHdr, _ := hdr.ExtraHeaders["typ"].(string)
			want := map[string]string{token.TypeAccess: "at+jwt", token.TypeRefresh: "rt+jwt"}[typ]
			if hdr.KeyID != k.kid || hdr.Algorithm != k.alg ||
				!strings.EqualFold(strings.TrimPrefix(strings.ToLower(typHdr), "application/"), want) {
				t.Fatalf("go-jose header kid %q alg %q typ %q; Verify accepted it as %s with kid %q alg %q",
					hdr.KeyID, hdr.Algorithm, typHdr, typ, k.kid, k.alg)
			}
		}
	})
}
