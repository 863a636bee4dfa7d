package redisstore_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
)

// million is the size of the benchmarked snapshot.
const million = 1_000_000

// jtiOf is a realistic identifier: a 22-character random-looking id.
func jtiOf(i int) string { return fmt.Sprintf("jti-%018d", i*7919) }

// BenchmarkRedisSnapshot1M loads a million revocations from a real Redis
// into a Set (target: at most 2 s per load), three ways:
//
//   - RedisSync: what a validator does on start, a new redissync.Sync on an
//     empty Set until Status().Ready (streamed, pipelined, maps presized),
//     also reporting the heap the loaded Set holds per entry;
//   - SnapshotFunc: the streamed snapshot applied batch by batch;
//   - Snapshot: the whole snapshot as one slice (what the feed serves),
//     then ApplyAll.
func BenchmarkRedisSnapshot1M(b *testing.B) {
	srv := testenv.StartRedis(b, "--appendfsync", "no") // loading 1M entries; durability is not measured here
	c := srv.Client(b)
	ctx := context.Background()
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	const batch = 10_000
	for i := 0; i < million; i += batch {
		args := make([]any, 0, 2*batch)
		for j := i; j < i+batch; j++ {
			args = append(args, "jti:"+jtiOf(j), exp)
		}
		if err := c.HSet(ctx, redissync.DefaultPrefix+"{revocations}:entries", args...).Err(); err != nil {
			b.Fatalf("HSET: %v", err)
		}
	}
	store, err := redisstore.New(c, redisstore.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.EnsureLayout(ctx); err != nil {
		b.Fatal(err)
	}
	wantLen := func(b *testing.B, set *revoke.Set) {
		if n := set.Len(); n != million {
			b.Fatalf("loaded %d entries; want %d", n, million)
		}
	}
	b.Run("RedisSync", func(b *testing.B) {
		var held float64
		for b.Loop() {
			b.StopTimer()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.StartTimer()
			set := revoke.NewSet()
			rs, err := redissync.New(set, c, redissync.Config{Logger: quiet, PollInterval: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- rs.Run(ctx) }()
			for !rs.Status().Ready {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cancel()
			<-done
			wantLen(b, set)
			runtime.GC()
			runtime.ReadMemStats(&after)
			held = float64(after.HeapAlloc-before.HeapAlloc) / million
			runtime.KeepAlive(set)
			b.StartTimer()
		}
		// The Set's maps are presized from HLEN: they must stay as compact
		// as grown ones (BenchmarkSetMemory; target at most 100).
		b.ReportMetric(held, "set-bytes/entry")
	})
	b.Run("SnapshotFunc", func(b *testing.B) {
		for b.Loop() {
			set := revoke.NewSet()
			if _, err := store.SnapshotFunc(ctx, func(batch []revoke.Entry) { set.ApplyAll(batch) }); err != nil {
				b.Fatal(err)
			}
			wantLen(b, set)
		}
	})
	b.Run("Snapshot", func(b *testing.B) {
		for b.Loop() {
			snap, err := store.Snapshot(ctx)
			if err != nil {
				b.Fatal(err)
			}
			set := revoke.NewSet()
			set.ApplyAll(snap.Entries)
			wantLen(b, set)
		}
	})
}

// BenchmarkRevokeManyFanout measures redis-server's own CPU time (INFO
// cpu) per revocation written through the auth service's writer to subs
// pub/sub subscribers, one by one (batch=1: Revoke, one script and one
// message each) or in batches (batch=1000: RevokeMany, one script and one
// message per batch). One op is 1,000 session revocations, until every
// subscriber has received them. From the rows, the write cost per entry
// (subs=0) and the fan-out cost per subscriber per entry give the model of
// docs/PERFORMANCE.md ("Burst of session revocations").
func BenchmarkRevokeManyFanout(b *testing.B) {
	for _, bc := range []struct {
		batch, subs int
		syncs       bool // subscribers are validators' redissync.Syncs: pub/sub, then the log
	}{
		{1, 0, false}, {1, 10, false}, {1000, 0, false}, {1000, 10, false}, {1000, 50, false},
		{1, 10, true}, {1000, 10, true},
	} {
		name := fmt.Sprintf("batch=%d/subs=%d", bc.batch, bc.subs)
		if bc.syncs {
			name = fmt.Sprintf("batch=%d/syncs=%d", bc.batch, bc.subs)
		}
		b.Run(name, func(b *testing.B) {
			srv := testenv.StartRedis(b)
			c := srv.Client(b)
			ctx := context.Background()
			store := newStore(b, c, redisstore.Config{})
			if bc.syncs {
				benchSyncs(b, srv, store, bc.batch, bc.subs)
				return
			}
			received := make([]atomic.Int64, bc.subs)
			for i := range bc.subs {
				ps := c.Subscribe(ctx, revoke.Channel)
				if _, err := ps.Receive(ctx); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { ps.Close() })
				go func() {
					for m := range ps.Channel(redis.WithChannelSize(1 << 12)) {
						received[i].Add(int64(max(strings.Count(m.Payload, `"cursor"`), 1)))
					}
				}()
			}
			const perOp = 1000
			exp := time.Now().Add(time.Hour).Unix()
			cpu0 := redisCPU(b, c)
			n := 0
			for b.Loop() {
				entries := make([]revoke.Entry, perOp)
				for j := range entries {
					entries[j] = revoke.Entry{Kind: revoke.KindSession, ID: "sid-" + strconv.Itoa(n), Expires: exp}
					n++
				}
				if bc.batch == 1 {
					for _, e := range entries {
						if _, err := store.Revoke(ctx, e); err != nil {
							b.Fatal(err)
						}
					}
				} else if _, err := store.RevokeMany(ctx, entries); err != nil {
					b.Fatal(err)
				}
				for i := range received {
					for received[i].Load() < int64(n) {
						time.Sleep(100 * time.Microsecond)
					}
				}
			}
			b.ReportMetric(float64(redisCPU(b, c)-cpu0)/float64(time.Microsecond)/float64(n), "redis-µs/entry")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchSyncs is BenchmarkRevokeManyFanout's op with n validators'
// synchronisers as subscribers, each on its own connection and Set, with
// the default poll: an op ends when every one has read the log up to the
// op's last revocation (its cursor), so their log reads are counted too.
func benchSyncs(b *testing.B, srv *testenv.RedisServer, store *redisstore.Store, batch, n int) {
	ctx := context.Background()
	var syncs []*redissync.Sync
	for range n {
		s, err := redissync.New(revoke.NewSet(), srv.Client(b), redissync.Config{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = s.Run(ctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		syncs = append(syncs, s)
	}
	for _, s := range syncs {
		for !s.Status().Ready {
			time.Sleep(time.Millisecond)
		}
	}
	c := srv.Client(b)
	const perOp = 1000
	exp := time.Now().Add(time.Hour).Unix()
	cpu0 := redisCPU(b, c)
	total := 0
	for b.Loop() {
		entries := make([]revoke.Entry, perOp)
		for j := range entries {
			entries[j] = revoke.Entry{Kind: revoke.KindSession, ID: "sid-" + strconv.Itoa(total), Expires: exp}
			total++
		}
		var last string
		if batch == 1 {
			for _, e := range entries {
				ev, err := store.Revoke(ctx, e)
				if err != nil {
					b.Fatal(err)
				}
				last = ev.Cursor
			}
		} else {
			evs, err := store.RevokeMany(ctx, entries)
			if err != nil {
				b.Fatal(err)
			}
			last = evs[len(evs)-1].Cursor
		}
		for _, s := range syncs {
			for s.Status().Cursor != last {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	b.ReportMetric(float64(redisCPU(b, c)-cpu0)/float64(time.Microsecond)/float64(total), "redis-µs/entry")
	b.ReportMetric(0, "ns/op")
}

// redisCPU is redis-server's CPU time so far (INFO cpu: user + system).
func redisCPU(tb testing.TB, c *redis.Client) time.Duration {
	tb.Helper()
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatalf("INFO cpu %s: %v", k, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
