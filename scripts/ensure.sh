#!/usr/bin/env bash
# Makes a fresh Debian machine ready to run Gatehouse from this checkout: system packages, npm
# dependencies, the build. Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "gatehouse: missing system packages: ${need[*]} (run as root, or: apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ ! -d node_modules/better-sqlite3 || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
