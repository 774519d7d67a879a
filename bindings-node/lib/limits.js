'use strict'
// RateLimiter (token bucket) and Bulkhead (concurrency limit with a FIFO hand-over queue). The
// core decides: a token now or how long until one; a slot, a place in the queue, or a refusal;
// which queued call a freed slot goes to. This file waits: on the clock's timers (a
// ManualClock's in tests) and on the wake the native layer delivers when a slot is handed over
// (see host.js), never by polling.

const native = require('../native.js')
const { RateLimitedError, BulkheadFullError, stackless, fromNative } = require('./errors')
const { ManualClock, kNative, schedule, sleep } = require('./clock')
const { split, replacer, fromCoreErrors, configError } = require('./options')
const { FLAG, drain, waiters } = require('./host')
const { CallInfo, infoFor } = require('./breaker')

const WAIT_CANCELLED = Symbol('breakwater.waitCancelled')

/**
 * A queued call waiting for a bulkhead slot. Made as soon as the native layer queues the call
 * (before anything else runs on this thread), so its wake is never missed.
 */
class SlotWait {
  constructor(id) {
    this.id = id
    this.woken = false
    this.settle = undefined
    waiters.set(id, () => {
      this.woken = true
      if (this.settle !== undefined) this.settle(true)
    })
  }

  /** Resolves true when woken with a slot, false when `maxWait` passed first, WAIT_CANCELLED on abort. */
  wait(maxWait, clock, signal) {
    if (this.woken) return Promise.resolve(true)
    return new Promise((resolve) => {
      let done = false
      let cancelTimer
      let onAbort
      const settle = (v) => {
        if (done) return
        done = true
        waiters.delete(this.id)
        if (cancelTimer !== undefined) cancelTimer()
        if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
        resolve(v)
      }
      this.settle = settle
      if (signal !== undefined) {
        if (signal.aborted) return settle(WAIT_CANCELLED)
        onAbort = () => settle(WAIT_CANCELLED)
        signal.addEventListener('abort', onAbort, { once: true })
      }
      cancelTimer = schedule(clock, maxWait, () => settle(false))
    })
  }
}

function hostOptions(r, errors) {
  const o = r.options
  if (o.clock !== undefined && o.clock !== null && !(o.clock instanceof ManualClock)) {
    errors.push({ key: 'clock', value: o.clock, allowed: 'a ManualClock (leave it out for the system clock)' })
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) {
    errors.push({ key: 'name', value: o.name, allowed: 'a non-empty string' })
  }
  return { clock: o.clock ?? undefined, name: o.name }
}

function signalOf(options) {
  return options !== undefined && options !== null && options.signal != null ? options.signal : undefined
}

const LIMITER_KEYS = ['maxRequests', 'timeWindow', 'burstLimit']

/** At most `maxRequests` per `timeWindow` ms, bursts up to `burstLimit`: a token bucket that starts full. */
class RateLimiter {
  /** @param {{ maxRequests?: number, timeWindow?: number, burstLimit?: number, clock?: ManualClock, name?: string }} [options] */
  constructor(options) {
    const r = split(options, { core: LIMITER_KEYS, host: ['clock', 'name'] })
    const host = hostOptions(r, r.errors)
    if (r.errors.length > 0) throw configError(r.errors)
    const json = JSON.stringify(r.core, replacer)
    const errors = native.checkRateLimiterConfig(json)
    if (errors.length > 0) throw configError(fromCoreErrors(r.options, errors))
    let n
    try {
      n = new native.NativeRateLimiter(json, host.clock ? host.clock[kNative] : undefined)
    } catch (e) {
      throw fromNative(e)
    }
    this._init(n, host.name ?? 'rate_limiter', host.clock)
  }

  static _wrap(n, name, clock) {
    const l = Object.create(RateLimiter.prototype)
    l._init(n, name, clock)
    return l
  }

  _init(n, name, clock) {
    this._n = n
    this._name = name
    this._clock = clock
  }

  get name() {
    return this._name
  }
  /** The clock given in the options (undefined: the system clock). */
  get clock() {
    return this._clock
  }
  get maxRequests() {
    return this._n.maxRequests()
  }
  /** The refill window, ms. */
  get timeWindow() {
    return this._n.timeWindow()
  }
  get burstLimit() {
    return this._n.burstLimit()
  }

  /** Takes a token if one is there now. */
  tryAcquire() {
    return this._n.tryAcquire() < 0
  }

  /**
   * Reserves a token and returns the ms to wait before using it (0: use it now). Reservations
   * queue up behind each other; a reserved token is spent even if the caller gives up.
   */
  reserve() {
    return this._n.reserve()
  }

  /** Whole tokens available now. */
  available() {
    return this._n.available()
  }

  /** Waits for a token (a reservation, then a sleep on the limiter's clock); `signal` stops the sleep. */
  acquire(options) {
    const signal = signalOf(options)
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason)
    const wait = this._n.reserve()
    return wait > 0 ? sleep(this._clock, wait, signal) : Promise.resolve()
  }

  /**
   * Runs `fn(context, { signal, attempt })` when a token is there now; otherwise rejects with
   * a RateLimitedError whose `retryAfter` says when one will be (nothing is taken).
   */
  execute(fn, context, options) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('execute(fn): fn must be a function'))
    const signal = signalOf(options)
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason)
    const wait = this._n.tryAcquire()
    if (wait >= 0) return Promise.reject(stackless(() => new RateLimitedError({ component: this._name, retryAfter: wait })))
    try {
      return Promise.resolve(fn(context, signal === undefined ? infoFor(1) : new CallInfo(1, signal)))
    } catch (e) {
      return Promise.reject(e)
    }
  }
}

const BULKHEAD_KEYS = ['maxConcurrent', 'maxQueue', 'maxWait']

/** At most `maxConcurrent` calls at once; up to `maxQueue` more wait (at most `maxWait` ms) for a slot, first come first served. */
class Bulkhead {
  /** @param {{ maxConcurrent?: number, maxQueue?: number, maxWait?: number, clock?: ManualClock, name?: string }} [options] */
  constructor(options) {
    const r = split(options, { core: BULKHEAD_KEYS, host: ['clock', 'name'] })
    const host = hostOptions(r, r.errors)
    if (r.errors.length > 0) throw configError(r.errors)
    const json = JSON.stringify(r.core, replacer)
    const errors = native.checkBulkheadConfig(json)
    if (errors.length > 0) throw configError(fromCoreErrors(r.options, errors))
    let n
    try {
      n = new native.NativeBulkhead(json)
    } catch (e) {
      throw fromNative(e)
    }
    this._init(n, host.name ?? 'bulkhead', host.clock)
  }

  static _wrap(n, name, clock) {
    const b = Object.create(Bulkhead.prototype)
    b._init(n, name, clock)
    return b
  }

  _init(n, name, clock) {
    this._n = n
    this._name = name
    this._clock = clock
    this._maxWait = n.maxWait()
  }

  get name() {
    return this._name
  }
  /** The clock the queue's waits run on (undefined: the system clock). */
  get clock() {
    return this._clock
  }
  get maxConcurrent() {
    return this._n.maxConcurrent()
  }
  get maxQueue() {
    return this._n.maxQueue()
  }
  /** Ms a queued call waits at most. */
  get maxWait() {
    return this._maxWait
  }
  /** Calls holding a slot now. */
  get inFlight() {
    return this._n.load()[0]
  }
  /** Calls waiting for a slot now. */
  get queued() {
    return this._n.load()[1]
  }

  /**
   * Runs `fn(context, { signal, attempt })` in a slot. With every slot taken the call queues
   * (when `maxQueue` and `maxWait` allow) and starts when a finishing call hands it its slot;
   * it rejects with a BulkheadFullError when there is no room or the wait passes `maxWait`,
   * and with `signal.reason` when aborted while queued. The slot is held until fn settles.
   */
  async execute(fn, context, options) {
    if (typeof fn !== 'function') throw new TypeError('execute(fn): fn must be a function')
    const signal = signalOf(options)
    if (signal !== undefined && signal.aborted) throw signal.reason
    const n = this._n
    const id = n.enter()
    if (id < 0) throw stackless(() => new BulkheadFullError({ component: this._name }))
    if (id > 0) {
      const woken = await new SlotWait(id).wait(this._maxWait, this._clock, signal)
      const holds = n.resume(id, woken === true)
      if (woken === WAIT_CANCELLED) {
        if (holds) this._leave()
        throw signal.reason
      }
      if (!holds) throw stackless(() => new BulkheadFullError({ component: this._name }))
    }
    try {
      return await fn(context, signal === undefined ? infoFor(1) : new CallInfo(1, signal))
    } finally {
      this._leave()
    }
  }

  _leave() {
    this._n.leave()
    if (FLAG[0] !== 0) drain()
  }
}

module.exports = { RateLimiter, Bulkhead, SlotWait, WAIT_CANCELLED }
