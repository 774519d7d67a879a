'use strict'
// CircuitBreaker: the core breaker, driven from JavaScript. A guarded call is one native
// `acquire()` (a permit token, or a negative number that encodes the rejection), the user's
// function, then one native record. Every decision (admit, reject, count, trip, recover) is
// the core's; this file only runs the call, classifies its outcome and delivers events.

const native = require('../native.js')
const { CircuitOpenError, BreakwaterError, stackless, abortTimeoutError, fromNative } = require('./errors')
const { kNative } = require('./clock')
const { breakerOptions, configError, fromCoreErrors } = require('./options')
const { CATEGORY_INDEX, UNKNOWN, defaultCategoryIndex, defaultIsFailure, isTimeoutReason, abortTimeoutClassified } = require('./classify')
const { EventHub } = require('./events')
const { FLAG, drain, queues } = require('./host')

const STATES = Object.freeze(native.stateNames())
// Each breaker has a raw hot-path function of its own, `f(op, a, b) -> number` (src/fast.rs):
// 0 acquire, 1 success, 2 failure, 3 release, 4 state. Records answer undefined; NaN means "use
// the slow path" (the napi-rs method, which throws the proper error).
const OP = { forceOpen: 0, forceClose: 1, disable: 2, metricsOnly: 3, reset: 4 }
const BREAKER_EVENTS = ['stateChange', 'callRejected', 'success', 'failure', 'slowCall', 'ignored']
const CLIENT = CATEGORY_INDEX.get('client')

/** The second argument of a guarded function: its AbortSignal and attempt number (1-based). */
class CallInfo {
  #signal
  constructor(attempt, signal) {
    this.attempt = attempt
    this.#signal = signal
  }

  /** The call's AbortSignal (one that never aborts when the caller gave none). */
  get signal() {
    let s = this.#signal
    if (s === undefined) s = this.#signal = neverAborted()
    return s
  }
}

let NEVER
function neverAborted() {
  if (NEVER === undefined) NEVER = new AbortController().signal
  return NEVER
}

// Calls without a signal share one frozen CallInfo per attempt number: nothing is allocated
// per call, and nobody can change what another call sees.
const INFOS = []
/** The CallInfo of attempt `n` of a call that has no signal of its own. */
function infoFor(n) {
  let i = INFOS[n]
  if (i === undefined) {
    i = Object.freeze(new CallInfo(n, undefined))
    if (n < 128) INFOS[n] = i
  }
  return i
}

/** Permission to make one call, from `tryAcquire()`. Hand it back once: `record` or `release`. */
class Permit {
  #token
  #breaker
  constructor(breaker, token) {
    this.#breaker = breaker
    this.#token = token
  }

  /** The breaker that granted it. */
  get breaker() {
    return this.#breaker
  }

  /** Whether it was already handed back. */
  get settled() {
    return this.#token < 0
  }

  static take(permit, breaker) {
    if (!(permit instanceof Permit) || permit.#breaker !== breaker) {
      throw new BreakwaterError('not a permit of this breaker', 'INVALID_ARGUMENT')
    }
    const t = permit.#token
    if (t < 0) throw new BreakwaterError('this permit was already handed back', 'INVALID_ARGUMENT')
    permit.#token = -1
    return t
  }
}

function warnOnce(breaker, what, detail) {
  if (breaker._warned === undefined) breaker._warned = new Set()
  if (breaker._warned.has(what)) return
  breaker._warned.add(what)
  process.emitWarning(`breaker '${breaker.name}': ${what} (reported once): ${detail}`, { code: 'BREAKWATER_HOOK_ERROR' })
}

class CircuitBreaker {
  /**
   * @param {string} name the component name (events, metrics, errors)
   * @param {object} [options] see index.d.ts; camelCase, durations in ms
   */
  constructor(name, options) {
    if (typeof name !== 'string' || name.length === 0) {
      throw configError([{ key: 'name', value: name, allowed: 'a non-empty string' }])
    }
    const { json, host } = breakerOptions(options)
    let n
    try {
      n = new native.NativeCircuitBreaker(name, json, host.clock ? host.clock[kNative] : undefined)
    } catch (e) {
      throw fromNative(e)
    }
    this._init(n, name, host.clock, host)
  }

  /** A wrapper around a native breaker made elsewhere (a registry, a registry's policy). */
  static _wrap(n, name, clock, host) {
    const cb = Object.create(CircuitBreaker.prototype)
    cb._init(n, name, clock, host ?? {})
    return cb
  }

  _init(n, name, clock, host) {
    this._n = n
    this._f = n.fastFunction()
    this._name = name
    this._clock = clock
    this._classify = host.classify
    this._isFailure = host.isFailure ?? defaultIsFailure
    // Made on first use: most breakers never warn nor get a listener.
    this._warned = undefined
    this._hub = undefined
  }

  /** The component name. */
  get name() {
    return this._name
  }

  /** The clock given in the options (undefined: the system clock). */
  get clock() {
    return this._clock
  }

  /** The current state; pure (reports 'half_open' once the open period has passed). */
  get state() {
    return STATES[this._f(4)]
  }

  /**
   * Runs `fn(context, { signal, attempt })` through the breaker. Resolves with its value;
   * rejects with its own error (the same object), with a CircuitOpenError when the breaker
   * rejects, or with `signal.reason` when `options.signal` aborts (the permit is released and
   * nothing is counted). An abort whose reason is a timeout (`AbortSignal.timeout()`) is a
   * `timeout` failure of the call instead: counted, and rejected with a TimeoutError (code
   * TIMEOUT) whose `cause` is the signal's reason.
   */
  execute(fn, context, options) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('execute(fn): fn must be a function'))
    if (options !== undefined && options !== null && options.signal !== undefined && options.signal !== null) {
      return this._runWithSignal(fn, context, options.signal)
    }
    return this._run(fn, context, FIRST)
  }

  /** `fn` guarded by this breaker, with the same parameters; it returns a Promise of fn's result. */
  wrap(fn) {
    if (typeof fn !== 'function') throw new TypeError('wrap(fn): fn must be a function')
    const breaker = this
    const wrapped = function (...args) {
      return breaker._run(Reflect.apply, fn, this, args)
    }
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true })
    Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true })
    return wrapped
  }

  // The closed path: one native call to acquire, the user's function, one native call to
  // record, with no async function of our own in between (a `then` on fn's promise).
  _run(f, a, b, c) {
    let t = this._f(0)
    if (t !== t) t = this._n.acquire()
    if (FLAG[0] !== 0) drain()
    if (t < 0) return Promise.reject(this._rejection(t, undefined))
    let p
    try {
      p = f(a, b, c)
    } catch (e) {
      this._failed(t, e)
      return Promise.reject(e)
    }
    if (!(p instanceof Promise)) {
      // A plain value, or a foreign thenable: settle it as `await` would.
      if (p === null || (typeof p !== 'object' && typeof p !== 'function') || typeof p.then !== 'function') {
        this._succeeded(t, p)
        return Promise.resolve(p)
      }
      p = Promise.resolve(p)
    }
    return p.then(
      (v) => {
        this._succeeded(t, v)
        return v
      },
      (e) => {
        this._failed(t, e)
        throw e
      },
    )
  }

  async _runWithSignal(fn, context, signal) {
    // Aborted before the call: nothing ran, nothing is counted.
    if (signal.aborted) throw isTimeoutReason(signal.reason) ? abortTimeoutError(this._name, signal.reason) : signal.reason
    const n = this._n
    let t = this._f(0)
    if (t !== t) t = n.acquire()
    if (FLAG[0] !== 0) drain()
    if (t < 0) throw this._rejection(t, undefined)
    let onAbort
    const aborted = new Promise((_, reject) => {
      onAbort = () => reject(signal.reason)
    })
    signal.addEventListener('abort', onAbort, { once: true })
    let v
    try {
      let p
      try {
        p = fn(context, new CallInfo(1, signal))
      } catch (e) {
        p = Promise.reject(e)
      }
      v = await Promise.race([p, aborted])
    } catch (e) {
      if (signal.aborted) {
        const reason = signal.reason
        if (isTimeoutReason(reason)) {
          // The caller's deadline passed during the call: a timeout failure (contract section 4).
          const c = abortTimeoutClassified() & 0xff
          if (this._f(2, t, c) !== undefined) n.recordFailure(t, c)
          if (FLAG[0] !== 0) drain()
          throw abortTimeoutError(this._name, reason)
        }
        if (this._f(3, t) !== undefined) n.release(t)
        throw reason
      }
      this._failed(t, e)
      throw e
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
    this._succeeded(t, v)
    return v
  }

  _rejection(t, cause) {
    const name = this._name
    return stackless(() => {
      if (t === -1) return new CircuitOpenError({ component: name, state: 'forced_open', retryAfter: undefined, ...cause })
      if (t === -2) return new CircuitOpenError({ component: name, state: 'half_open', retryAfter: 0, ...cause })
      return new CircuitOpenError({ component: name, state: 'open', retryAfter: -t - 3, ...cause })
    })
  }

  _category(x) {
    const classify = this._classify
    if (classify !== undefined) {
      let c
      try {
        c = classify(x)
      } catch (e) {
        warnOnce(this, 'the classify hook threw; using the default classification', e)
      }
      if (c !== undefined && c !== null) {
        const i = CATEGORY_INDEX.get(c)
        if (i !== undefined) return i
        warnOnce(this, `the classify hook returned '${String(c)}'`, `not a category (${[...CATEGORY_INDEX.keys()].join(', ')})`)
      }
    }
    return defaultCategoryIndex(x)
  }

  _failed(t, e) {
    const c = this._category(e)
    if (this._f(2, t, c) !== undefined) this._n.recordFailure(t, c)
    if (FLAG[0] !== 0) drain()
  }

  _succeeded(t, v) {
    let failed = false
    try {
      failed = this._isFailure(v) === true
    } catch (e) {
      warnOnce(this, 'the isFailure hook threw; counting the result as a success', e)
    }
    if (failed) {
      const c = this._category(v)
      if (this._f(2, t, c) !== undefined) this._n.recordFailure(t, c)
    } else if (this._f(1, t) !== undefined) this._n.recordSuccess(t)
    if (FLAG[0] !== 0) drain()
  }

  _flush() {
    const events = this._n.takeEvents()
    if (events.length > 0 && this._hub !== undefined) this._hub.dispatch(events)
  }

  /** A consistent view of the breaker (durations in ms). Pure. */
  snapshot() {
    const s = this._n.snapshot()
    return {
      state: s.state,
      stateSince: s.stateSince,
      calls: s.calls,
      failures: s.failures,
      slowCalls: s.slowCalls,
      failureRate: s.failureRate,
      slowCallRate: s.slowCallRate,
      consecutiveFailures: s.consecutiveFailures,
      consecutiveSuccesses: s.consecutiveSuccesses,
      callsTotal: s.callsTotal,
      successesTotal: s.successesTotal,
      failuresTotal: s.failuresTotal,
      ignoredTotal: s.ignoredTotal,
      rejectedTotal: s.rejectedTotal,
      timesOpened: s.timesOpened,
      lastFailureCategory: s.lastFailureCategory ?? undefined,
      retryAfter: s.retryAfter ?? undefined,
    }
  }

  _manual(op) {
    const changed = this._n.manual(op)
    if (FLAG[0] !== 0) drain()
    return changed
  }

  /** Rejects every call until another manual state is chosen. Returns whether the state changed. */
  forceOpen() {
    return this._manual(OP.forceOpen)
  }
  /** Back to normal operation (closed) from a clean window. */
  forceClose() {
    return this._manual(OP.forceClose)
  }
  /** Admits every call and records nothing. */
  disable() {
    return this._manual(OP.disable)
  }
  /** Admits and records every call but never trips. */
  metricsOnly() {
    return this._manual(OP.metricsOnly)
  }
  /** A brand-new closed breaker: window, counters, backoff and lifetime totals cleared. */
  reset() {
    return this._manual(OP.reset)
  }

  /**
   * Changes options on the live breaker (the others keep their values); state and counters
   * stay. Throws ConfigError, changing nothing, when an option is invalid.
   */
  configure(options) {
    const { json, host } = breakerOptions(options, { partial: true })
    const errors = this._n.configure(json)
    if (errors.length > 0) throw configError(fromCoreErrors(options, errors))
    if (host.classify !== undefined) this._classify = host.classify
    if (host.isFailure !== undefined) this._isFailure = host.isFailure
  }

  /**
   * Listens to `name` (camelCase: 'stateChange', 'failure'...); returns a function that stops.
   * Events this thread causes reach the listener synchronously; events another worker causes
   * on a breaker of the process-wide registry arrive asynchronously, on this thread.
   */
  on(name, listener) {
    const n = this._n
    if (this._hub === undefined) this._hub = new EventHub(BREAKER_EVENTS, (mask) => n.setListening(mask))
    const off = this._hub.on(name, listener, `CircuitBreaker '${this._name}'`)
    const qid = n.queueId
    queues.set(qid, this)
    return () => {
      off()
      if (this._hub.count === 0) queues.delete(qid)
    }
  }

  /** Low level: asks for a permit; throws CircuitOpenError when the breaker rejects. */
  tryAcquire() {
    const t = this._n.acquire()
    if (FLAG[0] !== 0) drain()
    if (t < 0) throw this._rejection(t, undefined)
    return new Permit(this, t)
  }

  /**
   * Low level: hands a permit back with the call's outcome. `category` defaults to 'unknown'
   * for a failure and 'client' for an ignored outcome.
   */
  record(permit, outcome, category) {
    let ci
    if (outcome !== 'success') {
      if (outcome !== 'failure' && outcome !== 'ignored') {
        throw new BreakwaterError(`outcome must be 'success', 'failure' or 'ignored', got ${String(outcome)}`, 'INVALID_ARGUMENT')
      }
      ci = category === undefined ? (outcome === 'failure' ? UNKNOWN : CLIENT) : CATEGORY_INDEX.get(category)
      if (ci === undefined) throw new BreakwaterError(`unknown category ${String(category)}`, 'INVALID_ARGUMENT')
    }
    const t = Permit.take(permit, this)
    if (outcome === 'success') this._n.recordSuccess(t)
    else if (outcome === 'failure') this._n.recordFailure(t, ci)
    else this._n.recordIgnored(t, ci)
    if (FLAG[0] !== 0) drain()
  }

  /** Low level: hands a permit back without an outcome (counts nothing). */
  release(permit) {
    this._n.release(Permit.take(permit, this))
    if (FLAG[0] !== 0) drain()
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `CircuitBreaker { name: ${JSON.stringify(this._name)}, state: '${this.state}' }`
  }
}

const FIRST = infoFor(1)

module.exports = { CircuitBreaker, CallInfo, Permit, STATES, infoFor }
