// Package schema holds authmesh's GraphQL schema (schema.graphqls), the Time
// scalar, and the executor and input models gqlgen generates from them.
// Resolvers and the HTTP handler live in the parent package graph.
//
// Regenerate after editing schema.graphqls or gqlgen.yml with
//
//	go generate ./internal/graph/...
//
// which runs gqlgen offline from the module cache. Never edit generated.go or
// models_gen.go by hand.
package schema

//go:generate go run github.com/99designs/gqlgen generate --config gqlgen.yml
