//go:build unix

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/authmesh/authmesh/internal/password"
	"github.com/authmesh/authmesh/internal/server"
	"github.com/authmesh/authmesh/internal/testenv"
)

// throughputSlice is how long each side of a side-by-side comparison runs
// before the other side takes over. Both sides of a pair run within a few
// seconds of each other, so the host's other work weighs on both alike and
// the ratio of a pair is meaningful even when the absolute rates are not.
const throughputSlice = 2 * time.Second

// BenchmarkLoginVsHash compares the auth service's login throughput with
// the raw argon2id hash rate of the same parameters (the defaults) on the
// same machine. Each op is one round: a slice of logins through the whole
// service (GraphQL, rate limiting off, SQLite, token signing) by 4 clients
// per core, and a slice of bare argon2.IDKey calls on one goroutine per
// core, in alternating order. It reports the medians over the rounds of
// logins/s, hashes/s and their per-round ratio ("login/hash"); 1 means a
// login costs nothing beyond its hash. "login/hash-cpu" is the ratio of the
// process's CPU time per hash to its CPU time per login (the load
// generator's included), which the host's other work disturbs less: what
// the throughput ratio would be with the cores to itself. Run it as
//
//	go test -run '^$' -bench LoginVsHash -benchtime 5x ./internal/server/
func BenchmarkLoginVsHash(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	h := newThroughputServer(b, map[string]string{"DATA_DIR": b.TempDir()})
	workers := 4 * procs
	emails := make([]string, workers)
	for i := range emails {
		emails[i] = fmt.Sprintf("login%d@example.com", i)
		benchRegister(b, h, emails[i])
	}
	login := func(w int) error {
		var out struct{ Token string }
		q := `mutation { login(input: {email: "` + emails[w] + `", password: "Bench1234!x"}) { token } }`
		if err := post(h, q, "login", &out); err != nil {
			return err
		}
		if out.Token == "" {
			return fmt.Errorf("login: no token")
		}
		return nil
	}
	p := password.DefaultParams()
	salt := make([]byte, p.SaltLen)
	hash := func(int) error {
		argon2.IDKey([]byte("Bench1234!x"), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
		return nil
	}
	var logins, hashes, ratios, cpuRatios []float64
	for b.Loop() {
		round := len(ratios)
		type result struct {
			rate float64
			cpu  time.Duration
		}
		sides := []func() (float64, time.Duration, error){
			func() (float64, time.Duration, error) { return measureOps(workers, throughputSlice, login) },
			func() (float64, time.Duration, error) { return measureOps(procs, throughputSlice, hash) },
		}
		var r [2]result
		for j := range sides {
			i := (j + round) % 2 // odd rounds hash first
			rate, cpu, err := sides[i]()
			if err != nil {
				b.Fatal(err)
			}
			r[i] = result{rate, cpu}
		}
		logins, hashes = append(logins, r[0].rate), append(hashes, r[1].rate)
		ratios = append(ratios, r[0].rate/r[1].rate)
		cpuRatios = append(cpuRatios, float64(r[1].cpu)/float64(r[0].cpu))
		b.Logf("round %d: %.1f logins/s, %.1f hashes/s, ratio %.3f; CPU per login %v, per hash %v, ratio %.3f",
			round+1, r[0].rate, r[1].rate, r[0].rate/r[1].rate, r[0].cpu.Round(time.Microsecond), r[1].cpu.Round(time.Microsecond), cpuRatios[round])
	}
	b.ReportMetric(median(logins), "logins/s")
	b.ReportMetric(median(hashes), "hashes/s")
	b.ReportMetric(median(ratios), "login/hash")
	b.ReportMetric(median(cpuRatios), "login/hash-cpu")
}

// BenchmarkRefreshStores compares refresh-token rotations per second on
// the embedded store (SQLite, revocations in its journal) with PostgreSQL
// and Redis, both started by the benchmark (internal/testenv: PostgreSQL
// with fsync off, Redis with AOF fsynced every second), through the whole
// service in one process, EdDSA keys. Each op is one round: a slice of
// refreshes on each deployment in alternating order, by 4 clients per core
// each continuing its own rotation chain with the token inline in the
// query text (the README's form). After each slice it times 20 logouts,
// one at a time, on the same deployment. It reports the medians of
// refreshes/s for each and of their per-round ratio, and the median logout
// latency of each. Run it as
//
//	go test -run '^$' -bench RefreshStores -benchtime 5x ./internal/server/
func BenchmarkRefreshStores(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	pg := testenv.StartPostgres(b)
	durable := testenv.StartPostgres(b, "fsync=on")
	rd := testenv.StartRedis(b, "--appendfsync", "everysec")
	cheap := map[string]string{"ARGON2_MEMORY_KIB": "1024", "ARGON2_ITERATIONS": "1"}
	deployments := []struct {
		name string
		env  map[string]string
	}{
		{"embedded", map[string]string{"DATA_DIR": b.TempDir()}},
		{"pg+redis", map[string]string{"DATA_DIR": b.TempDir(), "DATABASE_URL": pg.URL, "REDIS_ADDR": rd.Addr, "REDIS_PREFIX": "fast:"}},
		{"pg-fsync+redis", map[string]string{"DATA_DIR": b.TempDir(), "DATABASE_URL": durable.URL, "REDIS_ADDR": rd.Addr, "REDIS_PREFIX": "durable:"}},
	}
	workers := 4 * procs
	type target struct {
		h       http.Handler
		chains  []string
		rates   []float64
		logouts []time.Duration
	}
	targets := make([]*target, len(deployments))
	for i, d := range deployments {
		for k, v := range cheap {
			d.env[k] = v
		}
		t := &target{h: newThroughputServer(b, d.env), chains: make([]string, workers)}
		benchRegister(b, t.h, "bench@example.com")
		for w := range t.chains {
			t.chains[w] = benchLogin(b, t.h, "bench@example.com")
		}
		targets[i] = t
	}
	var ratios []float64
	for b.Loop() {
		round := len(ratios)
		r := make([]float64, len(targets))
		for j := range targets {
			i := (j + round) % len(targets)
			t := targets[i]
			v, err := opsPerSecond(workers, throughputSlice, func(w int) error {
				next, err := benchRefresh(t.h, t.chains[w], false)
				t.chains[w] = next
				return err
			})
			if err != nil {
				b.Fatal(deployments[i].name, err)
			}
			r[i] = v
			t.rates = append(t.rates, v)
			for range 20 {
				d, err := timedLogout(t.h)
				if err != nil {
					b.Fatal(deployments[i].name, err)
				}
				t.logouts = append(t.logouts, d)
			}
		}
		ratios = append(ratios, r[1]/r[0])
		b.Logf("round %d: embedded %.0f refreshes/s, pg+redis %.0f (ratio %.3f), pg-fsync+redis %.0f",
			round+1, r[0], r[1], r[1]/r[0], r[2])
	}
	for i, t := range targets {
		b.ReportMetric(median(t.rates), deployments[i].name+"-refreshes/s")
		b.ReportMetric(float64(medianDuration(t.logouts).Microseconds())/1000, deployments[i].name+"-logout-p50-ms")
	}
	b.ReportMetric(median(ratios), "pg+redis/embedded")
}

// opsPerSecond runs op on n goroutines (op gets the goroutine's index) for
// d and returns completed operations per second. Operations under way at
// d finish and count; the time counted ends with the last of them.
func opsPerSecond(n int, d time.Duration, op func(worker int) error) (float64, error) {
	rate, _, err := measureOps(n, d, op)
	return rate, err
}

// processCPU returns the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureOps is opsPerSecond that also returns the process's CPU time per
// completed operation (the load generator's included), which the host's
// other work disturbs far less than the rate.
func measureOps(n int, d time.Duration, op func(worker int) error) (rate float64, cpu time.Duration, err error) {
	cpu0 := processCPU()
	rate, count, err := runOps(n, d, op)
	if count > 0 {
		cpu = (processCPU() - cpu0) / time.Duration(count)
	}
	return rate, cpu, err
}

// runOps is measureOps' loop; it returns the rate and the count.
func runOps(n int, d time.Duration, op func(worker int) error) (float64, int64, error) {
	var (
		done     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range n {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := op(w); err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), done.Load(), firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// timedLogout logs in (not timed) and returns how long the logout of that
// session took.
func timedLogout(h http.Handler) (time.Duration, error) {
	var out struct{ Token string }
	if err := post(h, `mutation { login(input: {email: "bench@example.com", password: "Bench1234!x"}) { token } }`, "login", &out); err != nil {
		return 0, err
	}
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"mutation { logout }"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+out.Token)
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, r)
	took := time.Since(start)
	body, _ := io.ReadAll(rec.Body)
	var resp struct {
		Data struct{ Logout bool }
	}
	if err := json.Unmarshal(body, &resp); err != nil || !resp.Data.Logout {
		return 0, fmt.Errorf("logout: status %d, body %.200q", rec.Code, body)
	}
	return took, nil
}

// newThroughputServer wires the real service with env (rate limits off, no
// session cap) and returns its handler.
func newThroughputServer(b *testing.B, env map[string]string) http.Handler {
	b.Helper()
	env["RATE_LIMITS"] = "off"
	env["MAX_SESSIONS_PER_USER"] = "0"
	cfg, err := server.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	return srv.Handler()
}

// benchRegister creates an account with the benchmarks' password.
func benchRegister(b *testing.B, h http.Handler, email string) {
	b.Helper()
	var reg json.RawMessage
	q := `mutation { register(input: {email: "` + email + `", password: "Bench1234!x"}) { message } }`
	if err := post(h, q, "register", &reg); err != nil {
		b.Fatal(err)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkLogoutUnderHashing times logouts while argon2id hashes run on
// every core, as they do in a load test whose logins keep the service's
// hashing slots full: each op is one round of 20 logouts, one at a time,
// on the embedded store and on PostgreSQL + Redis (fsync off), with and
// without one goroutine per core hashing meanwhile. A logout on
// PostgreSQL waits for the network several times; each time its
// goroutine wakes it needs a free P, and the hashing goroutines hold
// every P until Go preempts one (after 10 ms). "+1P" runs the same with
// GOMAXPROCS one above the hashing goroutines. It reports the median
// latency of each. Run it as
//
//	go test -run '^$' -bench LogoutUnderHashing -benchtime 5x ./internal/server/
func BenchmarkLogoutUnderHashing(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	pg := testenv.StartPostgres(b)
	rd := testenv.StartRedis(b, "--appendfsync", "everysec")
	cheap := func(env map[string]string) map[string]string {
		env["ARGON2_MEMORY_KIB"], env["ARGON2_ITERATIONS"] = "1024", "1"
		return env
	}
	stores := []struct {
		name string
		h    http.Handler
	}{
		{"embedded", newThroughputServer(b, cheap(map[string]string{"DATA_DIR": b.TempDir()}))},
		{"pg+redis", newThroughputServer(b, cheap(map[string]string{"DATA_DIR": b.TempDir(), "DATABASE_URL": pg.URL, "REDIS_ADDR": rd.Addr}))},
	}
	for _, s := range stores {
		benchRegister(b, s.h, "bench@example.com")
	}
	p := password.DefaultParams()
	salt := make([]byte, p.SaltLen)
	lat := map[string][]time.Duration{}
	for b.Loop() {
		for _, mode := range []string{"idle", "hashing", "hashing+1P"} {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			if mode != "idle" {
				if mode == "hashing+1P" {
					runtime.GOMAXPROCS(procs + 1)
				}
				for range procs {
					wg.Go(func() {
						for {
							select {
							case <-stop:
								return
							default:
								argon2.IDKey([]byte("Bench1234!x"), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
							}
						}
					})
				}
			}
			for _, s := range stores {
				for range 20 {
					d, err := timedLogout(s.h)
					if err != nil {
						b.Fatal(s.name, err)
					}
					lat[s.name+"/"+mode] = append(lat[s.name+"/"+mode], d)
				}
			}
			close(stop)
			wg.Wait()
			runtime.GOMAXPROCS(procs)
		}
	}
	for _, s := range stores {
		for _, mode := range []string{"idle", "hashing", "hashing+1P"} {
			k := s.name + "/" + mode
			b.ReportMetric(float64(medianDuration(lat[k]).Microseconds())/1000, k+"-logout-p50-ms")
		}
	}
}
