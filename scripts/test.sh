#!/usr/bin/env bash
# `npm test`: unit tests and, as root, the end-to-end tests in network namespaces and against the real
# CrowdSec peers. One node test run, so the closing summary counts everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh
if [[ $(id -u) -eq 0 ]]; then
  # The real peers (crowdsec, crowdsec-firewall-bouncer) for the compatibility tests.
  bash scripts/install-peers.sh
fi
npx tsc -p tsconfig.test.json
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 test/unit/*.test.ts test/e2e/*.test.ts
