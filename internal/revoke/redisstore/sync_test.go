package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
)

func TestRedisSyncAppliesEveryGranularity(t *testing.T) {
	srv := testenv.StartRedis(t)
	store := newStore(t, srv.Client(t), redisstore.Config{})
	set := revoke.NewSet()
	var mu sync.Mutex
	var seen []revoke.Event
	// A long poll interval: after the first catch-up, only pub/sub delivers.
	rs := startSync(t, set, srv.Client(t), redissync.Config{
		PollInterval: time.Hour,
		OnEvent:      func(ev revoke.Event) { mu.Lock(); seen = append(seen, ev); mu.Unlock() },
	})
	testenv.WaitFor(t, "ready and connected", func() bool { st := rs.Status(); return st.Ready && st.Connected })

	ctx := context.Background()
	exp := future()
	for _, e := range []revoke.Entry{
		{Kind: revoke.KindToken, ID: "jti-1", Expires: exp},
		{Kind: revoke.KindSession, ID: "sid-1", Expires: exp},
		{Kind: revoke.KindUser, ID: "user-1", Before: 1000, Expires: exp},
	} {
		if _, err := store.Revoke(ctx, e); err != nil {
			t.Fatalf("Revoke(%+v): %v", e, err)
		}
	}
	tests := []struct {
		name          string
		jti, sid, sub string
		iat           int64
		want          revoke.Kind
		revoked       bool
	}{
		{"token", "jti-1", "sid-x", "user-x", 5000, revoke.KindToken, true},
		{"session", "jti-x", "sid-1", "user-x", 5000, revoke.KindSession, true},
		{"user before cut", "jti-x", "sid-x", "user-1", 999, revoke.KindUser, true},
		{"user at cut", "jti-x", "sid-x", "user-1", 1000, "", false},
		{"never revoked", "jti-2", "sid-2", "user-2", 1, "", false},
	}
	testenv.WaitFor(t, "all three revocations", func() bool { return set.Len() == 3 })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, ok := set.Check(tt.jti, tt.sid, tt.sub, tt.iat)
			if kind != tt.want || ok != tt.revoked {
				t.Errorf("Check = %q, %v; want %q, %v", kind, ok, tt.want, tt.revoked)
			}
		})
	}
	st := rs.Status()
	mu.Lock()
	defer mu.Unlock()
	if st.EventsApplied != 3 || len(seen) != 3 {
		t.Errorf("EventsApplied = %d, OnEvent calls = %d; want 3, 3", st.EventsApplied, len(seen))
	}
}

func TestRedisSyncCatchesUpAfterConnectionsAreKilled(t *testing.T) {
	for _, kind := range []string{"pubsub", "normal"} {
		t.Run(kind, func(t *testing.T) {
			srv := testenv.StartRedis(t)
			admin := srv.Client(t)
			store := newStore(t, admin, redisstore.Config{})
			var g gate
			set := revoke.NewSet()
			rs := startSync(t, set, gatedClient(t, srv, &g, "validator"), redissync.Config{})
			testenv.WaitFor(t, "connected", func() bool { st := rs.Status(); return st.Ready && st.Connected })

			// Partition the validator, then kill its connections for real.
			g.down.Store(true)
			if err := admin.Do(context.Background(), "CLIENT", "KILL", "TYPE", kind, "SKIPME", "yes").Err(); err != nil {
				t.Fatalf("CLIENT KILL TYPE %s: %v", kind, err)
			}
			killClients(t, admin, "validator")
			testenv.WaitFor(t, "disconnected", func() bool { return !rs.Status().Connected })
			jtis := revokeTokens(t, store, "offline", 10)
			for _, j := range jtis {
				if revoked(set, j) {
					t.Fatalf("%s applied while partitioned: the partition is not real", j)
				}
			}
			g.down.Store(false)
			testenv.WaitFor(t, "all 10 revocations after reconnecting", allRevoked(set, jtis))
			testenv.WaitFor(t, "connected again", func() bool { return rs.Status().Connected })
		})
	}
}

func TestRedisSyncStartedAfterRestartSeesEverything(t *testing.T) {
	srv := testenv.StartRedis(t)
	store := newStore(t, srv.Client(t), redisstore.Config{})
	jtis := revokeTokens(t, store, "before-restart", 20)
	srv.Restart() // SIGKILL, then start from the AOF

	set := revoke.NewSet()
	rs := startSync(t, set, srv.Client(t), redissync.Config{})
	testenv.WaitFor(t, "ready", func() bool { return rs.Status().Ready })
	if !allRevoked(set, jtis)() {
		t.Fatal("a validator started after the restart misses revocations made before it")
	}
	if revoked(set, "never") {
		t.Error("a never-revoked token is reported revoked")
	}
}

func TestRedisSyncCatchesUpAfterRedisRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	store := newStore(t, srv.Client(t), redisstore.Config{})
	set := revoke.NewSet()
	rs := startSync(t, set, srv.Client(t), redissync.Config{})
	first := revokeTokens(t, store, "first", 3)
	testenv.WaitFor(t, "first revocations", allRevoked(set, first))

	srv.Stop()
	testenv.WaitFor(t, "disconnected", func() bool { return !rs.Status().Connected })
	srv.Restart()
	after := revokeTokens(t, store, "after-restart", 10)
	testenv.WaitFor(t, "revocations made after the restart", allRevoked(set, after))
	testenv.WaitFor(t, "connected again", func() bool { return rs.Status().Connected })
	if got := set.Len(); got != 13 {
		t.Errorf("set holds %d entries; want 13", got)
	}
}

func TestRedisSyncLoadsSnapshotWhenCursorExpired(t *testing.T) {
	srv := testenv.StartRedis(t, "--stream-node-max-entries", "2")
	store := newStore(t, srv.Client(t), redisstore.Config{LogMaxLen: 4})
	var g gate
	set := revoke.NewSet()
	rs := startSync(t, set, gatedClient(t, srv, &g, "validator"), redissync.Config{})
	first := revokeTokens(t, store, "first", 3)
	testenv.WaitFor(t, "first revocations", allRevoked(set, first))
	if st := rs.Status(); st.Resyncs != 0 {
		t.Fatalf("Resyncs = %d before the partition; want 0", st.Resyncs)
	}

	g.down.Store(true)
	killClients(t, srv.Client(t), "validator")
	testenv.WaitFor(t, "disconnected", func() bool { return !rs.Status().Connected })
	// Far more than the log keeps: the validator's cursor is trimmed away.
	missed := revokeTokens(t, store, "missed", 40)
	g.down.Store(false)
	testenv.WaitFor(t, "everything missed", allRevoked(set, missed))
	// The snapshot's entries reach the Set while it is scanned; the
	// counter moves once the scan is complete.
	testenv.WaitFor(t, "a snapshot reload counted", func() bool { return rs.Status().Resyncs >= 1 })
}

func TestRedisSyncEventsRacingTheSnapshot(t *testing.T) {
	srv := testenv.StartRedis(t)
	store := newStore(t, srv.Client(t), redisstore.Config{})
	const n = 400
	var wg sync.WaitGroup
	ready := make(chan struct{})
	jtis := make([]string, n)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			for i := w; i < n; i += 4 {
				jtis[i] = fmt.Sprint("race-", i)
				if _, err := store.Revoke(context.Background(), tokenEntry(jtis[i])); err != nil {
					t.Errorf("Revoke: %v", err)
				}
			}
		}()
	}
	revokeTokens(t, store, "pre", 50)
	set := revoke.NewSet()
	close(ready)
	rs := startSync(t, set, srv.Client(t), redissync.Config{})
	wg.Wait()
	testenv.WaitFor(t, "every racing revocation", allRevoked(set, jtis))
	if got := set.Len(); got != n+50 {
		t.Errorf("set holds %d entries; want %d", got, n+50)
	}
	testenv.WaitFor(t, "all events counted", func() bool { return rs.Status().EventsApplied > 0 })
	for i := 0; i < 100; i++ {
		if revoked(set, fmt.Sprint("never-", i)) {
			t.Fatalf("never-%d reported revoked", i)
		}
	}
}

func TestRedisSyncStatus(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	srv := testenv.StartRedis(t)
	set := revoke.NewSet()
	rs := startSync(t, set, srv.Client(t), redissync.Config{Clock: func() time.Time { return now }})
	if st := rs.Status(); st.Ready && st.Cursor == "" {
		t.Errorf("ready without a cursor: %+v", st)
	}
	// No auth service has written the layout marker yet: never Ready, and
	// the problem names the settings to check.
	testenv.WaitFor(t, "the missing layout reported", func() bool { return rs.Status().Problem != "" })
	if st := rs.Status(); st.Ready || !strings.Contains(st.Problem, "REDIS_PREFIX") {
		t.Errorf("Status without a layout marker = %+v; want not Ready and a problem naming REDIS_PREFIX", st)
	}
	newStore(t, srv.Client(t), redisstore.Config{})
	testenv.WaitFor(t, "in sync", func() bool { st := rs.Status(); return st.Ready && st.Connected && !st.LastSync.IsZero() })
	if p := rs.Status().Problem; p != "" {
		t.Errorf("Problem = %q once the marker is there; want none", p)
	}
	st := rs.Status()
	if !st.LastSync.Equal(now) || !strings.HasPrefix(st.Cursor, "0-0@") || st.Resyncs != 0 {
		t.Errorf("Status = %+v; want LastSync %v, cursor 0-0@epoch, no resyncs", st, now)
	}
}

func TestNewRedisSyncValidates(t *testing.T) {
	c := testenv.StartRedis(t).Client(t)
	tests := []struct {
		name string
		set  *revoke.Set
		cfg  redissync.Config
	}{
		{"nil set", nil, redissync.Config{}},
		{"negative poll", revoke.NewSet(), redissync.Config{PollInterval: -1}},
		{"negative batch", revoke.NewSet(), redissync.Config{BatchSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := redissync.New(tt.set, c, tt.cfg); err == nil {
				t.Error("NewRedisSync succeeded; want an error")
			}
		})
	}
}

// A validator starting against a long history loads it in streamed
// batches while revocations keep arriving; it ends with every one of them.
func TestRedisSyncLoadsLargeSnapshotWhileRevoking(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	store := newStore(t, c, redisstore.Config{})
	now := time.Now()
	all, live := manyEntries(40_000, now)
	storeEntries(t, c, all)

	const racing = 300
	jtis := make([]string, racing)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range jtis {
			jtis[i] = fmt.Sprint("during-", i)
			if _, err := store.Revoke(context.Background(), tokenEntry(jtis[i])); err != nil {
				t.Errorf("Revoke: %v", err)
			}
		}
	}()
	set := revoke.NewSet()
	rs := startSync(t, set, c, redissync.Config{})
	wg.Wait()
	testenv.WaitFor(t, "every racing revocation", allRevoked(set, jtis))
	testenv.WaitFor(t, "the snapshot", func() bool { return rs.Status().Ready })
	if got, want := set.Len(), len(live)+racing; got != want {
		t.Errorf("set holds %d entries; want %d", got, want)
	}
	for _, e := range live {
		var jti, sid, sub string
		switch e.Kind {
		case revoke.KindToken:
			jti = e.ID
		case revoke.KindSession:
			sid = e.ID
		case revoke.KindUser:
			sub = e.ID
		}
		if k, ok := set.Check(jti, sid, sub, e.Before-1); !ok || k != e.Kind {
			t.Fatalf("Check(%+v) = %q, %v; want %q, true", e, k, ok, e.Kind)
		}
	}
	for _, e := range all {
		if e.Kind == revoke.KindToken && !e.Live(now) && revoked(set, e.ID) {
			t.Fatalf("expired %s reported revoked", e.ID)
		}
	}
}
