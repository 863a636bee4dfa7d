package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
)

// Redis loses its data (FLUSHALL; a restart without persistence): the auth
// service's store notices, re-seeds Redis from the database (the journal),
// and both a validator that was running and one started afterwards reject
// every revoked token and accept live ones. The time to re-seed is logged.
func TestRedisDataLossIsReseededFromTheJournal(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, srv *testenv.RedisServer, c redis.UniversalClient)
	}{
		{"FLUSHALL", func(t *testing.T, _ *testenv.RedisServer, c redis.UniversalClient) {
			if err := c.FlushAll(context.Background()).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
		}},
		{"restart without persistence", func(t *testing.T, srv *testenv.RedisServer, _ redis.UniversalClient) {
			srv.Restart()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.StartRedis(t, "--appendonly", "no")
			c := srv.Client(t)
			db := openSQLJournal(t, sqliteDSN(t))
			store := newStore(t, c, redisstore.Config{Journal: db})
			runStore(t, store)

			running := revoke.NewSet()
			rs := startSync(t, running, srv.Client(t), redissync.Config{})
			testenv.WaitFor(t, "the running validator ready", func() bool { return rs.Status().Ready })
			before := revokeTokens(t, store, "before-loss", 20)
			testenv.WaitFor(t, "the running validator has every revocation", allRevoked(running, before))

			lost := time.Now()
			tt.lose(t, srv, c)
			later := revoke.NewSet()
			ls := startSync(t, later, srv.Client(t), redissync.Config{})
			testenv.WaitFor(t, "the validator started after the loss ready", func() bool { return ls.Status().Ready })
			t.Logf("Redis re-seeded and a new validator ready %s after the loss", time.Since(lost).Round(time.Millisecond))
			if !allRevoked(later, before)() {
				t.Fatal("the validator started after the loss became ready without every revocation")
			}
			testenv.WaitFor(t, "the running validator resynced", func() bool { return rs.Status().Resyncs > 0 && rs.Status().Connected })
			t.Logf("the running validator resynced %s after the loss", time.Since(lost).Round(time.Millisecond))

			after := revokeTokens(t, store, "after-loss", 5)
			for name, set := range map[string]*revoke.Set{"running": running, "started later": later} {
				testenv.WaitFor(t, name+": the revocations made after the re-seed", allRevoked(set, after))
				if !allRevoked(set, before)() {
					t.Errorf("%s: lost a revocation made before the loss", name)
				}
				for i := range 10 {
					if revoked(set, fmt.Sprint("live-", i)) {
						t.Errorf("%s: live-%d reported revoked", name, i)
					}
				}
			}
		})
	}
}

// A revocation made while Redis holds no layout marker re-seeds Redis
// first, then succeeds: it is in the journal and in Redis, and nothing
// revoked earlier is lost.
func TestRevokeAfterDataLossReseedsFirst(t *testing.T) {
	srv := testenv.StartRedis(t, "--appendonly", "no")
	c := srv.Client(t)
	db := openSQLJournal(t, sqliteDSN(t))
	store := newStore(t, c, redisstore.Config{Journal: db})
	before := revokeTokens(t, store, "before", 3)
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Since(context.Background(), "0-0", 10); !errors.Is(err, redissync.ErrLayoutMissing) {
		t.Errorf("Since after FLUSHALL = %v; want ErrLayoutMissing", err)
	}
	after := revokeTokens(t, store, "after", 1) // no Run: Revoke itself re-seeds
	set := revoke.NewSet()
	rs := startSync(t, set, c, redissync.Config{})
	testenv.WaitFor(t, "ready", func() bool { return rs.Status().Ready })
	if !allRevoked(set, append(before, after...))() {
		t.Error("a revocation is missing after the re-seed")
	}
}

// A failover to a replica that missed the last writes keeps the layout
// marker but loses entries: the auth service notices that the log no
// longer holds the newest entry it wrote, re-seeds Redis under a new epoch,
// and validators load the complete state again.
func TestRedisLostWritesAreReseeded(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	db := openSQLJournal(t, sqliteDSN(t))
	store := newStore(t, c, redisstore.Config{Journal: db})
	runStore(t, store)

	jtis := revokeTokens(t, store, "replicated", 3)
	last, err := store.Revoke(context.Background(), tokenEntry("missed-by-the-replica"))
	if err != nil {
		t.Fatal(err)
	}
	// What the promoted replica lacks: the last write, in the log and the
	// entries, with the marker intact.
	prefix := redissync.DefaultPrefix + "{revocations}:"
	if err := c.XDel(context.Background(), prefix+"log", last.Cursor).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.HDel(context.Background(), prefix+"entries", "jti:missed-by-the-replica").Err(); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()
	set := revoke.NewSet()
	rs := startSync(t, set, c, redissync.Config{})
	testenv.WaitFor(t, "the lost write restored", func() bool { return rs.Status().Ready && revoked(set, "missed-by-the-replica") })
	t.Logf("the lost write was restored %s after it was lost", time.Since(lost).Round(time.Millisecond))
	if !allRevoked(set, jtis)() {
		t.Error("a revocation is missing after the re-seed")
	}
}

// A revocation succeeds only once the database committed it and Redis took
// it; when either fails, Revoke fails, and a retry once both are back
// completes it.
func TestRevokeNeedsTheDatabaseAndRedis(t *testing.T) {
	ctx := context.Background()
	t.Run("database down", func(t *testing.T) {
		srv := testenv.StartRedis(t)
		c := srv.Client(t)
		db := openSQLJournal(t, sqliteDSN(t))
		store := newStore(t, c, redisstore.Config{Journal: db})
		_ = db.Close()
		if _, err := store.Revoke(ctx, tokenEntry("no-db")); err == nil {
			t.Fatal("Revoke succeeded without the database")
		}
		if n, _ := c.HLen(ctx, redissync.DefaultPrefix+"{revocations}:entries").Result(); n != 0 {
			t.Errorf("Redis holds %d entries of a revocation the database refused; want 0", n)
		}
	})
	t.Run("Redis down", func(t *testing.T) {
		srv := testenv.StartRedis(t)
		c := srv.Client(t)
		db := openSQLJournal(t, sqliteDSN(t))
		store := newStore(t, c, redisstore.Config{Journal: db})
		srv.Stop()
		if _, err := store.Revoke(ctx, tokenEntry("retried")); err == nil {
			t.Fatal("Revoke succeeded without Redis")
		}
		srv.Restart()
		testenv.WaitFor(t, "the retry to succeed", func() bool {
			_, err := store.Revoke(ctx, tokenEntry("retried"))
			return err == nil
		})
		set := revoke.NewSet()
		rs := startSync(t, set, c, redissync.Config{})
		testenv.WaitFor(t, "the retried revocation", func() bool { return rs.Status().Ready && revoked(set, "retried") })
		evs, _, err := db.LiveRevocations(ctx, time.Now())
		if err != nil || len(evs) == 0 {
			t.Errorf("journal holds %d live revocations (%v); want the retried one", len(evs), err)
		}
	})
}

// runStore runs the store's background loop (data-loss detection and
// re-seeding) until the test ends.
func runStore(t *testing.T, store *redisstore.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = store.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
