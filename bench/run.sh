#!/usr/bin/env bash
# The benchmark run: ordo serve against Debian's redis-server with redis-benchmark, then the
# engine figures (ordo_bench). Builds nothing: `make bench` builds first.
#
#   bench/run.sh [--quick] [--markdown FILE] [--skip-server] [--skip-engine] [--backup] [--archive]
#
# Environment: BUILD_DIR (default build), BENCH_TMP (where data directories go, default
# $TMPDIR or /tmp), ORDO_N, REDIS_ALWAYS_N, REDIS_EVERYSEC_N (requests per redis-benchmark
# test), REPEAT (rounds; medians are reported), CLIENTS (default 50).
#
# Each server runs alone (started just before its redis-benchmark run and stopped after it), on a
# free loopback port, with its own temporary data directory; every server this script started is
# stopped and every temporary directory removed on exit, however the script ends.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ORDO=$BUILD_DIR/ordo
ORDO_BENCH=$BUILD_DIR/ordo_bench
BENCH_TMP=${BENCH_TMP:-${TMPDIR:-/tmp}}
CLIENTS=${CLIENTS:-50}
QUICK=0
MARKDOWN=
SKIP_SERVER=0
SKIP_ENGINE=0
BACKUP=0  # --backup: also bench/backup_bench.sh (issue 3), same --quick and --markdown
ARCHIVE=0  # --archive: also bench/archive_bench.sh and bench/pitr_bench.sh (issue 4), same --quick and --markdown

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
    --skip-server) SKIP_SERVER=1 ;;
    --skip-engine) SKIP_ENGINE=1 ;;
    --backup) BACKUP=1 ;;
    --archive) ARCHIVE=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then
  ORDO_N=${ORDO_N:-50000}; REDIS_ALWAYS_N=${REDIS_ALWAYS_N:-50000}
  REDIS_EVERYSEC_N=${REDIS_EVERYSEC_N:-100000}; REPEAT=${REPEAT:-1}
else
  # Sized so that each SET run takes roughly 10-15 s on the reference machine
  # (docs/BENCHMARKS.md); three interleaved rounds, medians reported.
  ORDO_N=${ORDO_N:-400000}; REDIS_ALWAYS_N=${REDIS_ALWAYS_N:-400000}
  REDIS_EVERYSEC_N=${REDIS_EVERYSEC_N:-700000}; REPEAT=${REPEAT:-3}
fi

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
[[ $SKIP_SERVER == 1 || -x $ORDO ]] || { echo "run.sh: $ORDO missing: build first (make bench)" >&2; exit 1; }
[[ $SKIP_ENGINE == 1 || -x $ORDO_BENCH ]] || { echo "run.sh: $ORDO_BENCH missing: build first (make bench)" >&2; exit 1; }

BENCH_NAME=run.sh
DROP=0
# shellcheck source=bench/common.sh
source bench/common.sh  # WORK, PIDS and the EXIT trap that stops every server started here

declare -A RPS CPU
# cpu_ticks PID: user + system clock ticks of every thread of the process so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# run_benchmark NAME N COMMAND...: starts the server (COMMAND with @PORT@ and @DIR@ substituted)
# in a fresh data directory, runs redis-benchmark SET then GET against it (two invocations, so
# that the server's CPU time can be told apart), stops it, and appends the requests/s and the
# server's CPU microseconds per request to RPS[NAME.set], RPS[NAME.get], CPU[...].
run_benchmark() {
  local name=$1 n=$2; shift 2
  local dir pid out test before after
  dir=$WORK/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  local args=()
  for arg in "$@"; do args+=("${arg//@DIR@/$dir}"); done
  start_server "$name" "${args[@]}"  # substitutes @PORT@, sets PORT and SERVER
  local port=$PORT
  pid=$SERVER
  args=("${args[@]//@PORT@/$port}")
  printf -- '-- %s: %s\n' "$name" "${args[*]}"
  for test in set get; do
    before=$(cpu_ticks "$pid")
    local start=$SECONDS
    out=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -d 100 -r 1000000 -n "$n" \
          -t "$test" -q | tr '\r' '\n' | grep 'requests per second' || true)
    after=$(cpu_ticks "$pid")
    local rps cpu
    rps=$(echo "$out" | awk '{print $2; exit}')
    if [[ -z $rps ]]; then
      echo "run.sh: could not parse redis-benchmark output for $name $test" >&2
      exit 1
    fi
    cpu=$(( (after - before) * TICK_US / n ))
    printf '   redis-benchmark -p %s -c %s -d 100 -r 1000000 -n %s -t %s: %s (%s s, server CPU %s us/request)\n' \
      "$port" "$CLIENTS" "$n" "$test" "$out" "$((SECONDS - start))" "$cpu"
    RPS[$name.$test]+="$rps "
    CPU[$name.$test]+="$cpu "
  done
  stop_pid "$pid"
  rm -rf "$dir"
}

# Over values (common.sh's median and spread take a name of its timings L instead).
median_of() { L[_values]=$1; median _values; }
spread_of() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.0f-%.0f", lo, hi}'; }
verdict() { at_least "$1" "$2"; }

echo "ordo benchmark run, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "data in $WORK: $(df -hT "$WORK" | awk 'NR==2 {print $2 " on " $1}')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
if [[ -n $(git status --porcelain -- src include 2>/dev/null) ]]; then
  echo "note: the working tree has uncommitted changes under src/ or include/"
fi
echo

if [[ $MARKDOWN != "" ]]; then
  {
    echo "Run of $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'),"
    echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), data on $(df -T "$WORK" | awk 'NR==2 {print $2}'), load average at start $(cut -d' ' -f1-3 /proc/loadavg)$([[ $QUICK == 1 ]] && echo ', --quick')."
    echo
  } >"$MARKDOWN"
fi

if [[ $SKIP_SERVER == 0 ]]; then
  echo "== Redis protocol: redis-benchmark -c $CLIENTS -d 100 -r 1000000, $REPEAT round(s), servers interleaved"
  for round in $(seq "$REPEAT"); do
    echo "round $round of $REPEAT"
    run_benchmark ordo-always "$ORDO_N" "$ORDO" serve --data @DIR@ --port @PORT@ --sync always
    run_benchmark redis-always "$REDIS_ALWAYS_N" redis-server --bind 127.0.0.1 --port @PORT@ \
      --appendonly yes --appendfsync always --save '' --dir @DIR@
    run_benchmark redis-everysec "$REDIS_EVERYSEC_N" redis-server --bind 127.0.0.1 --port @PORT@ \
      --appendonly yes --appendfsync everysec --save '' --dir @DIR@
    run_benchmark ordo-everysec "$ORDO_N" "$ORDO" serve --data @DIR@ --port @PORT@ --sync everysec
  done

  declare -A MED
  for key in "${!RPS[@]}"; do MED[$key]=$(median_of "${RPS[$key]}"); done
  r_set_always=$(ratio "${MED[ordo-always.set]}" "${MED[redis-always.set]}")
  r_set_everysec=$(ratio "${MED[ordo-always.set]}" "${MED[redis-everysec.set]}")
  r_get_always=$(ratio "${MED[ordo-always.get]}" "${MED[redis-always.get]}")
  r_get_everysec=$(ratio "${MED[ordo-always.get]}" "${MED[redis-everysec.get]}")
  echo
  echo "  median of $REPEAT round(s), requests/s [lowest-highest], server CPU us/request (median)"
  printf '  %-16s %26s %8s %26s %8s\n' server "SET/s" "CPU us" "GET/s" "CPU us"
  for name in ordo-always redis-always redis-everysec ordo-everysec; do
    printf '  %-16s %26s %8s %26s %8s\n' "$name" \
      "${MED[$name.set]} [$(spread_of "${RPS[$name.set]}")]" "$(median_of "${CPU[$name.set]}")" \
      "${MED[$name.get]} [$(spread_of "${RPS[$name.get]}")]" "$(median_of "${CPU[$name.get]}")"
  done
  echo
  printf '  %-36s %8s  %-8s %s\n' ratio value target verdict
  printf '  %-36s %8s  %-8s %s\n' "SET ordo always / redis always" "$r_set_always" ">= 1.5" "$(verdict "$r_set_always" 1.5)"
  printf '  %-36s %8s  %-8s %s\n' "SET ordo always / redis everysec" "$r_set_everysec" ">= 1.0" "$(verdict "$r_set_everysec" 1.0)"
  printf '  %-36s %8s  %-8s %s\n' "GET ordo always / redis always" "$r_get_always" ">= 0.9" "$(verdict "$r_get_always" 0.9)"
  printf '  %-36s %8s  %-8s %s\n' "GET ordo always / redis everysec" "$r_get_everysec" ">= 0.9" "$(verdict "$r_get_everysec" 0.9)"
  echo
  if [[ $MARKDOWN != "" ]]; then
    row() {  # label name
      echo "| $1 | ${MED[$2.set]} | $(spread_of "${RPS[$2.set]}") | $(median_of "${CPU[$2.set]}") | ${MED[$2.get]} | $(spread_of "${RPS[$2.get]}") | $(median_of "${CPU[$2.get]}") |"
    }
    {
      echo "redis-benchmark -c $CLIENTS -d 100 -r 1000000, SET then GET, each server alone, $REPEAT interleaved round(s); -n: ordo $ORDO_N, redis always $REDIS_ALWAYS_N, redis everysec $REDIS_EVERYSEC_N. Median requests/s, lowest-highest over the rounds, and the server's CPU time per request (user + system, all threads):"
      echo
      echo "| server | SET/s | range | CPU us/SET | GET/s | range | CPU us/GET |"
      echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
      row "ordo serve --sync always" ordo-always
      row "redis-server appendfsync always" redis-always
      row "redis-server appendfsync everysec" redis-everysec
      row "ordo serve --sync everysec (reference)" ordo-everysec
      echo
      echo "| ratio (medians) | measured | target | |"
      echo "| --- | ---: | --- | --- |"
      echo "| SET ordo always / redis always | $r_set_always | >= 1.5 | $(verdict "$r_set_always" 1.5) |"
      echo "| SET ordo always / redis everysec | $r_set_everysec | >= 1.0 | $(verdict "$r_set_everysec" 1.0) |"
      echo "| GET ordo always / redis always | $r_get_always | >= 0.9 | $(verdict "$r_get_always" 0.9) |"
      echo "| GET ordo always / redis everysec | $r_get_everysec | >= 0.9 | $(verdict "$r_get_everysec" 0.9) |"
      echo
    } >>"$MARKDOWN"
  fi
fi

if [[ $SKIP_ENGINE == 0 ]]; then
  echo "== engine: $ORDO_BENCH $([[ $QUICK == 1 ]] && echo --quick) --dir $WORK"
  engine_args=(--dir "$WORK")
  [[ $QUICK == 1 ]] && engine_args+=(--quick)
  [[ $MARKDOWN != "" ]] && engine_args+=(--markdown "$MARKDOWN")
  "$ORDO_BENCH" "${engine_args[@]}"
fi
if [[ $ARCHIVE == 1 ]]; then
  echo "== continuous archiving: bench/archive_bench.sh"
  BUILD_DIR=$BUILD_DIR BENCH_TMP=$BENCH_TMP CLIENTS=$CLIENTS bench/archive_bench.sh $([[ $QUICK == 1 ]] && echo --quick) ${MARKDOWN:+--markdown "$MARKDOWN"}
  echo "== point-in-time restore: bench/pitr_bench.sh"
  BUILD_DIR=$BUILD_DIR BENCH_TMP=$BENCH_TMP bench/pitr_bench.sh $([[ $QUICK == 1 ]] && echo --quick) ${MARKDOWN:+--markdown "$MARKDOWN"}
fi

if [[ $BACKUP == 1 ]]; then
  echo "== backups: bench/backup_bench.sh"
  BUILD_DIR=$BUILD_DIR BENCH_TMP=$BENCH_TMP bench/backup_bench.sh $([[ $QUICK == 1 ]] && echo --quick) ${MARKDOWN:+--markdown "$MARKDOWN"}
fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
