'use strict'
// RateLimiter and Bulkhead, standalone and inside a Policy, on a ManualClock (no real sleeps).

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { RateLimiter, Bulkhead, Policy, CircuitBreaker, Retry, ManualClock, RateLimitedError, BulkheadFullError, ConfigError, RetryError } = require('..')

const tick = () => new Promise((r) => setImmediate(r))

/** A call that stays in flight until `release(i)`. */
function gated() {
  const gates = []
  const started = []
  const fn = (name) => () =>
    new Promise((resolve) => {
      started.push(name)
      gates.push(() => resolve(name))
    })
  return { gates, started, fn }
}

test('RateLimiter: defaults, a full bucket, refill, reservations queue up', async () => {
  const clock = new ManualClock()
  const d = new RateLimiter()
  assert.deepEqual([d.maxRequests, d.timeWindow, d.burstLimit, d.name], [100, 1000, 100, 'rate_limiter'])
  const l = new RateLimiter({ maxRequests: 2, timeWindow: 1000, clock, name: 'api' })
  assert.equal(l.clock, clock)
  assert.equal(l.tryAcquire(), true)
  assert.equal(l.tryAcquire(), true)
  assert.equal(l.tryAcquire(), false)
  assert.equal(l.available(), 0)
  await assert.rejects(l.execute(async () => 1), (e) => e instanceof RateLimitedError && e.code === 'RATE_LIMITED' && e.retryAfter === 500 && e.component === 'api')
  clock.advance(500)
  assert.equal(await l.execute(async (ctx, info) => `${ctx}:${info.attempt}`, 'ctx'), 'ctx:1')
  assert.equal(l.reserve(), 500)
  assert.equal(l.reserve(), 1000, 'each reservation waits behind the previous one')
  const t0 = clock.now()
  await l.acquire()
  assert.equal(clock.now() - t0, 1500, 'acquire sleeps (on a ManualClock: advances it)')
  const burst = new RateLimiter({ maxRequests: 10, burstLimit: 2, clock })
  clock.advance(60_000)
  assert.equal(burst.available(), 2, 'never more than the burst limit')
  assert.throws(() => new RateLimiter({ maxRequests: 0 }), (e) => e instanceof ConfigError && e.key === 'maxRequests')
  assert.throws(() => new RateLimiter({ timeWindow: 0 }), (e) => e instanceof ConfigError && e.key === 'timeWindow')
  assert.throws(() => new RateLimiter({ maxRequest: 5 }), (e) => e instanceof ConfigError && /maxRequests/.test(e.allowed))
})

test('Bulkhead: slots, a FIFO queue woken in order, full, max wait, cancellation', async () => {
  const clock = new ManualClock()
  const bh = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, maxWait: 1000, clock, name: 'db' })
  assert.deepEqual([bh.maxConcurrent, bh.maxQueue, bh.maxWait], [1, 2, 1000])
  const { gates, started, fn } = gated()
  const a = bh.execute(fn('a'))
  const b = bh.execute(fn('b'))
  const c = bh.execute(fn('c'))
  await assert.rejects(bh.execute(fn('d')), (e) => e instanceof BulkheadFullError && e.code === 'BULKHEAD_FULL' && e.component === 'db')
  await tick()
  assert.deepEqual([bh.inFlight, bh.queued, started], [1, 2, ['a']])
  gates[0]()
  assert.equal(await a, 'a')
  await tick()
  assert.deepEqual(started, ['a', 'b'], 'the slot went to the first in line')
  gates[1]()
  assert.equal(await b, 'b')
  await tick()
  gates[2]()
  assert.equal(await c, 'c')
  assert.deepEqual([bh.inFlight, bh.queued], [0, 0])

  // A queued call gives up after maxWait.
  const x = bh.execute(fn('x'))
  const y = bh.execute(fn('y'))
  await tick()
  clock.advance(999)
  await tick()
  assert.equal(bh.queued, 1)
  clock.advance(1)
  await assert.rejects(y, (e) => e instanceof BulkheadFullError)
  assert.deepEqual([bh.inFlight, bh.queued], [1, 0])

  // Aborting a queued call takes it out of the queue; the next one gets the slot.
  const ac = new AbortController()
  const z = bh.execute(fn('z'), undefined, { signal: ac.signal })
  const w = bh.execute(fn('w'))
  await tick()
  ac.abort()
  await assert.rejects(z, (e) => e.name === 'AbortError')
  gates[3]()
  assert.equal(await x, 'x')
  await tick()
  assert.equal(started.at(-1), 'w')
  gates[4]()
  assert.equal(await w, 'w')
  assert.deepEqual([bh.inFlight, bh.queued], [0, 0])

  // A failing call frees its slot too.
  await assert.rejects(bh.execute(() => Promise.reject(new Error('nope'))), /nope/)
  assert.equal(bh.inFlight, 0)
  const noQueue = new Bulkhead({ maxConcurrent: 1 })
  const hold = noQueue.execute(() => new Promise((r) => setImmediate(r)))
  await assert.rejects(noQueue.execute(async () => 1), BulkheadFullError)
  await hold
  assert.throws(() => new Bulkhead({ maxConcurrent: 0 }), (e) => e instanceof ConfigError && e.key === 'maxConcurrent')
})

test('Policy with a bulkhead: queued attempts wait to be handed a slot; with a rate limiter: a refusal is final', async () => {
  const clock = new ManualClock()
  const breaker = new CircuitBreaker('svc', { clock })
  const policy = new Policy({ breaker, bulkhead: new Bulkhead({ maxConcurrent: 2, maxQueue: 10, maxWait: 5000, clock }), clock })
  let inFlight = 0
  let peak = 0
  const order = []
  const calls = Array.from({ length: 6 }, (_, i) =>
    policy.execute(async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      order.push(i)
      await tick()
      inFlight--
      return i
    }),
  )
  assert.deepEqual(await Promise.all(calls), [0, 1, 2, 3, 4, 5])
  assert.equal(peak, 2)
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5], 'first come, first served')
  assert.deepEqual([policy.bulkhead.inFlight, policy.bulkhead.queued], [0, 0])
  assert.equal(breaker.snapshot().callsTotal, 6)

  const limited = new Policy({
    breaker: new CircuitBreaker('lim', { clock }),
    retry: new Retry({ maxAttempts: 3, jitter: 'none', baseDelay: 100, clock }),
    rateLimiter: new RateLimiter({ maxRequests: 1, timeWindow: 1000, clock }),
    clock,
  })
  const giveUps = []
  limited.on('giveUp', (e) => giveUps.push(e.reason))
  await assert.rejects(
    limited.execute(() => Promise.reject(Object.assign(new Error('x'), { status: 503 }))),
    (e) => e instanceof RateLimitedError && e.retryAfter === 900 && e.cause instanceof Error && e.cause.message === 'x',
  )
  assert.deepEqual(giveUps, ['rate_limited'])
  assert.equal(limited.breaker.snapshot().callsTotal, 1, 'the refused attempt counted nothing')
  assert.throws(() => new Policy({ rateLimiter: new RateLimiter({ clock }), clock: new ManualClock() }), (e) => e instanceof ConfigError && e.key === 'clock')
})

test('Policy with a bulkhead: a queued call that times out is BULKHEAD_FULL; a cancelled one frees its place', async () => {
  const clock = new ManualClock()
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, maxWait: 100, clock })
  const policy = new Policy({ bulkhead, retry: new Retry({ maxAttempts: 2, clock }), clock, fallback: (e) => `fallback:${e.code}` })
  const { gates, fn } = gated()
  const first = policy.execute(fn('first'))
  const ac = new AbortController()
  const cancelled = policy.execute(fn('cancelled'), undefined, { signal: ac.signal })
  const late = policy.executeWithInfo(fn('late'))
  await tick()
  assert.equal(bulkhead.queued, 2)
  ac.abort()
  await assert.rejects(cancelled, (e) => e.name === 'AbortError')
  assert.equal(bulkhead.queued, 1)
  clock.advance(100)
  const info = await late
  assert.deepEqual([info.value, info.fromFallback, info.reason], ['fallback:BULKHEAD_FULL', true, 'rate_limited'])
  gates[0]()
  assert.equal(await first, 'first')
  assert.deepEqual([bulkhead.inFlight, bulkhead.queued], [0, 0])
})

test('no timers or listeners are left behind by limits', async () => {
  const clock = new ManualClock()
  const bh = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: 1000, clock })
  const { gates, fn } = gated()
  const a = bh.execute(fn('a'))
  const b = bh.execute(fn('b'))
  await tick()
  gates[0]()
  await a
  await tick()
  gates[1]()
  await b
  const { kTimers } = (() => {
    const syms = Object.getOwnPropertySymbols(clock)
    return { kTimers: syms.find((s) => s.description === 'breakwater.timers') }
  })()
  assert.equal(clock[kTimers].length, 0, 'the max-wait timer was cancelled when the slot came')
})

test('memory stays flat over a million guarded calls (breaker, policy, bulkhead policy)', async () => {
  const clock = new ManualClock()
  const cb = new CircuitBreaker('flat', { clock })
  const policy = new Policy({ breaker: new CircuitBreaker('flat.p', { clock }), retry: new Retry({ maxAttempts: 2, clock }), clock })
  const bh = new Policy({ bulkhead: new Bulkhead({ maxConcurrent: 4, maxQueue: 100, maxWait: 1000, clock }), clock })
  const one = async () => 1
  const run = async (n) => {
    for (let i = 0; i < n; i++) {
      await cb.execute(one)
      if (i % 8 === 0) await policy.execute(one)
      if (i % 64 === 0) await Promise.all([bh.execute(one), bh.execute(one), bh.execute(one), bh.execute(one), bh.execute(one), bh.execute(one)])
    }
  }
  // A real GC before each reading (node --test runs without --expose-gc).
  require('node:v8').setFlagsFromString('--expose-gc')
  const gc = require('node:vm').runInNewContext('gc')
  const measure = () => {
    gc()
    gc()
    return process.memoryUsage()
  }
  await run(100_000)
  const before = measure()
  await run(1_000_000)
  const after = measure()
  assert.equal(cb._n.permitsInFlight(), 0)
  assert.equal(policy._n.callsInFlight(), 0)
  assert.equal(bh._n.callsInFlight(), 0)
  assert.deepEqual([bh.bulkhead.inFlight, bh.bulkhead.queued], [0, 0])
  const heapGrowth = after.heapUsed - before.heapUsed
  const rssGrowth = after.rss - before.rss
  assert.ok(heapGrowth < 8 * 1024 * 1024, `heap grew by ${heapGrowth} bytes`)
  assert.ok(rssGrowth < 32 * 1024 * 1024, `rss grew by ${rssGrowth} bytes`)
  assert.equal(cb.snapshot().callsTotal, 1_100_000)
})
