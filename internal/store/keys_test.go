package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/token/keyring"
)

func TestKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		if ks, err := db.Keys(ctx); err != nil || len(ks) != 0 {
			t.Fatalf("Keys on empty store = %v, %v; want none", ks, err)
		}
		newer := keyring.KeyRecord{
			KeyID: "k2", Algorithm: "EdDSA", Private: []byte{1, 2, 3, 0, 255}, Public: []byte{9, 8, 7},
			CreatedAt: t0.Add(time.Hour), SignFrom: t0.Add(2 * time.Hour),
		}
		older := keyring.KeyRecord{
			KeyID: "k1", Algorithm: "ES256", Private: []byte("sealed-bytes"), Sealed: true, Public: []byte{4, 5},
			CreatedAt: t0, SignFrom: t0, SignUntil: t0.Add(24 * time.Hour), PublishUntil: t0.Add(25 * time.Hour),
		}
		for _, k := range []keyring.KeyRecord{newer, older} {
			if err := db.PutKey(ctx, k); err != nil {
				t.Fatalf("PutKey(%s): %v", k.KeyID, err)
			}
		}
		norm := func(k keyring.KeyRecord) keyring.KeyRecord {
			for _, p := range []*time.Time{&k.CreatedAt, &k.SignFrom, &k.SignUntil, &k.PublishUntil} {
				if !p.IsZero() {
					*p = stored(*p)
				}
			}
			return k
		}
		ks, err := db.Keys(ctx)
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		if want := []keyring.KeyRecord{norm(older), norm(newer)}; !reflect.DeepEqual(ks, want) {
			t.Fatalf("Keys =\n%+v; want (oldest first)\n%+v", ks, want)
		}

		// Upsert: retire k2.
		newer.SignUntil, newer.PublishUntil = t0.Add(3*time.Hour), t0.Add(4*time.Hour)
		newer.Sealed = true
		if err := db.PutKey(ctx, newer); err != nil {
			t.Fatalf("PutKey(update): %v", err)
		}
		ks, _ = db.Keys(ctx)
		if len(ks) != 2 || !reflect.DeepEqual(ks[1], norm(newer)) {
			t.Errorf("after upsert Keys[1] = %+v; want %+v", ks[1], norm(newer))
		}

		if err := db.DeleteKey(ctx, "k1"); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		if err := db.DeleteKey(ctx, "k1"); err != nil {
			t.Errorf("DeleteKey(again) = %v; want nil (idempotent)", err)
		}
		ks, _ = db.Keys(ctx)
		if len(ks) != 1 || ks[0].KeyID != "k2" {
			t.Errorf("Keys after delete = %+v; want only k2", ks)
		}
		if err := db.PutKey(ctx, keyring.KeyRecord{KeyID: "bad"}); err == nil {
			t.Errorf("PutKey(no algorithm, no public key) = nil; want an error")
		}
	})
}
