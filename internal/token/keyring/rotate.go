package keyring

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authmesh/authmesh/internal/token"
)

// Rotate retires the keys that sign now and makes a new key sign from now
// (an operator's "rotate now", for example after a suspected but unproven
// leak). Retired keys stay published until the last token they signed has
// expired, so those tokens stay valid; validators fetch the new key on
// first sight of its kid. It returns the new signing key's id. The store
// must be a KeyUpdater. Other replicas follow at their next reload.
func (r *Ring) Rotate(ctx context.Context) (string, error) {
	up, ok := r.store.(KeyUpdater)
	if !ok {
		return "", invalidConfig("the key store cannot rotate keys (no UpdateKey)")
	}
	recs, err := r.store.Keys(ctx)
	if err != nil {
		return "", fmt.Errorf("keyring: rotate: %w", err)
	}
	now := r.cfg.Clock()
	for _, rec := range recs {
		if now.Before(rec.SignFrom) || !now.Before(rec.SignUntil) {
			continue
		}
		rec.SignUntil = now
		if err := up.UpdateKey(ctx, rec); err != nil {
			return "", fmt.Errorf("keyring: rotate: retire %q: %w", rec.KeyID, err)
		}
		r.cfg.Logger.Warn("keyring: signing key retired by rotation", "kid", rec.KeyID)
	}
	if err := r.Maintain(ctx); err != nil {
		return "", fmt.Errorf("keyring: rotate: %w", err)
	}
	k := r.state.Load().signingAt(r.cfg.Clock())
	if k == nil {
		return "", fmt.Errorf("keyring: rotate: %w after rotation", token.ErrNoSigningKey)
	}
	return k.meta.KeyID, nil
}

// List returns the stored keys still published at now, newest SignFrom
// first (then latest SignUntil), without their private material.
func (r *Ring) List(ctx context.Context) ([]KeyRecord, error) {
	recs, err := r.store.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyring: list keys: %w", err)
	}
	now := r.cfg.Clock()
	out := make([]KeyRecord, 0, len(recs))
	for _, rec := range recs {
		if now.Before(rec.PublishUntil) {
			rec.Private = nil
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b KeyRecord) int {
		if c := b.SignFrom.Compare(a.SignFrom); c != 0 {
			return c
		}
		if c := b.SignUntil.Compare(a.SignUntil); c != 0 {
			return c
		}
		return cmp.Compare(a.KeyID, b.KeyID)
	})
	return out, nil
}

// Signs reports whether rec's signing window contains now.
func (rec KeyRecord) Signs(now time.Time) bool {
	return !now.Before(rec.SignFrom) && now.Before(rec.SignUntil)
}
