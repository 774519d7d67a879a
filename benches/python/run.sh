#!/usr/bin/env bash
# The Python benchmark: breakwater next to pybreaker, circuitbreaker, aiobreaker, purgatory,
# tenacity, stamina and pyresilience, interleaved in one run. Sets up its own virtualenv
# (benches/python/.venv), builds breakwater into it (release, under the machine-wide cargo
# lock) and prints markdown tables of medians and ratios to the bare-call baselines.
#   benches/python/run.sh                 # 9 rounds
#   BENCH_ROUNDS=3 BENCH_SCALE=0.2 benches/python/run.sh   # a quick look
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "maturin==1.16.0" \
    "pybreaker==1.4.1" "circuitbreaker==2.1.3" "aiobreaker==1.2.0" "purgatory==3.0.1" \
    "tenacity==9.2.1" "stamina==26.1.0" "pyresilience==0.4.1"

(
    cd "$ROOT/bindings-python"
    export VIRTUAL_ENV="$VENV"
    flock /tmp/bw-cargo.lock "$VENV/bin/maturin" develop --release >&2
)

exec "$VENV/bin/python" "$HERE/bench.py"
