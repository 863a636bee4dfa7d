package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/store"
	"github.com/authmesh/authmesh/internal/testenv"
)

// backend names a database the suite runs against.
type backend struct {
	name string
	// dsn returns the DSN of a fresh, empty database for t.
	dsn func(t testing.TB) string
}

// backends are the two dialects; every behavioural test runs on both.
var backends = []backend{
	{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "data", "auth.db") }},
	{"postgres", func(t testing.TB) string { return testenv.Postgres(t) }},
}

// forEachBackend runs fn as a parallel subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.dsn(t))
		})
	}
}

// open opens dsn and closes it when the test ends.
func open(t testing.TB, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// t0 has nanoseconds and a non-UTC zone, to check that times come back in
// UTC at microsecond precision.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

// stored is what t looks like after a round trip.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v; want zero", what, got)
		}
		return
	}
	if !got.Equal(stored(want)) || got.Location() != time.UTC {
		t.Errorf("%s = %v; want %v (UTC)", what, got, stored(want))
	}
}

func mustCreateUser(t testing.TB, db *store.DB, email string) auth.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), email, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", t0)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}
