package ratelimit

import (
	"context"
	"sync"
	"time"
)

// DefaultMemoryEntries bounds the buckets a Memory store keeps.
const DefaultMemoryEntries = 100_000

// Memory is a Store in process memory for the embedded mode: the same GCRA
// arithmetic as the Redis script, on an injected clock. A bucket is dropped
// once full again; when maxEntries live buckets exist, expired ones are
// swept and, if still too many, arbitrary ones forgotten (those keys start
// afresh: memory stays bounded under a flood of distinct clients). It is
// safe for concurrent use.
type Memory struct {
	now        func() time.Time
	maxEntries int

	mu  sync.Mutex
	tat map[string]time.Time // theoretical arrival time per key
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store. clock nil means time.Now;
// maxEntries 0 means DefaultMemoryEntries.
func NewMemory(clock func() time.Time, maxEntries int) *Memory {
	if clock == nil {
		clock = time.Now
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMemoryEntries
	}
	return &Memory{now: clock, maxEntries: maxEntries, tat: map[string]time.Time{}}
}

// Take implements Store.
func (m *Memory) Take(_ context.Context, key string, l Limit) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	tat := m.current(key, now)
	interval := l.interval()
	newTat := tat.Add(interval)
	diff := now.Sub(newTat.Add(-time.Duration(l.burst()) * interval))
	if diff < 0 {
		return Result{RetryAfter: -diff}, nil
	}
	m.store(key, newTat, now)
	return Result{Allowed: true, Remaining: int(diff / interval)}, nil
}

// Peek implements Store.
func (m *Memory) Peek(_ context.Context, key string, l Limit) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	tat := m.current(key, now)
	interval := l.interval()
	diff := now.Sub(tat.Add(-time.Duration(l.burst()) * interval))
	remaining := int(diff / interval)
	if remaining < 1 {
		return Result{RetryAfter: max(interval-diff, time.Millisecond)}, nil
	}
	return Result{Allowed: true, Remaining: remaining}, nil
}

// Reset implements Store.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tat, key)
	return nil
}

// Len returns the number of buckets held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tat)
}

// current returns key's theoretical arrival time, at least now.
func (m *Memory) current(key string, now time.Time) time.Time {
	t, ok := m.tat[key]
	if !ok || !t.After(now) {
		return now
	}
	return t
}

func (m *Memory) store(key string, tat, now time.Time) {
	if _, ok := m.tat[key]; !ok && len(m.tat) >= m.maxEntries {
		m.shrink(now)
	}
	m.tat[key] = tat
}

// shrink drops full buckets, then arbitrary ones down to 3/4 of the bound.
func (m *Memory) shrink(now time.Time) {
	for k, t := range m.tat {
		if !t.After(now) {
			delete(m.tat, k)
		}
	}
	for k := range m.tat {
		if len(m.tat) < m.maxEntries*3/4 {
			break
		}
		delete(m.tat, k)
	}
}
