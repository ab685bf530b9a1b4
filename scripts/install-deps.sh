#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of ordo: Debian 12's packages, then the
# Node.js Redis clients of the end-to-end tests (tests/e2e/node, from the npm registry, at the
# versions its package-lock.json pins). Idempotent: when everything is already installed it
# does nothing and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libxxhash-dev libssl-dev libfmt-dev libcli11-dev nlohmann-json3-dev libabsl-dev
  libzstd-dev libsodium-dev
  liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools python3 python3-redis rocksdb-tools
  clang-format
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# Node.js and npm come with the machine (Node.js 20, which node-redis 6 and ioredis 6 need);
# Debian's are the fallback where they are missing.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

if [ "${#missing[@]}" -ne 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts redis-server as a service on install; ordo's tests and benchmarks start
  # their own on ports they choose, so the packaged service is stopped where a service manager
  # runs.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    "${sudo_cmd[@]}" systemctl stop redis-server || true
  fi
fi

# `npm ls` (offline) fails when node_modules does not match package-lock.json; only then does
# `npm ci` install exactly the locked versions.
if ! npm ls --prefix tests/e2e/node --depth=0 >/dev/null 2>&1; then
  echo "install-deps: installing tests/e2e/node's npm packages"
  npm ci --prefix tests/e2e/node --no-audit --no-fund
fi
