// Package ratelimit limits login and registration attempts
// (docs/CONFIGURATION.md, docs/SECURITY.md): failures per account and
// client, per account and client network, per account across clients
// (which slows distributed guessing), per account and known device (a
// budget of the owner's own that nobody else can spend), attempts per
// client IP (IPv6 per /64), and registrations per client IP.
//
// Limits are GCRA buckets in a Store: Redis (shared by every replica) or
// process memory (the embedded, single-process mode). Both behave alike.
// Attempts are charged before the password is checked and refunded on
// success, so a burst of concurrent attempts is bounded like a sequence.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit is a GCRA limit: Burst events at once, refilled at Rate events per
// Period (one every Period/Rate).
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int // 0 means Rate
}

func (l Limit) burst() int {
	if l.Burst == 0 {
		return l.Rate
	}
	return l.Burst
}

func (l Limit) validate(name string) error {
	if l.Rate <= 0 || l.Period <= 0 || l.Burst < 0 {
		return fmt.Errorf("ratelimit: %s limit %+v: Rate and Period must be positive", name, l)
	}
	if l.Period/time.Duration(l.Rate) < time.Millisecond {
		return fmt.Errorf("ratelimit: %s limit %+v: more than one event per millisecond", name, l)
	}
	return nil
}

// interval is the time one event takes to refill (at least 1ns, so a
// Limit used without validation cannot divide by zero).
func (l Limit) interval() time.Duration {
	if l.Rate <= 0 {
		return max(l.Period, 1)
	}
	return max(l.Period/time.Duration(l.Rate), 1)
}

// Result is what a Store says about a bucket.
type Result struct {
	Allowed    bool
	Remaining  int           // events that could happen now (after this one, for Take)
	RetryAfter time.Duration // when not Allowed: until one event fits
}

// Store keeps GCRA buckets. Implementations are safe for concurrent use.
// Errors are technical (the backend is unreachable), never "limited".
type Store interface {
	// Take records one event on key if limit allows it.
	Take(ctx context.Context, key string, limit Limit) (Result, error)
	// Peek reports whether one more event would be allowed, recording
	// nothing.
	Peek(ctx context.Context, key string, limit Limit) (Result, error)
	// Refund gives back one event taken on key (an attempt that turned out
	// not to count). Refunding a full bucket changes nothing.
	Refund(ctx context.Context, key string, limit Limit) error
	// Reset forgets key's history.
	Reset(ctx context.Context, key string) error
}

// ErrUnavailable wraps backend failures (Redis unreachable).
var ErrUnavailable = errors.New("ratelimit: store unavailable")
