package redisconn_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/redisconn"
	"github.com/authmesh/authmesh/internal/testenv"
)

func TestSplitAddrs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"localhost:6379", []string{"localhost:6379"}},
		{"a:1,b:2,c:3", []string{"a:1", "b:2", "c:3"}},
		{" a:1 , b:2 ,, ", []string{"a:1", "b:2"}},
	} {
		if got := redisconn.SplitAddrs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("SplitAddrs(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestNewPicksTheClient: one address is a plain client, several a Cluster
// client, and a master name a Sentinel-backed one (go-redis' rule, which
// the auth service and validators now share).
func TestNewPicksTheClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     redisconn.Config
		cluster bool
	}{
		{"standalone", redisconn.Config{Addrs: []string{"127.0.0.1:1"}}, false},
		{"cluster", redisconn.Config{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}}, true},
		{"sentinel", redisconn.Config{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}, MasterName: "m"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := redisconn.New(tc.cfg)
			defer c.Close()
			if _, isCluster := c.(*redis.ClusterClient); isCluster != tc.cluster {
				t.Errorf("got %T; want cluster=%v", c, tc.cluster)
			}
		})
	}
}

// TestTimeoutBoundsACall: with Timeout set, a call to a Redis that accepts
// connections but does not answer returns an error instead of hanging;
// once Redis answers again, so does the client.
func TestTimeoutBoundsACall(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := redisconn.New(redisconn.Config{Addrs: []string{srv.Addr}, Timeout: 200 * time.Millisecond})
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	srv.Pause()
	err := c.Set(ctx, "k", "v", 0).Err()
	srv.Resume()
	if err == nil {
		t.Fatal("SET on a paused Redis succeeded; want a timeout error")
	}
	testenv.WaitFor(t, "the client to answer again", func() bool { return c.Ping(ctx).Err() == nil })
}
