package e2e_test

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// command runs the auth service binary with args in p's environment (an
// operator command against the same database and Redis) and returns its
// output.
func command(t *testing.T, p *service, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// A withdrawn signing key (leaked, retired early) is revoked as a key-id
// entry: every validator refuses the tokens it signed, including one it has
// already verified and cached, while a token from the replacement key works.
func TestWithdrawnKeyIsRefused(t *testing.T) {
	for _, m := range modes() {
		if strings.Contains(m.name, "HS256") {
			continue // a shared secret has no key id: rotate the secret instead
		}
		t.Run(m.name, func(t *testing.T) {
			auth, svc := m.deploy(t, nil)
			a := registerAndLogin(t, auth.URL, "withdraw@example.com")
			protected := svc.URL + "/api/protected"
			waitStatus(t, protected, a.Token, http.StatusOK, 10*time.Second) // now in the verified-token cache
			kid := kidOf(t, a.Token)
			if kid == "" {
				t.Fatal("the access token names no kid")
			}

			if out, err := command(t, auth, "keys", "withdraw", "no-such-kid"); err == nil {
				t.Fatalf("keys withdraw of an unknown kid succeeded:\n%s", out)
			}
			began := time.Now()
			if out, err := command(t, auth, "keys", "withdraw", kid); err != nil {
				t.Fatalf("keys withdraw %s: %v\n%s", kid, err, out)
			}
			took := waitStatus(t, protected, a.Token, http.StatusUnauthorized, 10*time.Second)
			t.Logf("keys withdraw ran in %s; the cached token of the withdrawn key was refused %s later", took0(began, took), took)

			// The running auth service picks up the replacement key at its
			// next key reload; a fresh login then signs with another key.
			deadline := time.Now().Add(90 * time.Second)
			for {
				b := login(t, auth.URL, a)
				if kidOf(t, b.Token) != kid {
					t.Logf("the auth service signs with a new key %s after the withdrawal", time.Since(began))
					waitStatus(t, protected, b.Token, http.StatusOK, 10*time.Second)
					t.Logf("the validator accepts it %s after the withdrawal", time.Since(began))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the auth service still signs with withdrawn key %s", kid)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// took0 is how long the step that began at began took, without the wait
// that followed it.
func took0(began time.Time, wait time.Duration) time.Duration {
	return time.Since(began) - wait
}
