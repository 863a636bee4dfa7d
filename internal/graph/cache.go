package graph

import (
	"context"
	"strings"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
)

const (
	// cacheEntries is the number of document shapes each cache keeps.
	cacheEntries = 1000
	// maxCachedQuery is the longest query text cached: longer ones (padded
	// with whitespace) are re-parsed each time, so the caches hold at most
	// cacheEntries*maxCachedQuery bytes of keys.
	maxCachedQuery = 8 << 10
)

// The caches are keyed by a document's shape: its text with the content
// of every string literal and block string taken out (each becomes ""),
// so that documents which differ only in an inline token or password —
// the README's refreshToken(token: "…"), a login with its password inline
// — are parsed and validated once, not on every request, and so that no
// secret written into a document outlives its request in a cache. The
// content of a string literal never decides whether a document is valid:
// GraphQL validation looks at where a string stands, not at what it says
// (a custom scalar's value is checked when the field runs, per request).

// shape is a query text's cache key and its tokens.
type shape struct {
	key    string        // the text, every string literal emptied
	tokens []lexer.Token // the text's tokens, EOF excluded; nil when the text has no string
}

// shapeOf lexes query and returns its shape; ok is false when the text
// must not be cached: too long, holding a comment (where a client can
// write anything, and which is not a token), or not lexable (gqlgen's
// parser then reports the error).
func shapeOf(query string) (s shape, ok bool) { return lexShape(query, true) }

// shapeKey is shapeOf's key alone: the tokens are not kept.
func shapeKey(query string) (string, bool) {
	s, ok := lexShape(query, false)
	return s.key, ok
}

// lexShape is shapeOf; keep says whether to return the tokens.
func lexShape(query string, keep bool) (s shape, ok bool) {
	if len(query) > maxCachedQuery || strings.IndexByte(query, '#') >= 0 {
		return shape{}, false
	}
	if strings.IndexByte(query, '"') < 0 {
		// In an executable document a '"' can only open a string or block
		// string (or sit inside one): without it, the text is its own shape.
		return shape{key: query}, true
	}
	if keep {
		s.tokens = make([]lexer.Token, 0, len(query)/4)
	}
	src := &ast.Source{Input: query}
	lx := lexer.New(src)
	var (
		key                      strings.Builder
		literal                  bool // a string literal was seen
		copied, bytePos, runePos int  // bytes of query written to key; a rune offset and its byte offset
	)
	// byteAt converts a rune offset at or after runePos to a byte offset.
	byteAt := func(runes int) int {
		for runePos < runes && bytePos < len(query) {
			_, n := utf8.DecodeRuneInString(query[bytePos:])
			bytePos += n
			runePos++
		}
		return bytePos
	}
	for {
		t, err := lx.ReadToken()
		if err != nil {
			return shape{}, false
		}
		if t.Kind == lexer.EOF {
			break
		}
		if keep {
			s.tokens = append(s.tokens, t)
		}
		if t.Kind == lexer.String || t.Kind == lexer.BlockString {
			start := byteAt(t.Pos.Start)
			end := byteAt(t.Pos.End)
			if !literal {
				key.Grow(len(query))
				literal = true
			}
			key.WriteString(query[copied:start])
			key.WriteString(`""`)
			copied = end
		}
	}
	if !literal {
		s.key = query // a '"' that was no string: cannot happen, harmless
		return s, true
	}
	key.WriteString(query[copied:])
	s.key = key.String()
	return s, true
}

// shapeCache is an LRU keyed by document shape. It is safe for concurrent
// use.
type shapeCache[T any] struct{ c *lru.Cache[string, T] }

func newShapeCache[T any]() (*shapeCache[T], error) {
	c, err := lru.New[string, T](cacheEntries)
	if err != nil {
		return nil, err
	}
	return &shapeCache[T]{c: c}, nil
}

// Get returns the value cached for query's shape.
func (q *shapeCache[T]) Get(_ context.Context, query string) (T, bool) {
	key, ok := shapeKey(query)
	if !ok {
		var zero T
		return zero, false
	}
	return q.c.Get(key)
}

// Add caches v for query's shape, if query may be cached.
func (q *shapeCache[T]) Add(_ context.Context, query string, v T) {
	if key, ok := shapeKey(query); ok {
		q.c.Add(key, v)
	}
}

// docCache is gqlgen's parsed-and-validated document cache (it implements
// graphql.Cache), keyed by shape. It keeps, per shape, a template: the
// validated document with its string values emptied and its positions in
// the shape's text. A hit returns a copy of the template with the
// request's own string values and positions, which costs a fraction of
// parsing and validating again. It is safe for concurrent use: templates
// are never modified, and gqlgen does not modify the documents it gets.
type docCache struct {
	c *lru.Cache[string, template]
}

// template is a cached document and the tokens of the shape its positions
// refer to.
type template struct {
	doc    *ast.QueryDocument
	tokens []lexer.Token
}

func newDocCache() (*docCache, error) {
	c, err := lru.New[string, template](cacheEntries)
	if err != nil {
		return nil, err
	}
	return &docCache{c: c}, nil
}

// Get returns the validated document for query when a document of its
// shape was validated before.
func (d *docCache) Get(_ context.Context, query string) (*ast.QueryDocument, bool) {
	s, ok := shapeOf(query)
	if !ok {
		return nil, false
	}
	t, ok := d.c.Get(s.key)
	if !ok {
		return nil, false
	}
	if s.key == query {
		return t.doc, true // the template's own text: nothing to replace
	}
	if len(t.tokens) != len(s.tokens) {
		return nil, false
	}
	doc, ok := rebase(t.doc, t.tokens, s.tokens, &ast.Source{Input: query})
	return doc, ok
}

// Add keeps doc, which gqlgen parsed from query and validated, as the
// template of query's shape.
func (d *docCache) Add(_ context.Context, query string, doc *ast.QueryDocument) {
	s, ok := shapeOf(query)
	if !ok {
		return
	}
	if s.key == query {
		// No string content: the document is its own template.
		d.c.Add(s.key, template{doc: doc})
		return
	}
	blank, ok := shapeOf(s.key)
	if !ok || len(blank.tokens) != len(s.tokens) {
		return
	}
	t, ok := rebase(doc, s.tokens, blank.tokens, &ast.Source{Input: s.key})
	if ok {
		d.c.Add(s.key, template{doc: t, tokens: blank.tokens})
	}
}

// rebase returns a copy of doc, whose positions are those of the tokens
// from, moved to the tokens to (the same sequence of tokens in another
// text of the same shape, src): every position becomes the position of the
// same token in to, and every string value the value of its token in to.
// The copy shares only what validation points at in the schema. ok is
// false if a position of doc is not the start of one of from's tokens.
func rebase(doc *ast.QueryDocument, from, to []lexer.Token, src *ast.Source) (*ast.QueryDocument, bool) {
	r := rebaser{
		index: make(map[int]int, len(from)), to: to, src: src, ok: true,
		vars:  map[*ast.VariableDefinition]*ast.VariableDefinition{},
		types: map[*ast.Type]*ast.Type{},
		frags: map[*ast.FragmentDefinition]*ast.FragmentDefinition{},
	}
	for i, t := range from {
		r.index[t.Pos.Start] = i
	}
	out := &ast.QueryDocument{Position: r.pos(doc.Position), Comment: doc.Comment}
	// Fragments first: spreads point at them, and at each other.
	out.Fragments = make(ast.FragmentDefinitionList, len(doc.Fragments))
	for i, f := range doc.Fragments {
		out.Fragments[i] = &ast.FragmentDefinition{}
		r.frags[f] = out.Fragments[i]
	}
	for i, f := range doc.Fragments {
		n := out.Fragments[i]
		*n = *f
		r.noDescription(f.Description)
		n.VariableDefinition = r.varDefs(f.VariableDefinition)
		n.Directives = r.directives(f.Directives)
		n.SelectionSet = r.selections(f.SelectionSet)
		n.Position = r.pos(f.Position)
	}
	out.Operations = make(ast.OperationList, len(doc.Operations))
	for i, op := range doc.Operations {
		n := *op
		r.noDescription(op.Description)
		n.VariableDefinitions = r.varDefs(op.VariableDefinitions)
		n.Directives = r.directives(op.Directives)
		n.SelectionSet = r.selections(op.SelectionSet)
		n.Position = r.pos(op.Position)
		out.Operations[i] = &n
	}
	return out, r.ok
}

// rebaser holds the state of one rebase.
type rebaser struct {
	index map[int]int // a token's start (in runes) in the old text -> its index
	to    []lexer.Token
	src   *ast.Source
	ok    bool
	vars  map[*ast.VariableDefinition]*ast.VariableDefinition
	types map[*ast.Type]*ast.Type
	frags map[*ast.FragmentDefinition]*ast.FragmentDefinition
}

// token returns the new token at old position p.
func (r *rebaser) token(p *ast.Position) (lexer.Token, bool) {
	i, found := r.index[p.Start]
	if !found {
		r.ok = false
		return lexer.Token{}, false
	}
	return r.to[i], true
}

// noDescription refuses a document with a description: it is a string
// the rebase does not move (and a template must not keep).
func (r *rebaser) noDescription(d string) {
	if d != "" {
		r.ok = false
	}
}

func (r *rebaser) pos(p *ast.Position) *ast.Position {
	if p == nil {
		return nil
	}
	t, ok := r.token(p)
	if !ok {
		return nil
	}
	n := t.Pos
	n.Src = r.src
	return &n
}

func (r *rebaser) varDefs(list ast.VariableDefinitionList) ast.VariableDefinitionList {
	if list == nil {
		return nil
	}
	out := make(ast.VariableDefinitionList, len(list))
	for i, v := range list {
		n := *v
		r.noDescription(v.Description)
		n.Type = r.typ(v.Type)
		n.DefaultValue = r.value(v.DefaultValue)
		n.Directives = r.directives(v.Directives)
		n.Position = r.pos(v.Position)
		r.vars[v] = &n
		out[i] = &n
	}
	return out
}

func (r *rebaser) typ(t *ast.Type) *ast.Type {
	if t == nil {
		return nil
	}
	if n, ok := r.types[t]; ok {
		return n
	}
	n := *t
	n.Elem = r.typ(t.Elem)
	n.Position = r.pos(t.Position)
	r.types[t] = &n
	return &n
}

func (r *rebaser) value(v *ast.Value) *ast.Value {
	if v == nil {
		return nil
	}
	n := *v
	if (v.Kind == ast.StringValue || v.Kind == ast.BlockValue) && v.Position != nil {
		if t, ok := r.token(v.Position); ok {
			n.Raw = t.Value
		}
	}
	n.Position = r.pos(v.Position)
	if v.Children != nil {
		n.Children = make(ast.ChildValueList, len(v.Children))
		for i, c := range v.Children {
			n.Children[i] = &ast.ChildValue{Name: c.Name, Value: r.value(c.Value), Position: r.pos(c.Position), Comment: c.Comment}
		}
	}
	if v.VariableDefinition != nil {
		if d, ok := r.vars[v.VariableDefinition]; ok {
			n.VariableDefinition = d
		} else {
			r.ok = false
		}
	}
	if d, ok := r.types[v.ExpectedType]; ok {
		n.ExpectedType = d // a variable's own type (its default value's)
	}
	return &n
}

func (r *rebaser) arguments(list ast.ArgumentList) ast.ArgumentList {
	if list == nil {
		return nil
	}
	out := make(ast.ArgumentList, len(list))
	for i, a := range list {
		out[i] = &ast.Argument{Name: a.Name, Value: r.value(a.Value), Position: r.pos(a.Position), Comment: a.Comment}
	}
	return out
}

func (r *rebaser) directives(list ast.DirectiveList) ast.DirectiveList {
	if list == nil {
		return nil
	}
	out := make(ast.DirectiveList, len(list))
	for i, d := range list {
		n := *d
		n.Arguments = r.arguments(d.Arguments)
		n.Position = r.pos(d.Position)
		out[i] = &n
	}
	return out
}

func (r *rebaser) selections(set ast.SelectionSet) ast.SelectionSet {
	if set == nil {
		return nil
	}
	out := make(ast.SelectionSet, len(set))
	for i, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n := *s
			n.Arguments = r.arguments(s.Arguments)
			n.Directives = r.directives(s.Directives)
			n.SelectionSet = r.selections(s.SelectionSet)
			n.Position = r.pos(s.Position)
			out[i] = &n
		case *ast.FragmentSpread:
			n := *s
			n.Directives = r.directives(s.Directives)
			n.Position = r.pos(s.Position)
			if s.Definition != nil {
				if d, ok := r.frags[s.Definition]; ok {
					n.Definition = d
				} else {
					r.ok = false
				}
			}
			out[i] = &n
		case *ast.InlineFragment:
			n := *s
			n.Directives = r.directives(s.Directives)
			n.SelectionSet = r.selections(s.SelectionSet)
			n.Position = r.pos(s.Position)
			out[i] = &n
		default:
			r.ok = false
		}
	}
	return out
}
