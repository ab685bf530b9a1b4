#!/usr/bin/env bash
# Issue 12's benchmarks, side by side in one run:
#   (a) a MULTI of two SETs (MULTI; SET k1 v1; SET k2 v2; EXEC sent together, as a client
#       library's multi() does), CLIENTS connections (default 50), closed loop, with
#       build/resp_load (redis-benchmark cannot send a group): ordo --sync always against
#       redis-server --appendonly yes --appendfsync always. Target: ordo >= 1.2 x Redis.
#   (b) GET over RESP2 and over RESP3 (redis-benchmark -3) on ordo, on a loaded key space.
#       Target: RESP3 within 5 % of RESP2. Skipped if this ordo does not speak RESP3. Besides
#       requests per second, the server's CPU time per GET (utime + stime from /proc, over the
#       run): on a shared machine throughput moves with the neighbours' load, CPU per request
#       much less.
#   (c) EVALSHA of a script doing two SETs (redis-benchmark -c CLIENTS evalsha SHA 2 k1 k2 v1 v2
#       after SCRIPT LOAD): ordo --sync always against redis-server --appendfsync always.
#       Target: ordo >= 1.2 x Redis.
# Servers alternate in each round (the first in a round has an edge on a shared machine: the
# order flips every round); medians of ROUNDS (default 3) are reported.
#
#   bench/protocol_bench.sh [--quick]
#
# Environment: BUILD_DIR (default build), BENCH_TMP, CLIENTS, MULTI_N (groups per run), GET_N,
# EVAL_N (scripts per run).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ORDO=$BUILD_DIR/ordo
LOAD=$BUILD_DIR/resp_load
BENCH_TMP=${BENCH_TMP:-${TMPDIR:-/tmp}}
BENCH_NAME=protocol_bench.sh
DROP=0
CLIENTS=${CLIENTS:-50}
if [[ ${1:-} == --quick ]]; then
  MULTI_N=${MULTI_N:-20000}; GET_N=${GET_N:-100000}; EVAL_N=${EVAL_N:-20000}; ROUNDS=${ROUNDS:-1}
else
  MULTI_N=${MULTI_N:-100000}; GET_N=${GET_N:-500000}; EVAL_N=${EVAL_N:-100000}; ROUNDS=${ROUNDS:-3}
fi
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$BENCH_NAME: $tool not found" >&2; exit 1; }
done
[[ -x $LOAD ]] || { echo "$BENCH_NAME: $LOAD missing: build first (make build)" >&2; exit 1; }
source bench/common.sh

cpu_ticks() {  # pid: its user + system CPU time so far, in clock ticks (/proc/PID/stat 14, 15)
  awk '{print $14 + $15}' "/proc/$1/stat"
}

multi_round() {  # name server-command...: one run of (a) into L[name]
  local name=$1; shift
  local dir=$WORK/$name-data
  rm -rf "$dir"; mkdir -p "$dir"
  local args=() arg
  for arg in "$@"; do args+=("${arg//@DIR@/$dir}"); done
  start_server "$name" "${args[@]}"
  local line
  line=$("$LOAD" --port "$PORT" --connections "$CLIENTS" --requests "$MULTI_N" --name "$name" \
    -- MULTI ';' SET k1 v1 ';' SET k2 v2 ';' EXEC)
  echo "  $line"
  add "$name" "$(awk '{print $2}' <<<"$line")"
  stop_pid "$SERVER"
  rm -rf "$dir"
}

EVAL_SCRIPT="redis.call('set', KEYS[1], ARGV[1]) redis.call('set', KEYS[2], ARGV[2])"
eval_round() {  # name server-command...: one run of (c) into L[name]
  local name=$1; shift
  local dir=$WORK/$name-data
  rm -rf "$dir"; mkdir -p "$dir"
  local args=() arg
  for arg in "$@"; do args+=("${arg//@DIR@/$dir}"); done
  start_server "$name" "${args[@]}"
  local sha rps
  sha=$(redis-cli -p "$PORT" script load "$EVAL_SCRIPT")
  rps=$(redis-benchmark -p "$PORT" -c "$CLIENTS" -n "$EVAL_N" --csv \
    evalsha "$sha" 2 k1 k2 v1 v2 | awk -F'","' 'NR==2 {print $2}')
  echo "  $name: $rps scripts per second"
  add "$name" "$rps"
  stop_pid "$SERVER"
  rm -rf "$dir"
}

echo "protocol benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== (a) MULTI; SET k1 v1; SET k2 v2; EXEC, $CLIENTS connections, $MULTI_N transactions a run, $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
  ordo_cmd=("$ORDO" serve --data @DIR@ --port @PORT@ --sync always)
  redis_cmd=(redis-server --bind 127.0.0.1 --port @PORT@ --appendonly yes --appendfsync always
    --save '' --dir @DIR@)
  if (( round % 2 == 1 )); then
    multi_round ordo-always "${ordo_cmd[@]}"; multi_round redis-always "${redis_cmd[@]}"
  else
    multi_round redis-always "${redis_cmd[@]}"; multi_round ordo-always "${ordo_cmd[@]}"
  fi
done
m_ordo=$(median ordo-always); m_redis=$(median redis-always)
r_multi=$(ratio "$m_ordo" "$m_redis")
echo "MULTI of two SETs: ordo always $m_ordo/s ($(spread ordo-always)), Redis always $m_redis/s ($(spread redis-always)): ${r_multi}x (target >= 1.2: $(at_least "$r_multi" 1.2))"

echo "== (b) GET over RESP2 and RESP3 on ordo, redis-benchmark -c $CLIENTS -t get -r 100000 -d 100, $GET_N requests, $ROUNDS round(s)"
dir=$WORK/get-data; mkdir -p "$dir"
start_server ordo-get "$ORDO" serve --data "$dir" --port @PORT@ --sync always
if [[ $(redis-cli -p "$PORT" hello 3 2>&1 | head -1) == *NOPROTO* ]]; then
  echo "this ordo does not speak RESP3: (b) skipped"
else
  redis-benchmark -p "$PORT" -c "$CLIENTS" -t set -r 100000 -d 100 -n 200000 -q >/dev/null
  for round in $(seq "$ROUNDS"); do
    for protocol in $( (( round % 2 == 1 )) && echo "2 3" || echo "3 2"); do
      flag=(); [[ $protocol == 3 ]] && flag=(-3)
      ticks_before=$(cpu_ticks "$SERVER")
      rps=$(redis-benchmark -p "$PORT" -c "$CLIENTS" -t get -r 100000 -d 100 -n "$GET_N" \
        "${flag[@]}" --csv | awk -F'","' 'NR==2 {print $2}')
      cpu_us=$(awk -v t="$(( $(cpu_ticks "$SERVER") - ticks_before ))" -v hz="$(getconf CLK_TCK)" \
        -v n="$GET_N" 'BEGIN { printf "%.3f", t * 1e6 / hz / n }')
      echo "  RESP$protocol GET: $rps requests per second, server CPU $cpu_us us per GET"
      add "get$protocol" "$rps"
      add "cpu$protocol" "$cpu_us"
    done
  done
  g2=$(median get2); g3=$(median get3)
  r_get=$(ratio "$g3" "$g2")
  echo "GET: RESP2 $g2/s ($(spread get2)), RESP3 $g3/s ($(spread get3)): RESP3/RESP2 ${r_get} (target within 5 %: $(at_least "$r_get" 0.95))"
  c2=$(median cpu2); c3=$(median cpu3)
  r_cpu=$(ratio "$c3" "$c2")
  echo "GET server CPU: RESP2 $c2 us ($(spread cpu2)), RESP3 $c3 us ($(spread cpu3)): RESP3/RESP2 ${r_cpu} (within 5 %: $(at_most "$r_cpu" 1.05))"
fi
stop_pid "$SERVER"

echo "== (c) EVALSHA of a script doing two SETs, redis-benchmark -c $CLIENTS, $EVAL_N scripts a run, $ROUNDS round(s)"
for round in $(seq "$ROUNDS"); do
  ordo_cmd=("$ORDO" serve --data @DIR@ --port @PORT@ --sync always)
  redis_cmd=(redis-server --bind 127.0.0.1 --port @PORT@ --appendonly yes --appendfsync always
    --save '' --dir @DIR@)
  if (( round % 2 == 1 )); then
    eval_round eval-ordo-always "${ordo_cmd[@]}"; eval_round eval-redis-always "${redis_cmd[@]}"
  else
    eval_round eval-redis-always "${redis_cmd[@]}"; eval_round eval-ordo-always "${ordo_cmd[@]}"
  fi
done
e_ordo=$(median eval-ordo-always); e_redis=$(median eval-redis-always)
r_eval=$(ratio "$e_ordo" "$e_redis")
echo "EVALSHA of two SETs: ordo always $e_ordo/s ($(spread eval-ordo-always)), Redis always $e_redis/s ($(spread eval-redis-always)): ${r_eval}x (target >= 1.2: $(at_least "$r_eval" 1.2))"
