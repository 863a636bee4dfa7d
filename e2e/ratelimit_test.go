package e2e_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/authmesh/authmesh/internal/testenv"
)

// loginFrom attempts a login as client ip (the service trusts loopback as a
// proxy here, so X-Forwarded-For names the client).
func loginFrom(t *testing.T, base, ip, email, password string) gqlResult {
	t.Helper()
	return mustGraphQL(t, base, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token } }`, email, password),
		"", http.Header{"X-Forwarded-For": {ip}})
}

// TestLoginLimits: 30 wrong passwords for one account from one client are
// limited from the 6th on; that client can still log into another account;
// the owner, from another IP, is not locked out. Run on Redis (shared by
// replicas) and in memory (embedded).
func TestLoginLimits(t *testing.T) {
	serverBin, _ := binaries(t)
	for _, mode := range []string{"redis", "embedded"} {
		t.Run(mode, func(t *testing.T) {
			env := merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir(), "TRUSTED_PROXIES": "127.0.0.1/32,::1/128"})
			if mode == "redis" {
				env["REDIS_ADDR"] = testenv.StartRedis(t).Addr
			}
			auth := start(t, serverBin, env, "/healthz")
			victim := registerAndLogin(t, auth.URL, "victim@example.com")
			registerAndLogin(t, auth.URL, "attacker@example.com")

			const attacker, owner = "203.0.113.7", "198.51.100.20"
			for i := 1; i <= 30; i++ {
				r := loginFrom(t, auth.URL, attacker, victim.Email, "wrong-password")
				want := "INVALID_CREDENTIALS"
				if i >= 6 {
					want = "RATE_LIMITED"
				}
				if r.code() != want {
					t.Fatalf("attempt %d: got %q; want %s", i, r.code(), want)
				}
				if want == "RATE_LIMITED" {
					if ra, ok := r.Errors[0].Extensions["retryAfter"].(float64); !ok || ra < 1 {
						t.Fatalf("attempt %d: RATE_LIMITED without retryAfter: %v", i, r.Errors[0].Extensions)
					}
				}
			}
			if r := loginFrom(t, auth.URL, attacker, "attacker@example.com", "Test1234!"); r.code() != "" {
				t.Fatalf("same client, another account: got %q; want success", r.code())
			}
			if r := loginFrom(t, auth.URL, owner, victim.Email, victim.Password); r.code() != "" {
				t.Fatalf("owner from another IP: got %q; want success", r.code())
			}
		})
	}
}
