#!/usr/bin/env bash
# Runs every Fuzz target in the repository for a bounded time each.
# Usage: scripts/fuzz.sh [duration]   (default 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
d=${1:-10s}
found=0
while IFS= read -r file; do
	pkg=./$(dirname "$file")
	for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		found=1
		printf 'fuzz.sh: %s %s for %s\n' "$pkg" "$fn" "$d" >&2
		go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$d" "$pkg"
	done
done < <(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go')
[ $found -eq 1 ] || echo "fuzz.sh: no fuzz targets" >&2
