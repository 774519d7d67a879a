'use strict'
// Runs the `document` scenarios in conformance/scenarios/document/ through the public JS API
// (`Document.fromObject`, `withEnv`, and the read-back methods: configs in canonical
// config-file spelling), as bindings-python/tests/test_conformance.py does. Anything the JS API
// cannot express is reported as skipped, with the reason, and counted in the summary.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const bw = require('..')

const DIR = path.resolve(__dirname, '../../conformance/scenarios/document')

// Exact, like the Python runner: objects must have exactly the expected keys.
const same = (got, want) => {
  if (typeof want === 'boolean' || typeof got === 'boolean') return got === want
  if (typeof want === 'number') return typeof got === 'number' && Math.abs(got - want) <= 1e-9
  if (want === null) return got === null || got === undefined
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => same(got[i], w))
  if (typeof want === 'object') {
    return got !== null && typeof got === 'object' && !Array.isArray(got) && Object.keys(got).length === Object.keys(want).length && Object.keys(want).every((k) => k in got && same(got[k], want[k]))
  }
  return got === want
}

const OPS = {
  breaker_config: ['breakerConfig', 'circuit_breakers'],
  retry_config: ['retryConfig', 'retry'],
  rate_limiter_config: ['rateLimiterConfig', 'rate_limiters'],
  bulkhead_config: ['bulkheadConfig', 'bulkheads'],
}

/** What is wrong with ConfigError `e` against an expectation, or undefined. */
function errorMismatch(e, want) {
  if (!(e instanceof bw.ConfigError)) return `expected a ConfigError, got ${e}`
  if (want.code !== undefined && e.code !== want.code) return `code ${e.code} != ${want.code}`
  const paths = e.errors.map((x) => x.path)
  if (want.key !== undefined && e.key !== want.key) return `key ${e.key} != ${want.key} (${e.message})`
  if (want.path !== undefined && e.path !== want.path) return `path ${e.path} != ${want.path} (all: ${paths})`
  if (want.paths !== undefined && !same(paths, want.paths)) return `paths ${JSON.stringify(paths)} != ${JSON.stringify(want.paths)}`
  const w = want.value
  const marker = typeof w === 'string' && w.startsWith('(') && w.endsWith(')')
  if (w !== undefined && w !== null && !marker && String(e.value) !== w && JSON.stringify(e.value) !== w) {
    return `value ${JSON.stringify(e.value)} != ${JSON.stringify(w)}`
  }
  const allowed = e.allowed ?? ''
  if (want.allowed !== undefined && !allowed.includes(want.allowed)) return `allowed ${JSON.stringify(allowed)} does not mention ${JSON.stringify(want.allowed)}`
  if ('hint' in want) {
    const hinted = allowed.includes('did you mean')
    if (want.hint === null && hinted) return `unexpected hint in ${JSON.stringify(allowed)}`
    if (want.hint !== null && !(hinted && allowed.includes(want.hint))) return `no hint ${JSON.stringify(want.hint)} in ${JSON.stringify(allowed)}`
  }
  return undefined
}

function runDocument(doc) {
  const failures = []
  const fail = (i, msg) => failures.push(`step ${i}: ${msg}`)
  let d
  try {
    d = bw.Document.fromObject(doc.config)
  } catch (e) {
    if (!doc.config_error) return [`config rejected: ${e.message}`]
    const m = errorMismatch(e, doc.config_error)
    return m ? [m] : []
  }
  if (doc.config_error) return ['document accepted']
  // A registry made from the same object reads the same document back.
  const viaRegistry = bw.Registry.fromObject(doc.config).document
  if (!same(viaRegistry.raw, d.raw)) failures.push('Registry.fromObject(...).document differs from Document.fromObject(...)')
  for (const [i, step] of (doc.steps ?? []).entries()) {
    const want = step.expect ?? {}
    let err
    if (step.op === 'parse' || step.op === 'env') {
      try {
        d = step.op === 'parse' ? bw.Document.fromObject(step.document) : d.withEnv(step.vars)
      } catch (e) {
        err = e
      }
    } else if (step.op in OPS) {
      const [method, section] = OPS[step.op]
      const got = d[method](step.name)
      if (want.config !== undefined) {
        for (const [k, w] of Object.entries(want.config)) {
          if (!(k in got)) fail(i, `config has no field ${k} (${Object.keys(got)})`)
          else if (!same(got[k], w)) fail(i, `config.${k} = ${JSON.stringify(got[k])}, expected ${JSON.stringify(w)}`)
        }
      }
      if (want.enabled !== undefined && d.enabled(section) !== want.enabled) fail(i, `enabled ${d.enabled(section)} != ${want.enabled}`)
      if (want.overrides !== undefined && !same(d.overrides(section), want.overrides)) {
        fail(i, `overrides ${JSON.stringify(d.overrides(section))} != ${JSON.stringify(want.overrides)}`)
      }
    } else if (step.op === 'monitoring') {
      const got = d.monitoring
      for (const [k, w] of Object.entries(want.config ?? {})) {
        if (!(k in got)) fail(i, `monitoring has no field ${k}`)
        else if (!same(got[k], w)) fail(i, `monitoring.${k} = ${JSON.stringify(got[k])}, expected ${JSON.stringify(w)}`)
      }
    } else if (step.op === 'section') {
      const got = d.section(step.section)
      if ('value' in want && !same(got, want.value)) fail(i, `section ${JSON.stringify(got)} != ${JSON.stringify(want.value)}`)
    } else {
      fail(i, `unknown op ${step.op}`)
    }
    if (want.error !== undefined) {
      if (err === undefined) fail(i, `accepted, expected error ${JSON.stringify(want.error)}`)
      else {
        const m = errorMismatch(err, want.error)
        if (m) fail(i, m)
      }
    } else if (err !== undefined) fail(i, `rejected: ${err.message}`)
  }
  return failures
}

const counts = { run: 0, skipped: 0 }
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()
for (const f of files) {
  const doc = JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8'))
  if (doc.component !== 'document') continue
  test(`document/${f}`, () => {
    const failures = runDocument(doc)
    counts.run++
    assert.deepEqual(failures, [], `${doc.name}\n  ${failures.join('\n  ')}`)
  })
}

test('conformance summary (document)', () => {
  console.log(`# document: ${counts.run} run, ${counts.skipped} skipped`)
  assert.equal(counts.run + counts.skipped, files.length)
})
