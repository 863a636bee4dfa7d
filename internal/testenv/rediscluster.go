package testenv

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of real redis-server processes (masters
// only, AOF on) owned by a test.
type RedisCluster struct {
	nodes []*RedisServer
	tb    testing.TB
}

// StartRedisCluster starts masters (at least 3) cluster-enabled servers on
// free loopback ports, joins them with `redis-cli --cluster create`, and
// waits until every node reports cluster_state:ok. The servers are stopped
// when the test ends.
func StartRedisCluster(tb testing.TB, masters int) *RedisCluster {
	tb.Helper()
	if masters < 3 {
		tb.Fatalf("testenv: a Redis Cluster needs at least 3 masters, got %d", masters)
	}
	cli := lookPath(tb, "redis-cli", "redis-tools")
	c := &RedisCluster{tb: tb}
	args := []string{"--cluster", "create"}
	for i := 0; i < masters; i++ {
		n := StartRedis(tb,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			// The bus port must be chosen too: port+10000 may be taken or
			// out of range.
			"--cluster-port", strconv.Itoa(FreePort(tb)),
			"--cluster-node-timeout", "2000",
		)
		c.nodes = append(c.nodes, n)
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	return c
}

// Addrs returns the node addresses, for redis.ClusterOptions.Addrs.
func (c *RedisCluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Node returns the i-th node, to stop or restart it (it rejoins with its
// nodes.conf and AOF). Call WaitOK after restarting.
func (c *RedisCluster) Node(i int) *RedisServer { return c.nodes[i] }

// WaitOK waits up to 20 seconds until every node reports cluster_state:ok
// and knows every other node, and fails the test otherwise.
func (c *RedisCluster) WaitOK() {
	c.tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if last = c.notOK(); last == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.tb.Fatalf("testenv: Redis Cluster not ok after 20s: %s", last)
}

// notOK returns why the cluster is not ready, or "".
func (c *RedisCluster) notOK() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, n := range c.nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		info, err := cl.ClusterInfo(ctx).Result()
		cl.Close()
		switch {
		case err != nil:
			return n.Addr + ": " + err.Error()
		case !strings.Contains(info, "cluster_state:ok"):
			return n.Addr + ": cluster_state not ok"
		case !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(c.nodes))+"\r"):
			return n.Addr + ": does not know every node yet"
		}
	}
	return ""
}

// Client returns a cluster client, closed when the test ends.
func (c *RedisCluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { cl.Close() })
	return cl
}
