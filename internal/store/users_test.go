package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/authmesh/authmesh/internal/store"
)

func TestUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)

		u, err := db.CreateUser(ctx, "a@b.c", "hash-1", t0)
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if parsed, err := uuid.Parse(u.ID); err != nil || parsed.Version() != 4 {
			t.Errorf("ID = %q; want a v4 UUID", u.ID)
		}
		sameTime(t, "CreatedAt", u.CreatedAt, t0)

		byEmail, err := db.UserByEmail(ctx, "a@b.c")
		if err != nil {
			t.Fatalf("UserByEmail: %v", err)
		}
		if byEmail != u {
			t.Errorf("UserByEmail = %+v; want %+v", byEmail, u)
		}
		byID, err := db.UserByID(ctx, u.ID)
		if err != nil || byID != u {
			t.Errorf("UserByID = %+v, %v; want %+v", byID, err, u)
		}
		if !byID.LastLoginAt.IsZero() || byID.TokensValidAfter != 0 {
			t.Errorf("new user has LastLoginAt %v, TokensValidAfter %d; want zero", byID.LastLoginAt, byID.TokensValidAfter)
		}

		if err := db.SetPassword(ctx, u.ID, "hash-2"); err != nil {
			t.Fatalf("SetPassword: %v", err)
		}
		login := t0.Add(90e9)
		if err := db.SetLastLogin(ctx, u.ID, login); err != nil {
			t.Fatalf("SetLastLogin: %v", err)
		}
		if err := db.SetTokensValidAfter(ctx, u.ID, 2000); err != nil {
			t.Fatalf("SetTokensValidAfter: %v", err)
		}
		if err := db.SetTokensValidAfter(ctx, u.ID, 1000); err != nil { // lower: ignored
			t.Fatalf("SetTokensValidAfter(lower): %v", err)
		}
		got, _ := db.UserByID(ctx, u.ID)
		if got.PasswordHash != "hash-2" {
			t.Errorf("PasswordHash = %q; want hash-2", got.PasswordHash)
		}
		sameTime(t, "LastLoginAt", got.LastLoginAt, login)
		if got.TokensValidAfter != 2000 {
			t.Errorf("TokensValidAfter = %d; want 2000 (only ever raised)", got.TokensValidAfter)
		}
		if err := db.SetTokensValidAfter(ctx, u.ID, 3000); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.UserByID(ctx, u.ID); got.TokensValidAfter != 3000 {
			t.Errorf("TokensValidAfter = %d; want 3000", got.TokensValidAfter)
		}
	})
}

func TestUsersNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		mustCreateUser(t, db, "someone@b.c")
		missing := uuid.NewString()
		tests := []struct {
			name string
			err  error
		}{
			{"UserByEmail", func() error { _, err := db.UserByEmail(ctx, "nobody@b.c"); return err }()},
			{"UserByID", func() error { _, err := db.UserByID(ctx, missing); return err }()},
			{"SetPassword", db.SetPassword(ctx, missing, "h")},
			{"SetLastLogin", db.SetLastLogin(ctx, missing, t0)},
			{"SetTokensValidAfter", db.SetTokensValidAfter(ctx, missing, 5)},
		}
		for _, tt := range tests {
			if !errors.Is(tt.err, store.ErrNotFound) {
				t.Errorf("%s: got %v; want ErrNotFound", tt.name, tt.err)
			}
		}
	})
}

func TestDuplicateEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		first := mustCreateUser(t, db, "dup@b.c")
		if _, err := db.CreateUser(ctx, "dup@b.c", "other", t0); !errors.Is(err, store.ErrEmailTaken) {
			t.Fatalf("second CreateUser: got %v; want ErrEmailTaken", err)
		}
		// The store compares exactly; normalising case is the caller's job.
		if _, err := db.CreateUser(ctx, "DUP@b.c", "other", t0); err != nil {
			t.Errorf("CreateUser with other case: %v", err)
		}
		if got, _ := db.UserByEmail(ctx, "dup@b.c"); got.ID != first.ID {
			t.Errorf("UserByEmail after duplicate = %q; want the first user %q", got.ID, first.ID)
		}

		// Concurrent registrations of one email: exactly one succeeds.
		var wins, taken atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := db.CreateUser(ctx, "race@b.c", "h", t0)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrEmailTaken):
					taken.Add(1)
				default:
					t.Errorf("CreateUser: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || taken.Load() != 9 {
			t.Errorf("concurrent CreateUser: %d won, %d taken; want 1, 9", wins.Load(), taken.Load())
		}
	})
}
