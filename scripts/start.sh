#!/usr/bin/env bash
# `npm start`: the demo network. Builds what it needs, then runs `gatehouse demo` (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh
exec node dist/cli/main.js demo "$@"
