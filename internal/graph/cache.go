package graph

import (
	"context"

	lru "github.com/hashicorp/golang-lru/v2"
)

const (
	// cacheEntries is the number of query texts each cache keeps.
	cacheEntries = 1000
	// maxCachedQuery is the longest query text cached: longer ones (padded
	// with comments or whitespace) are re-parsed each time, so the caches
	// hold at most cacheEntries*maxCachedQuery bytes of keys.
	maxCachedQuery = 8 << 10
)

// queryCache is an LRU keyed by query text that ignores long texts. It
// implements graphql.Cache and is safe for concurrent use.
type queryCache[T any] struct{ c *lru.Cache[string, T] }

func newQueryCache[T any]() (*queryCache[T], error) {
	c, err := lru.New[string, T](cacheEntries)
	if err != nil {
		return nil, err
	}
	return &queryCache[T]{c: c}, nil
}

// Get returns the cached value for query.
func (q *queryCache[T]) Get(_ context.Context, query string) (T, bool) {
	if len(query) > maxCachedQuery {
		var zero T
		return zero, false
	}
	return q.c.Get(query)
}

// Add caches v for query unless query is too long.
func (q *queryCache[T]) Add(_ context.Context, query string, v T) {
	if len(query) <= maxCachedQuery {
		q.c.Add(query, v)
	}
}
