#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target of the repository for a while, one after
# the other, printing one line per target. Usage: infra/scripts/fuzz.sh [time]
# where time is a go test -fuzztime value (default 10s). Targets are found by
# their declaration, so a new `func FuzzX(f *testing.F)` is picked up as is.
# A failing target prints its output and leaves the crasher in the package's
# testdata/fuzz, where it becomes a regression test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fuzztime=${1:-10s}
GO=${GO:-go}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

mapfile -t targets < <(
  { git ls-files --cached --others --exclude-standard -- '*_test.go' 2>/dev/null ||
    find . -name '*_test.go' -not -path './.cache/*' -printf '%P\n'; } | sort
)
count=0 failed=0
for file in "${targets[@]}"; do
  [ -f "$file" ] || continue
  dir=./$(dirname "$file")
  while read -r name; do
    count=$((count + 1))
    start=$SECONDS
    run() { "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$dir" >"$log" 2>&1; }
    # Go's fuzz coordinator can report "context deadline exceeded" when the
    # fuzz time ends while a worker is busy, without any failing input: that
    # is the engine, not our code, so such a run is tried once more.
    if run || { ! grep -q 'Failing input written' "$log" && grep -q 'context deadline exceeded' "$log" && run; }; then
      printf '  ok    %-32s %-36s %ss\n' "$name" "$dir" $((SECONDS - start))
    else
      failed=$((failed + 1))
      printf '  FAIL  %-32s %s\n' "$name" "$dir"
      sed 's/^/        /' "$log"
    fi
  done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*\*testing\.F).*/\1/p' "$file")
done
if [ "$count" -eq 0 ]; then
  echo "  no fuzz targets"
fi
[ "$failed" -eq 0 ] || { echo "fuzz: $failed of $count targets failed" >&2; exit 1; }
