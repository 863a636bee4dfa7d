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
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := tokentest.NewFakeClock(t0)
	ring := newRing(t, tokentest.UpdatableStore{MemKeyStore: &tokentest.MemKeyStore{}}, keyring.Config{
		AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 2 * time.Hour, ClockSkew: time.Minute, Clock: clock.Now,
	})
	iss, v := tokentest.Pair(t, ring, clock.Now)
	k0 := tokentest.SigningKid(t, ring)
	old, _, err := iss.IssueAccess("user", "sess", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
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
