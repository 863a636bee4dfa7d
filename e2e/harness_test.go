package e2e_test

import (
	"bytes"
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

// proc is a running service process.
type proc struct {
	t      *testing.T
	bin    string
	env    []string
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *bytes.Buffer
	mu     sync.Mutex
}

// lockedWriter lets the process write its logs while the test reads them.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Logs returns everything the process printed so far.
func (p *proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// start runs bin with env (plus PORT) and waits until healthPath answers
// 200, or for grpcHealth until the gRPC health service answers SERVING.
func start(t *testing.T, bin string, env map[string]string, healthPath string) *proc {
	t.Helper()
	port := testenv.FreePort(t)
	p := &proc{t: t, bin: bin, URL: "http://127.0.0.1:" + strconv.Itoa(port), logs: &bytes.Buffer{}}
	p.env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	for k, v := range env {
		p.env = append(p.env, k+"="+v)
	}
	p.run(healthPath)
	t.Cleanup(p.Stop)
	return p
}

func (p *proc) run(healthPath string) {
	p.t.Helper()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = p.env
	p.cmd.Stdout = lockedWriter{&p.mu, p.logs}
	p.cmd.Stderr = lockedWriter{&p.mu, p.logs}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.bin, err)
	}
	exited := make(chan struct{})
	p.exited = exited
	cmd := p.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			p.t.Fatalf("%s exited during start:\n%s", filepath.Base(p.bin), p.Logs())
		default:
		}
		if p.healthy(healthPath) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.t.Fatalf("%s not healthy at %s after 20s:\n%s", filepath.Base(p.bin), healthPath, p.Logs())
}

// healthy reports whether healthPath answers 200 (grpcHealth: SERVING).
func (p *proc) healthy(healthPath string) bool {
	if healthPath == grpcHealth {
		return grpcServing(p.Addr())
	}
	resp, err := http.Get(p.URL + healthPath)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Addr is the process's listening address, host:port.
func (p *proc) Addr() string { return strings.TrimPrefix(p.URL, "http://") }

// Stop terminates the process (SIGTERM, then SIGKILL).
func (p *proc) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// Restart stops the process and starts it again with the same environment.
func (p *proc) Restart(healthPath string) {
	p.t.Helper()
	p.Stop()
	p.run(healthPath)
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
