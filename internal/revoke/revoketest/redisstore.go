package revoketest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke/redisstore"
)

// RedisStore returns the auth service's revocation store on rdb with its
// layout marker written, as the auth service leaves Redis at start: what a
// validator's test needs before the validator can be ready.
func RedisStore(tb testing.TB, rdb redis.UniversalClient, cfg redisstore.Config) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.New(rdb, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.EnsureLayout(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}
