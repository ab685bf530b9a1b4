#!/usr/bin/env bash
# Makes the format-v1 fixture with an ordo built at commit fa243e0 (segment format 1).
set -euo pipefail
ORDO=${ORDO:-ordo}
PORT=${PORT:-16399}
"$ORDO" serve --data ./data --port "$PORT" --segment-size 65536 --repo ./repo --archive \
  --archive-interval 100ms > serve.log 2>&1 &
for _ in $(seq 50); do redis-cli -p "$PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done
for i in $(seq 1 60); do redis-cli -p "$PORT" SET "key$i" "$(printf 'v%.0s' $(seq 1500))$i" >/dev/null; done
redis-cli -p "$PORT" SET "bin\x00key" val >/dev/null
redis-cli -p "$PORT" DEL key3 key4 >/dev/null
redis-cli -p "$PORT" SET withttl x EX 999999999 >/dev/null
redis-cli -p "$PORT" INCR counter >/dev/null
redis-cli -p "$PORT" INCR counter >/dev/null
redis-cli -p "$PORT" SAVE >/dev/null
for i in $(seq 61 90); do redis-cli -p "$PORT" SET "key$i" "$(printf 'w%.0s' $(seq 1200))$i" >/dev/null; done
redis-cli -p "$PORT" SAVE >/dev/null
redis-cli -p "$PORT" SET after-last-backup yes >/dev/null
sleep 1   # one archive round after the last write
redis-cli -p "$PORT" SHUTDOWN >/dev/null 2>&1 || true
wait
"$ORDO" dump --data ./data > dump.jsonl
