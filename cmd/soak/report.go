package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// result is the soak's report.
type result struct {
	Duration      string               `json:"duration"`
	Window        string               `json:"window"`
	Workers       int                  `json:"workers"`
	Services      []string             `json:"microservices"`
	LoadAverage   string               `json:"load_average"`
	Revocations   map[string]int       `json:"revocations"` // acknowledged operations by kind
	Tokens        int                  `json:"revoked_tokens_probed"`
	Lost          int                  `json:"lost"`
	Unverified    int                  `json:"unverified"` // a microservice never answered for it
	Periods       []periodReport       `json:"periods"`
	Requests      map[string]*opCount  `json:"requests"`
	Errors        map[string]*errCount `json:"errors"`
	Errors5xx     int                  `json:"errors_5xx"`
	Leaks         []leak               `json:"leaks"`
	LogFiles      int                  `json:"log_files_scanned"`
	LogBytes      int64                `json:"log_bytes_scanned"`
	Secrets       int                  `json:"secrets_looked_for"`
	RawRedisLines int                  `json:"raw_redis_log_lines"`
	Passed        bool                 `json:"passed"`
	Failures      []string             `json:"failures,omitempty"`

	secrets *secretSet
}

// periodReport covers the steady start, or one fault and the time until
// the next: revocations answered then, how long any microservice still
// accepted one of their tokens, and the errors requests overlapping the
// fault met.
type periodReport struct {
	Name         string    `json:"name"`
	Target       string    `json:"target,omitempty"`
	Start        time.Time `json:"start"`          // the fault's injection (the workload's start for the steady period)
	At           string    `json:"at"`             // Start, from the workload's start
	Down         string    `json:"down,omitempty"` // from the fault to its recovery
	Tokens       int       `json:"revoked_tokens"`
	MaxStaleness string    `json:"max_staleness"`
	StaleSeconds float64   `json:"max_staleness_seconds"`
	Lost         int       `json:"lost"`
	Errors       int       `json:"errors_during_fault"`
}

// result gathers the probes' findings once they have ended.
func (s *soaker) result() *result {
	faults := s.tl.snapshot()
	res := &result{Duration: s.o.Duration.String(), Window: s.o.Window.String(), Workers: s.o.Workers, secrets: s.secrets}
	for _, n := range s.c.svcs {
		res.Services = append(res.Services, n.Name)
	}
	res.Periods = make([]periodReport, len(faults)+1)
	res.Periods[0].Name, res.Periods[0].Start, res.Periods[0].At = "steady (before the first fault)", s.t0, "0s"
	for i, f := range faults {
		p := &res.Periods[i+1]
		p.Name, p.Target, p.Start = f.Kind, f.Target, f.Start
		p.At = f.Start.Sub(s.t0).Round(time.Second).String()
		if !f.Recovered.IsZero() {
			p.Down = f.Recovered.Sub(f.Start).Round(10 * time.Millisecond).String()
		}
	}
	s.stats.mu.Lock()
	res.Requests, res.Errors = s.stats.ops, s.stats.errs
	for i, n := range s.stats.byFault {
		res.Periods[i+1].Errors = n
	}
	s.stats.mu.Unlock()
	s.rev.mu.Lock()
	res.Revocations = s.rev.made
	res.Tokens = len(s.rev.items)
	for _, r := range s.rev.items {
		p := &res.Periods[r.Period+1]
		p.Tokens++
		lost, unverified := false, false
		for _, at := range r.at {
			if !at.LastAccepted.IsZero() {
				if d := at.LastAccepted.Sub(r.Ack).Seconds(); d > p.StaleSeconds {
					p.StaleSeconds = d
				}
			}
			lost = lost || at.Lost
			unverified = unverified || (!at.Refused && !at.Lost)
		}
		if lost {
			p.Lost++
			res.Lost++
		} else if unverified {
			res.Unverified++
		}
	}
	s.rev.mu.Unlock()
	for i := range res.Periods {
		res.Periods[i].MaxStaleness = (time.Duration(res.Periods[i].StaleSeconds * float64(time.Second))).Round(time.Millisecond).String()
	}
	return res
}

// finish decides the verdict.
func (r *result) finish(o options) {
	r.Secrets = r.secrets.len()
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(load))
		r.LoadAverage = strings.Join(f[:min(3, len(f))], " ")
	}
	if e := r.Errors[kind5xx]; e != nil {
		r.Errors5xx = e.DuringFault + e.Otherwise
	}
	if r.Lost > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d revoked tokens still accepted %s after the fault and the revocation", r.Lost, o.Window))
	}
	if r.Unverified > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d revoked tokens a microservice never answered for", r.Unverified))
	}
	if r.Errors5xx > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d answers with a 5xx status", r.Errors5xx))
	}
	if len(r.Leaks) > 0 {
		r.Failures = append(r.Failures, fmt.Sprintf("%d log lines hold a raw token or password", len(r.Leaks)))
	}
	r.Passed = len(r.Failures) == 0
}

func (r *result) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeTable prints markdown tables ready for docs/OPERATIONS.md.
func (r *result) writeTable(w io.Writer) {
	fmt.Fprintf(w, "soak: %s, %d CPUs, load average %s at the end; %s with %d workers, convergence window %s.\n",
		runtime.Version(), runtime.NumCPU(), r.LoadAverage, r.Duration, r.Workers, r.Window)
	fmt.Fprintf(w, "2 auth replicas (PostgreSQL + Redis), microservices %s given both replicas' URLs; workload started %s.\n\n",
		strings.Join(r.Services, ", "), r.Periods[0].Start.UTC().Format(time.RFC3339))
	fmt.Fprintln(w, "| period | target | at | down | revoked tokens | max staleness | lost | errors during the fault |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, p := range r.Periods {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s | %d | %d |\n", p.Name, dash(p.Target), p.At, dash(p.Down), p.Tokens, p.MaxStaleness, p.Lost, p.Errors)
	}
	fmt.Fprintln(w)
	var ops []string
	for op, n := range r.Revocations {
		ops = append(ops, fmt.Sprintf("%s %d", op, n))
	}
	slices.Sort(ops)
	fmt.Fprintf(w, "Revocations acknowledged: %s; %d revoked tokens probed at every microservice: %d lost, %d unverified.\n\n",
		strings.Join(ops, ", "), r.Tokens, r.Lost, r.Unverified)

	fmt.Fprintln(w, "| request | ok | failed | gave up |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, op := range sortedKeys(r.Requests) {
		c := r.Requests[op]
		fmt.Fprintf(w, "| %s | %d | %d | %d |\n", op, c.OK, c.Failed, c.GaveUp)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| client-visible error | while a fault was in progress | otherwise | example |")
	fmt.Fprintln(w, "|---|---:|---:|---|")
	if _, ok := r.Errors[kind5xx]; !ok {
		fmt.Fprintln(w, "| 5xx | 0 | 0 | |")
	}
	for _, k := range sortedKeys(r.Errors) {
		e := r.Errors[k]
		ex := e.Example
		if ex == "" {
			ex = e.ExampleDuring
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s |\n", k, e.DuringFault, e.Otherwise, strings.ReplaceAll(ex, "|", "/"))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Leak check: %d log files (%d bytes) searched for %d fragments of passwords and tokens: %d lines hold one. Raw go-redis log lines: %d.\n",
		r.LogFiles, r.LogBytes, r.Secrets, len(r.Leaks), r.RawRedisLines)
	for _, l := range r.Leaks {
		fmt.Fprintf(w, "  leak: %s line %d\n", l.File, l.Line)
	}
	if r.Passed {
		fmt.Fprintln(w, "PASS: no revocation lost, no 5xx, no leak.")
	} else {
		fmt.Fprintf(w, "FAIL: %s.\n", strings.Join(r.Failures, "; "))
	}
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
