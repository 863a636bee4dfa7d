package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/testenv"
)

// TestLockKeysSerialisesReplicas: two handles on one PostgreSQL schema (two
// replicas) cannot hold the key lock at once; another schema is unaffected.
func TestLockKeysSerialisesReplicas(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	open := func(dsn string) *store.DB {
		db, err := store.Open(ctx, dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b, other := open(dsn), open(dsn), open(testenv.Postgres(t))

	unlockA, err := a.LockKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	unlockOther, err := other.LockKeys(ctx)
	if err != nil {
		t.Fatalf("a lock in another schema must not wait: %v", err)
	}
	unlockOther()

	got := make(chan func(), 1)
	go func() {
		unlock, err := b.LockKeys(ctx)
		if err != nil {
			t.Error(err)
			unlock = func() {}
		}
		got <- unlock
	}()
	select {
	case <-got:
		t.Fatal("second replica took the key lock while the first held it")
	case <-time.After(200 * time.Millisecond):
	}
	unlockA()
	select {
	case unlock := <-got:
		unlock()
	case <-time.After(10 * time.Second):
		t.Fatal("second replica never got the key lock after release")
	}
}
