'use strict'
// Fallback (strategies, rules, the response cache) in a Policy, HealthRegistry running checks on
// their intervals with timeouts, and the Prometheus exposition; on a ManualClock except where the
// test is about real (unreferenced) timers.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const bw = require('..')

const { ManualClock, Policy, CircuitBreaker, Retry, Fallback, DegradationManager, ResponseCache, HealthRegistry, ConfigError } = bw
const down = () => Promise.reject(Object.assign(new Error('model overloaded'), { status: 503 }))
const tick = () => new Promise((r) => setImmediate(r))

test('Fallback: the cached response of the same call serves (stale after its TTL), rules pick strategies, info tells how', async () => {
  const clock = new ManualClock()
  const fallback = new Fallback({
    clock,
    cache: { ttl: 1000 },
    rules: [{ name: 'open-uses-offline', conditions: { reasons: ['circuit_breaker_open'] }, strategy: 'offline', priority: 0 }],
    strategies: [
      { name: 'cache', kind: 'cached_response', priority: 1 },
      { name: 'offline', kind: 'offline_response', priority: 5, value: { text: 'try later' } },
      {
        name: 'smaller-model',
        kind: 'fallback_target',
        priority: 3,
        canHandle: (ctx) => ctx.trigger === 'timeout',
        execute: (ctx) => ({ text: `small model answered ${ctx.context.prompt}` }),
      },
    ],
  })
  const breaker = new CircuitBreaker('llm', { failureThreshold: 3, recoveryTimeout: 60000, clock })
  const policy = new Policy({ breaker, retry: new Retry({ maxAttempts: 1, clock }), fallback, clock })
  const complete = async (ctx) => {
    if (ctx.fail) return down()
    if (ctx.slow) throw Object.assign(new Error('slow'), { code: 'ETIMEDOUT' })
    return { text: `answer to ${ctx.prompt}` }
  }
  let live = true
  // One function: the cache key is the function's identity plus the context (contract section 6).
  const completion = (ctx) => complete({ ...ctx, fail: !live })
  const call = (prompt) => policy.executeWithInfo(completion, { prompt })

  assert.equal((await call('a')).value.text, 'answer to a')
  assert.equal(fallback.cache.size, 1, 'the live answer was kept')
  live = false
  const fresh = await call('a')
  assert.deepEqual([fresh.value.text, fresh.fromFallback, fresh.strategy, fresh.kind, fresh.reason, fresh.stale], ['answer to a', true, 'cache', 'cached_response', 'error_rate', false])
  clock.advance(1000)
  const stale = await call('a')
  assert.deepEqual([stale.value.text, stale.stale], ['answer to a', true], 'stale-if-error')
  const other = await call('b')
  assert.deepEqual([other.value.text, other.strategy], ['try later', 'offline'], 'nothing cached for b: the next strategy by priority')
  assert.equal(breaker.state, 'open')
  const rejected = await call('a')
  assert.deepEqual([rejected.strategy, rejected.reason, rejected.attempts], ['offline', 'circuit_breaker_open', 0], 'the rule for an open circuit')
  breaker.forceClose()
  const slow = await policy.executeWithInfo((ctx) => complete({ ...ctx, slow: true }), { prompt: 'c' })
  assert.deepEqual([slow.value.text, slow.strategy], ['small model answered c', 'smaller-model'], 'canHandle takes timeouts')

  const m = fallback.manager
  assert.equal(m.level('llm'), 'significant')
  const stats = m.statistics()
  assert.equal(stats.callsServed, 5)
  assert.equal(stats.totalTriggered, 1)
  // A live success recovers the component (its breaker is closed).
  live = true
  await call('d')
  assert.equal(m.level('llm'), 'none')
  assert.equal(m.history()[0].recovery, 'auto')
})

test('Fallback: no strategy serves: the last-resort function, else the error itself', async () => {
  const clock = new ManualClock()
  const withFn = new Fallback({ clock, fallback: (err, ctx, info) => `fn:${err.code ?? err.message}:${info.trigger}` })
  assert.equal(await withFn.execute(down), 'fn:model overloaded:error_rate')
  const info = await withFn.executeWithInfo(down)
  assert.deepEqual([info.fromFallback, info.strategy, info.reason], [true, undefined, 'error_rate'])
  const bare = new Fallback({ clock })
  await assert.rejects(bare.execute(down), /model overloaded/)
  assert.equal(bare.manager.level('fallback'), 'partial', 'the component is still recorded as degraded')
  assert.throws(() => new Fallback({ strategies: [{ name: 's', kind: 'offline_response' }] }), (e) => e instanceof ConfigError && e.key === 'execute')
  assert.throws(() => new Fallback({ cache: { ttl: 0 } }), (e) => e instanceof ConfigError && e.key === 'ttl')
  assert.throws(() => new DegradationManager({ rules: [{ conditions: { reasons: [] }, strategy: 'x' }] }), (e) => e instanceof ConfigError && /rules\[0\]/.test(e.key))
})

test('DegradationManager follows a breaker; events; forced recovery', () => {
  const clock = new ManualClock()
  const m = new DegradationManager({ clock, autoRecovery: true })
  const cb = new CircuitBreaker('search', { failureThreshold: 1, clock })
  const off = m.watch(cb)
  const events = []
  m.on('degradationTriggered', (e) => events.push(`${e.kind}:${e.component}:${e.reason}:${e.severity}`))
  m.on('degradationRecovered', (e) => events.push(`${e.kind}:${e.component}:${e.duration}`))
  cb.forceOpen()
  assert.equal(m.level('search'), 'significant')
  clock.advance(250)
  cb.forceClose()
  assert.equal(m.level('search'), 'none')
  assert.deepEqual(events, ['degradation_triggered:search:circuit_breaker_open:significant', 'degradation_recovered:search:250'])
  off()
  m.trigger('ops', 'manual', 'critical')
  assert.equal(m.overallLevel, 'critical')
  assert.equal(m.forceRecoveryAll(), 1)
})

test('ResponseCache: TTL, LRU, stale-if-error; values stay as given', () => {
  const clock = new ManualClock()
  const c = new ResponseCache({ ttl: 100, maxEntries: 2, clock })
  const obj = { big: [1, 2, 3] }
  assert.deepEqual(c.put('a', obj), { replaced: undefined, evicted: undefined })
  c.put('b', 2)
  assert.equal(c.get('a'), obj, 'the same object')
  assert.deepEqual(c.put('c', 3), { replaced: undefined, evicted: 'b' })
  clock.advance(100)
  assert.equal(c.get('a'), undefined)
  assert.deepEqual(c.onError('a'), { value: obj, stale: true })
  assert.equal(c.status('zzz'), undefined)
  assert.deepEqual(c.stats(), { entries: 2, hits: 1, staleHits: 1, misses: 1, evictions: 1 })
  assert.deepEqual(c.purgeExpired(), ['c', 'a'])
  assert.equal(c.size, 0)
})

test('HealthRegistry runs checks on their intervals with timeouts; dependencies; events', async () => {
  const clock = new ManualClock()
  const health = new HealthRegistry({ clock, interval: 1000, timeout: 100, failureThreshold: 2 })
  const changes = []
  health.on('healthChanged', (e) => changes.push(`${e.component}:${e.reason}`))
  let dbUp = true
  let runs = 0
  health.register('db', async () => {
    runs++
    return dbUp ? 'healthy' : { status: 'unhealthy', message: 'connection refused' }
  })
  health.register('cache', ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('healthy'))), { critical: false })
  await tick()
  await tick()
  assert.equal(runs, 1, 'the first run is at once')
  assert.equal(health.check('db').status, 'healthy')
  clock.advance(100)
  await tick()
  assert.equal(health.check('cache').last.timedOut, true, 'a run past its timeout is a failed report')
  dbUp = false
  clock.advance(900)
  await tick()
  await tick()
  assert.equal(runs, 2)
  assert.equal(health.check('db').failing, false, 'one failure is below the threshold')
  clock.advance(1000)
  await tick()
  await tick()
  assert.equal(health.check('db').failing, true)
  assert.equal(health.ready, false)
  assert.ok(changes.includes('db:unhealthy'))
  const breaker = new CircuitBreaker('payments', { clock })
  health.addBreaker(breaker)
  breaker.forceOpen()
  assert.equal(health.check('payments').status, 'unhealthy')
  health.stop()
  const before = runs
  clock.advance(10_000)
  await tick()
  assert.equal(runs, before, 'stopped')
  assert.throws(() => health.report('nope', 'healthy'), (e) => e.code === 'INVALID_ARGUMENT')
  assert.throws(() => new HealthRegistry({ interval: 0 }), (e) => e instanceof ConfigError && e.key === 'interval')
})

test('HealthRegistry timers never keep the process alive', () => {
  const script = `
    const { HealthRegistry } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
    const h = new HealthRegistry({ interval: 60000, timeout: 1000 })
    h.register('forever', () => new Promise(() => {}))
    setTimeout(() => { console.log('ran:' + h.check('forever').reportsTotal) }, 50)
  `
  const t0 = Date.now()
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /ran:0/)
  assert.ok(Date.now() - t0 < 15000, 'the process exited on its own')
})

test('prometheus(): breakers, policies, limits, degradation and health in one exposition', async () => {
  const clock = new ManualClock()
  const cb = new CircuitBreaker('prom.llm', { clock })
  const policy = new Policy({ breaker: cb, clock })
  await policy.execute(async () => 1)
  const m = new DegradationManager({ clock })
  m.trigger('prom.llm', 'timeout')
  const health = new HealthRegistry({ clock })
  health.register('db')
  health.report('db', 'healthy')
  const text = bw.prometheus({
    breakers: cb,
    policies: [policy],
    rateLimiters: new bw.RateLimiter({ name: 'api', clock }),
    bulkheads: new bw.Bulkhead({ name: 'pool' }),
    degradation: m,
    health,
  })
  for (const line of [
    'breakwater_circuit_breaker_state{component="prom.llm",state="closed"} 1',
    'breakwater_circuit_breaker_calls_total{component="prom.llm",outcome="success"} 1',
    'breakwater_policy_calls_total{component="prom.llm",result="value"} 1',
    'breakwater_rate_limiter_tokens_available{component="api"} 100',
    'breakwater_bulkhead_max_concurrent{component="pool"} 25',
    'breakwater_degradation_level{component="prom.llm"} 1',
    'breakwater_health_ready 1',
  ]) {
    assert.ok(text.includes(line), `missing: ${line}`)
  }
  assert.equal(bw.prometheus.contentType, 'text/plain; version=0.0.4; charset=utf-8')
  bw.registry.getAgentCircuitBreaker('prom.shared')
  assert.ok(bw.prometheus().includes('component="prom.shared"'), 'the process-wide registry by default')
})

test("Policy 'fallback' events: a strategy or the plain fallback function served; not when nothing serves or it throws", async () => {
  const clock = new ManualClock()
  const events = []
  const plain = new Policy({ name: 'svc', clock, retry: new Retry({ maxAttempts: 2, baseDelay: 100, jitter: 'none', clock }), fallback: () => 'plain' })
  plain.on('fallback', (e) => events.push(e))
  assert.equal(await plain.execute(down), 'plain')
  assert.equal(events.length, 1, 'delivered before the call resolves')
  const { at, ...rest } = events[0]
  assert.equal(typeof at, 'number')
  assert.deepEqual(rest, { kind: 'fallback', component: 'svc', reason: 'error_rate', attempt: 2, category: 'server' })

  const fallback = new Fallback({ clock, strategies: [{ name: 'offline', kind: 'offline_response', value: 'later' }] })
  const viaStrategy = new Policy({ name: 'llm', clock, fallback })
  viaStrategy.on('fallback', (e) => events.push(e))
  const info = await viaStrategy.executeWithInfo(down)
  assert.equal(info.strategy, 'offline')
  assert.deepEqual([events.length, events[1].component, events[1].strategy, events[1].reason, events[1].attempt], [2, 'llm', 'offline', 'error_rate', 1])

  const throwing = new Policy({ name: 't', clock, fallback: () => { throw new Error('fallback failed') } })
  throwing.on('fallback', (e) => events.push(e))
  await assert.rejects(throwing.execute(down), /fallback failed/)
  const none = new Policy({ name: 'n', clock, fallback: new Fallback({ clock }) })
  none.on('fallback', (e) => events.push(e))
  await assert.rejects(none.execute(down), /model overloaded/)
  assert.equal(events.length, 2, 'nothing served: no event')
  // Calls at their fallback step are ended either way (a second run works the same).
  assert.equal(await plain.execute(down), 'plain')
  assert.equal(events.length, 3)
  assert.throws(() => new Retry().on('fallback', () => {}), TypeError)
})
