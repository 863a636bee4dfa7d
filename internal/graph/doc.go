// Package graph serves authmesh's GraphQL API over HTTP: the resolvers over
// a Service (the auth use cases), the error mapping to extensions.code, the
// guards against hostile or non-GraphQL requests, and the GraphiQL page.
//
// The schema and the gqlgen-generated executor live in the subpackage
// schema; regenerate them with `go generate ./internal/graph/...`.
package graph
