#!/usr/bin/env bash
# The point-in-time restore benchmark of issue 4, section 6: the time to restore to a point for a
# database of about 2 GiB plus about 1 GiB of archived log, against cp of the same bytes.
#
#   bench/pitr_bench.sh [--quick] [--markdown FILE] [--no-drop-caches]
#
# Environment: BUILD_DIR (default build), BENCH_TMP (default $TMPDIR or /tmp; needs ~6x the
# data size free), KEYS (keys of the database, 1000-byte values; default 2000000 = ~2 GiB,
# --quick 50000), REPEAT (rounds, default 3, --quick 1; medians with lowest-highest).
#
# Builds, through `ordo serve --sync none --repo R --archive`: KEYS keys (the ~2 GiB database),
# a backup (SAVE), then half the keys overwritten (~1 GiB more log, archived continuously) with
# the restore point `bench-mid` after the first half of them. Then times, warm (repository read
# once first) and cold (sync + drop_caches before each; needs root, else skipped), in
# alternating order:
#   * `ordo restore --point bench-mid`: the backup plus ~0.5 GiB of archived log, cut there;
#   * `ordo restore` to the newest archived commit: the backup plus the whole ~1 GiB;
#   * `cp -r` + fsync of the second restore's result (the same bytes, from a plain directory).
# Each restore's result is checked: it starts from the backup, and the LSN it reports is the
# point's (or the newest commit's).
# Every process started here is stopped and every temporary directory removed on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ORDO=$BUILD_DIR/ordo
BENCH_TMP=${BENCH_TMP:-${TMPDIR:-/tmp}}
QUICK=0
MARKDOWN=
DROP=1

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1 ;;
    --markdown) MARKDOWN=${2:?--markdown needs a file}; shift ;;
    --no-drop-caches) DROP=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "pitr_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $QUICK == 1 ]]; then KEYS=${KEYS:-50000}; REPEAT=${REPEAT:-1}; else KEYS=${KEYS:-2000000}; REPEAT=${REPEAT:-3}; fi

for tool in redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "pitr_bench.sh: $tool not found" >&2; exit 1; }
done
BENCH_NAME=pitr_bench.sh
# shellcheck source=bench/common.sh
source bench/common.sh

info_field() {  # field (INFO persistence of the server started last)
  redis-cli -h 127.0.0.1 -p "$PORT" info persistence | tr -d '\r' | awk -F: -v f="$1" '$1 == f { print $2 }'
}

echo "ordo point-in-time restore benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average at start: $LOAD_START; $KEYS keys x 1000-byte values; $REPEAT round(s); cold runs: $([[ $DROP == 1 ]] && echo 'sync + drop_caches before each' || echo 'not measured')"

DATA=$WORK/data
REPO=$WORK/repo
echo "== building: ordo serve --sync none --repo --archive; $KEYS keys, SAVE, then $((KEYS / 2)) overwrites with a restore point halfway"
t0=$(now)
start_server build "$ORDO" serve --data "$DATA" --port @PORT@ --sync none --repo "$REPO" --archive
load "$PORT" 0 "$KEYS" 1 a
[[ $(redis-cli -h 127.0.0.1 -p "$PORT" save | tr -d '\r') == OK ]] || { echo "pitr_bench.sh: SAVE failed" >&2; exit 1; }
BASE_BYTES=$(bytes_of "$DATA")
load "$PORT" 0 "$KEYS" 4 b
MID_LSN=$(redis-cli -h 127.0.0.1 -p "$PORT" ordo.restorepoint bench-mid | tr -d '\r')
[[ $MID_LSN =~ ^[0-9]+$ ]] || { echo "pitr_bench.sh: ORDO.RESTOREPOINT answered $MID_LSN" >&2; exit 1; }
load "$PORT" 2 "$KEYS" 4 c
LAST_LSN=$(info_field ordo_acked_lsn)
stop_pid "$SERVER"  # the archiver's final round ships the last commits
sync
DATA_BYTES=$(bytes_of "$DATA")
ARCHIVE_AFTER_BASE=$((DATA_BYTES - BASE_BYTES))
echo "   data directory $(mib "$DATA_BYTES") MiB ($(mib "$BASE_BYTES") MiB at the backup, $(mib "$ARCHIVE_AFTER_BASE") MiB of log after it); repository $(mib "$(bytes_of "$REPO")") MiB; restore point at LSN $MID_LSN, newest commit LSN $LAST_LSN; built in $(elapsed "$t0" "$(now)") s"

restore_once() {  # label expected-lsn [target args...]
  local label=$1 want=$2; shift 2
  rm -rf "$WORK/restored_out"
  run_timed "$label" "$ORDO" restore --repo "$REPO" --to "$WORK/restored_out" --json "$@"
  add "$label" "$T"
  local got; got=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["restored_to"]["lsn"] if r.get("base_backup") else "no base backup")' <"$WORK/$label.out")
  [[ $got == "$want" ]] || { echo "pitr_bench.sh: $label restored to LSN $got, expected $want" >&2; cat "$WORK/$label.out" >&2; exit 1; }
  F[${label}_bytes]=$(bytes_of "$WORK/restored_out")
  rm -rf "$WORK/restored_out"
}
cp_restored() { run_timed "$1" copy_synced "$WORK/restored" "$WORK/cp_out"; add "$1" "$T"; rm -rf "$WORK/cp_out"; }
"$ORDO" restore --repo "$REPO" --to "$WORK/restored" >/dev/null
RESTORED_BYTES=$(bytes_of "$WORK/restored")

echo "== restore to a point against cp -r + fsync of the restored files, $REPEAT round(s)"
for round in $(seq "$REPEAT"); do
  for temp in warm cold; do
    [[ $temp == cold && $DROP == 0 ]] && continue
    for step in 1 2 3; do
      case $(( (round + step) % 3 )) in
        0) if [[ $temp == warm ]]; then warm "$REPO"; else drop_caches; fi; restore_once "point_$temp" "$MID_LSN" --point bench-mid ;;
        1) if [[ $temp == warm ]]; then warm "$REPO"; else drop_caches; fi; restore_once "latest_$temp" "$LAST_LSN" ;;
        2) if [[ $temp == warm ]]; then warm "$WORK/restored"; else drop_caches; fi; cp_restored "cp_$temp" ;;
      esac
    done
  done
  echo "   round $round: warm: point $(last point_warm) s, latest $(last latest_warm) s, cp $(last cp_warm) s$([[ $DROP == 1 ]] && echo "; cold: point $(last point_cold) s, latest $(last latest_cold) s, cp $(last cp_cold) s")"
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

row() {  # what label bytes
  printf '%-58s %10s %-13s %9s %6s\n' "$1" "$(median "$2")" "[$(spread "$2")]" "$(rate "$3" "$(median "$2")")" \
    "$(ratio "$(median "cp_${2##*_}")" "$(median "$2")")"
}
echo
echo "== point-in-time restore: $(mib "$BASE_BYTES") MiB at the backup + $(mib "$ARCHIVE_AFTER_BASE") MiB of archived log after it (medians of $REPEAT)"
printf '%-58s %10s %-13s %9s %6s\n' "run" "seconds" "[range]" "MiB/s" "vs cp"
for temp in warm cold; do
  [[ $temp == cold && $DROP == 0 ]] && continue
  row "ordo restore --point (backup + half the log), $temp" "point_$temp" "${F[point_${temp}_bytes]}"
  row "ordo restore, newest commit (backup + all the log), $temp" "latest_$temp" "${F[latest_${temp}_bytes]}"
  row "cp -r + fsync of the restored files ($(mib "$RESTORED_BYTES") MiB), $temp" "cp_$temp" "$RESTORED_BYTES"
done
echo "   'vs cp': cp's time / ordo's time (1.00 = as fast as cp). Load average: start $LOAD_START, end $LOAD_END."

if [[ -n $MARKDOWN ]]; then
  {
    echo
    echo "### Point-in-time restore ($(mib "$BASE_BYTES") MiB at the backup + $(mib "$ARCHIVE_AFTER_BASE") MiB of archived log, $REPEAT rounds, medians)"
    echo
    echo "| run | seconds | range | MiB/s of the result | cp's time / this |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for temp in warm cold; do
      [[ $temp == cold && $DROP == 0 ]] && continue
      for what in point latest cp; do
        local_bytes=${F[${what}_${temp}_bytes]:-$RESTORED_BYTES}
        case $what in
          point) name="\`ordo restore --point\` (backup + half the log), $temp" ;;
          latest) name="\`ordo restore\` to the newest commit (backup + all the log), $temp" ;;
          cp) name="\`cp -r\` + fsync of the restored files, $temp" ;;
        esac
        echo "| $name | $(median "${what}_$temp") | $(spread "${what}_$temp") | $(rate "$local_bytes" "$(median "${what}_$temp")") | $(ratio "$(median "cp_$temp")" "$(median "${what}_$temp")") |"
      done
    done
    echo
    echo "Load average: start $LOAD_START, end $LOAD_END. Restore point at LSN $MID_LSN of $LAST_LSN."
  } >>"$MARKDOWN"
fi
