package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// secretFile writes value plus the newline `echo` adds to a file only its
// owner reads, as a mounted secret, and returns its path.
func secretFile(t *testing.T, value string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(value + "\n"); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// TestSecretsFromFiles: the real auth service and example microservice
// take every secret from a file (NAME_FILE), as Compose and Kubernetes mount
// them, and work end to end: the shared JWT secret, a password-protected
// Redis, the database URL, the key-encryption secret and the feed token.
func TestSecretsFromFiles(t *testing.T) {
	serverBin, exampleBin := binaries(t)

	t.Run("HS256+Redis with a password+PostgreSQL", func(t *testing.T) {
		rs := testenv.StartRedis(t)
		const password = "redis password with spaces"
		if err := rs.Client(t).ConfigSet(context.Background(), "requirepass", password).Err(); err != nil {
			t.Fatal(err)
		}
		dbURL := testenv.Postgres(t)
		jwt := secretFile(t, hostileSecret)
		redisPassword := secretFile(t, password)
		auth := start(t, serverBin, merge(cheapArgon, map[string]string{
			"JWT_SECRET_FILE": jwt, "REDIS_ADDR": rs.Addr, "REDIS_PASSWORD_FILE": redisPassword,
			"DATABASE_URL_FILE": secretFile(t, dbURL), "DATA_DIR": t.TempDir(),
		}), "/readyz")
		svc := start(t, exampleBin, map[string]string{
			"JWT_SECRET_FILE": jwt, "REDIS_ADDR": rs.Addr, "REDIS_PASSWORD_FILE": redisPassword,
		}, "/health")

		a := registerAndLogin(t, auth.URL, "secret-files@example.com")
		waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusOK, 5*time.Second)
		var out bool
		gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &out)
		waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusUnauthorized, 5*time.Second)
		if !strings.Contains(dumpPostgres(t, dbURL), "secret-files@example.com") {
			t.Fatal("the account is not in the PostgreSQL schema DATABASE_URL_FILE names")
		}
	})

	t.Run("EdDSA sealed keys+feed token+SQLite", func(t *testing.T) {
		dir := t.TempDir()
		env := merge(cheapArgon, map[string]string{
			"DATABASE_URL_FILE":          secretFile(t, "sqlite:"+filepath.Join(dir, "accounts.db")),
			"KEY_ENCRYPTION_SECRET_FILE": secretFile(t, "a key-encryption secret of 32 B"),
			"FEED_TOKEN_FILE":            secretFile(t, "feed-token-of-at-least-thirty-two-bytes"),
			"DATA_DIR":                   filepath.Join(dir, "unused"),
		})
		auth := start(t, serverBin, env, "/readyz")
		svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL, "FEED_TOKEN_FILE": env["FEED_TOKEN_FILE"]}, "/health")

		a := registerAndLogin(t, auth.URL, "sealed@example.com")
		waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusOK, 5*time.Second)
		var out bool
		gql(t, auth.URL, `mutation { logout }`, a.Token).field(t, "logout", &out)
		waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusUnauthorized, 5*time.Second)
		svc.Stop() // ends its feed stream, which holds up the auth service's shutdown
		auth.Stop()

		if _, err := os.Stat(filepath.Join(dir, "accounts.db")); err != nil {
			t.Fatalf("the database DATABASE_URL_FILE names: %v", err)
		}
		// The signing key was sealed with the secret from the file: the
		// same database without it cannot load the key.
		delete(env, "KEY_ENCRYPTION_SECRET_FILE")
		if line := startFails(t, serverBin, env); !strings.Contains(strings.ToLower(line), "seal") {
			t.Fatalf("without KEY_ENCRYPTION_SECRET: %q; want a refusal to load the sealed key", line)
		}
	})
}

// TestSecretFileMistakesStopTheStart: both forms of a secret, or a file
// that cannot be read, stop either binary at start with one line naming
// the variable, before anything listens.
func TestSecretFileMistakesStopTheStart(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tt := range []struct {
		name string
		bin  string
		env  map[string]string
		want string
	}{
		{"auth: JWT_SECRET twice", serverBin, map[string]string{"JWT_SECRET": hostileSecret, "JWT_SECRET_FILE": secretFile(t, hostileSecret)}, "JWT_SECRET and JWT_SECRET_FILE are both set"},
		{"auth: DATABASE_URL_FILE missing", serverBin, map[string]string{"DATABASE_URL_FILE": missing}, "DATABASE_URL_FILE: open " + missing},
		{"auth: REDIS_PASSWORD_FILE empty", serverBin, map[string]string{"REDIS_PASSWORD_FILE": secretFile(t, "")}, "REDIS_PASSWORD_FILE="},
		{"example: REDIS_PASSWORD twice", exampleBin, map[string]string{"REDIS_ADDR": "127.0.0.1:1", "REDIS_PASSWORD": "p", "REDIS_PASSWORD_FILE": secretFile(t, "p")}, "REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set"},
		{"example: JWT_SECRET_FILE missing", exampleBin, map[string]string{"REDIS_ADDR": "127.0.0.1:1", "JWT_SECRET_FILE": missing}, "JWT_SECRET_FILE: open " + missing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if line := startFails(t, tt.bin, merge(tt.env, map[string]string{"DATA_DIR": t.TempDir()})); !strings.Contains(line, tt.want) {
				t.Fatalf("got %q; want it to contain %q", line, tt.want)
			}
		})
	}
}

// startFails runs bin with env on any free port, requires it to exit with
// status 1 and one line of output, and returns that line.
func startFails(t *testing.T, bin string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "PORT=0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("%s: got %v, output %q; want exit status 1", filepath.Base(bin), err, out)
	}
	line := strings.TrimSuffix(string(out), "\n")
	if strings.Contains(line, "\n") {
		t.Fatalf("%s: got %q; want one line", filepath.Base(bin), out)
	}
	return line
}
