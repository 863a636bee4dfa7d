// Package refetch is the background loop the key ring and the JWKS client
// share: run a reload periodically and soon after a caller met an unknown
// key, but never twice within a minimum gap.
package refetch

import (
	"context"
	"time"
)

// Config configures a Loop. Do, Every and OnError are required.
type Config struct {
	// Do is the reload. Its error goes to OnError unless ctx is done.
	Do func(ctx context.Context) error
	// OnError receives Do's errors; the loop keeps running.
	OnError func(err error)
	// Every returns how long to wait for the next periodic run; it is read
	// before each wait, so it may change (a backoff after failures).
	Every func() time.Duration
	// MinGap is the least time between a poked run and the run before it.
	MinGap time.Duration
	// JustRan says Do ran right before Run started, so a poke at once
	// waits for MinGap; otherwise the first poke runs Do at once.
	JustRan bool
	// Now and After are the clock the gap is measured on (defaults
	// time.Now and time.After).
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
}

// Loop runs Config.Do in the background. Poke is safe for concurrent use;
// one Run at a time.
type Loop struct {
	cfg  Config
	poke chan struct{}
}

// New returns a Loop for cfg.
func New(cfg Config) *Loop {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	return &Loop{cfg: cfg, poke: make(chan struct{}, 1)}
}

// Poke asks Run for a run soon, without blocking: pokes arriving while one
// is pending are merged into it.
func (l *Loop) Poke() {
	select {
	case l.poke <- struct{}{}:
	default:
	}
}

// Run calls Do every Every(), and after a Poke once MinGap has passed since
// the previous run, until ctx is done; then it returns ctx.Err().
func (l *Loop) Run(ctx context.Context) error {
	var last time.Time
	if l.cfg.JustRan {
		last = l.cfg.Now()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.cfg.After(l.cfg.Every()):
		case <-l.poke:
			if wait := l.cfg.MinGap - l.cfg.Now().Sub(last); wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-l.cfg.After(wait):
				}
			}
		}
		last = l.cfg.Now()
		if err := l.cfg.Do(ctx); err != nil && ctx.Err() == nil {
			l.cfg.OnError(err)
		}
	}
}
