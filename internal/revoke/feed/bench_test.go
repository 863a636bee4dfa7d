package feed

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/testenv"
)

// BenchmarkFeedPropagation measures one revocation's trip from
// sqljournal.Store.Revoke to being applied to a validator's Set by feedsync.Sync,
// over the feed on loopback HTTP. The journal is in memory, so the figure
// is the feed's own latency (hub wake-up, SSE write, parse, apply); add the
// database's append time for the end-to-end figure.
func BenchmarkFeedPropagation(b *testing.B) {
	benchFeedPropagation(b, &revoketest.MemJournal{})
}

func benchFeedPropagation(b *testing.B, j revoke.Journal) {
	store := newTestJournalStore(b, j, sqljournal.Config{})
	srv := startFeedServer(b, store, Config{}, "")
	applied := make(chan string, 1)
	f, set := startFeedSync(b, srv.feedURL(), feedsync.Config{OnEvent: func(ev revoke.Event) {
		select {
		case applied <- ev.ID:
		default:
		}
	}})
	testenv.WaitFor(b, "ready", func() bool { return f.Status().Ready })
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Unix()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		if _, err := store.Revoke(ctx, revoke.Entry{Kind: revoke.KindToken, ID: id, Expires: exp}); err != nil {
			b.Fatal(err)
		}
		for got := ""; got != id; {
			select {
			case got = <-applied:
			case <-time.After(10 * time.Second):
				b.Fatalf("revocation %s not applied", id)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	if _, ok := set.Check(fmt.Sprintf("bench-%d", b.N-1), "", "", 0); !ok {
		b.Fatal("last revocation missing from the set")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
}
