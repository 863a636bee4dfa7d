package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// feedClients reads authmesh_feed_clients from a replica's metrics.
func feedClients(t *testing.T, s *service) string {
	t.Helper()
	_, body := get(t, s.URL+"/metrics", "")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "authmesh_feed_clients "); ok {
			return v
		}
	}
	return ""
}

// TestValidatorFailsOverBetweenAuthURLs: a validator given two auth
// replicas (one PostgreSQL, no Redis: revocations through the feed)
// follows one; once that one is killed, a logout made through the other
// still reaches it, and tokens the other signs still verify.
func TestValidatorFailsOverBetweenAuthURLs(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	env := merge(cheapArgon, map[string]string{"DATABASE_URL": testenv.StartPostgres(t).URL})
	repA := start(t, serverBin, env, "/readyz")
	repB := start(t, serverBin, env, "/readyz")
	svc := start(t, exampleBin, map[string]string{"AUTH_URL": repA.URL + "," + repB.URL}, "/readyz")

	var followed, other *service
	testenv.WaitFor(t, "the validator following one replica's feed", func() bool {
		switch {
		case feedClients(t, repA) == "1":
			followed, other = repA, repB
		case feedClients(t, repB) == "1":
			followed, other = repB, repA
		}
		return followed != nil
	})
	a := registerAndLogin(t, other.URL, "failover@example.com")
	waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusOK, 10*time.Second)

	followed.process.Kill() // a crash: no clean end of stream
	followed.process = nil
	gql(t, other.URL, `mutation { logout }`, a.Token)
	took := waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusUnauthorized, 10*time.Second)
	t.Logf("logout through the surviving replica seen %s after it answered", took)
	testenv.WaitFor(t, "the validator following the surviving replica", func() bool { return feedClients(t, other) == "1" })

	b := login(t, other.URL, a)
	waitStatus(t, svc.URL+"/api/protected", b.Token, http.StatusOK, 10*time.Second)
	if code, status := probeStatus(t, svc.URL+"/readyz"); code != http.StatusOK || status != "ok" {
		t.Fatalf("validator /readyz after failover: %d %q; want 200 ok", code, status)
	}
}
