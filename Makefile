# Convenience targets; each is one script under scripts/.
.PHONY: run test fuzz generate bench

run:      ## start the auth service and the example microservice (embedded mode)
	scripts/run.sh

test:     ## run every test against real Redis and PostgreSQL
	scripts/test.sh

fuzz:     ## fuzz every target for 30s
	scripts/fuzz.sh 30s

generate: ## regenerate the GraphQL code and the gRPC example's protobuf code
	go generate ./internal/graph/... ./examples/example-grpc-service/...

bench:    ## run the Go benchmarks
	go test -run '^$$' -bench . -benchmem ./...
