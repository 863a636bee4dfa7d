#!/usr/bin/env bash
# Runs every test of authmesh against real services.
#
# It first fails on any static finding: a file gofmt would change, a go.mod
# or go.sum that `go mod tidy` would change, or a report from `go vet` or
# staticcheck (a tool directive in go.mod, run as `go tool staticcheck`).
# These checks always cover the whole module, even when packages are given.
#
# It installs redis-server, PostgreSQL, docker-compose (to validate
# deployments/docker-compose.yml), prometheus (for promtool, which checks
# deployments/prometheus/alerts.yml) and Chromium (the browser tests) with
# apt-get when they are missing
# (as root), starts a throwaway PostgreSQL on a free loopback port in a
# temporary directory, and runs the Go tests with the race detector, then a
# short bounded run of each fuzz target. Tests start their own redis-server
# processes (standalone, Cluster, Sentinel) through internal/testenv.
#
# Test artefacts, such as the account page's screenshot, go to
# $TEST_ARTIFACTS (default ./test-artifacts, ignored by git).
#
# Usage: scripts/test.sh [go test flags/packages]   (default: ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

log() { printf 'test.sh: %s\n' "$*" >&2; }

pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	return 1
}

ensure_deps() {
	local missing=()
	command -v redis-server >/dev/null || missing+=(redis-server)
	command -v redis-cli >/dev/null || missing+=(redis-tools)
	pg_bindir >/dev/null || missing+=(postgresql)
	# Validates deployments/docker-compose.yml (docker-compose config); it
	# needs no Docker engine, so its recommended docker.io is left out.
	command -v docker-compose >/dev/null || missing+=(docker-compose)
	# promtool checks the alerting rules; the Prometheus server it comes
	# with is not started (nor needed).
	command -v promtool >/dev/null || missing+=(prometheus)
	# The browser tests (e2e/browser_test.go) drive Chromium headless over
	# the DevTools protocol; a font renders the account page's screenshot.
	command -v chromium >/dev/null || missing+=(chromium)
	[ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || missing+=(fonts-liberation)
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "missing: ${missing[*]}. Install them (sudo apt-get install -y --no-install-recommends ${missing[*]}) and run again."
		exit 1
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

start_postgres() {
	local bindir run_as=()
	bindir=$(pg_bindir)
	PGTMP=$(mktemp -d /tmp/authmesh-pg.XXXXXX)
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres:postgres "$PGTMP" 2>/dev/null || { id postgres >/dev/null 2>&1 || useradd -r postgres; chown postgres "$PGTMP"; }
		run_as=(runuser -u postgres --)
	fi
	PGPORT_TEST=$(free_port)
	"${run_as[@]}" "$bindir/initdb" -D "$PGTMP/data" -U postgres --auth=trust -E UTF8 >"$PGTMP/initdb.log" 2>&1 ||
		{ cat "$PGTMP/initdb.log" >&2; exit 1; }
	"${run_as[@]}" "$bindir/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/pg.log" -w -t 60 \
		-o "-p $PGPORT_TEST -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null ||
		{ cat "$PGTMP/pg.log" >&2; exit 1; }
	PG_STOP=("${run_as[@]}" "$bindir/pg_ctl" -D "$PGTMP/data" -m immediate stop)
	export AUTHMESH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT_TEST/postgres?sslmode=disable"
	log "PostgreSQL on 127.0.0.1:$PGPORT_TEST"
}

static_checks() {
	local out
	log "gofmt"
	out=$(gofmt -l .)
	if [ -n "$out" ]; then
		log "gofmt would change these files (run gofmt -w):"
		printf '%s\n' "$out" >&2
		exit 1
	fi
	log "go mod tidy -diff"
	go mod tidy -diff || { log "go.mod/go.sum are not tidy (run go mod tidy)"; exit 1; }
	log "go vet"
	go vet ./...
	log "staticcheck"
	go tool staticcheck ./...
}

# The Kubernetes manifests' test is a module of its own
# (deployments/kubernetes), keeping the Kubernetes API packages out of
# authmesh's dependency graph.
kubernetes_manifests() {
	log "deployments/kubernetes: go mod tidy -diff, vet, test"
	(
		cd deployments/kubernetes
		go mod tidy -diff || { log "deployments/kubernetes/go.mod is not tidy (run go mod tidy there)"; exit 1; }
		go vet ./...
		go test -count=1 ./...
	)
}

# The alerting rules: valid (check rules), and their unit tests pass (test
# rules; deployments/observability_test.go runs both too).
alert_rules() {
	log "promtool check rules deployments/prometheus/alerts.yml"
	promtool check rules deployments/prometheus/alerts.yml
	(cd deployments/prometheus && promtool test rules alerts_test.yml)
}

cleanup() {
	[ -n "${PG_STOP+x}" ] && "${PG_STOP[@]}" >/dev/null 2>&1 || true
	[ -n "${PGTMP:-}" ] && rm -rf "$PGTMP"
}
trap cleanup EXIT

static_checks
ensure_deps
alert_rules
start_postgres
# Test artefacts (the account page's screenshot, e2e/browser_test.go) are
# kept here after the run.
export TEST_ARTIFACTS="${TEST_ARTIFACTS:-$PWD/test-artifacts}"
mkdir -p "$TEST_ARTIFACTS"
log "test artefacts in $TEST_ARTIFACTS"

pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)

log "go test -race ${pkgs[*]}"
go test -race -count=1 -timeout 20m "${pkgs[@]}"

if [ $# -eq 0 ]; then
	kubernetes_manifests
	log "fuzzing each target briefly"
	scripts/fuzz.sh 10s
fi
log "all tests passed"
