package e2e_test

import (
	"testing"

	"github.com/authmesh/authmesh/internal/testenv"
)

// mode is one way to deploy authmesh (docs/OPERATIONS.md, Modes), given by the auth
// service's environment; a microservice is configured to match (deploy).
type mode struct {
	name string
	auth func(t *testing.T) map[string]string
}

// modes lists the deployments every behavioural test runs against.
func modes() []mode {
	const secret = quickSecret + "-0123456789"
	return []mode{
		{
			name: "quick start: HS256, SQLite, Redis",
			auth: func(t *testing.T) map[string]string {
				rs := testenv.StartRedis(t)
				return map[string]string{"JWT_SECRET": secret, "REDIS_ADDR": rs.Addr, "DATA_DIR": t.TempDir()}
			},
		},
		{
			name: "embedded: EdDSA, SQLite, feed",
			auth: func(t *testing.T) map[string]string {
				return map[string]string{"DATA_DIR": t.TempDir()}
			},
		},
		{
			name: "distributed: EdDSA, PostgreSQL, Redis",
			auth: func(t *testing.T) map[string]string {
				rs := testenv.StartRedis(t)
				return map[string]string{"DATABASE_URL": testenv.Postgres(t), "REDIS_ADDR": rs.Addr}
			},
		},
	}
}

// deploy starts the auth service (with extra settings) and one
// microservice in mode m. A microservice gets the auth service's
// JWT_SECRET and REDIS_ADDR when it has them, else its AUTH_URL.
func (m mode) deploy(t *testing.T, extra map[string]string) (auth, svc *service) {
	t.Helper()
	serverBin, exampleBin := binaries(t)
	authEnv := m.auth(t)
	auth = start(t, serverBin, merge(authEnv, cheapArgon, extra), "/healthz")
	svc = start(t, exampleBin, serviceEnv(authEnv, auth.URL), "/health")
	return auth, svc
}

// serviceEnv configures a microservice to match an auth service at authURL
// started with authEnv: its JWT_SECRET and REDIS_ADDR when it has them, and
// AUTH_URL for what they leave out (keys from the JWKS without a secret,
// revocations from the feed without Redis).
func serviceEnv(authEnv map[string]string, authURL string) map[string]string {
	svcEnv := map[string]string{}
	for _, k := range []string{"JWT_SECRET", "REDIS_ADDR"} {
		if v, ok := authEnv[k]; ok {
			svcEnv[k] = v
		}
	}
	if svcEnv["JWT_SECRET"] == "" || svcEnv["REDIS_ADDR"] == "" {
		svcEnv["AUTH_URL"] = authURL
	}
	return svcEnv
}
