package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracing records a span per GraphQL operation, named after its root
// fields (login, register, me...): what the operation does, from a closed
// list, whatever operation name the client chose.
type tracing struct {
	tracer trace.Tracer
}

var (
	_ graphql.HandlerExtension     = (*tracing)(nil)
	_ graphql.OperationInterceptor = (*tracing)(nil)
)

func (t *tracing) ExtensionName() string { return "authmesh/tracing" }

func (t *tracing) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation starts the operation's span; the resolvers run under
// it, and it ends when the response is complete.
func (t *tracing) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name, kind := "graphql", ""
	if oc != nil && oc.Operation != nil {
		kind = string(oc.Operation.Operation)
		var fields []string
		for _, sel := range oc.Operation.SelectionSet {
			if f, ok := sel.(*ast.Field); ok {
				fields = append(fields, f.Name)
			}
		}
		if len(fields) > 0 {
			name = strings.Join(fields, ",")
		}
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithAttributes(attribute.String("graphql.operation.type", kind)))
	handler := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := handler(ctx)
		if resp == nil || len(resp.Errors) > 0 {
			span.SetStatus(codes.Error, "graphql errors")
		}
		span.End()
		return resp
	}
}
