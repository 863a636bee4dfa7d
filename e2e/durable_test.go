package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// Redis without persistence loses everything on FLUSHALL; the database is
// the record of every revocation. After a FLUSHALL, a microservice that was
// running and one started afterwards both reject the logged-out token and
// accept the live one, and revocations keep working.
func TestRevocationsSurviveRedisFlushAll(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t, "--appendonly", "no")
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"REDIS_ADDR": rs.Addr, "DATA_DIR": t.TempDir()}), "/healthz")
	svcEnv := map[string]string{"REDIS_ADDR": rs.Addr, "AUTH_URL": auth.URL}
	running := start(t, exampleBin, svcEnv, "/health")

	out := registerAndLogin(t, auth.URL, "flush-out@example.com")
	live := registerAndLogin(t, auth.URL, "flush-live@example.com")
	var ok bool
	gql(t, auth.URL, `mutation { logout }`, out.Token).field(t, "logout", &ok)
	waitStatus(t, running.URL+"/api/protected", out.Token, http.StatusUnauthorized, 10*time.Second)

	lost := time.Now()
	if err := rs.Client(t).FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	later := start(t, exampleBin, svcEnv, "/health") // healthy only once Redis is re-seeded
	t.Logf("a microservice started after FLUSHALL is ready %s after it", time.Since(lost).Round(time.Millisecond))
	if !strings.Contains(auth.Logs(), "re-seeded it from the database") {
		t.Errorf("the auth service did not log the re-seed:\n%s", auth.Logs())
	}
	for name, svc := range map[string]*service{"running": running, "started later": later} {
		if code, body := get(t, svc.URL+"/api/protected", out.Token); code != http.StatusUnauthorized {
			t.Errorf("%s: logged-out token answered %d %q; want 401", name, code, body)
		}
		waitStatus(t, svc.URL+"/api/protected", live.Token, http.StatusOK, 10*time.Second)
	}

	gql(t, auth.URL, `mutation { logout }`, live.Token).field(t, "logout", &ok)
	for name, svc := range map[string]*service{"running": running, "started later": later} {
		took := waitStatus(t, svc.URL+"/api/protected", live.Token, http.StatusUnauthorized, 10*time.Second)
		t.Logf("%s: a logout after the re-seed took effect in %s", name, took)
	}
}

// A microservice configured with another ISSUER, AUDIENCE or REDIS_PREFIX
// than the auth service says so at start-up (503 on /health, with the
// reason) instead of answering 401 to every request; with the same
// non-default values on both sides, tokens work.
func TestMicroserviceConfigurationMismatch(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	authEnv := map[string]string{
		"REDIS_ADDR": rs.Addr, "DATA_DIR": t.TempDir(),
		"ISSUER": "https://auth.example", "AUDIENCE": "billing", "REDIS_PREFIX": "staging:",
	}
	auth := start(t, serverBin, merge(cheapArgon, authEnv), "/healthz")
	a := registerAndLogin(t, auth.URL, "mismatch@example.com")
	base := map[string]string{"REDIS_ADDR": rs.Addr, "AUTH_URL": auth.URL, "ISSUER": "https://auth.example", "AUDIENCE": "billing", "REDIS_PREFIX": "staging:"}

	good := start(t, exampleBin, base, "/health")
	waitStatus(t, good.URL+"/api/protected", a.Token, http.StatusOK, 10*time.Second)

	tests := []struct {
		name, key, value, says string
		feed                   bool // revocations from the feed, not Redis
	}{
		{"issuer", "ISSUER", "authentication-service", "https://auth.example", false},
		{"audience", "AUDIENCE", "search", "billing", false},
		{"prefix", "REDIS_PREFIX", "authmesh:", "REDIS_PREFIX", false},
		{"issuer through the feed", "ISSUER", "authentication-service", "https://auth.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := merge(base, map[string]string{tt.key: tt.value})
			if tt.feed {
				delete(env, "REDIS_ADDR")
			}
			svc := start(t, exampleBin, env, "/api/public")
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, body := get(t, svc.URL+"/health", "")
				if code == http.StatusServiceUnavailable && strings.Contains(body, tt.says) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/health = %d %q; want 503 naming %q", code, body, tt.says)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if code, body := get(t, svc.URL+"/api/protected", a.Token); code != http.StatusServiceUnavailable {
				t.Errorf("a valid token answered %d %q; want 503 (a configuration problem, not a bad token)", code, body)
			}
		})
	}
}
