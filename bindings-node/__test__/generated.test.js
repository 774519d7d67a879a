'use strict'
// The generated loader and its types (native.js, native.d.ts) are committed; they must be what
// napi generates from the current Rust code. test.sh builds into a scratch directory and points
// BW_NAPI_GENERATED_DIR at it.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const dir = process.env.BW_NAPI_GENERATED_DIR
for (const file of ['native.js', 'native.d.ts']) {
  test(`${file} matches what napi generates`, { skip: !dir && 'BW_NAPI_GENERATED_DIR is unset (run bindings-node/test.sh)' }, () => {
    const committed = fs.readFileSync(path.join(__dirname, '..', file), 'utf8')
    const fresh = fs.readFileSync(path.join(dir, file), 'utf8')
    assert.ok(committed === fresh, `${file} drifted from the Rust code: run \`npm run build\` in bindings-node and commit it`)
  })
}
