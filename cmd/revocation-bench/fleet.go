package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// binaries are the built commands under test.
type binaries struct {
	Server, Example string
}

// build compiles the auth service and the example microservice into dir.
func build(ctx context.Context, dir string) (binaries, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return binaries{}, errors.New("run revocation-bench from inside the authmesh module (go env GOMOD is empty)")
	}
	root := filepath.Dir(gomod)
	b := binaries{Server: filepath.Join(dir, "bin", "server"), Example: filepath.Join(dir, "bin", "example")}
	for _, t := range []struct{ out, pkg string }{{b.Server, "./cmd/server"}, {b.Example, "./examples/example-microservice"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t.out, t.pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, fmt.Errorf("go build %s: %v\n%s", t.pkg, err, msg)
		}
	}
	return b, nil
}

// fleet owns every process started for one mode: Close stops them all.
// It is safe for concurrent use.
type fleet struct {
	dir   string
	mu    sync.Mutex
	procs []*proc
}

// proc is one running child process whose output goes to a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	Port    int
	URL     string
}

func newFleet(dir string) (*fleet, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &fleet{dir: dir}, nil
}

// configVars are the variables the services read; the benchmark sets them
// itself so a developer's shell cannot change the mode being measured.
var configVars = []string{
	"PORT", "JWT_SECRET", "REDIS_", "DATABASE_URL", "DATA_DIR", "AUTH_URL", "SIGNING_ALG",
	"KEY_ENCRYPTION_SECRET", "AUDIENCE", "ISSUER", "ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL",
	"REFRESH_REUSE_GRACE", "PUBLIC_URL", "TRUSTED_PROXIES", "AUTH_ENV", "MAX_SESSIONS_PER_USER",
	"ARGON2_", "RATE_LIMITS", "GRAPHQL_INTROSPECTION", "FAIL_CLOSED", "MAX_STALENESS",
}

func cleanEnv(extra []string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, v := range configVars {
			if strings.HasPrefix(kv, v) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// startService runs bin on a free port with env and waits until healthPath
// answers 200. A port taken in between is retried on another port.
func (f *fleet) startService(ctx context.Context, name, bin string, env []string, healthPath string) (*proc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p, err := f.start(name, bin, nil, append(env, "PORT="+strconv.Itoa(port)))
		if err != nil {
			return nil, err
		}
		p.Port, p.URL = port, "http://127.0.0.1:"+strconv.Itoa(port)
		if lastErr = waitHTTP(ctx, p, p.URL+healthPath, 30*time.Second); lastErr == nil {
			return p, nil
		}
		p.stop()
		if !strings.Contains(p.tail(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

// start launches bin with args and env, logging to <dir>/<name>.log.
func (f *fleet) start(name, bin string, args, env []string) (*proc, error) {
	logPath := filepath.Join(f.dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(env)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	return p, nil
}

// Close stops every process, newest first.
func (f *fleet) Close() {
	f.mu.Lock()
	procs := f.procs
	f.procs = nil
	f.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// stop sends SIGINT, then SIGKILL after 5s, and waits for the exit.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail returns the end of the process's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitHTTP polls url until it answers 200, the process exits, or timeout.
func waitHTTP(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during start:\n%s", p.name, p.tail())
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s after %s:\n%s", p.name, url, timeout, p.tail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
