package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/proc"
	"github.com/authmesh/authmesh/internal/testenv"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the commands once per test binary, with the release
// build (scripts/build.sh, which the Dockerfile runs), so the tests run
// what ships.
func binaries(t *testing.T) (server, example string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "authmesh-e2e-bin")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("../scripts/build.sh", binDir)
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("scripts/build.sh: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "server"), filepath.Join(binDir, "example-microservice")
}

// grpcExampleBinary is the gRPC example service, built with the others.
func grpcExampleBinary(t *testing.T) string {
	t.Helper()
	binaries(t)
	return filepath.Join(binDir, "example-grpc-service")
}

// service is a running service process.
type service struct {
	t       *testing.T
	bin     string
	env     []string
	URL     string
	process *proc.Process
	log     *proc.Buffer // kept across restarts
}

// Logs returns everything the process printed so far.
func (s *service) Logs() string { return s.log.String() }

// start runs bin with env (plus PORT) and waits until healthPath answers
// 200, or for grpcHealth until the gRPC health service answers SERVING.
func start(t *testing.T, bin string, env map[string]string, healthPath string) *service {
	t.Helper()
	s := launch(t, bin, env)
	s.waitHealthy(context.Background(), healthPath)
	return s
}

// launch runs bin with env (plus PORT) without waiting for it; the test's
// cleanup stops it.
func launch(t *testing.T, bin string, env map[string]string) *service {
	t.Helper()
	port := testenv.FreePort(t)
	s := &service{t: t, bin: bin, URL: "http://127.0.0.1:" + strconv.Itoa(port), log: new(proc.Buffer)}
	// Tests run many auth services at once: each admin API on a free port
	// unless the test chooses one.
	s.env = append(os.Environ(), "PORT="+strconv.Itoa(port), "ADMIN_ADDR=127.0.0.1:0")
	// The service writes to DATA_DIR (mail as .eml files, the embedded
	// database): a directory of the test's unless the test chooses one, never
	// ./data under e2e/.
	if _, ok := env["DATA_DIR"]; !ok {
		s.env = append(s.env, "DATA_DIR="+t.TempDir())
	}
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	s.run()
	t.Cleanup(s.Stop)
	return s
}

func (s *service) run() {
	s.t.Helper()
	p, err := proc.Start(proc.Spec{Name: filepath.Base(s.bin), Path: s.bin, Env: s.env, Log: s.log})
	if err != nil {
		s.t.Fatal(err)
	}
	s.process = p
}

// waitHealthy waits until healthPath answers 200 (grpcHealth: SERVING), for
// at most 20 s or until ctx ends.
func (s *service) waitHealthy(ctx context.Context, healthPath string) {
	s.t.Helper()
	ready := proc.HTTPOK(s.URL + healthPath)
	if healthPath == grpcHealth {
		ready = func(context.Context) bool { return grpcServing(s.Addr()) }
	}
	if err := s.process.WaitReady(ctx, s.URL+healthPath, 20*time.Second, ready); err != nil {
		s.t.Fatal(err)
	}
}

// Addr is the process's listening address, host:port.
func (s *service) Addr() string { return strings.TrimPrefix(s.URL, "http://") }

// Stop terminates the process (SIGINT, then SIGKILL).
func (s *service) Stop() {
	if s.process == nil {
		return
	}
	s.process.Stop()
	s.process = nil
}

// Restart stops the process and starts it again with the same environment.
func (s *service) Restart(healthPath string) {
	s.t.Helper()
	s.Stop()
	s.run()
	s.waitHealthy(context.Background(), healthPath)
}

// gqlResult is a GraphQL response.
type gqlResult struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// code returns the first error's extensions.code, or "".
func (r gqlResult) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// browserUA makes the harness's logins look like a desktop browser.
const browserUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// postGraphQL posts a GraphQL document with an optional bearer token and
// extra headers. It does not fail the test, so goroutines may use it; a
// 5xx is returned as its status with no decoded body.
func postGraphQL(base, query, bearer string, hdr http.Header) (int, gqlResult, error) {
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return 0, gqlResult{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, gqlResult{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, gqlResult{}, err
	}
	var r gqlResult
	if resp.StatusCode >= 500 {
		return resp.StatusCode, r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return resp.StatusCode, r, fmt.Errorf("decode %q: %w", b, err)
	}
	return resp.StatusCode, r, nil
}

// gql posts a GraphQL document as a browser would, failing the test on a
// transport error, an undecodable answer or a 5xx.
func gql(t *testing.T, base, query, bearer string) gqlResult {
	t.Helper()
	return mustGraphQL(t, base, query, bearer, http.Header{"User-Agent": {browserUA}})
}

func mustGraphQL(t *testing.T, base, query, bearer string, hdr http.Header) gqlResult {
	t.Helper()
	code, r, err := postGraphQL(base, query, bearer, hdr)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	if code >= 500 {
		t.Fatalf("POST /graphql: status %d", code)
	}
	return r
}

// field decodes data[name] into v, failing on GraphQL errors.
func (r gqlResult) field(t *testing.T, name string, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL error: %s (%v)", r.Errors[0].Message, r.Errors[0].Extensions)
	}
	if err := json.Unmarshal(r.Data[name], v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

// get calls a service path with an optional bearer token.
func get(t *testing.T, url, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls url until it answers want, and returns how long it took.
func waitStatus(t *testing.T, url, bearer string, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code, body := get(t, url, bearer)
		if code == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("GET %s: still %d (%q) after %s; want %d", url, code, body, within, want)
		}
		time.Sleep(time.Millisecond)
	}
}

type account struct {
	Email, Password string
	Token, Refresh  string
	UserID, Session string
}

// registerAndLogin runs the quick start's register and login mutations.
func registerAndLogin(t *testing.T, base, email string) account {
	t.Helper()
	a := account{Email: email, Password: "Test1234!"}
	var reg struct {
		Message string
		User    struct{ ID, Email string }
	}
	gql(t, base, fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { message user { id email } } }`, a.Email, a.Password), "").field(t, "register", &reg)
	if reg.User.Email != strings.ToLower(email) || reg.User.ID == "" {
		t.Fatalf("register: got %+v", reg)
	}
	return login(t, base, a)
}

func login(t *testing.T, base string, a account) account {
	t.Helper()
	var lr struct {
		Token, RefreshToken, UserID, Email, SessionID, ExpiresAt string
	}
	gql(t, base, fmt.Sprintf(`mutation { login(input: {email: %q, password: %q}) { token refreshToken userId email sessionId expiresAt } }`, a.Email, a.Password), "").field(t, "login", &lr)
	if lr.Token == "" || lr.RefreshToken == "" || lr.SessionID == "" || lr.ExpiresAt == "" {
		t.Fatalf("login: got %+v", lr)
	}
	a.Token, a.Refresh, a.UserID, a.Session = lr.Token, lr.RefreshToken, lr.UserID, lr.SessionID
	return a
}

// cheapArgon keeps password hashing fast in end-to-end runs.
var cheapArgon = map[string]string{"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
