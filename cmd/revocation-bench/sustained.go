package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// runSustained writes opt.Rate session revocations per second for
// opt.Duration through the auth service's revocation store of
// opt.Transport, one Revoke each (individual logouts), and measures the
// propagation of every one to opt.Services validators: synchronisers run
// in this process (redissync.Sync or feedsync.Sync, the code a validator
// process runs), each with its own connection and Set, timing each event
// from the moment its Revoke was sent to the moment it was applied. The
// validator processes of the other modes are not started: their gauges
// cannot time single entries.
func runSustained(ctx context.Context, stdout, log io.Writer, opt options, bins binaries, work string) error {
	f, err := newFleet(filepath.Join(work, "sustained"))
	if err != nil {
		return err
	}
	defer f.Close()
	b := &bench{opt: opt, log: log, fleet: f, bins: bins, c: newClient()}
	defer b.c.close()
	t, err := startTarget(ctx, b, opt.Transport, 0)
	if err != nil {
		return err
	}
	defer t.Close()
	total := int(float64(opt.Rate) * opt.Duration.Seconds())
	prefix := rand.Text()[:8] + "-"
	sent := make([]atomic.Int64, total) // unix ns when each Revoke was sent
	seen := make([][]time.Duration, opt.Services)
	var mu sync.Mutex
	var followers []*follower
	for v := range opt.Services {
		seen[v] = make([]time.Duration, total)
		fl, err := t.follow(func(ev revoke.Event) {
			i, err := strconv.Atoi(strings.TrimPrefix(ev.ID, prefix))
			if err != nil || !strings.HasPrefix(ev.ID, prefix) || i >= total {
				return
			}
			if s := sent[i].Load(); s != 0 {
				mu.Lock()
				seen[v][i] = max(time.Duration(time.Now().UnixNano()-s), 1)
				mu.Unlock()
			}
		})
		if err != nil {
			return err
		}
		defer fl.stop()
		followers = append(followers, fl)
	}
	for _, fl := range followers {
		for deadline := time.Now().Add(30 * time.Second); !fl.status().Ready; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				return fmt.Errorf("sustained: a validator is not ready after 30s: %+v", fl.status())
			}
		}
	}
	fmt.Fprintf(log, "sustained: %d revocations/s for %s (%s) to %d validators …\n", opt.Rate, opt.Duration, opt.Transport, opt.Services)
	cpu0, err := cpuTimes(t.procs)
	if err != nil {
		return err
	}
	exp := time.Now().Add(time.Hour).Unix()
	interval := time.Second / time.Duration(opt.Rate)
	var next atomic.Int64
	var behind atomic.Int64 // Revokes sent more than 10 ms after their slot
	var wg sync.WaitGroup
	errs := make(chan error, burstWriters)
	began := time.Now()
	for range burstWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(total); i = next.Add(1) - 1 {
				due := began.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				} else if d < -10*time.Millisecond {
					behind.Add(1)
				}
				e := revoke.Entry{Kind: revoke.KindSession, ID: prefix + strconv.FormatInt(i, 10), Expires: exp}
				sent[i].Store(time.Now().UnixNano())
				if _, err := t.revoker.Revoke(ctx, e); err != nil {
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
		return fmt.Errorf("sustained write: %w", err)
	}
	complete := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for v := range seen {
			for i := range seen[v] {
				if seen[v][i] == 0 {
					return false
				}
			}
		}
		return true
	}
	for deadline := ended.Add(opt.Lost); !complete() && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	cpu1, err := cpuTimes(t.procs)
	if err != nil {
		return err
	}
	var all samples
	mu.Lock()
	for v := range seen {
		for _, d := range seen[v] {
			all.add(observation{Took: d, Lost: d == 0})
		}
	}
	mu.Unlock()
	elapsed := ended.Sub(began)
	fmt.Fprintf(stdout, "| transport | validators | target rate | achieved rate | revocations | samples | p50 | p99 | max | lost | sent > 10 ms late |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(stdout, "| %s | %d | %d/s | %.0f/s | %d | %d | %s | %s | %s | %d | %d |\n", opt.Transport, opt.Services, opt.Rate,
		float64(total)/elapsed.Seconds(), total, all.count(), ms(all.percentile(0.5)), ms(all.percentile(0.99)), ms(all.percentile(1)), all.lost, behind.Load())
	fmt.Fprintf(stdout, "\nCPU over the run:")
	for i, name := range t.names {
		fmt.Fprintf(stdout, " %s %.1f%% of a core;", name, 100*float64(cpu1[i]-cpu0[i])/float64(elapsed))
	}
	fmt.Fprintln(stdout, " (the validators run in this process)")
	if all.lost > 0 {
		return errFailed
	}
	return nil
}
