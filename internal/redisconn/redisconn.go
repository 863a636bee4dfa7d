// Package redisconn opens the go-redis client of the REDIS_* settings, by
// one rule for the auth service and the validators: how REDIS_ADDR splits
// into addresses and which client (standalone, Cluster or Sentinel) they
// name. It is client-only and imports nothing of the module, so the
// session package can use it without pulling in server code.
package redisconn

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is the connection part of the REDIS_* settings.
type Config struct {
	// Addrs are the addresses (host:port): one for a standalone server,
	// several for Redis Cluster, or the Sentinels when MasterName is set.
	Addrs      []string
	Password   string
	DB         int
	MasterName string // Sentinel: the monitored master's name
	// Timeout, when positive, bounds dialling, each read and write, and
	// every command or pipeline, go-redis' own retries included: a Redis
	// that accepts connections but does not answer costs a call that long,
	// then an error, never a hang. Pub/sub connections are not bounded
	// (they wait for messages by design). Zero keeps go-redis' defaults.
	Timeout time.Duration
}

// SplitAddrs splits a comma-separated REDIS_ADDR into its addresses,
// dropping the spaces around each and empty items.
func SplitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// New returns the client of cfg: go-redis' universal client, which is a
// Sentinel-backed failover client when MasterName is set, a Cluster client
// for several addresses, and a plain client for one. It dials lazily.
func New(cfg Config) redis.UniversalClient {
	opts := &redis.UniversalOptions{
		Addrs: cfg.Addrs, Password: cfg.Password, DB: cfg.DB, MasterName: cfg.MasterName,
	}
	if cfg.Timeout > 0 {
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
		opts.ContextTimeoutEnabled = true
	}
	c := redis.NewUniversalClient(opts)
	if cfg.Timeout > 0 {
		c.AddHook(callTimeout(cfg.Timeout))
	}
	return c
}

// callTimeout bounds each command or pipeline, go-redis' own retries
// included, by d. Pub/sub connections do not pass through it.
type callTimeout time.Duration

var _ redis.Hook = callTimeout(0)

func (callTimeout) DialHook(next redis.DialHook) redis.DialHook { return next }

func (d callTimeout) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, time.Duration(d))
		defer cancel()
		return next(ctx, cmd)
	}
}

func (d callTimeout) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, time.Duration(d))
		defer cancel()
		return next(ctx, cmds)
	}
}
