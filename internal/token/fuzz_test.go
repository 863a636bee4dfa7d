package token_test

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// fuzzKid and fuzzSeed make the fuzz verifier's Ed25519 key fixed, so the
// seed corpus in testdata/fuzz/FuzzVerify holds validly signed tokens and
// fuzzing reaches the claim checks.
const fuzzKid = "fuzz-key"

var fuzzSeed = []byte("authmesh fuzz key seed 32 bytes!")

// fuzzNow is the fixed time of the fuzz verifiers (tokens in the corpus are
// valid at this time).
var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// staticKeys trusts one fixed Ed25519 key.
type staticKeys struct{ pub ed25519.PublicKey }

func (s staticKeys) VerificationKey(kid, alg string) (any, error) {
	if kid != fuzzKid {
		return nil, token.ErrUnknownKey
	}
	if alg != token.AlgEdDSA {
		return nil, token.ErrAlgorithm
	}
	return s.pub, nil
}

// edKey is a fixed Ed25519 SigningKey.
type edKey struct{ priv ed25519.PrivateKey }

func (k edKey) KeyID() string                         { return fuzzKid }
func (k edKey) Algorithm() string                     { return token.AlgEdDSA }
func (k edKey) Sign(in []byte) ([]byte, error)        { return ed25519.Sign(k.priv, in), nil }
func (k edKey) SigningKey() (token.SigningKey, error) { return k, nil }

var verificationErrors = []error{
	token.ErrMalformed, token.ErrTooLarge, token.ErrAlgorithm, token.ErrUnknownKey,
	token.ErrForbiddenHeader, token.ErrSignature, token.ErrExpired, token.ErrNotYetValid,
	token.ErrIssuer, token.ErrAudience, token.ErrTokenType, token.ErrMissingClaim, token.ErrLifetime,
}

func FuzzVerify(f *testing.F) {
	clock := func() time.Time { return fuzzNow }
	priv := ed25519.NewKeyFromSeed(fuzzSeed)
	hkeys, err := token.NewHMACKeys(tokentest.Secret)
	if err != nil {
		f.Fatal(err)
	}
	var verifiers []*token.Verifier
	for _, keys := range []token.VerificationKeys{staticKeys{priv.Public().(ed25519.PublicKey)}, hkeys} {
		v, err := token.NewVerifier(keys, token.VerifierConfig{Audience: "api", Clock: clock})
		if err != nil {
			f.Fatal(err)
		}
		verifiers = append(verifiers, v)
	}
	for _, signer := range []token.Signer{edKey{priv}, hkeys} {
		iss, err := token.NewIssuer(signer, token.IssuerConfig{Audience: []string{"api"}, Clock: clock})
		if err != nil {
			f.Fatal(err)
		}
		a, _, _ := iss.IssueAccess("user-1", "sess-1", fuzzNow)
		r, _, _ := iss.IssueRefresh("user-1", "sess-1", 2, fuzzNow, fuzzNow.Add(time.Hour))
		f.Add(a)
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, v := range verifiers {
			for _, typ := range []string{token.TypeAccess, token.TypeRefresh} {
				c, err := v.Verify(raw, typ)
				if err == nil {
					if c.Type != typ || c.Subject == "" || c.ID == "" || c.SessionID == "" {
						t.Fatalf("accepted token with claims %+v as %s", c, typ)
					}
					continue
				}
				known := false
				for _, sentinel := range verificationErrors {
					known = known || errors.Is(err, sentinel)
				}
				if !known {
					t.Fatalf("Verify error %v wraps no verification sentinel", err)
				}
			}
		}
	})
}
