#!/usr/bin/env bash
# Builds the release binaries: the auth service, the operator CLI (authmesh)
# and every example service,
# static (CGO_ENABLED=0), reproducible (-trimpath, no VCS stamp or build id
# that depends on the machine) and stamped with VERSION. The Dockerfile runs
# exactly this, and so do the end-to-end tests, so they test what ships.
#
# Usage: scripts/build.sh OUTDIR
#   VERSION (default: `git describe --tags --always --dirty`, else "dev")
#   is written into each binary's main.version and printed at start.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

out=${1:?usage: scripts/build.sh OUTDIR}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags "-s -w -buildid= -X main.version=$version" \
	-o "$out/" ./cmd/server ./cmd/authmesh ./examples/...
