package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

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
	// Wait until PostgreSQL shows the second replica queued behind the
	// first, rather than for some time to pass.
	waitingForKeyLock(t, dsn)
	select {
	case <-got:
		t.Fatal("second replica took the key lock while the first held it")
	default:
	}
	unlockA()
	select {
	case unlock := <-got:
		unlock()
	case <-time.After(10 * time.Second):
		t.Fatal("second replica never got the key lock after release")
	}
}

// waitingForKeyLock waits until a session of dsn's schema waits for the
// key lock: an ungranted advisory lock on the key lock's keys.
func waitingForKeyLock(t *testing.T, dsn string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	const q = `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
		AND classid = $1::bigint::oid AND objid = hashtext(current_schema())::oid AND objsubid = 2`
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.QueryRow(q, 0x6b657973).Scan(&n); err != nil {
			t.Fatalf("pg_locks: %v", err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("second replica never queued for the key lock")
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
}
