package redisstore_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

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
