package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

func TestAppendRevocationsInOneTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		now := time.Now()
		if _, err := db.AppendRevocation(ctx, revoke.Entry{Kind: revoke.KindToken, ID: "before", Expires: now.Unix() + 60}); err != nil {
			t.Fatal(err)
		}
		// More rows than one INSERT statement takes, and every kind.
		var entries []revoke.Entry
		for i := range 1201 {
			e := revoke.Entry{Kind: revoke.KindSession, ID: fmt.Sprintf("sid-%d", i), Expires: now.Unix() + 60, At: now.Unix(), V: revoke.ProtocolVersion}
			if i%3 == 1 {
				e.Kind, e.Before = revoke.KindUser, now.Unix()
			}
			entries = append(entries, e)
		}
		seqs, err := db.AppendRevocations(ctx, entries)
		if err != nil {
			t.Fatalf("AppendRevocations: %v", err)
		}
		if len(seqs) != len(entries) {
			t.Fatalf("got %d seqs; want %d", len(seqs), len(entries))
		}
		got, err := db.RevocationsSince(ctx, 1, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(entries) {
			t.Fatalf("RevocationsSince returned %d; want %d", len(got), len(entries))
		}
		for i, ev := range got {
			if ev.Entry != entries[i] || ev.Cursor != strconv.FormatInt(seqs[i], 10) {
				t.Fatalf("event %d = %+v; want %+v at seq %d", i, ev, entries[i], seqs[i])
			}
		}

		// One invalid entry: none is appended.
		bad := []revoke.Entry{{Kind: revoke.KindToken, ID: "ok", Expires: now.Unix() + 60}, {Kind: "bogus", ID: "x", Expires: 1}}
		if _, err := db.AppendRevocations(ctx, bad); !errors.Is(err, revoke.ErrInvalidEntry) {
			t.Errorf("AppendRevocations(invalid) = %v; want revoke.ErrInvalidEntry", err)
		}
		if tail, _ := db.RevocationsSince(ctx, seqs[len(seqs)-1], 10); len(tail) != 0 {
			t.Errorf("after a refused batch the journal holds %+v; want nothing new", tail)
		}
	})
}
