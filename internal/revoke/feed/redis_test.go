package feed_test

import (
	"context"
	"testing"

	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/redisstore"
	"github.com/authmesh/authmesh/internal/testenv"
)

// In Redis mode the feed serves the Redis store, so a validator without
// Redis credentials gets the same events, and catches up after the feed
// server restarts.
func TestFeedServesRedisStore(t *testing.T) {
	srv := testenv.StartRedis(t)
	rs, err := redisstore.New(srv.Client(t), redisstore.Config{Logger: sqlFeedLogger})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.EnsureLayout(context.Background()); err != nil {
		t.Fatal(err)
	}
	sqlRevoke(t, rs, "early")
	url, stop := serveFeed(t, rs, rs.Run, "")
	f, set := followSQLFeed(t, url, nil)
	sqlFeedWait(t, "the snapshot", sqlHolds(set, "early"))
	sqlRevoke(t, rs, "live")
	sqlFeedWait(t, "a live revocation", sqlHolds(set, "live"))

	stop()
	sqlFeedWait(t, "disconnect noticed", func() bool { return !f.Status().Connected })
	sqlRevoke(t, rs, "while-down")
	serveFeed(t, rs, rs.Run, url[len("http://"):len(url)-len(feedwire.Path)])
	sqlFeedWait(t, "the revocation made while the feed was down", sqlHolds(set, "while-down"))
	if st := f.Status(); st.Resyncs != 0 || st.EventsApplied != 2 {
		t.Errorf("Status: got %+v; want 2 events and no resync (resumed from the stream id)", st)
	}
}
