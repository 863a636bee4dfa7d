package auth_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/password"
	"github.com/authmesh/authmesh/internal/ratelimit"
)

func (e *env) hasher(t *testing.T) *password.Hasher {
	t.Helper()
	h, ok := e.cfg.Passwords.(*password.Hasher)
	if !ok {
		t.Fatalf("env's Passwords is %T; want *password.Hasher", e.cfg.Passwords)
	}
	return h
}

func (e *env) limited(t *testing.T) {
	t.Helper()
	lim, err := ratelimit.NewLogin(ratelimit.NewMemory(e.clock.Now, 0), ratelimit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = e.withLimiter(t, lim)
}

// TestLoginHashWork: an unknown email costs the same argon2id work as a
// wrong password (counted, not timed), so the answer cannot tell them apart.
func TestLoginHashWork(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	e.signup(t, "known@example.com")
	h := e.hasher(t)
	for _, tc := range []struct {
		name, email, password string
		code                  auth.Code
	}{
		{"unknown email", "nobody@example.com", "Test1234!", auth.CodeInvalidCredentials},
		{"wrong password", "known@example.com", "wrong-password", auth.CodeInvalidCredentials},
		{"right password", "known@example.com", "Test1234!", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Computations()
			_, err := e.svc.Login(context.Background(), tc.email, tc.password, e.clients)
			if tc.code != "" {
				wantCode(t, err, tc.code)
			} else if err != nil {
				t.Fatal(err)
			}
			if n := h.Computations() - before; n != 1 {
				t.Errorf("got %d argon2id computations; want 1", n)
			}
		})
	}
}

// TestConcurrentGuessesAreReserved: guesses that arrive together are bounded
// like sequential ones: of 30 at once for one account from one client, only
// the account+client budget (5) is evaluated, for login and for
// changePassword's old-password check alike.
func TestConcurrentGuessesAreReserved(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	cur := e.signup(t, "victim@example.com")
	e.limited(t)
	c := e.caller(t, cur.Token)
	h := e.hasher(t)
	for _, tc := range []struct {
		name  string
		guess func(i int) error
	}{
		{"login", func(i int) error {
			_, err := e.svc.Login(context.Background(), "victim@example.com", fmt.Sprintf("guess-%d", i), e.clients)
			return err
		}},
		{"changePassword", func(i int) error {
			return e.svc.ChangePassword(context.Background(), c, fmt.Sprintf("guess-%d", i), "Changed-5678")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Computations()
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[auth.Code]int{}
			for i := range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code := auth.ErrorCode(tc.guess(i))
					mu.Lock()
					codes[code]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if codes[auth.CodeInvalidCredentials] != 5 || codes[auth.CodeRateLimited] != 25 {
				t.Errorf("got codes %v; want 5 %s and 25 %s", codes, auth.CodeInvalidCredentials, auth.CodeRateLimited)
			}
			if n := h.Computations() - before; n != 5 {
				t.Errorf("got %d argon2id computations; want 5", n)
			}
		})
	}
}

// TestChangePasswordVerifiesOldPassword: a wrong old password is refused
// even when the new one is the current password, and nothing changes; so a
// holder of a stolen access token cannot test guesses through it.
func TestChangePasswordVerifiesOldPassword(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	cur := e.signup(t, "p@example.com")
	other, err := e.svc.Login(ctx, "p@example.com", "Test1234!", e.clients)
	if err != nil {
		t.Fatal(err)
	}
	c := e.caller(t, cur.Token)
	wantCode(t, e.svc.ChangePassword(ctx, c, "a-wrong-guess", "Test1234!"), auth.CodeInvalidCredentials)
	if _, err := e.svc.Authenticate(ctx, other.Token); err != nil {
		t.Fatalf("other session after a refused change: %v; want still live", err)
	}
	if _, err := e.svc.Login(ctx, "p@example.com", "Test1234!", e.clients); err != nil {
		t.Fatalf("login with the unchanged password: %v", err)
	}
}

// TestKnownDeviceIsNotLockedOut: failures from unknown devices spend the
// account's shared budget, and then a login from yet another unknown device
// is refused; the owner presenting the device token of an earlier login
// logs in regardless. A device token of another account, or garbage,
// counts as no device token.
func TestKnownDeviceIsNotLockedOut(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "a.db"))
	ctx := context.Background()
	owner := e.signup(t, "victim@example.com")
	other := e.signup(t, "other@example.com")
	if owner.DeviceToken == "" || owner.DeviceToken == other.DeviceToken {
		t.Fatalf("login: got device tokens %q and %q; want one each", owner.DeviceToken, other.DeviceToken)
	}
	e.limited(t)
	for n := 0; n < 4; n++ {
		for i := 0; i < 5; i++ {
			_, err := e.svc.Login(ctx, "victim@example.com", "wrong", auth.ClientInfo{IP: fmt.Sprintf("203.0.%d.%d", n, i)})
			wantCode(t, err, auth.CodeInvalidCredentials)
		}
	}
	for _, tc := range []struct {
		name, device string
		code         auth.Code
	}{
		{"no device token", "", auth.CodeRateLimited},
		{"garbage device token", "not-a-token", auth.CodeRateLimited},
		{"another account's device token", other.DeviceToken, auth.CodeRateLimited},
		{"an access token", owner.Token, auth.CodeRateLimited},
		{"the owner's device token", owner.DeviceToken, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.svc.Login(ctx, "victim@example.com", "Test1234!", auth.ClientInfo{IP: "192.0.2.99", DeviceToken: tc.device})
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatalf("got %v; want a login", err)
			}
			if res.DeviceToken == "" {
				t.Error("got no device token; want the device's, re-issued")
			}
		})
	}
}
