#!/usr/bin/env bash
# How long the full default suite takes against the embedded reference server (the README's main
# command), measured on the release binary: RUNS runs, each a fresh `scimtest run`, wall time of
# each and the median. The issue's budget is 5 s on a 2-core machine.
#
#   bash benches/suite.sh            # 5 runs
#   RUNS=10 PROFILE=rfc bash benches/suite.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PROFILE=${PROFILE:-rfc}
cargo build --release --quiet
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
times=()
for i in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  ./target/release/scimtest run --profile "$PROFILE" --format json --report-dir "$OUT" >/dev/null
  end=$(date +%s.%N)
  t=$(python3 -c "print($end - $start)")
  times+=("$t")
  tests=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r["stats"]; print(s["total"], s["passed"])' "$OUT/results.json")
  printf 'run %d: %.2f s (%s tests, %s passed)\n' "$i" "$t" ${tests}
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
printf 'median over %d runs: %.2f s (budget 5 s)\n' "$RUNS" "$median"
