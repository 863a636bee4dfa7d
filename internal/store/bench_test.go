package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/store"
)

// BenchmarkAdvanceRefreshSQLite measures refresh rotations per second on
// the embedded store: each op is one winning compare-and-swap, committed
// (WAL, synchronous NORMAL). "serial" is one caller; "parallel" runs
// GOMAXPROCS callers, each rotating its own session, as concurrent
// refreshes from many clients would.
func BenchmarkAdvanceRefreshSQLite(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	u := mustCreateUser(b, db, "bench@b.c")
	var n atomic.Int64
	newSess := func() string {
		s := newSession(u.ID, t0)
		s.ID = fmt.Sprintf("bench-%d", n.Add(1))
		if err := db.CreateSession(ctx, s); err != nil {
			b.Fatal(err)
		}
		return s.ID
	}
	now := t0.Add(time.Minute)
	exp := now.Add(360 * time.Hour)

	b.Run("serial", func(b *testing.B) {
		id := newSess()
		gen := int64(0)
		for b.Loop() {
			won, err := db.AdvanceRefresh(ctx, id, gen, now, exp)
			if err != nil || !won {
				b.Fatalf("AdvanceRefresh = %v, %v", won, err)
			}
			gen++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
	})
	parallel := func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			id := newSess()
			gen := int64(0)
			for pb.Next() {
				won, err := db.AdvanceRefresh(ctx, id, gen, now, exp)
				if err != nil || !won {
					b.Errorf("AdvanceRefresh = %v, %v", won, err)
					return
				}
				gen++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
	}
	b.Run("parallel", parallel)
	// Many more callers than cores, as under a burst of requests: they
	// queue for the single writing connection rather than spinning in
	// SQLite's busy handler.
	b.Run("parallel x16", func(b *testing.B) {
		b.SetParallelism(16)
		parallel(b)
	})
	// A refresh in the auth service reads the session before swapping it.
	b.Run("read+swap parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			id := newSess()
			for pb.Next() {
				s, err := db.SessionByID(ctx, id)
				if err != nil {
					b.Errorf("SessionByID: %v", err)
					return
				}
				if won, err := db.AdvanceRefresh(ctx, id, s.RefreshGen, now, exp); err != nil || !won {
					b.Errorf("AdvanceRefresh = %v, %v", won, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
	})
}
