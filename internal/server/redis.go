package server

import (
	"cmp"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/redisconn"
)

// newRedisClient connects the configured Redis with every call bounded by
// RedisTimeout: a Redis that accepts connections but does not answer
// (paused, overloaded, half-open) costs a request that long, then an error,
// never a hang.
func newRedisClient(cfg Config) redis.UniversalClient {
	return redisconn.New(redisconn.Config{
		Addrs: cfg.RedisAddr, Password: cfg.RedisPassword, DB: cfg.RedisDB, MasterName: cfg.RedisMasterName,
		Timeout: cfg.redisTimeout(),
	})
}

// redisTimeout is RedisTimeout, or its default for a Config not made by
// LoadConfig.
func (c Config) redisTimeout() time.Duration {
	return cmp.Or(c.RedisTimeout, DefaultRedisTimeout)
}
