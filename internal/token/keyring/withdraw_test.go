package keyring_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// A withdrawn key stops signing and verifying at once, leaves the JWKS, and
// is replaced by a key that signs from now; withdrawing is idempotent.
func TestKeyRingWithdraw(t *testing.T) {
	f := newSignedRing(t)
	ring, v, k0, old, t0 := f.ring, f.v, f.k0, f.old, f.t0
	ctx := context.Background()
	until, err := ring.Withdraw(ctx, k0)
	if err != nil {
		t.Fatalf("Withdraw: %v", err)
	}
	if want := t0.Add(2*time.Hour + time.Minute); !until.Equal(want) {
		t.Errorf("Withdraw returned %v; want %v (the longest TTL plus skew)", until, want)
	}
	k1 := tokentest.SigningKid(t, ring)
	if k1 == k0 {
		t.Fatalf("still signing with withdrawn key %s", k0)
	}
	if kids := jwksKids(t, ring); slices.Contains(kids, k0) || !slices.Contains(kids, k1) {
		t.Errorf("JWKS = %v; want %s and not %s", kids, k1, k0)
	}
	if _, err := v.Verify(old, token.TypeAccess); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("Verify(token of the withdrawn key) = %v; want ErrUnknownKey", err)
	}
	if _, err := ring.Withdraw(ctx, k0); err != nil {
		t.Errorf("Withdraw again: %v; want success", err)
	}
	if tokentest.SigningKid(t, ring) != k1 {
		t.Errorf("withdrawing again replaced the key again")
	}
	if _, err := ring.Withdraw(ctx, "no-such-kid"); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("Withdraw(unknown) = %v; want ErrUnknownKey", err)
	}
}
