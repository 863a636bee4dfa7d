// Package revoketest provides in-memory implementations of revoke's
// interfaces for the tests of its transports, and the Redis revocation
// store validators' tests start from.
package revoketest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/authmesh/authmesh/internal/revoke"
)

// MemJournal is an in-memory revoke.Journal with the semantics the SQL
// stores have: ascending seqs that are never reused, even after pruning.
// Its zero value is empty and ready; it is safe for concurrent use.
type MemJournal struct {
	mu   sync.Mutex
	seq  int64
	rows []memJournalRow // ascending seq
	fail error           // when set, every call fails with it
}

type memJournalRow struct {
	seq int64
	e   revoke.Entry
}

var _ revoke.Journal = (*MemJournal)(nil)

// SetFail makes every later call fail with err (nil: succeed again).
func (m *MemJournal) SetFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Len returns the number of entries held.
func (m *MemJournal) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

// AppendRevocation stores e under the next seq.
func (m *MemJournal) AppendRevocation(ctx context.Context, e revoke.Entry) (int64, error) {
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

// AppendRevocations stores every entry, under consecutive seqs, or none.
func (m *MemJournal) AppendRevocations(ctx context.Context, entries []revoke.Entry) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seqs := make([]int64, len(entries))
	for i, e := range entries {
		m.seq++
		m.rows = append(m.rows, memJournalRow{seq: m.seq, e: e})
		seqs[i] = m.seq
	}
	return seqs, nil
}

// RevocationsSince returns up to limit entries after seq, oldest first.
func (m *MemJournal) RevocationsSince(ctx context.Context, seq int64, limit int) ([]revoke.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	if limit <= 0 {
		return nil, errors.New("memJournal: limit must be positive")
	}
	i := sort.Search(len(m.rows), func(i int) bool { return m.rows[i].seq > seq })
	var out []revoke.Event
	for ; i < len(m.rows) && len(out) < limit; i++ {
		out = append(out, revoke.Event{Entry: m.rows[i].e, Cursor: strconv.FormatInt(m.rows[i].seq, 10)})
	}
	return out, nil
}

// LiveRevocations returns the entries live at now and the largest seq.
func (m *MemJournal) LiveRevocations(ctx context.Context, now time.Time) ([]revoke.Event, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, 0, m.fail
	}
	var out []revoke.Event
	var head int64
	for _, r := range m.rows {
		head = r.seq
		if r.e.Live(now) {
			out = append(out, revoke.Event{Entry: r.e, Cursor: strconv.FormatInt(r.seq, 10)})
		}
	}
	return out, head, nil
}

// PruneRevocations deletes the entries no longer live at now.
func (m *MemJournal) PruneRevocations(ctx context.Context, now time.Time) (int64, error) {
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

// TokenEntry returns a valid token revocation named jti-<i>, live for an
// hour.
func TokenEntry(i int) revoke.Entry {
	return revoke.Entry{Kind: revoke.KindToken, ID: fmt.Sprintf("jti-%d", i), Expires: time.Now().Add(time.Hour).Unix()}
}
