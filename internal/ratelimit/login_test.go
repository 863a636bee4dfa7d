package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/ratelimit"
	"github.com/authmesh/authmesh/internal/testenv"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// backends returns a fresh Store of each kind; the Redis one is on client
// under its own prefix.
func backends(t *testing.T, client *redis.Client, prefix string) map[string]ratelimit.Store {
	t.Helper()
	r, err := ratelimit.NewRedis(client, prefix)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	return map[string]ratelimit.Store{
		"redis":  r,
		"memory": ratelimit.NewMemory(clock.Now, 0),
	}
}

func newLogin(t *testing.T, s ratelimit.Store) *ratelimit.Login {
	t.Helper()
	l, err := ratelimit.NewLogin(s, ratelimit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// attempt runs one failed login attempt (a reservation that is never given
// back) and returns the decision.
func attempt(t *testing.T, l *ratelimit.Login, email, ip string) ratelimit.Decision {
	t.Helper()
	return attemptOn(t, l, ratelimit.Attempt{Email: email, IP: ip})
}

func attemptOn(t *testing.T, l *ratelimit.Login, a ratelimit.Attempt) ratelimit.Decision {
	t.Helper()
	d, err := l.Reserve(context.Background(), a)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return d
}

// success runs one successful login attempt.
func success(t *testing.T, l *ratelimit.Login, a ratelimit.Attempt) ratelimit.Decision {
	t.Helper()
	d := attemptOn(t, l, a)
	if d.Allowed {
		if err := l.Succeeded(context.Background(), a); err != nil {
			t.Fatalf("Succeeded: %v", err)
		}
	}
	return d
}

// The same scenarios run against every backend.
var scenarios = []struct {
	name string
	cfg  ratelimit.Config // zero: the defaults
	run  func(t *testing.T, l *ratelimit.Login)
}{
	{"30 wrong passwords: limited by the 6th", ratelimit.Config{}, func(t *testing.T, l *ratelimit.Login) {
		for i := 1; i <= 30; i++ {
			d := attempt(t, l, "victim@example.com", "198.51.100.1")
			if want := i <= 5; d.Allowed != want {
				t.Fatalf("attempt %d: got allowed %v; want %v", i, d.Allowed, want)
			}
			if !d.Allowed {
				if d.Limit != ratelimit.LimitAccountClient {
					t.Fatalf("attempt %d: got limit %q; want %q", i, d.Limit, ratelimit.LimitAccountClient)
				}
				if d.RetryAfter <= 2*time.Minute || d.RetryAfter > 3*time.Minute {
					t.Fatalf("attempt %d: got RetryAfter %v; want about 3m", i, d.RetryAfter)
				}
			}
		}
	}},
	{"same client can try another account", ratelimit.Config{}, func(t *testing.T, l *ratelimit.Login) {
		for i := 0; i < 10; i++ {
			attempt(t, l, "victim@example.com", "198.51.100.1")
		}
		if d := attempt(t, l, "other@example.com", "198.51.100.1"); !d.Allowed {
			t.Errorf("other account from the same client: got %+v; want allowed", d)
		}
	}},
	{"email is case- and space-insensitive", ratelimit.Config{}, func(t *testing.T, l *ratelimit.Login) {
		for i := 0; i < 5; i++ {
			attempt(t, l, "Victim@Example.com", "198.51.100.1")
		}
		if d := attempt(t, l, " victim@example.COM ", "198.51.100.1"); d.Allowed {
			t.Errorf("same email in other case: got allowed; want limited")
		}
	}},
	{"owner from another IP is not locked out", ratelimit.Config{}, func(t *testing.T, l *ratelimit.Login) {
		for i := 0; i < 30; i++ {
			attempt(t, l, "victim@example.com", "198.51.100.1")
		}
		d, err := l.Reserve(context.Background(), ratelimit.Attempt{Email: "victim@example.com", IP: "203.0.113.9"})
		if err != nil || !d.Allowed {
			t.Errorf("owner elsewhere: got %+v, %v; want allowed", d, err)
		}
	}},
	{"distributed guessing slows the account, does not lock it for an hour", ratelimit.Config{}, func(t *testing.T, l *ratelimit.Login) {
		for c := 0; c < 4; c++ {
			for i := 0; i < 5; i++ {
				if d := attempt(t, l, "victim@example.com", fmt.Sprintf("198.51.%d.1", 100+c)); !d.Allowed {
					t.Fatalf("client %d attempt %d: got %+v; want allowed", c, i, d)
				}
			}
		}
		d := attempt(t, l, "victim@example.com", "203.0.113.9")
		if d.Allowed || d.Limit != ratelimit.LimitAccount {
			t.Fatalf("21st failure on the account: got %+v; want refused by %q", d, ratelimit.LimitAccount)
		}
		if d.RetryAfter > 3*time.Minute {
			t.Errorf("got RetryAfter %v; want at most 3m (spaced, not locked for the hour)", d.RetryAfter)
		}
		if d := attempt(t, l, "someone-else@example.com", "203.0.113.9"); !d.Allowed {
			t.Errorf("another account: got %+v; want allowed", d)
		}
	}},
	{"success resets the account+client failures", ratelimit.Config{}, func(t *testing.T, l *ratelimit.Login) {
		for i := 0; i < 4; i++ {
			attempt(t, l, "a@example.com", "198.51.100.1")
		}
		if d := success(t, l, ratelimit.Attempt{Email: "a@example.com", IP: "198.51.100.1"}); !d.Allowed {
			t.Fatalf("5th attempt: got %+v; want allowed", d)
		}
		for i := 1; i <= 5; i++ {
			if d := attempt(t, l, "a@example.com", "198.51.100.1"); !d.Allowed {
				t.Fatalf("failure %d after a success: got %+v; want allowed", i, d)
			}
		}
	}},
	// A slower refill than the default (100/min) keeps Redis' real clock
	// from refilling a slot while the test runs.
	{"per-IP attempts", ratelimit.Config{Client: ratelimit.Limit{Rate: 100, Period: 100 * time.Minute}}, func(t *testing.T, l *ratelimit.Login) {
		ctx := context.Background()
		for i := 1; i <= 100; i++ {
			d, err := l.Reserve(ctx, ratelimit.Attempt{Email: fmt.Sprintf("user%d@example.com", i), IP: "198.51.100.1"})
			if err != nil || !d.Allowed {
				t.Fatalf("attempt %d: got %+v, %v; want allowed", i, d, err)
			}
		}
		d, err := l.Reserve(ctx, ratelimit.Attempt{Email: "user0@example.com", IP: "198.51.100.1"})
		if err != nil || d.Allowed || d.Limit != ratelimit.LimitClient || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
			t.Errorf("101st attempt: got %+v, %v; want refused by %q for under a minute", d, err, ratelimit.LimitClient)
		}
		if d, _ := l.Reserve(ctx, ratelimit.Attempt{Email: "user0@example.com", IP: "2001:db8::1"}); !d.Allowed {
			t.Errorf("another IP: got %+v; want allowed", d)
		}
	}},
	{"registration per IP", ratelimit.Config{}, func(t *testing.T, l *ratelimit.Login) {
		ctx := context.Background()
		lim := ratelimit.DefaultRegister
		for i := 1; i <= lim.Rate; i++ {
			if d, err := l.Register(ctx, "198.51.100.1"); err != nil || !d.Allowed {
				t.Fatalf("registration %d: got %+v, %v; want allowed", i, d, err)
			}
		}
		d, err := l.Register(ctx, "198.51.100.1")
		interval := lim.Period / time.Duration(lim.Rate)
		if err != nil || d.Allowed || d.Limit != ratelimit.LimitRegister || d.RetryAfter <= interval/2 || d.RetryAfter > interval {
			t.Errorf("registration %d: got %+v, %v; want refused for about %s", lim.Rate+1, d, err, interval)
		}
		if d, _ := l.Register(ctx, "198.51.100.2"); !d.Allowed {
			t.Errorf("another IP: got %+v; want allowed", d)
		}
	}},
}

func TestLoginLimits(t *testing.T) {
	client := testenv.StartRedis(t).Client(t)
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for name, store := range backends(t, client, fmt.Sprintf("scenario%d:", i)) {
				t.Run(name, func(t *testing.T) {
					l, err := ratelimit.NewLogin(store, sc.cfg)
					if err != nil {
						t.Fatal(err)
					}
					sc.run(t, l)
				})
			}
		})
	}
}

func TestRedisKeysHoldNoEmail(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := srv.Client(t)
	store, err := ratelimit.NewRedis(client, "authmesh:rl:")
	if err != nil {
		t.Fatal(err)
	}
	l := newLogin(t, store)
	for i := 0; i < 3; i++ {
		attempt(t, l, "Secret.Person@example.com", "198.51.100.1")
	}
	keys, err := client.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Errorf("got keys %q; want 4 (ip, account, account+client, account+network)", keys)
	}
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k), "secret") || strings.Contains(k, "@") || !strings.Contains(k, "authmesh:rl:") {
			t.Errorf("key %q: want the prefix and no email", k)
		}
	}
}

func TestRedisDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	store, err := ratelimit.NewRedis(client, "t:")
	if err != nil {
		t.Fatal(err)
	}
	l := newLogin(t, store)
	srv.Stop()
	ctx := context.Background()
	a := ratelimit.Attempt{Email: "a@example.com", IP: "198.51.100.1"}
	d, err := l.Reserve(ctx, a)
	if !errors.Is(err, ratelimit.ErrUnavailable) || d.Allowed {
		t.Errorf("Reserve with Redis down: got %+v, %v; want refused with ErrUnavailable", d, err)
	}
	if err := l.Succeeded(ctx, a); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Errorf("Succeeded with Redis down: got %v; want ErrUnavailable", err)
	}
	if _, err := l.Register(ctx, "198.51.100.1"); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Errorf("Register with Redis down: got %v; want ErrUnavailable", err)
	}
}

func TestNewLoginConfig(t *testing.T) {
	store := ratelimit.NewMemory(nil, 0)
	if _, err := ratelimit.NewLogin(nil, ratelimit.Config{}); err == nil {
		t.Errorf("nil store: got nil error; want one")
	}
	for _, bad := range []ratelimit.Limit{{Rate: 0, Period: time.Hour, Burst: 3}, {Rate: 1 << 30, Period: time.Second}, {Rate: 1, Period: -time.Second}} {
		if _, err := ratelimit.NewLogin(store, ratelimit.Config{Account: bad}); err == nil {
			t.Errorf("limit %+v: got nil error; want one", bad)
		}
	}
	l, err := ratelimit.NewLogin(store, ratelimit.Config{AccountClient: ratelimit.Limit{Rate: 2, Period: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if d := attempt(t, l, "a@b.c", "192.0.2.1"); d.Allowed != (i <= 2) {
			t.Errorf("custom limit, attempt %d: got allowed %v; want %v", i, d.Allowed, i <= 2)
		}
	}
}

// authLimiter is the auth service's consumer interface, restated here (the
// packages do not import each other).
type authLimiter interface {
	ReserveLogin(ctx context.Context, email, ip, device string) (retryAfter time.Duration, err error)
	LoginSucceeded(ctx context.Context, email, ip, device string) error
	CheckRegister(ctx context.Context, ip string) (retryAfter time.Duration, err error)
}

var _ authLimiter = (*ratelimit.Login)(nil)

func TestAuthAdapter(t *testing.T) {
	var l authLimiter = newLogin(t, ratelimit.NewMemory(nil, 0))
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		retry, err := l.ReserveLogin(ctx, "a@b.c", "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		if (retry > 0) != (i == 6) {
			t.Fatalf("attempt %d: got retryAfter %v; want refusal only at the 6th", i, retry)
		}
	}
	if retry, _ := l.ReserveLogin(ctx, "a@b.c", "192.0.2.1", "device-1"); retry != 0 {
		t.Fatalf("known device: got retryAfter %v; want 0", retry)
	}
	if err := l.LoginSucceeded(ctx, "a@b.c", "192.0.2.1", "device-1"); err != nil {
		t.Fatal(err)
	}
	if retry, _ := l.CheckRegister(ctx, "192.0.2.1"); retry != 0 {
		t.Errorf("first registration: got retryAfter %v; want 0", retry)
	}
}
