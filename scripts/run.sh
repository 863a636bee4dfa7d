#!/usr/bin/env bash
# Starts the auth service (:8080) and the example microservice (:8081) on the
# embedded default: SQLite under ./data, asymmetric keys, revocations over the
# auth service's feed. Nothing else to install. Ctrl-C stops both. The admin
# API listens on 127.0.0.1:9091; bin/authmesh is its CLI (docs/OPERATIONS.md).
#
# Any variable of docs/CONFIGURATION.md (JWT_SECRET, REDIS_ADDR, DATABASE_URL, ...)
# set in the environment is passed through to both processes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

mkdir -p bin
echo "run.sh: building..." >&2
go build -o bin/authmesh-server ./cmd/server
go build -o bin/example-microservice ./examples/example-microservice
go build -o bin/authmesh ./cmd/authmesh

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

AUTH_PORT=${AUTH_PORT:-8080}
PORT=$AUTH_PORT bin/authmesh-server &
pids+=($!)
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$AUTH_PORT") 2>/dev/null && break
	kill -0 "${pids[0]}" 2>/dev/null || { echo "run.sh: auth service failed to start" >&2; exit 1; }
	sleep 0.1
done
PORT=${EXAMPLE_PORT:-8081} AUTH_URL=${AUTH_URL:-http://localhost:$AUTH_PORT} bin/example-microservice &
pids+=($!)
echo "run.sh: auth service on :$AUTH_PORT (GraphQL /graphql, playground /playground), example microservice on :${EXAMPLE_PORT:-8081}, admin API for bin/authmesh on ${ADMIN_ADDR:-127.0.0.1:9091}. Ctrl-C to stop." >&2
wait -n "${pids[@]}"
