package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSentinel is a monitored master with one replica and one sentinel,
// all real processes owned by a test.
type RedisSentinel struct {
	// MasterName is the name the sentinel monitors the master under.
	MasterName string
	// Servers are the data servers; which one is master changes on
	// failover.
	Servers  []*RedisServer
	sentinel *RedisServer
	tb       testing.TB
}

// StartRedisSentinel starts a master, a replica of it, and a sentinel
// monitoring them, and waits until the replica is in sync and the sentinel
// knows it. Everything is stopped when the test ends.
func StartRedisSentinel(tb testing.TB) *RedisSentinel {
	tb.Helper()
	master := StartRedis(tb)
	replica := StartRedis(tb, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	rs := &RedisSentinel{MasterName: "authmesh", Servers: []*RedisServer{master, replica}, tb: tb}
	dir := tb.TempDir()
	rs.sentinel = launchRedis(tb, dir, func(port int) []string {
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 10000\n", rs.MasterName, master.port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			tb.Fatalf("testenv: write sentinel.conf: %v", err)
		}
		return []string{conf, "--sentinel", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", ""}
	})
	rs.waitReady(master.Addr)
	return rs
}

// SentinelAddrs returns the sentinels' addresses, for
// redis.UniversalOptions.Addrs together with MasterName.
func (rs *RedisSentinel) SentinelAddrs() []string { return []string{rs.sentinel.Addr} }

// MasterAddr returns the master's address as the sentinel reports it.
func (rs *RedisSentinel) MasterAddr() string {
	rs.tb.Helper()
	addr, err := rs.masterAddr()
	if err != nil {
		rs.tb.Fatalf("testenv: ask sentinel for the master: %v", err)
	}
	return addr
}

func (rs *RedisSentinel) masterAddr() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: rs.sentinel.Addr, MaxRetries: -1})
	defer sc.Close()
	hp, err := sc.GetMasterAddrByName(ctx, rs.MasterName).Result()
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("unexpected reply %q", hp)
	}
	return hp[0] + ":" + hp[1], nil
}

// Failover forces a failover (SENTINEL FAILOVER) and waits until the
// sentinel names the replica as master and it has taken that role. The old
// master is reconfigured as a replica later (sentinel does that within
// about ten seconds). It returns the new master's address.
func (rs *RedisSentinel) Failover() string {
	rs.tb.Helper()
	old := rs.MasterAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: rs.sentinel.Addr})
	defer sc.Close()
	if err := sc.Failover(ctx, rs.MasterName).Err(); err != nil {
		rs.tb.Fatalf("testenv: SENTINEL FAILOVER: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if addr, err := rs.masterAddr(); err == nil && addr != old {
			if role(addr) == "master" {
				return addr
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	rs.tb.Fatalf("testenv: failover away from %s did not complete in 20s", old)
	return ""
}

// waitReady waits until the replica is in sync and the sentinel lists it.
func (rs *RedisSentinel) waitReady(master string) {
	rs.tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if replicaLinked(master) && rs.sentinelSeesReplica() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	rs.tb.Fatalf("testenv: sentinel setup not ready after 20s")
}

func (rs *RedisSentinel) sentinelSeesReplica() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: rs.sentinel.Addr, MaxRetries: -1})
	defer sc.Close()
	reps, err := sc.Replicas(ctx, rs.MasterName).Result()
	if err != nil || len(reps) == 0 {
		return false
	}
	for _, r := range reps {
		if strings.Contains(r["flags"], "down") || r["master-link-status"] != "ok" {
			return false
		}
	}
	return true
}

// info returns one INFO section of the server at addr, or "".
func info(addr, section string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	s, _ := c.Info(ctx, section).Result()
	return s
}

func role(addr string) string {
	for _, l := range strings.Split(info(addr, "replication"), "\r\n") {
		if v, ok := strings.CutPrefix(l, "role:"); ok {
			return v
		}
	}
	return ""
}

// replicaLinked reports whether the master at addr has a replica online.
func replicaLinked(addr string) bool {
	s := info(addr, "replication")
	return strings.Contains(s, "connected_slaves:1") && strings.Contains(s, "state=online")
}
