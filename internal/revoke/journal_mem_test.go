package revoke

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"
)

// memJournal is an in-memory Journal with the semantics the SQL stores
// have: ascending seqs that are never reused, even after pruning.
type memJournal struct {
	mu   sync.Mutex
	seq  int64
	rows []memJournalRow // ascending seq
	fail error           // when set, every call fails with it
}

type memJournalRow struct {
	seq int64
	e   Entry
}

var _ Journal = (*memJournal)(nil)

func (m *memJournal) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

func (m *memJournal) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

func (m *memJournal) AppendRevocation(ctx context.Context, e Entry) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.seq++
	m.rows = append(m.rows, memJournalRow{seq: m.seq, e: e})
	return m.seq, nil
}

func (m *memJournal) RevocationsSince(ctx context.Context, seq int64, limit int) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	if limit <= 0 {
		return nil, errors.New("memJournal: limit must be positive")
	}
	i := sort.Search(len(m.rows), func(i int) bool { return m.rows[i].seq > seq })
	var out []Event
	for ; i < len(m.rows) && len(out) < limit; i++ {
		out = append(out, Event{Entry: m.rows[i].e, Cursor: strconv.FormatInt(m.rows[i].seq, 10)})
	}
	return out, nil
}

func (m *memJournal) LiveRevocations(ctx context.Context, now time.Time) ([]Event, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, 0, m.fail
	}
	var out []Event
	var head int64
	for _, r := range m.rows {
		head = r.seq
		if r.e.Live(now) {
			out = append(out, Event{Entry: r.e, Cursor: strconv.FormatInt(r.seq, 10)})
		}
	}
	return out, head, nil
}

func (m *memJournal) PruneRevocations(ctx context.Context, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	kept := m.rows[:0]
	for _, r := range m.rows {
		if r.e.Live(now) {
			kept = append(kept, r)
		}
	}
	n := int64(len(m.rows) - len(kept))
	m.rows = kept
	return n, nil
}
