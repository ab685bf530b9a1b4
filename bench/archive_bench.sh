#!/usr/bin/env bash
# The continuous-archiving benchmark of issue 4, section 6, in one run:
#   (a) archive lag under a CLIENTS-client durable write load: `redis-benchmark -c 50 -d 100
#       -r 1000000 -t set` against `ordo serve --sync always --repo R --archive` at the default
#       1 s interval; p50 / p99 / max of the per-commit lag (commit to published archive piece)
#       from INFO persistence once the archive has caught up (target: p99 <= 1000 ms);
#   (b) SET throughput with archiving on against off, interleaved rounds (off, on, off, on ...),
#       medians (target: on at most 5 % lower).
#
#   bench/archive_bench.sh [--quick] [--markdown FILE]
#
# Environment: BUILD_DIR (default build), BENCH_TMP (default $TMPDIR or /tmp), CLIENTS (default
# 50), ARCHIVE_N (requests per round; default 300000, --quick 40000), REPEAT (rounds of each
# kind; default 3, --quick 1).
#
# Each server runs alone on a free loopback port with a fresh data directory (and a fresh
# repository when archiving); every process started here is stopped and every temporary
# directory removed on exit, however the script ends.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ORDO=$BUILD_DIR/ordo
BENCH_TMP=${BENCH_TMP:-${TMPDIR:-/tmp}}
CLIENTS=${CLIENTS:-50}
QUICK=0
MARKDOWN=

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "archive_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $QUICK == 1 ]]; then ARCHIVE_N=${ARCHIVE_N:-40000}; REPEAT=${REPEAT:-1}; else
  ARCHIVE_N=${ARCHIVE_N:-300000}; REPEAT=${REPEAT:-3}; fi

for tool in redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "archive_bench.sh: $tool not found" >&2; exit 1; }
done
[[ -x $ORDO ]] || { echo "archive_bench.sh: $ORDO missing: build first (make build)" >&2; exit 1; }

WORK=$(mktemp -d "$BENCH_TMP/ordo-archive-bench-XXXXXX")
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

info_field() {  # port field
  redis-cli -h 127.0.0.1 -p "$1" info persistence | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

start_server() {  # dir port [extra args...]: sets SERVER_PID; waits for the ready line
  local dir=$1 port=$2; shift 2
  "$ORDO" serve --data "$dir/data" --port "$port" --sync always "$@" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do
    grep -q "^ready to accept connections" "$dir/server.log" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; return 1; }
    sleep 0.05  # polling another process's log, with a bound
  done
  echo "archive_bench.sh: server did not start" >&2; return 1
}

stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}

ROUND_RPS=; ROUND_P50=; ROUND_P99=; ROUND_MAX=
run_round() {  # off|on
  local mode=$1 dir port
  dir=$(mktemp -d "$WORK/round-XXXXXX")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  if [[ $mode == on ]]; then start_server "$dir" "$port" --repo "$dir/repo" --archive
  else start_server "$dir" "$port"; fi
  ROUND_RPS=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$ARCHIVE_N" -d 100 \
      -r 1000000 -t set -q 2>/dev/null | tr '\r' '\n' | awk '/^SET:/ { v = $2 } END { print v }')
  if [[ $mode == on ]]; then
    # The lag of the last commits counts too: wait until the archive has them.
    local acked
    acked=$(info_field "$port" ordo_acked_lsn)
    for _ in $(seq 1200); do
      (( $(info_field "$port" archive_lsn) >= acked )) && break
      sleep 0.05
    done
    ROUND_P50=$(info_field "$port" archive_lag_p50_ms)
    ROUND_P99=$(info_field "$port" archive_lag_p99_ms)
    ROUND_MAX=$(info_field "$port" archive_lag_max_ms)
    local status; status=$(info_field "$port" archive_status)
    [[ $status == ok ]] || echo "archive_bench.sh: archive_status $status" >&2
  fi
  stop_server
  rm -rf "$dir"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
OFF=(); ON=(); P50=(); P99=(); MAX=()
for round in $(seq "$REPEAT"); do
  run_round off; OFF+=("$ROUND_RPS")
  run_round on; ON+=("$ROUND_RPS"); P50+=("$ROUND_P50"); P99+=("$ROUND_P99"); MAX+=("$ROUND_MAX")
  echo "round $round: SET/s off ${OFF[-1]}, on ${ON[-1]}; lag p50 $ROUND_P50 ms, p99 $ROUND_P99 ms, max $ROUND_MAX ms"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

OFF_M=$(echo "${OFF[*]}" | median); ON_M=$(echo "${ON[*]}" | median)
P50_M=$(echo "${P50[*]}" | median); P99_M=$(echo "${P99[*]}" | median)
MAX_M=$(echo "${MAX[*]}" | median)
CHANGE=$(python3 -c "print('%+.1f' % (100.0 * ($ON_M - $OFF_M) / $OFF_M))")
THROUGHPUT_VERDICT=$(python3 -c "print('met' if $ON_M >= 0.95 * $OFF_M else 'missed')")
LAG_VERDICT=$(python3 -c "print('met' if $P99_M <= 1000 else 'missed')")

echo
echo "== continuous archiving: $CLIENTS clients, $ARCHIVE_N SETs of 100 bytes per round, --sync always, $REPEAT rounds each (medians)"
echo "   load average before: $LOAD_BEFORE; after: $LOAD_AFTER; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
printf '%-34s %14s %14s %10s %8s\n' "figure" "archive off" "archive on" "change" "target"
printf '%-34s %14s %14s %10s %8s\n' "SET requests/s" "$OFF_M" "$ON_M" "$CHANGE %" ">= -5 %"
printf '%-34s %14s %14s %10s %8s\n' "archive lag p50 / p99 / max (ms)" "-" "$P50_M / $P99_M / $MAX_M" "" "p99<=1000"
echo "   throughput target: $THROUGHPUT_VERDICT; lag target: $LAG_VERDICT"
echo "   rounds: off ${OFF[*]}; on ${ON[*]}; p99 ${P99[*]}"

if [[ $MARKDOWN != "" ]]; then
  {
    echo
    echo "### Continuous archiving ($CLIENTS clients, $ARCHIVE_N SETs per round, $REPEAT rounds, medians)"
    echo
    echo "| figure | archive off | archive on | change | target | verdict |"
    echo "| --- | --- | --- | --- | --- | --- |"
    echo "| SET requests/s | $OFF_M | $ON_M | $CHANGE % | at most 5 % lower | $THROUGHPUT_VERDICT |"
    echo "| archive lag p50 / p99 / max | - | $P50_M / $P99_M / $MAX_M ms | | p99 <= 1000 ms | $LAG_VERDICT |"
    echo
    echo "Load average before $LOAD_BEFORE, after $LOAD_AFTER."
  } >>"$MARKDOWN"
fi
