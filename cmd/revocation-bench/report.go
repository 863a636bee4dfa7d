package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// writeReport prints the method line and a markdown table ready for
// docs/PERFORMANCE.md.
func writeReport(w io.Writer, opt options, results []modeResult) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "revocation-bench: %s, %d CPUs, load average %s at the end; %d sessions per mode, poll pause %s, lost after %s.\n",
		runtime.Version(), runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "), opt.N, opt.Poll, opt.Lost)
	fmt.Fprintf(w, "Auth service run with %s (benchmark only: cheap argon2, no login limits).\n", strings.Join(cheapAuthEnv, " "))
	fmt.Fprintln(w, "Sample: from the logout response's arrival until the last service answers 401 (0 when all already did).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Mode | Scenario | Validators | Samples | Already rejected | p50 | p90 | p99 | Max | Lost |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		row(w, r.Mode, "logout → 401 at every service", r.Services, r.Propagation)
		if r.CatchUp != nil {
			row(w, r.Mode, fmt.Sprintf("catch-up: logout right after `CLIENT KILL TYPE pubsub` (%d connections killed)", r.PubSubKilled), r.Services, *r.CatchUp)
		}
		live := "accepted"
		if !r.LateLiveOK {
			live = "REJECTED"
		}
		pct := 100.0
		if r.LateRevoked > 0 {
			pct = 100 * float64(r.LateRejected) / float64(r.LateRevoked)
		}
		fmt.Fprintf(w, "| %s | late start: revoked tokens rejected by a service started afterwards (never-revoked token %s) | 1 | %d/%d (%.0f%%) | | | | | | %d |\n",
			r.Mode, live, r.LateRejected, r.LateRevoked, pct, r.LateRevoked-r.LateRejected)
	}
}

func row(w io.Writer, mode, scenario string, validators int, s samples) {
	fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %s | %s | %s | %s | %d |\n", mode, scenario, validators,
		s.count(), s.zeros(), ms(s.percentile(0.50)), ms(s.percentile(0.90)), ms(s.percentile(0.99)), ms(s.percentile(1)), s.lost)
}

// ms formats d in milliseconds with microsecond precision.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}
