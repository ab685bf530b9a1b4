#!/usr/bin/env bash
# A probe, not a benchmark of record: two builds of ordo side by side in the same minutes, to
# tell a code change from the machine's mood (docs/BENCHMARKS.md, "Only ratios measured in one
# run count"). Runs `ordo serve --sync always` of build A, then of build B, alternately, ROUNDS
# times: redis-benchmark -c 50 -d 100 -r 1000000 -n N SET, then GET; then `ordo_bench --quick
# --only writes,open` of each, alternately. Prints every figure and the medians.
#   A_BUILD, B_BUILD   build directories (ordo and ordo_bench in each)
#   N (default 300000), ROUNDS (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
A_BUILD=${A_BUILD:?build directory of A}
B_BUILD=${B_BUILD:?build directory of B}
N=${N:-300000}
ROUNDS=${ROUNDS:-3}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ordo-ab-XXXXXX")
pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# serve LABEL BUILD: one round of SET then GET; appends "LABEL set|get RPS" to $scratch/figures.
serve() {
  local label=$1 build=$2 port dir test rps
  port=$(free_port)
  dir=$(mktemp -d "$scratch/data-XXXXXX")
  "$build/ordo" serve --data "$dir" --port "$port" --sync always >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  for test in set get; do
    rps=$(redis-benchmark -p "$port" -c 50 -d 100 -r 1000000 -n "$N" -t "$test" -q |
          tr '\r' '\n' | awk '/requests per second/ {print $2}' | tail -1)
    echo "$label $test $rps" | tee -a "$scratch/figures"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  rm -rf "$dir"
}

for round in $(seq 1 "$ROUNDS"); do
  serve A "$A_BUILD"
  serve B "$B_BUILD"
done
echo "medians of $ROUNDS rounds (requests/s):"
for label in A B; do
  for test in set get; do
    awk -v l=$label -v t=$test '$1==l && $2==t {print $3}' "$scratch/figures" | sort -n |
      awk -v l=$label -v t=$test '{v[NR]=$1} END {printf "  %s %s %s\n", l, t, v[int((NR+1)/2)]}'
  done
done
for label in A B; do
  build=$A_BUILD; [[ $label == B ]] && build=$B_BUILD
  echo "ordo_bench --quick --only writes,open of $label ($build):"
  "$build/ordo_bench" --quick --only writes,open --dir "$scratch" 2>&1 | tail -20
done
