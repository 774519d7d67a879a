#!/usr/bin/env bash
# Sets up and runs every test of the Python binding, from a fresh clone:
#   1. a virtualenv at <repo>/.venv (created when missing) with pinned maturin, pytest, mypy;
#   2. `maturin develop --release` (an editable install of the package `breakwater`), under the
#      machine-wide cargo lock;
#   3. pytest (API, conformance scenarios, concurrency, stubs via mypy.stubtest);
#   4. mypy --strict over the examples, the typing checks and the package itself.
# Extra arguments go to pytest (e.g. `bindings-python/test.sh -k conformance`).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="${BREAKWATER_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
fi
"$PY" -m pip install -q --disable-pip-version-check \
    "maturin==1.16.0" "pytest==9.2.0" "mypy==2.4.1" "typing_extensions>=4.12"

(
    cd "$HERE"
    export VIRTUAL_ENV="$VENV"
    flock /tmp/bw-cargo.lock "$VENV/bin/maturin" develop --release
)

"$PY" -m pytest -q -p no:cacheprovider "$HERE/tests" "$@"

(
    cd "$ROOT"
    "$PY" -m mypy --strict --cache-dir "$VENV/.mypy_cache" \
        examples/python bindings-python/tests/typecheck bindings-python/python/breakwater
)
