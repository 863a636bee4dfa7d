package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fanout mode measures the feed's fan-out: one auth service (embedded
// mode), N raw SSE streams open on it over loopback, and -n logouts made
// one at a time. A sample is the time from sending a logout until one
// stream has read its revocation event: N samples per logout.

// fanoutResult is what one stream count measured.
type fanoutResult struct {
	Streams int
	Latency samples
	CPU     time.Duration // the auth service's CPU time per logout (user + system)
	RSS     int64         // the auth service's resident memory with every stream open, in KiB
}

// runFanout measures every stream count of opt.Streams.
func runFanout(ctx context.Context, stdout, log io.Writer, opt options, bins binaries, work string) error {
	var results []fanoutResult
	for _, n := range opt.Streams {
		res, err := fanoutOnce(ctx, log, opt, bins, filepath.Join(work, "fanout-"+strconv.Itoa(n)), n)
		if err != nil {
			return fmt.Errorf("fanout with %d streams: %w", n, err)
		}
		results = append(results, res)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(stdout, "revocation-bench -mode fanout: %s, %d CPUs, load average %s at the end; %d logouts per row, lost after %s.\n",
		runtime.Version(), runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "), opt.N, opt.Lost)
	fmt.Fprintln(stdout, "Sample: from sending a logout until one feed stream has read its revocation event (streams × logouts samples per row).")
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "CPU: the auth service's user+system CPU time per logout while the streams were open (logout itself included). RSS: its resident memory once every stream was open.")
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| Streams | Samples | p50 | p90 | p99 | Max | Lost | Auth CPU per logout | Auth RSS |")
	fmt.Fprintln(stdout, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	failed := false
	for _, r := range results {
		s := r.Latency
		fmt.Fprintf(stdout, "| %d | %d | %s | %s | %s | %s | %d | %s | %d MiB |\n", r.Streams, s.count(),
			ms(s.percentile(0.50)), ms(s.percentile(0.90)), ms(s.percentile(0.99)), ms(s.percentile(1)), s.lost, ms(r.CPU), r.RSS>>10)
		failed = failed || s.lost > 0
	}
	if failed {
		return errFailed
	}
	return nil
}

// fanoutOnce starts a fresh auth service, opens n streams and measures.
func fanoutOnce(ctx context.Context, log io.Writer, opt options, bins binaries, dir string, n int) (fanoutResult, error) {
	res := fanoutResult{Streams: n}
	f, err := newFleet(dir)
	if err != nil {
		return res, err
	}
	defer f.Close()
	env := append([]string{
		"DATA_DIR=" + filepath.Join(dir, "data"),
		"FEED_MAX_STREAMS_PER_CLIENT=" + strconv.Itoa(n+10),
	}, cheapAuthEnv...)
	auth, err := f.startService(ctx, "auth", bins.Server, env, "/healthz")
	if err != nil {
		return res, err
	}
	b := &bench{opt: opt, log: log, fleet: f, bins: bins, c: newClient(), authURL: auth.URL}
	defer b.c.close()
	tokens, err := b.loginMany(ctx, opt.N)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(log, "fanout: opening %d streams …\n", n)
	w := &watchers{seen: map[string]*atomic.Int64{}}
	sids := make([]string, len(tokens))
	for i, tok := range tokens {
		if sids[i], err = sessionID(tok); err != nil {
			return res, err
		}
		w.seen[sids[i]] = new(atomic.Int64)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	addr := strings.TrimPrefix(auth.URL, "http://")
	ready := make(chan error, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return res, fmt.Errorf("stream %d: %w (raise ulimit -n)", i+1, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET /v1/revocations HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
			return res, err
		}
		rs := &streamReads{}
		w.streams = append(w.streams, rs)
		go w.read(c, rs, ready)
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-ready:
			if err != nil {
				return res, fmt.Errorf("stream: %w", err)
			}
		case <-time.After(time.Minute):
			return res, errors.New("streams did not all open within a minute")
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	fmt.Fprintf(log, "fanout: %d streams open; measuring %d logouts …\n", n, len(tokens))
	if res.RSS, err = residentKiB(auth.Pid()); err != nil {
		return res, err
	}
	cpu0, err := cpuTime(auth.Pid())
	if err != nil {
		return res, err
	}
	sent := make(map[string]time.Time, len(tokens))
	for i, tok := range tokens {
		sid := sids[i]
		sent[sid] = time.Now()
		if err := b.c.logout(ctx, auth.URL, tok); err != nil {
			return res, err
		}
		// Poll rather than be signalled: the readers share nothing but
		// this counter, so the measurement adds no contention.
		for w.seen[sid].Load() < int64(n) && time.Since(sent[sid]) < opt.Lost {
			time.Sleep(time.Millisecond)
		}
		res.Latency.lost += n - int(w.seen[sid].Load())
	}
	cpu1, err := cpuTime(auth.Pid())
	if err != nil {
		return res, err
	}
	res.CPU = (cpu1 - cpu0) / time.Duration(len(tokens))
	for _, rs := range w.streams {
		rs.mu.Lock()
		for _, a := range rs.arrivals {
			if t, ok := sent[a.id]; ok {
				res.Latency.d = append(res.Latency.d, a.at.Sub(t))
			}
		}
		rs.mu.Unlock()
	}
	return res, nil
}

// watchers collects what the streams read.
type watchers struct {
	seen    map[string]*atomic.Int64 // revocation id -> streams that read it; fixed before reading starts
	streams []*streamReads
}

// streamReads is what one stream read, when.
type streamReads struct {
	mu       sync.Mutex
	arrivals []arrival
}

type arrival struct {
	id string
	at time.Time
}

// read follows one stream: it reports the first snapshot on ready, then
// records when each revocation event arrived.
func (w *watchers) read(c net.Conn, rs *streamReads, ready chan<- error) {
	r := bufio.NewReaderSize(c, 16<<10)
	opened, event := false, ""
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if !opened {
				ready <- err
			}
			return
		}
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(bytes.TrimSpace(line[len("event: "):]))
		case bytes.HasPrefix(line, []byte("data: ")) && event == "snapshot" && !opened:
			opened = true
			ready <- nil
		case bytes.HasPrefix(line, []byte("data: ")) && event == "revocation":
			now := time.Now()
			id := jsonString(line, `"id":"`)
			if seen, ok := w.seen[id]; ok {
				rs.mu.Lock()
				rs.arrivals = append(rs.arrivals, arrival{id: id, at: now})
				rs.mu.Unlock()
				seen.Add(1)
			}
		}
	}
}

// jsonString returns the string after key in line, up to its closing quote.
func jsonString(line []byte, key string) string {
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return ""
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// sessionID reads the sid claim of an access token (the token is ours; its
// signature is not checked here).
func sessionID(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("fanout: token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.SID == "" {
		return "", errors.New("fanout: token has no sid")
	}
	return c.SID, nil
}

// cpuTime reads a process's user+system CPU time from /proc (Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("fanout: read CPU time: %w", err)
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, errors.New("fanout: unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("fanout: unexpected /proc stat format")
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// residentKiB reads a process's resident set size from /proc (Linux).
func residentKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("fanout: read resident memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("fanout: no VmRSS in /proc status")
}
