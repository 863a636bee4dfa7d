package graph

import (
	"strings"

	"github.com/vektah/gqlparser/v2/formatter"
)

// CacheContents is what a Handler's parsed-query caches hold.
type CacheContents struct {
	DocKeys    []string // query texts of the parsed-document cache
	PassedKeys []string // query texts that passed the limits
	Docs       []string // each cached document printed back, values included
}

// CachedQueries is a test hook: it returns everything h's query caches
// keep, so tests can look for secrets in them.
func CachedQueries(h *Handler) CacheContents {
	var out CacheContents
	out.DocKeys = h.docs.c.Keys()
	out.PassedKeys = h.passed.c.Keys()
	for _, t := range h.docs.c.Values() {
		doc := t.doc
		var b strings.Builder
		formatter.NewFormatter(&b).FormatQueryDocument(doc)
		for _, op := range doc.Operations {
			if op.Position != nil && op.Position.Src != nil {
				b.WriteString("\n" + op.Position.Src.Input)
			}
		}
		out.Docs = append(out.Docs, b.String())
	}
	return out
}
