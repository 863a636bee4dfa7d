package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/testenv"
)

// cliBinary is the operator CLI, built with the other binaries.
func cliBinary(t *testing.T) string {
	t.Helper()
	binaries(t)
	return filepath.Join(binDir, "authmesh")
}

// adminAddr is a free loopback address for an auth service's admin API.
func adminAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
}

// authmesh runs the CLI against the admin API at addr and returns its exit
// code and standard output.
func authmesh(t *testing.T, addr string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary(t), args...)
	cmd.Env = append(os.Environ(), "AUTHMESH_ADMIN_URL=http://"+addr, "ADMIN_TOKEN=", "ADMIN_TOKEN_FILE=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("authmesh %s: %v", strings.Join(args, " "), err)
	}
	if code != 0 {
		t.Logf("authmesh %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return code, string(out)
}

// TestCLIDisablesUser: `authmesh users disable` makes the example
// microservice reject the user's token within the revocation latency (and
// login is refused); after `users enable` the user logs in again and the
// new token is accepted.
func TestCLIDisablesUser(t *testing.T) {
	for _, m := range modes()[:2] {
		t.Run(m.name, func(t *testing.T) {
			addr := adminAddr(t)
			auth, svc := m.deploy(t, map[string]string{"ADMIN_ADDR": addr})
			a := registerAndLogin(t, auth.URL, "compromised@example.com")
			waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusOK, 10*time.Second)

			start := time.Now()
			if code, out := authmesh(t, addr, "users", "disable", a.Email); code != 0 || !strings.Contains(out, "disabled") {
				t.Fatalf("users disable: exit %d, %q", code, out)
			}
			testenv.WaitFor(t, "the microservice to reject the disabled user's token", func() bool {
				code, _ := get(t, svc.URL+"/api/protected", a.Token)
				return code == http.StatusUnauthorized
			})
			t.Logf("the microservice rejected the token %s after the CLI was started (%s)", time.Since(start).Round(time.Millisecond), m.name)

			r := gql(t, auth.URL, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token } }`, a.Email, a.Password), "")
			if r.code() != "ACCOUNT_DISABLED" {
				t.Fatalf("login of a disabled account: code %q; want ACCOUNT_DISABLED", r.code())
			}
			if code, out := authmesh(t, addr, "sessions", "list", a.Email, "--json"); code != 0 || !strings.Contains(out, `"sessions": []`) {
				t.Fatalf("sessions after disable: exit %d, %s; want none", code, out)
			}

			if code, _ := authmesh(t, addr, "users", "enable", a.Email); code != 0 {
				t.Fatalf("users enable: exit %d", code)
			}
			a = login(t, auth.URL, a)
			waitStatus(t, svc.URL+"/api/protected", a.Token, http.StatusOK, 10*time.Second)
			if code, _ := authmesh(t, addr, "users", "find", "nobody@example.com"); code != 3 {
				t.Fatalf("users find of an unknown email: exit %d; want 3 (not found)", code)
			}
		})
	}
}

// headerKid is the kid of a token's header.
func headerKid(t *testing.T, tok string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(tok[:max(strings.IndexByte(tok, '.'), 0)])
	var hdr struct{ Kid string }
	if err != nil || json.Unmarshal(h, &hdr) != nil || hdr.Kid == "" {
		t.Fatalf("token header has no kid: %.40s", tok)
	}
	return hdr.Kid
}

// TestCLIKeysRotate: after `authmesh keys rotate` (asymmetric keys), a
// token signed by the old key is still accepted until it expires, and new
// tokens are signed by the new key and accepted too.
func TestCLIKeysRotate(t *testing.T) {
	serverBin, exampleBin := binaries(t)
	addr := adminAddr(t)
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir(), "ADMIN_ADDR": addr}), "/healthz")
	svc := start(t, exampleBin, map[string]string{"AUTH_URL": auth.URL}, "/health")
	old := registerAndLogin(t, auth.URL, "rotate@example.com")
	waitStatus(t, svc.URL+"/api/protected", old.Token, http.StatusOK, 10*time.Second)
	oldKid := headerKid(t, old.Token)

	code, out := authmesh(t, addr, "keys", "rotate", "--json")
	var rotated struct {
		SigningKid string `json:"signing_kid"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rotated) != nil || rotated.SigningKid == "" || rotated.SigningKid == oldKid {
		t.Fatalf("keys rotate: exit %d, %q (old kid %s)", code, out, oldKid)
	}
	fresh := login(t, auth.URL, old)
	if got := headerKid(t, fresh.Token); got != rotated.SigningKid {
		t.Fatalf("a token issued after the rotation is signed by %s; want the new key %s", got, rotated.SigningKid)
	}
	testenv.WaitFor(t, "the microservice to accept a token of the new key", func() bool {
		code, _ := get(t, svc.URL+"/api/protected", fresh.Token)
		return code == http.StatusOK
	})
	if code, body := get(t, svc.URL+"/api/protected", old.Token); code != http.StatusOK {
		t.Fatalf("a token of the rotated-out key: %d %s; want still valid until it expires", code, body)
	}
	if r := gql(t, auth.URL, `{ me { id } }`, old.Token); r.code() != "" {
		t.Fatalf("the auth service refuses the old key's token after rotation: %s", r.code())
	}
	code, out = authmesh(t, addr, "keys", "list")
	if code != 0 || !strings.Contains(out, oldKid) || !strings.Contains(out, rotated.SigningKid) {
		t.Fatalf("keys list: exit %d, %s; want both keys", code, out)
	}
}

// TestAdminAPIAccess: on a non-loopback listen address (all interfaces)
// the admin API requires ADMIN_TOKEN, and the service refuses to start
// without one; the public port has no /admin/v1.
func TestAdminAPIAccess(t *testing.T) {
	serverBin, _ := binaries(t)
	port := strconv.Itoa(testenv.FreePort(t))
	line := startFails(t, serverBin, merge(cheapArgon, map[string]string{"DATA_DIR": t.TempDir(), "ADMIN_ADDR": "0.0.0.0:" + port}))
	if !strings.Contains(line, "ADMIN_TOKEN") {
		t.Fatalf("start on 0.0.0.0 without a token: %q; want a refusal naming ADMIN_TOKEN", line)
	}

	const token = "e2e-admin-token-0123456789abcdef"
	auth := start(t, serverBin, merge(cheapArgon, map[string]string{
		"DATA_DIR": t.TempDir(), "ADMIN_ADDR": "0.0.0.0:" + port, "ADMIN_TOKEN": token,
	}), "/healthz")
	// Traffic stays on loopback: the listener is on every interface, the
	// client connects through 127.0.0.1.
	keys := "http://127.0.0.1:" + port + "/admin/v1/keys"
	if code, body := get(t, keys, ""); code != http.StatusUnauthorized || !strings.Contains(body, "ADMIN_TOKEN") {
		t.Fatalf("admin API without the token: %d %s; want 401", code, body)
	}
	if code, _ := get(t, keys, token+"-wrong"); code != http.StatusUnauthorized {
		t.Fatalf("admin API with a wrong token: %d; want 401", code)
	}
	if code, body := get(t, keys, token); code != http.StatusOK || !strings.Contains(body, `"kid"`) {
		t.Fatalf("admin API with the token: %d %s; want 200", code, body)
	}
	for _, path := range []string{"/admin/v1/keys", "/admin/v1/users?email=a@example.com"} {
		if code, _ := get(t, auth.URL+path, token); code != http.StatusNotFound {
			t.Errorf("public port %s: %d; want 404", path, code)
		}
	}
}

// TestAdminTLS: with ADMIN_TLS_CERT_FILE/ADMIN_TLS_KEY_FILE the admin API
// speaks only HTTPS; the CLI trusts its CA through AUTHMESH_ADMIN_CA_FILE
// (or --ca-file) and refuses the service without it; a plain-http request
// is refused.
func TestAdminTLS(t *testing.T) {
	serverBin, _ := binaries(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	ca := testenv.NewCA(t, "authmesh admin CA")
	ca.Issue(certFile, keyFile, "authmesh admin")
	addr := adminAddr(t)
	start(t, serverBin, merge(cheapArgon, map[string]string{
		"DATA_DIR": t.TempDir(), "ADMIN_ADDR": addr, "ADMIN_TLS_CERT_FILE": certFile, "ADMIN_TLS_KEY_FILE": keyFile,
	}), "/healthz")

	run := func(env []string, args ...string) (int, string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, cliBinary(t), args...)
		cmd.Env = append(os.Environ(), append([]string{"ADMIN_TOKEN=", "ADMIN_TOKEN_FILE=", "AUTHMESH_ADMIN_CA_FILE="}, env...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("authmesh %s: %v", strings.Join(args, " "), err)
		}
		return code, stdout.String(), stderr.String()
	}
	https := "AUTHMESH_ADMIN_URL=https://" + addr
	if code, out, errOut := run([]string{https, "AUTHMESH_ADMIN_CA_FILE=" + ca.File}, "keys", "list"); code != 0 || !strings.Contains(out, "KID") {
		t.Fatalf("authmesh keys list over https with the CA: exit %d, %q %q", code, out, errOut)
	}
	// Beside the service: ADMIN_ADDR and ADMIN_TLS_CERT_FILE make the URL.
	if code, out, errOut := run([]string{"AUTHMESH_ADMIN_URL=", "ADMIN_ADDR=" + addr, "ADMIN_TLS_CERT_FILE=" + certFile}, "clients", "list", "--ca-file", ca.File); code != 0 || !strings.Contains(out, "CLIENT") {
		t.Fatalf("authmesh clients list from the service's environment: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := run([]string{https}, "keys", "list"); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Fatalf("authmesh without the CA: exit %d, %q; want 1, the certificate not trusted", code, errOut)
	}
	if code, _, errOut := run([]string{"AUTHMESH_ADMIN_URL=http://" + addr, "AUTHMESH_ADMIN_CA_FILE=" + ca.File}, "keys", "list"); code != 2 || !strings.Contains(errOut, "https") {
		t.Fatalf("authmesh with a CA and an http URL: exit %d, %q; want 2 naming https", code, errOut)
	}
	if code, body := get(t, "http://"+addr+"/admin/v1/keys", ""); code != http.StatusBadRequest || strings.Contains(body, "kid") {
		t.Fatalf("plain http to the TLS admin listener: %d %q; want 400 and no keys", code, body)
	}
}
