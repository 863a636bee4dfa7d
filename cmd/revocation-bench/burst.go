package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmesh/authmesh/internal/proc"
	"github.com/authmesh/authmesh/internal/revoke"
)

// burstWriters is how many goroutines write the burst one revocation at a
// time; each Revoke is one round trip running the auth service's own
// revoke script (or journal transaction).
const burstWriters = 32

// batchWriters is how many goroutines write a batched burst: a batch is one
// script (or transaction) of up to -batch entries, so a few overlap the
// encoding of one batch with the store's work on another.
const batchWriters = 4

// runBurst starts the system of opt.Transport with opt.Services validators,
// writes opt.N session revocations as fast as the auth service's own
// revocation store takes them (one by one, or opt.Batch per RevokeMany
// call), and measures when every validator holds all of them (its
// authmesh_revocation_entries gauge), reporting any validator that still
// misses one after -lost. With -late, a validator's synchroniser is started
// in this process when half the burst is written, and must end with
// exactly the writer's set.
func runBurst(ctx context.Context, stdout, log io.Writer, opt options, bins binaries, work string) error {
	f, err := newFleet(filepath.Join(work, "burst"))
	if err != nil {
		return err
	}
	defer f.Close()
	b := &bench{opt: opt, log: log, fleet: f, bins: bins, c: newClient()}
	defer b.c.close()
	t, err := startTarget(ctx, b, opt.Transport, opt.Services)
	if err != nil {
		return err
	}
	defer t.Close()
	base := make([]int64, len(b.services))
	for i, svc := range b.services {
		if base[i], err = entries(ctx, svc); err != nil {
			return err
		}
	}
	cpu0, err := cpuTimes(t.procs)
	if err != nil {
		return err
	}
	self0, err := cpuTime(os.Getpid())
	if err != nil {
		return err
	}
	batch := max(opt.Batch, 1)
	fmt.Fprintf(log, "burst: %d session revocations (%s, batches of %d) to %d validators …\n", opt.N, opt.Transport, batch, len(b.services))
	exp := time.Now().Add(time.Hour).Unix()
	prefix := rand.Text()[:8]
	id := func(i int64) string { return prefix + "-" + strconv.FormatInt(i, 10) }
	var late *follower
	var lateErr error
	var lateOnce sync.Once
	startLate := func() {
		lateOnce.Do(func() {
			if !opt.Late {
				return
			}
			fmt.Fprintln(log, "burst: starting the late validator (in this process) halfway …")
			late, lateErr = t.follow(nil)
		})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	writers := burstWriters
	if batch > 1 {
		writers = batchWriters
	}
	errs := make(chan error, writers)
	began := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			es := make([]revoke.Entry, 0, batch)
			for {
				last := next.Add(int64(batch))
				first := last - int64(batch) + 1
				if first > int64(opt.N) {
					return
				}
				if first > int64(opt.N)/2 {
					startLate()
				}
				es = es[:0]
				for i := first; i <= min(last, int64(opt.N)); i++ {
					es = append(es, revoke.Entry{Kind: revoke.KindSession, ID: id(i), Expires: exp, At: time.Now().Unix()})
				}
				var err error
				if batch == 1 {
					_, err = t.revoker.Revoke(ctx, es[0])
				} else {
					_, err = t.revoker.RevokeMany(ctx, es)
				}
				if err != nil {
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
	if opt.Late && late == nil {
		return fmt.Errorf("burst: start the late validator: %w", lateErr)
	}
	if late != nil {
		defer late.stop()
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
	cpu1, err := cpuTimes(t.procs)
	if err != nil {
		return err
	}
	self1, err := cpuTime(os.Getpid())
	if err != nil {
		return err
	}
	lateResult := "not run (-late=false)"
	lateFailed := false
	if late != nil {
		lateResult, lateFailed = checkLate(late, id, int64(opt.N), base, deadline)
	}
	write := ended.Sub(began)
	perEvent := func(d time.Duration) string {
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)/float64(opt.N))
	}
	var svcCPU time.Duration
	for i := len(t.procs) - len(t.validators); i < len(t.procs); i++ {
		svcCPU += cpu1[i] - cpu0[i]
	}
	fmt.Fprintf(stdout, "| transport | batch | validators | revocations | write (burst) | writes/s | all applied after the burst's end (slowest validator) | lost |\n|---|---|---|---|---|---|---|---|\n")
	slowest, lost := time.Duration(0), int64(0)
	for i := range applied {
		slowest = max(slowest, applied[i])
		lost += short[i]
	}
	fmt.Fprintf(stdout, "| %s | %d | %d | %d | %s | %.0f | %s | %d |\n", opt.Transport, batch, len(b.services), opt.N, write.Round(time.Millisecond),
		float64(opt.N)/write.Seconds(), ms(slowest), lost)
	fmt.Fprintf(stdout, "\nCPU per revocation:")
	for i, name := range t.names {
		fmt.Fprintf(stdout, " %s %s;", name, perEvent(cpu1[i]-cpu0[i]))
	}
	fmt.Fprintf(stdout, " each validator %.1f µs on average (receive, decode, apply); this command (writer%s) %s\n",
		float64(svcCPU)/float64(time.Microsecond)/float64(opt.N)/float64(len(b.services)), map[string]string{"redis": "", "feed": ", journal and feed"}[opt.Transport], perEvent(self1-self0))
	fmt.Fprintf(stdout, "\nLate validator (started halfway through the burst): %s\n", lateResult)
	for i := range applied {
		fmt.Fprintf(log, "  validator %d: applied %s after the burst's end, missing %d\n", i+1, ms(applied[i]), short[i])
	}
	if b.redis != nil {
		// Where redis-server's time went, by command (scripts' own
		// commands are counted under them and again by name).
		if stats, err := b.redis.client.Info(ctx, "commandstats", "stats").Result(); err == nil {
			fmt.Fprintf(log, "redis-server INFO commandstats and stats after the burst:\n%s\n", stats)
		}
	}
	if lost > 0 || lateFailed {
		return errFailed
	}
	return nil
}

// checkLate waits until the late follower holds exactly the validators'
// baseline plus every revocation of the burst (each one checked by name,
// and no other entry), or the deadline passes.
func checkLate(late *follower, id func(int64) string, n int64, base []int64, deadline time.Time) (string, bool) {
	want := n
	if len(base) > 0 {
		want += base[0]
	}
	for {
		st := late.status()
		missing := int64(0)
		if st.Ready {
			for i := int64(1); i <= n; i++ {
				if _, ok := late.set.Check("", id(i), "", 0); !ok {
					missing++
				}
			}
		}
		if st.Ready && missing == 0 && int64(late.set.Len()) == want {
			return fmt.Sprintf("holds exactly the writer's set: all %d revocations by name, %d entries in all (Resyncs %d)", n, want, st.Resyncs), false
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("DIFFERS: ready %v, %d of %d revocations missing, %d entries (want %d)", st.Ready, missing, n, late.set.Len(), want), true
		}
		time.Sleep(20 * time.Millisecond)
	}
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
