#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of ordo from Debian 12's packages.
# Idempotent: when every package is already installed it does nothing and exits 0.
set -euo pipefail

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

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts redis-server as a service on install; ordo's tests and benchmarks start their
# own on ports they choose, so the packaged service is stopped where a service manager runs.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  "${sudo_cmd[@]}" systemctl stop redis-server || true
fi
