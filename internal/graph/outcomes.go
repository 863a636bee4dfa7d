package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// CodeOK is the outcome Config.Observe receives for a root field that
// answered without an error.
const CodeOK = "OK"

// outcomes reports the outcome of every root field (login, refreshToken,
// me...) to observe: the extensions.code of its first error, or CodeOK.
// The field names come from the schema (an unknown field fails validation
// before execution), so they make a bounded metric label.
type outcomes struct {
	observe func(field, code string)
}

var (
	_ graphql.HandlerExtension     = (*outcomes)(nil)
	_ graphql.RootFieldInterceptor = (*outcomes)(nil)
)

func (o *outcomes) ExtensionName() string { return "authmesh/outcomes" }

func (o *outcomes) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptRootField runs the field, then looks for an error on its path.
func (o *outcomes) InterceptRootField(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	out := next(ctx)
	rf := graphql.GetRootFieldContext(ctx)
	if rf == nil || rf.Field.Field == nil {
		return out
	}
	alias := rf.Field.Alias
	if alias == "" {
		alias = rf.Field.Name
	}
	code := CodeOK
	for _, err := range graphql.GetErrors(ctx) {
		if len(err.Path) == 0 {
			continue
		}
		if name, ok := err.Path[0].(ast.PathName); !ok || string(name) != alias {
			continue
		}
		code = "UNKNOWN"
		if c, ok := err.Extensions["code"].(string); ok {
			code = c
		}
		break
	}
	o.observe(rf.Field.Name, code)
	return out
}
