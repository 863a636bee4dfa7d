package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/proc"
)

// RedisServer is one redis-server process owned by a test.
type RedisServer struct {
	Addr string
	Dir  string
	port int
	args []string
	p    *proc.Process
	tb   testing.TB
}

// StartRedis starts a redis-server on a free loopback port in a temporary
// directory, with AOF persistence on and fsynced on every write, so a
// restart after Stop (SIGKILL) keeps every acknowledged write. (With the
// default everysec, Redis may postpone AOF writes for up to 2 s while a
// previous fsync is slow, and a kill then loses them.) Extra
// configuration directives ("name", "value" pairs) are appended. The server
// is stopped when the test ends.
func StartRedis(tb testing.TB, extra ...string) *RedisServer {
	tb.Helper()
	return launchRedis(tb, tb.TempDir(), func(port int) []string {
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--dir", "", "--appendonly", "yes", "--appendfsync", "always", "--save", "",
			"--protected-mode", "no",
		}
		return append(args, extra...)
	})
}

// launchRedis starts redis-server in dir with the arguments args returns
// for a free port, trying a few ports. "--dir" followed by "" is filled in
// with dir, and a log file in dir is added.
func launchRedis(tb testing.TB, dir string, args func(port int) []string) *RedisServer {
	tb.Helper()
	bin := lookPath(tb, "redis-server", "redis-server")
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := FreePort(tb)
		a := args(port)
		for i := range a {
			if a[i] == "--dir" && i+1 < len(a) && a[i+1] == "" {
				a[i+1] = dir
			}
		}
		a = append(a, "--logfile", filepath.Join(dir, "redis.log"))
		s := &RedisServer{Addr: addr(port), Dir: dir, port: port, args: append([]string{bin}, a...), tb: tb}
		if lastErr = s.start(); lastErr == nil {
			tb.Cleanup(s.Stop)
			return s
		}
	}
	tb.Fatalf("testenv: start redis-server: %v", lastErr)
	return nil
}

func (s *RedisServer) start() error {
	p, err := proc.Start(proc.Spec{Name: "redis-server", Path: s.args[0], Args: s.args[1:]})
	if err != nil {
		return err
	}
	err = p.WaitReady(context.Background(), "PING at "+s.Addr, 10*time.Second, func(ctx context.Context) bool {
		c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		defer c.Close()
		return c.Ping(ctx).Err() == nil
	})
	if err != nil {
		p.Kill()
		log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
		return fmt.Errorf("%w\n%s", err, log)
	}
	s.p = p
	return nil
}

// Stop kills the server (SIGKILL: a crash, not a clean shutdown) and waits
// until it has exited, so its port is closed. Calling it twice is
// harmless.
func (s *RedisServer) Stop() {
	if s.p == nil {
		return
	}
	s.p.Kill()
	s.p = nil
}

// Restart stops the server and starts it again on the same port and
// directory, so AOF data survives.
func (s *RedisServer) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.tb.Fatalf("testenv: restart redis-server: %v", err)
	}
}

// Client returns a go-redis client for the server, closed when the test ends.
func (s *RedisServer) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	tb.Cleanup(func() { c.Close() })
	return c
}

// Pause stops the server process (SIGSTOP): its port keeps accepting
// connections but nothing is answered, as with a hung or partitioned
// Redis. The test's cleanup resumes it before stopping it.
func (s *RedisServer) Pause() {
	s.tb.Helper()
	if err := s.p.Signal(syscall.SIGSTOP); err != nil {
		s.tb.Fatalf("testenv: pause redis-server: %v", err)
	}
	s.tb.Cleanup(s.Resume)
}

// Resume continues a server stopped by Pause (SIGCONT). Calling it when
// the server is not paused is harmless.
func (s *RedisServer) Resume() {
	if s.p == nil {
		return
	}
	_ = s.p.Signal(syscall.SIGCONT)
}
