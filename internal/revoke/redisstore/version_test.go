package redisstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// A validator synced from Redis meets entries a newer auth service wrote, in
// the log (running) and in the snapshot (started afterwards), and refuses
// every token rather than ignoring them.
func TestRedisSyncRefusesWhatItCannotRead(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	newStore(t, c, redisstore.Config{})
	running := revoke.NewSet()
	rs := startSync(t, running, c, redissync.Config{})
	testenv.WaitFor(t, "ready", func() bool { return rs.Status().Ready })

	// What a newer auth service would write for a kind this version lacks.
	ctx := context.Background()
	exp := future()
	prefix := redissync.DefaultPrefix + "{revocations}:"
	if err := c.HSet(ctx, prefix+"entries", "before:all", exp).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: prefix + "log", Values: []any{"v", "2", "k", "before", "i", "all", "e", exp, "b", 0, "a", 0}}).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the running sync to report it", func() bool { n, _ := running.Unsupported(); return n == 1 })

	later := revoke.NewSet()
	ls := startSync(t, later, c, redissync.Config{})
	testenv.WaitFor(t, "ready", func() bool { return ls.Status().Ready })
	if n, why := later.Unsupported(); n != 1 || !strings.Contains(why, "unknown kind") {
		t.Errorf("a sync started afterwards: Unsupported() = %d, %q; want 1, unknown kind", n, why)
	}
}
