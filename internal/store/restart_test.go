package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/testenv"
)

// A PostgreSQL restart under a steady trickle of reads, writes and
// transactions costs no error: connections the server closed are retried
// on new ones, reads always, writes when they provably did not commit.
func TestPostgresRestartCostsNoErrors(t *testing.T) {
	pg := testenv.StartPostgres(t)
	db := open(t, pg.URL)
	u := mustCreateUser(t, db, "restart@example.com")
	ctx := context.Background()
	ops := []struct {
		name string
		run  func(i int) error
	}{
		{"read one row", func(int) error { _, err := db.UserByID(ctx, u.ID); return err }},
		{"read rows", func(int) error { _, err := db.ListSessions(ctx, u.ID, t0); return err }},
		{"write", func(i int) error { return db.SetLastLogin(ctx, u.ID, t0.Add(time.Duration(i)*time.Second)) }},
		{"transaction", func(i int) error {
			_, err := db.AppendRevocation(ctx, revoke.Entry{Kind: revoke.KindToken, ID: "jti-restart", Expires: time.Now().Add(time.Hour).Unix(), At: time.Now().Unix()})
			return err
		}},
		{"read-only transaction", func(int) error { _, _, err := db.LiveRevocations(ctx, time.Now()); return err }},
	}
	var done atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := op.run(i); err != nil {
					mu.Lock()
					failures = append(failures, op.name+": "+err.Error())
					mu.Unlock()
				}
				done.Add(1)
				time.Sleep(5 * time.Millisecond) // a trickle, not a flood
			}
		}()
	}
	waitDone := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for done.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d operations after 30s; want %d", done.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitDone(50)
	pg.Restart()
	waitDone(done.Load() + 100) // every operation ran on the restarted server
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Errorf("failed across the restart: %s", f)
	}
}
