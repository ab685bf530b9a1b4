#!/usr/bin/env bash
# The benchmark run: ordo serve against Debian's redis-server with redis-benchmark, then the
# engine figures (ordo_bench). Builds nothing: `make bench` builds first.
#
#   bench/run.sh [--quick] [--markdown FILE] [--skip-server] [--skip-engine]
#
# Environment: BUILD_DIR (default build), BENCH_TMP (where data directories go, default
# $TMPDIR or /tmp), ORDO_N, REDIS_ALWAYS_N, REDIS_EVERYSEC_N (requests per redis-benchmark
# test), CLIENTS (default 50).
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

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
    --skip-server) SKIP_SERVER=1 ;;
    --skip-engine) SKIP_ENGINE=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then
  ORDO_N=${ORDO_N:-50000}; REDIS_ALWAYS_N=${REDIS_ALWAYS_N:-50000}
  REDIS_EVERYSEC_N=${REDIS_EVERYSEC_N:-100000}
else
  # Sized so that each SET run takes roughly 10-20 s on the reference machine (docs/BENCHMARKS.md).
  ORDO_N=${ORDO_N:-500000}; REDIS_ALWAYS_N=${REDIS_ALWAYS_N:-300000}
  REDIS_EVERYSEC_N=${REDIS_EVERYSEC_N:-800000}
fi

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
[[ $SKIP_SERVER == 1 || -x $ORDO ]] || { echo "run.sh: $ORDO missing: build first (make bench)" >&2; exit 1; }
[[ $SKIP_ENGINE == 1 || -x $ORDO_BENCH ]] || { echo "run.sh: $ORDO_BENCH missing: build first (make bench)" >&2; exit 1; }

WORK=$(mktemp -d "$BENCH_TMP/ordo-run-XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_ready() {  # port pid
  for _ in $(seq 200); do
    if redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

stop_server() {  # pid
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

declare -A RPS
# run_benchmark NAME N COMMAND...: starts the server (COMMAND with PORT and DIR substituted),
# runs redis-benchmark SET and GET against it, records RPS[NAME.set] and RPS[NAME.get].
run_benchmark() {
  local name=$1 n=$2; shift 2
  local port dir pid out
  port=$(free_port)
  dir=$WORK/$name
  mkdir -p "$dir"
  local args=()
  for arg in "$@"; do arg=${arg//@PORT@/$port}; args+=("${arg//@DIR@/$dir}"); done
  "${args[@]}" >"$WORK/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  if ! wait_ready "$port" "$pid"; then
    echo "run.sh: $name did not start; its log:" >&2
    cat "$WORK/$name.log" >&2
    exit 1
  fi
  echo "-- $name: ${args[*]}"
  echo "   redis-benchmark -h 127.0.0.1 -p $port -c $CLIENTS -d 100 -r 1000000 -n $n -t set,get -q"
  local start=$SECONDS
  out=$(redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -d 100 -r 1000000 -n "$n" \
        -t set,get -q | tr '\r' '\n' | grep 'requests per second')
  echo "$out" | sed 's/^/   /'
  echo "   ($((SECONDS - start)) s)"
  RPS[$name.set]=$(echo "$out" | awk '/^SET:/ {print $2}')
  RPS[$name.get]=$(echo "$out" | awk '/^GET:/ {print $2}')
  if [[ -z ${RPS[$name.set]} || -z ${RPS[$name.get]} ]]; then
    echo "run.sh: could not parse redis-benchmark output for $name" >&2
    exit 1
  fi
  stop_server "$pid"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t) ? "met" : "NOT met" }'; }

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
  echo "== Redis protocol: redis-benchmark -c $CLIENTS -d 100 -r 1000000 -t set,get"
  run_benchmark ordo-always "$ORDO_N" "$ORDO" serve --data @DIR@ --port @PORT@ --sync always
  run_benchmark redis-always "$REDIS_ALWAYS_N" redis-server --bind 127.0.0.1 --port @PORT@ \
    --appendonly yes --appendfsync always --save '' --dir @DIR@
  run_benchmark redis-everysec "$REDIS_EVERYSEC_N" redis-server --bind 127.0.0.1 --port @PORT@ \
    --appendonly yes --appendfsync everysec --save '' --dir @DIR@
  run_benchmark ordo-everysec "$REDIS_EVERYSEC_N" "$ORDO" serve --data @DIR@ --port @PORT@ --sync everysec
  rm -rf "${WORK:?}"/*

  r_set_always=$(ratio "${RPS[ordo-always.set]}" "${RPS[redis-always.set]}")
  r_set_everysec=$(ratio "${RPS[ordo-always.set]}" "${RPS[redis-everysec.set]}")
  r_get_always=$(ratio "${RPS[ordo-always.get]}" "${RPS[redis-always.get]}")
  r_get_everysec=$(ratio "${RPS[ordo-always.get]}" "${RPS[redis-everysec.get]}")
  echo
  printf '  %-38s %14s %14s\n' "server (requests/s)" SET GET
  for name in ordo-always redis-always redis-everysec ordo-everysec; do
    printf '  %-38s %14s %14s\n' "$name" "${RPS[$name.set]}" "${RPS[$name.get]}"
  done
  echo
  printf '  %-38s %8s  %-8s %s\n' ratio value target verdict
  printf '  %-38s %8s  %-8s %s\n' "SET ordo always / redis always" "$r_set_always" ">= 1.5" "$(verdict "$r_set_always" 1.5)"
  printf '  %-38s %8s  %-8s %s\n' "SET ordo always / redis everysec" "$r_set_everysec" ">= 1.0" "$(verdict "$r_set_everysec" 1.0)"
  printf '  %-38s %8s  %-8s %s\n' "GET ordo always / redis always" "$r_get_always" ">= 0.9" "$(verdict "$r_get_always" 0.9)"
  printf '  %-38s %8s  %-8s %s\n' "GET ordo always / redis everysec" "$r_get_everysec" ">= 0.9" "$(verdict "$r_get_everysec" 0.9)"
  echo
  if [[ $MARKDOWN != "" ]]; then
    {
      echo "redis-benchmark -c $CLIENTS -d 100 -r 1000000 -t set,get (requests per second; -n: ordo always $ORDO_N, redis always $REDIS_ALWAYS_N, everysec runs $REDIS_EVERYSEC_N):"
      echo
      echo "| server | SET/s | GET/s |"
      echo "| --- | ---: | ---: |"
      echo "| ordo serve --sync always | ${RPS[ordo-always.set]} | ${RPS[ordo-always.get]} |"
      echo "| redis-server appendfsync always | ${RPS[redis-always.set]} | ${RPS[redis-always.get]} |"
      echo "| redis-server appendfsync everysec | ${RPS[redis-everysec.set]} | ${RPS[redis-everysec.get]} |"
      echo "| ordo serve --sync everysec (for reference) | ${RPS[ordo-everysec.set]} | ${RPS[ordo-everysec.get]} |"
      echo
      echo "| ratio | measured | target | |"
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
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
