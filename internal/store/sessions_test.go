package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/store"
)

func newSession(userID string, created time.Time) auth.Session {
	return auth.Session{
		ID: uuid.NewString(), UserID: userID,
		DeviceType: "desktop", DeviceName: "Firefox on Linux", IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0",
		CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(360 * time.Hour),
	}
}

func TestSessionRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "s@b.c")
		s := newSession(u.ID, t0)
		s.LastUsedAt = time.Time{} // defaults to CreatedAt
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		got, err := db.SessionByID(ctx, s.ID)
		if err != nil {
			t.Fatalf("SessionByID: %v", err)
		}
		want := s
		want.CreatedAt, want.LastUsedAt, want.ExpiresAt = stored(t0), stored(t0), stored(s.ExpiresAt)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SessionByID =\n%+v; want\n%+v", got, want)
		}

		if _, err := db.SessionByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionByID(unknown): got %v; want ErrNotFound", err)
		}
		if err := db.CreateSession(ctx, newSession(uuid.NewString(), t0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateSession(unknown user): got %v; want ErrNotFound", err)
		}
		if err := db.CreateSession(ctx, s); err == nil {
			t.Errorf("CreateSession(duplicate id) = nil; want an error")
		}
		if err := db.CreateSession(ctx, auth.Session{UserID: u.ID}); err == nil {
			t.Errorf("CreateSession(no id) = nil; want an error")
		}
	})
}

// SessionWithUser reads what SessionByID and UserByID would, in one
// statement: the session as stored, and its user's standing.
func TestSessionWithUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "sw@b.c")
		s := newSession(u.ID, t0)
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		check := func(when string, wantValidAfter int64, wantDisabled time.Time) {
			t.Helper()
			gotS, gotU, err := db.SessionWithUser(ctx, s.ID)
			if err != nil {
				t.Fatalf("%s: SessionWithUser: %v", when, err)
			}
			wantS, err := db.SessionByID(ctx, s.ID)
			if err != nil {
				t.Fatalf("%s: SessionByID: %v", when, err)
			}
			if !reflect.DeepEqual(gotS, wantS) {
				t.Errorf("%s: session =\n%+v; want\n%+v", when, gotS, wantS)
			}
			wantU := auth.User{ID: u.ID, TokensValidAfter: wantValidAfter, DisabledAt: wantDisabled}
			if !reflect.DeepEqual(gotU, wantU) {
				t.Errorf("%s: user = %+v; want %+v", when, gotU, wantU)
			}
		}
		check("new", 0, time.Time{})
		if _, err := db.AdvanceRefresh(ctx, s.ID, 0, t0.Add(time.Minute), t0.Add(time.Hour)); err != nil {
			t.Fatalf("AdvanceRefresh: %v", err)
		}
		if err := db.SetTokensValidAfter(ctx, u.ID, 1_700_000_000); err != nil {
			t.Fatalf("SetTokensValidAfter: %v", err)
		}
		if err := db.SetDisabled(ctx, u.ID, t0.Add(2*time.Minute)); err != nil {
			t.Fatalf("SetDisabled: %v", err)
		}
		if _, err := db.RevokeSession(ctx, s.ID, t0.Add(3*time.Minute)); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		check("rotated, cut off, disabled, revoked", 1_700_000_000, stored(t0.Add(2*time.Minute)))
		if _, _, err := db.SessionWithUser(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionWithUser(unknown): got %v; want ErrNotFound", err)
		}
	})
}

func TestListAndRevokeSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "list@b.c")
		other := mustCreateUser(t, db, "other@b.c")
		var ids []string
		for i := range 4 {
			s := newSession(u.ID, t0.Add(time.Duration(i)*time.Minute))
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, s.ID)
		}
		expired := newSession(u.ID, t0.Add(-400*time.Hour)) // expired 40h before t0
		theirs := newSession(other.ID, t0)
		for _, s := range []auth.Session{expired, theirs} {
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(time.Hour)
		listIDs := func() []string {
			t.Helper()
			ss, err := db.ListSessions(ctx, u.ID, now)
			if err != nil {
				t.Fatalf("ListSessions: %v", err)
			}
			var out []string
			for _, s := range ss {
				out = append(out, s.ID)
			}
			return out
		}
		if got, want := listIDs(), []string{ids[3], ids[2], ids[1], ids[0]}; !reflect.DeepEqual(got, want) {
			t.Fatalf("ListSessions = %v; want %v (live, newest first)", got, want)
		}

		ok, err := db.RevokeSession(ctx, ids[1], now)
		if err != nil || !ok {
			t.Fatalf("RevokeSession = %v, %v; want true, nil", ok, err)
		}
		for name, id := range map[string]string{"again": ids[1], "unknown": "nope", "expired": expired.ID} {
			if ok, err := db.RevokeSession(ctx, id, now); ok || err != nil {
				t.Errorf("RevokeSession(%s) = %v, %v; want false, nil", name, ok, err)
			}
		}
		s, _ := db.SessionByID(ctx, ids[1])
		sameTime(t, "RevokedAt", s.RevokedAt, now)
		if got, want := listIDs(), []string{ids[3], ids[2], ids[0]}; !reflect.DeepEqual(got, want) {
			t.Errorf("ListSessions after revoke = %v; want %v", got, want)
		}

		revoked, err := db.RevokeUserSessions(ctx, u.ID, ids[2], now)
		if err != nil {
			t.Fatalf("RevokeUserSessions: %v", err)
		}
		want := []string{ids[0], ids[3]}
		if want[0] > want[1] {
			want[0], want[1] = want[1], want[0]
		}
		if !reflect.DeepEqual(revoked, want) {
			t.Errorf("RevokeUserSessions(except %s) = %v; want %v", ids[2], revoked, want)
		}
		if got := listIDs(); !reflect.DeepEqual(got, []string{ids[2]}) {
			t.Errorf("ListSessions after RevokeUserSessions = %v; want only the excepted %v", got, ids[2])
		}
		if s, _ := db.SessionByID(ctx, theirs.ID); !s.RevokedAt.IsZero() {
			t.Errorf("another user's session was revoked")
		}

		revoked, err = db.RevokeUserSessions(ctx, u.ID, "", now)
		if err != nil || !reflect.DeepEqual(revoked, []string{ids[2]}) {
			t.Errorf("RevokeUserSessions(no exception) = %v, %v; want [%s]", revoked, err, ids[2])
		}
		if revoked, err := db.RevokeUserSessions(ctx, u.ID, "", now); len(revoked) != 0 || err != nil {
			t.Errorf("RevokeUserSessions(nothing live) = %v, %v; want none", revoked, err)
		}
		if ss, err := db.ListSessions(ctx, u.ID, now); len(ss) != 0 || err != nil {
			t.Errorf("ListSessions = %v, %v; want none", ss, err)
		}
	})
}

func TestAdvanceRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		u := mustCreateUser(t, db, "r@b.c")
		s := newSession(u.ID, t0)
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(10 * time.Minute)
		exp := now.Add(360 * time.Hour)

		if won, err := db.AdvanceRefresh(ctx, s.ID, 0, now, exp); !won || err != nil {
			t.Fatalf("AdvanceRefresh(gen 0) = %v, %v; want true, nil", won, err)
		}
		got, _ := db.SessionByID(ctx, s.ID)
		if got.RefreshGen != 1 {
			t.Errorf("RefreshGen = %d; want 1", got.RefreshGen)
		}
		sameTime(t, "RotatedAt", got.RotatedAt, now)
		sameTime(t, "LastUsedAt", got.LastUsedAt, now)
		sameTime(t, "ExpiresAt", got.ExpiresAt, exp)

		tests := []struct {
			name    string
			id      string
			fromGen int64
			now     time.Time
		}{
			{"stale generation", s.ID, 0, now},
			{"future generation", s.ID, 5, now},
			{"unknown session", "nope", 1, now},
			{"expired", s.ID, 1, exp.Add(time.Second)},
			{"exactly at expiry", s.ID, 1, exp},
		}
		for _, tt := range tests {
			if won, err := db.AdvanceRefresh(ctx, tt.id, tt.fromGen, tt.now, tt.now.Add(time.Hour)); won || err != nil {
				t.Errorf("AdvanceRefresh(%s) = %v, %v; want false, nil", tt.name, won, err)
			}
		}
		if _, err := db.RevokeSession(ctx, s.ID, now); err != nil {
			t.Fatal(err)
		}
		if won, err := db.AdvanceRefresh(ctx, s.ID, 1, now, exp); won || err != nil {
			t.Errorf("AdvanceRefresh(revoked) = %v, %v; want false, nil", won, err)
		}
	})
}

// TestAdvanceRefreshRace has 20 goroutines, spread over two independently
// opened handles (separate connection pools, as two replicas would have),
// present the same generation: exactly one may win.
func TestAdvanceRefreshRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		dbs := []*store.DB{open(t, dsn), open(t, dsn)}
		u := mustCreateUser(t, dbs[0], "race@b.c")
		s := newSession(u.ID, t0)
		if err := dbs[0].CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Minute)
		for gen := range int64(3) { // a few rounds, each from the last winner's generation
			var wins atomic.Int32
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					<-start
					won, err := dbs[i%2].AdvanceRefresh(ctx, s.ID, gen, now, now.Add(time.Hour))
					if err != nil {
						t.Errorf("AdvanceRefresh: %v", err)
					}
					if won {
						wins.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := wins.Load(); got != 1 {
				t.Fatalf("round %d: %d winners; want exactly 1", gen, got)
			}
			if got, _ := dbs[1].SessionByID(ctx, s.ID); got.RefreshGen != gen+1 {
				t.Fatalf("round %d: RefreshGen = %d; want %d", gen, got.RefreshGen, gen+1)
			}
		}
	})
}
