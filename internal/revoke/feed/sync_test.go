package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/testenv"
)

// startFeedSync runs a feedsync.Sync into a fresh Set until the test ends.
func startFeedSync(t testing.TB, url string, cfg feedsync.Config) (*feedsync.Sync, *revoke.Set) {
	t.Helper()
	set := revoke.NewSet()
	cfg.URL = url
	if cfg.Logger == nil {
		cfg.Logger = feedTestLogger
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 50 * time.Millisecond
	}
	f, err := feedsync.New(set, cfg)
	if err != nil {
		t.Fatalf("NewFeedSync: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("FeedSync.Run returned %v; want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("FeedSync.Run did not return after cancel")
		}
	})
	return f, set
}

// holdsAll reports whether set holds the revocation of every event.
func holdsAll(set *revoke.Set, evs []revoke.Event) func() bool {
	return func() bool {
		for _, ev := range evs {
			if _, ok := set.Check(ev.ID, "", "", 0); !ok {
				return false
			}
		}
		return true
	}
}

func TestFeedSyncLoadsSnapshotThenLiveEvents(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	before := revokeN(t, store, 1, 3)
	srv := startFeedServer(t, store, Config{Heartbeat: time.Hour}, "")
	var seen atomic.Int64
	f, set := startFeedSync(t, srv.feedURL(), feedsync.Config{OnEvent: func(revoke.Event) { seen.Add(1) }})
	testenv.WaitFor(t, "ready", func() bool { return f.Status().Ready })
	if !holdsAll(set, before)() {
		t.Fatal("snapshot entries missing from the set")
	}
	after := revokeN(t, store, 4, 2)
	testenv.WaitFor(t, "live events applied", holdsAll(set, after))
	st := f.Status()
	if !st.Connected || st.Cursor != "5" || st.EventsApplied != 2 || st.Resyncs != 0 || st.LastSync.IsZero() {
		t.Errorf("Status: got %+v; want connected, cursor 5, 2 events, 0 resyncs, LastSync set", st)
	}
	if got := seen.Load(); got != 2 {
		t.Errorf("OnEvent calls: got %d; want 2", got)
	}
	if _, ok := set.Check("jti-unrelated", "", "", 0); ok {
		t.Error("unrelated token reported revoked")
	}
}

// TestFeedSyncSendsItsToken: a sync with the feed's token loads it; one
// without it is not ready and says why in Status.Problem.
func TestFeedSyncSendsItsToken(t *testing.T) {
	const token = "feed-token-of-thirty-two-bytes-0123"
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	evs := revokeN(t, store, 1, 2)
	srv := startFeedServer(t, store, Config{Heartbeat: time.Hour, Token: token}, "")

	f, set := startFeedSync(t, srv.feedURL(), feedsync.Config{Token: token})
	testenv.WaitFor(t, "ready with the token", func() bool { return f.Status().Ready })
	if !holdsAll(set, evs)() {
		t.Fatal("snapshot entries missing from the set")
	}
	g, _ := startFeedSync(t, srv.feedURL(), feedsync.Config{})
	testenv.WaitFor(t, "a problem naming the feed token", func() bool { return strings.Contains(g.Status().Problem, "FEED_TOKEN") })
	if g.Status().Ready {
		t.Fatal("a sync without the token is ready")
	}
}

// The auth service restarts (new process, same database); revocations made
// while it was down reach the validator when it comes back, by resuming
// from the validator's cursor rather than by a snapshot.
func TestFeedSyncCatchesUpAcrossServerRestart(t *testing.T) {
	j := &revoketest.MemJournal{}
	store1 := newTestJournalStore(t, j, sqljournal.Config{})
	first := revokeN(t, store1, 1, 2)
	srv1 := startFeedServer(t, store1, Config{Heartbeat: time.Hour}, "")
	addr := srv1.Listener.Addr().String()
	f, set := startFeedSync(t, srv1.feedURL(), feedsync.Config{})
	testenv.WaitFor(t, "first snapshot", holdsAll(set, first))

	srv1.Close()
	testenv.WaitFor(t, "disconnect noticed", func() bool { return !f.Status().Connected })
	store2 := newTestJournalStore(t, j, sqljournal.Config{})
	missed := revokeN(t, store2, 3, 3)
	startFeedServer(t, store2, Config{Heartbeat: time.Hour}, addr)

	testenv.WaitFor(t, "missed revocations applied", holdsAll(set, missed))
	live := revokeN(t, store2, 6, 1)
	testenv.WaitFor(t, "live revocation after restart", holdsAll(set, live))
	st := f.Status()
	if st.Resyncs != 0 || st.EventsApplied != 4 || st.Cursor != "6" {
		t.Errorf("Status: got %+v; want resumed (0 resyncs), 4 events, cursor 6", st)
	}
}

// The database was replaced: the validator's cursor lies beyond the new
// journal's end, so it must take a fresh snapshot.
func TestFeedSyncResyncsWhenJournalWasReplaced(t *testing.T) {
	store1 := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	revokeN(t, store1, 1, 5)
	srv1 := startFeedServer(t, store1, Config{Heartbeat: time.Hour}, "")
	addr := srv1.Listener.Addr().String()
	f, set := startFeedSync(t, srv1.feedURL(), feedsync.Config{})
	testenv.WaitFor(t, "ready", func() bool { return f.Status().Ready })
	srv1.Close()

	store2 := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	fresh := revokeN(t, store2, 100, 2)
	startFeedServer(t, store2, Config{Heartbeat: time.Hour}, addr)
	testenv.WaitFor(t, "fresh journal's entries", holdsAll(set, fresh))
	if st := f.Status(); st.Resyncs != 1 || st.Cursor != "2" {
		t.Errorf("Status: got %+v; want 1 resync, cursor 2", st)
	}
}

// A snapshot far beyond bufio's default line limits arrives whole.
func TestFeedSyncLoadsLargeSnapshot(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	all := revokeN(t, store, 1, 20_000) // one data line of about 1.4 MB
	srv := startFeedServer(t, store, Config{}, "")
	f, set := startFeedSync(t, srv.feedURL(), feedsync.Config{})
	testenv.WaitFor(t, "ready", func() bool { return f.Status().Ready })
	if got := set.Len(); got != len(all) {
		t.Errorf("set holds %d entries; want %d", got, len(all))
	}
}

func TestFeedSyncStartedLateSeesEverything(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{}, "")
	all := revokeN(t, store, 1, 50)
	f, set := startFeedSync(t, srv.feedURL(), feedsync.Config{})
	testenv.WaitFor(t, "everything", holdsAll(set, all))
	if st := f.Status(); !st.Ready || st.Cursor != "50" || st.EventsApplied != 0 {
		t.Errorf("Status: got %+v; want ready from the snapshot at cursor 50", st)
	}
}

func TestFeedSyncHeartbeatsAdvanceLastSync(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{Heartbeat: 10 * time.Millisecond}, "")
	var tick atomic.Int64
	clock := func() time.Time { return time.Unix(1_700_000_000+tick.Add(1), 0) }
	f, _ := startFeedSync(t, srv.feedURL(), feedsync.Config{Clock: clock})
	testenv.WaitFor(t, "ready", func() bool { return f.Status().Ready })
	first := f.Status().LastSync
	testenv.WaitFor(t, "LastSync to advance", func() bool { return f.Status().LastSync.After(first.Add(2 * time.Second)) })
}

func TestFeedSyncManyClients(t *testing.T) {
	const clients = 40
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	srv := startFeedServer(t, store, Config{}, "")
	early := revokeN(t, store, 1, 10)
	sets := make([]*revoke.Set, clients)
	for i := range sets {
		_, sets[i] = startFeedSync(t, srv.feedURL(), feedsync.Config{})
	}
	var wg sync.WaitGroup
	var late []revoke.Event
	var mu sync.Mutex
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := revokeN(t, store, 100+10*w, 10)
			mu.Lock()
			late = append(late, evs...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i, set := range sets {
		testenv.WaitFor(t, fmt.Sprintf("client %d to hold everything", i), holdsAll(set, append(early, late...)))
	}
}

// hostileFeed is a server breaking the protocol in one way.
type hostileFeed struct {
	name   string
	serve  func(w http.ResponseWriter, r *http.Request)
	config feedsync.Config
}

func sseHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", feedwire.ContentType)
	w.WriteHeader(http.StatusOK)
}

func TestFeedSyncSurvivesHostileServers(t *testing.T) {
	goodSnapshot := "event: snapshot\nid: 1\ndata: {\"cursor\":\"1\",\"entries\":[{\"kind\":\"jti\",\"id\":\"a\",\"exp\":9999999999}]}\n\n"
	feeds := []hostileFeed{
		{name: "garbage lines", serve: func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, "\x00\xff:::\n\n\r\ndata\nevent\nid: \x00\nretry: x\n\n\n")
		}},
		{name: "huge line", config: feedsync.Config{MaxEventBytes: 64 << 10}, serve: func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, "event: snapshot\ndata: ")
			chunk := strings.Repeat("a", 32<<10)
			for i := 0; i < 64 && r.Context().Err() == nil; i++ { // 2 MiB without a newline
				io.WriteString(w, chunk)
			}
		}},
		{name: "many data lines", config: feedsync.Config{MaxEventBytes: 64 << 10}, serve: func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, "event: snapshot\n"+strings.Repeat("data: x\n", 100_000))
		}},
		{name: "bad json", serve: func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, "event: snapshot\nid: 1\ndata: {\"cursor\":\n\n")
		}},
		{name: "revocation without cursor", serve: func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			io.WriteString(w, goodSnapshot+"event: revocation\ndata: {\"kind\":\"jti\",\"id\":\"b\",\"exp\":9999999999}\n\n")
		}},
		{name: "status 500", serve: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, strings.Repeat("x", 1<<20), http.StatusInternalServerError)
		}},
		{name: "silent after headers", config: feedsync.Config{IdleTimeout: 100 * time.Millisecond}, serve: func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
		{name: "no headers at all", config: feedsync.Config{IdleTimeout: 100 * time.Millisecond}, serve: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
	}
	for _, hf := range feeds {
		t.Run(hf.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				hf.serve(w, r)
			}))
			defer srv.Close()
			defer srv.CloseClientConnections()
			f, set := startFeedSync(t, srv.URL, hf.config)
			testenv.WaitFor(t, "three connection attempts", func() bool { return hits.Load() >= 3 })
			if _, ok := set.Check("b", "", "", 0); ok {
				t.Error("an event without a cursor was applied")
			}
			if hf.name != "revocation without cursor" && f.Status().Ready {
				t.Errorf("Status: got ready from a hostile server")
			}
		})
	}
}

func TestNewFeedSyncValidates(t *testing.T) {
	tests := []struct {
		name string
		set  *revoke.Set
		cfg  feedsync.Config
	}{
		{"nil set", nil, feedsync.Config{URL: "http://x/v1/revocations"}},
		{"no url", revoke.NewSet(), feedsync.Config{}},
		{"bad scheme", revoke.NewSet(), feedsync.Config{URL: "ftp://x/"}},
		{"no host", revoke.NewSet(), feedsync.Config{URL: "http:///x"}},
		{"client timeout", revoke.NewSet(), feedsync.Config{URL: "http://x/", HTTPClient: &http.Client{Timeout: time.Second}}},
		{"negative", revoke.NewSet(), feedsync.Config{URL: "http://x/", MaxBackoff: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := feedsync.New(tc.set, tc.cfg); err == nil {
				t.Error("NewFeedSync: got nil error; want one")
			}
		})
	}
}
