'use strict'
// Policy: fallback, retry, circuit breaker, timeout, the call (outermost first). The core's step
// machine decides every step (attempt, sleep, give up, which error the caller gets); this file
// runs the attempts, enforces the per-attempt timeout with the attempt's AbortSignal, sleeps
// (on a ManualClock: advances it), and runs the fallback.

const native = require('../native.js')
const { CircuitOpenError, RateLimitedError, BulkheadFullError, TimeoutError, RetryError, stackless, fromNative } = require('./errors')
const { ManualClock, kNative, schedule, sleep } = require('./clock')
const { CircuitBreaker, CallInfo, fast } = require('./breaker')
const { Retry } = require('./retry')
const { split, configError } = require('./options')
const { CATEGORY_INDEX, defaultClassified, retryAfterOf, defaultIsFailure } = require('./classify')
const { EventHub } = require('./events')

const POLICY_EVENTS = ['retry', 'giveUp']
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
    const later = () => 'not available in the Node binding yet'
    const r = split(options, {
      core: [],
      host: ['breaker', 'retry', 'timeout', 'fallback', 'clock', 'name', 'classify', 'isFailure'],
      special: { rateLimiter: later, bulkhead: later, rate_limiter: later },
    })
    const o = r.options
    const errors = r.errors
    const check = (key, ok, allowed) => {
      if (o[key] !== undefined && o[key] !== null && !ok(o[key])) errors.push({ key, value: o[key], allowed })
    }
    check('breaker', (v) => v instanceof CircuitBreaker, 'a CircuitBreaker')
    check('retry', (v) => v instanceof Retry, 'a Retry')
    check('timeout', (v) => typeof v === 'number' && Number.isFinite(v) && v > 0, 'a duration in ms > 0')
    check('fallback', (v) => typeof v === 'function', 'a function (error, context, info) => value')
    check('clock', (v) => v instanceof ManualClock, 'a ManualClock (leave it out for the system clock)')
    check('name', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string')
    check('classify', (v) => typeof v === 'function', 'a function')
    check('isFailure', (v) => typeof v === 'function', 'a function')
    const breaker = o.breaker ?? undefined
    const retry = o.retry ?? undefined
    // One clock for every part (contract section 7): undefined is the system clock.
    const clocks = []
    if (o.clock !== undefined && o.clock !== null) clocks.push(o.clock)
    if (breaker instanceof CircuitBreaker) clocks.push(breaker.clock)
    if (retry instanceof Retry) clocks.push(retry.clock)
    if (clocks.some((c) => c !== clocks[0])) {
      errors.push({ key: 'clock', value: o.clock, allowed: "the clock of the policy's parts (they must share one)" })
    }
    if (errors.length > 0) throw configError(errors)
    const clock = clocks[0]
    this._name = o.name ?? (breaker ? breaker.name : 'policy')
    try {
      this._n = new native.NativePolicy(
        this._name,
        breaker ? breaker._n : undefined,
        retry ? retry[kNative] : undefined,
        o.timeout ?? undefined,
        typeof o.fallback === 'function',
        clock ? clock[kNative] : undefined,
      )
    } catch (e) {
      throw fromNative(e)
    }
    this._h = this._n.handle
    this._breaker = breaker
    this._retry = retry
    this._clock = clock
    this._timeout = o.timeout ?? undefined
    this._fallback = o.fallback ?? undefined
    this._classify = o.classify ?? (retry && retry._classify) ?? (breaker && breaker._classify)
    this._isFailure = o.isFailure ?? (retry && retry._isFailure) ?? (breaker && breaker._isFailure) ?? defaultIsFailure
    this._warned = new Set()
    const n = this._n
    this._hub = new EventHub(POLICY_EVENTS, (mask) => n.setListening(mask))
    this._ev = false
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
    const call = (args) => Reflect.apply(fn, args.self, args.args)
    const wrapped = function (...args) {
      return policy._run(call, { self: this, args }, undefined, false)
    }
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true })
    Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true })
    return wrapped
  }

  /** Listens to the policy's own events: 'retry' and 'giveUp' (the breaker has its own `on`). */
  on(name, listener) {
    const off = this._hub.on(name, listener, `Policy '${this._name}'`)
    this._ev = true
    return () => {
      off()
      this._ev = this._hub.count > 0
    }
  }

  _flush() {
    const b = this._breaker
    if (b !== undefined && b._ev) b._flush()
    if (this._ev) {
      const events = this._n.takeEvents()
      if (events.length > 0) this._hub.dispatch(events)
    }
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

  async _run(fn, context, signal, withInfo) {
    if (signal !== undefined && signal.aborted) throw signal.reason
    const n = this._n
    const h = this._h
    let packed = fast(h, 10)
    if (packed !== packed) packed = n.start()
    const token = Math.floor(packed / 128)
    let code = packed - token * 128
    if (this._ev || (this._breaker !== undefined && this._breaker._ev)) this._flush()
    let value
    let error
    let failedValue = false
    let attempts = 0
    const guarded = this._timeout !== undefined || signal !== undefined
    for (;;) {
      if (code >= 8) {
        attempts = code - 8
        let ok = true
        if (!guarded) {
          try {
            value = await fn(context, new CallInfo(attempts, undefined))
          } catch (e) {
            ok = false
            error = e
          }
        } else {
          const r = await this._guardedAttempt(fn, context, attempts, signal)
          if (r === CANCELLED) {
            code = fast(h, 13, token)
            if (code !== code) code = n.cancel(token)
            this._flush()
            continue
          }
          ok = r.ok
          if (ok) value = r.value
          else error = r.error
        }
        if (ok && !this._isFailed(value)) {
          failedValue = false
          code = fast(h, 11, token)
          if (code !== code) code = n.success(token)
        } else {
          failedValue = ok
          if (ok) error = value
          const cls = this._classified(error)
          const ra = this._retry !== undefined ? retryAfterOf(error, this._wallNow) : -1
          code = fast(h, 12, token, cls, ra)
          if (code !== code) code = n.failure(token, cls, ra)
        }
        if (this._ev || (this._breaker !== undefined && this._breaker._ev)) this._flush()
        continue
      }
      if (code === 1) return withInfo ? info(value, false, undefined, undefined, attempts) : value
      if (code === 2) {
        if (failedValue) return withInfo ? info(error, false, undefined, undefined, attempts) : error
        throw error
      }
      if (code === 3) throw signal.reason
      const step = n.lastStep()
      if (step.kind === 'sleep') {
        try {
          await sleep(this._clock, step.delay, signal)
        } catch {
          code = n.cancel(token)
          this._flush()
          continue
        }
        if (signal !== undefined && signal.aborted) code = n.cancel(token)
        else {
          code = fast(h, 14, token)
          if (code !== code) code = n.afterSleep(token)
        }
        this._flush()
        continue
      }
      if (step.kind === 'fallback') return this._runFallback(step, error, failedValue, context, withInfo)
      if (step.kind === 'done') throw this._verdictError(step, error)
      throw new Error(`breakwater: unexpected policy step ${step.kind}`)
    }
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
          if (ac !== undefined) ac.abort(signal.reason)
          finish(CANCELLED)
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
        const fields = { component: this._breaker ? this._breaker.name : this._name, retryAfter: step.retryAfter ?? undefined }
        if (step.attempts > 0) fields.cause = error
        if (step.code === 'CIRCUIT_OPEN') return stackless(() => new CircuitOpenError({ ...fields, state: step.state }))
        if (step.code === 'RATE_LIMITED') return stackless(() => new RateLimitedError(fields))
        return stackless(() => new BulkheadFullError(fields))
      }
      default:
        return new Error(`breakwater: unexpected verdict ${step.verdict}`)
    }
  }

  async _runFallback(step, error, failedValue, context, withInfo) {
    const err = this._verdictError(step, error)
    const reason =
      step.verdict === 'retry_exhausted'
        ? step.reason
        : step.verdict === 'rejected'
          ? REJECTION_REASON[step.code]
          : this._retry !== undefined
            ? 'not_retryable'
            : 'error'
    const attempts = step.attempts ?? 0
    const fb = this._fallback
    const value = await fb(err, context, { attempts, reason, component: this._name })
    return withInfo ? info(value, true, fb.name || 'fallback', reason, attempts) : value
  }
}

function info(value, fromFallback, strategy, reason, attempts) {
  return { value, fromFallback, strategy, reason, stale: false, attempts }
}

module.exports = { Policy }
