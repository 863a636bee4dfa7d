package revoke

import "sync/atomic"

// table is an open-addressing hash table from key to an expiry (and, for
// KindUser entries, a cut-off) that readers consult without any lock and
// without writing to shared memory, while one writer at a time (the Set's
// mutex) adds, raises and removes entries.
//
// Every field a reader looks at is atomic, and a slot's key is written
// before its state turns live, so a reader that sees a live slot sees its
// key. Slots are never reused: a removed entry leaves a tombstone, and the
// writer builds a fresh table (published by the Set through an atomic
// pointer) when live entries and tombstones fill three quarters of the
// slots. A reader still walking the old table sees the state as it was just
// before the swap, as if its lookup had happened a moment earlier.
type table struct {
	slots []slot
	mask  uint64
	live  atomic.Int64 // live entries; read by Len and for the empty check
	used  int          // live entries plus tombstones; writer only
}

// slot states.
const (
	slotEmpty uint32 = iota
	slotLive
	slotDead // tombstone: ends no probe, never reused
)

// slot is 32 bytes, two per cache line.
type slot struct {
	state   atomic.Uint32
	expires atomic.Uint32 // unix seconds
	before  atomic.Uint32 // KindUser: tokens with iat < before are revoked
	_       uint32
	k0, k1  atomic.Uint64
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

// lookup returns k's slot, or nil. It is what readers call.
func (t *table) lookup(k key) *slot {
	for i := k.a & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch s.state.Load() {
		case slotEmpty:
			return nil
		case slotLive:
			if s.k0.Load() == k.a && s.k1.Load() == k.b {
				return s
			}
		}
	}
}

// full reports whether one more entry would pass the load limit.
func (t *table) full() bool { return (t.used+1)*4 > len(t.slots)*3 }

// upsert merges an entry for k (the writer holds the Set's mutex and has
// made sure the table is not full): expiry and cut-off only ever rise.
func (t *table) upsert(k key, expires, before uint32) {
	i := k.a & t.mask
	for ; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch s.state.Load() {
		case slotEmpty:
			s.k0.Store(k.a)
			s.k1.Store(k.b)
			s.expires.Store(expires)
			s.before.Store(before)
			s.state.Store(slotLive) // publishes the slot
			t.used++
			t.live.Add(1)
			return
		case slotLive:
			if s.k0.Load() == k.a && s.k1.Load() == k.b {
				if expires > s.expires.Load() {
					s.expires.Store(expires)
				}
				if before > s.before.Load() {
					s.before.Store(before)
				}
				return
			}
		}
	}
}

// prune turns entries expired at now into tombstones and returns how many.
func (t *table) prune(now uint32) int {
	n := 0
	for i := range t.slots {
		s := &t.slots[i]
		if s.state.Load() == slotLive && s.expires.Load() <= now {
			s.state.Store(slotDead)
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
	return t.rebuilt(int(t.live.Load())*2 + extra)
}

// rebuilt returns a fresh table holding t's live entries, without its
// tombstones, with room for about n entries.
func (t *table) rebuilt(n int) *table {
	nt := newTable(n)
	for i := range t.slots {
		s := &t.slots[i]
		if s.state.Load() == slotLive {
			nt.upsert(key{s.k0.Load(), s.k1.Load()}, s.expires.Load(), s.before.Load())
		}
	}
	return nt
}
