#!/usr/bin/env bash
# try_acquire + record through the C ABI next to the core's own loop, in the same process
# (bindings-c/bench/bench_breaker.c). Exit status 2 when the C ABI is slower than 1.5x.
#   bindings-c/bench.sh [iterations per round] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
flock /tmp/bw-cargo.lock cargo build -q -p breakwater-c --release
mkdir -p bindings-c/build
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -Ibindings-c/include bindings-c/bench/bench_breaker.c \
  target/release/libbreakwater.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -o bindings-c/build/bench_breaker
exec bindings-c/build/bench_breaker "$@"
