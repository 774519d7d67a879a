'use strict'
// Retry and Policy through the JS API: retries on a ManualClock (sleeps advance it, no real
// waiting), per-attempt timeouts, AbortSignal during an attempt and during a backoff sleep,
// fallback and executeWithInfo, errors and their causes.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { getEventListeners } = require('node:events')
const bw = require('breakwater')
const { CircuitBreaker, ManualClock, Policy, Retry, RetryBudget, RetryError, CircuitOpenError, ConfigError } = bw

const fail = (fields) => Object.assign(new Error('boom'), fields)

async function rejects(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  assert.fail('expected a rejection')
}

function timers() {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

test('retries on a ManualClock advance it by each delay and succeed', async () => {
  const clock = new ManualClock()
  const retry = new Retry({ maxAttempts: 4, baseDelay: 100, jitter: 'none', clock })
  const seen = []
  retry.on('retry', (e) => seen.push([e.attempt, e.delay, e.category]))
  const got = await retry.execute(async (ctx, { attempt }) => {
    if (attempt < 3) throw fail({ status: 503 })
    return `${ctx}:${attempt}@${clock.now()}`
  }, 'job')
  assert.equal(got, 'job:3@300')
  assert.deepEqual(seen, [[2, 100, 'server'], [3, 200, 'server']])
})

test('retries run out: RetryError with attempts, reason and the last error as cause', async () => {
  const clock = new ManualClock()
  const retry = new Retry({ maxAttempts: 3, baseDelay: 10, clock, seed: 7 })
  const errors = []
  const e = await rejects(retry.execute(() => {
    const err = fail({ code: 'ECONNRESET' })
    errors.push(err)
    throw err
  }))
  assert.ok(e instanceof RetryError)
  assert.equal(e.code, 'RETRY_EXHAUSTED')
  assert.equal(e.attempts, 3)
  assert.equal(e.reason, 'max_attempts')
  assert.equal(e.cause, errors[2])
  // Not retryable: the user's own error, the same object, after one attempt.
  const own = fail({ status: 400 })
  let calls = 0
  assert.equal(await rejects(retry.execute(() => { calls++; throw own })), own)
  assert.equal(calls, 1)
})

test('seeded full jitter is reproducible, and each call draws its own stream', async () => {
  const delays = async () => {
    const clock = new ManualClock()
    const retry = new Retry({ maxAttempts: 3, baseDelay: 100, maxDelay: 5000, jitter: 'full', seed: 42, clock })
    const out = []
    retry.on('retry', (e) => out.push(e.delay))
    await retry.execute(async () => 1)
    await rejects(retry.execute(() => { throw fail({ status: 503 }) }))
    return out
  }
  const a = await delays()
  assert.deepEqual(a, [98, 61], 'the policy scenario each_call_takes_the_next_stream')
  assert.deepEqual(await delays(), a)
  assert.ok(new Retry({ seed: 2n ** 64n - 1n }))
})

test('a breaker that opens mid-retry ends the call with CircuitOpenError carrying the last error', async () => {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker('llm', { failureThreshold: 2, recoveryTimeout: 10000, clock })
  const policy = new Policy({ breaker, retry: new Retry({ maxAttempts: 5, baseDelay: 100, jitter: 'none', clock }) })
  let last
  const e = await rejects(policy.execute(() => {
    last = fail({ status: 502 })
    throw last
  }))
  assert.ok(e instanceof CircuitOpenError)
  assert.equal(e.state, 'open')
  assert.equal(e.retryAfter, 9800)
  assert.equal(e.cause, last)
  assert.equal(breaker.snapshot().failuresTotal, 2)
})

test('per-attempt timeout: the attempt signal aborts with a TimeoutError and it is retried', async () => {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker('svc', { clock })
  const policy = new Policy({ breaker, retry: new Retry({ maxAttempts: 3, baseDelay: 50, jitter: 'none', clock }), timeout: 1000 })
  const signals = []
  const got = await policy.execute((ctx, { signal, attempt }) => {
    signals.push(signal)
    if (attempt === 1) {
      clock.advance(1000) // the attempt hangs past its timeout
      return new Promise(() => {})
    }
    return 'second'
  })
  assert.equal(got, 'second')
  assert.equal(signals[0].aborted, true)
  assert.ok(signals[0].reason instanceof bw.TimeoutError)
  assert.equal(signals[0].reason.code, 'TIMEOUT')
  assert.equal(signals[1].aborted, false)
  assert.equal(breaker.snapshot().lastFailureCategory, 'timeout')
  assert.equal(timers(), 0)
})

test('per-attempt timeout on the system clock abandons a hung attempt', async () => {
  const policy = new Policy({ timeout: 20 })
  const e = await rejects(policy.execute(() => new Promise(() => {})))
  assert.ok(e instanceof bw.TimeoutError)
  assert.equal(timers(), 0)
})

test('AbortSignal during a backoff sleep: rejects with the reason at once, no timer or listener left', async () => {
  const breaker = new CircuitBreaker('svc')
  const policy = new Policy({ breaker, retry: new Retry({ maxAttempts: 3, baseDelay: 60000, maxDelay: 60000, jitter: 'none' }) })
  const ac = new AbortController()
  const gaveUp = []
  policy.on('giveUp', (e) => gaveUp.push(e.reason))
  const p = policy.execute(() => {
    setImmediate(() => ac.abort())
    throw fail({ status: 503 })
  }, undefined, { signal: ac.signal })
  const started = Date.now()
  const e = await rejects(p)
  assert.ok(Date.now() - started < 5000)
  assert.equal(e, ac.signal.reason)
  assert.deepEqual(gaveUp, ['cancelled'])
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  assert.equal(timers(), 0)
  assert.equal(breaker.snapshot().failuresTotal, 1)
})

test('AbortSignal during an attempt releases the permit and counts nothing', async () => {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker('svc', { clock })
  const policy = new Policy({ breaker, retry: new Retry({ clock }) })
  const ac = new AbortController()
  const e = await rejects(policy.execute(() => {
    ac.abort()
    return new Promise(() => {})
  }, undefined, { signal: ac.signal }))
  assert.equal(e.name, 'AbortError')
  const s = breaker.snapshot()
  assert.equal(s.callsTotal + s.ignoredTotal, 0)
})

test('fallback serves any error verdict except cancellation; executeWithInfo tells how', async () => {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker('svc', { failureThreshold: 2, recoveryTimeout: 10000, clock })
  const seen = []
  const policy = new Policy({
    breaker,
    retry: new Retry({ maxAttempts: 2, baseDelay: 100, jitter: 'none', clock }),
    fallback: function cached(err, ctx, info) {
      seen.push([err.constructor.name, ctx, info.reason, info.trigger, info.attempts])
      return `cached:${ctx}`
    },
  })
  assert.deepEqual(await policy.executeWithInfo(async () => 'fresh', 'q1'), {
    value: 'fresh', fromFallback: false, strategy: undefined, kind: undefined, reason: undefined, stale: false, attempts: 1,
  })
  const info = await policy.executeWithInfo(() => { throw fail({ status: 503 }) }, 'q2')
  // A plain fallback function is no strategy; the reason is the degradation trigger (contract section 6).
  assert.deepEqual(info, { value: 'cached:q2', fromFallback: true, strategy: undefined, kind: undefined, reason: 'error_rate', stale: false, attempts: 2 })
  assert.equal(await policy.execute(() => 'never runs', 'q3'), 'cached:q3')
  assert.deepEqual(seen, [
    ['RetryError', 'q2', 'max_attempts', 'error_rate', 2],
    ['CircuitOpenError', 'q3', 'circuit_open', 'circuit_breaker_open', 0],
  ])
  const ac = new AbortController()
  ac.abort()
  assert.equal(await rejects(policy.execute(() => 1, 'q4', { signal: ac.signal })), ac.signal.reason)
})

test('Policy.wrap keeps parameters and this; results flagged by isFailure are retried then returned', async () => {
  const clock = new ManualClock()
  const policy = new Policy({ retry: new Retry({ maxAttempts: 2, baseDelay: 1, jitter: 'none', clock }) })
  const api = {
    base: 10,
    add(a, b) {
      return this.base + a + b
    },
  }
  api.guardedAdd = policy.wrap(api.add)
  assert.equal(await api.guardedAdd(1, 2), 13)
  let n = 0
  const e = await rejects(policy.execute(() => {
    n++
    return new Response('busy', { status: 503, headers: { 'retry-after': '0' } })
  }))
  assert.equal(n, 2)
  assert.ok(e instanceof RetryError)
  assert.equal(e.cause.status, 503, 'the last failed result is the cause')
  // Not retryable (a 501 is a client error): the result itself is returned.
  const res = await policy.execute(() => new Response('nope', { status: 501 }))
  assert.equal(res.status, 501)
})

test('options: clocks must match, parts are checked', () => {
  const a = new ManualClock()
  const b = new ManualClock()
  const err = (o) => {
    try {
      new Policy(o)
    } catch (e) {
      assert.ok(e instanceof ConfigError)
      return e
    }
    assert.fail('accepted')
  }
  assert.equal(err({ breaker: new CircuitBreaker('x', { clock: a }), retry: new Retry({ clock: b }) }).key, 'clock')
  assert.equal(err({ breaker: new CircuitBreaker('x'), clock: a }).key, 'clock')
  assert.equal(err({ timeout: 0 }).key, 'timeout')
  assert.equal(err({ breaker: {} }).key, 'breaker')
  assert.equal(err({ bulkhead: {} }).allowed, 'a Bulkhead')
  assert.equal(err({ rateLimiter: { maxRequests: 1 } }).allowed, 'a RateLimiter')
  assert.match(err({ rate_limiter: {} }).allowed, /rateLimiter/)
  assert.equal(err({ retyr: new Retry() }).key, 'retyr')
  const r = (o) => {
    try {
      new Retry(o)
    } catch (e) {
      assert.ok(e instanceof ConfigError)
      return e
    }
    assert.fail('accepted')
  }
  assert.deepEqual([r({ maxAttempts: 0 }).key, r({ maxAttempts: 0 }).value], ['maxAttempts', 0])
  assert.equal(r({ jitter: 'random' }).key, 'jitter')
  assert.equal(r({ retryOn: ['server', 'nope'] }).key, 'retryOn')
  assert.equal(r({ baseDelay: 1000, maxDelay: 10 }).key, 'maxDelay')
  assert.equal(r({ budget: { ratio: -1 } }).key, 'budget.ratio')
  assert.equal(new RetryBudget({ ttl: 1000 }) instanceof RetryBudget, true)
  assert.equal(r({ budget: 5 }).key, 'budget')
})

test('low-level retry decisions', () => {
  const clock = new ManualClock()
  const retry = new Retry({ maxAttempts: 3, baseDelay: 100, jitter: 'none', clock, idempotent: false })
  const call = retry.begin()
  assert.deepEqual(call.decide(fail({ code: 'ECONNREFUSED' })), { decision: 'retry', delay: 100, attempt: 2 })
  assert.deepEqual(call.decide(fail({ code: 'ECONNRESET' })), { decision: 'give_up', reason: 'not_retryable' })
  assert.equal(call.attempts, 2)
})

test('review fixes: a Retry without a clock joins a breaker on a ManualClock; header names are case-insensitive', async () => {
  const bw = require('..')
  const { retryAfterOf } = require('../lib/classify.js')
  const clock = new bw.ManualClock()
  const breaker = new bw.CircuitBreaker('clocked', { clock })
  const policy = new bw.Policy({ breaker, retry: new bw.Retry({ maxAttempts: 2, jitter: 'none', baseDelay: 100 }), timeout: 30000 })
  let calls = 0
  const value = await policy.execute(async () => {
    calls += 1
    if (calls === 1) throw Object.assign(new Error('busy'), { status: 429, headers: { 'Retry-After': '5' } })
    return 'ok'
  })
  assert.equal(value, 'ok')
  assert.equal(clock.now(), 5000, 'slept the server-given 5 s on the manual clock')
  assert.equal(retryAfterOf({ headers: { 'Retry-After-Ms': '250' } }, 0), 250)
})
