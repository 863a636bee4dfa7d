package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"
)

// cheapAuthEnv makes logins cheap and unthrottled, and lifts the cap on
// sessions per user: the benchmark logs one user in hundreds of times from
// one address. Never use it in production.
var cheapAuthEnv = []string{"RATE_LIMITS=off", "ARGON2_MEMORY_KIB=1024", "ARGON2_ITERATIONS=1", "MAX_SESSIONS_PER_USER=0"}

// modeResult is what one mode measured.
type modeResult struct {
	Mode         string
	Services     int
	Propagation  samples
	CatchUp      *samples // Redis mode only
	PubSubKilled int      // connections closed by CLIENT KILL over all rounds
	LateRejected int      // revoked tokens the late service rejected
	LateRevoked  int      // revoked tokens it was asked about
	LateLiveOK   bool     // it accepted the never-revoked token
}

// failed reports a lost revocation or a late-start disagreement.
func (r modeResult) failed() bool {
	lost := r.Propagation.lost
	if r.CatchUp != nil {
		lost += r.CatchUp.lost
	}
	return lost > 0 || r.LateRejected != r.LateRevoked || !r.LateLiveOK
}

// bench is one mode's running system.
type bench struct {
	opt      options
	log      io.Writer
	fleet    *fleet
	bins     binaries
	c        *client
	redis    *redisServer // nil in feed mode
	authURL  string
	svcEnv   []string
	services []string
}

// runMode starts a fresh system for mode, measures it and stops it.
func runMode(ctx context.Context, log io.Writer, opt options, bins binaries, mode, work string) (modeResult, error) {
	f, err := newFleet(filepath.Join(work, mode))
	if err != nil {
		return modeResult{}, err
	}
	defer f.Close()
	b := &bench{opt: opt, log: log, fleet: f, bins: bins, c: newClient()}
	defer b.c.close()
	if err := b.startSystem(ctx, mode); err != nil {
		return modeResult{}, err
	}
	if b.redis != nil {
		defer b.redis.Close()
	}
	extra := 1 // the never-revoked token for the late start
	if b.redis != nil {
		extra += opt.CatchUp
	}
	tokens, err := b.loginMany(ctx, opt.N+extra)
	if err != nil {
		return modeResult{}, err
	}
	live, tokens := tokens[len(tokens)-1], tokens[:len(tokens)-1]
	res := modeResult{Mode: mode, Services: opt.Services}
	fmt.Fprintf(log, "%s: measuring %d logouts across %d services …\n", mode, opt.N, opt.Services)
	if res.Propagation, err = b.measure(ctx, tokens[:opt.N], nil); err != nil {
		return res, err
	}
	if b.redis != nil {
		if err := b.catchUp(ctx, tokens[opt.N:], &res); err != nil {
			return res, err
		}
	}
	return res, b.lateStart(ctx, tokens, live, &res)
}

// startSystem starts Redis (redis mode), the auth service and the services.
func (b *bench) startSystem(ctx context.Context, mode string) error {
	authEnv := append([]string{"DATA_DIR=" + filepath.Join(b.fleet.dir, "data")}, cheapAuthEnv...)
	if mode == "redis" {
		rs, err := b.fleet.startRedis(ctx)
		if err != nil {
			return err
		}
		b.redis = rs
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		shared := []string{"JWT_SECRET=" + hex.EncodeToString(secret), "REDIS_ADDR=" + rs.Addr}
		authEnv = append(authEnv, shared...)
		b.svcEnv = shared
	}
	auth, err := b.fleet.startService(ctx, "auth", b.bins.Server, authEnv, "/healthz")
	if err != nil {
		return err
	}
	b.authURL = auth.URL
	if mode == "feed" {
		b.svcEnv = []string{"AUTH_URL=" + auth.URL}
	}
	for i := 0; i < b.opt.Services; i++ {
		p, err := b.fleet.startService(ctx, fmt.Sprintf("service-%d", i+1), b.bins.Example, b.svcEnv, "/health")
		if err != nil {
			return err
		}
		b.services = append(b.services, p.URL)
	}
	return nil
}

// loginMany registers one user and opens n sessions.
func (b *bench) loginMany(ctx context.Context, n int) ([]string, error) {
	a := account{Email: "bench-" + rand.Text()[:10] + "@example.com", Password: "Bench1234!x"}
	if err := b.c.register(ctx, b.authURL, a); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "logging in %d sessions …\n", n)
	tokens := make([]string, 0, n)
	for i := 0; i < n; i++ {
		tok, err := b.c.login(ctx, b.authURL, a)
		if err != nil {
			return nil, fmt.Errorf("login %d: %w", i+1, err)
		}
		tokens = append(tokens, tok)
	}
	return tokens, nil
}

// measure logs out each token and observes its propagation. before, when
// set, runs just before each logout (the catch-up kill).
func (b *bench) measure(ctx context.Context, tokens []string, before func() error) (samples, error) {
	var s samples
	for _, tok := range tokens {
		if err := b.c.expectAccepted(ctx, b.services, tok, 10*time.Second); err != nil {
			return s, err
		}
		if before != nil {
			if err := before(); err != nil {
				return s, err
			}
		}
		if err := b.c.logout(ctx, b.authURL, tok); err != nil {
			return s, err
		}
		t0 := time.Now()
		o, err := b.c.observeRevoked(ctx, b.services, tok, t0, b.opt.Lost, b.opt.Poll)
		if err != nil {
			return s, err
		}
		s.add(o)
	}
	return s, nil
}

// catchUp kills every pub/sub connection right before each logout, so the
// revocation can only arrive through the validators' catch-up from the log.
func (b *bench) catchUp(ctx context.Context, tokens []string, res *modeResult) error {
	if len(tokens) == 0 {
		return nil
	}
	base, err := b.redis.pubSubClients(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.log, "redis: %d catch-up rounds (CLIENT KILL TYPE pubsub, %d subscribers) …\n", len(tokens), base)
	s, err := b.measure(ctx, tokens, func() error {
		if err := b.redis.waitPubSubClients(ctx, base, 10*time.Second); err != nil {
			return err
		}
		n, err := b.redis.killPubSub(ctx)
		res.PubSubKilled += n
		return err
	})
	res.CatchUp = &s
	return err
}

// lateStart starts one more service after every revocation and checks it
// rejects each revoked token and accepts the live one.
func (b *bench) lateStart(ctx context.Context, revoked []string, live string, res *modeResult) error {
	fmt.Fprintf(b.log, "%s: late start: checking %d revoked tokens on a new service …\n", res.Mode, len(revoked))
	p, err := b.fleet.startService(ctx, "late", b.bins.Example, b.svcEnv, "/health")
	if err != nil {
		return err
	}
	res.LateRevoked = len(revoked)
	for _, tok := range revoked {
		code, err := b.c.status(ctx, p.URL, tok)
		if err != nil {
			return err
		}
		if code == http.StatusUnauthorized {
			res.LateRejected++
		}
	}
	code, err := b.c.status(ctx, p.URL, live)
	res.LateLiveOK = err == nil && code == http.StatusOK
	return err
}
