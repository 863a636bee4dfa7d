package e2e_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// trustLoopback makes the auth service take the client address from
// X-Forwarded-For, so one test process can be many clients.
var trustLoopback = map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32,::1/128"}

// hashCount reads authmesh_password_hashes_total, the argon2id computations
// the auth service has run, from its /metrics.
func hashCount(t *testing.T, base string) int {
	t.Helper()
	code, body := get(t, base+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "authmesh_password_hashes_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("authmesh_password_hashes_total %q: %v", v, err)
			}
			return int(f)
		}
	}
	// Not fatal: the behaviour the caller checks next still gets checked.
	t.Error("no authmesh_password_hashes_total in /metrics")
	return 0
}

// concurrently runs n GraphQL requests at once and counts the first error
// code of each answer ("" for success).
func concurrently(t *testing.T, n int, do func(i int) (int, gqlResult, error)) map[string]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	codes := map[string]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, r, err := do(i)
			if err != nil || status >= 500 {
				t.Errorf("request %d: status %d, %v", i, status, err)
				return
			}
			mu.Lock()
			codes[r.code()]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes
}

// TestConcurrentGuesses: 30 wrong passwords for one account from one client,
// sent at once, are bounded by the account+client budget (5) exactly as if
// they came one by one: only 5 reach the password hash. The same holds for
// changePassword's old-password check with one access token.
func TestConcurrentGuesses(t *testing.T) {
	for _, m := range modes()[:2] {
		t.Run(m.name, func(t *testing.T) {
			auth, _ := m.deploy(t, trustLoopback)
			victim := registerAndLogin(t, auth.URL, "victim@example.com")
			from := http.Header{"X-Forwarded-For": {"203.0.113.7"}}

			before := hashCount(t, auth.URL)
			codes := concurrently(t, 30, func(i int) (int, gqlResult, error) {
				return postGraphQL(auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: "guess-%d"}) { token } }`, victim.Email, i), "", from)
			})
			if codes["INVALID_CREDENTIALS"] != 5 || codes["RATE_LIMITED"] != 25 {
				t.Errorf("30 concurrent wrong logins: got %v; want 5 INVALID_CREDENTIALS and 25 RATE_LIMITED", codes)
			}
			if n := hashCount(t, auth.URL) - before; n != 5 {
				t.Errorf("30 concurrent wrong logins ran %d password hashes; want 5", n)
			}

			before = hashCount(t, auth.URL)
			codes = concurrently(t, 30, func(i int) (int, gqlResult, error) {
				return postGraphQL(auth.URL, fmt.Sprintf(`mutation { changePassword(input: {oldPassword: "guess-%d", newPassword: "Changed-5678"}) }`, i), victim.Token, from)
			})
			if codes["INVALID_CREDENTIALS"] != 5 || codes["RATE_LIMITED"] != 25 {
				t.Errorf("30 concurrent wrong changePasswords: got %v; want 5 INVALID_CREDENTIALS and 25 RATE_LIMITED", codes)
			}
			if n := hashCount(t, auth.URL) - before; n != 5 {
				t.Errorf("30 concurrent wrong changePasswords ran %d password hashes; want 5", n)
			}
		})
	}
}

// TestLoginHashWorkEndToEnd: an unknown email costs the running service the
// same password-hash work as a wrong password (counted, not timed).
func TestLoginHashWorkEndToEnd(t *testing.T) {
	auth, _ := modes()[1].deploy(t, nil)
	a := registerAndLogin(t, auth.URL, "known@example.com")
	for _, tc := range []struct{ name, email, password string }{
		{"unknown email", "nobody@example.com", a.Password},
		{"wrong password", a.Email, "wrong-password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hashCount(t, auth.URL)
			r := gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token } }`, tc.email, tc.password), "")
			if r.code() != "INVALID_CREDENTIALS" {
				t.Fatalf("got %q; want INVALID_CREDENTIALS", r.code())
			}
			if n := hashCount(t, auth.URL) - before; n != 1 {
				t.Errorf("got %d password hashes; want 1", n)
			}
		})
	}
}

// TestChangePasswordWrongOld: a wrong oldPassword with newPassword equal to
// the current password is refused and ends nothing, so a stolen access
// token cannot confirm a guess of the password.
func TestChangePasswordWrongOld(t *testing.T) {
	for _, m := range modes()[:2] {
		t.Run(m.name, func(t *testing.T) {
			auth, _ := m.deploy(t, nil)
			a := registerAndLogin(t, auth.URL, "owner@example.com")
			other := login(t, auth.URL, a)
			r := gql(t, auth.URL, fmt.Sprintf(`mutation { changePassword(input: {oldPassword: "a-wrong-guess", newPassword: %q}) }`, a.Password), a.Token)
			if r.code() != "INVALID_CREDENTIALS" {
				t.Fatalf("wrong old password, new = current: got %q (%s); want INVALID_CREDENTIALS", r.code(), r.Data["changePassword"])
			}
			if r := gql(t, auth.URL, `{ me { id } }`, other.Token); r.code() != "" {
				t.Fatalf("other session after the refused change: got %q; want still live", r.code())
			}
		})
	}
}

// TestAliasedPasswordWork: one request with 24 aliased changePassword or
// login fields (as many as the field limit lets through) runs the password
// hash once, not 24 (or 48) times; the other aliases are refused with
// BAD_USER_INPUT.
func TestAliasedPasswordWork(t *testing.T) {
	auth, _ := modes()[1].deploy(t, nil)
	a := registerAndLogin(t, auth.URL, "owner@example.com")
	aliased := func(field func(i int) string) string {
		var b strings.Builder
		b.WriteString("mutation {")
		for i := range 24 {
			fmt.Fprintf(&b, " a%d: %s", i, field(i))
		}
		return b.String() + " }"
	}
	for _, tc := range []struct {
		name, query, bearer string
	}{
		{"changePassword", aliased(func(i int) string {
			return fmt.Sprintf(`changePassword(input: {oldPassword: "guess-%d", newPassword: %q})`, i, a.Password)
		}), a.Token},
		{"login", aliased(func(i int) string {
			return fmt.Sprintf(`login(input: {email: "nobody%d@example.com", password: "guess"}) { token }`, i)
		}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hashCount(t, auth.URL)
			r := gql(t, auth.URL, tc.query, tc.bearer)
			if n := hashCount(t, auth.URL) - before; n != 1 {
				t.Errorf("24 aliases ran %d password hashes; want 1", n)
			}
			refused := 0
			for _, e := range r.Errors {
				if e.Extensions["code"] == "BAD_USER_INPUT" {
					refused++
				}
			}
			if refused != 23 {
				t.Errorf("got %d aliases refused with BAD_USER_INPUT (%v); want 23", refused, r.Errors)
			}
		})
	}
}

// TestIPv6LimitedPerSlash64: an IPv6 client is limited per /64, so five
// wrong passwords from five addresses of one /64 spend that client's
// budget on the account; another /64 still has its own.
func TestIPv6LimitedPerSlash64(t *testing.T) {
	auth, _ := modes()[1].deploy(t, trustLoopback)
	victim := registerAndLogin(t, auth.URL, "victim@example.com")
	for i := 1; i <= 5; i++ {
		if r := loginFrom(t, auth.URL, fmt.Sprintf("2001:db8:1:2::%x", i), victim.Email, "wrong-password"); r.code() != "INVALID_CREDENTIALS" {
			t.Fatalf("failure %d: got %q; want INVALID_CREDENTIALS", i, r.code())
		}
	}
	for _, tc := range []struct{ ip, want string }{
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "RATE_LIMITED"},
		{"2001:db8:1:3::1", "INVALID_CREDENTIALS"},
	} {
		if r := loginFrom(t, auth.URL, tc.ip, victim.Email, "wrong-password"); r.code() != tc.want {
			t.Errorf("from %s: got %q; want %s", tc.ip, r.code(), tc.want)
		}
	}
}
