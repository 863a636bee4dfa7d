package session

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// tokenCache remembers verified tokens by their exact string, bounded to a
// number of entries, with a read path that takes no lock and writes no
// shared memory.
//
// Lookups hash the token and probe an open-addressing index of atomic
// pointers to entries, comparing the whole string; they only read. The
// hash is a keyed mix of the token's last 16 bytes and its length: every
// cached token has been verified, so its end is a MAC or signature that
// no one can choose without the key, and a string that merely ends the
// same way fails the comparison (a miss: it is then verified in full).
//
// Eviction is CLOCK, the LRU approximation whose hits do not reorder
// anything: a hit sets its entry's "referenced" bit, and only when the bit
// is not already set, so a token validated over and over writes its entry
// once per sweep of the clock hand, not once per request. Insertions
// (after a full signature check, which costs microseconds) are serialised
// by a mutex that guards the ring of entries, the hand and the index's
// writers: the hand skips entries referenced since its last pass, clearing
// their bit, and evicts the first one that was not. A removed entry leaves
// a tombstone in the index; when live entries and tombstones fill three
// quarters of it, a fresh index replaces it, which readers still probing
// the old one never notice.
//
// A tokenCache is safe for concurrent use.
type tokenCache struct {
	seed  uint64       // keys hash
	mseed maphash.Seed // hashes tokens shorter than 16 bytes
	index atomic.Pointer[cacheIndex]
	tomb  *cacheEntry // marks a removed entry's slot in the index

	mu   sync.Mutex
	ring []*cacheEntry // the CLOCK; nil slots are free
	hand int
	used int // index slots holding an entry or a tombstone
}

// cacheIndex maps a token's hash to its entry by linear probing. Slots
// only ever go from nil to an entry, and from an entry to the tombstone.
type cacheIndex struct {
	slots []atomic.Pointer[cacheEntry]
	mask  uint64
}

// cacheEntry is one verified token in the cache.
type cacheEntry struct {
	cachedToken
	raw        string
	hash       uint64
	referenced atomic.Bool // set by hits, cleared by the clock hand
	gone       bool        // removed from the index; its ring slot is free (guarded by mu)
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: rand.Uint64() | 1, mseed: maphash.MakeSeed(), tomb: new(cacheEntry), ring: make([]*cacheEntry, size)}
	c.index.Store(newCacheIndex(size))
	return c
}

// newCacheIndex returns an index for n entries, at most half full.
func newCacheIndex(n int) *cacheIndex {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &cacheIndex{slots: make([]atomic.Pointer[cacheEntry], size), mask: uint64(size - 1)}
}

// hash is the index's hash of raw (see tokenCache).
func (c *tokenCache) hash(raw string) uint64 {
	n := len(raw)
	if n < 16 {
		return maphash.String(c.mseed, raw)
	}
	t := raw[n-16:]
	a := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
		uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
	b := uint64(t[8]) | uint64(t[9])<<8 | uint64(t[10])<<16 | uint64(t[11])<<24 |
		uint64(t[12])<<32 | uint64(t[13])<<40 | uint64(t[14])<<48 | uint64(t[15])<<56
	h := (a ^ c.seed) * 0x9E3779B97F4A7C15
	h = (h ^ h>>29 ^ b ^ uint64(n)) * 0xBF58476D1CE4E5B9
	return h ^ h>>32
}

// get returns the entry for raw.
func (c *tokenCache) get(raw string) (*cacheEntry, bool) {
	h := c.hash(raw)
	ix := c.index.Load()
	for i := h & ix.mask; ; i = (i + 1) & ix.mask {
		e := ix.slots[i].Load()
		if e == nil {
			return nil, false
		}
		if e.hash == h && e != c.tomb && e.raw == raw {
			if !e.referenced.Load() { // write the entry's line only once per sweep
				e.referenced.Store(true)
			}
			return e, true
		}
	}
}

// add caches ct for raw, evicting an entry not referenced since the clock
// hand last passed it when the cache is full.
func (c *tokenCache) add(raw string, ct cachedToken) {
	e := &cacheEntry{cachedToken: ct, raw: raw, hash: c.hash(raw)}
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		old := c.ring[c.hand]
		if old == nil || old.gone {
			break
		}
		if old.referenced.Load() {
			old.referenced.Store(false)
			c.hand = (c.hand + 1) % len(c.ring)
			continue
		}
		c.unindexLocked(old)
		break
	}
	c.indexLocked(e)
	c.ring[c.hand] = e
	c.hand = (c.hand + 1) % len(c.ring)
}

// remove drops e, which get returned for raw, unless it was replaced since.
func (c *tokenCache) remove(raw string, e *cacheEntry) {
	c.mu.Lock()
	if !e.gone {
		c.unindexLocked(e)
	}
	c.mu.Unlock()
}

// indexLocked puts e in the index, in place of an entry for the same
// token (a concurrent miss cached it first); the caller holds mu.
func (c *tokenCache) indexLocked(e *cacheEntry) {
	if (c.used+1)*4 > len(c.index.Load().slots)*3 {
		c.rebuildLocked()
	}
	ix := c.index.Load()
	for i := e.hash & ix.mask; ; i = (i + 1) & ix.mask {
		old := ix.slots[i].Load()
		if old == nil {
			ix.slots[i].Store(e)
			c.used++
			return
		}
		if old != c.tomb && old.hash == e.hash && old.raw == e.raw {
			old.gone = true
			ix.slots[i].Store(e)
			return
		}
	}
}

// unindexLocked replaces e's slot in the index with the tombstone and
// frees its ring slot; the caller holds mu.
func (c *tokenCache) unindexLocked(e *cacheEntry) {
	e.gone = true
	ix := c.index.Load()
	for i := e.hash & ix.mask; ; i = (i + 1) & ix.mask {
		switch ix.slots[i].Load() {
		case nil:
			return
		case e:
			ix.slots[i].Store(c.tomb)
			return
		}
	}
}

// rebuildLocked replaces the index with one holding only the live
// entries; the caller holds mu.
func (c *tokenCache) rebuildLocked() {
	ix := newCacheIndex(len(c.ring))
	c.used = 0
	for _, e := range c.ring {
		if e == nil || e.gone {
			continue
		}
		for i := e.hash & ix.mask; ; i = (i + 1) & ix.mask {
			if ix.slots[i].Load() == nil {
				ix.slots[i].Store(e)
				c.used++
				break
			}
		}
	}
	c.index.Store(ix)
}
