package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/ratelimit"
	"github.com/authmesh/authmesh/internal/testenv"
)

// reserveScenarios run against every backend, like scenarios.
var reserveScenarios = []struct {
	name string
	run  func(t *testing.T, l *ratelimit.Login)
}{
	{"30 concurrent attempts: exactly 5 reserved", func(t *testing.T, l *ratelimit.Login) {
		var wg sync.WaitGroup
		var allowed atomic.Int32
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := l.Reserve(context.Background(), ratelimit.Attempt{Email: "victim@example.com", IP: "198.51.100.1"})
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := allowed.Load(); n != 5 {
			t.Errorf("got %d of 30 concurrent attempts allowed; want 5 (the account+client budget)", n)
		}
	}},
	{"successes give their charge back", func(t *testing.T, l *ratelimit.Login) {
		for i := 1; i <= 40; i++ {
			a := ratelimit.Attempt{Email: "owner@example.com", IP: fmt.Sprintf("198.51.%d.1", i)}
			if d := success(t, l, a); !d.Allowed {
				t.Fatalf("success %d: got %+v; want allowed (successes never spend the account budget)", i, d)
			}
		}
		// The whole budget is left: 20 failures from 20 networks pass.
		for i := 1; i <= 20; i++ {
			if d := attempt(t, l, "owner@example.com", fmt.Sprintf("203.0.%d.1", i)); !d.Allowed {
				t.Fatalf("failure %d after the successes: got %+v; want allowed", i, d)
			}
		}
	}},
	{"a known device has a budget of its own", func(t *testing.T, l *ratelimit.Login) {
		// Attackers on 20 networks spend the account's shared budget.
		for n := 0; n < 4; n++ {
			for i := 0; i < 5; i++ {
				attempt(t, l, "victim@example.com", fmt.Sprintf("203.0.%d.%d", n, i))
			}
		}
		if d := attempt(t, l, "victim@example.com", "192.0.2.50"); d.Allowed || d.Limit != ratelimit.LimitAccount {
			t.Fatalf("unknown device after 20 failures: got %+v; want refused by %q", d, ratelimit.LimitAccount)
		}
		owner := ratelimit.Attempt{Email: "victim@example.com", IP: "192.0.2.50", Device: "device-1"}
		if d := success(t, l, owner); !d.Allowed {
			t.Fatalf("owner on a known device: got %+v; want allowed", d)
		}
		for i := 1; i <= 6; i++ {
			d := attemptOn(t, l, owner)
			if want := i <= 5; d.Allowed != want || (!want && d.Limit != ratelimit.LimitDevice) {
				t.Fatalf("known device failure %d: got %+v; want allowed %v", i, d, want)
			}
		}
		other := ratelimit.Attempt{Email: "victim@example.com", IP: "192.0.2.50", Device: "device-2"}
		if d := attemptOn(t, l, other); !d.Allowed {
			t.Errorf("another known device: got %+v; want allowed", d)
		}
	}},
	{"one network spends at most half the account budget", func(t *testing.T, l *ratelimit.Login) {
		allowed := 0
		for i := 0; i < 40; i++ {
			if attempt(t, l, "victim@example.com", fmt.Sprintf("203.0.113.%d", i)).Allowed {
				allowed++
			}
		}
		if allowed != 10 {
			t.Errorf("failures from one /24: got %d allowed; want 10", allowed)
		}
		if d := attempt(t, l, "victim@example.com", "198.51.100.1"); !d.Allowed {
			t.Errorf("another network: got %+v; want allowed (the account budget is not spent)", d)
		}
	}},
	{"IPv6 clients are limited per /64", func(t *testing.T, l *ratelimit.Login) {
		for i := 0; i < 5; i++ {
			attempt(t, l, "victim@example.com", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		}
		if d := attempt(t, l, "victim@example.com", "2001:db8:1:2:ffff:ffff:ffff:ffff"); d.Allowed || d.Limit != ratelimit.LimitAccountClient {
			t.Errorf("6th failure from the same /64: got %+v; want refused by %q", d, ratelimit.LimitAccountClient)
		}
		if d := attempt(t, l, "victim@example.com", "2001:db8:1:3::1"); !d.Allowed {
			t.Errorf("another /64: got %+v; want allowed", d)
		}
	}},
	{"a refused attempt costs the account nothing", func(t *testing.T, l *ratelimit.Login) {
		for i := 0; i < 5; i++ {
			attempt(t, l, "victim@example.com", "198.51.100.1")
		}
		for i := 0; i < 50; i++ {
			attempt(t, l, "victim@example.com", "198.51.100.1")
		}
		for n := 0; n < 3; n++ {
			for i := 0; i < 5; i++ {
				if d := attempt(t, l, "victim@example.com", fmt.Sprintf("203.0.%d.1", n)); !d.Allowed {
					t.Fatalf("network %d failure %d: got %+v; want allowed (15 of 20 spent)", n, i, d)
				}
			}
		}
	}},
}

func TestReserve(t *testing.T) {
	client := testenv.StartRedis(t).Client(t)
	for i, sc := range reserveScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for name, store := range backends(t, client, fmt.Sprintf("reserve%d:", i)) {
				t.Run(name, func(t *testing.T) { sc.run(t, newLogin(t, store)) })
			}
		})
	}
}

// TestMemoryFloodKeepsLimits: a flood of distinct keys (fresh emails from
// fresh addresses) must not reset the bucket that limits an attacker.
func TestMemoryFloodKeepsLimits(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	store := ratelimit.NewMemory(clock.Now, 1000)
	l := newLogin(t, store)
	for i := 0; i < 5; i++ {
		attempt(t, l, "victim@example.com", "198.51.100.1")
	}
	for i := 0; i < 20_000; i++ {
		attempt(t, l, fmt.Sprintf("flood%d@example.com", i), fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
		if n := store.Len(); n > 1000 {
			t.Fatalf("after %d flood attempts: %d buckets; want at most 1000", i+1, n)
		}
	}
	if d := attempt(t, l, "victim@example.com", "198.51.100.1"); d.Allowed {
		t.Fatal("after the flood: the victim's account+client bucket was forgotten; want still limited")
	}
}

// TestMemoryFullOfLimitingBuckets: when every bucket is limiting, a new key
// is refused rather than one of them forgotten.
func TestMemoryFullOfLimitingBuckets(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	m := ratelimit.NewMemory(clock.Now, 10)
	one := ratelimit.Limit{Rate: 1, Period: time.Hour}
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if res, _ := m.Take(ctx, fmt.Sprintf("k%d", i), one); !res.Allowed {
			t.Fatalf("k%d: got %+v; want allowed", i, res)
		}
	}
	res, _ := m.Take(ctx, "new", one)
	if res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > time.Hour {
		t.Fatalf("new key with the store full of limiting buckets: got %+v; want refused for at most an hour", res)
	}
	for i := 0; i < 10; i++ {
		if res, _ := m.Peek(ctx, fmt.Sprintf("k%d", i), one); res.Allowed {
			t.Fatalf("k%d was forgotten: got %+v; want still limiting", i, res)
		}
	}
	clock.Advance(time.Hour)
	if res, _ := m.Take(ctx, "new", one); !res.Allowed {
		t.Errorf("after the hour: got %+v; want allowed", res)
	}
}

// TestMemoryEvictsLeastRecentlyUsed: of buckets that are not limiting, the
// least recently used are forgotten first.
func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	m := ratelimit.NewMemory(clock.Now, 100)
	lim := ratelimit.Limit{Rate: 5, Period: time.Hour}
	ctx := context.Background()
	_, _ = m.Take(ctx, "recent", lim)
	for i := 0; i < 99; i++ {
		clock.Advance(time.Millisecond)
		_, _ = m.Take(ctx, fmt.Sprintf("k%d", i), lim)
	}
	clock.Advance(time.Millisecond)
	_, _ = m.Take(ctx, "recent", lim) // now the most recently used
	clock.Advance(time.Millisecond)
	_, _ = m.Take(ctx, "new", lim) // forces a shrink to 75
	if res, _ := m.Peek(ctx, "recent", lim); res.Remaining != 3 {
		t.Errorf("recently used bucket: got %+v; want kept with 3 remaining", res)
	}
	if res, _ := m.Peek(ctx, "k0", lim); res.Remaining != 5 {
		t.Errorf("least recently used bucket: got %+v; want forgotten (full)", res)
	}
}

// TestDeviceAttemptsFromManyAddresses: a known device (or a
// changePassword session) is limited like a client address whatever
// addresses it comes from, failed attempts or not.
func TestDeviceAttemptsFromManyAddresses(t *testing.T) {
	client := testenv.StartRedis(t).Client(t)
	// A slow refill keeps Redis' real clock from refilling while the test runs.
	cfg := ratelimit.Config{Client: ratelimit.Limit{Rate: 100, Period: 100 * time.Minute}}
	for name, store := range backends(t, client, "devices:") {
		t.Run(name, func(t *testing.T) {
			l, err := ratelimit.NewLogin(store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 101; i++ {
				a := ratelimit.Attempt{Email: "owner@example.com", IP: fmt.Sprintf("10.%d.%d.1", i/256, i%256), Device: "session:s1"}
				d := success(t, l, a)
				if want := i <= 100; d.Allowed != want || (!want && d.Limit != ratelimit.LimitClient) {
					t.Fatalf("attempt %d: got %+v; want allowed %v", i, d, want)
				}
			}
		})
	}
}
