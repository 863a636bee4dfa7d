package revoke

import "sync/atomic"

// table is an open-addressing hash table from key to an expiry (and, for
// KindUser entries, a cut-off) that readers consult without any lock and
// without writing to shared memory, while one writer at a time (the Set's
// mutex) adds, raises and removes entries.
//
// Every field a reader looks at is atomic. A slot's first key word is
// written last and is never zero for a key (Set.key), so a reader that
// sees it non-zero sees the rest of the entry. Slots are never given to
// another key: a removed entry keeps its key with expiry zero (a
// tombstone, revived in place if the same key is applied again), and the
// writer builds a fresh table (published by the Set through an atomic
// pointer) when used slots reach three quarters. A reader still walking
// the old table sees the state as it was just before the swap, as if its
// lookup had happened a moment earlier.
type table struct {
	slots []slot
	mask  uint64
	live  atomic.Int64 // live entries; read by Len and for the empty check
	used  int          // live entries plus tombstones; writer only
}

// slot is 24 bytes: one entry.
type slot struct {
	k0      atomic.Uint64 // 0: empty; stored last
	k1      atomic.Uint64
	expires atomic.Uint32 // unix seconds; 0: removed (a tombstone)
	before  atomic.Uint32 // KindUser: tokens with iat < before are revoked
}

// minTableSlots is the size of the smallest table.
const minTableSlots = 16

// newTable returns a table with room for about n entries before it grows.
func newTable(n int) *table {
	size := minTableSlots
	for size*3/4 <= n {
		size *= 2
	}
	return &table{slots: make([]slot, size), mask: uint64(size - 1)}
}

// lookup returns k's live slot, or nil. It is what readers call.
func (t *table) lookup(k key) *slot {
	for i := k.a & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch a := s.k0.Load(); {
		case a == 0:
			return nil
		case a == k.a && s.k1.Load() == k.b:
			if s.expires.Load() == 0 {
				return nil
			}
			return s
		}
	}
}

// full reports whether one more entry would pass the load limit.
func (t *table) full() bool { return (t.used+1)*4 > len(t.slots)*3 }

// upsert merges an entry for k (the writer holds the Set's mutex and has
// made sure the table is not full): expiry and cut-off only ever rise.
func (t *table) upsert(k key, expires, before uint32) {
	for i := k.a & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		a := s.k0.Load()
		if a == 0 {
			s.k1.Store(k.b)
			s.before.Store(before)
			s.expires.Store(expires)
			s.k0.Store(k.a) // publishes the slot
			t.used++
			t.live.Add(1)
			return
		}
		if a != k.a || s.k1.Load() != k.b {
			continue
		}
		if s.expires.Load() == 0 { // a tombstone of the same key: revive it
			s.before.Store(before)
			s.expires.Store(expires)
			t.live.Add(1)
			return
		}
		if expires > s.expires.Load() {
			s.expires.Store(expires)
		}
		if before > s.before.Load() {
			s.before.Store(before)
		}
		return
	}
}

// prune turns entries expired at now into tombstones and returns how many.
func (t *table) prune(now uint32) int {
	n := 0
	for i := range t.slots {
		s := &t.slots[i]
		if s.k0.Load() != 0 && s.expires.Load() != 0 && s.expires.Load() <= now {
			s.expires.Store(0)
			t.live.Add(-1)
			n++
		}
	}
	return n
}

// grown returns a fresh table holding t's live entries with room for
// extra more, or t itself when it has room.
func (t *table) grown(extra int) *table {
	if (t.used+extra)*4 <= len(t.slots)*3 {
		return t
	}
	// Half as much room again as the live entries: with no tombstones
	// this doubles the slots (load 3/4 → 3/8), and a table emptied by
	// pruning shrinks.
	live := int(t.live.Load())
	return t.rebuilt(live + live/2 + extra)
}

// rebuilt returns a fresh table holding t's live entries, without its
// tombstones, with room for about n entries.
func (t *table) rebuilt(n int) *table {
	nt := newTable(n)
	for i := range t.slots {
		s := &t.slots[i]
		if s.k0.Load() != 0 && s.expires.Load() != 0 {
			nt.upsert(key{s.k0.Load(), s.k1.Load()}, s.expires.Load(), s.before.Load())
		}
	}
	return nt
}
