'use strict'
// The CircuitBreaker API: execute, wrap, events, errors, AbortSignal, classification, options.
// Time is a ManualClock: no test sleeps to wait for a state change.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { getEventListeners } = require('node:events')
const bw = require('breakwater')
const { CircuitBreaker, ManualClock, CircuitOpenError, BreakwaterError, ConfigError } = bw

const fail = (fields) => Object.assign(new Error('boom'), fields)

function breaker(options = {}) {
  const clock = new ManualClock()
  return { clock, cb: new CircuitBreaker('svc', { clock, ...options }) }
}

async function rejects(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  assert.fail('expected a rejection')
}

function warnings() {
  const seen = []
  const onWarning = (w) => seen.push(w)
  process.on('warning', onWarning)
  return { seen, stop: () => process.off('warning', onWarning) }
}

test('execute passes the context through and calls fn(context, { signal, attempt })', async () => {
  const { cb } = breaker()
  const ctx = { agentName: 'architect', task: 'Design' }
  const got = await cb.execute(async (c, info) => {
    assert.equal(c, ctx)
    assert.equal(info.attempt, 1)
    assert.ok(info.signal instanceof AbortSignal)
    assert.equal(info.signal.aborted, false)
    return `${c.agentName}:${c.task}`
  }, ctx)
  assert.equal(got, 'architect:Design')
  assert.equal(await cb.execute(() => 42), 42, 'a sync function works too')
  assert.equal(cb.snapshot().successesTotal, 2)
})

test('the user error reaches the caller as the same object, sync throw included', async () => {
  const { cb } = breaker()
  const e1 = fail({ status: 500 })
  assert.equal(await rejects(cb.execute(async () => { throw e1 })), e1)
  const e2 = fail({ status: 502 })
  const p = cb.execute(() => { throw e2 })
  assert.ok(p instanceof Promise, 'a sync throw becomes a rejection, not a throw')
  assert.equal(await rejects(p), e2)
  const s = cb.snapshot()
  assert.equal(s.failuresTotal, 2)
  assert.equal(s.lastFailureCategory, 'server')
})

test('an open breaker rejects with a stackless CircuitOpenError carrying the code and retryAfter', async () => {
  const { cb, clock } = breaker({ failureThreshold: 2, recoveryTimeout: 1000 })
  for (let i = 0; i < 2; i++) await rejects(cb.execute(async () => { throw fail({ code: 'ECONNRESET' }) }))
  assert.equal(cb.state, 'open')
  clock.advance(400)
  let called = false
  const e = await rejects(cb.execute(async () => { called = true }))
  assert.equal(called, false)
  assert.ok(e instanceof CircuitOpenError)
  assert.ok(e instanceof BreakwaterError)
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'CircuitOpenError')
  assert.equal(e.code, 'CIRCUIT_OPEN')
  assert.equal(e.component, 'svc')
  assert.equal(e.state, 'open')
  assert.equal(e.retryAfter, 600)
  assert.equal(e.cause, undefined)
  assert.ok(!/\n\s+at /.test(e.stack), `no stack frames captured: ${e.stack}`)
  assert.match(e.message, /svc/)
  assert.equal(cb.snapshot().rejectedTotal, 1)
  assert.equal(cb.snapshot().retryAfter, 600)
})

test('forced open rejects without retryAfter; a full half-open rejects with 0', async () => {
  const { cb, clock } = breaker({ failureThreshold: 1, recoveryTimeout: 100, halfOpenMaxCalls: 1 })
  cb.forceOpen()
  let e = await rejects(cb.execute(() => 1))
  assert.equal(e.state, 'forced_open')
  assert.equal(e.retryAfter, undefined)
  assert.ok('retryAfter' in e)
  cb.forceClose()
  await rejects(cb.execute(() => { throw fail({ status: 503 }) }))
  clock.advance(100)
  let release
  const probe = cb.execute(() => new Promise((r) => { release = r }))
  e = await rejects(cb.execute(() => 1))
  assert.equal(e.state, 'half_open')
  assert.equal(e.retryAfter, 0)
  release('ok')
  assert.equal(await probe, 'ok')
})

test('wrap keeps parameters, this, name and length, and always returns a Promise', async () => {
  const { cb } = breaker()
  const obj = {
    factor: 3,
    scale(a, b) {
      return (a + b) * this.factor
    },
  }
  obj.guarded = cb.wrap(obj.scale)
  assert.equal(obj.guarded.name, 'scale')
  assert.equal(obj.guarded.length, 2)
  const p = obj.guarded(1, 2)
  assert.ok(p instanceof Promise)
  assert.equal(await p, 9)
  const boom = fail({ status: 503 })
  const throwing = cb.wrap(() => { throw boom })
  assert.equal(await rejects(throwing()), boom)
  assert.throws(() => cb.wrap(42), TypeError)
})

test('events: camelCase names in on(), snake_case kinds, component, wall-clock at; off() stops', async () => {
  const { cb, clock } = breaker({ failureThreshold: 1, recoveryTimeout: 1000, successThreshold: 1 })
  const seen = []
  const offs = ['stateChange', 'failure', 'success', 'callRejected'].map((n) => cb.on(n, (e) => seen.push(e)))
  clock.advance(5)
  await rejects(cb.execute(() => { throw fail({ status: 429 }) }))
  assert.deepEqual(seen, [
    { kind: 'failure', component: 'svc', at: 1767225600005, category: 'rate_limited', duration: 0 },
    { kind: 'state_change', component: 'svc', at: 1767225600005, from: 'closed', to: 'open', reason: 'consecutive_failures' },
  ])
  seen.length = 0
  await rejects(cb.execute(() => 1))
  assert.deepEqual(seen.map((e) => e.kind), ['call_rejected'])
  seen.length = 0
  clock.advance(1000)
  assert.equal(cb.state, 'half_open')
  assert.deepEqual(seen, [], 'reads are pure: no event before the next acquire')
  await cb.execute(() => {
    assert.deepEqual(seen.map((e) => e.to), ['half_open'], 'the lazy transition is delivered before fn runs')
    clock.advance(7)
  })
  assert.deepEqual(seen.slice(1), [
    { kind: 'success', component: 'svc', at: 1767225601012, duration: 7 },
    { kind: 'state_change', component: 'svc', at: 1767225601012, from: 'half_open', to: 'closed', reason: 'probes_succeeded' },
  ])
  for (const off of offs) {
    off()
    off() // idempotent
  }
  seen.length = 0
  cb.forceOpen()
  assert.deepEqual(seen, [])
  assert.throws(() => cb.on('state_change', () => {}), /did you mean 'stateChange'/)
  assert.throws(() => cb.on('stateChange', 'nope'), TypeError)
})

test('a throwing listener is isolated and reported once; listeners may call back into the breaker', async () => {
  const { cb } = breaker({ failureThreshold: 1 })
  const w = warnings()
  let calls = 0
  cb.on('failure', () => {
    calls++
    throw new Error('listener bug')
  })
  const states = []
  cb.on('stateChange', (e) => {
    states.push([e.to, cb.state, cb.snapshot().timesOpened])
    if (e.to === 'open') cb.forceClose() // re-entrant manual control
  })
  const boom = fail({ status: 500 })
  assert.equal(await rejects(cb.execute(() => { throw boom })), boom)
  await rejects(cb.execute(() => { throw fail({ status: 500 }) }))
  await new Promise((r) => setImmediate(r))
  w.stop()
  assert.equal(calls, 2)
  assert.deepEqual(states, [['open', 'open', 1], ['closed', 'closed', 1], ['open', 'open', 2], ['closed', 'closed', 2]])
  const ours = w.seen.filter((x) => x.code === 'BREAKWATER_LISTENER_ERROR')
  assert.equal(ours.length, 1, 'logged once per listener')
  assert.match(ours[0].message, /listener bug/)
})

test('AbortSignal: cancelling releases the permit and counts nothing; no listener is left behind', async () => {
  const { cb, clock } = breaker({ failureThreshold: 1, recoveryTimeout: 100, halfOpenMaxCalls: 1 })
  // Open, then half-open with one probe slot, so a leaked permit would be visible.
  await rejects(cb.execute(() => { throw fail({ status: 500 }) }))
  clock.advance(100)
  const before = cb.snapshot()
  const ac = new AbortController()
  let seenSignal
  const p = cb.execute((ctx, { signal }) => {
    seenSignal = signal
    return new Promise(() => {}) // never settles on its own
  }, undefined, { signal: ac.signal })
  assert.equal(seenSignal, ac.signal)
  ac.abort()
  const e = await rejects(p)
  assert.equal(e, ac.signal.reason, 'the host\'s own cancellation error')
  assert.equal(e.name, 'AbortError')
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  const after = cb.snapshot()
  assert.equal(after.callsTotal, before.callsTotal)
  assert.equal(after.ignoredTotal, 0)
  assert.equal(after.state, 'half_open')
  // The probe slot is free again: the next call is admitted as the probe.
  assert.equal(await cb.execute(() => 'probe'), 'probe')

  // An already-aborted signal: fn never runs, nothing is acquired.
  const ac2 = new AbortController()
  ac2.abort(new Error('stop'))
  let ran = false
  assert.equal((await rejects(cb.execute(() => { ran = true }, undefined, { signal: ac2.signal }))).message, 'stop')
  assert.equal(ran, false)

  // A signal that never fires: the listener is removed after the call.
  const ac3 = new AbortController()
  for (let i = 0; i < 50; i++) await cb.execute(async () => i, undefined, { signal: ac3.signal })
  assert.equal(getEventListeners(ac3.signal, 'abort').length, 0)
})

test('classification: defaults for status, statusCode, response.status, codes, AbortError; classify and isFailure hooks', async () => {
  const { cb } = breaker({ failureThreshold: 100 })
  const cases = [
    [fail({ status: 503 }), 'failure', 'server'],
    [fail({ statusCode: 429 }), 'failure', 'rate_limited'],
    [fail({ response: { status: 401 } }), 'failure', 'auth'],
    [fail({ response: { status: 404 } }), 'ignored', 'client'],
    [fail({ code: 'ECONNREFUSED' }), 'failure', 'network'],
    [new TypeError('fetch failed', { cause: fail({ code: 'ETIMEDOUT' }) }), 'failure', 'timeout'],
    [new DOMException('x', 'AbortError'), 'ignored', 'cancelled'],
    [new DOMException('x', 'TimeoutError'), 'failure', 'timeout'],
    [new Error('plain'), 'failure', 'unknown'],
    ['a string', 'failure', 'unknown'],
  ]
  for (const [err, kind, category] of cases) {
    const seen = []
    const offs = [cb.on('failure', (e) => seen.push(e)), cb.on('ignored', (e) => seen.push(e))]
    await rejects(cb.execute(() => { throw err }))
    offs.forEach((off) => off())
    assert.deepEqual(seen.map((e) => [e.kind, e.category]), [[kind, category]], String(err))
    assert.equal(bw.classifyError(err), category)
  }

  const hooked = breaker({ classify: (e) => (e.vendor ? 'external_api' : undefined), failureThreshold: 100 }).cb
  const cats = []
  hooked.on('failure', (e) => cats.push(e.category))
  await rejects(hooked.execute(() => { throw fail({ vendor: true, status: 500 }) }))
  await rejects(hooked.execute(() => { throw fail({ status: 500 }) }))
  assert.deepEqual(cats, ['external_api', 'server'])

  // Default isFailure: a fetch Response with a 5xx is a failure, but the caller still gets it.
  const res = new Response('down', { status: 503 })
  assert.equal(await cb.execute(() => res), res)
  assert.equal(cb.snapshot().lastFailureCategory, 'server')
  const ok = await cb.execute(() => new Response('fine', { status: 200 }))
  assert.equal(ok.status, 200)

  const custom = breaker({ isFailure: (r) => r.error !== undefined, failureThreshold: 1 }).cb
  assert.deepEqual(await custom.execute(() => ({ error: 'quota' })), { error: 'quota' })
  assert.equal(custom.state, 'open')
})

test('options: camelCase ms, seed aliases, and ConfigError with key, value, allowed, code', () => {
  const clock = new ManualClock()
  const cb = new CircuitBreaker('a', {
    failureThreshold: 3,
    recoveryTimeout: 30000,
    window: { type: 'count', size: 20 },
    slowCallDuration: 2000,
    recoveryBackoff: { multiplier: 2, max: 600000 },
    maxHalfOpen: 10000,
    clock,
  })
  assert.equal(cb.state, 'closed')
  assert.equal(cb.clock, clock)
  new CircuitBreaker('b', { volumeThreshold: 5, errorThresholdPercentage: 50, monitoringPeriod: 10000, recoveryTimeoutMs: 500 })

  const err = (options) => {
    try {
      new CircuitBreaker('x', options)
    } catch (e) {
      assert.ok(e instanceof ConfigError)
      assert.ok(e instanceof BreakwaterError)
      assert.equal(e.name, 'ConfigError')
      assert.equal(e.code, 'CONFIG_INVALID')
      return e
    }
    assert.fail(`accepted ${JSON.stringify(options)}`)
  }
  let e = err({ timeout: 30000 })
  assert.equal(e.key, 'timeout')
  assert.equal(e.value, 30000)
  assert.match(e.allowed, /recoveryTimeout/)
  e = err({ failureThreshold: -1 })
  assert.deepEqual([e.key, e.value], ['failureThreshold', -1])
  e = err({ window: { type: 'count', size: 0 } })
  assert.deepEqual([e.key, e.value], ['window.size', 0])
  e = err({ window: { type: 'time', duration: 1001, buckets: 10 } })
  assert.deepEqual([e.key, e.value], ['window.duration', 1001])
  e = err({ recoveryBackoff: { multiplier: 2, max: 10 } })
  assert.deepEqual([e.key, e.value], ['recoveryBackoff.max', 10])
  e = err({ recoveryTimeout: '60000' })
  assert.deepEqual([e.key, e.value], ['recoveryTimeout', '60000'])
  e = err({ recoveryTimeout: NaN })
  assert.equal(e.key, 'recoveryTimeout')
  assert.ok(Number.isNaN(e.value))
  e = err({ failureTreshold: 3 })
  assert.equal(e.key, 'failureTreshold')
  assert.match(e.allowed, /did you mean `failureThreshold`/)
  e = err({ failure_threshold: 3 })
  assert.match(e.allowed, /failureThreshold/)
  e = err({ minimumCalls: 10, volumeThreshold: 20 })
  assert.equal(e.key, 'volumeThreshold')
  e = err({ clock: { now: () => 0 } })
  assert.equal(e.key, 'clock')
  e = err({ classify: 'server' })
  assert.equal(e.key, 'classify')
  e = err({ failureThreshold: -1, successThreshold: 0 })
  assert.deepEqual(e.errors.map((x) => x.key), ['failureThreshold', 'successThreshold'])
  assert.throws(() => new CircuitBreaker('', {}), ConfigError)

  cb.configure({ failureThreshold: 1 })
  assert.throws(() => cb.configure({ failureThreshold: 0.5 }), (x) => x instanceof ConfigError && x.key === 'failureThreshold')
  assert.throws(() => cb.configure({ clock }), (x) => x instanceof ConfigError && x.key === 'clock')
})

test('manual control and snapshot fields (camelCase, ms)', async () => {
  const { cb, clock } = breaker({ failureThreshold: 2, recoveryTimeout: 5000 })
  const keys = [
    'state', 'stateSince', 'calls', 'failures', 'slowCalls', 'failureRate', 'slowCallRate',
    'consecutiveFailures', 'consecutiveSuccesses', 'callsTotal', 'successesTotal', 'failuresTotal',
    'ignoredTotal', 'rejectedTotal', 'timesOpened', 'lastFailureCategory', 'retryAfter',
  ]
  assert.deepEqual(Object.keys(cb.snapshot()), keys)
  await cb.execute(() => clock.advance(3))
  await rejects(cb.execute(() => { throw fail({ status: 500 }) }))
  await rejects(cb.execute(() => { throw fail({ status: 500 }) }))
  clock.advance(1500)
  const s = cb.snapshot()
  assert.equal(s.state, 'open')
  assert.equal(s.stateSince, 1500)
  assert.equal(s.retryAfter, 3500)
  assert.equal(s.failureRate, 2 / 3)
  assert.equal(s.timesOpened, 1)
  assert.equal(cb.forceOpen(), true)
  assert.equal(cb.forceOpen(), false, 'no-op into the same state')
  assert.equal(cb.state, 'forced_open')
  assert.equal(cb.disable(), true)
  assert.equal(await cb.execute(() => 'through'), 'through')
  assert.equal(cb.metricsOnly(), true)
  assert.equal(cb.state, 'metrics_only')
  assert.equal(cb.reset(), true)
  assert.equal(cb.state, 'closed')
  assert.equal(cb.snapshot().callsTotal, 0)
  assert.equal(cb.reset(), false)
})

test('low level: tryAcquire / record / release; a permit is single-use', () => {
  const { cb } = breaker({ failureThreshold: 1 })
  const p = cb.tryAcquire()
  assert.ok(p instanceof bw.Permit)
  assert.equal(p.breaker, cb)
  assert.equal(p.settled, false)
  cb.record(p, 'success')
  assert.equal(p.settled, true)
  assert.throws(() => cb.record(p, 'success'), (e) => e instanceof BreakwaterError && e.code === 'INVALID_ARGUMENT')
  const other = breaker().cb
  assert.throws(() => other.release(cb.tryAcquire()), (e) => e.code === 'INVALID_ARGUMENT')
  cb.release(cb.tryAcquire())
  cb.record(cb.tryAcquire(), 'ignored')
  assert.equal(cb.snapshot().ignoredTotal, 1)
  assert.throws(() => cb.record(cb.tryAcquire(), 'failure', 'nope'), (e) => e.code === 'INVALID_ARGUMENT')
  cb.record(cb.tryAcquire(), 'failure', 'server')
  assert.equal(cb.state, 'open')
  assert.throws(() => cb.tryAcquire(), CircuitOpenError)
})

test('ManualClock: advance, set (never backwards), now, wall time; shared by breakers', async () => {
  const clock = new ManualClock()
  assert.equal(clock.now(), 0)
  assert.equal(clock.wallMs(), Date.UTC(2026, 0, 1))
  clock.advance(1.5)
  assert.equal(clock.now(), 1.5)
  assert.equal(clock.set(10), true)
  assert.equal(clock.set(5), false)
  assert.equal(clock.now(), 10)
  await clock.sleep(90)
  assert.equal(clock.now(), 100)
  assert.throws(() => clock.advance(-1), (e) => e instanceof BreakwaterError && e.code === 'INVALID_ARGUMENT')
  assert.equal(new ManualClock({ epoch: new Date(0) }).wallMs(), 0)
  const a = new CircuitBreaker('a', { clock, failureThreshold: 1, recoveryTimeout: 1000 })
  const b = new CircuitBreaker('b', { clock, failureThreshold: 1, recoveryTimeout: 2000 })
  for (const cb of [a, b]) await rejects(cb.execute(() => { throw fail({ status: 500 }) }))
  clock.advance(1000)
  assert.deepEqual([a.state, b.state], ['half_open', 'open'])
  clock.advance(1000)
  assert.deepEqual([a.state, b.state], ['half_open', 'half_open'])
})

test('error classes: names, codes, fields, cause', () => {
  const cases = [
    [new bw.CircuitOpenError({ component: 'c', state: 'open', retryAfter: 5 }), 'CircuitOpenError', 'CIRCUIT_OPEN'],
    [new bw.RateLimitedError({ component: 'c', retryAfter: 5 }), 'RateLimitedError', 'RATE_LIMITED'],
    [new bw.BulkheadFullError({ component: 'c' }), 'BulkheadFullError', 'BULKHEAD_FULL'],
    [new bw.TimeoutError({ timeout: 30000 }), 'TimeoutError', 'TIMEOUT'],
    [new bw.RetryError({ attempts: 3, reason: 'max_attempts', cause: 'last' }), 'RetryError', 'RETRY_EXHAUSTED'],
    [new bw.ConfigError({ key: 'k', value: 1, allowed: 'x' }), 'ConfigError', 'CONFIG_INVALID'],
  ]
  for (const [e, name, code] of cases) {
    assert.ok(e instanceof BreakwaterError && e instanceof Error)
    assert.equal(e.name, name)
    assert.equal(e.code, code)
    assert.equal(bw.ErrorCodes[code], code)
    assert.ok(e.message.length > 0)
  }
  assert.equal(cases[4][0].cause, 'last')
  assert.equal(cases[4][0].attempts, 3)
  assert.equal(bw.classifyError(new bw.TimeoutError()), 'timeout')
})

test('many calls leave no permit, timer or listener behind', async () => {
  const { cb } = breaker()
  const ac = new AbortController()
  for (let i = 0; i < 20000; i++) {
    if (i % 2) await cb.execute(async (c) => c, i)
    else await cb.execute(async (c) => c, i, { signal: ac.signal })
  }
  assert.equal(cb._n.permitsInFlight(), 0)
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, 0)
})

test('ESM import gives the same API', async () => {
  const m = await import('breakwater')
  assert.equal(m.CircuitBreaker, CircuitBreaker)
  assert.equal(m.default.ManualClock, ManualClock)
})
