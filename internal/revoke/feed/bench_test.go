package feed

import (
	"context"
	"testing"

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
	last := revoketest.BenchPropagation(b, func(ctx context.Context, e revoke.Entry) error {
		_, err := store.Revoke(ctx, e)
		return err
	}, applied)
	if _, ok := set.Check(last, "", "", 0); !ok {
		b.Fatal("last revocation missing from the set")
	}
}
