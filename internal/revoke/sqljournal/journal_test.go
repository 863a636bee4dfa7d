package sqljournal

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/testenv"
)

func newTestJournalStore(t testing.TB, j revoke.Journal, cfg Config) *Store {
	t.Helper()
	s, err := New(j, cfg)
	if err != nil {
		t.Fatalf("NewJournalStore: %v", err)
	}
	return s
}

// runJournalStore runs s.Run until the test ends.
func runJournalStore(t testing.TB, s *Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("JournalStore.Run returned %v; want context.Canceled", err)
		}
	})
}

func cursors(evs []revoke.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Cursor
	}
	return out
}

func TestJournalStoreRevokeSnapshotSince(t *testing.T) {
	ctx := context.Background()
	j := &revoketest.MemJournal{}
	s := newTestJournalStore(t, j, Config{})
	for i := 1; i <= 3; i++ {
		ev, err := s.Revoke(ctx, revoketest.TokenEntry(i))
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if want := fmt.Sprint(i); ev.Cursor != want {
			t.Errorf("Revoke cursor: got %q; want %q", ev.Cursor, want)
		}
		if ev.At == 0 {
			t.Errorf("Revoke: At not stamped")
		}
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if snap.Cursor != "3" || len(snap.Entries) != 3 {
		t.Errorf("Snapshot: got cursor %q with %d entries; want \"3\" with 3", snap.Cursor, len(snap.Entries))
	}
	tests := []struct {
		cursor string
		limit  int
		want   string
	}{
		{"0", 10, "[1 2 3]"},
		{"1", 10, "[2 3]"},
		{"3", 10, "[]"},
		{"0", 2, "[1 2]"},
		{"0", 0, "[1 2 3]"}, // default limit
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("since %s limit %d", tc.cursor, tc.limit), func(t *testing.T) {
			evs, err := s.Since(ctx, tc.cursor, tc.limit)
			if err != nil {
				t.Fatalf("Since: %v", err)
			}
			if got := fmt.Sprint(cursors(evs)); got != tc.want {
				t.Errorf("Since: got %s; want %s", got, tc.want)
			}
		})
	}
}

func TestJournalStoreSinceRejectsBadCursors(t *testing.T) {
	ctx := context.Background()
	s := newTestJournalStore(t, &revoketest.MemJournal{}, Config{})
	if _, err := s.Revoke(ctx, revoketest.TokenEntry(1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"", "abc", "-1", "+1", "01", "1.0", " 1", "1-0", "99999999999999999999", "2"} {
		t.Run(fmt.Sprintf("%q", c), func(t *testing.T) {
			_, err := s.Since(ctx, c, 10)
			if !errors.Is(err, revoke.ErrCursorExpired) {
				t.Errorf("Since(%q): got %v; want ErrCursorExpired", c, err)
			}
		})
	}
}

func TestJournalStoreRevokeRejectsInvalidEntry(t *testing.T) {
	j := &revoketest.MemJournal{}
	s := newTestJournalStore(t, j, Config{})
	_, err := s.Revoke(context.Background(), revoke.Entry{Kind: "bogus", ID: "x", Expires: 1})
	if !errors.Is(err, revoke.ErrInvalidEntry) {
		t.Errorf("Revoke: got %v; want ErrInvalidEntry", err)
	}
	if n := j.Len(); n != 0 {
		t.Errorf("journal holds %d entries; want 0", n)
	}
}

func TestJournalStoreReportsJournalFailure(t *testing.T) {
	ctx := context.Background()
	j := &revoketest.MemJournal{}
	s := newTestJournalStore(t, j, Config{})
	boom := errors.New("disk on fire")
	j.SetFail(boom)
	if _, err := s.Revoke(ctx, revoketest.TokenEntry(1)); !errors.Is(err, boom) {
		t.Errorf("Revoke: got %v; want %v", err, boom)
	}
	if _, err := s.Snapshot(ctx); !errors.Is(err, boom) {
		t.Errorf("Snapshot: got %v; want %v", err, boom)
	}
	if _, err := s.Since(ctx, "0", 1); !errors.Is(err, boom) {
		t.Errorf("Since: got %v; want %v", err, boom)
	}
}

func TestJournalStoreRevokeWakesSubscribersAtOnce(t *testing.T) {
	s := newTestJournalStore(t, &revoketest.MemJournal{}, Config{PollInterval: time.Hour})
	wake, cancel := s.Subscribe()
	defer cancel()
	if _, err := s.Revoke(context.Background(), revoketest.TokenEntry(1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	default:
		t.Fatal("no signal pending right after Revoke returned")
	}
}

// Two replicas share one journal: what one appends, the other's
// subscribers hear about through its poll.
func TestJournalStoreRunAnnouncesOtherReplicasAppends(t *testing.T) {
	ctx := context.Background()
	j := &revoketest.MemJournal{}
	a := newTestJournalStore(t, j, Config{PollInterval: 5 * time.Millisecond})
	b := newTestJournalStore(t, j, Config{})
	if _, err := b.Revoke(ctx, revoketest.TokenEntry(1)); err != nil { // before a starts
		t.Fatal(err)
	}
	runJournalStore(t, a)
	wake, cancel := a.Subscribe()
	defer cancel()
	if _, err := b.Revoke(ctx, revoketest.TokenEntry(2)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("replica a never announced replica b's append")
	}
	evs, err := a.Since(ctx, "1", 10)
	if err != nil || fmt.Sprint(cursors(evs)) != "[2]" {
		t.Errorf("a.Since(1): got %v, %v; want [2]", cursors(evs), err)
	}
}

// A client may resume on replica a with a cursor replica b handed out
// before a's poll saw it: that is not an expired cursor.
func TestJournalStoreSinceAcceptsCursorFromOtherReplica(t *testing.T) {
	ctx := context.Background()
	j := &revoketest.MemJournal{}
	a := newTestJournalStore(t, j, Config{})
	b := newTestJournalStore(t, j, Config{})
	var last revoke.Event
	for i := 1; i <= 3; i++ {
		var err error
		if last, err = b.Revoke(ctx, revoketest.TokenEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := a.Since(ctx, last.Cursor, 10)
	if err != nil || len(evs) != 0 {
		t.Errorf("a.Since(%s): got %v, %v; want no events, no error", last.Cursor, cursors(evs), err)
	}
}

func TestJournalStoreRunPrunes(t *testing.T) {
	ctx := context.Background()
	var now atomic.Int64
	now.Store(time.Now().Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	j := &revoketest.MemJournal{}
	s := newTestJournalStore(t, j, Config{PruneInterval: 5 * time.Millisecond, Clock: clock})
	short := revoke.Entry{Kind: revoke.KindSession, ID: "s", Expires: now.Load() + 10}
	long := revoke.Entry{Kind: revoke.KindUser, ID: "u", Before: now.Load(), Expires: now.Load() + 1000}
	for _, e := range []revoke.Entry{short, long} {
		if _, err := s.Revoke(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	runJournalStore(t, s)
	now.Add(100)
	testenv.WaitFor(t, "the expired entry to be pruned", func() bool { return j.Len() == 1 })
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Entries) != 1 || snap.Entries[0].ID != "u" {
		t.Errorf("Snapshot after prune: got %+v; want only the user entry", snap.Entries)
	}
}

func TestNewJournalStoreValidates(t *testing.T) {
	tests := []struct {
		name string
		j    revoke.Journal
		cfg  Config
	}{
		{"nil journal", nil, Config{}},
		{"negative poll", &revoketest.MemJournal{}, Config{PollInterval: -1}},
		{"negative prune", &revoketest.MemJournal{}, Config{PruneInterval: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.j, tc.cfg); err == nil {
				t.Error("NewJournalStore: got nil error; want one")
			}
		})
	}
}
