package main

import (
	"context"
	"sync"
	"time"
)

// probePause is the pause between two rounds of one microservice's probe.
const probePause = 10 * time.Millisecond

// revocation is one token a revocation ended, as the probes see it.
type revocation struct {
	Op     string
	Token  string
	Ack    time.Time // when the revocation's answer arrived
	Period int       // the fault it counts under (timeline.period), -1: before any
	// at[v] is written only by microservice v's probe, read once the
	// probes have ended.
	at []probeResult
}

// probeResult is what one microservice answered for one revoked token.
type probeResult struct {
	LastAccepted time.Time // the last 200 after Ack
	Refused      bool      // it answered 401
	Lost         bool      // it answered 200 after the window had passed
}

// tracker collects the acknowledged revocations; safe for concurrent use.
type tracker struct {
	mu       sync.Mutex
	services int
	items    []*revocation
	made     map[string]int // acknowledged operations by kind
}

func newTracker(services int) *tracker {
	return &tracker{services: services, made: map[string]int{}}
}

// add records that op, answered at ack, ended tokens.
func (t *tracker) add(op string, tokens []string, ack time.Time, tl *timeline) {
	period := tl.period(ack)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.made[op]++
	for _, tok := range tokens {
		t.items = append(t.items, &revocation{Op: op, Token: tok, Ack: ack, Period: period, at: make([]probeResult, t.services)})
	}
}

// since returns the items added after the first *next, and advances it.
func (t *tracker) since(next *int) []*revocation {
	t.mu.Lock()
	defer t.mu.Unlock()
	items := t.items[*next:]
	*next = len(t.items)
	return items
}

func (t *tracker) lastAck() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for _, r := range t.items {
		if r.Ack.After(last) {
			last = r.Ack
		}
	}
	return last
}

// settled reports whether a 200 at now for r means the revocation is lost
// for good: no fault in progress, and the window passed since both r's
// answer and the end of the last fault.
func (s *soaker) settled(r *revocation, now time.Time) bool {
	calm, since := s.tl.settledSince()
	if !calm {
		return false
	}
	if r.Ack.After(since) {
		since = r.Ack
	}
	return now.Sub(since) > s.o.Window
}

// probe asks microservice v about every revoked token until it refuses
// it. After done is closed, it stops once nothing is pending or the last
// item's window (plus a margin) has passed. One unanswered request ends a
// round: the microservice is down or paused, and the next round retries.
func (s *soaker) probe(ctx context.Context, v int, done <-chan struct{}) {
	svc := s.c.svcs[v]
	next := 0
	var pending []*revocation
	var drainUntil time.Time
	for ctx.Err() == nil {
		pending = append(pending, s.rev.since(&next)...)
		kept := pending[:0]
		down := false
		for i, r := range pending {
			if down {
				kept = append(kept, pending[i:]...)
				break
			}
			code, err := s.cl.validate(ctx, svc.URL, r.Token)
			now := time.Now()
			switch {
			case err != nil || code >= 500:
				down = true
			case code == 401:
				r.at[v].Refused = true
				continue
			case code == 200:
				r.at[v].LastAccepted = now
				if s.settled(r, now) {
					r.at[v].Lost = true
				}
			}
			kept = append(kept, r)
		}
		pending = kept
		select {
		case <-done:
			if drainUntil.IsZero() {
				_, last := s.tl.settledSince()
				if a := s.rev.lastAck(); a.After(last) {
					last = a
				}
				drainUntil = last.Add(s.o.Window + 5*time.Second)
			}
			if len(pending) == 0 || time.Now().After(drainUntil) {
				return
			}
		default:
		}
		_ = sleepUntil(ctx, time.Now().Add(probePause))
	}
}

// stats counts the workload's requests and its errors; safe for
// concurrent use.
type stats struct {
	mu      sync.Mutex
	ops     map[string]*opCount
	errs    map[string]*errCount
	byFault map[int]int // errors overlapping each fault
}

type opCount struct {
	OK     int `json:"ok"`
	Failed int `json:"failed"`
	GaveUp int `json:"gave_up,omitempty"`
}

// errCount counts one kind of error: while a fault was in progress (the
// request overlapped it) and otherwise (after recovery, or in steady
// state), with an example of each.
type errCount struct {
	DuringFault   int    `json:"during_fault"`
	Otherwise     int    `json:"otherwise"`
	ExampleDuring string `json:"example_during,omitempty"`
	Example       string `json:"example,omitempty"`
}

func newStats() *stats {
	return &stats{ops: map[string]*opCount{}, errs: map[string]*errCount{}, byFault: map[int]int{}}
}

func (s *stats) op(name string) *opCount {
	c := s.ops[name]
	if c == nil {
		c = &opCount{}
		s.ops[name] = c
	}
	return c
}

func (s *stats) ok(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.op(op).OK++
}

func (s *stats) gaveUp(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.op(op).GaveUp++
}

// fail counts a failed request; fault is the fault it overlapped, or -1.
func (s *stats) fail(op string, o outcome, fault int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.op(op).Failed++
	e := s.errs[o.kind]
	if e == nil {
		e = &errCount{}
		s.errs[o.kind] = e
	}
	if fault >= 0 {
		e.DuringFault++
		s.byFault[fault]++
		if e.ExampleDuring == "" {
			e.ExampleDuring = o.detail
		}
		return
	}
	e.Otherwise++
	if e.Example == "" {
		e.Example = o.detail
	}
}
