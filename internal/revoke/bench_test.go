package revoke_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/testenv"
)

const million = 1_000_000

// jtiOf is a realistic identifier: a 22-character random-looking id.
func jtiOf(i int) string { return fmt.Sprintf("jti-%018d", i*7919) }

// filledSet returns a Set with n token revocations, mixed with some session
// and user entries.
func filledSet(n int) *revoke.Set {
	set := revoke.NewSet()
	exp := time.Now().Add(time.Hour).Unix()
	entries := make([]revoke.Entry, 0, n)
	for i := 0; i < n; i++ {
		e := revoke.Entry{Kind: revoke.KindToken, ID: jtiOf(i), Expires: exp}
		switch i % 10 {
		case 8:
			e.Kind = revoke.KindSession
		case 9:
			e.Kind, e.Before = revoke.KindUser, exp-3600
		}
		entries = append(entries, e)
	}
	set.ApplyAll(entries)
	return set
}

// BenchmarkSetCheck measures one token check (jti, sid and sub looked up)
// against a set of a million entries.
func BenchmarkSetCheck(b *testing.B) {
	set := filledSet(million)
	b.Run("miss", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, ok := set.Check("jti-not-revoked", "sid-not-revoked", "user-not-revoked", 1); ok {
				b.Fatal("revoked")
			}
		}
	})
	b.Run("hit", func(b *testing.B) {
		ids := make([]string, 1024)
		for i := range ids {
			ids[i] = jtiOf(i * 10) // tokens
		}
		for i := 0; b.Loop(); i++ {
			if _, ok := set.Check(ids[i%len(ids)], "", "", 1); !ok {
				b.Fatal("not revoked")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				set.Check("jti-not-revoked", "sid-not-revoked", "user-not-revoked", 1)
			}
		})
	})
}

// BenchmarkSetMemory reports the heap a Set of a million entries holds,
// as bytes/entry (target: at most 100).
func BenchmarkSetMemory(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		set := filledSet(million)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/million, "bytes/entry")
		runtime.KeepAlive(set)
	}
}

// BenchmarkRedisSnapshot1M loads a million revocations from a real Redis
// into a Set (target: at most 2 s per load), three ways:
//
//   - RedisSync: what a validator does on start, a new RedisSync on an
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
		if err := c.HSet(ctx, revoke.DefaultRedisPrefix+"{revocations}:entries", args...).Err(); err != nil {
			b.Fatalf("HSET: %v", err)
		}
	}
	store, err := revoke.NewRedisStore(c, revoke.RedisStoreConfig{Logger: quiet})
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
			rs, err := revoke.NewRedisSync(set, c, revoke.RedisSyncConfig{Logger: quiet, PollInterval: time.Minute})
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
