package session

import (
	"fmt"
	"sync"
	"testing"
)

// TestTokenCacheClock checks the CLOCK eviction: the cache never holds
// more entries than its size, an entry hit since the hand last passed
// survives the next eviction, and one that was not is evicted first.
func TestTokenCacheClock(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		hit      []string // looked up after filling with t0..t(size-1)
		add      string
		evicted  string
		survives []string
	}{
		{name: "no hits: the oldest goes", size: 3, add: "new", evicted: "t0", survives: []string{"t1", "t2", "new"}},
		{name: "a hit entry survives", size: 3, hit: []string{"t0"}, add: "new", evicted: "t1", survives: []string{"t0", "t2", "new"}},
		{name: "all hit: one sweep then the oldest", size: 3, hit: []string{"t0", "t1", "t2"}, add: "new", evicted: "t0", survives: []string{"t1", "t2", "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTokenCache(tt.size)
			for i := 0; i < tt.size; i++ {
				c.add(fmt.Sprint("t", i), cachedToken{kid: fmt.Sprint("t", i)})
			}
			for _, h := range tt.hit {
				if _, ok := c.get(h); !ok {
					t.Fatalf("get(%q) missed before eviction", h)
				}
			}
			c.add(tt.add, cachedToken{kid: tt.add})
			if _, ok := c.get(tt.evicted); ok {
				t.Errorf("get(%q) hit; want it evicted", tt.evicted)
			}
			for _, s := range tt.survives {
				if e, ok := c.get(s); !ok || e.kid != s {
					t.Errorf("get(%q) = %v, %v; want it cached", s, e, ok)
				}
			}
		})
	}
}

// TestTokenCacheBoundedUnderConcurrency adds and removes from several
// goroutines (under -race) and checks the bound and that a removed entry's
// slot is reused.
func TestTokenCacheBoundedUnderConcurrency(t *testing.T) {
	const size = 64
	c := newTokenCache(size)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				raw := fmt.Sprint("g", g, "-", i%100)
				if e, ok := c.get(raw); ok {
					if i%3 == 0 {
						c.remove(raw, e)
					}
					continue
				}
				c.add(raw, cachedToken{kid: raw})
			}
		}()
	}
	wg.Wait()
	n := 0
	for i := range c.index.Load().slots {
		e := c.index.Load().slots[i].Load()
		if e == nil || e == c.tomb {
			continue
		}
		n++
		if got, ok := c.get(e.raw); !ok || got != e || e.kid != e.raw {
			t.Errorf("entry for %q: get = %v, %v", e.raw, got, ok)
		}
	}
	if n > size {
		t.Errorf("cache holds %d entries; want at most %d", n, size)
	}
}

// TestTokenCacheSameTail checks that tokens whose last 16 bytes agree (the
// bytes the index hashes) are still told apart by their whole string, and
// that the index survives being rebuilt after many removals.
func TestTokenCacheSameTail(t *testing.T) {
	const size = 8
	c := newTokenCache(size)
	tail := ".0123456789abcdefghij"
	for round := 0; round < 20; round++ {
		for i := 0; i < size; i++ {
			raw := fmt.Sprint("header.payload-", round, "-", i, tail)
			c.add(raw, cachedToken{kid: raw})
			e, ok := c.get(raw)
			if !ok || e.kid != raw {
				t.Fatalf("round %d: get(%q) = %v, %v; want its own entry", round, raw, e, ok)
			}
			if i%2 == 0 {
				c.remove(raw, e)
				if _, ok := c.get(raw); ok {
					t.Fatalf("round %d: get(%q) hit after remove", round, raw)
				}
			}
		}
		if _, ok := c.get(fmt.Sprint("header.payload-", round, "-x", tail)); ok {
			t.Fatalf("round %d: a token never added hit", round)
		}
	}
}
