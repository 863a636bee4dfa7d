package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
)

// bulkEntries returns n session revocations named prefix-i (and, every
// tenth, a user cut-off), live for an hour.
func bulkEntries(prefix string, n int) []revoke.Entry {
	exp := future()
	out := make([]revoke.Entry, n)
	for i := range out {
		out[i] = revoke.Entry{Kind: revoke.KindSession, ID: fmt.Sprintf("%s-%d", prefix, i), Expires: exp}
		if i%10 == 9 {
			out[i] = revoke.Entry{Kind: revoke.KindUser, ID: fmt.Sprintf("%s-user-%d", prefix, i), Before: 2000, Expires: exp}
		}
	}
	return out
}

// holdsExactly reports whether set holds exactly the entries: each one
// revokes what it names, and the set holds no other entry.
func holdsExactly(set *revoke.Set, entries []revoke.Entry) func() bool {
	return func() bool {
		if set.Len() != len(entries) {
			return false
		}
		for _, e := range entries {
			var kind revoke.Kind
			var ok bool
			switch e.Kind {
			case revoke.KindSession:
				kind, ok = set.Check("", e.ID, "", 0)
			case revoke.KindUser:
				kind, ok = set.Check("", "", e.ID, e.Before-1)
			}
			if !ok || kind != e.Kind {
				return false
			}
		}
		return true
	}
}

// A bulk revocation, written in batches while one validator follows and
// another starts in the middle of it, ends with both validators holding
// exactly the writer's entries, and the journal too. With a short log the
// late validator's cursor expires under it, and it converges through a
// fresh snapshot instead.
func TestRevokeManyReachesEveryValidatorExactly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dsn    func(testing.TB) string
		logMax int64
	}{
		{"sqlite", sqliteDSN, 0},
		{"postgres", func(tb testing.TB) string { return testenv.Postgres(tb) }, 0},
		{"sqlite/short log", sqliteDSN, 1500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartRedis(t)
			db := openSQLJournal(t, tc.dsn(t))
			store := newStore(t, srv.Client(t), redisstore.Config{Journal: db, LogMaxLen: tc.logMax})
			raw := subscribeRaw(t, srv.Client(t), revoke.Channel)
			// A long poll: the running validator gets the batches by pub/sub.
			early := revoke.NewSet()
			es := startSync(t, early, srv.Client(t), redissync.Config{PollInterval: time.Hour})
			testenv.WaitFor(t, "the first validator ready", func() bool { st := es.Status(); return st.Ready && st.Connected })

			const calls, perCall = 8, 1500 // 16 batches of at most revoke.MaxBatch
			ctx := context.Background()
			var all []revoke.Entry
			var lastCursor string
			late := revoke.NewSet()
			var ls *redissync.Sync
			for c := range calls {
				entries := bulkEntries(fmt.Sprintf("c%d", c), perCall)
				evs, err := store.RevokeMany(ctx, entries)
				if err != nil {
					t.Fatalf("RevokeMany: %v", err)
				}
				if len(evs) != len(entries) || evs[0].ID != entries[0].ID || evs[len(evs)-1].Cursor == "" {
					t.Fatalf("RevokeMany returned %d events; want %d in order, with cursors", len(evs), len(entries))
				}
				all = append(all, entries...)
				lastCursor = evs[len(evs)-1].Cursor
				if c == calls/2 {
					ls = startSync(t, late, srv.Client(t), redissync.Config{PollInterval: 50 * time.Millisecond})
				}
			}
			testenv.WaitFor(t, "the running validator holds exactly the writer's entries", holdsExactly(early, all))
			// It never polls the log (PollInterval: an hour): each batch
			// message, following the previous one in the log, moved its
			// cursor, so its next poll reads nothing it already has.
			testenv.WaitFor(t, "the running validator's cursor at the last revocation, from pub/sub alone", func() bool { return es.Status().Cursor == lastCursor })
			testenv.WaitFor(t, "the late validator holds exactly the writer's entries", holdsExactly(late, all))
			testenv.WaitFor(t, "the late validator ready", func() bool { return ls.Status().Ready })
			if st := es.Status(); st.EventsApplied != uint64(len(all)) {
				t.Errorf("running validator: EventsApplied = %d; want %d", st.EventsApplied, len(all))
			}

			live, _, err := db.LiveRevocations(ctx, time.Now())
			if err != nil || len(live) != len(all) {
				t.Fatalf("journal holds %d live entries (%v); want %d", len(live), err, len(all))
			}
			// One message per batch, each read by an older validator as the
			// announcement of the epoch in force (it then reads the log).
			msgs := raw.batches()
			if want := calls * 2; len(msgs) != want {
				t.Errorf("%d batch messages published; want %d", len(msgs), want)
			}
			layout, err := store.Layout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs[:1] {
				var old struct {
					revoke.Event
					Layout string `json:"layout"`
				}
				if err := json.Unmarshal([]byte(m), &old); err != nil || old.Kind != "" || old.Layout != layout.Epoch {
					t.Errorf("batch message %.80s… reads to an older validator as kind %q, layout %q (%v); want a layout announcement of %q", m, old.Kind, old.Layout, err, layout.Epoch)
				}
			}
		})
	}
}

// RevokeMany validates every entry before it writes any.
func TestRevokeManyRefusesAnInvalidBatch(t *testing.T) {
	srv := testenv.StartRedis(t)
	db := openSQLJournal(t, sqliteDSN(t))
	store := newStore(t, srv.Client(t), redisstore.Config{Journal: db})
	entries := bulkEntries("x", 5)
	entries[3].Expires = 0
	if _, err := store.RevokeMany(context.Background(), entries); !errors.Is(err, revoke.ErrInvalidEntry) || !strings.Contains(err.Error(), "entry 3") {
		t.Fatalf("RevokeMany = %v; want ErrInvalidEntry naming entry 3", err)
	}
	if live, _, _ := db.LiveRevocations(context.Background(), time.Now()); len(live) != 0 {
		t.Errorf("journal holds %d entries; want none", len(live))
	}
	snap, err := store.Snapshot(context.Background())
	if err != nil || len(snap.Entries) != 0 {
		t.Errorf("Redis holds %d entries (%v); want none", len(snap.Entries), err)
	}
}

// A batch message moves a validator's cursor only when it follows the
// cursor in the same log: one that does not (a message was missed), or
// names another epoch, leaves it for the log to advance.
func TestBatchMessageMovesTheCursorOnlyFromItsPredecessor(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	store := newStore(t, c, redisstore.Config{})
	set := revoke.NewSet()
	rs := startSync(t, set, srv.Client(t), redissync.Config{PollInterval: time.Hour})
	testenv.WaitFor(t, "ready and connected", func() bool { st := rs.Status(); return st.Ready && st.Connected })
	ctx := context.Background()
	evs, err := store.RevokeMany(ctx, bulkEntries("a", 3))
	if err != nil {
		t.Fatal(err)
	}
	at := evs[len(evs)-1].Cursor
	testenv.WaitFor(t, "the cursor at the first batch", func() bool { return rs.Status().Cursor == at })
	layout, err := store.Layout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp := future()
	for i, tc := range []struct{ name, layout, prev string }{
		{"not its predecessor", layout.Epoch, "1-1"},
		{"another epoch", "another", at},
		{"no predecessor", layout.Epoch, ""},
	} {
		id := fmt.Sprintf("forged-%d", i)
		msg := fmt.Sprintf(`{"v":1,"layout":%q,"prev":%q,"events":[{"v":1,"kind":"sid","id":%q,"exp":%d,"cursor":"99999999999999-%d"}]}`, tc.layout, tc.prev, id, exp, i)
		if err := c.Publish(ctx, revoke.Channel, msg).Err(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, tc.name+": the entry applied", func() bool { _, ok := set.Check("", id, "", 0); return ok })
		if got := rs.Status().Cursor; got != at {
			t.Errorf("%s: cursor moved to %s; want it left at %s", tc.name, got, at)
		}
	}
	// The next real batch follows the cursor again.
	evs, err = store.RevokeMany(ctx, bulkEntries("b", 2))
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the cursor at the second batch", func() bool { return rs.Status().Cursor == evs[len(evs)-1].Cursor })
	at = evs[len(evs)-1].Cursor
	// A batch holding the cursor among its events (the log reader got
	// there first) moves it to the batch's end.
	id := "within"
	msg := fmt.Sprintf(`{"v":1,"layout":%q,"prev":"1-0","events":[{"v":1,"kind":"sid","id":"x","exp":%d,"cursor":"1-1"},{"v":1,"kind":"sid","id":%q,"exp":%d,"cursor":%q},{"v":1,"kind":"sid","id":"y","exp":%d,"cursor":"99999999999999-9"}]}`,
		layout.Epoch, exp, id, exp, at, exp)
	if err := c.Publish(ctx, revoke.Channel, msg).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the cursor at the end of a batch holding it", func() bool { return rs.Status().Cursor == "99999999999999-9" })
}
