'use strict'
// Contract section 4: an abort whose reason is a TimeoutError (`AbortSignal.timeout()`) is a
// `timeout` failure of the attempt: counted by the breaker, not retried, and rejected as
// breakwater's TimeoutError (code TIMEOUT) with the signal's reason as `cause`. A plain
// `controller.abort()` stays a cancellation.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { getEventListeners } = require('node:events')
const bw = require('breakwater')
const { CircuitBreaker, ManualClock, Policy, Retry, TimeoutError } = bw

async function rejects(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  assert.fail('expected a rejection')
}

// The reason `AbortSignal.timeout()` aborts with, built here so no test waits on a real timer.
const timeoutReason = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError')

// A guarded function that never settles; once it has started, the caller's deadline passes.
const deadlinePassesDuring = (ac, reason) => () => {
  queueMicrotask(() => ac.abort(reason))
  return new Promise(() => {})
}

test('breaker: an abort with a timeout reason is a counted timeout failure, rejected as TimeoutError', async () => {
  const cb = new CircuitBreaker('deadline-b', { failureThreshold: 1, recoveryTimeout: 60000, clock: new ManualClock() })
  const failures = []
  cb.on('failure', (e) => failures.push(e.category))
  const ac = new AbortController()
  const reason = timeoutReason()
  const e = await rejects(
    cb.execute(() => {
      ac.abort(reason)
      return new Promise(() => {})
    }, undefined, { signal: ac.signal }),
  )
  assert.ok(e instanceof TimeoutError)
  assert.equal(e.code, 'TIMEOUT')
  assert.equal(e.cause, reason)
  assert.equal(e.component, 'deadline-b')
  assert.deepEqual(failures, ['timeout'])
  const s = cb.snapshot()
  assert.equal(s.callsTotal, 1)
  assert.equal(s.failuresTotal, 1)
  assert.equal(cb.state, 'open')
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
})

test('breaker: a deadline passing mid-call counts as a timeout', async () => {
  const cb = new CircuitBreaker('deadline-real')
  const ac = new AbortController()
  const signal = ac.signal
  const e = await rejects(cb.execute(deadlinePassesDuring(ac, timeoutReason()), undefined, { signal }))
  assert.equal(e.code, 'TIMEOUT')
  assert.equal(e.cause, signal.reason)
  assert.equal(e.cause.name, 'TimeoutError')
  assert.equal(cb.snapshot().failuresTotal, 1)
})

test('breaker: a plain abort stays a cancellation (nothing counted, the reason itself)', async () => {
  const cb = new CircuitBreaker('deadline-plain')
  const ac = new AbortController()
  const e = await rejects(cb.execute(() => {
    ac.abort()
    return new Promise(() => {})
  }, undefined, { signal: ac.signal }))
  assert.equal(e, ac.signal.reason)
  assert.equal(e.name, 'AbortError')
  const s = cb.snapshot()
  assert.equal(s.callsTotal + s.ignoredTotal, 0)
})

test('breaker: a signal already timed out rejects with TimeoutError and counts nothing', async () => {
  const cb = new CircuitBreaker('deadline-pre')
  const ac = new AbortController()
  ac.abort(timeoutReason())
  let ran = false
  const e = await rejects(cb.execute(() => { ran = true }, undefined, { signal: ac.signal }))
  assert.equal(e.code, 'TIMEOUT')
  assert.equal(e.cause, ac.signal.reason)
  assert.equal(ran, false)
  assert.equal(cb.snapshot().callsTotal, 0)
})

test('policy: the caller deadline during an attempt is one timeout failure, not retried', async () => {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker('deadline-p', { failureThreshold: 5, clock })
  const retry = new Retry({ maxAttempts: 4, baseDelay: 100, jitter: 'none', clock })
  const policy = new Policy({ breaker, retry })
  const failures = []
  breaker.on('failure', (e) => failures.push(e.category))
  const ac = new AbortController()
  const reason = timeoutReason()
  let attempts = 0
  const e = await rejects(
    policy.execute((ctx, { signal }) => {
      attempts++
      assert.equal(signal.aborted, false)
      ac.abort(reason)
      assert.equal(signal.reason, reason) // the attempt's own signal follows the caller's
      return new Promise(() => {})
    }, undefined, { signal: ac.signal }),
  )
  assert.ok(e instanceof TimeoutError)
  assert.equal(e.code, 'TIMEOUT')
  assert.equal(e.cause, reason)
  assert.equal(attempts, 1)
  assert.deepEqual(failures, ['timeout'])
  const s = breaker.snapshot()
  assert.equal(s.failuresTotal, 1)
  assert.equal(s.callsTotal, 1)
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
})

test('policy with a per-attempt timeout: the caller deadline still wins and is not retried', async () => {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker('deadline-pt', { clock })
  const policy = new Policy({ breaker, retry: new Retry({ maxAttempts: 3, clock }), timeout: 10000 })
  const ac = new AbortController()
  const signal = ac.signal
  const passes = deadlinePassesDuring(ac, timeoutReason())
  let attempts = 0
  const e = await rejects(policy.execute(() => {
    attempts++
    return passes()
  }, undefined, { signal }))
  assert.equal(e.code, 'TIMEOUT')
  assert.equal(e.cause, signal.reason)
  assert.equal(attempts, 1)
  assert.equal(breaker.snapshot().failuresTotal, 1)
})

test('policy: a timeout reason during a backoff sleep rejects with TimeoutError, counting nothing more', async () => {
  const breaker = new CircuitBreaker('deadline-sleep')
  const policy = new Policy({ breaker, retry: new Retry({ maxAttempts: 3, baseDelay: 60000, maxDelay: 60000, jitter: 'none' }) })
  const ac = new AbortController()
  const reason = timeoutReason()
  let attempts = 0
  const p = policy.execute(() => {
    attempts++
    setImmediate(() => ac.abort(reason)) // after the failure, while the backoff sleep runs
    throw Object.assign(new Error('reset'), { code: 'ECONNRESET' })
  }, undefined, { signal: ac.signal })
  const e = await rejects(p)
  assert.equal(e.code, 'TIMEOUT')
  assert.equal(e.cause, reason)
  assert.equal(attempts, 1)
  assert.equal(breaker.snapshot().failuresTotal, 1)
})

test('policy: a plain abort during an attempt stays a cancellation', async () => {
  const breaker = new CircuitBreaker('deadline-pplain')
  const policy = new Policy({ breaker, retry: new Retry({ maxAttempts: 3 }) })
  const ac = new AbortController()
  const e = await rejects(policy.execute(() => {
    ac.abort()
    return new Promise(() => {})
  }, undefined, { signal: ac.signal }))
  assert.equal(e, ac.signal.reason)
  const s = breaker.snapshot()
  assert.equal(s.callsTotal + s.ignoredTotal, 0)
})
