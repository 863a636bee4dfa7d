package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// TestDeviceSessionsAtTheMicroservice: every way of ending a session is
// seen by a running microservice, and sessions that were not ended keep
// working, in every deployment mode.
func TestDeviceSessionsAtTheMicroservice(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			auth, svc := m.deploy(t, map[string]string{"REFRESH_REUSE_GRACE": "1s"})
			deviceSessions(t, auth, svc)
		})
	}
}

// replayUntilReused presents a retired refresh token until its rotation's
// REFRESH_REUSE_GRACE has passed, waiting on the auth service's answer, not
// on the clock: within the grace (a racing tab) the answer must be the
// chain's current refresh token, and nothing else; once the grace is over,
// REFRESH_TOKEN_REUSED.
func replayUntilReused(t *testing.T, authURL, retired, current string) {
	t.Helper()
	replay := fmt.Sprintf(`mutation { refreshToken(token: %q) { token refreshToken } }`, retired)
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := gql(t, authURL, replay, "")
		if r.code() == "REFRESH_TOKEN_REUSED" {
			return
		}
		var pair struct{ Token, RefreshToken string }
		r.field(t, "refreshToken", &pair)
		if pair.RefreshToken != current {
			t.Fatalf("replay within the grace: got refresh token %q; want the chain's current one", pair.RefreshToken)
		}
		if time.Now().After(deadline) {
			t.Fatal("replayed refresh token still accepted 15s after its rotation; want REFRESH_TOKEN_REUSED once REFRESH_REUSE_GRACE has passed")
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

func deviceSessions(t *testing.T, auth, svc *service) {
	t.Helper()
	protected := svc.URL + "/api/protected"

	laptop := registerAndLogin(t, auth.URL, "devices@example.com")
	phone := login(t, auth.URL, laptop)
	tablet := login(t, auth.URL, laptop)
	watch := login(t, auth.URL, laptop)

	var list []struct {
		ID         string
		Current    bool
		DeviceName string
	}
	gql(t, auth.URL, `query { sessions { id current deviceType deviceName ipAddress userAgent createdAt lastUsedAt } }`, laptop.Token).field(t, "sessions", &list)
	if len(list) != 4 {
		t.Fatalf("sessions: got %d; want 4", len(list))
	}

	var ok bool
	// revokeSession: the phone stops working, the others do not.
	gql(t, auth.URL, fmt.Sprintf(`mutation { revokeSession(id: %q) }`, phone.Session), laptop.Token).field(t, "revokeSession", &ok)
	waitStatus(t, protected, phone.Token, 401, 5*time.Second)
	mustStatus(t, protected, 200, laptop.Token, tablet.Token, watch.Token)

	// Refresh-token theft: replaying a retired token ends the tablet session.
	var pair struct{ Token, RefreshToken string }
	gql(t, auth.URL, fmt.Sprintf(`mutation { refreshToken(token: %q) { token refreshToken } }`, tablet.Refresh), "").field(t, "refreshToken", &pair)
	mustStatus(t, protected, 200, pair.Token)
	replayUntilReused(t, auth.URL, tablet.Refresh, pair.RefreshToken)
	waitStatus(t, protected, pair.Token, 401, 5*time.Second)
	mustStatus(t, protected, 401, tablet.Token)
	mustStatus(t, protected, 200, laptop.Token, watch.Token)

	// changePassword ends every other session and keeps the current one.
	gql(t, auth.URL, `mutation { changePassword(input: {oldPassword: "Test1234!", newPassword: "Changed-5678"}) }`, laptop.Token).field(t, "changePassword", &ok)
	waitStatus(t, protected, watch.Token, 401, 5*time.Second)
	mustStatus(t, protected, 200, laptop.Token)

	// logoutAll ends the rest, and a new login works right away.
	gql(t, auth.URL, `mutation { logoutAll }`, laptop.Token).field(t, "logoutAll", &ok)
	waitStatus(t, protected, laptop.Token, 401, 5*time.Second)
	laptop.Password = "Changed-5678"
	fresh := login(t, auth.URL, laptop)
	mustStatus(t, protected, 200, fresh.Token)
	var me struct{ ID, Email string }
	gql(t, auth.URL, `query { me { id email createdAt } }`, fresh.Token).field(t, "me", &me)
	if me.ID != laptop.UserID || !strings.EqualFold(me.Email, laptop.Email) {
		t.Fatalf("me: got %+v", me)
	}
}

func mustStatus(t *testing.T, url string, want int, tokens ...string) {
	t.Helper()
	for i, tok := range tokens {
		if code, body := get(t, url, tok); code != want {
			t.Fatalf("token %d: got %d %q; want %d", i, code, body, want)
		}
	}
}

// TestRedisTopologies runs logout → 401 with the auth service and the
// microservice configured for Redis Cluster (an address list) and for
// Sentinel (REDIS_MASTER_NAME), as operators would configure them.
func TestRedisTopologies(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	t.Run("cluster", func(t *testing.T) {
		c := testenv.StartRedisCluster(t, 3)
		topologyQuickStart(t, serverBin, exampleBin, map[string]string{"REDIS_ADDR": strings.Join(c.Addrs(), ",")})
	})
	t.Run("sentinel", func(t *testing.T) {
		s := testenv.StartRedisSentinel(t)
		topologyQuickStart(t, serverBin, exampleBin, map[string]string{
			"REDIS_ADDR": strings.Join(s.SentinelAddrs(), ","), "REDIS_MASTER_NAME": s.MasterName,
		})
	})
}

func topologyQuickStart(t *testing.T, serverBin, exampleBin string, redisEnv map[string]string) {
	t.Helper()
	env := merge(redisEnv, map[string]string{"JWT_SECRET": quickSecret + "-0123456789"})
	auth := start(t, serverBin, merge(env, cheapArgon, map[string]string{"DATA_DIR": t.TempDir()}), "/readyz")
	svc := start(t, exampleBin, env, "/health")
	a := registerAndLogin(t, auth.URL, "topology@example.com")
	b := login(t, auth.URL, a)
	quickStartRequests(t, svc.URL, a)
	var ok bool
	gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &ok)
	waitStatus(t, svc.URL+"/api/protected", a.Token, 401, 5*time.Second)
	mustStatus(t, svc.URL+"/api/protected", 200, b.Token)
}
