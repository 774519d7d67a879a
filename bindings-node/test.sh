#!/usr/bin/env bash
# Everything the Node binding needs, from a fresh machine (node >= 18, cargo, flock): installs
# the npm dev dependencies, builds the release addon with napi (under the workspace's cargo
# lock), checks that the committed generated loader (native.js, native.d.ts) matches what napi
# generates, runs the node:test suites (conformance scenarios included) and type-checks the
# declarations and the TypeScript examples with tsc --strict.
set -euo pipefail
cd "$(dirname "$0")"

export npm_config_update_notifier=false
npm install --no-audit --no-fund

gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
flock /tmp/bw-cargo.lock npx napi build --platform --release --js native.js --dts native.d.ts -o "$gen"
cp "$gen"/breakwater.*.node .

drift=0
for f in native.js native.d.ts; do
  if ! diff -u "$f" "$gen/$f"; then
    echo "bindings-node/$f differs from what napi generates: run \`npm run build\` in bindings-node and commit it" >&2
    drift=1
  fi
done

BW_NAPI_GENERATED_DIR="$gen" node --test __test__/
npx tsc -p __test__/types
npx tsc -p ../examples/node
echo "tsc: index.d.ts type tests and examples/node compile under --strict"
exit "$drift"
