package token_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// joseVerify checks raw with go-jose, an implementation independent of this
// package, and returns its header and claims.
func joseVerify(t *testing.T, raw string, alg string, key any) (jose.Header, token.Claims) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("go-jose ParseSignedCompact: %v", err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		t.Fatalf("go-jose Verify: %v", err)
	}
	var c token.Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return jws.Signatures[0].Protected, c
}

// publicKeyOf returns the verification key go-jose needs for keys.
func publicKeyOf(t *testing.T, keys tokentest.KeySource, kid, alg string) any {
	t.Helper()
	k, err := keys.VerificationKey(kid, alg)
	if err != nil {
		t.Fatalf("VerificationKey(%q, %q): %v", kid, alg, err)
	}
	switch k.(type) {
	case []byte, ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		return k
	}
	t.Fatalf("unexpected key type %T", k)
	return nil
}

func TestIssueVerifiedIndependently(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	for _, alg := range tokentest.AllAlgs {
		t.Run(alg, func(t *testing.T) {
			keys := tokentest.NewKeySource(t, alg, clock, discardLogger())
			iss, v := tokentest.Pair(t, keys, clock)
			sk, err := keys.SigningKey()
			if err != nil {
				t.Fatalf("SigningKey: %v", err)
			}
			pub := publicKeyOf(t, keys, sk.KeyID(), alg)

			raw, claims, err := iss.IssueAccess("user-1", "sess-1", now)
			if err != nil {
				t.Fatalf("IssueAccess: %v", err)
			}
			hdr, got := joseVerify(t, raw, alg, pub)
			if !reflect.DeepEqual(got, claims) {
				t.Errorf("go-jose claims = %+v; want %+v", got, claims)
			}
			if hdr.ExtraHeaders["typ"] != "at+jwt" || hdr.KeyID != sk.KeyID() || hdr.Algorithm != alg {
				t.Errorf("header = typ %v kid %q alg %q; want at+jwt %q %q", hdr.ExtraHeaders["typ"], hdr.KeyID, hdr.Algorithm, sk.KeyID(), alg)
			}
			if alg != token.AlgHS256 && hdr.KeyID == "" {
				t.Errorf("asymmetric token without kid")
			}
			want := token.Claims{Issuer: token.DefaultIssuer, Subject: "user-1", Audience: []string{"api"},
				ExpiresAt: now.Add(token.DefaultAccessTokenTTL).Unix(), NotBefore: now.Unix(), IssuedAt: now.Unix(),
				ID: claims.ID, SessionID: "sess-1", Type: token.TypeAccess}
			if !reflect.DeepEqual(claims, want) || len(claims.ID) < 22 {
				t.Errorf("claims = %+v; want %+v with a 128-bit jti", claims, want)
			}
			if vc, err := v.Verify(raw, token.TypeAccess); err != nil || !reflect.DeepEqual(vc, claims) {
				t.Errorf("Verify = %+v, %v; want %+v, nil", vc, err, claims)
			}

			rt, rclaims, err := iss.IssueRefresh("user-1", "sess-1", 3, now, now.Add(time.Hour))
			if err != nil {
				t.Fatalf("IssueRefresh: %v", err)
			}
			hdr, got = joseVerify(t, rt, alg, pub)
			if !reflect.DeepEqual(got, rclaims) || hdr.ExtraHeaders["typ"] != "rt+jwt" {
				t.Errorf("go-jose refresh = %+v typ %v; want %+v rt+jwt", got, hdr.ExtraHeaders["typ"], rclaims)
			}
			if rclaims.ID != "sess-1.3" || rclaims.Generation != 3 || rclaims.Type != token.TypeRefresh {
				t.Errorf("refresh claims = %+v; want jti sess-1.3 gen 3 type refresh", rclaims)
			}
			if _, err := v.Verify(rt, token.TypeRefresh); err != nil {
				t.Errorf("Verify(refresh) = %v; want nil", err)
			}
		})
	}
}

func TestIssueAccessUniqueJTI(t *testing.T) {
	iss, _ := tokentest.Pair(t, tokentest.NewKeySource(t, token.AlgHS256, nil, discardLogger()), nil)
	seen := map[string]bool{}
	for range 1000 {
		_, c, err := iss.IssueAccess("u", "s", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("duplicate jti %q", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestIssueRefreshDeterministic(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := tokentest.NewFakeClock(now)
	for _, alg := range tokentest.AllAlgs {
		t.Run(alg, func(t *testing.T) {
			iss, v := tokentest.Pair(t, tokentest.NewKeySource(t, alg, clock.Now, discardLogger()), clock.Now)
			a, _, err := iss.IssueRefresh("u", "s", 7, now, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(5 * time.Second) // a concurrent refresh a little later
			b, _, err := iss.IssueRefresh("u", "s", 7, now, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if a != b {
				t.Errorf("IssueRefresh twice:\n%s\n%s\nwant identical", a, b)
			}
			c, _, _ := iss.IssueRefresh("u", "s", 8, now, now.Add(time.Hour))
			if c == a {
				t.Errorf("generation 8 gave the token of generation 7")
			}
			if _, err := v.Verify(b, token.TypeRefresh); err != nil {
				t.Errorf("Verify = %v", err)
			}
		})
	}
}

func TestIssueInvalidInput(t *testing.T) {
	now := time.Now()
	iss, _ := tokentest.Pair(t, tokentest.NewKeySource(t, token.AlgHS256, nil, discardLogger()), func() time.Time { return now })
	tests := []struct {
		name string
		call func() error
	}{
		{"empty user", func() error { _, _, err := iss.IssueAccess("", "s", now); return err }},
		{"empty session", func() error { _, _, err := iss.IssueAccess("u", "", now); return err }},
		{"iat far in future", func() error { _, _, err := iss.IssueAccess("u", "s", now.Add(2*time.Second)); return err }},
		{"negative gen", func() error { _, _, err := iss.IssueRefresh("u", "s", -1, now, now.Add(time.Hour)); return err }},
		{"exp before iat", func() error { _, _, err := iss.IssueRefresh("u", "s", 1, now, now.Add(-time.Hour)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, token.ErrInvalidInput) {
				t.Errorf("got %v; want ErrInvalidInput", err)
			}
		})
	}
	if _, _, err := iss.IssueAccess("u", "s", now.Add(900*time.Millisecond)); err != nil {
		t.Errorf("iat 0.9s in the future: got %v; want nil", err)
	}
}

func TestClaimsAudienceString(t *testing.T) {
	var c token.Claims
	if err := json.Unmarshal([]byte(`{"aud":"api","exp":1.7e9,"iat":5}`), &c); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Audience, []string{"api"}) || c.ExpiresAt != 1_700_000_000 || c.IssuedAt != 5 {
		t.Errorf("got %+v; want aud [api] exp 1700000000 iat 5", c)
	}
}
