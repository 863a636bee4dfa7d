package revoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/testenv"
)

func TestRedisStoreRevokePublishesJSON(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := srv.Client(t)
	store := newStore(t, c, revoke.RedisStoreConfig{})
	sub := subscribeRaw(t, c, revoke.Channel)

	// A raw token the caller holds; only its jti may ever reach Redis.
	rawToken := "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJqdGktNDIifQ.c2lnbmF0dXJl"
	e := revoke.Entry{Kind: revoke.KindToken, ID: "jti-42", Expires: future(), At: 1700000000}
	ev, err := store.Revoke(context.Background(), e)
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if ev.Entry != e || ev.Cursor == "" {
		t.Fatalf("Revoke returned %+v; want entry %+v with a cursor", ev, e)
	}
	waitFor(t, "the pub/sub message", func() bool { return len(sub.messages()) == 1 })
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
		case "kind", "id", "exp", "at", "cursor":
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
	store := newStore(t, testenv.StartRedis(t).Client(t), revoke.RedisStoreConfig{})
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
	store := newStore(t, testenv.StartRedis(t).Client(t), revoke.RedisStoreConfig{Clock: func() time.Time { return now }})
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
	store := newStore(t, testenv.StartRedis(t).Client(t), revoke.RedisStoreConfig{})
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
	store := newStore(t, srv.Client(t), revoke.RedisStoreConfig{LogMaxLen: 4})
	ctx := context.Background()
	snap, _ := store.Snapshot(ctx)
	first, err := store.Revoke(ctx, tokenEntry("first"))
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	revokeTokens(t, newStore(t, srv.Client(t), revoke.RedisStoreConfig{LogMaxLen: 4}), "more", 20)
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
	store := newStore(t, c, revoke.RedisStoreConfig{})
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
	store := newStore(t, c, revoke.RedisStoreConfig{})
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
