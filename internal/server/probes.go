package server

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The probes of the auth service (docs/OPERATIONS.md, "Health, readiness,
// metrics") are split so that no probe takes the whole fleet down:
//
//   - /livez answers while the process can serve HTTP;
//   - /readyz fails only for what makes THIS replica unable to serve while
//     another could: its own database connection. Redis is shared by every
//     replica, so a Redis outage leaves every replica ready (taking them all
//     out of their Service would stop logins too, which need only the
//     database) and shows as "degraded" in the body and in
//     authmesh_dependency_up{dependency="redis"};
//   - /healthz is the liveness answer under its historical name.
const (
	// probeTimeout bounds the database check of one /readyz call: below
	// the probe timeouts of the manifests, so a slow database reads as
	// "unreachable" rather than as a probe that timed out.
	probeTimeout = time.Second
	// redisCheckInterval is how often the monitor pings Redis; /readyz
	// reports the last answer rather than waiting on a Redis that may be
	// paused.
	redisCheckInterval = 2 * time.Second
)

// dependencyMonitor knows whether the database and Redis answered last
// time they were asked. Safe for concurrent use.
type dependencyMonitor struct {
	s       *Server
	dbUp    atomic.Bool
	redisUp atomic.Bool
}

// newDependencyMonitor registers authmesh_dependency_up for the
// dependencies of s; both start up (New has just reached them).
func newDependencyMonitor(s *Server) *dependencyMonitor {
	m := &dependencyMonitor{s: s}
	m.dbUp.Store(true)
	m.redisUp.Store(true)
	deps := map[string]*atomic.Bool{"database": &m.dbUp}
	if s.rdb != nil {
		deps["redis"] = &m.redisUp
	}
	for name, up := range deps {
		s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "authmesh_dependency_up",
			Help:        "Whether a dependency answered its last check (1) or not (0); redis at 0 means the service is degraded, not unready.",
			ConstLabels: prometheus.Labels{"dependency": name},
		}, func() float64 {
			if up.Load() {
				return 1
			}
			return 0
		}))
	}
	return m
}

// checkDatabase pings the database within probeTimeout and records the
// answer.
func (m *dependencyMonitor) checkDatabase(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err := m.s.db.Ping(ctx)
	if err != nil {
		m.s.log.Warn("readiness: database unreachable", "err", err)
	}
	m.dbUp.Store(err == nil)
	return err == nil
}

// checkRedis pings Redis (bounded by REDIS_TIMEOUT) and records the answer,
// logging when it changes.
func (m *dependencyMonitor) checkRedis(ctx context.Context) {
	err := m.s.rdb.Ping(ctx).Err()
	if ctx.Err() != nil {
		return // shutting down: no verdict
	}
	was := m.redisUp.Swap(err == nil)
	switch {
	case err != nil && was:
		m.s.log.Warn("health: Redis unreachable; serving degraded (revocations cannot be recorded)", "err", err)
	case err == nil && !was:
		m.s.log.Info("health: Redis answers again")
	}
}

// Run pings Redis every redisCheckInterval until ctx is done, then returns
// ctx's error, as every background component of the server does (in
// embedded mode there is nothing to ping and it only waits).
func (m *dependencyMonitor) Run(ctx context.Context) error {
	if m.s.rdb == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(redisCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			m.checkRedis(ctx)
		}
	}
}

// live answers while the process can serve HTTP.
func live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready answers 200 while this replica can serve: its database answers.
// The body says "status": "ok", "degraded" (Redis, shared by every
// replica, did not answer its last check) or "unavailable" (503).
func (m *dependencyMonitor) ready(w http.ResponseWriter, r *http.Request) {
	body := map[string]string{"status": "ok", "database": "ok"}
	status := http.StatusOK
	if !m.checkDatabase(r.Context()) {
		body["database"], body["status"], status = "unreachable", "unavailable", http.StatusServiceUnavailable
	}
	if m.s.rdb != nil {
		body["redis"] = "ok"
		if !m.redisUp.Load() {
			body["redis"] = "unreachable"
			if status == http.StatusOK {
				body["status"] = "degraded"
			}
		}
	}
	writeJSON(w, status, body)
}
