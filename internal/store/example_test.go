package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/store"
)

// Open picks the backend from the DSN: "postgres://…" or "postgresql://…"
// for PostgreSQL, "sqlite:PATH" or a plain file path for SQLite.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// The embedded default: an SQLite file; its directory is created.
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "data", "authmesh.db"), store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	fmt.Println(db.Dialect())

	u, _ := db.CreateUser(ctx, "a@b.c", "$argon2id$v=19$m=19456,t=2,p=1$...", time.Now())
	now := time.Now()
	_ = db.CreateSession(ctx, auth.Session{ID: "s1", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	won, _ := db.AdvanceRefresh(ctx, "s1", 0, now, now.Add(time.Hour))
	again, _ := db.AdvanceRefresh(ctx, "s1", 0, now, now.Add(time.Hour))
	fmt.Println(won, again)

	// Unsupported schemes are rejected before anything is opened.
	_, err = store.Open(ctx, "mysql://localhost/auth", store.Options{})
	fmt.Println(err)
	// Output:
	// sqlite
	// true false
	// store: bad DSN: unsupported scheme "mysql" (want postgres://, postgresql://, sqlite:PATH or a file path)
}
