package session

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/authmesh/authmesh/internal/revoke"
)

// TestWatchRegistry: watches sharing identifiers are all found by a
// revocation naming one, only those, whether the entries come one by one
// or in a batch (a snapshot), and released watches leave nothing behind in
// any order.
func TestWatchRegistry(t *testing.T) {
	for _, order := range []string{"first-to-last", "last-to-first", "middle-first"} {
		t.Run(order, func(t *testing.T) { testWatchRegistry(t, order, false) })
		t.Run(order+"/batch", func(t *testing.T) { testWatchRegistry(t, order, true) })
	}
}

func testWatchRegistry(t *testing.T, order string, batch bool) {
	t.Helper()
	set := revoke.NewSet()
	r := newWatchRegistry(set)
	var ws []*watch
	var ctxs []context.Context
	for i := range 80 { // more than watchShards: shards hold several
		ctx, cancel := context.WithCancelCause(context.Background())
		w := &watch{cancel: cancel, tok: revoke.Token{
			ID: fmt.Sprint("jti-", i), SessionID: fmt.Sprint("sid-", i%2), Subject: "user", IssuedAt: int64(100 + i),
		}}
		r.add(w)
		ws, ctxs = append(ws, w), append(ctxs, ctx)
	}
	entries := []revoke.Entry{
		{Kind: revoke.KindSession, ID: "sid-1", Expires: 1 << 40},
		{Kind: revoke.KindUser, ID: "user", Before: 101, Expires: 1 << 40},
	}
	if batch {
		for i := range batchRecheck {
			entries = append(entries, revoke.Entry{Kind: revoke.KindToken, ID: fmt.Sprint("other-", i), Expires: 1 << 40})
		}
		set.Observe(r.notify)
		set.ApplyAll(entries)
	} else {
		for _, e := range entries {
			r.notify([]revoke.Entry{e})
		}
	}
	for i, ctx := range ctxs {
		want := i%2 == 1 || i == 0 // by sid-1, or issued before 101
		if got := ctx.Err() != nil; got != want {
			t.Errorf("watch %d cancelled: got %v; want %v", i, got, want)
		}
		if want && !errors.Is(context.Cause(ctx), ErrRevoked) {
			t.Errorf("watch %d: cause %v; want ErrRevoked", i, context.Cause(ctx))
		}
	}
	for i := range ws {
		switch order {
		case "first-to-last":
			ws[i].release()
		case "last-to-first":
			ws[len(ws)-1-i].release()
		case "middle-first":
			ws[(i+len(ws)/2)%len(ws)].release()
		}
	}
	for i := range r.shards {
		if n := len(r.shards[i].ws); n != 0 {
			t.Fatalf("shard %d keeps %d watches after every watch was released", i, n)
		}
	}
}

// TestWatchRegistryUnsupported: an entry this version cannot interpret
// ends every watched request, as it makes every new one refused.
func TestWatchRegistryUnsupported(t *testing.T) {
	r := newWatchRegistry(revoke.NewSet())
	ctx, cancel := context.WithCancelCause(context.Background())
	w := &watch{cancel: cancel, tok: revoke.Token{ID: "j", SessionID: "s", Subject: "u"}}
	r.add(w)
	defer w.release()
	r.notify([]revoke.Entry{{Kind: "future-kind", ID: "x", Expires: 1 << 40}})
	if !errors.Is(context.Cause(ctx), ErrUnsupported) {
		t.Fatalf("cause %v; want ErrUnsupported", context.Cause(ctx))
	}
}

// TestWatchRegistryKinds: each kind of entry reaches exactly the watches
// whose token it names, signing-key withdrawals included.
func TestWatchRegistryKinds(t *testing.T) {
	tok := revoke.Token{ID: "jti-1", SessionID: "sid-1", Subject: "user-1", KeyID: "kid-1", IssuedAt: 100}
	tests := []struct {
		entry revoke.Entry
		want  bool
	}{
		{revoke.Entry{Kind: revoke.KindToken, ID: "jti-1", Expires: 1 << 40}, true},
		{revoke.Entry{Kind: revoke.KindToken, ID: "jti-2", Expires: 1 << 40}, false},
		{revoke.Entry{Kind: revoke.KindSession, ID: "sid-1", Expires: 1 << 40}, true},
		{revoke.Entry{Kind: revoke.KindKey, ID: "kid-1", Expires: 1 << 40}, true},
		{revoke.Entry{Kind: revoke.KindKey, ID: "kid-2", Expires: 1 << 40}, false},
		{revoke.Entry{Kind: revoke.KindUser, ID: "user-1", Before: 101, Expires: 1 << 40}, true},
		{revoke.Entry{Kind: revoke.KindUser, ID: "user-1", Before: 100, Expires: 1 << 40}, false},
		{revoke.Entry{Kind: revoke.KindUser, ID: "sid-1", Before: 101, Expires: 1 << 40}, false}, // another kind's id
		{revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: 101, Expires: 1 << 40}, true},
		{revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: 100, Expires: 1 << 40}, false},
	}
	for _, tt := range tests {
		r := newWatchRegistry(revoke.NewSet())
		ctx, cancel := context.WithCancelCause(context.Background())
		w := &watch{cancel: cancel, tok: tok}
		r.add(w)
		r.notify([]revoke.Entry{tt.entry})
		if got := ctx.Err() != nil; got != tt.want {
			t.Errorf("%s %s before %d: cancelled %v; want %v", tt.entry.Kind, tt.entry.ID, tt.entry.Before, got, tt.want)
		}
		w.release()
	}
}
