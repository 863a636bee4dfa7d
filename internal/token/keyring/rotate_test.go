package keyring_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/keyring"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// Rotating now makes a new key sign at once while the old one stays
// published, so the tokens it signed verify until they expire; List shows
// both, the new one signing.
func TestKeyRingRotate(t *testing.T) {
	f := newSignedRing(t)
	ring, v, k0, old, clock := f.ring, f.v, f.k0, f.old, f.clock
	ctx := context.Background()
	k1, err := ring.Rotate(ctx)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if k1 == k0 || tokentest.SigningKid(t, ring) != k1 {
		t.Fatalf("Rotate returned %s, ring signs with %s; want a new key (old %s)", k1, tokentest.SigningKid(t, ring), k0)
	}
	if kids := jwksKids(t, ring); !slices.Contains(kids, k0) || !slices.Contains(kids, k1) {
		t.Errorf("JWKS = %v; want both %s and %s", kids, k0, k1)
	}
	if _, err := v.Verify(old, token.TypeAccess); err != nil {
		t.Errorf("a token of the rotated-out key: %v; want valid until it expires", err)
	}
	list, err := ring.List(ctx)
	if err != nil || len(list) != 2 || list[0].KeyID != k1 || !list[0].Signs(clock.Now()) || list[1].Signs(clock.Now()) || list[1].Private != nil {
		t.Fatalf("List = %+v, %v; want %s signing, then %s retired, no private keys", list, err, k1, k0)
	}
}

// signedRing is a key ring on a fake clock that has signed one access
// token with its first key: what rotating and withdrawing start from.
type signedRing struct {
	t0    time.Time
	clock *tokentest.FakeClock
	ring  *keyring.Ring
	v     *token.Verifier
	k0    string // the first key's id
	old   string // the access token it signed
}

func newSignedRing(t *testing.T) signedRing {
	t.Helper()
	f := signedRing{t0: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.clock = tokentest.NewFakeClock(f.t0)
	f.ring = newRing(t, tokentest.UpdatableStore{MemKeyStore: &tokentest.MemKeyStore{}}, keyring.Config{
		AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 2 * time.Hour, ClockSkew: time.Minute, Clock: f.clock.Now,
	})
	var iss *token.Issuer
	iss, f.v = tokentest.Pair(t, f.ring, f.clock.Now)
	f.k0 = tokentest.SigningKid(t, f.ring)
	old, _, err := iss.IssueAccess("user", "sess", f.clock.Now())
	if err != nil {
		t.Fatalf("IssueAccess: %v", err)
	}
	f.old = old
	return f
}
