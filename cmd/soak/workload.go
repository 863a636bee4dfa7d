package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// maxSessions is how many sessions one worker keeps open at most.
const maxSessions = 4

// revocationRetryFor is how long a worker retries a revocation that
// failed (INTERNAL, no answer) before it gives up, as a client would.
const revocationRetryFor = 2 * time.Minute

// soaker is one soak run: the cluster, the workload's bookkeeping and the
// probes.
type soaker struct {
	c       *cluster
	cl      *client
	tl      *timeline
	rev     *tracker
	stats   *stats
	secrets *secretSet
	o       options
	t0      time.Time // the workload's start
}

// soak runs the workload, the faults and the probes, then waits until
// every revocation is confirmed at every microservice or its window has
// passed.
func soak(ctx context.Context, stderr io.Writer, c *cluster, o options) (*result, error) {
	s := &soaker{c: c, cl: newClient(), tl: &timeline{}, rev: newTracker(len(c.svcs)), stats: newStats(), secrets: newSecretSet(), o: o}
	workers := make([]*worker, o.Workers)
	for i := range workers {
		w := &worker{s: s, email: fmt.Sprintf("soak-%d@example.com", i), password: rand.Text(), rnd: mrand.New(mrand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		s.secrets.add(w.password)
		var out struct{ Message string }
		q := fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { message } }`, w.email, w.password)
		if oc := s.cl.graphql(ctx, c.auths[i%len(c.auths)].URL, q, "", "register", &out); oc.kind != "" {
			return nil, fmt.Errorf("register %s: %s (%s)", w.email, oc.kind, oc.detail)
		}
		workers[i] = w
	}
	p := schedule(o.Duration)
	fmt.Fprintf(stderr, "soak: %d workers for %s: warm-up %s, a fault every %s held %s, convergence window %s\n",
		o.Workers, o.Duration, p.Warmup, p.Slot.Round(time.Second), p.Hold.Round(100*time.Millisecond), o.Window)

	probesDone := make(chan struct{})
	var probes sync.WaitGroup
	for v := range c.svcs {
		probes.Add(1)
		go func() { defer probes.Done(); s.probe(ctx, v, probesDone) }()
	}
	t0 := time.Now()
	s.t0 = t0
	load, stopLoad := context.WithDeadline(ctx, t0.Add(o.Duration))
	defer stopLoad()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(ctx, load) }()
	}
	injectErr := inject(load, stderr, c, s.tl, p, t0)
	if injectErr != nil && load.Err() == nil {
		stopLoad()
	}
	wg.Wait()
	fmt.Fprintf(stderr, "soak: %s: workload done; waiting for every revocation to be confirmed\n", time.Since(t0).Round(time.Second))
	close(probesDone)
	probes.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if injectErr != nil && (load.Err() == nil || !s.allInjected()) {
		return nil, injectErr
	}
	return s.result(), nil
}

func (s *soaker) allInjected() bool {
	f := s.tl.snapshot()
	return len(f) == len(faultOrder) && !f[len(f)-1].Recovered.IsZero()
}

// routable picks a node a load balancer would send a request to.
func routable(rnd *mrand.Rand, nodes []*node) *node {
	var up []*node
	for _, n := range nodes {
		if n.routable.Load() {
			up = append(up, n)
		}
	}
	if len(up) == 0 {
		return nodes[rnd.IntN(len(nodes))]
	}
	return up[rnd.IntN(len(up))]
}

// session is one of a worker's logged-in sessions.
type session struct {
	token, refresh, id string
}

// worker is one client with one account: it logs in, calls the
// microservices, refreshes and revokes, one operation at a time.
type worker struct {
	s               *soaker
	email, password string
	rnd             *mrand.Rand
	sessions        []session
}

// run works until load ends; a revocation in progress is retried to its
// end under ctx.
func (w *worker) run(ctx, load context.Context) {
	for load.Err() == nil {
		r := w.rnd.Float64()
		switch {
		case len(w.sessions) == 0 || (r >= 0.80 && r < 0.88 && len(w.sessions) < maxSessions):
			w.login(load)
		case r < 0.70:
			w.validate(load)
		case r < 0.80:
			w.refresh(load)
		case r < 0.94 || len(w.sessions) < 2:
			w.logout(ctx)
		case r < 0.98:
			w.revokeSession(ctx)
		default:
			w.logoutAll(ctx)
		}
		_ = sleepUntil(load, time.Now().Add(w.s.o.Think))
	}
}

// record counts one request that started at start.
func (w *worker) record(op string, start time.Time, o outcome) bool {
	if o.kind == "" {
		w.s.stats.ok(op)
		return true
	}
	w.s.stats.fail(op, o, w.s.tl.overlapping(start, time.Now()))
	return false
}

func (w *worker) pick() int { return w.rnd.IntN(len(w.sessions)) }

func (w *worker) drop(i int) { w.sessions = append(w.sessions[:i], w.sessions[i+1:]...) }

func (w *worker) login(ctx context.Context) {
	var out struct{ Token, RefreshToken, SessionID string }
	q := fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token refreshToken sessionId } }`, w.email, w.password)
	start := time.Now()
	if w.record("login", start, w.s.cl.graphql(ctx, routable(w.rnd, w.s.c.auths).URL, q, "", "login", &out)) {
		w.s.secrets.add(out.Token, out.RefreshToken)
		w.sessions = append(w.sessions, session{token: out.Token, refresh: out.RefreshToken, id: out.SessionID})
	}
}

func (w *worker) validate(ctx context.Context) {
	sess := w.sessions[w.pick()]
	svc := routable(w.rnd, w.s.c.svcs)
	start := time.Now()
	code, err := w.s.cl.validate(ctx, svc.URL, sess.token)
	if ctx.Err() != nil {
		return // the soak's end cut it short
	}
	var o outcome
	switch {
	case err != nil:
		o = outcome{transportKind(err), svc.Name + ": " + err.Error()}
	case code >= 500:
		o = outcome{kind5xx, fmt.Sprintf("%s: GET /api/protected: status %d", svc.Name, code)}
	case code == 401:
		o = outcome{kindRejected, svc.Name + " refused a token whose session was never revoked"}
	case code != 200:
		o = outcome{fmt.Sprintf("status %d", code), svc.Name}
	}
	w.record("validate", start, o)
}

// refresh exchanges a session's refresh token; a failed exchange drops the
// session (its refresh token may have rotated).
func (w *worker) refresh(ctx context.Context) {
	i := w.pick()
	var out struct{ Token, RefreshToken string }
	q := fmt.Sprintf(`mutation { refreshToken(token: %q) { token refreshToken } }`, w.sessions[i].refresh)
	start := time.Now()
	o := w.s.cl.graphql(ctx, routable(w.rnd, w.s.c.auths).URL, q, "", "refreshToken", &out)
	if ctx.Err() != nil {
		return
	}
	if !w.record("refresh", start, o) {
		w.drop(i)
		return
	}
	w.s.secrets.add(out.Token, out.RefreshToken)
	w.sessions[i].token, w.sessions[i].refresh = out.Token, out.RefreshToken
}

func (w *worker) logout(ctx context.Context) {
	i := w.pick()
	sess := w.sessions[i]
	w.drop(i)
	w.revoke(ctx, "logout", `mutation { logout }`, sess.token, []string{sess.token})
}

func (w *worker) revokeSession(ctx context.Context) {
	i := w.pick()
	victim := w.sessions[i]
	w.drop(i)
	by := w.sessions[w.pick()]
	w.revoke(ctx, "revokeSession", fmt.Sprintf(`mutation { revokeSession(id: %q) }`, victim.id), by.token, []string{victim.token})
}

func (w *worker) logoutAll(ctx context.Context) {
	var tokens []string
	for _, sess := range w.sessions {
		tokens = append(tokens, sess.token)
	}
	by := w.sessions[w.pick()].token
	w.sessions = nil
	w.revoke(ctx, "logoutAll", `mutation { logoutAll }`, by, tokens)
}

// revoke runs a revocation until it succeeds, retrying what failed as a
// client does (every revocation is idempotent), and hands the tokens it
// ended to the probes. An UNAUTHENTICATED answer means the session has
// already ended: its tokens are probed too.
func (w *worker) revoke(ctx context.Context, op, query, bearer string, tokens []string) {
	giveUp := time.Now().Add(revocationRetryFor)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		var ok bool
		start := time.Now()
		o := w.s.cl.graphql(ctx, routable(w.rnd, w.s.c.auths).URL, query, bearer, op, &ok)
		if o.kind == "" && !ok {
			o = outcome{"answered false", op}
		}
		w.record(op, start, o)
		if o.kind == "" || o.kind == "UNAUTHENTICATED" {
			w.s.rev.add(op, tokens, time.Now(), w.s.tl)
			return
		}
		if ctx.Err() != nil || time.Now().After(giveUp) {
			w.s.stats.gaveUp(op)
			return
		}
		if sleepUntil(ctx, time.Now().Add(wait)) != nil {
			return
		}
	}
}
