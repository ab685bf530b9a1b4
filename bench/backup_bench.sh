#!/usr/bin/env bash
# The backup benchmark of issue 3, section 5: ordo backup / restore against cp, RocksDB's
# BackupEngine (db_bench from Debian's rocksdb-tools) and Redis's BGSAVE, in one run.
#
#   bench/backup_bench.sh [--quick] [--markdown FILE] [--no-drop-caches] [--skip-memory]
#
# Environment: BUILD_DIR (default build), BENCH_TMP (where data goes, default $TMPDIR or /tmp;
# needs ~4x the data size free), KEYS (keys of the large database, 1000-byte values; default
# 2000000 = ~2 GiB, --quick 50000), MEM_SMALL_KEYS (the smaller database of the memory figure;
# default KEYS/4), CLIENTS (write load during the memory figure, default 50), REPEAT (rounds of
# the timed figures, default 3, --quick 1; medians reported with the lowest-highest range).
#
# Measures, printed side by side with ratios and targets:
#   1. full backup of a stopped ~2 GiB data directory: `ordo backup` against `cp -r` + fsync of
#      the same files, warm (every file read once first) and cold (sync + drop_caches before
#      each timed run; needs root, else skipped);
#   2. RocksDB BackupEngine (`db_bench --benchmarks=backup`) on a database of similar size;
#   3. incremental backup after 1 % of the keys changed, against the full backup's time;
#   4. extra anonymous memory (sum of Pss_Anon of every process involved, sampled every 50 ms,
#      peak during minus peak before) while a backup runs under a CLIENTS-client SET load:
#      `ordo serve --sync always --repo` + BGSAVE, `ordo backup` beside the server, and
#      redis-server BGSAVE (server + forked child), at two data sizes;
#   5. `ordo restore` against `cp -r` + fsync of the restored files.
# Servers run on free loopback ports; every process this script starts is stopped and every
# temporary directory removed on exit, however the script ends.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ORDO=$BUILD_DIR/ordo
BENCH_TMP=${BENCH_TMP:-${TMPDIR:-/tmp}}
CLIENTS=${CLIENTS:-50}
QUICK=0
MARKDOWN=
DROP=1
SKIP_MEMORY=0

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
    --no-drop-caches) DROP=0 ;;
    --skip-memory) SKIP_MEMORY=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "backup_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then KEYS=${KEYS:-50000}; REPEAT=${REPEAT:-1}; else KEYS=${KEYS:-2000000}; REPEAT=${REPEAT:-3}; fi
MEM_SMALL_KEYS=${MEM_SMALL_KEYS:-$((KEYS / 4))}
VALUE_SIZE=1000

for tool in redis-server redis-benchmark redis-cli db_bench python3; do
  command -v "$tool" >/dev/null || {
    echo "backup_bench.sh: $tool not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
BENCH_NAME=backup_bench.sh
# shellcheck source=bench/common.sh
source bench/common.sh

# The memory sampler: every 50 ms, "epoch_ms kib" where kib is the sum of Pss_Anon over the
# process ROOT, all its descendants (Redis's forked child), and every process whose command line
# contains MARKER (the `ordo backup` beside the server). The load generator is not counted.
cat >"$WORK/sample.py" <<'EOF'
import os, sys, time
root, marker, out = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "w", buffering=1)
def children(pid):
    found = []
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found
def pss_anon(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
me = os.getpid()
while os.path.exists("/proc/%d" % root):
    pids, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p not in pids:
            pids.add(p)
            todo += children(p)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in pids and int(entry) != me:
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    if marker.encode() in f.read():
                        pids.add(int(entry))
            except OSError:
                pass
    out.write("%d %d\n" % (time.time() * 1000, sum(pss_anon(p) for p in pids)))
    time.sleep(0.05)
EOF

echo "ordo backup benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "data in $WORK: $(df -hT "$WORK" | awk 'NR==2 {print $2 " on " $1 ", " $5 " free"}')"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average at start: $LOAD_START (other work on the machine skews every figure)"
echo "sizes: $KEYS keys x $VALUE_SIZE-byte values (memory figure also at $MEM_SMALL_KEYS keys); $REPEAT round(s); cold runs: $([[ $DROP == 1 ]] && echo 'sync + drop_caches before each' || echo 'not measured')"
echo

# ---------------------------------------------------------------------------------------------
# 1. the data directory, and full backups against cp
DATA=$WORK/data
echo "== building the ordo database: ordo serve --sync none, $KEYS keys by a pipelined loader"
t0=$(now)
start_server build "$ORDO" serve --data "$DATA" --port @PORT@ --sync none
load "$PORT" 0 "$KEYS" 1 a
stop_pid "$SERVER"
DATA_BYTES=$(bytes_of "$DATA")
echo "   $(mib "$DATA_BYTES") MiB in $(find "$DATA" -type f | wc -l) files, built in $(elapsed "$t0" "$(now)") s"

echo "== full backup against cp -r + fsync, data quiet (server stopped), $REPEAT round(s), order alternating"
# Each round: warm (every file read once, then sync) cp and backup, then cold (sync +
# drop_caches before each) cp and backup; odd rounds run cp first, even rounds backup first.
# The first warm backup's repository is kept for the incremental figures.
full_backup() {  # label repo
  run_timed "$1" "$ORDO" backup --data "$DATA" --repo "$2" --json
  add "$1" "$T"
  F[$1_read]=$(json_field bytes_read <"$WORK/$1.out")
  F[$1_written]=$(json_field bytes_written <"$WORK/$1.out")
}
full_cp() { run_timed "$1" copy_synced "$DATA" "$WORK/cp_out"; add "$1" "$T"; rm -rf "$WORK/cp_out"; }
for round in $(seq "$REPEAT"); do
  repo=$WORK/repo; [[ $round == 1 ]] || repo=$WORK/repo_round
  for step in 1 2; do
    if (( (round + step) % 2 == 0 )); then warm "$DATA"; full_cp cp_warm; else warm "$DATA"; full_backup backup_warm "$repo"; fi
  done
  rm -rf "$WORK/repo_round"
  if [[ $DROP == 1 ]]; then
    for step in 1 2; do
      drop_caches
      if (( (round + step) % 2 == 0 )); then full_cp cp_cold; else full_backup backup_cold "$WORK/repo_round"; fi
    done
    rm -rf "$WORK/repo_round"
  fi
  echo "   round $round: warm: cp $(last cp_warm) s, ordo backup $(last backup_warm) s$([[ $DROP == 1 ]] && echo "; cold: cp $(last cp_cold) s, ordo backup $(last backup_cold) s")"
done
F[repo_bytes]=$(bytes_of "$WORK/repo")
echo "   ordo backup read $(mib "${F[backup_warm_read]}") MiB, wrote $(mib "${F[backup_warm_written]}") MiB (zstd); repository $(mib "${F[repo_bytes]}") MiB"

# 3. incremental after 1 % of the keys changed: each round rewrites every 100th key (a different
# 1 % each round, new values; the server is stopped after) and backs up into the same repository.
echo "== incremental backup after 1 % of the keys changed, $REPEAT round(s)"
for round in $(seq "$REPEAT"); do
  start_server update "$ORDO" serve --data "$DATA" --port @PORT@ --sync none
  load "$PORT" "$((round - 1))" "$KEYS" 100 b
  stop_pid "$SERVER"
  sync
  run_timed backup_incr "$ORDO" backup --data "$DATA" --repo "$WORK/repo" --json
  add backup_incr "$T"
  F[incr_read]=$(json_field bytes_read <"$WORK/backup_incr.out")
  F[incr_written]=$(json_field bytes_written <"$WORK/backup_incr.out")
  echo "   round $round: incremental $T s (read $(mib "${F[incr_read]}") MiB, wrote $(mib "${F[incr_written]}") MiB)"
done

# 5. restore against cp of the restored files
echo "== restore against cp -r + fsync of the restored files, $REPEAT round(s)"
restore_once() {  # label
  rm -rf "$WORK/restored_out"
  run_timed "$1" "$ORDO" restore --repo "$WORK/repo" --to "$WORK/restored_out" --json
  add "$1" "$T"
  rm -rf "$WORK/restored_out"
}
cp_restored() { run_timed "$1" copy_synced "$WORK/restored" "$WORK/cp_out"; add "$1" "$T"; rm -rf "$WORK/cp_out"; }
"$ORDO" restore --repo "$WORK/repo" --to "$WORK/restored" --json >/dev/null
RESTORED_BYTES=$(bytes_of "$WORK/restored")
for round in $(seq "$REPEAT"); do
  for step in 1 2; do
    if (( (round + step) % 2 == 0 )); then warm "$WORK/restored"; cp_restored cp_restored_warm; else warm "$WORK/repo"; restore_once restore_warm; fi
  done
  if [[ $DROP == 1 ]]; then
    for step in 1 2; do
      drop_caches
      if (( (round + step) % 2 == 0 )); then cp_restored cp_restored_cold; else restore_once restore_cold; fi
    done
  fi
  echo "   round $round: warm: restore $(last restore_warm) s, cp $(last cp_restored_warm) s$([[ $DROP == 1 ]] && echo "; cold: restore $(last restore_cold) s, cp $(last cp_restored_cold) s")"
done
rm -rf "$WORK/restored" "$WORK/repo"

# 2. RocksDB BackupEngine on a database of similar size
echo "== RocksDB BackupEngine: db_bench (rocksdb-tools $(dpkg-query -W -f='${Version}' rocksdb-tools 2>/dev/null || echo '?')), $REPEAT round(s)"
RDB=$WORK/rocksdb; mkdir -p "$RDB"
# fillrandom draws --num keys at random out of --num, so only ~63 % are distinct: 1.6 x KEYS
# gives about KEYS distinct keys, a database of about the size of ordo's. The values are
# db_bench's (--compression_ratio 0.5: about half compressible, like the loader's); the
# database is stored uncompressed (--compression_type=none), as ordo's log is.
RDB_NUM=$((KEYS * 16 / 10))
DB_BENCH_FILL=(db_bench --benchmarks=fillrandom,flush,waitforcompaction --num="$RDB_NUM" --value_size=$VALUE_SIZE
  --compression_type=none --db="$RDB/db")
DB_BENCH_BACKUP=(db_bench --benchmarks=backup --use_existing_db=1 --num="$RDB_NUM" --value_size=$VALUE_SIZE
  --compression_type=none --db="$RDB/db")
run_timed rocksdb_fill "${DB_BENCH_FILL[@]}"
RDB_BYTES=$(bytes_of "$RDB/db")
rocks_backup() {  # label: db_bench backup into a fresh backup dir; adds the backup op's time
  rm -rf "$RDB/backup"
  run_timed "$1" "${DB_BENCH_BACKUP[@]}" --backup_dir="$RDB/backup"
  add "$1_wall" "$T"
  T=$(awk '$1 == "backup" && $2 == ":" { for (i = 1; i <= NF; i++) if ($i == "seconds") print $(i-1) }' "$WORK/$1.out")
  [[ -n $T ]] || { echo "backup_bench.sh: no backup line in db_bench's output" >&2; cat "$WORK/$1.out" >&2; exit 1; }
  add "$1" "$T"
  F[rocksdb_backup_bytes]=$(bytes_of "$RDB/backup")
  rm -rf "$RDB/backup"
}
for round in $(seq "$REPEAT"); do
  warm "$RDB/db"; rocks_backup rocksdb_warm
  if [[ $DROP == 1 ]]; then drop_caches; rocks_backup rocksdb_cold; fi
  echo "   round $round: backup warm $(last rocksdb_warm) s (db_bench process $(last rocksdb_warm_wall) s)$([[ $DROP == 1 ]] && echo ", cold $(last rocksdb_cold) s")"
done
echo "   database $(mib "$RDB_BYTES") MiB, backup $(mib "${F[rocksdb_backup_bytes]}") MiB"
rm -rf "$RDB"

# ---------------------------------------------------------------------------------------------
# 4. memory under a write load
MEM_ROWS=()
# measure_memory LABEL SERVER_PID PORT KEYS START_COMMAND...: starts the SET load, samples
# Pss_Anon for 2 s, runs START_COMMAND (a backup), waits for wait_done, samples 1 s more.
measure_memory() {
  local label=$1 server=$2 port=$3 keys=$4; shift 4
  local samples=$WORK/mem-$label.txt load_pid sampler_pid t_start t_end
  python3 "$WORK/sample.py" "$server" "$WORK/memrepo" "$samples" &
  sampler_pid=$!; PIDS+=("$sampler_pid")
  redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -t set -d $VALUE_SIZE -r "$keys" -n 1000000000 \
    -q >/dev/null 2>&1 &
  load_pid=$!; PIDS+=("$load_pid")
  sleep 3
  t_start=$(date +%s%3N)
  "$@"
  t_end=$(date +%s%3N)
  sleep 1
  local sets
  sets=$(redis-cli -h 127.0.0.1 -p "$port" info stats | tr -d '\r' | awk -F: '$1 == "total_commands_processed" {print $2}')
  stop_pid "$load_pid"
  stop_pid "$sampler_pid"
  awk -v s="$t_start" -v e="$t_end" '
    $1 >= s - 2000 && $1 < s { if ($2 > base) base = $2 }
    $1 >= s && $1 <= e + 500 { if ($2 > peak) peak = $2; n++ }
    END { printf "%d %d %d\n", base, peak, n }' "$samples" >"$WORK/mem-$label.res"
  read -r base peak n <"$WORK/mem-$label.res"
  F[mem_${label}_base]=$base; F[mem_${label}_peak]=$peak; F[mem_${label}_extra]=$((peak - base))
  F[mem_${label}_s]=$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
  echo "   $label: baseline $((base / 1024)) MiB, peak $((peak / 1024)) MiB, extra $(( (peak - base) / 1024 )) MiB over ${F[mem_${label}_s]} s ($n samples; server commands so far $sets)"
}
wait_bgsave() {  # port: BGSAVE (issued already) has finished; fails if it failed
  local info
  for _ in $(seq 36000); do
    info=$(redis-cli -h 127.0.0.1 -p "$1" info persistence | tr -d '\r')
    if grep -q '^rdb_bgsave_in_progress:0' <<<"$info"; then
      grep -q '^rdb_last_bgsave_status:ok' <<<"$info" && return 0
      echo "backup_bench.sh: BGSAVE failed: $info" >&2; exit 1
    fi
    sleep 0.05
  done
  echo "backup_bench.sh: BGSAVE did not finish" >&2; exit 1
}
bgsave() { redis-cli -h 127.0.0.1 -p "$1" bgsave >/dev/null; sleep 0.1; wait_bgsave "$1"; }
ordo_backup_beside() { "$ORDO" backup --data "$1" --repo "$WORK/memrepo-beside" --json >"$WORK/beside.out"; }

if [[ $SKIP_MEMORY == 0 ]]; then
  for size in small large; do
    if [[ $size == small ]]; then keys=$MEM_SMALL_KEYS; else keys=$KEYS; fi
    echo "== memory during a backup under redis-benchmark -c $CLIENTS -t set -d $VALUE_SIZE -r $keys ($size: $keys keys)"
    rm -rf "$WORK/memrepo" "$WORK/memrepo-beside"
    if [[ $size == large ]]; then
      mdata=$DATA  # the database of the figures above (KEYS keys, 1 % of them written twice)
    else
      mdata=$WORK/memdata
      rm -rf "$mdata"
      start_server "ordo-mem-$size" "$ORDO" serve --data "$mdata" --port @PORT@ --sync none
      load "$PORT" 0 "$keys" 1 c
      stop_pid "$SERVER"
    fi
    F[mem_${size}_data]=$(bytes_of "$mdata")
    F[mem_${size}_keys]=$keys
    start_server "ordo-mem-$size" "$ORDO" serve --data "$mdata" --port @PORT@ --sync always --repo "$WORK/memrepo"
    measure_memory "ordo_bgsave_$size" "$SERVER" "$PORT" "$keys" bgsave "$PORT"
    measure_memory "ordo_beside_$size" "$SERVER" "$PORT" "$keys" ordo_backup_beside "$mdata"
    stop_pid "$SERVER"
    rm -rf "$mdata" "$WORK/memrepo" "$WORK/memrepo-beside"
    mkdir -p "$WORK/redis"
    start_server "redis-mem-$size" redis-server --bind 127.0.0.1 --port @PORT@ --appendonly no --save '' \
      --dir "$WORK/redis"
    load "$PORT" 0 "$keys" 1 c
    F[mem_${size}_redis_used]=$(redis-cli -h 127.0.0.1 -p "$PORT" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}')
    measure_memory "redis_$size" "$SERVER" "$PORT" "$keys" bgsave "$PORT"
    stop_pid "$SERVER"
    rm -rf "$WORK/redis"
  done
fi

# ---------------------------------------------------------------------------------------------
# the table
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
ROWS=()  # "figure|ordo|peer|ratio|target|verdict"
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); }

# throughput MiB/s of BYTES at the median of NAME's rounds, with the median seconds and range
thr() { echo "$(rate "$1" "$(median "$2")") ($(median "$2") s [$(spread "$2")])"; }
compare() {  # label ordo_bytes ordo_name peer_bytes peer_name target
  local r
  r=$(ratio "$(rate "$2" "$(median "$3")")" "$(rate "$4" "$(median "$5")")")
  row "$1" "$(thr "$2" "$3")" "$(thr "$4" "$5")" "$r" "${6:+>= $6}" "${6:+$(at_least "$r" "${6:-0}")}"
}
compare "full backup, $(mib "$DATA_BYTES") MiB, warm: ordo backup / cp -r + fsync (MiB/s)" \
  "$DATA_BYTES" backup_warm "$DATA_BYTES" cp_warm 0.8
[[ $DROP == 1 ]] && compare "full backup, cold (drop_caches): ordo backup / cp -r + fsync (MiB/s)" \
  "$DATA_BYTES" backup_cold "$DATA_BYTES" cp_cold 0.8
compare "full backup, warm: ordo backup / RocksDB BackupEngine, $(mib "$RDB_BYTES") MiB (MiB/s)" \
  "$DATA_BYTES" backup_warm "$RDB_BYTES" rocksdb_warm 1.0
[[ $DROP == 1 ]] && compare "full backup, cold: ordo backup / RocksDB BackupEngine (MiB/s)" \
  "$DATA_BYTES" backup_cold "$RDB_BYTES" rocksdb_cold 1.0
p=$(pct "$(median backup_incr)" "$(median backup_warm)")
row "incremental after 1 % of keys changed: time / full backup's (warm)" \
  "$(median backup_incr) s [$(spread backup_incr)] (read $(mib "${F[incr_read]}") MiB, wrote $(mib "${F[incr_written]}") MiB)" \
  "$(median backup_warm) s" "$p %" "<= 5 %" "$(at_most "$p" 5)"
compare "restore, $(mib "$RESTORED_BYTES") MiB, warm: ordo restore / cp -r + fsync (MiB/s)" \
  "$RESTORED_BYTES" restore_warm "$RESTORED_BYTES" cp_restored_warm ""
[[ $DROP == 1 ]] && compare "restore, cold: ordo restore / cp -r + fsync (MiB/s)" \
  "$RESTORED_BYTES" restore_cold "$RESTORED_BYTES" cp_restored_cold ""
if [[ $SKIP_MEMORY == 0 ]]; then
  for size in small large; do
    data=${F[mem_${size}_data]}
    redis_extra=${F[mem_redis_${size}_extra]}
    for how in bgsave beside; do
      extra=${F[mem_ordo_${how}_${size}_extra]}
      p=$(pct "$((extra * 1024))" "$data")
      what="ordo serve --repo + BGSAVE"; [[ $how == beside ]] && what="ordo backup beside ordo serve"
      row "extra Pss_Anon during backup, $(mib "$data") MiB, ${F[mem_${size}_keys]} keys: $what / redis BGSAVE (MiB; % of data)" \
        "$((extra / 1024)) MiB ($p %)" "$((redis_extra / 1024)) MiB ($(pct "$((redis_extra * 1024))" "$data") %)" \
        "$(ratio "$extra" "$redis_extra")" "<= 5 % of data" "$(at_most "$p" 5)"
    done
  done
  # flat as the data grows: the extra memory at the large size over the small one
  for how in bgsave beside; do
    g=$(ratio "${F[mem_ordo_${how}_large_extra]}" "${F[mem_ordo_${how}_small_extra]}")
    row "growth of the extra memory, $(mib "${F[mem_large_data]}") MiB over $(mib "${F[mem_small_data]}") MiB of data ($(ratio "${F[mem_large_data]}" "${F[mem_small_data]}") x): ordo $how / redis BGSAVE" \
      "$g x" "$(ratio "${F[mem_redis_large_extra]}" "${F[mem_redis_small_extra]}") x" "" "flat (~1 x)" ""
  done
fi

echo
printf '  %-100s %-34s %-24s %-8s %-16s %s\n' figure ordo peer ratio target verdict
for line in "${ROWS[@]}"; do
  IFS='|' read -r a b c d e f <<<"$line"
  printf '  %-100s %-34s %-24s %-8s %-16s %s\n' "$a" "$b" "$c" "$d" "$e" "$f"
done
echo
echo "load average at end: $LOAD_END"

if [[ $MARKDOWN != "" ]]; then
  {
    echo "Run of $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'),"
    echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), data on $(df -T "$WORK" | awk 'NR==2 {print $2}'), load average at start $LOAD_START, at end $LOAD_END$([[ $QUICK == 1 ]] && echo ', --quick')."
    echo "$KEYS keys x $VALUE_SIZE-byte values (half random, half constant); cold = \`sync; echo 3 > /proc/sys/vm/drop_caches\` before the timed run$([[ $DROP == 1 ]] || echo ' (not measured: not root or --no-drop-caches)'); cp = \`cp -r\` then fsync of every copied file and directory; times are the median of $REPEAT round(s) [lowest-highest], warm and cold runs alternating in order; memory figures are single runs."
    echo
    echo "| figure | ordo | peer | ratio | target | |"
    echo "| --- | --- | --- | ---: | --- | --- |"
    for line in "${ROWS[@]}"; do
      IFS='|' read -r a b c d e f <<<"$line"
      echo "| $a | $b | $c | $d | $e | $f |"
    done
    echo
  } >>"$MARKDOWN"
fi
