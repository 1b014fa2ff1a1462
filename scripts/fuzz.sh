#!/usr/bin/env bash
# Runs every Go fuzz test of the given packages (default: pkg/events and
# everything under internal/, the parsers among them) for a bounded time each, for CI. A failing input
# is written under the package's testdata/fuzz/ and the script fails.
#
#   scripts/fuzz.sh                      # 10s per fuzz test
#   FUZZTIME=60s scripts/fuzz.sh         # longer
#   scripts/fuzz.sh ./internal/ingest    # one package
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-10s}"
if [ "$#" -eq 0 ]; then
	set -- ./pkg/events/... ./internal/...
fi

for pkg in $(go list "$@"); do
	for name in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "== $pkg $name ($fuzztime)"
		# -parallel 2: the CI machine has two cores.
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg"
	done
done
