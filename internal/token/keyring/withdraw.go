package keyring

import (
	"context"
	"fmt"
	"time"

	"github.com/authmesh/authmesh/internal/token"
)

// KeyUpdater is implemented by key stores that can change the times of a
// stored key, which Withdraw needs.
type KeyUpdater interface {
	// UpdateKey stores rec's SignFrom, SignUntil and PublishUntil for the
	// key with rec's KeyID.
	UpdateKey(ctx context.Context, rec KeyRecord) error
}

// Withdraw takes the key kid out of service at once, for a key that leaked
// or must retire early: it stops signing and is no longer published, and
// Maintain then creates a replacement that signs from now (validators
// fetch it on first sight of its kid). It returns the time until which
// tokens the key signed could still be valid, which is how long a
// revocation of the key must stay in force. Other replicas follow at their
// next reload (MaintainEvery); tokens they sign meanwhile are refused by
// validators once the key is revoked.
//
// Withdraw is the one update of a stored key in place (the store must be a
// KeyUpdater), and is idempotent. It returns an error wrapping
// ErrUnknownKey when the store holds no key kid.
func (r *Ring) Withdraw(ctx context.Context, kid string) (time.Time, error) {
	up, ok := r.store.(KeyUpdater)
	if !ok {
		return time.Time{}, invalidConfig("the key store cannot withdraw keys (no UpdateKey)")
	}
	recs, err := r.store.Keys(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("keyring: withdraw key: %w", err)
	}
	now := r.cfg.Clock()
	for _, rec := range recs {
		if rec.KeyID != kid {
			continue
		}
		if rec.SignFrom.After(now) {
			rec.SignFrom = now // a published next key: it never signed
		}
		if rec.SignUntil.After(now) {
			rec.SignUntil = now
		}
		if rec.PublishUntil.After(now) {
			rec.PublishUntil = now
		}
		if err := up.UpdateKey(ctx, rec); err != nil {
			return time.Time{}, fmt.Errorf("keyring: withdraw key %q: %w", kid, err)
		}
		r.cfg.Logger.Warn("keyring: signing key withdrawn", "kid", kid)
		if err := r.Maintain(ctx); err != nil {
			return time.Time{}, fmt.Errorf("keyring: withdraw key %q: replace it: %w", kid, err)
		}
		return now.Add(r.retention()), nil
	}
	return time.Time{}, fmt.Errorf("keyring: withdraw key %q: %w", kid, token.ErrUnknownKey)
}
