package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/testenv"
)

func TestOpenDialect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		want := "sqlite"
		if strings.HasPrefix(dsn, "postgres") {
			want = "postgres"
		}
		if got := db.Dialect(); got != want {
			t.Errorf("Dialect() = %q; want %q", got, want)
		}
		if err := db.Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

// TestMigrationsIdempotent opens the same database twice (in turn and at
// once); data survives and nothing is applied twice.
func TestMigrationsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		first, err := store.Open(ctx, dsn, store.Options{})
		if err != nil {
			t.Fatalf("first Open: %v", err)
		}
		u := mustCreateUser(t, first, "keep@b.c")
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		second := open(t, dsn)
		if got, err := second.UserByID(ctx, u.ID); err != nil || got.Email != "keep@b.c" {
			t.Errorf("after reopening UserByID = %+v, %v; want the user", got, err)
		}
	})
}

// TestConcurrentOpen starts several "replicas" on one empty database at
// once: all must succeed and the schema must work.
func TestConcurrentOpen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		const replicas = 6
		dbs := make([]*store.DB, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Go(func() { dbs[i], errs[i] = store.Open(context.Background(), dsn, store.Options{}) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: Open: %v", i, err)
				continue
			}
			t.Cleanup(func() { dbs[i].Close() })
		}
		if t.Failed() {
			return
		}
		for i, db := range dbs {
			mustCreateUser(t, db, fmt.Sprintf("r%d@b.c", i))
		}
	})
}

func TestSQLiteDirectoryCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	for _, dsn := range []string{filepath.Join(dir, "plain.db"), "sqlite:" + filepath.Join(dir, "prefixed.db"), "sqlite://" + filepath.Join(dir, "url.db")} {
		t.Run(dsn, func(t *testing.T) {
			db := open(t, dsn)
			if db.Dialect() != "sqlite" {
				t.Errorf("Dialect() = %q; want sqlite", db.Dialect())
			}
		})
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode = %o; want 700", got)
	}
}

func TestSQLiteRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	db := open(t, "sqlite:data/auth.db")
	mustCreateUser(t, db, "rel@b.c")
	if _, err := os.Stat(filepath.Join("data", "auth.db")); err != nil {
		t.Errorf("relative path not used: %v", err)
	}
}

func TestBadDSN(t *testing.T) {
	tests := []struct{ name, dsn string }{
		{"empty", ""},
		{"blank", "   "},
		{"mysql", "mysql://user:pw@localhost/db"},
		{"sqlite nothing", "sqlite:"},
		{"sqlite relative url", "sqlite://relative/path.db"},
		{"memory", ":memory:"},
		{"file uri", "file:auth.db?mode=memory"},
		{"question mark", "sqlite:auth.db?_pragma=foo"},
		{"postgres bad port", "postgres://user:hunter2secret@localhost:notaport/db"},
		{"postgres bad param", "postgres://user:hunter2secret@localhost/db?sslmode=bogus"},
		{"postgres bad param, encoded password", "postgres://user:hunter2secret%21@localhost/db?sslmode=bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(context.Background(), tt.dsn, store.Options{})
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) = nil error; want one", tt.dsn)
			}
			if !errors.Is(err, store.ErrBadDSN) {
				t.Errorf("Open(%q) = %v; want ErrBadDSN", tt.dsn, err)
			}
			if strings.Contains(err.Error(), "hunter2secret") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestUnreachablePostgres(t *testing.T) {
	port := testenv.FreePort(t) // nothing listens there
	host := fmt.Sprintf("127.0.0.1:%d", port)
	dsn := "postgres://authmesh:hunter2secret@" + host + "/authmesh?sslmode=disable&connect_timeout=2"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := store.Open(ctx, dsn, store.Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, host) {
		t.Errorf("error %q does not name the host %s", msg, host)
	}
	if strings.Contains(msg, "hunter2secret") {
		t.Errorf("error %q reveals the password", msg)
	}
}

func TestSQLiteConcurrentWriters(t *testing.T) {
	// Two handles on one file (as two processes would have), many
	// goroutines writing through each: no SQLITE_BUSY may surface.
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "busy.db")
	dbs := []*store.DB{open(t, dsn), open(t, dsn)}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			db := dbs[i%2]
			for j := range 10 {
				u, err := db.CreateUser(ctx, fmt.Sprintf("w%d-%d@b.c", i, j), "h", t0)
				if err != nil {
					t.Errorf("CreateUser: %v", err)
					return
				}
				s := newSession(u.ID, t0)
				if err := db.CreateSession(ctx, s); err != nil {
					t.Errorf("CreateSession: %v", err)
					return
				}
				if _, err := db.AdvanceRefresh(ctx, s.ID, 0, t0, t0.Add(time.Hour)); err != nil {
					t.Errorf("AdvanceRefresh: %v", err)
					return
				}
				if _, err := db.RevokeUserSessions(ctx, u.ID, "", t0); err != nil {
					t.Errorf("RevokeUserSessions: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
