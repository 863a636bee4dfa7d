package server

import (
	"cmp"
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// newRedisClient connects the configured Redis with every call bounded by
// RedisTimeout: a Redis that accepts connections but does not answer
// (paused, overloaded, half-open) costs a request that long, then an error,
// never a hang.
func newRedisClient(cfg Config) redis.UniversalClient {
	cfg.RedisTimeout = cfg.redisTimeout()
	c := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: cfg.RedisAddrs, Password: cfg.RedisPassword, DB: cfg.RedisDB, MasterName: cfg.RedisMasterName,
		DialTimeout: cfg.RedisTimeout, ReadTimeout: cfg.RedisTimeout, WriteTimeout: cfg.RedisTimeout,
		ContextTimeoutEnabled: true,
	})
	c.AddHook(callTimeout(cfg.RedisTimeout))
	return c
}

// redisTimeout is RedisTimeout, or its default for a Config not made by
// LoadConfig.
func (c Config) redisTimeout() time.Duration {
	return cmp.Or(c.RedisTimeout, DefaultRedisTimeout)
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
