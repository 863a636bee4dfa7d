package refetch_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
	"github.com/authmesh/authmesh/internal/token/internal/refetch"
	"github.com/authmesh/authmesh/internal/token/tokentest"
)

// TestLoop: the first poke runs at once, a second waits out MinGap, the
// period runs too, errors reach OnError, and Run returns ctx.Err().
func TestLoop(t *testing.T) {
	const gap, every = 10 * time.Second, time.Hour
	clk := tokentest.NewFakeClock(time.Unix(1_700_000_000, 0))
	var runs, fails atomic.Int64
	l := refetch.New(refetch.Config{
		Do: func(context.Context) error {
			if runs.Add(1) == 3 {
				return errors.New("down")
			}
			return nil
		},
		OnError: func(error) { fails.Add(1) },
		Every:   func() time.Duration { return every },
		MinGap:  gap,
		Now:     clk.Now,
		After:   clk.After,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()

	l.Poke()
	testenv.WaitFor(t, "the first poke to run at once", func() bool { return runs.Load() == 1 })

	testenv.WaitFor(t, "Run waiting for the period", func() bool { return clk.Waiting(every) })
	l.Poke()
	testenv.WaitFor(t, "Run waiting out MinGap", func() bool { return clk.Waiting(gap) })
	if got := runs.Load(); got != 1 {
		t.Fatalf("runs before MinGap passed = %d; want 1", got)
	}
	clk.Advance(gap)
	testenv.WaitFor(t, "the second poke to run", func() bool { return runs.Load() == 2 })

	testenv.WaitFor(t, "Run waiting for the period", func() bool { return clk.Waiting(every) })
	clk.Advance(every)
	testenv.WaitFor(t, "the periodic run's error to reach OnError", func() bool { return fails.Load() == 1 })

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v; want context.Canceled", err)
	}
}
