'use strict'
// The process-wide registry lives in the core: the breaker named X is the same breaker in every
// worker_threads worker, and events a worker causes reach each thread's listeners on that
// thread. A bulkhead slot freed in one worker wakes the call queued in another.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker, threadId } = require('node:worker_threads')
const { registry } = require('..')

const PKG = path.resolve(__dirname, '..')

/** Runs `body` (a function's source) in a worker with `bw` and `parentPort` in scope. */
function worker(body, workerData) {
  const src = `
    const { parentPort, workerData, threadId } = require('node:worker_threads')
    const bw = require(${JSON.stringify(PKG)})
    ;(${body})(bw, parentPort, workerData, threadId)
  `
  return new Worker(src, { eval: true, workerData })
}

/**
 * Waits for `p` with a (referenced) timeout. Cross-thread deliveries never keep the event loop
 * alive by themselves (a listener must not keep a process running), so a test that waits for
 * one must hold the loop open, as this timer does.
 */
function within(p, ms = 10000) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

function nextMessage(w) {
  return within(
    new Promise((resolve, reject) => {
      w.once('message', resolve)
      w.once('error', reject)
    }),
  )
}

test('a breaker opened in a worker is open in the main thread; its events arrive on the main thread', async () => {
  const name = `workers.shared.${process.pid}`
  const cb = registry.getAgentCircuitBreaker(name, { failureThreshold: 2, timeout: 60000 })
  const events = []
  let resolveOpen
  const opened = new Promise((r) => (resolveOpen = r))
  cb.on('stateChange', (e) => {
    events.push({ ...e, thread: threadId })
    if (e.to === 'open') resolveOpen()
  })
  const w = worker(
    `async (bw, port, name) => {
      port.on('message', () => {}) // stay alive until terminated
      const cb = bw.registry.getAgentCircuitBreaker(name)
      const seen = []
      cb.on('stateChange', (e) => {
        seen.push(e.from + '->' + e.to + ':' + e.reason)
        if (e.to === 'closed') port.postMessage({ seen })
      })
      for (let i = 0; i < 2; i++) await cb.execute(() => Promise.reject(new Error('boom'))).catch(() => {})
      port.postMessage({ state: cb.state, seenSync: [...seen] })
    }`,
    name,
  )
  try {
    const first = await nextMessage(w)
    assert.equal(first.state, 'open')
    assert.deepEqual(first.seenSync, ['closed->open:consecutive_failures'], "the worker's own listener ran synchronously")
    assert.equal(registry.getCircuitBreakerStatus(name).state, 'open', 'the same breaker')
    assert.equal(registry.getCircuitBreakerStatus(name).failuresTotal, 2)
    await within(opened)
    assert.equal(events.length, 1)
    assert.equal(events[0].thread, threadId, "delivered on the listener's own thread")
    assert.equal(events[0].reason, 'consecutive_failures')
    // Now the main thread closes it: the worker hears about it on its thread.
    const done = nextMessage(w)
    assert.equal(registry.forceCloseCircuitBreaker(name), true)
    assert.deepEqual(events.map((e) => e.to), ['open', 'closed'], 'the main thread saw its own change synchronously')
    const last = await done
    assert.deepEqual(last.seen, ['closed->open:consecutive_failures', 'open->closed:manual'])
  } finally {
    await w.terminate()
  }
  // The worker is gone; its listener must not break anything (nor keep queueing).
  registry.forceOpenCircuitBreaker(name)
  registry.resetCircuitBreaker(name)
  assert.equal(cb.state, 'closed')
})

test('a bulkhead slot freed in a worker wakes the call queued in the main thread', async () => {
  const name = `workers.bulkhead.${process.pid}`
  const bh = registry.bulkhead(name, { maxConcurrent: 1, maxQueue: 1, maxWait: 30000 })
  const w = worker(
    `async (bw, port, name) => {
      const bh = bw.registry.bulkhead(name)
      let release
      const held = bh.execute(() => new Promise((r) => (release = r)))
      port.postMessage('holding')
      port.once('message', async () => {
        release('done')
        await held
        port.postMessage('released')
      })
    }`,
    name,
  )
  try {
    assert.equal(await nextMessage(w), 'holding')
    assert.equal(bh.inFlight, 1)
    let started = false
    const queued = bh.execute(async () => {
      started = true
      return 'main ran'
    })
    await new Promise((r) => setImmediate(r))
    assert.equal(bh.queued, 1)
    assert.equal(started, false)
    const t0 = Date.now()
    const released = nextMessage(w)
    w.postMessage('go')
    assert.equal(await within(queued), 'main ran')
    assert.ok(Date.now() - t0 < 10000, 'woken by the hand-over, not by the max wait')
    assert.equal(await released, 'released')
    assert.deepEqual([bh.inFlight, bh.queued], [0, 0])
  } finally {
    await w.terminate()
  }
})

test('a slot handed to a worker that has exited is passed on, not leaked', async () => {
  const name = `workers.dead.${process.pid}`
  const bh = registry.bulkhead(name, { maxConcurrent: 1, maxQueue: 2, maxWait: 30000 })
  let release
  const held = bh.execute(() => new Promise((r) => (release = r)))
  const w = worker(
    `async (bw, port, name) => {
      bw.registry.bulkhead(name).execute(async () => 'never').catch(() => {})
      setImmediate(() => port.postMessage('queued'))
    }`,
    name,
  )
  assert.equal(await nextMessage(w), 'queued')
  assert.equal(bh.queued, 1)
  await w.terminate()
  const mine = bh.execute(async () => 'mine')
  release()
  await held
  assert.equal(await mine, 'mine', "the dead worker's slot went to the next in line")
  assert.deepEqual([bh.inFlight, bh.queued], [0, 0])
})
