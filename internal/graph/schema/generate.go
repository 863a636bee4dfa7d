// Package schema holds authmesh's GraphQL schema (schema.graphqls), the Time
// scalar, and the executor and input models gqlgen generates from them.
// Resolvers and the HTTP handler live in the parent package graph.
//
// Regenerate after editing schema.graphqls or gqlgen.yml with
//
//	go generate ./internal/graph/...
//
// (or make generate), which runs gqlgen through `go tool` at the version
// go.mod declares in its tool directive. Never edit generated.go or
// models_gen.go by hand.
package schema

//go:generate go tool gqlgen generate --config gqlgen.yml
