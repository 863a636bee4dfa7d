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
func (m mode) deploy(t *testing.T, extra map[string]string) (auth, svc *proc) {
	t.Helper()
	serverBin, exampleBin := binaries(t)
	authEnv := m.auth(t)
	auth = start(t, serverBin, merge(authEnv, cheapArgon, extra), "/healthz")
	svcEnv := map[string]string{}
	for _, k := range []string{"JWT_SECRET", "REDIS_ADDR"} {
		if v, ok := authEnv[k]; ok {
			svcEnv[k] = v
		}
	}
	if _, ok := svcEnv["JWT_SECRET"]; !ok {
		svcEnv["AUTH_URL"] = auth.URL // keys from the JWKS; the feed too without Redis
	}
	svc = start(t, exampleBin, svcEnv, "/health")
	return auth, svc
}
