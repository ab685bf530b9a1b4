#!/usr/bin/env bash
# A diagnostic probe, not a benchmark of record (bench/results/2026-11-29-590dbea.md): SET
# throughput of ordo's ways to run --sync always, beside ordo everysec and Redis, with the
# guest's halt polling off (this VM's boot setting) and on (200 us). Needs root (it writes
# /sys/module/haltpoll/parameters/guest_halt_poll_ns, and restores it on exit) and the builds of
# the prototype branches:
#   MAIN_ORDO   ordo of main (default build/ordo)
#   URING_ORDO  ordo of branch uring-proto (io_uring fdatasync; run with ORDO_ASYNC_SYNC=1)
#   LOOPS_ORDO  ordo of branch loops-proto (two event loops; run with ORDO_PROTO_LOOPS=2)
# N (default 200000) SETs a run, ROUNDS (default 2) rounds. Each server runs alone on a free
# loopback port with its own data directory, and is killed after its run.
set -euo pipefail
cd "$(dirname "$0")/../.."
P=/sys/module/haltpoll/parameters/guest_halt_poll_ns
[[ -w $P ]] || { echo "commit_variants.sh: $P not writable (needs root and cpuidle-haltpoll)" >&2; exit 1; }
MAIN_ORDO=${MAIN_ORDO:-build/ordo}
URING_ORDO=${URING_ORDO:?the ordo binary of branch uring-proto}
LOOPS_ORDO=${LOOPS_ORDO:?the ordo binary of branch loops-proto}
N=${N:-200000}
ROUNDS=${ROUNDS:-2}
original=$(cat $P)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ordo-probe-XXXXXX")
trap 'echo "$original" > $P; rm -rf "$scratch"' EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() {
  local label=$1 port dir pid
  port=$(free_port)
  dir=$(mktemp -d "$scratch/run-XXXXXX")
  case $label in
    ordo-always) "$MAIN_ORDO" serve --data "$dir/d" --port "$port" >/dev/null 2>&1 & ;;
    ordo-everysec) "$MAIN_ORDO" serve --data "$dir/d" --port "$port" --sync everysec >/dev/null 2>&1 & ;;
    ordo-uring) ORDO_ASYNC_SYNC=1 "$URING_ORDO" serve --data "$dir/d" --port "$port" >/dev/null 2>&1 & ;;
    ordo-2loops) ORDO_PROTO_LOOPS=2 "$LOOPS_ORDO" serve --data "$dir/d" --port "$port" >/dev/null 2>&1 & ;;
    redis-always) redis-server --port "$port" --dir "$dir" --appendonly yes --appendfsync always --save '' >/dev/null 2>&1 & ;;
    redis-everysec) redis-server --port "$port" --dir "$dir" --appendonly yes --appendfsync everysec --save '' >/dev/null 2>&1 & ;;
  esac
  pid=$!
  for _ in $(seq 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done  # readiness poll
  local result
  result=$(redis-benchmark -p "$port" -c 50 -d 100 -r 1000000 -t set -n "$N" -q | tr '\r' '\n' |
           grep -o 'SET: [0-9.]*' | tail -1)
  echo "halt_poll_ns=$(cat $P) $label $result"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

for _ in $(seq "$ROUNDS"); do
  for halt_poll_ns in 0 200000; do
    echo "$halt_poll_ns" > $P
    for label in ordo-always ordo-uring ordo-2loops ordo-everysec redis-always redis-everysec; do
      run "$label"
    done
  done
done
