package e2e_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/testenv"
)

// probeStatus GETs url and returns its status code and the "status" field
// of its JSON body.
func probeStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	code, body := get(t, url, "")
	var b struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("GET %s: body %q is not JSON: %v", url, body, err)
	}
	return code, b.Status
}

// waitProbe waits until url answers code with a JSON status of want.
func waitProbe(t *testing.T, url string, code int, want string) {
	t.Helper()
	testenv.WaitFor(t, url+" answering "+strconv.Itoa(code)+" "+want, func() bool {
		c, s := probeStatus(t, url)
		return c == code && s == want
	})
}

// TestProbesDoNotTakeTheFleetDown: with Redis (shared by every replica)
// paused, the auth service and the example stay live and ready, and say
// "degraded" (the auth service also in its metrics); with this replica's
// own database unreachable, the auth service is no longer ready but still
// live. An example that has not loaded its revocation state is live and
// not ready.
func TestProbesDoNotTakeTheFleetDown(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	pg := testenv.StartPostgres(t)
	const secret = quickSecret + "-0123456789"
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{
		"JWT_SECRET": secret, "REDIS_ADDR": rs.Addr, "DATABASE_URL": pg.URL, "REDIS_TIMEOUT": "500ms",
	}), "/readyz")
	svc := start(t, exampleBin, map[string]string{
		"JWT_SECRET": secret, "REDIS_ADDR": rs.Addr, "MAX_STALENESS": "1s", "FAIL_CLOSED": "true",
	}, "/readyz")
	orphan := start(t, exampleBin, map[string]string{"AUTH_URL": "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}, "/livez")

	waitProbe(t, auth.URL+"/readyz", http.StatusOK, "ok")
	waitProbe(t, svc.URL+"/readyz", http.StatusOK, "ok")
	waitProbe(t, orphan.URL+"/readyz", http.StatusServiceUnavailable, "not ready")

	rs.Pause()
	waitProbe(t, auth.URL+"/readyz", http.StatusOK, "degraded")
	waitProbe(t, svc.URL+"/readyz", http.StatusOK, "degraded")
	if code, body := get(t, auth.URL+"/metrics", ""); code != http.StatusOK || !strings.Contains(body, `authmesh_dependency_up{dependency="redis"} 0`) {
		t.Fatalf("auth /metrics while Redis is paused: got %d, want authmesh_dependency_up{dependency=\"redis\"} 0 in:\n%s", code, body)
	}
	// Failing closed, the example refuses tokens (its /health says so)
	// but stays in service: every replica is in the same state.
	if code, body := get(t, svc.URL+"/health", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "fail-closed") {
		t.Fatalf("example /health while stale: got %d %q; want 503 fail-closed", code, body)
	}
	for _, p := range []*service{auth, svc, orphan} {
		if code, s := probeStatus(t, p.URL+"/livez"); code != http.StatusOK || s != "ok" {
			t.Fatalf("%s/livez while Redis is paused: got %d %q; want 200 ok", p.URL, code, s)
		}
	}
	rs.Resume()
	waitProbe(t, auth.URL+"/readyz", http.StatusOK, "ok")
	waitProbe(t, svc.URL+"/readyz", http.StatusOK, "ok")

	pg.Stop()
	waitProbe(t, auth.URL+"/readyz", http.StatusServiceUnavailable, "unavailable")
	if code, s := probeStatus(t, auth.URL+"/livez"); code != http.StatusOK || s != "ok" {
		t.Fatalf("/livez without the database: got %d %q; want 200 ok", code, s)
	}
	if code, s := probeStatus(t, auth.URL+"/healthz"); code != http.StatusOK || s != "ok" {
		t.Fatalf("/healthz without the database: got %d %q; want 200 ok", code, s)
	}
}
