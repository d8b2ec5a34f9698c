#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target of the repository, one after the other,
# printing one line per target. Usage: infra/scripts/fuzz.sh [budget] where
# budget is a go test -fuzztime value: a count of inputs such as 10000x
# (the default, what `make test` runs) or a duration such as 2m (`make fuzz`).
#
# A count bounds the run by work: the seed corpus plus that many new inputs,
# however loaded the machine is. A duration ends on a wall-clock deadline,
# and Go's fuzz coordinator then sometimes reports "context deadline
# exceeded" when a worker is busy at that moment, without any failing input;
# only such time-bounded runs are retried once for it. Minimizing a new input
# is bounded by work too (-fuzzminimizetime), for the same reason.
#
# Targets are found by their declaration, so a new `func FuzzX(f *testing.F)`
# is picked up as is. A failing target prints its output and leaves the
# crasher in the package's testdata/fuzz, where it becomes a regression test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fuzztime=${1:-10000x}
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
    run() {
      "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=1000x \
        -timeout=10m "$dir" >"$log" 2>&1
    }
    if run || { [[ $fuzztime != *x ]] && ! grep -q 'Failing input written' "$log" &&
      grep -q 'context deadline exceeded' "$log" && run; }; then
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
