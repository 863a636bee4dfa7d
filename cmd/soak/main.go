// Command soak runs authmesh through the faults of a production day and
// checks that no revocation is lost, no client sees a 5xx and no secret
// reaches a log.
//
// It builds the auth service and the example microservice, starts on
// loopback its own redis-server and PostgreSQL (in a temporary directory,
// never the machine's), two auth replicas sharing them, and four example
// microservices given both replicas' URLs (two read revocations from
// Redis, two follow the replicas' feed). Then, for -duration, workers log
// in, call the microservices, refresh, and revoke (logout, revokeSession,
// logoutAll), while six faults are injected one after the other: Redis
// paused (SIGSTOP) and resumed, Redis killed and restarted, an auth
// replica killed (SIGKILL) and restarted, PostgreSQL restarted, a
// microservice killed and restarted, a microservice paused and resumed.
//
// Every acknowledged revocation is probed at every microservice until it
// answers 401. A revocation is lost for good when a microservice still
// accepts the token once no fault is in progress and -window has passed
// since both the revocation's answer and the end of the last fault. See
// docs/OPERATIONS.md, "Fault soak".
//
// Usage:
//
//	go run ./cmd/soak                       # 12 minutes
//	go run ./cmd/soak -duration 90s -json   # the CI version's schedule
//
// It prints a table (or JSON with -json) on stdout, progress on stderr, and
// exits non-zero when a revocation was lost, a client got a 5xx, or a raw
// token or password appeared in any process's output. Every process it
// started is stopped on exit, including on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		stop()
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	Duration time.Duration // workload and faults, setup and drain aside
	Window   time.Duration // convergence window after a fault
	Workers  int
	Think    time.Duration // pause between two operations of one worker
	JSON     bool
	Logs     string // directory for the processes' logs; empty: a temporary one
}

// errFailed: the soak measured a lost revocation, a 5xx or a leak; the
// report says which.
var errFailed = errors.New("soak failed: see the report")

// parseFlags reads args into options and validates them.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.Duration, "duration", 12*time.Minute, "how long the workload runs, the six faults spread over it (setup and the final check aside)")
	fs.DurationVar(&o.Window, "window", 30*time.Second, "convergence window: a microservice still accepting a revoked token this long after the revocation and the last fault's end has lost it")
	fs.IntVar(&o.Workers, "workers", 4, "concurrent clients, one account each")
	fs.DurationVar(&o.Think, "think", 50*time.Millisecond, "pause between two operations of one worker")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON instead of tables")
	fs.StringVar(&o.Logs, "logs", "", "keep the processes' logs in this directory (default: a temporary one, kept only when the soak fails)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.Duration < 30*time.Second || o.Duration > 24*time.Hour:
		return o, fmt.Errorf("-duration=%s must be from 30s to 24h (six faults need room)", o.Duration)
	case o.Window < time.Second || o.Window > 10*time.Minute:
		return o, fmt.Errorf("-window=%s must be from 1s to 10m", o.Window)
	case o.Workers < 1 || o.Workers > 64:
		return o, fmt.Errorf("-workers=%d must be from 1 to 64", o.Workers)
	case o.Think < 0 || o.Think > 10*time.Second:
		return o, fmt.Errorf("-think=%s must be from 0 to 10s", o.Think)
	}
	return o, nil
}

// run builds and starts everything, soaks, checks and reports.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir := o.Logs
	if dir == "" {
		if dir, err = os.MkdirTemp("", "authmesh-soak-"); err != nil {
			return err
		}
		defer func() {
			if err == nil {
				os.RemoveAll(dir)
			} else {
				fmt.Fprintf(stderr, "soak: logs kept in %s\n", dir)
			}
		}()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// PostgreSQL runs as its own user when the soak runs as root: it must
	// traverse the directory to reach its own.
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "soak: building ./cmd/server and ./examples/example-microservice …")
	bins, err := build(ctx, dir)
	if err != nil {
		return err
	}
	c, err := startCluster(ctx, stderr, dir, bins)
	if err != nil {
		if c != nil {
			c.Close()
		}
		return err
	}
	res, err := soak(ctx, stderr, c, o)
	c.Close() // every log complete before the leak check
	if err != nil {
		return err
	}
	res.Leaks, res.LogBytes, res.LogFiles, err = scanLogs(dir, res.secrets)
	if err != nil {
		return err
	}
	res.RawRedisLines = rawRedisLines(dir)
	res.finish(o)
	if o.JSON {
		err = res.writeJSON(stdout)
	} else {
		res.writeTable(stdout)
	}
	if err != nil {
		return err
	}
	if !res.Passed {
		return errFailed
	}
	return nil
}
