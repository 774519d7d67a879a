#!/usr/bin/env bash
# Installs the peers (opossum, cockatiel, p-retry) and breakwater locally, then runs the
# interleaved benchmark. The addon is built by bindings-node's install step when missing.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund
node --expose-gc bench.mjs "$@"
