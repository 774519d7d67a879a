'use strict'
// Policy: fallback, retry, circuit breaker, rate limiter, bulkhead, timeout, the call (outermost
// first). The core's step machine decides every step (attempt, sleep, wait for a bulkhead slot,
// give up, which error the caller gets); this file runs the attempts, enforces the per-attempt
// timeout with the attempt's AbortSignal, sleeps (on a ManualClock: advances it), waits to be
// woken when the bulkhead queues the call, and runs the fallback.

const native = require('../native.js')
const { CircuitOpenError, RateLimitedError, BulkheadFullError, TimeoutError, RetryError, stackless, abortTimeoutError, fromNative } = require('./errors')
const { ManualClock, kNative, schedule, sleep } = require('./clock')
const { CircuitBreaker, CallInfo, infoFor } = require('./breaker')
const FIRST = infoFor(1)
const { Retry } = require('./retry')
const { RateLimiter, Bulkhead, SlotWait, WAIT_CANCELLED } = require('./limits')
const { split, configError } = require('./options')
const { CATEGORY_INDEX, defaultClassified, retryAfterOf, defaultIsFailure, isTimeoutReason, abortTimeoutClassified } = require('./classify')
const { EventHub } = require('./events')
const { FLAG, drain, queues } = require('./host')
const { Fallback } = require('./degradation')

const POLICY_EVENTS = ['retry', 'giveUp', 'fallback']
const CANCELLED = { cancelled: true }
const REJECTION_REASON = { CIRCUIT_OPEN: 'circuit_open', RATE_LIMITED: 'rate_limited', BULKHEAD_FULL: 'bulkhead_full' }

function warnOnce(policy, what, detail) {
  if (policy._warned.has(what)) return
  policy._warned.add(what)
  process.emitWarning(`policy '${policy._name}': ${what} (reported once): ${detail}`, { code: 'BREAKWATER_HOOK_ERROR' })
}

class Policy {
  /**
   * @param {object} options `{ breaker, retry, timeout (ms, per attempt), fallback, clock, name,
   *   classify, isFailure }`, every one optional.
   */
  constructor(options) {
    const r = split(options, {
      core: [],
      host: ['breaker', 'retry', 'rateLimiter', 'bulkhead', 'timeout', 'fallback', 'clock', 'name', 'classify', 'isFailure'],
      special: { rate_limiter: () => 'the JS option is `rateLimiter`' },
    })
    const o = r.options
    const errors = r.errors
    const check = (key, ok, allowed) => {
      if (o[key] !== undefined && o[key] !== null && !ok(o[key])) errors.push({ key, value: o[key], allowed })
    }
    check('breaker', (v) => v instanceof CircuitBreaker, 'a CircuitBreaker')
    check('retry', (v) => v instanceof Retry, 'a Retry')
    check('rateLimiter', (v) => v instanceof RateLimiter, 'a RateLimiter')
    check('bulkhead', (v) => v instanceof Bulkhead, 'a Bulkhead')
    check('timeout', (v) => typeof v === 'number' && Number.isFinite(v) && v > 0, 'a duration in ms > 0')
    check('fallback', (v) => typeof v === 'function' || v instanceof Fallback, 'a function (error, context, info) => value, or a Fallback')
    check('clock', (v) => v instanceof ManualClock, 'a ManualClock (leave it out for the system clock)')
    check('name', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string')
    check('classify', (v) => typeof v === 'function', 'a function')
    check('isFailure', (v) => typeof v === 'function', 'a function')
    const breaker = o.breaker ?? undefined
    const retry = o.retry ?? undefined
    const rateLimiter = o.rateLimiter ?? undefined
    const bulkhead = o.bulkhead ?? undefined
    // One clock for every part (contract section 7). A breaker always has one (undefined: the
    // system clock). Retry, RateLimiter, Bulkhead and Fallback read the policy's clock when they
    // were made without one; only a clock given to them must match.
    const clocks = []
    if (o.clock !== undefined && o.clock !== null) clocks.push(o.clock)
    if (breaker instanceof CircuitBreaker) clocks.push(breaker.clock)
    for (const part of [retry, rateLimiter, bulkhead, o.fallback]) {
      const known =
        part instanceof Retry || part instanceof RateLimiter || part instanceof Bulkhead || part instanceof Fallback
      if (known && part.clock) clocks.push(part.clock)
    }
    if (clocks.some((c) => c !== clocks[0])) {
      errors.push({ key: 'clock', value: o.clock, allowed: "the clock of the policy's parts (they must share one)" })
    }
    if (errors.length > 0) throw configError(errors)
    const clock = clocks[0]
    const name = o.name ?? (breaker ? breaker.name : 'policy')
    const fb = o.fallback instanceof Fallback ? o.fallback : undefined
    let n
    try {
      n = new native.NativePolicy(
        name,
        breaker ? breaker._n : undefined,
        retry ? retry[kNative] : undefined,
        rateLimiter ? rateLimiter._n : undefined,
        bulkhead ? bulkhead._n : undefined,
        o.timeout ?? undefined,
        typeof o.fallback === 'function' || (fb !== undefined && fb._fallback !== undefined),
        clock ? clock[kNative] : undefined,
        fb !== undefined ? fb.manager._n : undefined,
      )
    } catch (e) {
      throw fromNative(e)
    }
    this._init(n, { ...o, name, breaker, retry, rateLimiter, bulkhead, clock })
  }

  /** A wrapper around a native policy made elsewhere (a registry), with its parts' wrappers. */
  static _wrap(n, parts) {
    const p = Object.create(Policy.prototype)
    p._init(n, parts)
    return p
  }

  _init(n, o) {
    const { breaker, retry, clock } = o
    this._n = n
    this._f = n.fastFunction()
    this._name = o.name
    this._breaker = breaker
    this._retry = retry
    this._rateLimiter = o.rateLimiter
    this._bulkhead = o.bulkhead
    this._clock = clock
    this._timeout = o.timeout ?? undefined
    // A Fallback's manager chooses strategies (the core); a plain function serves when none does.
    this._fb = o.fallback instanceof Fallback ? o.fallback : undefined
    this._fallback = this._fb !== undefined ? this._fb._fallback : (o.fallback ?? undefined)
    this._classify = o.classify ?? (retry && retry._classify) ?? (breaker && breaker._classify)
    this._isFailure = o.isFailure ?? (retry && retry._isFailure) ?? (breaker && breaker._isFailure) ?? defaultIsFailure
    this._warned = new Set()
    this._hub = new EventHub(POLICY_EVENTS, (mask) => n.setListening(mask))
    this._qid = n.queueId
    this._wallNow = clock ? () => clock.wallMs() : () => Date.now()
  }

  get name() {
    return this._name
  }
  get breaker() {
    return this._breaker
  }
  get retry() {
    return this._retry
  }
  get rateLimiter() {
    return this._rateLimiter
  }
  get bulkhead() {
    return this._bulkhead
  }
  get clock() {
    return this._clock
  }
  /** The per-attempt timeout in ms, if any. */
  get timeout() {
    return this._timeout
  }

  /**
   * Runs `fn(context, { signal, attempt })` through the pipeline. Resolves with its value (or
   * the fallback's); rejects with fn's own error, a RetryError, a CircuitOpenError, or
   * `options.signal`'s reason when cancelled.
   */
  execute(fn, context, options) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('execute(fn): fn must be a function'))
    const signal = options !== undefined && options !== null && options.signal != null ? options.signal : undefined
    return this._run(fn, context, signal, false)
  }

  /** Like `execute`, resolving with `{ value, fromFallback, strategy, reason, stale, attempts }`. */
  executeWithInfo(fn, context, options) {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('executeWithInfo(fn): fn must be a function'))
    const signal = options !== undefined && options !== null && options.signal != null ? options.signal : undefined
    return this._run(fn, context, signal, true)
  }

  /** `fn` through the pipeline: same parameters (and `this`), and a Promise of its result. */
  wrap(fn) {
    if (typeof fn !== 'function') throw new TypeError('wrap(fn): fn must be a function')
    const policy = this
    const call = (c) => Reflect.apply(c.fn, c.self, c.args)
    const wrapped = function (...args) {
      return policy._run(call, new WrapCall(fn, this, args), undefined, false)
    }
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true })
    Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true })
    return wrapped
  }

  /**
   * Listens to the policy's own events: 'retry', 'giveUp' and 'fallback' (a fallback served a
   * call: a strategy, or the plain fallback function). The breaker has its own `on`.
   */
  on(name, listener) {
    const off = this._hub.on(name, listener, `Policy '${this._name}'`)
    queues.set(this._qid, this)
    return () => {
      off()
      if (this._hub.count === 0) queues.delete(this._qid)
    }
  }

  _flush() {
    const events = this._n.takeEvents()
    if (events.length > 0) this._hub.dispatch(events)
  }

  _classified(x) {
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
        warnOnce(this, `the classify hook returned '${String(c)}'`, 'not a category')
      }
    }
    return defaultClassified(x)
  }

  _isFailed(value) {
    try {
      return this._isFailure(value) === true
    } catch (e) {
      warnOnce(this, 'the isFailure hook threw; counting the result as a success', e)
      return false
    }
  }

  // The first step runs without an async function of our own: a call whose first attempt
  // succeeds (no signal, no timeout, no strategies) is one native call to start, the user's
  // function, and one native call to finish. Everything else continues in `_loop`.
  _run(fn, context, signal, withInfo) {
    if (signal !== undefined && signal.aborted) return Promise.reject(this._abortReason(signal))
    let packed = this._f(10)
    if (packed !== packed) {
      try {
        packed = this._n.start()
      } catch (e) {
        return Promise.reject(fromNative(e))
      }
    }
    const token = Math.floor(packed / 128)
    const code = packed - token * 128
    if (code !== 9 || signal !== undefined || this._timeout !== undefined || this._fb !== undefined || FLAG[0] !== 0) {
      return this._loop(fn, context, signal, withInfo, token, code, undefined, undefined, false, 0)
    }
    let p
    try {
      p = fn(context, FIRST)
    } catch (e) {
      return this._settleFirst(fn, context, withInfo, token, e, false)
    }
    if (!(p instanceof Promise)) {
      if (p === null || (typeof p !== 'object' && typeof p !== 'function') || typeof p.then !== 'function') {
        return Promise.resolve(this._settleFirst(fn, context, withInfo, token, p, true))
      }
      p = Promise.resolve(p)
    }
    return p.then(
      (v) => this._settleFirst(fn, context, withInfo, token, v, true),
      (e) => this._settleFirst(fn, context, withInfo, token, e, false),
    )
  }

  /** The first attempt's outcome (fast path): the value at once, else the general loop. */
  _settleFirst(fn, context, withInfo, token, x, ok) {
    try {
      return this._settleFirstUnguarded(fn, context, withInfo, token, x, ok)
    } catch (e) {
      return Promise.reject(fromNative(e))
    }
  }

  _settleFirstUnguarded(fn, context, withInfo, token, x, ok) {
    const f = this._f
    let code
    let failedValue = false
    if (ok && !this._isFailed(x)) {
      code = f(11, token)
      if (code !== code) code = this._n.success(token)
      if (code === 1 && FLAG[0] === 0) {
        return withInfo ? Promise.resolve(info(x, false, undefined, undefined, undefined, false, 1)) : x
      }
      return this._loop(fn, context, undefined, withInfo, token, code, x, undefined, false, 1)
    }
    failedValue = ok
    const cls = this._classified(x)
    const ra = this._retry !== undefined ? retryAfterOf(x, this._wallNow) : -1
    code = f(12, token, cls, ra)
    if (code !== code) code = this._n.failure(token, cls, ra)
    return this._loop(fn, context, undefined, withInfo, token, code, undefined, x, failedValue, 1)
  }

  /** The pipeline from step `code` on (attempts, sleeps, waits, the fallback). */
  async _loop(fn, context, signal, withInfo, token, code, value, error, failedValue, attempts) {
    const n = this._n
    const f = this._f
    let step
    let slot
    const guarded = this._timeout !== undefined || signal !== undefined
    for (;;) {
      // After every native step: read the details of a rare step (a queued call registers for
      // its wake before anything else runs), then deliver this thread's events and wakes.
      if (code === 0) {
        step = n.lastStep()
        if (step.kind === 'wait') slot = new SlotWait(step.waiter)
      }
      if (FLAG[0] !== 0) drain()
      if (code >= 8) {
        attempts = code - 8
        let ok = true
        if (!guarded) {
          try {
            value = await fn(context, infoFor(attempts))
          } catch (e) {
            ok = false
            error = e
          }
        } else {
          const r = await this._guardedAttempt(fn, context, attempts, signal)
          if (r === CANCELLED) {
            code = f(13, token)
            if (code !== code) code = n.cancel(token)
            continue
          }
          if (r.deadline) return this._deadlinePassed(r.error, fn, context, token, withInfo)
          ok = r.ok
          if (ok) value = r.value
          else error = r.error
        }
        if (ok && !this._isFailed(value)) {
          failedValue = false
          code = f(11, token)
          if (code !== code) code = n.success(token)
        } else {
          failedValue = ok
          if (ok) error = value
          const cls = this._classified(error)
          const ra = this._retry !== undefined ? retryAfterOf(error, this._wallNow) : -1
          code = f(12, token, cls, ra)
          if (code !== code) code = n.failure(token, cls, ra)
        }
        continue
      }
      if (code === 1) {
        const fb = this._fb
        if (fb !== undefined && fb._cache !== undefined) {
          const key = fb._key(...keySource(fn, context), this._name)
          if (key !== undefined) fb._cache.put(key, value)
        }
        return withInfo ? info(value, false, undefined, undefined, undefined, false, attempts) : value
      }
      if (code === 2) {
        if (failedValue) return withInfo ? info(error, false, undefined, undefined, undefined, false, attempts) : error
        throw error
      }
      if (code === 3) throw this._abortReason(signal)
      if (step.kind === 'sleep') {
        try {
          await sleep(this._clock, step.delay, signal)
        } catch {
          code = n.cancel(token)
          continue
        }
        if (signal !== undefined && signal.aborted) code = n.cancel(token)
        else {
          code = f(14, token)
          if (code !== code) code = n.afterSleep(token)
        }
        continue
      }
      if (step.kind === 'wait') {
        // The bulkhead queued the call: wait to be handed a slot, at most its max wait.
        const woken = await slot.wait(step.delay, this._clock, signal)
        slot = undefined
        if (woken === WAIT_CANCELLED) code = n.cancel(token)
        else {
          code = f(15, token, woken ? 1 : 0)
          if (code !== code) code = n.afterWait(token, woken)
        }
        continue
      }
      if (step.kind === 'fallback') return this._runFallback(step, error, fn, context, token, withInfo)
      if (step.kind === 'done') throw this._verdictError(step, error)
      throw new Error(`breakwater: unexpected policy step ${step.kind}`)
    }
  }

  /** What a cancelled call rejects with: the signal's reason, or a TimeoutError when it is a timeout. */
  _abortReason(signal) {
    const reason = signal.reason
    return isTimeoutReason(reason) ? abortTimeoutError(this._name, reason) : reason
  }

  /**
   * The caller's own deadline passed during an attempt (its signal aborted with a timeout
   * reason, e.g. `AbortSignal.timeout()`): the attempt is a `timeout` failure (classified by the
   * core with the abort_reason_timeout fact, counted by the breaker), and nothing is retried;
   * the caller gets `error` (a TimeoutError whose cause is the reason), unless a fallback serves.
   */
  _deadlinePassed(error, fn, context, token, withInfo) {
    const n = this._n
    const f = this._f
    const cls = abortTimeoutClassified()
    let code = f(12, token, cls, -1)
    if (code !== code) code = n.failure(token, cls, -1)
    let step
    if (code === 0) step = n.lastStep()
    if (FLAG[0] !== 0) drain()
    if (step !== undefined && step.kind === 'fallback') return this._runFallback(step, error, fn, context, token, withInfo)
    if (code >= 8 || (step !== undefined && step.kind !== 'done')) {
      // A retry (an attempt, a backoff sleep or a bulkhead wait) would follow: the caller no
      // longer waits for one, so the call ends here.
      code = f(13, token)
      if (code !== code) n.cancel(token)
      if (FLAG[0] !== 0) drain()
    }
    throw error
  }

  /** One attempt with the per-attempt timeout and the caller's signal. */
  _guardedAttempt(fn, context, attempt, signal) {
    if (signal !== undefined && signal.aborted) return Promise.resolve(CANCELLED)
    const timeout = this._timeout
    const ac = timeout !== undefined ? new AbortController() : undefined
    const attemptSignal = ac !== undefined ? ac.signal : signal
    return new Promise((resolve) => {
      let done = false
      let cancelTimer
      let onAbort
      const finish = (r) => {
        if (done) return
        done = true
        if (cancelTimer !== undefined) cancelTimer()
        if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
        resolve(r)
      }
      if (timeout !== undefined) {
        cancelTimer = schedule(this._clock, timeout, () => {
          const e = stackless(() => new TimeoutError({ component: this._name, timeout }))
          ac.abort(e)
          finish({ ok: false, error: e })
        })
      }
      if (signal !== undefined) {
        onAbort = () => {
          const reason = signal.reason
          if (ac !== undefined) ac.abort(reason)
          if (isTimeoutReason(reason)) finish({ ok: false, deadline: true, error: abortTimeoutError(this._name, reason) })
          else finish(CANCELLED)
        }
        signal.addEventListener('abort', onAbort, { once: true })
      }
      let p
      try {
        p = fn(context, new CallInfo(attempt, attemptSignal))
      } catch (e) {
        finish({ ok: false, error: e })
        return
      }
      Promise.resolve(p).then(
        (v) => finish({ ok: true, value: v }),
        (e) => finish({ ok: false, error: e }),
      )
    })
  }

  /** The error a verdict gives the caller (`error`: the last user error, if any). */
  _verdictError(step, error) {
    switch (step.verdict) {
      case 'user_error':
        return error
      case 'retry_exhausted':
        return stackless(() => new RetryError({ attempts: step.attempts, reason: step.reason, component: this._name, cause: error }))
      case 'rejected': {
        const fields = { component: this._name, retryAfter: step.retryAfter ?? undefined }
        if (step.attempts > 0) fields.cause = error
        if (step.code === 'CIRCUIT_OPEN') {
          if (this._breaker) fields.component = this._breaker.name
          return stackless(() => new CircuitOpenError({ ...fields, state: step.state }))
        }
        if (step.code === 'RATE_LIMITED') {
          if (this._rateLimiter) fields.component = this._rateLimiter.name
          return stackless(() => new RateLimitedError(fields))
        }
        if (this._bulkhead) fields.component = this._bulkhead.name
        delete fields.retryAfter
        return stackless(() => new BulkheadFullError(fields))
      }
      default:
        return new Error(`breakwater: unexpected verdict ${step.verdict}`)
    }
  }

  async _runFallback(step, error, fn, context, token, withInfo) {
    const err = this._verdictError(step, error)
    const fb = this._fb
    let key
    let cached
    if (fb !== undefined && fb._cache !== undefined) {
      const [f, c] = keySource(fn, context)
      key = fb._key(f, c, this._name)
      if (key !== undefined) cached = fb._cache.status(key)
    }
    let fs
    if (fb !== undefined) fb.manager._ctx = { component: this._name, error: err, context, cacheKey: key, cached }
    try {
      fs = this._n.fallback(token, key, cached, fb !== undefined ? fb.manager._accept : undefined)
    } finally {
      if (fb !== undefined) fb.manager._ctx = undefined
    }
    if (FLAG[0] !== 0) drain()
    // The call waits at its fallback step until we say whether a fallback served it (the
    // policy's `fallback` event, emitted by the core).
    let served = false
    let strategy
    try {
      const attempts = fs.attempts
      const trigger = fs.trigger ?? undefined
      const choice = fs.choice
      if (choice !== null && choice !== undefined) {
        const value = await fb._serve(choice, err, context, key, { component: this._name, attempts })
        served = true
        strategy = choice.strategy
        return withInfo ? info(value, true, choice.strategy, choice.kind, trigger, choice.stale, attempts) : value
      }
      const f = this._fallback
      if (f === undefined) throw err
      const reason =
        step.verdict === 'retry_exhausted'
          ? step.reason
          : step.verdict === 'rejected'
            ? REJECTION_REASON[step.code]
            : this._retry !== undefined
              ? 'not_retryable'
              : 'error'
      const value = await f(err, context, { attempts, reason, trigger, component: this._name })
      served = true
      return withInfo ? info(value, true, undefined, undefined, trigger, false, attempts) : value
    } finally {
      this._n.fallbackEnd(fs.token, served, strategy)
      if (FLAG[0] !== 0) drain()
    }
  }
}

/** What a cache key is made of: the function and the context (for `wrap`, the original function and its arguments). */
function keySource(fn, context) {
  return context instanceof WrapCall ? [context.fn, context.args] : [fn, context]
}

/** The context of a `wrap`ped call: the original function, `this` and the arguments. */
class WrapCall {
  constructor(fn, self, args) {
    this.fn = fn
    this.self = self
    this.args = args
  }
}

function info(value, fromFallback, strategy, kind, reason, stale, attempts) {
  return { value, fromFallback, strategy, kind, reason, stale, attempts }
}

module.exports = { Policy }
