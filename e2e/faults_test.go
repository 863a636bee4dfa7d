package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// hangGuard bounds a call that must answer: far above REDIS_TIMEOUT, it
// tells a hang from an answer, and times nothing.
const hangGuard = 30 * time.Second

// graphQLAnswer posts query and fails the test if no answer comes within
// hangGuard.
func graphQLAnswer(t *testing.T, base, query, bearer string) (int, gqlResult) {
	t.Helper()
	type answer struct {
		code int
		r    gqlResult
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		code, r, err := postGraphQL(base, query, bearer, http.Header{"User-Agent": {browserUA}})
		done <- answer{code, r, err}
	}()
	select {
	case a := <-done:
		if a.err != nil {
			t.Fatalf("POST /graphql %s: %v", query, a.err)
		}
		return a.code, a.r
	case <-time.After(hangGuard):
		t.Fatalf("POST /graphql %s: no answer after %s: the call hangs", query, hangGuard)
		return 0, gqlResult{}
	}
}

// While Redis is paused (SIGSTOP: connections open, nothing answered), a
// logout answers with an error once REDIS_TIMEOUT passes instead of
// hanging; after Redis resumes, the client's retry of the same logout
// succeeds and the token is refused at the microservice. Retrying a logout
// (or a logout everywhere) that completed succeeds too, while the ended
// token stays refused for everything else.
func TestLogoutRidesThroughPausedRedis(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{
		"JWT_SECRET": quickSecret + "-0123456789", "REDIS_ADDR": rs.Addr, "DATA_DIR": t.TempDir(), "REDIS_TIMEOUT": "300ms",
	}), "/healthz")
	svc := start(t, exampleBin, map[string]string{"JWT_SECRET": quickSecret + "-0123456789", "REDIS_ADDR": rs.Addr}, "/health")
	a := registerAndLogin(t, auth.URL, "paused@example.com")
	waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusOK, 10*time.Second)

	rs.Pause()
	code, r := graphQLAnswer(t, auth.URL, `mutation { logout }`, a.Token)
	if code >= 500 || r.code() != "INTERNAL" {
		t.Fatalf("logout while Redis is paused: status %d, code %q (%v); want 200 with INTERNAL", code, r.code(), r.Errors)
	}
	rs.Resume()

	var ok bool
	retry := func(op, bearer string) {
		t.Helper()
		_, r := graphQLAnswer(t, auth.URL, `mutation { `+op+` }`, bearer)
		if len(r.Errors) > 0 {
			t.Fatalf("%s retried: %s (%v); want success", op, r.Errors[0].Message, r.Errors[0].Extensions)
		}
		if r.field(t, op, &ok); !ok {
			t.Fatalf("%s retried: got false", op)
		}
	}
	retry("logout", a.Token) // the retry after Redis resumed
	retry("logout", a.Token) // the retry of a logout that completed
	waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusUnauthorized, 10*time.Second)
	for _, q := range []string{`query { me { id } }`, `mutation { revokeSession(id: "x") }`} {
		if _, r := graphQLAnswer(t, auth.URL, q, a.Token); r.code() != "UNAUTHENTICATED" {
			t.Errorf("%s with the logged-out token: code %q; want UNAUTHENTICATED", q, r.code())
		}
	}

	// A session that ended on its own is not a completed logout everywhere:
	// its token cannot log the user out of their other sessions.
	b := login(t, auth.URL, a)
	other := login(t, auth.URL, a)
	gql(t, auth.URL, `mutation { logout }`, b.Token).field(t, "logout", &ok)
	if _, r := graphQLAnswer(t, auth.URL, `mutation { logoutAll }`, b.Token); r.code() != "UNAUTHENTICATED" {
		t.Errorf("logoutAll with a logged-out token: code %q; want UNAUTHENTICATED", r.code())
	}
	if code, body := get(t, svc.URL+"/api/protected", other.Token); code != http.StatusOK {
		t.Errorf("the user's other session after a refused logoutAll: %d %s; want 200", code, strings.TrimSpace(body))
	}

	// A logout everywhere that completed succeeds when retried, and a
	// logout with a token it ended succeeds too.
	retry("logoutAll", other.Token)
	retry("logoutAll", other.Token)
	retry("logout", other.Token)
	waitStatus(t, svc.URL+"/api/protected", other.Token, http.StatusUnauthorized, 10*time.Second)
}

// waitLog waits until p's output contains want, at most within.
func waitLog(t *testing.T, p *service, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.Logs(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%q not logged after %s:\n%s", want, within, p.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// When Redis dies and comes back, the validator says so in the structured
// log, and go-redis' own messages are structured lines too: neither binary
// prints a raw "redis: " line.
func TestRedisOutageIsLoggedStructured(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	const secret = quickSecret + "-0123456789"
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"JWT_SECRET": secret, "REDIS_ADDR": rs.Addr, "DATA_DIR": t.TempDir()}), "/healthz")
	svc := start(t, exampleBin, map[string]string{"JWT_SECRET": secret, "REDIS_ADDR": rs.Addr}, "/health")
	waitLog(t, svc, `msg="revoke: connected to the Redis revocation source"`, 10*time.Second)

	rs.Stop()
	waitLog(t, svc, `msg="revoke: lost the Redis revocation source; validating on the last known state"`, 20*time.Second)
	waitLog(t, svc, `component=go-redis`, 20*time.Second)
	rs.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(svc.Logs(), "connected to the Redis revocation source") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the validator did not log its reconnection:\n%s", svc.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, p := range map[string]*service{"auth service": auth, "microservice": svc} {
		for _, line := range strings.Split(p.Logs(), "\n") {
			if strings.HasPrefix(line, "redis: ") {
				t.Errorf("%s printed a raw go-redis line: %s", name, line)
			}
		}
	}
}

// A PostgreSQL restart under a steady trickle of requests (reads: me;
// writes: login, logout) gives no INTERNAL answer: the auth service
// retries what the restart interrupted. The test restarts a PostgreSQL of
// its own.
func TestPostgresRestartGivesNoInternalAnswers(t *testing.T) {
	serverBin, _ := binaries(t)
	pg := testenv.StartPostgres(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATABASE_URL": pg.URL}), "/healthz")
	a := registerAndLogin(t, auth.URL, "pg-restart@example.com")
	queries := []struct{ name, query, bearer string }{
		{"me", `query { me { id } }`, a.Token},
		{"login", `mutation { login(input: {email: "pg-restart@example.com", password: "Test1234!"}) { token } }`, ""},
	}
	var answered atomic.Int64
	var mu sync.Mutex
	var bad []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, r, err := postGraphQL(auth.URL, q.query, q.bearer, http.Header{"User-Agent": {browserUA}})
				if err != nil || code >= 500 || len(r.Errors) > 0 {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s: status %d, code %q, err %v", q.name, code, r.code(), err))
					mu.Unlock()
				}
				answered.Add(1)
				time.Sleep(10 * time.Millisecond) // a trickle, not a flood
			}
		}()
	}
	waitAnswered := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(hangGuard)
		for answered.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d answers after %s; want %d", answered.Load(), hangGuard, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAnswered(20)
	pg.Restart()
	waitAnswered(answered.Load() + 40) // answers from the restarted server
	close(stop)
	wg.Wait()
	for _, b := range bad {
		t.Errorf("across the PostgreSQL restart: %s", b)
	}
	if !strings.Contains(auth.Logs(), "store: database connection lost; retrying") {
		t.Errorf("the restart was not noticed (no retry logged): the test did not exercise it\n%s", auth.Logs())
	}
}
