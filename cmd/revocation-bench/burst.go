package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/proc"
	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
)

// burstWriters is how many goroutines write the burst; each Revoke is one
// round trip running the auth service's own revoke script.
const burstWriters = 32

// runBurst starts Redis, the auth service and opt.Services validators
// (Redis mode), writes opt.N session revocations as fast as the auth
// service's Redis writer takes them, and measures when every validator
// holds all of them (its authmesh_revocation_entries gauge), reporting any
// validator that still misses one after -lost.
func runBurst(ctx context.Context, stdout, log io.Writer, opt options, bins binaries, work string) error {
	f, err := newFleet(filepath.Join(work, "burst"))
	if err != nil {
		return err
	}
	defer f.Close()
	b := &bench{opt: opt, log: log, fleet: f, bins: bins, c: newClient()}
	defer b.c.close()
	if err := b.startSystem(ctx, "redis"); err != nil {
		return err
	}
	client := redis.NewClient(&redis.Options{Addr: b.redis.Addr, PoolSize: burstWriters})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		return err
	}
	base := make([]int64, len(b.services))
	for i, svc := range b.services {
		if base[i], err = entries(ctx, svc); err != nil {
			return err
		}
	}
	f.mu.Lock()
	procs := append([]*proc.Process(nil), f.procs...) // redis, auth, then the validators
	f.mu.Unlock()
	cpu0, err := cpuTimes(procs)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "burst: %d session revocations to %d validators …\n", opt.N, len(b.services))
	exp := time.Now().Add(time.Hour).Unix()
	prefix := rand.Text()[:8]
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, burstWriters)
	began := time.Now()
	for range burstWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(opt.N); i = next.Add(1) {
				e := revoke.Entry{Kind: revoke.KindSession, ID: prefix + "-" + strconv.FormatInt(i, 10), Expires: exp, At: time.Now().Unix()}
				if _, err := store.Revoke(ctx, e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	ended := time.Now()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("burst write: %w", err)
	}
	// Every validator's entries gauge reaching base+N: all applied.
	applied := make([]time.Duration, len(b.services))
	short := make([]int64, len(b.services))
	deadline := ended.Add(opt.Lost)
	for i, svc := range b.services {
		for {
			n, err := entries(ctx, svc)
			if err != nil {
				return err
			}
			if n >= base[i]+int64(opt.N) {
				applied[i] = time.Since(ended)
				break
			}
			if time.Now().After(deadline) {
				short[i] = base[i] + int64(opt.N) - n
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cpu1, err := cpuTimes(procs)
	if err != nil {
		return err
	}
	write := ended.Sub(began)
	perEvent := func(i int) string {
		return fmt.Sprintf("%.1f µs", float64(cpu1[i]-cpu0[i])/float64(time.Microsecond)/float64(opt.N))
	}
	var svcCPU time.Duration
	for i := 2; i < len(procs); i++ {
		svcCPU += cpu1[i] - cpu0[i]
	}
	fmt.Fprintf(stdout, "| validators | revocations | write (burst) | writes/s | all applied after the burst's end (slowest validator) | lost |\n|---|---|---|---|---|---|\n")
	slowest, lost := time.Duration(0), int64(0)
	for i := range applied {
		slowest = max(slowest, applied[i])
		lost += short[i]
	}
	fmt.Fprintf(stdout, "| %d | %d | %s | %.0f | %s | %d |\n", len(b.services), opt.N, write.Round(time.Millisecond),
		float64(opt.N)/write.Seconds(), ms(slowest), lost)
	fmt.Fprintf(stdout, "\nCPU per revocation: redis-server %s (script, log, publish to %d subscribers), this command's writer not counted, each validator %.1f µs on average (receive, decode, apply); the auth service %s (idle)\n",
		perEvent(0), len(b.services), float64(svcCPU)/float64(time.Microsecond)/float64(opt.N)/float64(len(b.services)), perEvent(1))
	for i := range applied {
		fmt.Fprintf(log, "  validator %d: applied %s after the burst's end, missing %d\n", i+1, ms(applied[i]), short[i])
	}
	if lost > 0 {
		return errFailed
	}
	return nil
}

// cpuTimes reads every process's CPU time.
func cpuTimes(procs []*proc.Process) ([]time.Duration, error) {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		t, err := cpuTime(p.Pid())
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// entries reads a validator's authmesh_revocation_entries gauge.
func entries(ctx context.Context, svc string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, svc+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "authmesh_revocation_entries "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("%s/metrics has no authmesh_revocation_entries", svc)
}
