package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

const (
	// maxTokens bounds the lexer and parser on any query document; the
	// operations of this API need a few hundred at most.
	maxTokens = 10000
	// Introspection documents (only __schema, __type, __typename at the
	// root), when introspection is on, are exempt from MaxDepth, MaxFields
	// and MaxComplexity (GraphiQL's query is deep and wide) but kept under
	// these caps.
	introspectionMaxDepth  = 20
	introspectionMaxFields = 300
)

// limits rejects hostile documents. Before gqlgen parses and validates a
// document (validation is superlinear in the number of fields), it parses
// it once with a token limit and measures it: depth and field count with
// fragments expanded, fragment cycles, and introspection when that is off.
// After validation it bounds complexity. Every rejection is a
// GRAPHQL_VALIDATION_FAILED error, answered with HTTP 422.
type limits struct {
	maxDepth, maxFields, maxComplexity int
	introspection                      bool
	es                                 graphql.ExecutableSchema
	passed                             *shapeCache[struct{}] // shapes of queries that passed
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = (*limits)(nil)

func (l *limits) ExtensionName() string { return "authmesh/limits" }

func (l *limits) Validate(es graphql.ExecutableSchema) error {
	l.es = es
	return nil
}

// MutateOperationParameters measures the raw document before gqlgen parses
// and validates it.
func (l *limits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if _, ok := l.passed.Get(ctx, p.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, maxTokens)
	if err != nil {
		gqlErr, ok := err.(*gqlerror.Error)
		if !ok {
			gqlErr = gqlerror.Errorf("%s", err)
		}
		errcode.Set(gqlErr, errcode.ParseFailed)
		return gqlErr
	}
	if gqlErr := l.measure(doc); gqlErr != nil {
		errcode.Set(gqlErr, errcode.ValidationFailed)
		return gqlErr
	}
	l.passed.Add(ctx, p.Query, struct{}{})
	return nil
}

// MutateOperationContext enables introspection when configured and bounds
// the complexity of the validated operation.
func (l *limits) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	op.DisableIntrospection = !l.introspection
	if l.introspection && introspectionOnly(op.Operation.SelectionSet) {
		return nil // bounded by the introspection caps instead
	}
	c := complexity.Calculate(ctx, l.es, op.Operation, op.Variables)
	if c > l.maxComplexity {
		err := gqlerror.Errorf("query is too complex: complexity %d, the limit is %d", c, l.maxComplexity)
		errcode.Set(err, errcode.ValidationFailed)
		return err
	}
	return nil
}

// measure checks every operation of doc.
func (l *limits) measure(doc *ast.QueryDocument) *gqlerror.Error {
	m := measurer{frags: map[string]*ast.FragmentDefinition{}, memo: map[string]size{}, visiting: map[string]bool{}}
	for _, f := range doc.Fragments {
		m.frags[f.Name] = f
	}
	intro := len(doc.Operations) > 0
	for _, op := range doc.Operations {
		intro = intro && introspectionOnly(op.SelectionSet)
	}
	intro = intro && l.introspection
	maxDepth, maxFields := l.maxDepth, l.maxFields
	if intro {
		maxDepth, maxFields = introspectionMaxDepth, introspectionMaxFields
	}
	n, introspects := scanFields(doc)
	if introspects && !l.introspection {
		return gqlerror.Errorf("introspection is disabled on this server")
	}
	total := 0
	for _, op := range doc.Operations {
		s, err := m.selectionSet(op.SelectionSet)
		if err != nil {
			return err
		}
		if s.depth > maxDepth {
			return gqlerror.Errorf("query is too deep: depth %d, the limit is %d", s.depth, maxDepth)
		}
		total = saturate(total + s.fields)
		if total > maxFields {
			return gqlerror.Errorf("query has too many fields (aliases and fragments expanded): %d, the limit is %d", total, maxFields)
		}
	}
	if n > maxFields {
		return gqlerror.Errorf("query has too many fields: %d, the limit is %d", n, maxFields)
	}
	return nil
}

// introspectionOnly reports whether every root field is __schema, __type or
// __typename.
func introspectionOnly(ss ast.SelectionSet) bool {
	for _, sel := range ss {
		f, ok := sel.(*ast.Field)
		if !ok || !strings.HasPrefix(f.Name, "__") {
			return false
		}
	}
	return len(ss) > 0
}

// size is the measure of a selection set.
type size struct{ depth, fields int }

// measurer walks selection sets, expanding fragments once each (memoised)
// and detecting cycles.
type measurer struct {
	frags    map[string]*ast.FragmentDefinition
	memo     map[string]size
	visiting map[string]bool
}

func (m *measurer) selectionSet(ss ast.SelectionSet) (size, *gqlerror.Error) {
	var out size
	for _, sel := range ss {
		var s size
		switch sel := sel.(type) {
		case *ast.Field:
			child, err := m.selectionSet(sel.SelectionSet)
			if err != nil {
				return size{}, err
			}
			s = size{depth: child.depth + 1, fields: saturate(child.fields + 1)}
		case *ast.InlineFragment:
			child, err := m.selectionSet(sel.SelectionSet)
			if err != nil {
				return size{}, err
			}
			s = child
		case *ast.FragmentSpread:
			child, err := m.fragment(sel.Name)
			if err != nil {
				return size{}, err
			}
			s = child
		}
		out.depth = max(out.depth, s.depth)
		out.fields = saturate(out.fields + s.fields)
	}
	return out, nil
}

func (m *measurer) fragment(name string) (size, *gqlerror.Error) {
	if s, ok := m.memo[name]; ok {
		return s, nil
	}
	f, ok := m.frags[name]
	if !ok {
		return size{}, nil // unknown fragment: validation reports it
	}
	if m.visiting[name] {
		return size{}, gqlerror.Errorf("fragment %s spreads itself (a fragment cycle)", name)
	}
	m.visiting[name] = true
	s, err := m.selectionSet(f.SelectionSet)
	m.visiting[name] = false
	if err != nil {
		return size{}, err
	}
	m.memo[name] = s
	return s, nil
}

// scanFields counts the field nodes written in doc, fragments not expanded
// (so unused fragments are bounded too), and reports whether any is
// __schema or __type.
func scanFields(doc *ast.QueryDocument) (n int, introspects bool) {
	var count func(ast.SelectionSet) int
	count = func(ss ast.SelectionSet) int {
		n := 0
		for _, sel := range ss {
			switch sel := sel.(type) {
			case *ast.Field:
				if sel.Name == "__schema" || sel.Name == "__type" {
					introspects = true
				}
				n += 1 + count(sel.SelectionSet)
			case *ast.InlineFragment:
				n += count(sel.SelectionSet)
			}
		}
		return n
	}
	for _, op := range doc.Operations {
		n += count(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		n += count(f.SelectionSet)
	}
	return n, introspects
}

// saturate keeps expanded counts from overflowing.
func saturate(n int) int { return min(n, 1<<30) }
