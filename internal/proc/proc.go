// Package proc runs the child processes of the end-to-end tests and of the
// operator commands (cmd/revocation-bench, cmd/loadtest, cmd/soak): build
// the module's binaries, start a binary with its output captured, wait
// until it is ready or has exited, and stop it (SIGINT, then SIGKILL).
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// StopGrace is how long Stop waits after SIGINT before it kills.
const StopGrace = 5 * time.Second

// pollEvery is the pause between two readiness checks.
const pollEvery = 20 * time.Millisecond

// tailBytes is how much of the output an error quotes.
const tailBytes = 4 << 10

// Spec says what to run.
type Spec struct {
	// Name names the process in errors; default the binary's path.
	Name string
	Path string   // the binary
	Args []string // its arguments, without the program name
	// Env is the complete environment; nil inherits this process's.
	Env []string
	// Log receives the process's standard output and error; nil keeps
	// them in a new Buffer. Passing the same Log to a restarted process
	// keeps one history.
	Log Log
}

// Log is where a process's output goes: the process writes it, errors
// quote it back.
type Log interface {
	Write(p []byte) (int, error)
	// Tail returns the last n bytes written (all of them when fewer).
	Tail(n int) string
}

// Process is a started child process. Its methods are safe for concurrent
// use.
type Process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    Log
}

// Start starts s; the caller owns the process and stops it with Stop.
func Start(s Spec) (*Process, error) {
	if s.Name == "" {
		s.Name = s.Path
	}
	if s.Log == nil {
		s.Log = new(Buffer)
	}
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Env = s.Env
	var out io.Writer = s.Log
	if f, ok := s.Log.(File); ok {
		out = f.File // the child writes to the file itself, no copying
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	p := &Process{name: s.Name, cmd: cmd, exited: make(chan struct{}), log: s.Log}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Log is where the process's output goes.
func (p *Process) Log() Log { return p.log }

// Stop sends SIGINT, kills the process if it has not exited StopGrace
// later, and waits for the exit. Stopping an exited process does nothing.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	t := time.NewTimer(StopGrace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.Kill()
	}
}

// Signal sends sig to the process (SIGSTOP and SIGCONT pause and resume
// it, as a hung server would be).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill sends SIGKILL (a crash, not a clean shutdown) and waits for the
// exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// ErrExited: the process exited while WaitReady waited for it.
var ErrExited = errors.New("proc: exited during start")

// WaitReady calls ready every 20 ms until it reports true, and fails when
// the process exits (ErrExited), timeout passes or ctx ends first. what
// names the awaited condition in the error (e.g. the health URL), which
// quotes the end of the process's output.
func (p *Process) WaitReady(ctx context.Context, what string, timeout time.Duration, ready func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s: %w:\n%s", p.name, ErrExited, p.log.Tail(tailBytes))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (%s) after %s:\n%s", p.name, what, timeout, p.log.Tail(tailBytes))
		case <-tick.C:
		}
	}
}

// HTTPOK is a readiness check: a GET of url answers 200.
func HTTPOK(url string) func(context.Context) bool {
	client := &http.Client{Timeout: time.Second}
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("proc: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
