'use strict'
// Retry and RetryBudget. The core decides (retry after D, or give up because R, with the
// delays drawn from its seeded SplitMix64 streams); the JS layer only sleeps. A Retry on its own
// runs through a Policy made of just that retry.

const crypto = require('node:crypto')
const native = require('../native.js')
const { fromNative } = require('./errors')
const { kNative } = require('./clock')
const { split, hostHooks, replacer, fromCoreErrors, configError, isPlainObject, HOST_KEYS } = require('./options')
const { CATEGORY_INDEX, defaultClassified, retryAfterOf } = require('./classify')

const RETRY_KEYS = [
  'maxAttempts',
  'baseDelay',
  'maxDelay',
  'multiplier',
  'jitter',
  'jitterFactor',
  'maxElapsed',
  'retryOn',
  'maxRetryAfter',
  'idempotent',
  'seed',
  'budget',
]
const BUDGET_KEYS = ['ratio', 'minPerSecond', 'ttl']
const kPolicy = Symbol('breakwater.retryPolicy')

/** Retries may be at most `ratio` of first attempts plus `minPerSecond`, over a sliding `ttl` (ms). */
class RetryBudget {
  /** @param {{ ratio?: number, minPerSecond?: number, ttl?: number }} [options] */
  constructor(options) {
    const r = split(options, { core: BUDGET_KEYS, host: [] })
    if (r.errors.length > 0) throw configError(r.errors)
    const json = JSON.stringify(r.core, replacer)
    const errors = native.checkBudgetConfig(json)
    if (errors.length > 0) throw configError(fromCoreErrors(r.options, errors))
    try {
      this[kNative] = new native.NativeRetryBudget(json)
    } catch (e) {
      throw fromNative(e)
    }
  }
}

function entropy() {
  return crypto.randomBytes(8).readBigUInt64LE().toString()
}

class Retry {
  /**
   * @param {object} [options] maxAttempts, baseDelay (ms), maxDelay (ms), multiplier, jitter,
   *   jitterFactor, maxElapsed (ms), retryOn (categories), maxRetryAfter (ms), idempotent, seed,
   *   budget (a RetryBudget, or its options), clock, classify, isFailure.
   */
  constructor(options) {
    const r = split(options, { core: RETRY_KEYS, host: HOST_KEYS, nested: { budget: BUDGET_KEYS } })
    const host = hostHooks(r.options, r.errors)
    const core = r.core
    let seed
    if (typeof core.seed === 'bigint') {
      if (core.seed < 0n || core.seed >= 1n << 64n) r.errors.push({ key: 'seed', value: core.seed, allowed: 'an integer 0..=2^64-1' })
      seed = core.seed.toString()
      delete core.seed
    }
    let budget
    if (core.budget instanceof RetryBudget) {
      budget = core.budget
      delete core.budget
    } else if (core.budget !== undefined && core.budget !== null && !isPlainObject(core.budget)) {
      r.errors.push({ key: 'budget', value: core.budget, allowed: 'a RetryBudget or its options' })
    }
    if (r.errors.length > 0) throw configError(r.errors)
    const json = JSON.stringify(core, replacer)
    const errors = native.checkRetryConfig(json, seed)
    if (errors.length > 0) throw configError(fromCoreErrors(r.options, errors))
    let n
    try {
      n = new native.NativeRetry(json, seed, entropy(), budget && budget[kNative], host.clock && host.clock[kNative])
    } catch (e) {
      throw fromNative(e)
    }
    this._init(n, host.clock, host, budget)
  }

  /** A wrapper around a native retry policy made elsewhere (a registry). */
  static _wrap(n, clock, host) {
    const r = Object.create(Retry.prototype)
    r._init(n, clock, host ?? {}, undefined)
    return r
  }

  _init(n, clock, host, budget) {
    this[kNative] = n
    this._clock = clock
    this._classify = host.classify
    this._isFailure = host.isFailure
    this._budget = budget
    this[kPolicy] = undefined
  }

  /** The clock given in the options (undefined: the system clock). */
  get clock() {
    return this._clock
  }

  /** The shared budget given in the options, if any. */
  get budget() {
    return this._budget
  }

  /** The Policy made of this retry alone (made on first use). */
  _policy() {
    let p = this[kPolicy]
    if (p === undefined) {
      const { Policy } = require('./policy')
      p = this[kPolicy] = new Policy({ retry: this, name: 'retry' })
    }
    return p
  }

  /**
   * Low level: starts a call now (for your own loop). `decide(error)` after each failed attempt
   * answers `{ decision: 'retry', delay, attempt }` or `{ decision: 'give_up', reason }`.
   */
  begin() {
    return new RetryCall(this, this[kNative].begin())
  }

  /** Runs `fn(context, { signal, attempt })`, retrying its failures as configured. */
  execute(fn, context, options) {
    return this._policy().execute(fn, context, options)
  }

  /** Like `execute`, resolving with `{ value, attempts, fromFallback: false, ... }`. */
  executeWithInfo(fn, context, options) {
    return this._policy().executeWithInfo(fn, context, options)
  }

  /** `fn` with retries: same parameters, and a Promise of its result. */
  wrap(fn) {
    return this._policy().wrap(fn)
  }

  /** Listens to 'retry' and 'giveUp' events of calls made through `execute`/`wrap`. */
  on(name, listener) {
    if (name !== 'retry' && name !== 'giveUp') {
      throw new TypeError(`unknown event '${String(name)}'; a Retry emits: retry, giveUp`)
    }
    return this._policy().on(name, listener)
  }
}

/** One call's retry state, from `Retry.begin()`. */
class RetryCall {
  #retry
  #n
  constructor(retry, n) {
    this.#retry = retry
    this.#n = n
  }

  /** Attempts made so far, the current one included. */
  get attempts() {
    return this.#n.attempts()
  }

  /** What follows the latest failed attempt, which failed with `error` (or a failed result). */
  decide(error) {
    const retry = this.#retry
    let classified
    const hook = retry._classify
    if (hook !== undefined) {
      const c = hook(error)
      if (c !== undefined && c !== null) {
        classified = CATEGORY_INDEX.get(c)
        if (classified === undefined) throw configError([{ key: 'classify', value: c, allowed: 'a category' }])
      }
    }
    if (classified === undefined) classified = defaultClassified(error)
    const clock = retry._clock
    const d = this.#n.decide(classified, retryAfterOf(error, clock !== undefined ? () => clock.wallMs() : () => Date.now()))
    return d.decision === 'retry'
      ? { decision: 'retry', delay: d.delay, attempt: d.attempt }
      : { decision: 'give_up', reason: d.reason }
  }
}

module.exports = { Retry, RetryBudget, RetryCall, entropy }
