'use strict'
// Registry: named breakers, retry policies, rate limiters, bulkheads and policies, made on first
// use from one config document (defaults, then `agentSpecific` overrides, then code arguments)
// on one clock. The core keeps the components and decides everything (layering, bounds,
// reload); this file keeps one JS wrapper per component and thread.
//
// `registry` (the module export) is the process-wide registry of the core: every
// `worker_threads` worker of the process sees the same breaker under the same name; events a
// worker causes reach the listeners of every thread on their own thread.

const fs = require('node:fs')
const native = require('../native.js')
const { fromNative } = require('./errors')
const { ManualClock, kNative } = require('./clock')
const { CircuitBreaker } = require('./breaker')
const { Retry, entropy } = require('./retry')
const { Policy } = require('./policy')
const { RateLimiter, Bulkhead } = require('./limits')
const { Fallback } = require('./degradation')
const { breakerOptions, split, replacer, fromCoreErrors, configError, isPlainObject, valueAt } = require('./options')
const { FLAG, drain } = require('./host')

const CLOCK_FIXED = "the registry's clock (set it on the Registry)"

function checkName(name) {
  if (typeof name !== 'string' || name.length === 0) {
    throw configError([{ key: 'name', value: name, allowed: 'a non-empty string' }])
  }
}

/** `{ env }`: true (process.env), an object of variables, or false/undefined (none). */
function envPairs(env) {
  if (env === undefined || env === null || env === false) return undefined
  const vars = env === true ? process.env : env
  if (!isPlainObject(vars)) {
    throw configError([{ key: 'env', value: env, allowed: 'true (process.env), an object of variables, or false' }])
  }
  const out = []
  for (const [k, v] of Object.entries(vars)) if (typeof v === 'string') out.push(k, v)
  return out
}

/** Parses a document (`text` in `format`), or throws a ConfigError naming every problem. */
function parseDocument(text, format, env, source) {
  const r = native.parseDocument(text, format, envPairs(env))
  if (Array.isArray(r)) {
    throw configError(
      r.map((e) => {
        const v = source !== undefined ? valueAt(source, e.path) : undefined
        return { key: e.key, path: e.path, value: v !== undefined ? v : e.value, allowed: e.allowed }
      }),
    )
  }
  return r
}

function documentOf(obj, env) {
  if (!isPlainObject(obj)) throw configError([{ key: '(document)', value: obj, allowed: 'a config object' }])
  return parseDocument(JSON.stringify(obj, replacer), 'json', env, obj)
}

const SECTION_KINDS = { circuit_breakers: 'breaker', retry: 'retry', rate_limiters: 'rate_limiter', bulkheads: 'bulkhead' }

/**
 * A config document as the core read it (either spelling, environment variables applied), for
 * reading back: component configs come back in canonical config-file spelling (snake_case keys,
 * durations in integer ms with `_ms`), exactly as the other languages read them back.
 */
class Document {
  /** @param {object} n the native document */
  constructor(n) {
    if (!(n instanceof native.NativeDocument)) throw new TypeError('use Document.fromObject or Document.fromFile')
    this._n = n
  }

  /** A document from a config object (JSON-shaped; either spelling); `env` as for Registry. */
  static fromObject(obj, options) {
    const o = split(options, { core: [], host: ['env'] })
    if (o.errors.length > 0) throw configError(o.errors)
    return new Document(documentOf(obj, o.options.env))
  }

  /** A document from a JSON or TOML file (by its extension). */
  static fromFile(path, options) {
    const o = split(options, { core: [], host: ['env'] })
    if (o.errors.length > 0) throw configError(o.errors)
    const text = fs.readFileSync(path, 'utf8')
    return new Document(parseDocument(text, String(path).endsWith('.toml') ? 'toml' : 'json', o.options.env, undefined))
  }

  /** This document with environment variables (an object of names to strings) applied on top of it as written. */
  withEnv(vars) {
    const r = this._n.withEnv(envPairs(vars) ?? [])
    if (Array.isArray(r)) throw configError(r.map((e) => ({ key: e.key, path: e.path, value: e.value, allowed: e.allowed })))
    return new Document(r)
  }

  _config(kind, name) {
    return JSON.parse(this._n.config(kind, name ?? undefined))
  }
  /** The breaker config for `name` (its agentSpecific override, else the defaults; none: the defaults). */
  breakerConfig(name) {
    return this._config('breaker', name)
  }
  retryConfig(name) {
    return this._config('retry', name)
  }
  rateLimiterConfig(name) {
    return this._config('rate_limiter', name)
  }
  bulkheadConfig(name) {
    return this._config('bulkhead', name)
  }

  _flags(section) {
    const f = this._n.flags(section)
    if (f === null || f === undefined) {
      throw new TypeError(`unknown section '${section}'; one of ${Object.keys(SECTION_KINDS).join(', ')}`)
    }
    return f
  }
  /** Whether a section (`circuit_breakers`, `retry`, `rate_limiters`, `bulkheads`) is enabled. */
  enabled(section) {
    return this._flags(section)[0]
  }
  /** The names with an agentSpecific entry in a section, sorted. */
  overrides(section) {
    return this._flags(section)[1]
  }

  /** The monitoring settings, in canonical file spelling. */
  get monitoring() {
    return JSON.parse(this._n.monitoring())
  }

  /** A section the components read themselves, as written, or null: `degradation_rules`, `degradation`, `health_checks`, `slo`. */
  section(name) {
    const s = this._n.section(name)
    if (s === null || s === undefined) throw new TypeError(`unknown section '${name}'; one of degradation_rules, degradation, health_checks, slo`)
    return JSON.parse(s)
  }

  /** The document as written (environment variables applied). */
  get raw() {
    return JSON.parse(this._n.raw())
  }
}

function registryOptions(options) {
  const r = split(options, { core: [], host: ['clock', 'maxSize', 'idleTtl', 'env'] })
  const o = r.options
  if (o.clock !== undefined && o.clock !== null && !(o.clock instanceof ManualClock)) {
    r.errors.push({ key: 'clock', value: o.clock, allowed: 'a ManualClock (leave it out for the system clock)' })
  }
  if (o.maxSize !== undefined && o.maxSize !== null && !(Number.isInteger(o.maxSize) && o.maxSize >= 1 && o.maxSize <= 0xffffffff)) {
    r.errors.push({ key: 'maxSize', value: o.maxSize, allowed: 'an integer >= 1 (leave it out for no bound)' })
  }
  if (o.idleTtl !== undefined && o.idleTtl !== null && !(typeof o.idleTtl === 'number' && Number.isFinite(o.idleTtl) && o.idleTtl > 0)) {
    r.errors.push({ key: 'idleTtl', value: o.idleTtl, allowed: 'a duration in ms > 0 (leave it out for never idle)' })
  }
  if (r.errors.length > 0) throw configError(r.errors)
  return o
}

class Registry {
  /**
   * A registry with no document (the contract's defaults): `clock` (shared by everything it
   * makes), `maxSize` (components of each kind) and `idleTtl` (ms) for per-key use.
   */
  constructor(options) {
    const o = registryOptions(options)
    this._make(undefined, o)
  }

  /** A registry from a config object (JSON-shaped; either spelling); `env: true` applies the environment variables on top. */
  static fromObject(obj, options) {
    const o = registryOptions(options)
    const reg = Object.create(Registry.prototype)
    reg._make(documentOf(obj, o.env), o)
    return reg
  }

  /** A registry from a JSON or TOML file (by its extension); `env: true` applies the environment variables on top. */
  static fromFile(path, options) {
    const o = registryOptions(options)
    const text = fs.readFileSync(path, 'utf8')
    const reg = Object.create(Registry.prototype)
    reg._make(parseDocument(text, String(path).endsWith('.toml') ? 'toml' : 'json', o.env, undefined), o)
    return reg
  }

  _make(doc, o) {
    this._doc = doc
    let n
    try {
      n = new native.NativeRegistry(doc, o.clock ? o.clock[kNative] : undefined, o.maxSize ?? undefined, o.idleTtl ?? undefined, entropy())
    } catch (e) {
      throw fromNative(e)
    }
    this._init(n, o.clock ?? undefined)
  }

  static _processWide() {
    const reg = Object.create(Registry.prototype)
    reg._init(native.NativeRegistry.processWide(entropy()), undefined)
    return reg
  }

  _init(n, clock) {
    this._n = n
    this._gen = n.fastFunction()
    this._clock = clock
    this._bounded = n.bounds().some((b) => b !== null && b !== undefined)
    /** @type {Map<string, CircuitBreaker>} */
    this._breakers = new Map()
    /** Wrappers of parts the core rebuilds on reload, by kind and name: { gen, value }. */
    this._parts = { retry: new Map(), rateLimiter: new Map(), bulkhead: new Map(), policy: new Map() }
  }

  /** The clock every component of this registry runs on (undefined: the system clock). */
  /**
   * The config document this registry was made from (or last reloaded with), for reading back
   * (`breakerConfig(name)`, `section(name)`...); undefined when it was made without one.
   */
  get document() {
    return this._doc !== undefined ? new Document(this._doc) : undefined
  }

  get clock() {
    return this._clock
  }

  /** Whether this is the process-wide registry (shared by every worker thread). */
  get processWide() {
    return this._n.isProcessWide
  }

  /** Bumped by every reload (cached policies use it to pick up rebuilt parts). */
  get generation() {
    return this._gen(20)
  }

  /** The names of the breakers made so far (on any thread, for the process-wide registry). */
  breakerNames() {
    return this._n.breakerNames()
  }

  /**
   * The breaker named `name`: made on first use from the document's defaults, its
   * `agentSpecific` entry, then `overrides` (breaker options; also `classify`, `isFailure`
   * for this thread's wrapper); an existing breaker is returned as it is.
   */
  breaker(name, overrides) {
    return this._breaker(name, overrides, false)
  }

  /**
   * The seed API: `registry.getAgentCircuitBreaker(name, { failureThreshold, timeout })`,
   * where `timeout` is the recovery timeout in ms, as in the seeds' config files.
   */
  getAgentCircuitBreaker(name, options) {
    return this._breaker(name, options, true)
  }

  _breaker(name, options, allowTimeout) {
    checkName(name)
    const cached = this._breakers.get(name)
    if (cached !== undefined && (!this._bounded || this._n.holds(name, cached._n))) return cached
    const { json, host } = breakerOptions(options, { partial: true, allowTimeout, clockAllowed: CLOCK_FIXED })
    const r = this._n.breaker(name, options === undefined || options === null ? undefined : json)
    if (FLAG[0] !== 0) drain()
    if (Array.isArray(r)) throw configError(fromCoreErrors(options, r))
    const cb = CircuitBreaker._wrap(r, name, this._clock, host)
    this._breakers.set(name, cb)
    return cb
  }

  /** This thread's wrapper of the existing breaker `name`, without making one. */
  _existing(name) {
    checkName(name)
    const cached = this._breakers.get(name)
    if (cached !== undefined && (!this._bounded || this._n.holds(name, cached._n))) return cached
    const n = this._n.existingBreaker(name)
    if (n === null) {
      this._breakers.delete(name)
      return undefined
    }
    const cb = CircuitBreaker._wrap(n, name, this._clock, {})
    this._breakers.set(name, cb)
    return cb
  }

  /** The snapshot of the breaker named `name`, or undefined when there is none (none is made). */
  getCircuitBreakerStatus(name) {
    const cb = this._existing(name)
    return cb === undefined ? undefined : cb.snapshot()
  }

  /** Closes the breaker named `name` (a clean window). False when there is no such breaker. */
  forceCloseCircuitBreaker(name) {
    const cb = this._existing(name)
    if (cb === undefined) return false
    cb.forceClose()
    return true
  }

  /** Opens the breaker named `name` until another manual state is chosen. False when there is none. */
  forceOpenCircuitBreaker(name) {
    const cb = this._existing(name)
    if (cb === undefined) return false
    cb.forceOpen()
    return true
  }

  /** Resets the breaker named `name` to a brand-new closed breaker. False when there is none. */
  resetCircuitBreaker(name) {
    const cb = this._existing(name)
    if (cb === undefined) return false
    cb.reset()
    return true
  }

  _part(kind, name, make) {
    checkName(name)
    const gen = this._gen(20)
    const map = this._parts[kind]
    const e = map.get(name)
    if (e !== undefined && e.gen === gen) return e.value
    const value = make()
    map.set(name, { gen, value })
    return value
  }

  /** The retry policy named `name` (the document's `retry` section; rebuilt after a reload). */
  retry(name) {
    return this._part('retry', name, () => {
      const r = this._n.retry(name, undefined)
      if (Array.isArray(r)) throw configError(fromCoreErrors({}, r))
      return Retry._wrap(r, this._clock, {})
    })
  }

  /** The rate limiter named `name` (the document's `rateLimiters` section, then `overrides` on first use). */
  rateLimiter(name, overrides) {
    return this._part('rateLimiter', name, () => {
      const r = this._n.rateLimiter(name, limitOverrides(overrides, ['maxRequests', 'timeWindow', 'burstLimit']))
      if (Array.isArray(r)) throw configError(fromCoreErrors(overrides ?? {}, r))
      return RateLimiter._wrap(r, name, this._clock)
    })
  }

  /** The bulkhead named `name` (the document's `bulkheads` section, then `overrides` on first use). */
  bulkhead(name, overrides) {
    return this._part('bulkhead', name, () => {
      const r = this._n.bulkhead(name, limitOverrides(overrides, ['maxConcurrent', 'maxQueue', 'maxWait']))
      if (Array.isArray(r)) throw configError(fromCoreErrors(overrides ?? {}, r))
      return Bulkhead._wrap(r, name, this._clock)
    })
  }

  /**
   * The policy for `name`: its breaker and retry policy, plus a rate limiter and a bulkhead when
   * the document has those sections. `options`: `timeout` (ms per attempt), `fallback`,
   * `classify`, `isFailure`. Without options the same Policy is returned until a reload.
   */
  policy(name, options) {
    if (options === undefined || options === null) return this._part('policy', name, () => this._makePolicy(name, {}))
    checkName(name)
    return this._makePolicy(name, options)
  }

  _makePolicy(name, options) {
    const r = split(options, { core: [], host: ['timeout', 'fallback', 'classify', 'isFailure'] })
    const o = r.options
    if (o.timeout !== undefined && !(typeof o.timeout === 'number' && Number.isFinite(o.timeout) && o.timeout > 0)) {
      r.errors.push({ key: 'timeout', value: o.timeout, allowed: 'a duration in ms > 0' })
    }
    if (o.fallback !== undefined && typeof o.fallback !== 'function' && !(o.fallback instanceof Fallback)) {
      r.errors.push({ key: 'fallback', value: o.fallback, allowed: 'a function or a Fallback' })
    }
    if (o.fallback instanceof Fallback && o.fallback.clock !== this._clock) {
      r.errors.push({ key: 'fallback', value: o.fallback, allowed: "a Fallback on the registry's clock" })
    }
    for (const k of ['classify', 'isFailure']) {
      if (o[k] !== undefined && typeof o[k] !== 'function') r.errors.push({ key: k, value: o[k], allowed: 'a function' })
    }
    if (r.errors.length > 0) throw configError(r.errors)
    const breaker = this._breaker(name, undefined, false)
    let pn
    try {
      const fb = o.fallback instanceof Fallback ? o.fallback : undefined
      pn = this._n.policy(name, o.timeout, typeof o.fallback === 'function' || (fb !== undefined && fb._fallback !== undefined), fb && fb.manager._n)
    } catch (e) {
      throw fromNative(e)
    }
    if (Array.isArray(pn)) throw configError(fromCoreErrors({}, pn))
    const rn = pn.retry()
    const ln = pn.rateLimiter()
    const bn = pn.bulkhead()
    return Policy._wrap(pn, {
      name,
      breaker,
      retry: rn === null ? undefined : Retry._wrap(rn, this._clock, {}),
      rateLimiter: ln === null ? undefined : RateLimiter._wrap(ln, name, this._clock),
      bulkhead: bn === null ? undefined : Bulkhead._wrap(bn, name, this._clock),
      clock: this._clock,
      timeout: o.timeout,
      fallback: o.fallback,
      classify: o.classify,
      isFailure: o.isFailure,
    })
  }

  /**
   * Applies a new config object to the live registry: breakers keep their state and take the
   * new config; retry policies, limiters and bulkheads are rebuilt on next use. An invalid
   * document throws a ConfigError and changes nothing.
   */
  reload(obj, options) {
    const o = split(options, { core: [], host: ['env'] })
    if (o.errors.length > 0) throw configError(o.errors)
    const doc = documentOf(obj, o.options.env)
    const errors = this._n.reload(doc)
    if (FLAG[0] !== 0) drain()
    if (errors.length > 0) {
      throw configError(errors.map((e) => ({ key: e.key, path: e.path, value: valueAt(obj, e.path) ?? e.value, allowed: e.allowed })))
    }
    this._doc = doc
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Registry { ${this.processWide ? 'process-wide, ' : ''}breakers: ${JSON.stringify(this.breakerNames())} }`
  }
}

function limitOverrides(overrides, keys) {
  if (overrides === undefined || overrides === null) return undefined
  const r = split(overrides, { core: keys, host: [] })
  if (r.errors.length > 0) throw configError(r.errors)
  return JSON.stringify(r.core, replacer)
}

/** The process-wide registry (the same breakers in every worker thread of the process). */
const registry = Registry._processWide()

module.exports = { Registry, registry, Document }
