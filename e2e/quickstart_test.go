package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/testenv"
)

const quickSecret = "your-super-secret-jwt-key-here"

// TestQuickStartRedis walks the README's quick start verbatim: HS256 with
// JWT_SECRET, revocations through Redis, logout seen by the microservice.
func TestQuickStartRedis(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	env := map[string]string{"JWT_SECRET": quickSecret, "REDIS_ADDR": rs.Addr, "REDIS_PASSWORD": ""}
	auth := start(t, serverBin, merge(env, cheapArgon, map[string]string{"DATA_DIR": t.TempDir()}), "/healthz")
	svc := start(t, exampleBin, env, "/health")

	// An operator watching the channel, as with redis-cli PSUBSCRIBE.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub := rs.Client(t).PSubscribe(ctx, "token_invalidation")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatalf("psubscribe: %v", err)
	}

	a := registerAndLogin(t, auth.URL, "A@B.c")
	quickStartRequests(t, svc.URL, a)

	var out bool
	gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &out)
	took := waitStatus(t, svc.URL+"/api/protected", a.Token, 401, 5*time.Second)
	t.Logf("logout → 401 at the microservice after %s", took)
	code, body := get(t, svc.URL+"/api/protected", a.Token)
	if code != 401 || !strings.Contains(body, "Invalid or expired token") {
		t.Fatalf("after logout: got %d %q; want 401 Invalid or expired token", code, body)
	}

	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("no event on token_invalidation: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
		t.Fatalf("event is not JSON: %q", msg.Payload)
	}
	if strings.Contains(msg.Payload, a.Token) || strings.Contains(msg.Payload, a.Refresh) {
		t.Fatalf("event contains a raw token: %s", msg.Payload)
	}
	assertNoTokensInRedis(t, rs.Client(t), a)
	if strings.Contains(auth.Logs(), a.Token) || strings.Contains(auth.Logs(), a.Password) {
		t.Fatal("auth service logged a token or password")
	}
}

// quickStartRequests checks the example's routes with a valid token.
func quickStartRequests(t *testing.T, svcURL string, a account) {
	t.Helper()
	code, body := get(t, svcURL+"/api/protected", a.Token)
	if code != 200 || !strings.HasPrefix(body, "Welcome authenticated user!\nUser ID: "+a.UserID+"\nToken ID: ") {
		t.Fatalf("/api/protected: got %d %q", code, body)
	}
	if code, body = get(t, svcURL+"/api/public", ""); code != 200 || body != "Hello! This is a public endpoint. No authentication required." {
		t.Fatalf("/api/public anonymous: got %d %q", code, body)
	}
	if code, body = get(t, svcURL+"/api/public", a.Token); code != 200 || body != "Hello! You are authenticated as user: "+a.UserID {
		t.Fatalf("/api/public with token: got %d %q", code, body)
	}
	code, body = get(t, svcURL+"/api/profile", a.Token)
	var prof map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &prof) != nil || prof["user_id"] != a.UserID || prof["issuer"] != "authentication-service" {
		t.Fatalf("/api/profile: got %d %q", code, body)
	}
	if code, _ = get(t, svcURL+"/api/protected", ""); code != 401 {
		t.Fatalf("/api/protected without token: got %d; want 401", code)
	}
}

// assertNoTokensInRedis scans every key and value for raw tokens.
func assertNoTokensInRedis(t *testing.T, rdb *redis.Client, a account) {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		dump := k
		switch rdb.Type(ctx, k).Val() {
		case "string":
			dump += rdb.Get(ctx, k).Val()
		case "hash":
			dump += fmt.Sprint(rdb.HGetAll(ctx, k).Val())
		case "zset":
			dump += fmt.Sprint(rdb.ZRange(ctx, k, 0, -1).Val())
		case "stream":
			dump += fmt.Sprint(rdb.XRange(ctx, k, "-", "+").Val())
		}
		for _, secret := range []string{a.Token, a.Refresh, a.Password} {
			if strings.Contains(dump, secret) {
				t.Fatalf("redis key %q holds a raw token or password", k)
			}
		}
	}
}

// TestQuickStartEmbedded runs with nothing configured: SQLite, EdDSA keys,
// revocations over the feed, and survives an auth-service restart.
func TestQuickStartEmbedded(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	dataDir := t.TempDir()
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": dataDir}), "/healthz")
	svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL}, "/health")

	a := registerAndLogin(t, auth.URL, "embedded@example.com")
	quickStartRequests(t, svc.URL, a)
	b := login(t, auth.URL, a) // a second device

	var out bool
	gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &out)
	t.Logf("logout → 401 over the feed after %s", waitStatus(t, svc.URL+"/api/protected", a.Token, 401, 5*time.Second))

	// Restart: users, keys and revocations persist; the validator reconnects.
	auth.Restart("/healthz")
	if code, _ := get(t, svc.URL+"/api/protected", b.Token); code != 200 {
		t.Fatalf("second device after restart: got %d; want 200", code)
	}
	if code, _ := get(t, svc.URL+"/api/protected", a.Token); code != 401 {
		t.Fatalf("logged-out token after restart: got %d; want 401", code)
	}
	c := login(t, auth.URL, a)
	if code, _ := get(t, svc.URL+"/api/protected", c.Token); code != 200 {
		t.Fatalf("token issued after restart: got %d; want 200", code)
	}
	gql(t, auth.URL, `mutation { logout }`, b.Token).field(t, "logout", &out)
	waitStatus(t, svc.URL+"/api/protected", b.Token, 401, 5*time.Second)

	// A validator started later catches up on everything.
	late := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL}, "/health")
	for _, tok := range []string{a.Token, b.Token} {
		if code, _ := get(t, late.URL+"/api/protected", tok); code != 401 {
			t.Fatalf("late validator accepted a revoked token: %d", code)
		}
	}
	if code, _ := get(t, late.URL+"/api/protected", c.Token); code != 200 {
		t.Fatalf("late validator rejected a live token: %d", code)
	}
}

// TestPostgresRedisAsymmetric runs the distributed mode: PostgreSQL, Redis,
// EdDSA keys from the JWKS, and a validator holding no secret.
func TestPostgresRedisAsymmetric(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	rs := testenv.StartRedis(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{
		"DATABASE_URL": testenv.Postgres(t), "REDIS_ADDR": rs.Addr,
	}), "/healthz")
	svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL, "REDIS_ADDR": rs.Addr}, "/health")

	a := registerAndLogin(t, auth.URL, "pg@example.com")
	quickStartRequests(t, svc.URL, a)
	var out bool
	gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &out)
	t.Logf("logout → 401 via Redis after %s", waitStatus(t, svc.URL+"/api/protected", a.Token, 401, 5*time.Second))
	if code, _ := get(t, auth.URL+"/readyz", ""); code != 200 {
		t.Fatalf("/readyz: got %d", code)
	}
}

// TestExampleRefusesSecretWithoutRevocationSource: the example microservice
// given only JWT_SECRET would accept tokens after logout until they expire,
// so it refuses to start, with one line naming the variables that fix it.
func TestExampleRefusesSecretWithoutRevocationSource(t *testing.T) {
	_, exampleBin := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exampleBin)
	cmd.Env = append(os.Environ(), "JWT_SECRET="+quickSecret, "PORT=0", "REDIS_ADDR=", "AUTH_URL=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("got %v, output %q; want exit status 1", err, out)
	}
	line := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(line, "\n") || !strings.Contains(line, "REDIS_ADDR") || !strings.Contains(line, "AUTH_URL") {
		t.Fatalf("got %q; want one line naming REDIS_ADDR and AUTH_URL", out)
	}
}
