# Helpers shared by the benchmark scripts, and their common set-up (sourced, not run). Before
# sourcing, the script sets BENCH_NAME (its name, for messages), ORDO (the binary), BENCH_TMP
# (where its temporary directory goes) and DROP (1: cold runs drop the page cache; turned off
# here when not root). Sourcing checks the binary, creates WORK (the temporary directory), PIDS
# (the background processes started and not yet stopped) and the EXIT trap that stops every one
# of them and removes WORK, however the script ends.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[[ -x $ORDO ]] || { echo "$BENCH_NAME: $ORDO missing: build first (make build)" >&2; exit 1; }
if [[ $DROP == 1 ]] && ! { [[ $(id -u) == 0 ]] && [[ -w /proc/sys/vm/drop_caches ]]; }; then
  echo "$BENCH_NAME: not root: cold figures skipped (drop_caches needs root)" >&2
  DROP=0
fi
WORK=$(mktemp -d "$BENCH_TMP/ordo-${BENCH_NAME%.sh}-XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0) ? b / 1048576 / s : 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.1f", 100 * a / b }'; }
at_least() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "-" && r >= t) ? "met" : "NOT met" }'; }
at_most() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "-" && r <= t) ? "met" : "NOT met" }'; }
bytes_of() { du -sb "$1" | cut -f1; }  # apparent size of every file under a directory
drop_caches() { if [[ $DROP == 1 ]]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }
warm() { find "$1" -type f -exec cat {} + >/dev/null; sync; }  # every file read once into the cache; nothing dirty left
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }

stop_pid() {  # pid: a child of this script, so its id cannot be reused before we wait for it
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  PIDS=("${kept[@]+"${kept[@]}"}")
}

wait_ready() {  # port pid
  for _ in $(seq 600); do
    if redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# start_server NAME COMMAND... (with @PORT@ substituted): sets PORT and SERVER.
start_server() {
  local name=$1; shift
  PORT=$(free_port)
  local args=() arg
  for arg in "$@"; do args+=("${arg//@PORT@/$PORT}"); done
  SERVER_LOG=$WORK/$name.log
  "${args[@]}" >"$SERVER_LOG" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
  if ! wait_ready "$PORT" "$SERVER"; then
    echo "$BENCH_NAME: $name did not start; its log:" >&2
    cat "$WORK/$name.log" >&2
    exit 1
  fi
}

load() {  # port first end stride tag (into the server started last)
  python3 "$BENCH_DIR/load_keys.py" "$@" || {
    echo "$BENCH_NAME: loading failed; the server's log ($SERVER_LOG):" >&2
    tail -20 "$SERVER_LOG" >&2
    kill -0 "$SERVER" 2>/dev/null || { wait "$SERVER"; echo "server exit status $?" >&2; }
    exit 1
  }
}

# run_timed LABEL COMMAND...: runs COMMAND, sets T to its wall-clock seconds.
run_timed() {
  local label=$1; shift
  local t0 t1
  t0=$(now)
  "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || {
    echo "$BENCH_NAME: $label failed: $*" >&2; cat "$WORK/$label.err" "$WORK/$label.out" >&2; exit 1; }
  t1=$(now)
  T=$(elapsed "$t0" "$t1")
}
copy_synced() {  # src dst: cp -r, then fsync every copied file (what a backup must do too)
  cp -r "$1" "$2" && find "$2" -exec sync {} +
}

declare -A F  # every figure, by name
declare -A L  # every timing, by name: the rounds' seconds, space-separated
add() { L[$1]+="$2 "; }
last() { awk '{print $NF}' <<<"${L[$1]}"; }
median() { tr ' ' '\n' <<<"${L[$1]}" | grep . | sort -g | awk '{v[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
spread() { tr ' ' '\n' <<<"${L[$1]}" | grep . | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }

