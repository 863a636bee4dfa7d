package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/revoke/redissync"
	"github.com/authmesh/authmesh/internal/testenv"
)

// A "revoke everything issued before" entry travels the path of every
// other entry: a running validator gets it from the log, and after Redis
// lost its data, the re-seeded state gives it to a validator started
// afterwards; later cut-offs raise it.
func TestRevokeAllBeforeReachesValidatorsAndSurvivesDataLoss(t *testing.T) {
	srv := testenv.StartRedis(t, "--appendonly", "no")
	c := srv.Client(t)
	store := newStore(t, c, redisstore.Config{Journal: openSQLJournal(t, sqliteDSN(t))})
	runStore(t, store)
	running := revoke.NewSet()
	rs := startSync(t, running, srv.Client(t), redissync.Config{})
	testenv.WaitFor(t, "the running validator ready", func() bool { return rs.Status().Ready })

	exp := time.Now().Add(time.Hour).Unix()
	for _, before := range []int64{1000, 500} { // the second, earlier, changes nothing
		if _, err := store.Revoke(context.Background(), revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: before, Expires: exp}); err != nil {
			t.Fatalf("Revoke(all before %d): %v", before, err)
		}
	}
	cutAt := func(set *revoke.Set, before int64) func() bool {
		return func() bool {
			_, old := set.CheckToken(revoke.Token{ID: "j", Subject: "u", IssuedAt: before - 1})
			_, newer := set.CheckToken(revoke.Token{ID: "j", Subject: "u", IssuedAt: before})
			return old && !newer
		}
	}
	testenv.WaitFor(t, "the running validator applies the cut-off", cutAt(running, 1000))

	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	later := revoke.NewSet()
	ls := startSync(t, later, srv.Client(t), redissync.Config{})
	testenv.WaitFor(t, "the validator started after the loss ready", func() bool { return ls.Status().Ready })
	if !cutAt(later, 1000)() {
		t.Fatal("the validator started after the loss became ready without the cut-off")
	}
	if _, err := store.Revoke(context.Background(), revoke.Entry{Kind: revoke.KindAll, ID: revoke.AllID, Before: 2000, Expires: exp}); err != nil {
		t.Fatalf("Revoke(all before 2000): %v", err)
	}
	for name, set := range map[string]*revoke.Set{"running": running, "started later": later} {
		testenv.WaitFor(t, name+": the later cut-off", cutAt(set, 2000))
	}
}
