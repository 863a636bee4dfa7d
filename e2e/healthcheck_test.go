package e2e_test

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/testenv"
)

// healthcheck runs "BIN healthcheck" in p's environment (its PORT, as a
// container health check does) and returns its exit status and output.
func healthcheck(t *testing.T, p *service) (int, string) {
	t.Helper()
	cmd := exec.Command(p.bin, "healthcheck")
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("healthcheck: %v", err)
	return 0, ""
}

// TestHealthcheckSubcommand: "server healthcheck" and
// "example-microservice healthcheck" exit 0 while their service answers
// its health endpoint, and 1 with one line saying why once it does not:
// the example still waiting for its revocation state, either one stopped.
func TestHealthcheckSubcommand(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	auth := start(t, serverBin, map[string]string{"DATA_DIR": t.TempDir()}, "/healthz")
	svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL}, "/health")
	// An example whose auth service is not there: it serves, but /health
	// says it cannot validate yet.
	orphan := start(t, exampleBin, map[string]string{"AUTH_URL": "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}, "/metrics")

	for _, tt := range []struct {
		name string
		p    *service
		stop bool
		code int
		want string // in the output when it fails
	}{
		{"auth service up", auth, false, 0, ""},
		{"example up", svc, false, 0, ""},
		{"example without its revocation state", orphan, false, 1, "503"},
		{"example stopped", svc, true, 1, "connection refused"},
		{"auth service stopped", auth, true, 1, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.stop {
				tt.p.Stop()
			}
			code, out := healthcheck(t, tt.p)
			line := strings.TrimSuffix(out, "\n")
			if code != tt.code || !strings.Contains(line, tt.want) || strings.Contains(line, "\n") {
				t.Fatalf("got exit %d, output %q; want exit %d and one line containing %q", code, out, tt.code, tt.want)
			}
		})
	}
}
