package ratelimit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// DefaultMemoryEntries bounds the buckets a Memory store keeps.
const DefaultMemoryEntries = 100_000

// Memory is a Store in process memory for the embedded mode: the same GCRA
// arithmetic as the Redis script, on an injected clock. It is safe for
// concurrent use.
//
// Memory stays bounded under a flood of distinct keys without letting the
// flood reset a bucket that matters: a bucket is dropped once full again;
// when maxEntries buckets exist, full ones are swept and then the least
// recently used of those that are not limiting (that would allow another
// event now) are forgotten. A bucket that is limiting is never forgotten:
// when every bucket is limiting, a new key is refused until one is free.
type Memory struct {
	now        func() time.Time
	maxEntries int

	mu      sync.Mutex
	buckets map[string]*memBucket
}

// memBucket is one key's state.
type memBucket struct {
	tat      time.Time // theoretical arrival time
	open     time.Time // from then on, one more event fits
	lastUsed time.Time
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
	return &Memory{now: clock, maxEntries: maxEntries, buckets: map[string]*memBucket{}}
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
		m.touch(key, now)
		return Result{RetryAfter: -diff}, nil
	}
	if retry, ok := m.store(key, newTat, l, now); !ok {
		return Result{RetryAfter: retry}, nil
	}
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

// Refund implements Store.
func (m *Memory) Refund(_ context.Context, key string, l Limit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[key]
	if !ok {
		return nil
	}
	now := m.now()
	interval := l.interval()
	b.tat = b.tat.Add(-interval)
	b.open = b.open.Add(-interval)
	if !b.tat.After(now) {
		delete(m.buckets, key)
	}
	return nil
}

// Reset implements Store.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.buckets, key)
	return nil
}

// Len returns the number of buckets held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

// current returns key's theoretical arrival time, at least now.
func (m *Memory) current(key string, now time.Time) time.Time {
	b, ok := m.buckets[key]
	if !ok || !b.tat.After(now) {
		return now
	}
	return b.tat
}

func (m *Memory) touch(key string, now time.Time) {
	if b, ok := m.buckets[key]; ok {
		b.lastUsed = now
	}
}

// store records key's new state. When a new key finds the store full of
// limiting buckets it is refused (ok false) for retry: never evicting a
// limiting bucket matters more than admitting a new client at once.
func (m *Memory) store(key string, tat time.Time, l Limit, now time.Time) (retry time.Duration, ok bool) {
	open := tat.Add(-time.Duration(l.burst()-1) * l.interval())
	if b, found := m.buckets[key]; found {
		b.tat, b.open, b.lastUsed = tat, open, now
		return 0, true
	}
	if len(m.buckets) >= m.maxEntries {
		if retry := m.shrink(now); len(m.buckets) >= m.maxEntries {
			return retry, false
		}
	}
	m.buckets[key] = &memBucket{tat: tat, open: open, lastUsed: now}
	return 0, true
}

// shrink drops full buckets, then the least recently used buckets that are
// not limiting, down to 3/4 of the bound. It returns how long until the
// first limiting bucket would allow an event again (for a refusal when
// nothing could be dropped).
func (m *Memory) shrink(now time.Time) time.Duration {
	type idle struct {
		key      string
		lastUsed time.Time
	}
	var evictable []idle
	firstOpen := time.Duration(0)
	for k, b := range m.buckets {
		switch {
		case !b.tat.After(now):
			delete(m.buckets, k)
		case !b.open.After(now):
			evictable = append(evictable, idle{k, b.lastUsed})
		default:
			if d := b.open.Sub(now); firstOpen == 0 || d < firstOpen {
				firstOpen = d
			}
		}
	}
	target := m.maxEntries * 3 / 4
	if len(m.buckets) <= target {
		return firstOpen
	}
	slices.SortFunc(evictable, func(a, b idle) int { return a.lastUsed.Compare(b.lastUsed) })
	for _, e := range evictable {
		if len(m.buckets) <= target {
			break
		}
		delete(m.buckets, e.key)
	}
	return max(firstOpen, time.Millisecond)
}
