package feed_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/testenv"
)

// sessionEntries returns n session revocations named prefix-i.
func sessionEntries(prefix string, n int) []revoke.Entry {
	exp := time.Now().Add(time.Hour).Unix()
	out := make([]revoke.Entry, n)
	for i := range out {
		out[i] = revoke.Entry{Kind: revoke.KindSession, ID: fmt.Sprintf("%s-%d", prefix, i), Expires: exp}
	}
	return out
}

// holdsExactly reports whether set holds exactly the session entries.
func holdsExactly(set *revoke.Set, entries []revoke.Entry) func() bool {
	return func() bool {
		if set.Len() != len(entries) {
			return false
		}
		for _, e := range entries {
			if _, ok := set.Check("", e.ID, "", 0); !ok {
				return false
			}
		}
		return true
	}
}

// A bulk revocation through the journal reaches, through the feed, a
// validator that follows it and one that starts in the middle of it, each
// ending with exactly the writer's entries; a client that did not ask for
// batches (an older validator) gets every entry as its own event.
func TestRevokeManyReachesFeedValidatorsExactly(t *testing.T) {
	for _, be := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", sqliteDSN},
		{"postgres", func(tb testing.TB) string { return testenv.Postgres(tb) }},
	} {
		t.Run(be.name, func(t *testing.T) {
			db := openSQLJournal(t, be.dsn(t))
			js, err := sqljournal.New(db, sqljournal.Config{Logger: sqlFeedLogger})
			if err != nil {
				t.Fatal(err)
			}
			url, _ := runSQLFeed(t, js, "")
			old := readClient(t, url, false)
			batched := readClient(t, url, true)
			f, early := followSQLFeed(t, url, nil)
			testenv.WaitFor(t, "the first validator ready", func() bool { return f.Status().Ready })

			const calls, perCall = 6, 1500
			var all []revoke.Entry
			var late *revoke.Set
			var lf *feedsync.Sync
			for c := range calls {
				entries := sessionEntries(fmt.Sprintf("c%d", c), perCall)
				evs, err := js.RevokeMany(context.Background(), entries)
				if err != nil {
					t.Fatalf("RevokeMany: %v", err)
				}
				if len(evs) != perCall || evs[perCall-1].ID != entries[perCall-1].ID {
					t.Fatalf("RevokeMany returned %d events; want %d in order", len(evs), perCall)
				}
				all = append(all, entries...)
				if c == calls/2 {
					lf, late = followSQLFeed(t, url, nil)
				}
			}
			testenv.WaitFor(t, "the running validator holds exactly the writer's entries", holdsExactly(early, all))
			testenv.WaitFor(t, "the late validator holds exactly the writer's entries", holdsExactly(late, all))
			if st := f.Status(); st.EventsApplied != uint64(len(all)) {
				t.Errorf("running validator: EventsApplied = %d; want %d", st.EventsApplied, len(all))
			}
			if st := lf.Status(); !st.Ready {
				t.Errorf("late validator not ready: %+v", st)
			}
			got := <-old
			if got.err != nil || got.single != len(all) || got.batches != 0 {
				t.Errorf("a client without %s=1 read %d single events and %d batches (%v); want %d and 0", feedwire.BatchParam, got.single, got.batches, got.err, len(all))
			}
			got = <-batched
			if got.err != nil || got.single+got.inBatches != len(all) || got.batches == 0 || got.batches > calls*2 {
				t.Errorf("a client with %s=1 read %d single events and %d in %d batches (%v); want %d in all, in 1 to %d batches", feedwire.BatchParam, got.single, got.inBatches, got.batches, got.err, len(all), calls*2)
			}
		})
	}
}

type clientResult struct {
	single, batches, inBatches int
	err                        error
}

// readClient reads the feed at url as a raw client, asking for batches or
// not (as a client that predates them), until it has read 9,000 events,
// or 30 s passed.
func readClient(t *testing.T, url string, batches bool) <-chan clientResult {
	t.Helper()
	if batches {
		url += "?" + feedwire.BatchParam + "=1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", feedwire.ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan clientResult, 1)
	go func() {
		var r clientResult
		defer func() { out <- r }()
		dec := feedwire.NewReader(resp.Body, 1<<20)
		for r.single+r.inBatches < 9000 {
			ev, err := dec.Next()
			if err != nil {
				r.err = err
				return
			}
			m, err := feedwire.Decode(ev)
			if err != nil {
				r.err = err
				return
			}
			switch m.Name {
			case feedwire.EventRevocation:
				r.single++
			case feedwire.EventRevocations:
				r.batches++
				r.inBatches += len(m.Events)
			}
		}
	}()
	return out
}
