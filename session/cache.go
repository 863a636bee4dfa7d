package session

import (
	"sync"
	"sync/atomic"
)

// tokenCache remembers verified tokens by their exact string, bounded to a
// number of entries, with a read path that takes no lock and writes no
// shared memory.
//
// Lookups go through a sync.Map, whose Load (a concurrent hash trie since
// Go 1.24) only reads. Eviction is CLOCK, the LRU approximation whose hits
// do not reorder anything: a hit sets its entry's "referenced" bit, and
// only when the bit is not already set, so a token validated over and over
// writes its entry once per sweep of the clock hand, not once per request.
// Insertions (after a full signature check, which costs microseconds) are
// serialised by a mutex that guards the ring of entries and the hand: the
// hand skips entries referenced since its last pass, clearing their bit,
// and evicts the first one that was not.
//
// A tokenCache is safe for concurrent use.
type tokenCache struct {
	m sync.Map // string → *cacheEntry

	mu   sync.Mutex
	ring []*cacheEntry // the CLOCK; nil slots are free
	hand int
}

// cacheEntry is one verified token in the cache.
type cacheEntry struct {
	cachedToken
	raw        string
	referenced atomic.Bool // set by hits, cleared by the clock hand
	gone       bool        // removed from m; its slot is free (guarded by mu)
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{ring: make([]*cacheEntry, size)}
}

// get returns the entry for raw.
func (c *tokenCache) get(raw string) (*cacheEntry, bool) {
	v, ok := c.m.Load(raw)
	if !ok {
		return nil, false
	}
	e := v.(*cacheEntry)
	if !e.referenced.Load() { // write the entry's line only once per sweep
		e.referenced.Store(true)
	}
	return e, true
}

// add caches ct for raw, evicting an entry not referenced since the clock
// hand last passed it when the cache is full.
func (c *tokenCache) add(raw string, ct cachedToken) {
	e := &cacheEntry{cachedToken: ct, raw: raw}
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
		c.m.CompareAndDelete(old.raw, old)
		break
	}
	if prev, loaded := c.m.Swap(raw, e); loaded {
		prev.(*cacheEntry).gone = true // a concurrent miss cached it first
	}
	c.ring[c.hand] = e
	c.hand = (c.hand + 1) % len(c.ring)
}

// remove drops e, which get returned for raw, unless it was replaced since.
func (c *tokenCache) remove(raw string, e *cacheEntry) {
	if c.m.CompareAndDelete(raw, e) {
		c.mu.Lock()
		e.gone = true
		c.mu.Unlock()
	}
}
