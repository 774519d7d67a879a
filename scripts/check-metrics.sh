#!/usr/bin/env bash
# Checks breakwater's Prometheus exposition with `promtool check metrics` (Debian's
# `prometheus` package, installed here when missing). The sample exposition comes from the core's
# exposition test, which also checks it with its own strict parser.
#
#   scripts/check-metrics.sh            # render, then lint with promtool
#   scripts/check-metrics.sh FILE       # lint an exposition you already have
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "check-metrics: installing promtool (Debian package prometheus)" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

if [ $# -ge 1 ]; then
  file="$1"
else
  file="$(mktemp --suffix=.prom)"
  trap 'rm -f "$file"' EXIT
  BW_METRICS_OUT="$file" scripts/cargo-locked test -q -p breakwater-core --test metrics_exposition \
    exposition_passes_the_strict_parser >/dev/null
fi

if [ ! -s "$file" ]; then
  echo "check-metrics: $file is empty" >&2
  exit 1
fi
# promtool prints lint problems and exits non-zero on any of them.
promtool check metrics < "$file"
echo "check-metrics: $(grep -c '^# TYPE' "$file") metric families pass promtool"
