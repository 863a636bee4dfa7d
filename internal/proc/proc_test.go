package proc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/proc"
)

// sh is the shell the tests run scripts with.
func sh(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("sh not on PATH: %v", err)
	}
	return p
}

func TestStartCapturesOutputAndWaitsForReady(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		log  func(t *testing.T) proc.Log
	}{
		{"memory", func(*testing.T) proc.Log { return nil }},
		{"file", func(t *testing.T) proc.Log {
			f, err := proc.CreateFile(filepath.Join(t.TempDir(), "out.log"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := proc.Start(proc.Spec{Name: "echoer", Path: sh(t), Args: []string{"-c", "echo hello; echo oops >&2; exec sleep 60"}, Log: tc.log(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			err = p.WaitReady(ctx, "both lines", 10*time.Second, func(context.Context) bool {
				out := p.Log().Tail(100)
				return strings.Contains(out, "hello") && strings.Contains(out, "oops")
			})
			if err != nil {
				t.Fatal(err)
			}
			p.Stop()
			select {
			case <-p.Exited():
			default:
				t.Fatal("Stop returned before the process exited")
			}
			p.Stop() // harmless once stopped
		})
	}
}

func TestWaitReadyFails(t *testing.T) {
	ctx := context.Background()
	never := func(context.Context) bool { return false }

	p, err := proc.Start(proc.Spec{Name: "quitter", Path: sh(t), Args: []string{"-c", "echo dying words; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitReady(ctx, "never", time.Minute, never)
	if !errors.Is(err, proc.ErrExited) || !strings.Contains(err.Error(), "dying words") || !strings.Contains(err.Error(), "quitter") {
		t.Errorf("got %v; want ErrExited naming quitter and quoting its output", err)
	}

	p, err = proc.Start(proc.Spec{Name: "sleeper", Path: sh(t), Args: []string{"-c", "exec sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	err = p.WaitReady(ctx, "GET /health", 50*time.Millisecond, never)
	if err == nil || errors.Is(err, proc.ErrExited) || !strings.Contains(err.Error(), "GET /health") {
		t.Errorf("got %v; want a timeout naming what it waited for", err)
	}
}

// TestStopKillsWhatIgnoresSIGINT: a process that ignores SIGINT is killed
// after the grace period.
func TestStopKillsWhatIgnoresSIGINT(t *testing.T) {
	p, err := proc.Start(proc.Spec{Path: sh(t), Args: []string{"-c", "trap '' INT; echo armed; while :; do sleep 1; done"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(context.Background(), "trap", 10*time.Second, func(context.Context) bool {
		return strings.Contains(p.Log().Tail(10), "armed")
	}); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	<-p.Exited()
}

func TestHTTPOK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if !proc.HTTPOK(srv.URL + "/ok")(ctx) {
		t.Error("200 not ready")
	}
	if proc.HTTPOK(srv.URL + "/busy")(ctx) {
		t.Error("503 ready")
	}
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if proc.HTTPOK("http://127.0.0.1:" + strconv.Itoa(port))(ctx) {
		t.Error("closed port ready")
	}
}
