package store_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

func TestRevocationJournal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		now := time.Unix(1_700_000_000, 0)
		if evs, last, err := db.LiveRevocations(ctx, now); err != nil || len(evs) != 0 || last != 0 {
			t.Fatalf("LiveRevocations on empty = %v, %d, %v; want none, 0", evs, last, err)
		}
		entries := []revoke.Entry{
			{Kind: revoke.KindToken, ID: "jti-1", Expires: now.Unix() + 60, At: now.Unix()},
			{Kind: revoke.KindSession, ID: "sid-1", Expires: now.Unix() - 1, At: now.Unix() - 100}, // already expired
			{Kind: revoke.KindUser, ID: "user-1", Before: now.Unix(), Expires: now.Unix() + 900, At: now.Unix()},
			{Kind: revoke.KindSession, ID: "sid-2", Expires: now.Unix(), At: now.Unix()}, // expires exactly now: not live
		}
		var seqs []int64
		for _, e := range entries {
			seq, err := db.AppendRevocation(ctx, e)
			if err != nil {
				t.Fatalf("AppendRevocation(%+v): %v", e, err)
			}
			if len(seqs) > 0 && seq <= seqs[len(seqs)-1] {
				t.Fatalf("seq %d after %d; want increasing", seq, seqs[len(seqs)-1])
			}
			seqs = append(seqs, seq)
		}

		all, err := db.RevocationsSince(ctx, 0, 0)
		if err != nil {
			t.Fatalf("RevocationsSince: %v", err)
		}
		if len(all) != len(entries) {
			t.Fatalf("RevocationsSince(0) returned %d; want %d", len(all), len(entries))
		}
		for i, ev := range all {
			want := entries[i]
			want.V = revoke.ProtocolVersion
			if ev.Entry != want || ev.Cursor != strconv.FormatInt(seqs[i], 10) {
				t.Errorf("event %d = %+v; want %+v at cursor %d", i, ev, entries[i], seqs[i])
			}
		}
		page, _ := db.RevocationsSince(ctx, seqs[0], 2)
		if len(page) != 2 || page[0].ID != "sid-1" || page[1].ID != "user-1" {
			t.Errorf("RevocationsSince(seq0, 2) = %+v; want sid-1, user-1", page)
		}
		if tail, _ := db.RevocationsSince(ctx, seqs[3], 10); len(tail) != 0 {
			t.Errorf("RevocationsSince(last) = %+v; want none", tail)
		}

		live, last, err := db.LiveRevocations(ctx, now)
		if err != nil {
			t.Fatalf("LiveRevocations: %v", err)
		}
		if last != seqs[3] {
			t.Errorf("snapshot cursor = %d; want %d", last, seqs[3])
		}
		if len(live) != 2 || live[0].ID != "jti-1" || live[1].ID != "user-1" {
			t.Errorf("LiveRevocations = %+v; want jti-1, user-1", live)
		}

		n, err := db.PruneRevocations(ctx, now)
		if err != nil || n != 2 {
			t.Fatalf("PruneRevocations = %d, %v; want 2", n, err)
		}
		if rest, _ := db.RevocationsSince(ctx, 0, 0); len(rest) != 2 {
			t.Errorf("after prune %d entries; want 2", len(rest))
		}
		// Prune everything, then append: the seq keeps growing (never reused).
		if n, _ := db.PruneRevocations(ctx, now.Add(time.Hour)); n != 2 {
			t.Errorf("second prune removed %d; want 2", n)
		}
		seq, err := db.AppendRevocation(ctx, entries[0])
		if err != nil || seq <= seqs[3] {
			t.Errorf("append after prune = %d, %v; want > %d", seq, err, seqs[3])
		}

		if _, err := db.AppendRevocation(ctx, revoke.Entry{Kind: "bogus", ID: "x", Expires: 1}); !errors.Is(err, revoke.ErrInvalidEntry) {
			t.Errorf("AppendRevocation(invalid) = %v; want revoke.ErrInvalidEntry", err)
		}
	})
}

// TestRevocationSnapshotConsistency appends concurrently with readers and
// checks the contract consumers rely on: following a snapshot's cursor with
// RevocationsSince yields every entry exactly once, none skipped.
func TestRevocationSnapshotConsistency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		writer, reader := open(t, dsn), open(t, dsn)
		now := time.Unix(1_700_000_000, 0)
		const writers, each = 4, 25
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					e := revoke.Entry{Kind: revoke.KindToken, ID: strconv.Itoa(w*1000 + i), Expires: now.Unix() + 600}
					if _, err := writer.AppendRevocation(ctx, e); err != nil {
						t.Errorf("AppendRevocation: %v", err)
						return
					}
				}
			})
		}
		seen := map[string]bool{}
		snap, cursor, err := reader.LiveRevocations(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range snap {
			seen[ev.ID] = true
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		follow := func() {
			for {
				evs, err := reader.RevocationsSince(ctx, cursor, 7)
				if err != nil {
					t.Fatalf("RevocationsSince: %v", err)
				}
				if len(evs) == 0 {
					return
				}
				for _, ev := range evs {
					if seen[ev.ID] {
						t.Fatalf("entry %s delivered twice", ev.ID)
					}
					seen[ev.ID] = true
					cursor, _ = strconv.ParseInt(ev.Cursor, 10, 64)
				}
			}
		}
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
			}
			follow()
		}
		follow()
		if len(seen) != writers*each {
			t.Errorf("saw %d entries; want %d", len(seen), writers*each)
		}
	})
}
