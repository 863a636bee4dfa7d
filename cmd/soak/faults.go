package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The six faults, in the order they are injected.
const (
	faultRedisPause      = "Redis paused"
	faultRedisRestart    = "Redis restarted"
	faultAuthKill        = "auth replica killed"
	faultPostgresRestart = "PostgreSQL restarted"
	faultServiceKill     = "microservice killed"
	faultServicePause    = "microservice paused"
)

var faultOrder = []string{faultRedisPause, faultRedisRestart, faultAuthKill, faultPostgresRestart, faultServiceKill, faultServicePause}

// plan spreads the faults over the soak: a steady warm-up, six equal
// slots each opening with a fault held for a quarter of the slot, and a
// steady cool-down as long as the warm-up.
type plan struct {
	Warmup, Slot, Hold time.Duration
}

func schedule(d time.Duration) plan {
	warm := d / 12
	slot := (d - 2*warm) / time.Duration(len(faultOrder))
	return plan{Warmup: warm, Slot: slot, Hold: slot / 4}
}

// fault is one injected fault: from Start (the signal sent) to Recovered
// (the process answering again: resumed, or restarted and ready).
type fault struct {
	Kind      string    `json:"kind"`
	Target    string    `json:"target"`
	Start     time.Time `json:"start"`
	Recovered time.Time `json:"recovered"` // zero while in progress
}

// timeline records the faults; safe for concurrent use.
type timeline struct {
	mu     sync.Mutex
	faults []fault
}

func (tl *timeline) begin(kind, target string) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.faults = append(tl.faults, fault{Kind: kind, Target: target, Start: time.Now()})
	return len(tl.faults) - 1
}

func (tl *timeline) end(i int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.faults[i].Recovered = time.Now()
}

// overlapping returns the index of the first fault whose span overlaps
// [from, to] (a fault in progress spans until now and beyond), or -1.
func (tl *timeline) overlapping(from, to time.Time) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for i, f := range tl.faults {
		if !to.Before(f.Start) && (f.Recovered.IsZero() || !from.After(f.Recovered)) {
			return i
		}
	}
	return -1
}

// settledSince reports whether no fault is in progress, and the end of the
// last one (zero when none ended yet).
func (tl *timeline) settledSince() (bool, time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var last time.Time
	for _, f := range tl.faults {
		if f.Recovered.IsZero() {
			return false, time.Time{}
		}
		if f.Recovered.After(last) {
			last = f.Recovered
		}
	}
	return true, last
}

// period returns the index of the last fault started at or before t, or
// -1 before the first: the fault a revocation answered at t is counted
// under.
func (tl *timeline) period(t time.Time) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	p := -1
	for i, f := range tl.faults {
		if !f.Start.After(t) {
			p = i
		}
	}
	return p
}

func (tl *timeline) snapshot() []fault {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.faults)
}

// inject runs the schedule from t0: each fault at its slot's start (or
// when the previous one has recovered, if later), held for p.Hold, then
// undone and waited for. Any failure to inject or recover ends the soak.
func inject(ctx context.Context, stderr io.Writer, c *cluster, tl *timeline, p plan, t0 time.Time) error {
	for i, kind := range faultOrder {
		at := t0.Add(p.Warmup + time.Duration(i)*p.Slot)
		if err := sleepUntil(ctx, at); err != nil {
			return err
		}
		var target string
		var do, undo func(context.Context) error
		switch kind {
		case faultRedisPause:
			target = "redis-server"
			do = func(context.Context) error { return c.redis.process().Signal(syscall.SIGSTOP) }
			undo = func(context.Context) error { return c.redis.process().Signal(syscall.SIGCONT) }
		case faultRedisRestart:
			target = "redis-server"
			do = func(context.Context) error { c.redis.process().Kill(); return nil }
			undo = c.redis.start
		case faultAuthKill:
			n := c.followed(ctx)
			target = n.Name
			do = func(context.Context) error { n.kill(); return nil }
			undo = n.start
		case faultPostgresRestart:
			target = "postgres"
			do = c.pg.stop
			undo = c.pg.start
		case faultServiceKill:
			n := c.svcs[0] // Redis mode: the restarted one loads a snapshot
			target = n.Name
			do = func(context.Context) error { n.kill(); return nil }
			undo = n.start
		case faultServicePause:
			n := c.svcs[len(c.svcs)-1] // feed mode: its stream stalls
			target = n.Name
			do = func(context.Context) error { return n.signal(syscall.SIGSTOP) }
			undo = func(context.Context) error { return n.signal(syscall.SIGCONT) }
		}
		fmt.Fprintf(stderr, "soak: %s: %s (%s) for %s\n", time.Since(t0).Round(time.Second), kind, target, p.Hold.Round(100*time.Millisecond))
		idx := tl.begin(kind, target)
		if err := do(ctx); err != nil {
			return fmt.Errorf("inject %s: %w", kind, err)
		}
		if err := sleepUntil(ctx, time.Now().Add(p.Hold)); err != nil {
			_ = undo(context.Background()) // leave nothing paused behind
			return err
		}
		if err := undo(ctx); err != nil {
			return fmt.Errorf("recover from %s: %w", kind, err)
		}
		tl.end(idx)
	}
	return nil
}

// sleepUntil waits until t or the end of ctx.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// followed returns the auth replica most feed validators follow (the
// first on a tie or when the metrics do not say): killing it makes them
// fail over.
func (c *cluster) followed(ctx context.Context) *node {
	best, most := c.auths[0], -1
	for _, n := range c.auths {
		if k := feedClients(ctx, n.URL); k > most {
			best, most = n, k
		}
	}
	return best
}

// feedClients reads authmesh_feed_clients from a replica's metrics; -1
// when it cannot.
func feedClients(ctx context.Context, base string) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "authmesh_feed_clients "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return int(f)
			}
		}
	}
	return -1
}
