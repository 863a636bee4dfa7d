package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/authmesh/authmesh/internal/server"
)

// adminAPI runs a real auth service (SQLite) and serves its admin API;
// it returns the API's URL and the public handler.
func adminAPI(t *testing.T, token string) (string, http.Handler) {
	t.Helper()
	vars := map[string]string{"DATA_DIR": t.TempDir(), "ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1", "ADMIN_TOKEN": token}
	cfg, err := server.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv.AdminHandler())
	t.Cleanup(ts.Close)
	return ts.URL, srv.Handler()
}

func register(t *testing.T, h http.Handler, email string) {
	t.Helper()
	body := `{"query":"mutation { register(input: {email: \"` + email + `\", password: \"Test1234!x\"}) { message } }"}`
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), `"errors"`) {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
}

// cli runs the CLI with env and returns its exit code and output.
func cli(env map[string]string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestCLI: each command against a real admin API, with the exit codes and
// outputs scripts rely on.
func TestCLI(t *testing.T) {
	const token = "cli-test-token-0123456789"
	base, pub := adminAPI(t, token)
	register(t, pub, "ops@example.com")
	env := map[string]string{"AUTHMESH_ADMIN_URL": base, "ADMIN_TOKEN": token}

	code, out, errOut := cli(env, "users", "find", "ops@example.com", "--json")
	var u struct {
		ID       string
		Disabled bool
	}
	if code != exitOK || json.Unmarshal([]byte(out), &u) != nil || u.ID == "" {
		t.Fatalf("users find --json: %d %q %q", code, out, errOut)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stdout (or stderr when code != 0)
	}{
		{"find table", env, []string{"users", "find", u.ID}, exitOK, "ops@example.com"},
		{"disable", env, []string{"users", "disable", "ops@example.com"}, exitOK, "disabled since"},
		{"disabled shows", env, []string{"users", "find", "ops@example.com"}, exitOK, "disabled"},
		{"enable", env, []string{"users", "enable", u.ID}, exitOK, "enabled"},
		{"sessions", env, []string{"sessions", "list", u.ID}, exitOK, "SESSION"},
		{"revoke unknown session", env, []string{"sessions", "revoke", u.ID, "nope"}, exitNotFound, "no such session"},
		{"keys", env, []string{"keys", "list"}, exitOK, "yes"},
		{"rotate", env, []string{"keys", "rotate"}, exitOK, "new signing key"},
		{"withdraw unknown key", env, []string{"keys", "withdraw", "no-such-kid"}, exitNotFound, "no signing key"},
		{"not found", env, []string{"users", "find", "nobody@example.com"}, exitNotFound, "no user"},
		{"bad email", env, []string{"users", "find", "x@"}, exitUsage, "email"},
		{"no token", map[string]string{"AUTHMESH_ADMIN_URL": base}, []string{"keys", "list"}, exitRefused, "admin token required"},
		{"unreachable", map[string]string{"AUTHMESH_ADMIN_URL": "http://127.0.0.1:1"}, []string{"keys", "list"}, exitFailed, "unreachable"},
		{"missing arg", env, []string{"users", "disable"}, exitUsage, "want 1 argument"},
		{"unknown command", env, []string{"users", "frobnicate"}, exitUsage, "unknown command"},
		{"delete needs --yes", env, []string{"users", "delete", u.ID}, exitUsage, "--yes"},
		{"help", env, []string{"users", "disable", "--help"}, exitOK, "usage: authmesh users disable"},
		{"top help", env, []string{"--help"}, exitOK, "Exit codes"},
		{"revoke before, one user", env, []string{"tokens", "revoke-before", "now", "--user", "ops@example.com"}, exitOK, "issued before"},
		{"revoke before, bad time", env, []string{"tokens", "revoke-before", "yesterday"}, exitUsage, "RFC 3339"},
		{"revoke before, future", env, []string{"tokens", "revoke-before", "2999-01-01T00:00:00Z"}, exitUsage, "future"},
		{"revoke before, unknown user", env, []string{"tokens", "revoke-before", "now", "--user", "nobody@example.com"}, exitNotFound, "no user"},
		{"audit", env, []string{"audit", "--user", "ops@example.com"}, exitOK, "user.disable"},
		{"audit list json", env, []string{"audit", "list", "--json", "--limit", "5"}, exitOK, `"event": "admin"`},
		{"audit bad limit", env, []string{"audit", "--limit", "0"}, exitUsage, "limit"},
		{"delete", env, []string{"users", "delete", "--yes", u.ID}, exitOK, "deleted user"},
		{"deleted", env, []string{"users", "find", u.ID}, exitNotFound, "no user"},
	}
	for _, tt := range tests {
		code, out, errOut := cli(tt.env, tt.args...)
		got := out
		if tt.code != exitOK {
			got = errOut
		}
		if code != tt.code || !strings.Contains(got, tt.want) {
			t.Errorf("%s: authmesh %s: exit %d, stdout %q, stderr %q; want exit %d with %q", tt.name, strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.want)
		}
	}
	// The key rotated out above is withdrawn: it leaves the list.
	_, out, _ = cli(env, "keys", "list", "--json")
	var keys struct {
		Keys []struct {
			Kid     string
			Signing bool
		}
	}
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys.Keys) != 2 || keys.Keys[1].Signing {
		t.Fatalf("keys list --json after rotation: %q; want the new signing key, then the old one", out)
	}
	old := keys.Keys[1].Kid
	if code, out, errOut := cli(env, "keys", "withdraw", "--json", "--", old); code != exitOK || !strings.Contains(out, `"withdrawn": true`) {
		t.Fatalf("keys withdraw: exit %d, %q %q", code, out, errOut)
	}
	if _, out, _ := cli(env, "keys", "list"); strings.Contains(out, old) {
		t.Fatalf("the withdrawn key %s is still listed: %s", old, out)
	}
}

// TestCLIClients: the clients commands against a real admin API: the
// secret is printed once by create and rotate, list never shows it, and
// the exit codes say what went wrong.
func TestCLIClients(t *testing.T) {
	const token = "cli-test-token-0123456789"
	base, _ := adminAPI(t, token)
	env := map[string]string{"AUTHMESH_ADMIN_URL": base, "ADMIN_TOKEN": token}

	code, out, errOut := cli(env, "clients", "create", "billing", "--audience", "orders", "--audience", "payments", "--scope", "orders:read", "--json")
	var created struct {
		ID        string   `json:"id"`
		Audiences []string `json:"audiences"`
		Secret    string   `json:"client_secret"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &created) != nil || created.Secret == "" || len(created.Audiences) != 2 {
		t.Fatalf("clients create --json: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = cli(env, "clients", "create", "reports", "--audience", "orders")
	if code != exitOK || !strings.Contains(out, "client_secret: ") || !strings.Contains(out, "cannot be shown again") {
		t.Fatalf("clients create: exit %d, %q; want the secret, once", code, out)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout (or stderr when code != 0)
	}{
		{"list", []string{"clients", "list"}, exitOK, "orders,payments"},
		{"list json", []string{"clients", "list", "--json"}, exitOK, `"id": "reports"`},
		{"disable", []string{"clients", "disable", "reports"}, exitOK, "revoked at every validator"},
		{"disabled shows", []string{"clients", "list"}, exitOK, "disabled"},
		{"enable", []string{"clients", "enable", "reports"}, exitOK, "enabled"},
		{"rotate", []string{"clients", "rotate", "reports"}, exitOK, "new client_secret: "},
		{"rotate json", []string{"clients", "rotate", "reports", "--json"}, exitOK, `"client_secret"`},
		{"taken", []string{"clients", "create", "billing", "--audience", "orders"}, exitUsage, "exists already"},
		{"no audience", []string{"clients", "create", "x"}, exitUsage, "--audience"},
		{"bad id", []string{"clients", "create", "bad id", "--audience", "orders"}, exitUsage, "client id"},
		{"unknown", []string{"clients", "disable", "nope"}, exitNotFound, "no service client"},
		{"delete needs --yes", []string{"clients", "delete", "reports"}, exitUsage, "--yes"},
		{"delete", []string{"clients", "delete", "reports", "--yes"}, exitOK, "deleted"},
		{"deleted", []string{"clients", "rotate", "reports"}, exitNotFound, "no service client"},
		{"help", []string{"clients", "create", "--help"}, exitOK, "-audience"},
		{"group help", []string{"clients", "--help"}, exitOK, "clients rotate"},
		{"top help", []string{"--help"}, exitOK, "clients create"},
	}
	for _, tt := range tests {
		code, out, errOut := cli(env, tt.args...)
		got := out
		if tt.code != exitOK {
			got = errOut
		}
		if code != tt.code || !strings.Contains(got, tt.want) {
			t.Errorf("%s: authmesh %s: exit %d, stdout %q, stderr %q; want exit %d with %q", tt.name, strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.want)
		}
	}
	if _, out, _ := cli(env, "clients", "list", "--json"); strings.Contains(out, created.Secret) || strings.Contains(out, "hash") {
		t.Fatalf("clients list shows a secret: %s", out)
	}
}

// TestCLICAFile: a CA file that does not load, or one given for a plain
// http URL, is a usage error naming the problem, before any request.
func TestCLICAFile(t *testing.T) {
	notPEM := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"missing file", map[string]string{"AUTHMESH_ADMIN_URL": "https://127.0.0.1:1"}, []string{"keys", "list", "--ca-file", "/nonexistent/ca.pem"}, "CA file"},
		{"not PEM", map[string]string{"AUTHMESH_ADMIN_URL": "https://127.0.0.1:1", "AUTHMESH_ADMIN_CA_FILE": notPEM}, []string{"keys", "list"}, "no PEM certificate"},
		{"plain http", map[string]string{"AUTHMESH_ADMIN_URL": "http://127.0.0.1:1"}, []string{"clients", "list", "--ca-file", notPEM}, "https only"},
	} {
		if code, out, errOut := cli(tt.env, tt.args...); code != exitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, %q %q; want exit %d with %q", tt.name, code, out, errOut, exitUsage, tt.want)
		}
	}
}
