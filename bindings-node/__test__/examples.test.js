'use strict'
// Compiles the TypeScript examples in examples/node (tsc, strict) and runs them.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const PKG = path.resolve(__dirname, '..')
const EXAMPLES = path.resolve(PKG, '../examples/node')
const TSC = path.join(PKG, 'node_modules/typescript/bin/tsc')

let outDir
test('the examples compile under --strict', { skip: !fs.existsSync(TSC) && 'typescript is not installed (npm install)' }, () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-examples-'))
  execFileSync(process.execPath, [TSC, '-p', EXAMPLES, '--noEmit', 'false', '--outDir', outDir], { stdio: 'pipe' })
  // The compiled examples `require('breakwater')`: point that at this package.
  fs.mkdirSync(path.join(outDir, 'node_modules'))
  fs.symlinkSync(PKG, path.join(outDir, 'node_modules', 'breakwater'), 'dir')
})

test('agent_manager: a failing agent opens its breaker, rests, and recovers', async (t) => {
  if (outDir === undefined) return t.skip('not compiled')
  const lines = []
  const transitions = await require(path.join(outDir, 'agent_manager.js')).main((l) => lines.push(l))
  assert.deepEqual(transitions, [
    'security: closed -> open (consecutive_failures)',
    'security: open -> half_open (recovery_timeout)',
    'security: half_open -> open (probe_failed)',
    'security: open -> half_open (recovery_timeout)',
    'security: half_open -> closed (probes_succeeded)',
  ])
  assert.ok(lines.some((l) => l.includes('security is resting')))
})

test('guarded_fetch: 5xx responses open the breaker, recovery closes it, a cancelled call counts nothing', async (t) => {
  if (outDir === undefined) return t.skip('not compiled')
  const outcomes = await require(path.join(outDir, 'guarded_fetch.js')).main(() => {}, new (require('breakwater').ManualClock)())
  assert.deepEqual(outcomes, ['failed:server', 'failed:server', 'failed:server', 'rejected:open', 'rejected:open', 'ok:hello', 'cancelled:AbortError'])
})

test('registry_agents: wrapAgentManager over a registry; security rests, falls back, and recovers', async (t) => {
  if (outDir === undefined) return t.skip('not compiled')
  const lines = []
  const transitions = await require(path.join(outDir, 'registry_agents.js')).main((l) => lines.push(l))
  assert.deepEqual(transitions, [
    'closed -> open (consecutive_failures)',
    'open -> half_open (recovery_timeout)',
    'half_open -> open (probe_failed)',
    'open -> half_open (recovery_timeout)',
    'half_open -> open (probe_failed)',
    'open -> half_open (recovery_timeout)',
    'half_open -> closed (probes_succeeded)',
  ])
  assert.ok(lines.some((l) => l.includes('[fallback] security is unavailable (circuit_open)')))
  assert.equal(lines.at(-1), 'security: closed, 4 failures, opened 3x; agent calls made: 14')
})
