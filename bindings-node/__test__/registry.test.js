'use strict'
// Registry: layering (defaults, agentSpecific, code arguments), the seed API, files (JSON and
// TOML) and environment variables, reload, bounds, policies built from a document, and the
// process-wide registry.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Registry, registry, ManualClock, CircuitBreaker, ConfigError, CircuitOpenError, RetryError, RateLimitedError, Policy, Retry } = require('..')

const boom = () => Promise.reject(Object.assign(new Error('upstream down'), { status: 503 }))

const SEED = {
  circuitBreakers: {
    defaults: { failureThreshold: 5, timeout: 60000, halfOpenMaxCalls: 3 },
    agentSpecific: { architect: { failureThreshold: 3, timeout: 30000 } },
  },
  retry: { defaults: { max_attempts: 3, jitter: 'none', base_delay_ms: 100 }, agentSpecific: {} },
  healthChecks: { enabled: true, interval: 30000, timeout: 5000 },
  monitoring: { enabled: true, port: 3001 },
}

async function trip(cb, n) {
  for (let i = 0; i < n; i++) await cb.execute(boom).catch(() => {})
}

test('layering: defaults, then agentSpecific, then code arguments; one breaker per name', async () => {
  const clock = new ManualClock()
  const reg = Registry.fromObject(SEED, { clock })
  const architect = reg.getAgentCircuitBreaker('architect', { successThreshold: 1 })
  assert.equal(architect, reg.breaker('architect'), 'the same wrapper by name')
  assert.equal(architect.clock, clock, "components run on the registry's clock")
  await trip(architect, 2)
  assert.equal(architect.state, 'closed')
  await trip(architect, 1)
  assert.equal(architect.state, 'open', 'agentSpecific failureThreshold 3')
  assert.equal(architect.snapshot().retryAfter, 30000, 'agentSpecific timeout = recovery timeout')
  const other = reg.breaker('writer')
  await trip(other, 4)
  assert.equal(other.state, 'closed', 'defaults: failureThreshold 5')
  clock.advance(30000)
  await architect.execute(async () => 'ok')
  assert.equal(architect.state, 'closed', 'code argument successThreshold 1')
  // Code arguments apply only when the name is first made.
  const again = reg.getAgentCircuitBreaker('architect', { failureThreshold: 1 })
  assert.equal(again, architect)
})

test('the seed API: timeout is the recovery timeout there, and only there', async () => {
  const clock = new ManualClock()
  const reg = new Registry({ clock })
  const sec = reg.getAgentCircuitBreaker('security', { failureThreshold: 2, timeout: 120000 })
  await trip(sec, 2)
  const status = reg.getCircuitBreakerStatus('security')
  assert.equal(status.state, 'open')
  assert.equal(status.retryAfter, 120000)
  assert.equal(status.failuresTotal, 2)
  assert.equal(reg.getCircuitBreakerStatus('nobody'), undefined, 'no breaker is made by reading')
  assert.deepEqual(reg.breakerNames(), ['security'])
  assert.equal(reg.forceCloseCircuitBreaker('security'), true)
  assert.equal(sec.state, 'closed')
  assert.equal(reg.forceOpenCircuitBreaker('security'), true)
  await assert.rejects(sec.execute(async () => 1), (e) => e instanceof CircuitOpenError && e.state === 'forced_open')
  assert.equal(reg.resetCircuitBreaker('security'), true)
  assert.equal(reg.getCircuitBreakerStatus('security').failuresTotal, 0)
  assert.equal(reg.forceCloseCircuitBreaker('nobody'), false)
  assert.throws(() => reg.breaker('x', { timeout: 1000 }), (e) => e instanceof ConfigError && e.key === 'timeout' && /recoveryTimeout/.test(e.allowed))
  assert.throws(() => new CircuitBreaker('x', { timeout: 1000 }), (e) => e instanceof ConfigError && e.key === 'timeout')
  assert.throws(() => reg.getAgentCircuitBreaker('y', { failureThreshold: -1 }), (e) => e instanceof ConfigError && e.key === 'failureThreshold' && e.value === -1)
  assert.throws(() => reg.getAgentCircuitBreaker('y', { clock }), (e) => e instanceof ConfigError && e.key === 'clock')
  assert.throws(() => reg.breaker(''), (e) => e instanceof ConfigError && e.key === 'name')
})

test('manual operations through the registry reach listeners synchronously', () => {
  const reg = new Registry({ clock: new ManualClock() })
  const cb = reg.breaker('a')
  const seen = []
  cb.on('stateChange', (e) => seen.push(`${e.from}->${e.to}:${e.reason}`))
  reg.forceOpenCircuitBreaker('a')
  reg.forceCloseCircuitBreaker('a')
  assert.deepEqual(seen, ['closed->forced_open:manual', 'forced_open->closed:manual'])
})

test('config errors name the key as written, with the value as given', () => {
  assert.throws(
    () => Registry.fromObject({ circuitBreakers: { agentSpecific: { architect: { failureThreshold: 'three' } } } }),
    (e) =>
      e instanceof ConfigError &&
      e.code === 'CONFIG_INVALID' &&
      e.key === 'failureThreshold' &&
      e.path === 'circuitBreakers.agentSpecific.architect.failureThreshold' &&
      e.value === 'three' &&
      e.errors[0].path === e.path &&
      e.errors[0].key === 'failureThreshold',
  )
  // Outside a document the path is the key, in every problem.
  assert.throws(
    () => new CircuitBreaker('x', { failureThreshold: -1, window: { size: 0 } }),
    (e) =>
      e instanceof ConfigError &&
      e.path === 'failureThreshold' &&
      JSON.stringify(e.errors.map((x) => [x.key, x.path])) === JSON.stringify([['failureThreshold', 'failureThreshold'], ['window.size', 'window.size']]),
  )
  assert.throws(
    () => Registry.fromObject({ circuitBreakers: { defaults: { window: { size: 0 } } }, retry: { defaults: { maxAttempts: 0 } } }),
    (e) =>
      e instanceof ConfigError &&
      e.key === 'window.size' &&
      JSON.stringify(e.errors.map((x) => x.path)) === JSON.stringify(['circuitBreakers.defaults.window.size', 'retry.defaults.maxAttempts']),
  )
  assert.throws(() => Registry.fromObject({ circuitBreaker: {} }), (e) => e instanceof ConfigError && e.key === 'circuitBreaker' && /circuitBreakers/.test(e.allowed))
  assert.throws(() => Registry.fromObject([]), (e) => e instanceof ConfigError)
  assert.throws(() => new Registry({ maxSize: 0 }), (e) => e instanceof ConfigError && e.key === 'maxSize')
  assert.throws(() => new Registry({ clock: {} }), (e) => e instanceof ConfigError && e.key === 'clock')
  assert.throws(() => new Registry({ idelTtl: 5 }), (e) => e instanceof ConfigError && e.key === 'idelTtl')
})

test('fromFile reads JSON and TOML (by extension); env applies variables on top', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-reg-'))
  try {
    const json = path.join(dir, 'breakwater.json')
    fs.writeFileSync(json, JSON.stringify(SEED))
    const toml = path.join(dir, 'breakwater.toml')
    fs.writeFileSync(toml, '[circuit_breakers.defaults]\nfailure_threshold = 2\nrecovery_timeout_ms = 5000\n\n[circuit_breakers.agent_specific.architect]\nfailure_threshold = 1\n')
    const clock = new ManualClock()
    const a = Registry.fromFile(json, { clock })
    await trip(a.breaker('architect'), 3)
    assert.equal(a.breaker('architect').state, 'open')
    const b = Registry.fromFile(toml, { clock })
    await trip(b.breaker('architect'), 1)
    assert.equal(b.breaker('architect').state, 'open')
    assert.equal(b.getCircuitBreakerStatus('architect').retryAfter, 5000)
    await trip(b.breaker('other'), 2)
    assert.equal(b.breaker('other').state, 'open')
    const c = Registry.fromFile(toml, { clock, env: { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '4', UNRELATED: 'x' } })
    await trip(c.breaker('other'), 3)
    assert.equal(c.breaker('other').state, 'closed', 'the variable overrides the file')
    assert.throws(
      () => Registry.fromFile(toml, { env: { CIRCUIT_BREAKER_FAILURE_TRESHOLD: '4' } }),
      (e) => e instanceof ConfigError && e.key === 'CIRCUIT_BREAKER_FAILURE_TRESHOLD' && /CIRCUIT_BREAKER_FAILURE_THRESHOLD/.test(e.allowed),
    )
    fs.writeFileSync(toml, 'not = [toml')
    assert.throws(() => Registry.fromFile(toml), (e) => e instanceof ConfigError && /TOML/.test(String(e.value)))
    assert.throws(() => Registry.fromFile(path.join(dir, 'missing.json')), (e) => e.code === 'ENOENT')
    process.env.CIRCUIT_BREAKER_FAILURE_THRESHOLD = '1'
    try {
      const d = Registry.fromObject({}, { clock, env: true })
      await trip(d.breaker('x'), 1)
      assert.equal(d.breaker('x').state, 'open', 'env: true reads process.env')
    } finally {
      delete process.env.CIRCUIT_BREAKER_FAILURE_THRESHOLD
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('policy(name): breaker and retry from the document, a rate limiter when it has that section', async () => {
  const clock = new ManualClock()
  const reg = Registry.fromObject(
    {
      circuitBreakers: { defaults: { failureThreshold: 2 } },
      retry: { defaults: { maxAttempts: 2, jitter: 'none', baseDelay: 100 } },
      rateLimiters: { defaults: { maxRequests: 2, timeWindow: 1000 } },
    },
    { clock },
  )
  const p = reg.policy('llm')
  assert.ok(p instanceof Policy)
  assert.equal(p, reg.policy('llm'), 'cached until a reload')
  assert.equal(p.breaker, reg.breaker('llm'))
  assert.ok(p.retry instanceof Retry)
  assert.equal(p.rateLimiter.name, 'llm')
  assert.equal(p.bulkhead, undefined)
  const retries = []
  p.on('retry', (e) => retries.push(e.delay))
  await assert.rejects(p.execute(boom), (e) => e instanceof RetryError && e.attempts === 2)
  assert.deepEqual(retries, [100])
  assert.equal(reg.breaker('llm').state, 'open')
  await assert.rejects(p.execute(async () => 1), (e) => e instanceof CircuitOpenError)
  reg.forceCloseCircuitBreaker('llm')
  // Two tokens per second: both went to the attempts (at 0 and, after the 100 ms backoff, at 100).
  await assert.rejects(p.execute(async () => 1), (e) => e instanceof RateLimitedError && e.retryAfter === 400 && e.component === 'llm')
  // Options: a per-attempt timeout and a fallback.
  const q = reg.policy('other', { fallback: (err) => `fallback: ${err.code ?? err.message}` })
  assert.notEqual(q, reg.policy('other', {}))
  assert.equal(await q.execute(boom), 'fallback: RETRY_EXHAUSTED')
  assert.throws(() => reg.policy('z', { timeout: -1 }), (e) => e instanceof ConfigError && e.key === 'timeout')
})

test('reload: breakers keep their state and take the new config; parts are rebuilt; invalid changes nothing', async () => {
  const clock = new ManualClock()
  const reg = Registry.fromObject({ circuitBreakers: { defaults: { failureThreshold: 2 } }, retry: { defaults: { maxAttempts: 1 } } }, { clock })
  const cb = reg.breaker('svc')
  await trip(cb, 1)
  const p = reg.policy('svc')
  const gen = reg.generation
  reg.reload({ circuitBreakers: { defaults: { failureThreshold: 3 } }, retry: { defaults: { maxAttempts: 2, jitter: 'none', baseDelay: 10 } } })
  assert.equal(reg.generation, gen + 1)
  assert.equal(reg.breaker('svc'), cb)
  await trip(cb, 1)
  assert.equal(cb.state, 'closed', 'two failures of three: the count went on')
  await trip(cb, 1)
  assert.equal(cb.state, 'open')
  const p2 = reg.policy('svc')
  assert.notEqual(p2, p, 'a new policy with the rebuilt retry policy')
  assert.throws(
    () => reg.reload({ circuitBreakers: { defaults: { failureThreshold: -3 } } }),
    (e) => e instanceof ConfigError && e.key === 'failureThreshold' && e.path === 'circuitBreakers.defaults.failureThreshold' && e.value === -3,
  )
  assert.equal(reg.generation, gen + 1, 'an invalid document changes nothing')
  reg.reload({ circuitBreakers: { enabled: false } })
  assert.equal(cb.state, 'disabled', 'a section switched off makes breakers pass-throughs')
})

test('bounds: the least recently used closed breaker goes; an open one stays', async () => {
  const clock = new ManualClock()
  const reg = new Registry({ clock, maxSize: 2 })
  const a = reg.getAgentCircuitBreaker('a', { failureThreshold: 1 })
  await trip(a, 1)
  clock.advance(1)
  const b = reg.breaker('b')
  clock.advance(1)
  reg.breaker('c')
  assert.deepEqual(reg.breakerNames(), ['a', 'c'])
  assert.equal(reg.breaker('a'), a)
  assert.notEqual(reg.breaker('b'), b, 'a dropped name made again is a new breaker')
})

test('the process-wide registry is one registry, with the system clock', () => {
  const { registry: again } = require('..')
  assert.equal(again, registry)
  assert.equal(registry.processWide, true)
  assert.equal(registry.clock, undefined)
  const cb = registry.getAgentCircuitBreaker('registry.test.pw', { failureThreshold: 1 })
  assert.equal(registry.breaker('registry.test.pw'), cb)
  assert.ok(registry.breakerNames().includes('registry.test.pw'))
  assert.equal(new Registry().processWide, false)
})
