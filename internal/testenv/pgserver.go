package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresServer is a PostgreSQL server of the test's own, for tests that
// stop or restart it (the server PostgresEnv names is shared by every
// package and must stay up).
type PostgresServer struct {
	// URL connects to its postgres database as the superuser.
	URL   string
	dir   string
	port  int
	bin   string
	runAs []string
	tb    testing.TB
	// settings are extra "name=value" server settings.
	settings []string
}

// StartPostgres initialises a cluster in a temporary directory and starts
// it on a free loopback port (trust authentication, fsync off), as
// scripts/test.sh does; it is stopped and removed when the test ends.
// Initialising takes a second or two. Settings ("name=value", such as
// "fsync=on" for a benchmark that wants a durable server's commits) are
// passed to the server after the defaults, so they override them.
func StartPostgres(tb testing.TB, settings ...string) *PostgresServer {
	tb.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	bin := ""
	if len(bins) > 0 {
		bin = filepath.Dir(bins[len(bins)-1])
	} else {
		bin = filepath.Dir(lookPath(tb, "initdb", "postgresql"))
	}
	dir, err := os.MkdirTemp("", "authmesh-pg-")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s := &PostgresServer{dir: dir, bin: bin, tb: tb, settings: settings}
	if os.Getuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("testenv: running as root needs a postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		s.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := s.command("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		tb.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	s.port = FreePort(tb)
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

func (s *PostgresServer) data() string { return filepath.Join(s.dir, "data") }

func (s *PostgresServer) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, s.runAs...), filepath.Join(s.bin, name)), args...)
	return exec.Command(argv[0], argv[1:]...)
}

// Start starts the server and waits until it accepts connections.
func (s *PostgresServer) Start() {
	s.tb.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.dir)
	for _, set := range s.settings {
		opts += " -c " + set
	}
	if out, err := s.command("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "pg.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "pg.log"))
		s.tb.Fatalf("testenv: start PostgreSQL: %v\n%s\n%s", err, out, log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := pgx.Connect(ctx, s.URL)
		if err == nil {
			c.Close(ctx)
			return
		}
		if ctx.Err() != nil {
			s.tb.Fatalf("testenv: PostgreSQL not accepting connections: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down (fast mode: sessions are terminated, as in
// an operator's restart). Stopping a stopped server is harmless.
func (s *PostgresServer) Stop() {
	_ = s.command("pg_ctl", "-D", s.data(), "-m", "fast", "-w", "stop").Run()
}

// Restart stops the server and starts it again on the same port and data:
// every connection open to it is closed by the server.
func (s *PostgresServer) Restart() {
	s.tb.Helper()
	s.Stop()
	s.Start()
}
