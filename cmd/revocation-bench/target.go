package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/proc"
	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/feed"
	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/store"
)

// target is a running system the burst and sustained modes write
// revocations to, through the auth service's own revocation store, and
// whose validators they watch.
type target struct {
	transport string
	b         *bench
	// revoker writes as the auth service does: redisstore.Store (Redis),
	// or sqljournal.Store over an SQLite journal serving the feed.
	revoker revoke.BulkRevoker
	// procs are the processes whose CPU time is reported: redis-server
	// (Redis only), the auth service, then the validators.
	procs, validators []*proc.Process
	names             []string
	close             []func()
}

// Close stops what the target started in this process; the fleet stops
// the processes.
func (t *target) Close() {
	for i := len(t.close) - 1; i >= 0; i-- {
		t.close[i]()
	}
}

// warnings is the logger of the stores and followers run in this process:
// their warnings and errors go to the progress output.
func warnings(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startTarget starts the system for transport ("redis" or "feed") with
// opt.Services validator processes (example microservices).
//
// Redis: redis-server, the auth service and the validators in Redis mode;
// this process writes through redisstore.Store, as the auth service does.
//
// Feed: the auth service in the embedded mode (for its keys); this
// process runs the feed the validators follow, a sqljournal.Store over an
// SQLite journal and the feed handler (the auth service's own code for
// both), behind a loopback proxy that sends every other path to the auth
// service. So the journal writes this process makes are announced at once,
// as the auth service's own are, instead of at its next poll of a database
// another process wrote.
func startTarget(ctx context.Context, b *bench, transport string, services int) (*target, error) {
	t := &target{transport: transport, b: b}
	b.opt.Services = 0 // validators are started below
	if err := b.startSystem(ctx, transport); err != nil {
		return nil, err
	}
	switch transport {
	case "redis":
		client := redis.NewClient(&redis.Options{Addr: b.redis.Addr, PoolSize: burstWriters})
		t.close = append(t.close, func() { client.Close(); b.redis.Close() })
		s, err := redisstore.New(client, redisstore.Config{Logger: warnings(t.b.log)})
		if err != nil {
			return nil, err
		}
		t.revoker = s
	case "feed":
		feedURL, err := t.serveFeed(ctx)
		if err != nil {
			return nil, err
		}
		b.svcEnv = []string{"AUTH_URL=" + feedURL}
	}
	b.fleet.mu.Lock()
	t.procs = append([]*proc.Process(nil), b.fleet.procs...)
	b.fleet.mu.Unlock()
	t.names = []string{"auth service"}
	if transport == "redis" {
		t.names = []string{"redis-server", "auth service"}
	}
	for i := range services {
		p, err := b.fleet.startService(ctx, fmt.Sprintf("service-%d", i+1), b.bins.Example, b.svcEnv, "/health")
		if err != nil {
			return nil, err
		}
		b.services = append(b.services, p.URL)
		t.procs = append(t.procs, p.Process)
		t.validators = append(t.validators, p.Process)
	}
	b.opt.Services = services
	return t, nil
}

// serveFeed starts the journal, its feed and the proxy, and returns the
// URL validators use as AUTH_URL.
func (t *target) serveFeed(ctx context.Context) (string, error) {
	layout, err := authLayout(ctx, t.b.authURL)
	if err != nil {
		return "", err
	}
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.b.fleet.dir, "journal.db"), store.Options{Logger: warnings(t.b.log)})
	if err != nil {
		return "", err
	}
	t.close = append(t.close, func() { db.Close() })
	js, err := sqljournal.New(db, sqljournal.Config{Logger: warnings(t.b.log), Issuer: layout.Issuer, Audience: layout.Audience})
	if err != nil {
		return "", err
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = js.Run(runCtx); close(done) }()
	t.close = append(t.close, func() { stop(); <-done })
	h, err := feed.NewHandler(js, feed.Config{Logger: warnings(t.b.log)})
	if err != nil {
		return "", err
	}
	auth, err := url.Parse(t.b.authURL)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.Handle(feedwire.Path, h)
	mux.Handle("/", httputil.NewSingleHostReverseProxy(auth))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return runCtx }, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.close = append(t.close, func() { stop(); _ = srv.Close() })
	t.revoker = js
	return "http://" + ln.Addr().String(), nil
}

// authLayout reads the issuer and audience the auth service names in its
// feed's snapshot, so the bench's feed names the same.
func authLayout(ctx context.Context, authURL string) (revoke.Layout, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL+feedwire.Path, nil)
	if err != nil {
		return revoke.Layout{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return revoke.Layout{}, err
	}
	defer resp.Body.Close()
	var snap revoke.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		return revoke.Layout{}, fmt.Errorf("read the auth service's snapshot: %w", err)
	}
	if snap.Layout == nil {
		return revoke.Layout{}, errors.New("the auth service's snapshot names no layout")
	}
	return *snap.Layout, nil
}

// follower is a validator's synchroniser run in this process, filling its
// own Set: the same code a validator process runs.
type follower struct {
	set    *revoke.Set
	status func() revoke.Status
	stop   func()
}

// follow starts a follower of the target calling onEvent (may be nil) for
// each event it applies.
func (t *target) follow(onEvent func(revoke.Event)) (*follower, error) {
	set := revoke.NewSet()
	f := &follower{set: set}
	var run func(context.Context) error
	switch t.transport {
	case "redis":
		client := redis.NewClient(&redis.Options{Addr: t.b.redis.Addr})
		s, err := redissync.New(set, client, redissync.Config{Logger: warnings(t.b.log), OnEvent: onEvent})
		if err != nil {
			client.Close()
			return nil, err
		}
		f.status, run = s.Status, func(ctx context.Context) error { defer client.Close(); return s.Run(ctx) }
	default:
		u := t.b.svcEnv[0][len("AUTH_URL="):] + feedwire.Path
		s, err := feedsync.New(set, feedsync.Config{URL: u, Logger: warnings(t.b.log), OnEvent: onEvent})
		if err != nil {
			return nil, err
		}
		f.status, run = s.Status, s.Run
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = run(ctx); close(done) }()
	f.stop = func() { cancel(); <-done }
	return f, nil
}
