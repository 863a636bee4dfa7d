package revoke_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
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

// BenchmarkApplyBatch compares applying a batch of 1,000 session
// revocations (a bulk revocation's batch) entry by entry (Apply: one lock
// each, a table swap whenever it fills) with ApplyAll (one lock, each table
// grown at most once), into a set that grows from empty to 100,000 entries
// and starts over. ns/op is per batch; ns/entry per entry.
func BenchmarkApplyBatch(b *testing.B) {
	const batch, limit = 1000, 100_000
	exp := time.Now().Add(time.Hour).Unix()
	batches := make([][]revoke.Entry, limit/batch)
	for i := range batches {
		for j := range batch {
			batches[i] = append(batches[i], revoke.Entry{Kind: revoke.KindSession, ID: jtiOf(i*batch + j), Expires: exp})
		}
	}
	for _, bc := range []struct {
		name  string
		apply func(*revoke.Set, []revoke.Entry)
	}{
		{"Apply", func(s *revoke.Set, es []revoke.Entry) {
			for _, e := range es {
				s.Apply(e)
			}
		}},
		{"ApplyAll", func(s *revoke.Set, es []revoke.Entry) { s.ApplyAll(es) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			set := revoke.NewSet()
			i := 0
			for b.Loop() {
				if i == len(batches) {
					i, set = 0, revoke.NewSet()
				}
				bc.apply(set, batches[i])
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/entry")
		})
	}
}
