package proc_test

import (
	"slices"
	"testing"

	"github.com/authmesh/authmesh/internal/proc"
)

// ServiceEnv drops what configures a service, keeps everything else, and
// ends with the caller's own settings.
func TestServiceEnv(t *testing.T) {
	t.Setenv("REDIS_ADDR", "127.0.0.1:1")
	t.Setenv("JWT_SECRET", "from-the-shell")
	t.Setenv("AUTHMESH_TEST_KEEP", "yes")
	env := proc.ServiceEnv("JWT_SECRET=chosen")
	for _, kv := range []string{"REDIS_ADDR=127.0.0.1:1", "JWT_SECRET=from-the-shell"} {
		if slices.Contains(env, kv) {
			t.Errorf("ServiceEnv kept %s", kv)
		}
	}
	if !slices.Contains(env, "AUTHMESH_TEST_KEEP=yes") {
		t.Error("ServiceEnv dropped a variable no service reads")
	}
	if env[len(env)-1] != "JWT_SECRET=chosen" {
		t.Errorf("last = %q, want the caller's JWT_SECRET=chosen", env[len(env)-1])
	}
}
