// Command revocation-bench measures how fast a logout reaches every
// microservice: it builds the auth service and the example microservice,
// starts them (and a redis-server in Redis mode) on free loopback ports,
// logs in N sessions, logs each one out and polls every service until it
// answers 401. It also measures catch-up after the validators' Redis
// pub/sub connections are killed, and checks that a microservice started
// after all revocations rejects every revoked token.
//
// Usage:
//
//	go run ./cmd/revocation-bench -mode redis -services 3 -n 200
//	go run ./cmd/revocation-bench -mode all
//	go run ./cmd/revocation-bench -mode fanout -streams 2000,10000 -n 20
//	go run ./cmd/revocation-bench -mode burst -services 10 -n 100000
//	go run ./cmd/revocation-bench -mode burst -transport feed -batch 1000 -services 10 -n 100000
//	go run ./cmd/revocation-bench -mode sustained -rate 5000 -duration 60s -services 3
//
// It prints a markdown table on stdout (progress goes to stderr) and exits
// non-zero when any revocation was not observed within -lost (5s), or the
// late-started service accepted a revoked token. Every process it started
// is stopped on exit, including on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "revocation-bench:", err)
		stop()
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	Modes    []string      // "redis", "feed"
	Services int           // validators per mode
	N        int           // logout samples per mode
	CatchUp  int           // catch-up rounds (Redis mode)
	Lost     time.Duration // a revocation not seen by then is lost
	Poll     time.Duration // pause between polls of one service (0: tight loop)
	Streams  []int         // feed streams per fan-out run ("fanout" mode)

	Transport string        // burst and sustained modes: "redis" or "feed"
	Batch     int           // burst: revocations per RevokeMany call (1: one Revoke each)
	Late      bool          // burst: start a validator halfway and check its set
	Rate      int           // sustained: revocations per second
	Duration  time.Duration // sustained: how long
}

// errFailed reports that the run measured a failure (lost revocation or a
// late-start miss); the table has already been printed.
var errFailed = errors.New("revocation-bench: a revocation was lost or a late-started service disagreed (see table)")

// parseFlags reads args into options and validates them.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("revocation-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "all", "revocation transport: redis, feed (embedded: validators read the auth service's SSE feed), or all; or burst (-n session revocations at once through the auth service's revocation store of -transport to -services validators: time until all applied, none lost); or sustained (-rate revocations/s for -duration to -services validators followed in this process: propagation percentiles); or fanout (feed fan-out latency with -streams open streams)")
	streams := fs.String("streams", "2000,10000", "fanout mode: comma-separated stream counts, one fresh auth service each")
	o := options{}
	fs.IntVar(&o.Services, "services", 3, "number of example microservices (validators)")
	fs.IntVar(&o.N, "n", 200, "number of sessions logged out and measured, per mode")
	fs.IntVar(&o.CatchUp, "catchup", 10, "catch-up rounds in redis mode (CLIENT KILL TYPE pubsub, then a logout)")
	fs.DurationVar(&o.Lost, "lost", 5*time.Second, "a revocation not seen by every service within this is counted lost")
	fs.DurationVar(&o.Poll, "poll", 0, "pause between two polls of one service (0: tight loop)")
	fs.StringVar(&o.Transport, "transport", "redis", "burst and sustained modes: redis (Redis writer, pub/sub and log) or feed (SQL journal and SSE feed)")
	fs.IntVar(&o.Batch, "batch", 1000, "burst mode: revocations per bulk call (RevokeMany, one batch each); 1 writes them one by one")
	fs.BoolVar(&o.Late, "late", true, "burst mode: start one more validator (in this process) halfway through the burst and check it ends with exactly the writer's set")
	fs.IntVar(&o.Rate, "rate", 5000, "sustained mode: revocations per second")
	fs.DurationVar(&o.Duration, "duration", time.Minute, "sustained mode: how long to write")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch *mode {
	case "redis", "feed":
		o.Modes = []string{*mode}
	case "all":
		o.Modes = []string{"redis", "feed"}
	case "burst", "sustained":
		o.Modes = []string{*mode}
	case "fanout":
		o.Modes = []string{"fanout"}
		for _, s := range strings.Split(*streams, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 || n > 50_000 {
				return o, fmt.Errorf("-streams=%q must list stream counts from 1 to 50000", *streams)
			}
			o.Streams = append(o.Streams, n)
		}
	default:
		return o, fmt.Errorf("-mode=%q must be redis, feed, all, burst, sustained or fanout", *mode)
	}
	switch {
	case o.Transport != "redis" && o.Transport != "feed":
		return o, fmt.Errorf("-transport=%q must be redis or feed", o.Transport)
	case o.Batch < 1 || o.Batch > revoke.MaxBatch:
		return o, fmt.Errorf("-batch=%d must be from 1 to %d", o.Batch, revoke.MaxBatch)
	case o.Rate < 1 || o.Rate > 100_000:
		return o, fmt.Errorf("-rate=%d must be from 1 to 100000", o.Rate)
	case o.Duration <= 0 || o.Duration > 10*time.Minute:
		return o, fmt.Errorf("-duration=%s must be positive and at most 10m", o.Duration)
	}
	switch {
	case o.Services < 1 || o.Services > 32:
		return o, fmt.Errorf("-services=%d must be from 1 to 32", o.Services)
	case o.N < 1 || o.N > 100_000:
		return o, fmt.Errorf("-n=%d must be from 1 to 100000", o.N)
	case o.CatchUp < 0 || o.CatchUp > 1000:
		return o, fmt.Errorf("-catchup=%d must be from 0 to 1000", o.CatchUp)
	case o.Lost <= 0 || o.Lost > time.Minute:
		return o, fmt.Errorf("-lost=%s must be positive and at most 1m", o.Lost)
	case o.Poll < 0 || o.Poll > time.Second:
		return o, fmt.Errorf("-poll=%s must be from 0 to 1s", o.Poll)
	}
	return o, nil
}

// run builds the binaries, runs every requested mode and prints the table.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opt, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "revocation-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Fprintln(stderr, "building ./cmd/server and ./examples/example-microservice …")
	bins, err := build(ctx, work)
	if err != nil {
		return err
	}
	if opt.Modes[0] == "burst" {
		return runBurst(ctx, stdout, stderr, opt, bins, work)
	}
	if opt.Modes[0] == "sustained" {
		return runSustained(ctx, stdout, stderr, opt, bins, work)
	}
	if opt.Modes[0] == "fanout" {
		return runFanout(ctx, stdout, stderr, opt, bins, work)
	}
	var results []modeResult
	for _, mode := range opt.Modes {
		res, err := runMode(ctx, stderr, opt, bins, mode, work)
		if err != nil {
			return fmt.Errorf("%s mode: %w", mode, err)
		}
		results = append(results, res)
	}
	writeReport(stdout, opt, results)
	for _, r := range results {
		if r.failed() {
			return errFailed
		}
	}
	return nil
}
