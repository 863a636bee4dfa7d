package feed

import (
	"strconv"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke/feedsync"
	"github.com/authmesh/authmesh/internal/revoke/feedwire"
	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
	"github.com/authmesh/authmesh/internal/testenv"
)

// TestFeedSyncFailsOver: with a first URL nothing answers, the sync loads
// from an alternate replica; when the replica it follows stops, it resumes
// on the other from its cursor, and the revocations made meanwhile arrive.
func TestFeedSyncFailsOver(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	before := revokeN(t, store, 1, 2)
	a := startFeedServer(t, store, Config{Heartbeat: time.Hour}, "")
	b := startFeedServer(t, store, Config{Heartbeat: time.Hour}, "")
	dead := "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + feedwire.Path
	f, set := startFeedSync(t, dead, feedsync.Config{AlternateURLs: []string{a.feedURL(), b.feedURL()}})
	testenv.WaitFor(t, "ready through an alternate", func() bool { return f.Status().Ready })
	if !holdsAll(set, before)() {
		t.Fatal("snapshot entries missing")
	}
	testenv.WaitFor(t, "a stream to replica A", func() bool { return a.handler.Clients() == 1 })
	a.Close()
	during := revokeN(t, store, 3, 2)
	testenv.WaitFor(t, "revocations through replica B", holdsAll(set, during))
	if b.handler.Clients() != 1 {
		t.Fatalf("replica B has %d streams; want the sync's", b.handler.Clients())
	}
	if st := f.Status(); st.Resyncs != 0 {
		t.Fatalf("failover reloaded a snapshot (%d resyncs); want a resume from the cursor", st.Resyncs)
	}
}
