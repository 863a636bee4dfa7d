package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis (standalone, Sentinel or Cluster), shared by
// every replica, using redis_rate's GCRA script; time is Redis' clock. It
// is safe for concurrent use.
type Redis struct {
	limiter *redis_rate.Limiter
	client  redis.UniversalClient
	prefix  string
}

// redisRatePrefix is what redis_rate puts before every key.
const redisRatePrefix = "rate:"

var _ Store = (*Redis)(nil)

// NewRedis returns a Store using client, with every key under prefix (for
// example "authmesh:rl:"; redis_rate adds its own "rate:" before it).
func NewRedis(client redis.UniversalClient, prefix string) (*Redis, error) {
	if client == nil {
		return nil, fmt.Errorf("ratelimit: nil Redis client")
	}
	return &Redis{limiter: redis_rate.NewLimiter(client), client: client, prefix: prefix}, nil
}

func rrLimit(l Limit) redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.burst()}
}

// Take implements Store.
func (r *Redis) Take(ctx context.Context, key string, l Limit) (Result, error) {
	res, err := r.limiter.AllowN(ctx, r.prefix+key, rrLimit(l), 1)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	out := Result{Allowed: res.Allowed > 0, Remaining: res.Remaining}
	if !out.Allowed {
		out.RetryAfter = res.RetryAfter
	}
	return out, nil
}

// Peek implements Store: a zero-cost call, whose reset time tells when the
// next event fits.
func (r *Redis) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	res, err := r.limiter.AllowN(ctx, r.prefix+key, rrLimit(l), 0)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	out := Result{Allowed: res.Remaining >= 1, Remaining: res.Remaining}
	if !out.Allowed {
		// ResetAfter is tat-now; one event fits once tat-now <= (burst-1)*interval.
		out.RetryAfter = max(res.ResetAfter-time.Duration(l.burst()-1)*l.interval(), time.Millisecond)
	}
	return out, nil
}

// refundScript moves a redis_rate bucket's theoretical arrival time back
// by one emission interval (ARGV[1], seconds), on Redis' clock and in
// redis_rate's epoch, deleting the bucket when that makes it full. (A
// negative-cost redis_rate call would leave a bucket that becomes full
// untouched, one event short.)
var refundScript = redis.NewScript(`
redis.replicate_commands()
local tat = redis.call("GET", KEYS[1])
if not tat then
  return 0
end
local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)
local new_tat = tonumber(tat) - tonumber(ARGV[1])
if new_tat <= now then
  redis.call("DEL", KEYS[1])
else
  redis.call("SET", KEYS[1], new_tat, "EX", math.ceil(new_tat - now))
end
return 1
`)

// Refund implements Store.
func (r *Redis) Refund(ctx context.Context, key string, l Limit) error {
	interval := strconv.FormatFloat(l.interval().Seconds(), 'f', -1, 64)
	if err := refundScript.Run(ctx, r.client, []string{redisRatePrefix + r.prefix + key}, interval).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Reset implements Store.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.limiter.Reset(ctx, r.prefix+key); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}
