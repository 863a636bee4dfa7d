package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/ratelimit"
)

func TestMemoryRefillsOverTime(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	l := newLogin(t, ratelimit.NewMemory(clock.Now, 0))
	for i := 0; i < 6; i++ {
		attempt(t, l, "v@example.com", "198.51.100.1")
	}
	clock.Advance(3 * time.Minute)
	if d := attempt(t, l, "v@example.com", "198.51.100.1"); !d.Allowed {
		t.Fatalf("after 3m: got %+v; want one attempt allowed", d)
	}
	if d := attempt(t, l, "v@example.com", "198.51.100.1"); d.Allowed {
		t.Fatalf("second attempt after 3m: got allowed; want refused")
	}
	clock.Advance(15 * time.Minute)
	for i := 1; i <= 5; i++ {
		if d := attempt(t, l, "v@example.com", "198.51.100.1"); !d.Allowed {
			t.Fatalf("attempt %d after 15m: got %+v; want allowed", i, d)
		}
	}
}

func TestMemoryAccountSpacing(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	l := newLogin(t, ratelimit.NewMemory(clock.Now, 0))
	ip := 0
	fail := func() ratelimit.Decision {
		ip++ // a fresh client each time: only the account limit applies
		return attempt(t, l, "v@example.com", fmt.Sprintf("10.%d.%d.1", ip/256, ip%256))
	}
	for i := 0; i < 20; i++ {
		fail()
	}
	allowed := 0
	for minute := 0; minute < 30; minute++ {
		if fail().Allowed {
			allowed++
		}
		clock.Advance(time.Minute)
	}
	if allowed < 9 || allowed > 11 {
		t.Errorf("attempts allowed in 30 minutes after the burst: got %d; want about 10 (one every 3m)", allowed)
	}
}

func TestMemoryBounded(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	m := ratelimit.NewMemory(clock.Now, 1000)
	lim := ratelimit.Limit{Rate: 5, Period: time.Hour}
	ctx := context.Background()
	for i := 0; i < 10000; i++ {
		if _, err := m.Take(ctx, fmt.Sprintf("k%d", i), lim); err != nil {
			t.Fatal(err)
		}
		if n := m.Len(); n > 1000 {
			t.Fatalf("after %d keys: got %d buckets; want at most 1000", i+1, n)
		}
	}
	clock.Advance(time.Hour)
	if _, err := m.Take(ctx, "fresh", lim); err != nil {
		t.Fatal(err)
	}
	if res, _ := m.Peek(ctx, "k9999", lim); !res.Allowed || res.Remaining != 5 {
		t.Errorf("after the period: got %+v; want a full bucket", res)
	}
}

func BenchmarkMemoryCheck(b *testing.B) {
	l, err := ratelimit.NewLogin(ratelimit.NewMemory(nil, 0), ratelimit.Config{Client: ratelimit.Limit{Rate: 1000, Period: time.Second, Burst: 1 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := l.Reserve(ctx, ratelimit.Attempt{Email: "a@example.com", IP: "198.51.100.1"}); err != nil {
			b.Fatal(err)
		}
	}
}
