package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/testenv"
)

// quiet is a logger that discards, so test output stays readable.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// future is an expiry safely after every test's end.
func future() int64 { return time.Now().Add(time.Hour).Unix() }

func tokenEntry(id string) revoke.Entry {
	return revoke.Entry{Kind: revoke.KindToken, ID: id, Expires: future()}
}

func newStore(t testing.TB, c redis.UniversalClient, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s, err := redisstore.New(c, cfg)
	if err != nil {
		t.Fatalf("NewRedisStore: %v", err)
	}
	if err := s.EnsureLayout(context.Background()); err != nil {
		t.Fatalf("EnsureLayout: %v", err)
	}
	return s
}

// startSync runs a redissync.Sync filling set until the test ends.
func startSync(t *testing.T, set *revoke.Set, c redis.UniversalClient, cfg redissync.Config) *redissync.Sync {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	s, err := redissync.New(set, c, cfg)
	if err != nil {
		t.Fatalf("NewRedisSync: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v; want context.Canceled", err)
		}
	})
	return s
}

// revoked reports whether set rejects a token with this jti.
func revoked(set *revoke.Set, jti string) bool {
	_, ok := set.Check(jti, "", "", 0)
	return ok
}

// allRevoked reports whether set rejects every jti.
func allRevoked(set *revoke.Set, jtis []string) func() bool {
	return func() bool {
		for _, j := range jtis {
			if !revoked(set, j) {
				return false
			}
		}
		return true
	}
}

// revokeTokens revokes n tokens named prefix-i and returns their jtis.
func revokeTokens(t *testing.T, s *redisstore.Store, prefix string, n int) []string {
	t.Helper()
	var jtis []string
	for i := 0; i < n; i++ {
		j := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := s.Revoke(context.Background(), tokenEntry(j)); err != nil {
			t.Fatalf("Revoke(%s): %v", j, err)
		}
		jtis = append(jtis, j)
	}
	return jtis
}

// gate is a dialer the test can cut, simulating a network partition
// between a validator and Redis: while down, new connections are refused.
type gate struct{ down atomic.Bool }

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if g.down.Load() {
		return nil, errors.New("test: network to redis is down")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// gatedClient returns a client of srv whose connections g controls, named
// so that killClients can find them.
func gatedClient(t *testing.T, srv *testenv.RedisServer, g *gate, name string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: srv.Addr, Dialer: g.dial, ClientName: name,
		MaxRetries: 1, DialTimeout: time.Second, ReadTimeout: time.Second,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// killClients kills, with CLIENT KILL ID, every connection named name.
func killClients(t *testing.T, admin *redis.Client, name string) int {
	t.Helper()
	ctx := context.Background()
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		var id int64
		fmt.Sscanf(line, "id=%d", &id)
		if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
			n++
		}
	}
	return n
}

// rawSubscriber collects the payloads published on a channel.
type rawSubscriber struct {
	mu   sync.Mutex
	msgs []string
}

func subscribeRaw(t *testing.T, c redis.UniversalClient, channel string) *rawSubscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ps := c.Subscribe(ctx, channel)
	if _, err := ps.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatalf("subscribe: %v", err)
	}
	r := &rawSubscriber{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ps.Channel() {
			r.mu.Lock()
			r.msgs = append(r.msgs, m.Payload)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); ps.Close(); <-done })
	return r
}

// messages returns the revocation messages received, leaving out layout
// announcements (a store publishes one when it installs its layout; on a
// cluster it may reach a subscriber that subscribed just after).
func (r *rawSubscriber) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if !strings.Contains(m, `"layout"`) {
			out = append(out, m)
		}
	}
	return out
}

// openSQLJournal opens the auth service's database at dsn: the journal a
// store re-seeds Redis from.
func openSQLJournal(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		tb.Fatalf("store.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func sqliteDSN(tb testing.TB) string { return "sqlite:" + filepath.Join(tb.TempDir(), "auth.db") }

// batches returns the batch messages received (RevokeMany's).
func (r *rawSubscriber) batches() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if strings.Contains(m, `"events":[`) {
			out = append(out, m)
		}
	}
	return out
}
