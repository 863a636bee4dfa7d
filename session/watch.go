package session

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/token"
)

// Long-lived requests (streams) register here so that a revocation reaches
// them while they run. Registering is one append to a slice under one of
// several locks, and unregistering one swap-remove: what a request pays
// must stay far below what validating it costs. The revocation set calls
// notify with the entries it applies, once lookups can see them, and
// notify scans the registered requests for those the entries cover and
// cancels their contexts: a revocation costs a comparison per running
// stream, a cost paid by the rare writer rather than by every request.
// No goroutine per request; a request that is not watched touches none of
// this.

// watchShards is how many independently locked parts the registry has, so
// that streams starting and ending on different cores rarely wait for one
// another.
const watchShards = 32

// batchRecheck is the batch size from which notify asks the set about
// every watched token once instead of comparing each entry with each
// watched token (a snapshot applies thousands of entries).
const batchRecheck = 8

// watch is one long-lived request: what its token can be revoked by, and
// its context, which a revocation cancels.
type watch struct {
	ctx   *watchedContext
	tok   revoke.Token
	shard *watchShard // nil once released
	idx   int         // position in shard.ws
}

type watchShard struct {
	mu sync.Mutex
	ws []*watch
	_  [32]byte // keep shards on separate cache lines
}

// watchRegistry holds the watches of running requests. It is safe for
// concurrent use.
type watchRegistry struct {
	set    *revoke.Set // consulted for batches
	shards [watchShards]watchShard
}

func newWatchRegistry(set *revoke.Set) *watchRegistry {
	return &watchRegistry{set: set}
}

// add registers w in the shard its address picks (free, and spread
// across shards by the allocator).
func (r *watchRegistry) add(w *watch) {
	s := &r.shards[(uintptr(unsafe.Pointer(w))>>8)%watchShards]
	s.mu.Lock()
	w.shard, w.idx = s, len(s.ws)
	s.ws = append(s.ws, w)
	s.mu.Unlock()
}

// release unregisters w and cancels its context (freeing it from its
// parent). It is what a watched request's CancelFunc calls; calling it
// again does nothing more.
func (w *watch) release() {
	if s := w.shard; s != nil {
		s.mu.Lock()
		last := len(s.ws) - 1
		moved := s.ws[last]
		s.ws[w.idx], moved.idx = moved, w.idx
		s.ws[last] = nil
		s.ws = s.ws[:last]
		w.shard = nil
		s.mu.Unlock()
	}
	w.ctx.release()
}

// notify cancels the watched requests the entries cover. The set calls it
// after applying them, so a watch registered later is caught by the check
// that follows its registration instead (see watchRequest).
func (r *watchRegistry) notify(entries []revoke.Entry) {
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			// An entry this version cannot interpret: new requests are
			// refused (ErrUnsupported) until it expires, and so are
			// running ones.
			cause := fmt.Errorf("%w: %w", ErrUnsupported, err)
			r.cancelWhere(func(*watch) error { return cause })
			return
		}
	}
	if len(entries) >= batchRecheck {
		r.cancelWhere(func(w *watch) error {
			if kind, ok := r.set.CheckToken(w.tok); ok {
				return fmt.Errorf("%w (by %s)", ErrRevoked, kind)
			}
			return nil
		})
		return
	}
	r.cancelWhere(func(w *watch) error {
		for _, e := range entries {
			if covers(e, w.tok) {
				return fmt.Errorf("%w (by %s)", ErrRevoked, e.Kind)
			}
		}
		return nil
	})
}

// covers reports whether the valid entry e revokes t.
func covers(e revoke.Entry, t revoke.Token) bool {
	switch e.Kind {
	case revoke.KindToken:
		return t.ID == e.ID
	case revoke.KindSession:
		return t.SessionID == e.ID
	case revoke.KindUser:
		return t.Subject == e.ID && t.IssuedAt < e.Before
	case revoke.KindKey:
		return t.KeyID != "" && t.KeyID == e.ID
	case revoke.KindAll:
		return t.IssuedAt < e.Before
	}
	return false
}

// cancelWhere cancels, with the cause it gives, every watched request for
// which why returns an error. It cancels outside the shards' locks.
func (r *watchRegistry) cancelWhere(why func(*watch) error) {
	type hit struct {
		w     *watch
		cause error
	}
	var hits []hit
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		for _, w := range s.ws {
			if cause := why(w); cause != nil {
				hits = append(hits, hit{w, cause})
			}
		}
		s.mu.Unlock()
	}
	for _, h := range hits {
		h.w.ctx.cancel(h.cause)
	}
}

// watchedContext is the context of a watched request: the claims (as
// claimsContext), the watch and the context's own state in one
// allocation, whose parent is the request's context.
//
// A request that is never revoked and whose handler never asks for Done
// (nor derives a context, which asks for it) costs that one allocation:
// until then the context answers Err, Value and Deadline from its parent
// and its own state, and has no channel. The first call of Done, or a
// revocation, makes a context.WithCancelCause child of the parent (lazy,
// below), from which Done, Err, Value and context.Cause are then
// answered, so that the cancellation cause, children derived without a
// goroutine (their parent-finding goes through Value) and AfterFunc all
// behave as the standard library's.
type watchedContext struct {
	claimsContext
	w watch

	state    atomic.Int32            // lazyNone, lazyMade or lazyReleased
	mu       sync.Mutex              // serialises making lazy
	lazy     context.Context         // set before state becomes lazyMade
	cancelFn context.CancelCauseFunc // lazy's
}

// The states of a watchedContext.
const (
	lazyNone     = iota // no cancellable child made; the request runs
	lazyMade            // lazy and cancelFn are set, and answer
	lazyReleased        // the request ended before any child was made
)

// materialize makes the cancellable child of the parent that Done and the
// cancellations need, once. A context released meanwhile gets a child
// born cancelled.
func (c *watchedContext) materialize() {
	if c.state.Load() == lazyMade {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load() == lazyMade {
		return
	}
	c.lazy, c.cancelFn = context.WithCancelCause(c.claimsContext.Context)
	if !c.state.CompareAndSwap(lazyNone, lazyMade) { // released
		c.cancelFn(context.Canceled)
		c.state.Store(lazyMade)
	}
}

// cancel cancels the context with cause (a revocation).
func (c *watchedContext) cancel(cause error) {
	c.materialize()
	c.cancelFn(cause)
}

// release cancels the context at the end of its request, freeing it from
// its parent; only a context made by Done or a revocation has anything to
// free, and one that was not is released with one atomic operation.
func (c *watchedContext) release() {
	if c.state.CompareAndSwap(lazyNone, lazyReleased) {
		return
	}
	if c.state.Load() == lazyMade {
		c.cancelFn(context.Canceled)
	}
}

func (c *watchedContext) Done() <-chan struct{} {
	c.materialize()
	return c.lazy.Done()
}

func (c *watchedContext) Err() error {
	switch c.state.Load() {
	case lazyMade:
		return c.lazy.Err()
	case lazyReleased:
		if err := c.claimsContext.Context.Err(); err != nil {
			return err
		}
		return context.Canceled
	}
	return c.claimsContext.Context.Err()
}

func (c *watchedContext) Value(key any) any {
	switch key {
	case ctxKey{}, tokenKey{}:
		return c.claimsContext.Value(key)
	}
	if c.state.Load() == lazyMade {
		return c.lazy.Value(key)
	}
	return c.claimsContext.Context.Value(key)
}

// ValidateUntilRevoked validates raw as ValidateAccessToken does and, for a
// valid token, returns a context derived from ctx that carries its claims
// (GetClaims) and is cancelled as soon as the token, its device session,
// its user (a logout everywhere) or its signing key is revoked, or an
// entry arrives that this version cannot interpret; context.Cause of the
// returned context then wraps ErrRevoked (or ErrUnsupported). The
// cancellation happens when the revocation is applied, the moment a new
// request presenting the token would be refused.
//
// It is meant for long-lived requests (streams, server-sent events,
// websockets): the caller must call release when the request ends, which
// also cancels the context. It starts no goroutine; a request that does
// not use it pays nothing. The gRPC stream interceptors of
// session/grpcauth and StreamingHTTPMiddleware use it.
func (v *SessionValidator) ValidateUntilRevoked(ctx context.Context, raw string) (_ context.Context, release context.CancelFunc, _ error) {
	wc, err := v.watchRequest(ctx, raw)
	if err != nil {
		return nil, nil, err
	}
	return wc, wc.w.release, nil
}

// watchRequest validates raw and registers a watch for it.
func (v *SessionValidator) watchRequest(ctx context.Context, raw string) (*watchedContext, error) {
	gen := v.revoked.Applied()
	ct, err := v.validateAt(v.elapsed(), raw, token.TypeAccess, v.cfg.AccessTokenCacheTTL)
	v.metrics.observe(err)
	if err != nil {
		return nil, err
	}
	c, kid := ct.claims, ct.kid
	wc := &watchedContext{claimsContext: claimsContext{Context: ctx, raw: raw}}
	c.cloneInto(&wc.owned)
	wc.w = watch{ctx: wc, tok: revoke.Token{
		ID: c.TokenID, SessionID: c.SessionID, Subject: c.UserID, KeyID: kid, IssuedAt: c.IssuedAt.Unix(),
	}}
	v.watches.add(&wc.w)
	// An entry applied between the check above and the registration found
	// no watch to cancel; the set already holds it, so look again (see
	// revoke.Set.Applied).
	if v.revoked.Applied() == gen {
		return wc, nil
	}
	if kind, ok := v.revoked.CheckToken(wc.w.tok); ok {
		wc.cancel(fmt.Errorf("%w (by %s)", ErrRevoked, kind))
	} else if n, why := v.revoked.Unsupported(); n > 0 {
		wc.cancel(fmt.Errorf("%w: %s", ErrUnsupported, why))
	}
	return wc, nil
}
