package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/proc"
)

// redisServer is a redis-server child process and an admin connection.
type redisServer struct {
	Addr   string
	proc   *proc.Process
	client *redis.Client
}

// startRedis runs redis-server on a free loopback port in the fleet's
// directory, with AOF on as in production, and waits for PING.
func (f *fleet) startRedis(ctx context.Context) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("-mode redis needs redis-server on PATH (apt-get install redis-server): %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := proc.FreePort()
		if err != nil {
			return nil, err
		}
		p, err := f.start("redis", bin, []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", f.dir,
			"--appendonly", "yes", "--save", "", "--protected-mode", "no",
		}, nil)
		if err != nil {
			return nil, err
		}
		rs := &redisServer{Addr: "127.0.0.1:" + strconv.Itoa(port), proc: p}
		rs.client = redis.NewClient(&redis.Options{Addr: rs.Addr})
		lastErr = p.WaitReady(ctx, "PING at "+rs.Addr, 10*time.Second, func(ctx context.Context) bool {
			return rs.client.Ping(ctx).Err() == nil
		})
		if lastErr == nil {
			return rs, nil
		}
		rs.Close()
		p.Stop()
	}
	return nil, lastErr
}

// killPubSub closes every pub/sub connection (CLIENT KILL TYPE pubsub) and
// returns how many were killed.
func (r *redisServer) killPubSub(ctx context.Context) (int, error) {
	n, err := r.client.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Int()
	if err != nil {
		return 0, fmt.Errorf("CLIENT KILL TYPE pubsub: %w", err)
	}
	return n, nil
}

// pubSubClients counts the connections in pub/sub mode.
func (r *redisServer) pubSubClients(ctx context.Context) (int, error) {
	list, err := r.client.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		return 0, fmt.Errorf("CLIENT LIST TYPE pubsub: %w", err)
	}
	return strings.Count(list, "id="), nil
}

// waitPubSubClients waits until at least want connections are subscribed
// again, so the next kill hits every validator.
func (r *redisServer) waitPubSubClients(ctx context.Context, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n, err := r.pubSubClients(ctx)
		if err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d pub/sub connections came back within %s", n, want, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Close closes the admin connection; the fleet stops the process.
func (r *redisServer) Close() { _ = r.client.Close() }
