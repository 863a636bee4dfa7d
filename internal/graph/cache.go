package graph

import (
	"context"
	"strings"

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

// queryCache is an LRU keyed by query text that keeps only cacheable texts
// (see cacheable). It implements graphql.Cache and is safe for concurrent
// use.
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
	if !cacheable(query) {
		var zero T
		return zero, false
	}
	return q.c.Get(query)
}

// Add caches v for query if query is cacheable.
func (q *queryCache[T]) Add(_ context.Context, query string, v T) {
	if cacheable(query) {
		q.c.Add(query, v)
	}
}

// cacheable reports whether a query text, and the document parsed from it,
// may be kept after the request: it must be short, and hold no string
// literal, block string or comment. Those are where a client can write a
// secret into the text itself (login(input: {password: "…"}),
// refreshToken(token: "…")); kept, the secret would outlive the request in
// memory. Such documents would not be hit again anyway (the secret differs
// each time): they are parsed on every request, and clients that want the
// cache pass values as variables. In an executable GraphQL document a '"'
// can only open a string or block string and a '#' a comment, or sit
// inside one of them, so a text with neither byte has none of the three.
func cacheable(query string) bool {
	return len(query) <= maxCachedQuery &&
		strings.IndexByte(query, '"') < 0 &&
		strings.IndexByte(query, '#') < 0
}
