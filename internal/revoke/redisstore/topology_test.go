package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
)

func TestRedisCluster(t *testing.T) {
	cl := testenv.StartRedisCluster(t, 3)
	client := cl.Client(t)
	store := newStore(t, client, redisstore.Config{})
	sub := subscribeRaw(t, client, revoke.Channel)
	set := revoke.NewSet()
	// No polling after the first catch-up: delivery proves that PUBLISH from
	// the script reaches subscribers on other nodes.
	rs := startSync(t, set, cl.Client(t), redissync.Config{PollInterval: time.Hour})
	testenv.WaitFor(t, "ready", func() bool { st := rs.Status(); return st.Ready && st.Connected })

	first := revokeTokens(t, store, "cluster", 5)
	testenv.WaitFor(t, "pub/sub delivery across the cluster", allRevoked(set, first))
	testenv.WaitFor(t, "raw subscriber", func() bool { return len(sub.messages()) == 5 })

	// Restart the node holding the revocation keys.
	ctx := context.Background()
	master, err := client.MasterForKey(ctx, "authmesh:{revocations}:log")
	if err != nil {
		t.Fatalf("MasterForKey: %v", err)
	}
	node := -1
	for i, a := range cl.Addrs() {
		if a == master.Options().Addr {
			node = i
		}
	}
	if node < 0 {
		t.Fatalf("no node has address %s", master.Options().Addr)
	}
	cl.Node(node).Restart()
	cl.WaitOK()
	var after []string
	testenv.WaitFor(t, "revoking after the restart", func() bool {
		ev, err := store.Revoke(ctx, tokenEntry(fmt.Sprint("after-", len(after))))
		if err == nil {
			after = append(after, ev.ID)
		}
		return len(after) == 5
	})
	testenv.WaitFor(t, "revocations after the node restart", allRevoked(set, after))
	snap, err := store.Snapshot(ctx)
	if err != nil || len(snap.Entries) != 10 {
		t.Fatalf("Snapshot after restart = %d entries, %v; want 10 (AOF kept them)", len(snap.Entries), err)
	}
}

func TestRedisSentinelFailoverLosesNothing(t *testing.T) {
	rs := testenv.StartRedisSentinel(t)
	newClient := func() redis.UniversalClient {
		c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: rs.SentinelAddrs(), MasterName: rs.MasterName})
		t.Cleanup(func() { c.Close() })
		return c
	}
	store := newStore(t, newClient(), redisstore.Config{MinReplicas: 1, ReplicaTimeout: 500 * time.Millisecond})
	set := revoke.NewSet()
	vs := startSync(t, set, newClient(), redissync.Config{})
	testenv.WaitFor(t, "ready", func() bool { st := vs.Status(); return st.Ready && st.Connected })

	// Revoke continuously through the failover; a failed revocation is
	// retried, as the auth service's caller would.
	var (
		mu      sync.Mutex
		done    []string
		stop    atomic.Bool
		wg      sync.WaitGroup
		retries atomic.Int64
	)
	acknowledged := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), done...)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			id := fmt.Sprint("failover-", i)
			for !stop.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err := store.Revoke(ctx, tokenEntry(id))
				cancel()
				if err == nil {
					mu.Lock()
					done = append(done, id)
					mu.Unlock()
					break
				}
				retries.Add(1)
				time.Sleep(20 * time.Millisecond) // retry pacing
			}
		}
	}()
	testenv.WaitFor(t, "revocations acknowledged before the failover", func() bool { return len(acknowledged()) >= 5 })
	old := rs.MasterAddr()
	start := time.Now()
	if got := rs.Failover(); got == old {
		t.Fatalf("master still %s after failover", got)
	}
	t.Logf("failover took %v", time.Since(start))
	stop.Store(true)
	wg.Wait()
	all := acknowledged()

	// Revocations made after the failover, on the new master. Until
	// sentinel re-attaches the old master as its replica (about ten
	// seconds) the new master has none, so these are written without
	// waiting for one: what is checked here is that the running
	// validator, subscribed before the failover, follows it.
	fresh := newStore(t, newClient(), redisstore.Config{})
	var after []string
	testenv.WaitFor(t, "revoking on the new master", func() bool {
		ev, err := fresh.Revoke(context.Background(), tokenEntry(fmt.Sprint("after-failover-", len(after))))
		if err == nil {
			after = append(after, ev.ID)
		}
		return len(after) == 5
	})
	testenv.WaitFor(t, "revocations made after the failover enforced by the running validator", allRevoked(set, after))
	testenv.WaitFor(t, "every acknowledged revocation in the running validator", allRevoked(set, all))
	t.Logf("running validator complete after %v", time.Since(start))
	// And a validator starting now, from the new master, sees them all.
	late := revoke.NewSet()
	lateSync := startSync(t, late, newClient(), redissync.Config{})
	testenv.WaitFor(t, "late validator ready", func() bool { return lateSync.Status().Ready })
	for _, id := range append(all, after...) {
		if !revoked(late, id) {
			t.Errorf("%s acknowledged but lost in the failover", id)
		}
	}
	t.Logf("%d revocations across the failover and %d after it, %d retried", len(all), len(after), retries.Load())
}
