#!/bin/sh
# The layer check fails on an upward include and passes without it (ctest check_layers.selftest).
set -eu
script=$(dirname "$0")/check_layers.py
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/src/util" "$tree/src/db"
printf '#include "util/a.h"\n' > "$tree/src/db/b.h"
printf '#pragma once\n' > "$tree/src/util/a.h"
/usr/bin/python3 "$script" "$tree/src" || { echo "FAIL: a downward include was refused"; exit 1; }
printf '#include "db/b.h"\n' >> "$tree/src/util/a.h"
if /usr/bin/python3 "$script" "$tree/src" 2>"$tree/err"; then
  echo "FAIL: an upward include (util/ including db/) passed"; exit 1
fi
grep -q 'util/a.h:2: util/ may not include db/' "$tree/err" || { cat "$tree/err"; exit 1; }
# A test may use any layer.
printf '#include "db/b.h"\n' > "$tree/src/util/a_test.cc"
sed -i '2d' "$tree/src/util/a.h"
/usr/bin/python3 "$script" "$tree/src" || { echo "FAIL: a test's include of a higher layer was refused"; exit 1; }
echo "check_layers: refuses upward includes, allows downward ones and tests"
