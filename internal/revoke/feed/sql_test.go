package feed_test

// The journal store and feed on the real databases of internal/store. This
// file is in the external test package because internal/store imports
// revoke.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feed"
	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/testenv"
)

var sqlFeedLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func openSQLJournal(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		tb.Fatalf("store.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func sqliteDSN(tb testing.TB) string { return "sqlite:" + filepath.Join(tb.TempDir(), "auth.db") }

// runSQLFeed serves store's feed on addr ("" for a free port) with Run
// going, until the returned stop is called or the test ends.
func runSQLFeed(tb testing.TB, js *sqljournal.Store, addr string) (url string, stop func()) {
	tb.Helper()
	return serveFeed(tb, js, js.Run, addr)
}

// serveFeed serves src's feed on addr ("" for a free port), with run (the
// source's Run) going, until the returned stop is called or the test ends.
func serveFeed(tb testing.TB, src revoke.Source, run func(context.Context) error, addr string) (url string, stop func()) {
	tb.Helper()
	h, err := feed.NewHandler(src, feed.Config{Heartbeat: 50 * time.Millisecond, Logger: sqlFeedLogger})
	if err != nil {
		tb.Fatal(err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("listen %s: %v", addr, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		srv.Close()
		if err := <-done; !errors.Is(err, context.Canceled) {
			tb.Errorf("Run: got %v; want context.Canceled", err)
		}
	}
	tb.Cleanup(stop)
	return "http://" + ln.Addr().String() + feedwire.Path, stop
}

// followSQLFeed runs a feedsync.Sync on url until the test ends.
func followSQLFeed(tb testing.TB, url string, onEvent func(revoke.Event)) (*feedsync.Sync, *revoke.Set) {
	tb.Helper()
	set := revoke.NewSet()
	f, err := feedsync.New(set, feedsync.Config{URL: url, MaxBackoff: 50 * time.Millisecond, Logger: sqlFeedLogger, OnEvent: onEvent})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return f, set
}

func sqlFeedWait(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

func sqlRevoke(tb testing.TB, r revoke.Revoker, ids ...string) {
	tb.Helper()
	for _, id := range ids {
		e := revoke.Entry{Kind: revoke.KindSession, ID: id, Expires: time.Now().Add(time.Hour).Unix()}
		if _, err := r.Revoke(context.Background(), e); err != nil {
			tb.Fatalf("Revoke %s: %v", id, err)
		}
	}
}

func sqlHolds(set *revoke.Set, ids ...string) func() bool {
	return func() bool {
		for _, id := range ids {
			if _, ok := set.Check("", id, "", 0); !ok {
				return false
			}
		}
		return true
	}
}

// Two auth-service replicas share one database; a validator follows
// replica a's feed. Revocations made on b reach it through a's poll, and
// revocations made while a is down reach it when a comes back.
func TestJournalFeedOnRealDatabases(t *testing.T) {
	backends := []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", sqliteDSN},
		{"postgres", func(tb testing.TB) string { return testenv.Postgres(tb) }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := openSQLJournal(t, be.dsn(t))
			newStore := func() *sqljournal.Store {
				js, err := sqljournal.New(db, sqljournal.Config{PollInterval: 20 * time.Millisecond, Logger: sqlFeedLogger})
				if err != nil {
					t.Fatal(err)
				}
				return js
			}
			a, b := newStore(), newStore()
			sqlRevoke(t, a, "early-1", "early-2")
			url, stopA := runSQLFeed(t, a, "")
			f, set := followSQLFeed(t, url, nil)
			sqlFeedWait(t, "the snapshot", sqlHolds(set, "early-1", "early-2"))

			sqlRevoke(t, a, "on-a")
			sqlRevoke(t, b, "on-b")
			sqlFeedWait(t, "both replicas' revocations", sqlHolds(set, "on-a", "on-b"))

			stopA()
			sqlRevoke(t, b, "while-down-1", "while-down-2")
			runSQLFeed(t, newStore(), url[len("http://"):len(url)-len(feedwire.Path)])
			sqlFeedWait(t, "revocations made while a was down", sqlHolds(set, "while-down-1", "while-down-2"))
			if st := f.Status(); st.Resyncs != 0 || st.EventsApplied != 4 {
				t.Errorf("Status: got %+v; want 4 events and no resync (resumed from the cursor)", st)
			}
		})
	}
}

// BenchmarkFeedPropagationSQLite is BenchmarkFeedPropagation with the
// embedded mode's real journal: Revoke appends to SQLite (one committed
// transaction), then the feed carries it to a validator's Set.
func BenchmarkFeedPropagationSQLite(b *testing.B) {
	db := openSQLJournal(b, sqliteDSN(b))
	js, err := sqljournal.New(db, sqljournal.Config{Logger: sqlFeedLogger})
	if err != nil {
		b.Fatal(err)
	}
	url, _ := runSQLFeed(b, js, "")
	applied := make(chan string, 1)
	f, _ := followSQLFeed(b, url, func(ev revoke.Event) {
		select {
		case applied <- ev.ID:
		default:
		}
	})
	sqlFeedWait(b, "ready", func() bool { return f.Status().Ready })
	revoketest.BenchPropagation(b, func(ctx context.Context, e revoke.Entry) error {
		_, err := js.Revoke(ctx, e)
		return err
	}, applied)
}
