package feed

import (
	"strconv"
	"testing"
	"time"

	"github.com/authmesh/authmesh/internal/revoke/revoketest"
	"github.com/authmesh/authmesh/internal/revoke/sqljournal"
)

// TestFanoutDropsAStreamThatFallsBehind: a stream that stops taking batches
// is dropped once its buffer is full (its client then resumes from its
// cursor) and never holds up the others.
func TestFanoutDropsAStreamThatFallsBehind(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	f := newFeedFanout(store, time.Hour, feedTestLogger)
	slow, endSlow := f.subscribe()
	defer endSlow()
	fast, endFast := f.subscribe()
	defer endFast()
	f.mu.Lock()
	p := f.pump
	f.mu.Unlock()
	for i := range feedSubBuffer + 1 {
		f.broadcast(p, &fanBatch{prev: strconv.Itoa(i)})
		if b := <-fast.ch; b.prev != strconv.Itoa(i) {
			t.Fatalf("fast stream got batch %q; want %d", b.prev, i)
		}
	}
	select {
	case <-slow.gone:
	default:
		t.Fatalf("a stream %d batches behind was not dropped", feedSubBuffer+1)
	}
	select {
	case <-fast.gone:
		t.Fatal("a stream that kept up was dropped")
	default:
	}
}

// TestFanoutEncodesEachEventOnce: every stream gets the same frames, so an
// event is encoded once however many streams there are.
func TestFanoutEncodesEachEventOnce(t *testing.T) {
	store := newTestJournalStore(t, &revoketest.MemJournal{}, sqljournal.Config{})
	f := newFeedFanout(store, time.Hour, feedTestLogger)
	a, endA := f.subscribe()
	defer endA()
	b, endB := f.subscribe()
	defer endB()
	f.hint("0")
	revokeN(t, store, 1, 1)
	var got [2]*fanBatch
	for i, s := range []*feedSub{a, b} {
		select {
		case got[i] = <-s.ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no batch")
		}
	}
	if got[0] != got[1] || len(got[0].frames) != 1 || got[0].prev != "0" || got[0].cursors[0] != "1" {
		t.Fatalf("got %+v and %+v; want one shared batch of event 1 after 0", got[0], got[1])
	}
}
