#!/usr/bin/env bash
# `npm test`: unit tests and, as root, the end-to-end tests in network namespaces and against the real
# CrowdSec peers. One node test run, so the closing summary counts everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh
if [[ $(id -u) -eq 0 ]]; then
  # The real peers (crowdsec, crowdsec-firewall-bouncer) for the compatibility tests.
  bash scripts/install-peers.sh
  # systemd-analyze, for the install test's check of the unit (it works without systemd as PID 1).
  if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "installing systemd (for systemd-analyze)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends systemd >/dev/null
  fi
fi
npx tsc -p tsconfig.test.json
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 test/unit/*.test.ts test/e2e/*.test.ts
