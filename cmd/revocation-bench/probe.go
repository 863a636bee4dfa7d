package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"
)

// maxPolls bounds one service's polling loop in count, beside the time
// limit.
const maxPolls = 2_000_000

// observation is when the last service rejected a revoked token.
type observation struct {
	Took time.Duration // from t0 until the last service answered 401; 0 if all already did
	Lost bool          // some service still accepted it at the limit
}

// observeRevoked polls every service concurrently until each answers 401
// for token. Each service's time is 0 when its first answer is already
// 401, else the arrival of its first 401 minus t0 (an upper bound).
func (c *client) observeRevoked(ctx context.Context, services []string, token string, t0 time.Time, limit, pause time.Duration) (observation, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		obs   observation
		first error
	)
	for _, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, seen, err := c.pollUntil401(ctx, svc, token, t0, limit, pause)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			obs.Lost = obs.Lost || !seen
			obs.Took = max(obs.Took, took)
		}()
	}
	wg.Wait()
	return obs, first
}

// pollUntil401 polls one service; seen is false when the limit passed.
func (c *client) pollUntil401(ctx context.Context, svc, token string, t0 time.Time, limit, pause time.Duration) (time.Duration, bool, error) {
	for i := 0; i < maxPolls; i++ {
		code, err := c.status(ctx, svc, token)
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		if err == nil && code == http.StatusUnauthorized {
			if i == 0 {
				return 0, true, nil
			}
			return time.Since(t0), true, nil
		}
		if time.Since(t0) > limit {
			return limit, false, nil
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	return limit, false, nil
}

// expectAccepted waits (bounded) until every service answers 200 for token:
// a validator answers 503 until its first snapshot has loaded.
func (c *client) expectAccepted(ctx context.Context, services []string, token string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, svc := range services {
		for {
			code, err := c.status(ctx, svc, token)
			if err == nil && code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s/api/protected: got %d (%v) for a live token; want 200", svc, code, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// samples is a set of propagation times.
type samples struct {
	d    []time.Duration
	lost int
}

func (s *samples) add(o observation) {
	if o.Lost {
		s.lost++
		return
	}
	s.d = append(s.d, o.Took)
}

// count is the number of measured (not lost) samples.
func (s *samples) count() int { return len(s.d) }

// percentile returns the nearest-rank p-quantile (0 < p ≤ 1).
func (s *samples) percentile(p float64) time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), s.d...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(math.Ceil(float64(len(d))*p)) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// zeros counts samples where every service had already rejected.
func (s *samples) zeros() int {
	n := 0
	for _, d := range s.d {
		if d == 0 {
			n++
		}
	}
	return n
}
