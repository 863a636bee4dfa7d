package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
)

func TestRedisStoreRevokePublishesJSON(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	store := newStore(t, c, redisstore.Config{})
	sub := subscribeRaw(t, c, revoke.Channel)

	// A raw token the caller holds; only its jti may ever reach Redis.
	rawToken := "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJqdGktNDIifQ.c2lnbmF0dXJl"
	e := revoke.Entry{Kind: revoke.KindToken, ID: "jti-42", Expires: future(), At: 1700000000}
	ev, err := store.Revoke(context.Background(), e)
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if e.V = revoke.ProtocolVersion; ev.Entry != e || ev.Cursor == "" {
		t.Fatalf("Revoke returned %+v; want entry %+v with a cursor", ev, e)
	}
	testenv.WaitFor(t, "the pub/sub message", func() bool { return len(sub.messages()) == 1 })
	payload := sub.messages()[0]
	var got revoke.Event
	if err := json.Unmarshal([]byte(payload), &got); err != nil {
		t.Fatalf("message %q is not JSON: %v", payload, err)
	}
	if got != ev {
		t.Errorf("message decodes to %+v; want %+v", got, ev)
	}
	var fields map[string]any
	_ = json.Unmarshal([]byte(payload), &fields)
	for k := range fields {
		switch k {
		case "v", "kind", "id", "exp", "at", "cursor":
		default:
			t.Errorf("message has unexpected field %q", k)
		}
	}
	keys, _ := c.Keys(context.Background(), "*").Result()
	for _, s := range append(keys, payload) {
		if strings.Contains(s, rawToken) || strings.Contains(s, "eyJ") {
			t.Errorf("%q contains a raw token", s)
		}
	}
}

func TestRedisStoreRejectsInvalidEntries(t *testing.T) {
	store := newStore(t, testenv.StartRedis(t).Client(t), redisstore.Config{})
	for _, e := range []revoke.Entry{
		{},
		{Kind: "bogus", ID: "x", Expires: future()},
		{Kind: revoke.KindToken, ID: "", Expires: future()},
		{Kind: revoke.KindToken, ID: strings.Repeat("x", 300), Expires: future()},
		{Kind: revoke.KindUser, ID: "u", Expires: future()},
		{Kind: revoke.KindToken, ID: "x"},
	} {
		if _, err := store.Revoke(context.Background(), e); !errors.Is(err, revoke.ErrInvalidEntry) {
			t.Errorf("Revoke(%+v) = %v; want ErrInvalidEntry", e, err)
		}
	}
}

func TestRedisStoreSnapshotMergesAndSkipsExpired(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	store := newStore(t, testenv.StartRedis(t).Client(t), redisstore.Config{Clock: func() time.Time { return now }})
	ctx := context.Background()
	revokeAll := []revoke.Entry{
		{Kind: revoke.KindUser, ID: "u1", Before: 100, Expires: now.Unix() + 50},
		{Kind: revoke.KindUser, ID: "u1", Before: 90, Expires: now.Unix() + 80}, // keeps before 100, exp +80
		{Kind: revoke.KindSession, ID: "s1", Expires: now.Unix() + 10},
		{Kind: revoke.KindToken, ID: "old", Expires: now.Unix() - 1},
		{Kind: revoke.KindToken, ID: "huge", Expires: 1 << 60}, // clamped, not corrupted
	}
	var last revoke.Event
	for _, e := range revokeAll {
		var err error
		if last, err = store.Revoke(ctx, e); err != nil {
			t.Fatalf("Revoke(%+v): %v", e, err)
		}
	}
	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if snap.Cursor != last.Cursor {
		t.Errorf("snapshot cursor %q; want %q", snap.Cursor, last.Cursor)
	}
	got := map[string]revoke.Entry{}
	for _, e := range snap.Entries {
		got[string(e.Kind)+":"+e.ID] = e
	}
	want := map[string]revoke.Entry{
		"sub:u1":   {Kind: revoke.KindUser, ID: "u1", Before: 100, Expires: now.Unix() + 80},
		"sid:s1":   {Kind: revoke.KindSession, ID: "s1", Expires: now.Unix() + 10},
		"jti:huge": {Kind: revoke.KindToken, ID: "huge", Expires: 1<<32 - 1},
	}
	if len(got) != len(want) {
		t.Errorf("snapshot has %d entries %+v; want %d", len(got), got, len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("snapshot[%s] = %+v; want %+v", k, got[k], w)
		}
	}
}

func TestRedisStoreSince(t *testing.T) {
	store := newStore(t, testenv.StartRedis(t).Client(t), redisstore.Config{})
	ctx := context.Background()
	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	var cursors []string
	for i := 0; i < 5; i++ {
		ev, err := store.Revoke(ctx, tokenEntry(fmt.Sprint("t", i)))
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		cursors = append(cursors, ev.Cursor)
	}
	tests := []struct {
		name   string
		cursor string
		limit  int
		want   []string // jtis
		err    error
	}{
		{"from empty snapshot", snap.Cursor, 10, []string{"t0", "t1", "t2", "t3", "t4"}, nil},
		{"exclusive", cursors[1], 10, []string{"t2", "t3", "t4"}, nil},
		{"limit", cursors[0], 2, []string{"t1", "t2"}, nil},
		{"at the end", cursors[4], 10, nil, nil},
		{"malformed", "not-a-cursor", 10, nil, revoke.ErrCursorExpired},
		{"empty", "", 10, nil, revoke.ErrCursorExpired},
		{"unknown to this log", "1-1", 10, nil, revoke.ErrCursorExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := store.Since(ctx, tt.cursor, tt.limit)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Since error = %v; want %v", err, tt.err)
			}
			var got []string
			for _, ev := range evs {
				got = append(got, ev.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Since = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestRedisStoreSinceTrimmed(t *testing.T) {
	// Small stream nodes let an approximate MAXLEN trim with few events.
	srv := testenv.StartRedis(t, "--stream-node-max-entries", "2")
	store := newStore(t, srv.Client(t), redisstore.Config{LogMaxLen: 4})
	ctx := context.Background()
	snap, _ := store.Snapshot(ctx)
	first, err := store.Revoke(ctx, tokenEntry("first"))
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	revokeTokens(t, newStore(t, srv.Client(t), redisstore.Config{LogMaxLen: 4}), "more", 20)
	for _, c := range []string{snap.Cursor, first.Cursor} {
		if _, err := store.Since(ctx, c, 100); !errors.Is(err, revoke.ErrCursorExpired) {
			t.Errorf("Since(%s) after trimming = %v; want ErrCursorExpired", c, err)
		}
	}
}

func TestRedisStorePrune(t *testing.T) {
	now := time.Now()
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	store := newStore(t, c, redisstore.Config{})
	ctx := context.Background()
	for i := 0; i < 2500; i++ {
		exp := now.Add(time.Hour).Unix()
		if i%2 == 0 {
			exp = now.Add(-time.Minute).Unix()
		}
		if _, err := store.Revoke(ctx, revoke.Entry{Kind: revoke.KindSession, ID: fmt.Sprint("s", i), Expires: exp}); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
	}
	n, err := store.Prune(ctx, now)
	if err != nil || n != 1250 {
		t.Fatalf("Prune = %d, %v; want 1250, nil", n, err)
	}
	for _, key := range []string{"authmesh:{revocations}:entries", "authmesh:{revocations}:expiry"} {
		var got int64
		if key[len(key)-1] == 's' {
			got = c.HLen(ctx, key).Val()
		} else {
			got = c.ZCard(ctx, key).Val()
		}
		if got != 1250 {
			t.Errorf("%s holds %d; want 1250", key, got)
		}
	}
	if n, _ := store.Prune(ctx, now); n != 0 {
		t.Errorf("second Prune = %d; want 0", n)
	}
}

func TestRedisStoreSubscribe(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	store := newStore(t, c, redisstore.Config{})
	ch1, stop1 := store.Subscribe()
	ch2, stop2 := store.Subscribe()
	defer stop2()
	// The first notification says the shared subscription is up.
	for _, ch := range []<-chan struct{}{ch1, ch2} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no notification when the subscription came up")
		}
	}
	if _, err := store.Revoke(context.Background(), tokenEntry("a")); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	for _, ch := range []<-chan struct{}{ch1, ch2} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no notification after Revoke")
		}
	}
	stop1()
	stop1() // harmless
	// A killed subscription is re-established and announced.
	if err := c.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatalf("CLIENT KILL: %v", err)
	}
	select {
	case <-ch2:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after the subscription was re-established")
	}
}

// storeEntries writes entries straight into the entries hash in the stored
// form ("kind:id" → "exp" or "exp:before"), many fields per HSET, as a
// quick stand-in for a long history of revocations.
func storeEntries(t *testing.T, c redis.UniversalClient, entries []revoke.Entry) {
	t.Helper()
	const perCall = 5000
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), perCall)]
		entries = entries[len(chunk):]
		args := make([]any, 0, 2*len(chunk))
		for _, e := range chunk {
			v := fmt.Sprint(e.Expires)
			if e.Before != 0 {
				v += fmt.Sprint(":", e.Before)
			}
			args = append(args, string(e.Kind)+":"+e.ID, v)
		}
		if err := c.HSet(context.Background(), redissync.DefaultPrefix+"{revocations}:entries", args...).Err(); err != nil {
			t.Fatalf("HSET: %v", err)
		}
	}
}

// manyEntries returns n entries of every kind, one in seven already
// expired at now, and the live ones keyed by "kind:id".
func manyEntries(n int, now time.Time) ([]revoke.Entry, map[string]revoke.Entry) {
	all := make([]revoke.Entry, 0, n)
	live := make(map[string]revoke.Entry, n)
	for i := 0; i < n; i++ {
		e := revoke.Entry{Kind: revoke.KindToken, ID: fmt.Sprint("j", i), Expires: now.Unix() + 3600 + int64(i)}
		switch i % 10 {
		case 7, 8:
			e.Kind, e.ID = revoke.KindSession, fmt.Sprint("s", i)
		case 9:
			e.Kind, e.ID, e.Before = revoke.KindUser, fmt.Sprint("u", i), now.Unix()-int64(i)
		}
		if i%7 == 0 {
			e.Expires = now.Unix() - 1
		} else {
			live[string(e.Kind)+":"+e.ID] = e
		}
		all = append(all, e)
	}
	return all, live
}

func TestRedisStoreSnapshotFuncStreamsEveryLiveEntry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testenv.StartRedis(t).Client(t)
	store := newStore(t, c, redisstore.Config{Clock: func() time.Time { return now }})
	ctx := context.Background()
	// Enough for several HSCAN pages, plus fields no store ever writes.
	all, want := manyEntries(25_000, now)
	storeEntries(t, c, all)
	key := redissync.DefaultPrefix + "{revocations}:entries"
	if err := c.HSet(ctx, key, "garbage", "1", "jti:bad", "x", "sub:nobefore", "9999999999").Err(); err != nil {
		t.Fatalf("HSET: %v", err)
	}
	last, err := store.Revoke(ctx, revoke.Entry{Kind: revoke.KindToken, ID: "logged", Expires: now.Unix() + 60})
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	want["jti:logged"] = revoke.Entry{Kind: revoke.KindToken, ID: "logged", Expires: now.Unix() + 60} // At is not stored

	got := map[string]revoke.Entry{}
	batches := 0
	cursor, err := store.SnapshotFunc(ctx, func(batch []revoke.Entry) {
		batches++
		for _, e := range batch {
			got[string(e.Kind)+":"+e.ID] = e
		}
	})
	if err != nil {
		t.Fatalf("SnapshotFunc: %v", err)
	}
	if cursor != last.Cursor {
		t.Errorf("cursor %q; want %q", cursor, last.Cursor)
	}
	if batches < 2 {
		t.Errorf("%d batches; want several for %d fields", batches, len(all))
	}
	if len(got) != len(want) {
		t.Errorf("streamed %d distinct entries; want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("entry %s = %+v; want %+v", k, got[k], w)
		}
	}

	// Snapshot returns the same state in one slice, cursor first as well.
	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if snap.Cursor != last.Cursor || len(snap.Entries) != len(want) {
		t.Errorf("Snapshot has cursor %q and %d entries; want %q and %d", snap.Cursor, len(snap.Entries), last.Cursor, len(want))
	}
	for _, e := range snap.Entries {
		if w := want[string(e.Kind)+":"+e.ID]; e != w {
			t.Fatalf("Snapshot entry %+v; want %+v", e, w)
		}
	}
}

func TestRedisStoreSnapshotEmpty(t *testing.T) {
	store := newStore(t, testenv.StartRedis(t).Client(t), redisstore.Config{})
	snap, err := store.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if !strings.HasPrefix(snap.Cursor, "0-0@") || snap.Entries == nil || len(snap.Entries) != 0 {
		t.Errorf("Snapshot = %+v; want cursor 0-0@epoch and an empty, non-nil list", snap)
	}
}

func TestRedisStoreSnapshotFuncStops(t *testing.T) {
	now := time.Now()
	c := testenv.StartRedis(t).Client(t)
	store := newStore(t, c, redisstore.Config{})
	all, _ := manyEntries(30_000, now)
	storeEntries(t, c, all)

	t.Run("cancelled by fn", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		_, err := store.SnapshotFunc(ctx, func([]revoke.Entry) { calls++; cancel() })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("SnapshotFunc = %v; want context.Canceled", err)
		}
		if calls != 1 {
			t.Errorf("fn called %d times; want 1 (no batch after cancellation)", calls)
		}
	})
	t.Run("Redis gone", func(t *testing.T) {
		gone := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), MaxRetries: -1, DialTimeout: time.Second})
		defer gone.Close()
		s, err := redisstore.New(gone, redisstore.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SnapshotFunc(context.Background(), func([]revoke.Entry) { t.Error("fn called") }); err == nil {
			t.Error("SnapshotFunc without Redis succeeded")
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		key := "other:{revocations}:entries"
		if err := c.Set(context.Background(), key, "not a hash", 0).Err(); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, c, redisstore.Config{Prefix: "other:"})
		if _, err := s.Snapshot(context.Background()); err == nil {
			t.Error("Snapshot of a string key succeeded")
		}
	})
}
