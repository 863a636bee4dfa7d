package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
		ctx, w := newWatch(context.Background(), revoke.Token{
			ID: fmt.Sprint("jti-", i), SessionID: fmt.Sprint("sid-", i%2), Subject: "user", IssuedAt: int64(100 + i),
		})
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
	ctx, w := newWatch(context.Background(), revoke.Token{ID: "j", SessionID: "s", Subject: "u"})
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
		ctx, w := newWatch(context.Background(), tok)
		r.add(w)
		r.notify([]revoke.Entry{tt.entry})
		if got := ctx.Err() != nil; got != tt.want {
			t.Errorf("%s %s before %d: cancelled %v; want %v", tt.entry.Kind, tt.entry.ID, tt.entry.Before, got, tt.want)
		}
		w.release()
	}
}

// newWatch is a watched context over parent for tok, as watchRequest
// makes one, and its watch, not yet registered.
func newWatch(parent context.Context, tok revoke.Token) (context.Context, *watch) {
	wc := &watchedContext{claimsContext: claimsContext{Context: parent}}
	wc.w = watch{ctx: wc, tok: tok}
	return wc, &wc.w
}

// TestWatchedContext holds the watched request's context to the
// context package's contract, whichever comes first of the handler asking
// for Done, a revocation, the parent's cancellation and the end of the
// request: Done closes exactly when Err turns non-nil, Cause reports the
// revocation or the parent's cause, values reach the parent, and contexts
// derived from it (and AfterFunc) follow it.
func TestWatchedContext(t *testing.T) {
	type key struct{}
	revoked := fmt.Errorf("%w (by session)", ErrRevoked)
	parentCause := errors.New("client went away")
	tests := []struct {
		name      string
		doneFirst bool // the handler asks for Done before anything happens
		event     string
		wantErr   error
		wantCause error
	}{
		{"revoked", false, "revoke", context.Canceled, ErrRevoked},
		{"revoked while waiting", true, "revoke", context.Canceled, ErrRevoked},
		{"parent cancelled", false, "parent", context.Canceled, parentCause},
		{"parent cancelled while waiting", true, "parent", context.Canceled, parentCause},
		{"released", false, "release", context.Canceled, context.Canceled},
		{"released while waiting", true, "release", context.Canceled, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
			defer cancelParent(nil)
			ctx, w := newWatch(parent, revoke.Token{ID: "j"})
			if ctx.Err() != nil || context.Cause(ctx) != nil {
				t.Fatalf("fresh context: Err %v, Cause %v", ctx.Err(), context.Cause(ctx))
			}
			var done <-chan struct{}
			if tt.doneFirst {
				done = ctx.Done()
			}
			child, cancelChild := context.WithCancel(ctx)
			defer cancelChild()
			ran := make(chan struct{})
			context.AfterFunc(ctx, func() { close(ran) })
			select {
			case <-ctx.Done():
				t.Fatal("Done closed before anything happened")
			default:
			}

			switch tt.event {
			case "revoke":
				w.ctx.cancel(revoked)
			case "parent":
				cancelParent(parentCause)
			case "release":
				w.release()
			}
			if done == nil {
				done = ctx.Done()
			}
			<-done // closed, or the test times out
			<-child.Done()
			<-ran
			if err := ctx.Err(); err != tt.wantErr {
				t.Errorf("Err = %v; want %v", err, tt.wantErr)
			}
			if cause := context.Cause(ctx); !errors.Is(cause, tt.wantCause) {
				t.Errorf("Cause = %v; want %v", cause, tt.wantCause)
			}
			if cause := context.Cause(child); !errors.Is(cause, tt.wantCause) {
				t.Errorf("derived context's Cause = %v; want %v", cause, tt.wantCause)
			}
			if v := ctx.Value(key{}); v != "v" {
				t.Errorf("parent's value = %v; want v", v)
			}
			w.release() // again: harmless
		})
	}
}

// TestWatchedContextLazy: until the handler asks for Done, a watched
// context answers from its parent and its own state (no cancellable child
// made yet); Err turns non-nil with the parent's, and after the release.
func TestWatchedContextLazy(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, w := newWatch(parent, revoke.Token{ID: "j"})
	wc := w.ctx
	cancelParent()
	if err := ctx.Err(); err != context.Canceled {
		t.Errorf("Err after the parent's cancellation = %v; want Canceled", err)
	}
	if wc.state.Load() != lazyNone {
		t.Errorf("Err made the cancellable child")
	}
	ctx2, w2 := newWatch(context.Background(), revoke.Token{ID: "j"})
	w2.release()
	if err := ctx2.Err(); err != context.Canceled {
		t.Errorf("Err after the release = %v; want Canceled", err)
	}
	<-ctx2.Done() // made now, and already closed
	if _, ok := ctx2.Deadline(); ok {
		t.Errorf("Deadline reported one; the parent has none")
	}
}

// TestWatchedContextRaces runs the end of the request, a revocation and a
// handler asking for Done at the same time (under -race): whichever wins,
// the context ends up cancelled, Done closed, and Err and Cause agree.
func TestWatchedContextRaces(t *testing.T) {
	revoked := fmt.Errorf("%w (by token)", ErrRevoked)
	for i := range 200 {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, w := newWatch(parent, revoke.Token{ID: "j"})
		var wg sync.WaitGroup
		wg.Go(func() { w.release() })
		wg.Go(func() { <-ctx.Done() })
		wg.Go(func() { w.ctx.cancel(revoked) })
		if i%2 == 0 {
			wg.Go(func() { _ = ctx.Err(); _ = ctx.Value(ctxKey{}) })
		}
		wg.Wait()
		<-ctx.Done()
		if ctx.Err() != context.Canceled {
			t.Fatalf("round %d: Err = %v; want Canceled", i, ctx.Err())
		}
		if cause := context.Cause(ctx); cause != context.Canceled && !errors.Is(cause, ErrRevoked) {
			t.Fatalf("round %d: Cause = %v", i, cause)
		}
		cancelParent()
	}
}
