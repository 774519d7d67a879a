'use strict'
// Graceful degradation (contract section 6): DegradationManager (which components are degraded,
// which strategy serves a failed call, recovery, history), ResponseCache (the last good answers,
// with TTL, LRU and stale-if-error) and Fallback (a policy's fallback built from both). The core
// decides; this file keeps what only JavaScript can hold: the strategies' implementations, the
// cached values, the user predicates.

const native = require('../native.js')
const { BreakwaterError, fromNative } = require('./errors')
const { ManualClock, kNative } = require('./clock')
const { split, replacer, fromCoreErrors, configError, isPlainObject, valueAt } = require('./options')
const { EventHub } = require('./events')
const { FLAG, drain, queues } = require('./host')

const KINDS = ['cached_response', 'simplified_response', 'fallback_target', 'offline_response', 'custom']
const TRIGGERS = ['circuit_breaker_open', 'timeout', 'rate_limited', 'error_rate', 'health_check_failed', 'manual']
const MANAGER_EVENTS = ['degradationTriggered', 'degradationRecovered', 'fallback']
const MANAGER_KEYS = ['rules', 'degradationRules', 'degradation_rules', 'maxHistory', 'max_history', 'autoRecovery', 'auto_recovery', 'enabled']
const STRATEGY_KEYS = ['name', 'kind', 'priority', 'description', 'available', 'handles', 'canHandle', 'isAvailable', 'execute', 'value']

function checkClock(o, errors) {
  if (o.clock !== undefined && o.clock !== null && !(o.clock instanceof ManualClock)) {
    errors.push({ key: 'clock', value: o.clock, allowed: 'a ManualClock (leave it out for the system clock)' })
  }
}

/** Snapshot fields to camelCase, `null`s to undefined. */
function plain(o) {
  const out = {}
  for (const [k, v] of Object.entries(o)) out[k] = v === null ? undefined : v
  return out
}

class DegradationManager {
  /**
   * @param {object} [options] `rules` (the seed's `degradationRules` entries), `maxHistory`
   *   (1000), `autoRecovery` (true), `enabled` (true), `clock`.
   */
  constructor(options) {
    const r = split(options, { core: MANAGER_KEYS, host: ['clock'] })
    checkClock(r.options, r.errors)
    if (r.errors.length > 0) throw configError(r.errors)
    const json = JSON.stringify(r.core, replacer)
    const errors = native.checkDegradationConfig(json)
    if (errors.length > 0) throw configError(asWritten(r.options, errors))
    const clock = r.options.clock ?? undefined
    try {
      this._n = new native.NativeDegradationManager(json, clock ? clock[kNative] : undefined)
    } catch (e) {
      throw fromNative(e)
    }
    this._clock = clock
    /** @type {Map<string, object>} */
    this._impls = new Map()
    const n = this._n
    this._hub = new EventHub(MANAGER_EVENTS, (mask) => n.setListening(mask))
    this._qid = n.queueId
    this._warned = new Set()
    this._accept = (name, trigger, severity) => this._acceptOne(name, trigger, severity)
  }

  get clock() {
    return this._clock
  }

  /** Whether degradations end by themselves when their trigger clears. */
  get autoRecovery() {
    return this._n.autoRecovery()
  }
  set autoRecovery(on) {
    this._n.setAutoRecovery(on === true)
  }

  /** Applies settings (and rules, when given) over the live ones. */
  configure(options) {
    const r = split(options, { core: MANAGER_KEYS, host: [] })
    if (r.errors.length > 0) throw configError(r.errors)
    const errors = this._n.configure(JSON.stringify(r.core, replacer))
    if (errors.length > 0) throw configError(asWritten(r.options, errors))
  }

  /**
   * Registers a strategy (replacing one of the same name in place): `{ name, kind, priority,
   * description, available, handles (triggers), canHandle(ctx), isAvailable(), execute(ctx) or
   * value }`. A `cached_response` without `execute` serves the cache's entry. Returns whether
   * one was replaced.
   */
  register(strategy) {
    const r = split(strategy, { core: [], host: STRATEGY_KEYS })
    const s = r.options
    const errors = r.errors
    if (typeof s.name !== 'string' || s.name.length === 0) errors.push({ key: 'name', value: s.name, allowed: 'a non-empty string' })
    const kind = s.kind ?? 'custom'
    if (!KINDS.includes(kind)) errors.push({ key: 'kind', value: s.kind, allowed: `one of ${KINDS.join(', ')}` })
    const priority = s.priority ?? 0
    if (!(Number.isInteger(priority) && priority >= 0 && priority <= 1_000_000)) {
      errors.push({ key: 'priority', value: s.priority, allowed: 'an integer 0..=1000000' })
    }
    for (const k of ['canHandle', 'isAvailable', 'execute']) {
      if (s[k] !== undefined && typeof s[k] !== 'function') errors.push({ key: k, value: s[k], allowed: 'a function' })
    }
    if (s.handles !== undefined && !(Array.isArray(s.handles) && s.handles.every((t) => TRIGGERS.includes(t)))) {
      errors.push({ key: 'handles', value: s.handles, allowed: `a list of ${TRIGGERS.join(', ')}` })
    }
    if (kind !== 'cached_response' && s.execute === undefined && !('value' in s)) {
      errors.push({ key: 'execute', value: undefined, allowed: `a function (or a \`value\`) producing the ${kind} answer` })
    }
    if (errors.length > 0) throw configError(errors)
    const replaced = this._n.register(s.name, kind, priority, s.description ?? '', s.available !== false, s.handles)
    this._impls.set(s.name, { ...s, kind })
    return replaced
  }

  unregister(name) {
    this._impls.delete(name)
    return this._n.unregister(name)
  }

  /** Turns a strategy on or off; false when there is no such strategy. */
  setAvailable(name, available) {
    return this._n.setAvailable(name, available === true)
  }

  /** The registered strategies, in registration order. */
  strategies() {
    return this._n.strategies().map(plain)
  }

  // The host's part of a decision: a strategy's own isAvailable / canHandle (the context: what
  // the caller gave, with the trigger and severity the core decided on).
  _acceptOne(name, trigger, severity) {
    const s = this._impls.get(name)
    if (s === undefined) return true
    try {
      if (s.isAvailable !== undefined && s.isAvailable() === false) return false
      if (s.canHandle !== undefined && s.canHandle({ ...this._ctx, trigger, severity }) === false) return false
    } catch (err) {
      this._warn(`strategy '${name}': canHandle/isAvailable threw; skipping it`, err)
      return false
    }
    return true
  }

  _warn(what, err) {
    if (this._warned.has(what)) return
    this._warned.add(what)
    process.emitWarning(`${what} (reported once): ${err instanceof Error ? err.message : String(err)}`, { code: 'BREAKWATER_HOOK_ERROR' })
  }

  _decide(ctx, record) {
    const c = {
      component: ctx.component,
      trigger: ctx.trigger,
      severity: ctx.severity,
      category: ctx.category,
      attempts: ctx.attempts,
      cacheKey: ctx.cacheKey,
      cached: ctx.cached,
    }
    this._ctx = ctx
    let r
    try {
      r = record ? this._n.select(c, this._accept) : this._n.choose(c, this._accept)
    } catch (e) {
      throw fromNative(e)
    } finally {
      this._ctx = undefined
    }
    if (FLAG[0] !== 0) drain()
    return r === null ? undefined : plain(r)
  }

  /** Which strategy would serve a failed call in `ctx` (`{component, trigger, severity, cached...}`); records nothing. */
  choose(ctx) {
    return this._decide(ctx, false)
  }

  /** Like `choose`, and records it: the component is degraded and the fallback counted. */
  select(ctx) {
    return this._decide(ctx, true)
  }

  _op(f) {
    let r
    try {
      r = f(this._n)
    } catch (e) {
      throw fromNative(e)
    }
    if (FLAG[0] !== 0) drain()
    return r
  }

  /** Degrades `component` for `trigger` (at `severity`, default the trigger's own). */
  trigger(component, trigger, severity) {
    return this._op((n) => n.trigger(component, trigger, severity, undefined))
  }
  /** The condition behind `trigger` cleared for `component`. */
  triggerCleared(component, trigger) {
    return this._op((n) => n.triggerCleared(component, trigger))
  }
  /** A live call to `component` succeeded. */
  reportSuccess(component) {
    return this._op((n) => n.reportSuccess(component))
  }
  /** Feeds a breaker state: open and forced_open degrade, closed recovers. */
  onBreakerState(component, state) {
    return this._op((n) => n.onBreakerState(component, state))
  }
  /** Feeds a health status: degraded/unhealthy/critical degrade, healthy recovers. */
  onHealthStatus(component, status) {
    return this._op((n) => n.onHealthStatus(component, status))
  }
  /** Follows a breaker's state changes (under the breaker's name); returns a function that stops. */
  watch(breaker) {
    return breaker.on('stateChange', (e) => this.onBreakerState(e.component, e.to))
  }
  forceRecovery(component) {
    return this._op((n) => n.forceRecovery(component))
  }
  forceRecoveryAll() {
    return this._op((n) => n.forceRecoveryAll())
  }

  level(component) {
    return this._n.level(component)
  }
  get overallLevel() {
    return this._n.overallLevel()
  }
  active(component) {
    const a = this._n.active(component)
    return a === null ? undefined : plain(a)
  }
  activeAll() {
    return this._n.activeAll().map(plain)
  }
  history() {
    return this._n.history().map(plain)
  }
  statistics() {
    return plain(this._n.statistics())
  }

  /** 'degradationTriggered', 'degradationRecovered', 'fallback'; returns a function that stops. */
  on(name, listener) {
    const off = this._hub.on(name, listener, 'DegradationManager')
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
}

/** Core errors with the keys as written (these options take both spellings), values as given. */
function asWritten(options, errors) {
  return errors.map((e) => {
    const v = valueAt(options, e.key)
    return { key: e.key, path: e.path, value: v !== undefined ? v : e.value, allowed: e.allowed }
  })
}

const CACHE_KEYS = ['ttl', 'maxEntries', 'staleIfError']

/** The last good answers: fresh for `ttl` ms, at most `maxEntries` (LRU), expired ones served when the live call fails (`staleIfError`). */
class ResponseCache {
  /** @param {{ ttl?: number, maxEntries?: number, staleIfError?: boolean, clock?: ManualClock }} [options] */
  constructor(options) {
    const r = split(options, { core: CACHE_KEYS, host: ['clock'] })
    checkClock(r.options, r.errors)
    if (r.errors.length > 0) throw configError(r.errors)
    const json = JSON.stringify(r.core, replacer)
    const errors = native.checkCacheConfig(json)
    if (errors.length > 0) throw configError(fromCoreErrors(r.options, errors))
    const clock = r.options.clock ?? undefined
    try {
      this._n = new native.NativeResponseCache(json, clock ? clock[kNative] : undefined)
    } catch (e) {
      throw fromNative(e)
    }
    this._clock = clock
    /** @type {Map<string, unknown>} */
    this._values = new Map()
  }

  get clock() {
    return this._clock
  }
  /** `{ ttl, maxEntries, staleIfError }` now. */
  get config() {
    const [ttl, maxEntries, stale] = this._n.config()
    return { ttl, maxEntries, staleIfError: stale === 1 }
  }
  get size() {
    return this._n.size()
  }

  /**
   * Stores `value` under `key` (optionally with its own `ttl` in ms). Returns what it displaced:
   * `{ replaced }` (the old value under the key) and `{ evicted }` (the key dropped to make room).
   */
  put(key, value, options) {
    const k = String(key)
    const ttl = options !== undefined && options !== null ? options.ttl : undefined
    let r
    try {
      r = this._n.put(k, ttl)
    } catch (e) {
      throw fromNative(e)
    }
    const replaced = r.replaced ? this._values.get(k) : undefined
    if (r.evicted !== null) this._values.delete(r.evicted)
    this._values.set(k, value)
    return { replaced, evicted: r.evicted === null ? undefined : r.evicted }
  }

  /** The fresh value under `key`, or undefined. */
  get(key) {
    return this._n.get(String(key)) ? this._values.get(String(key)) : undefined
  }

  /** The live call failed: `{ value, stale }` (a stale entry under stale-if-error), or undefined. */
  onError(key) {
    const f = this._n.onError(String(key))
    return f === null ? undefined : { value: this._values.get(String(key)), stale: f === 'stale' }
  }

  /** What `onError` would serve: 'fresh', 'stale' or undefined. Pure. */
  status(key) {
    const s = this._n.status(String(key))
    return s === null ? undefined : s
  }

  /** Removes `key`; its value, or undefined. */
  remove(key) {
    const k = String(key)
    if (!this._n.remove(k)) return undefined
    const v = this._values.get(k)
    this._values.delete(k)
    return v
  }

  /** Empties the cache (the counters stay); the removed keys, least recently used first. */
  clear() {
    const removed = this._n.clear()
    this._values.clear()
    return removed
  }

  /** Drops expired entries; their keys. */
  purgeExpired() {
    const removed = this._n.purgeExpired()
    for (const k of removed) this._values.delete(k)
    return removed
  }

  /** Keys, least to most recently used. */
  keys() {
    return this._n.keys()
  }

  /** `{ entries, hits, staleHits, misses, evictions }`. */
  stats() {
    return { ...this._n.stats() }
  }

  /** Changes options on the live cache; returns the keys a smaller `maxEntries` evicted. */
  configure(options) {
    const r = split(options, { core: CACHE_KEYS, host: [] })
    if (r.errors.length > 0) throw configError(r.errors)
    const out = this._n.configure(JSON.stringify(r.core, replacer))
    if (out.length > 0 && typeof out[0] === 'object') throw configError(fromCoreErrors(r.options, out))
    for (const k of out) this._values.delete(k)
    return out
  }
}

// ---- cache keys (contract section 6) -------------------------------------------------------

const fnIds = new WeakMap()
let nextFnId = 1

function canonical(v) {
  if (v === undefined) return 'undefined'
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (typeof v === 'object') {
    if (typeof v.toJSON === 'function') return canonical(v.toJSON())
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) throw new TypeError('not a plain object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`
  }
  throw new TypeError(`cannot key a ${typeof v}`)
}

/** The default cache key: a per-function id, the component, and canonical JSON of the context (sorted keys); undefined when the context cannot be serialised. */
function defaultCacheKey(fn, component, context) {
  let id = fnIds.get(fn)
  if (id === undefined) {
    id = nextFnId++
    fnIds.set(fn, id)
  }
  let json
  try {
    json = canonical(context)
  } catch {
    return undefined
  }
  return `${id}\u0000${component}\u0000${json}`
}

const FALLBACK_KEYS = ['manager', 'strategies', 'rules', 'cache', 'cacheKey', 'fallback', 'clock', 'name']

/**
 * A policy's fallback: a degradation manager chooses the strategy that serves a failed call
 * (rules, priorities, availability); `cache` keeps the last good answer per call for the
 * `cached_response` strategy; `fallback` (a function) serves when no strategy does.
 */
class Fallback {
  /**
   * @param {object} [options] `manager` (a DegradationManager; default a new one with `rules`),
   *   `strategies` (registered on it), `cache` (a ResponseCache, its options, or true),
   *   `cacheKey(context)`, `fallback(error, context, info)`, `clock`.
   */
  constructor(options) {
    const r = split(options, { core: [], host: FALLBACK_KEYS })
    const o = r.options
    checkClock(o, r.errors)
    if (o.manager !== undefined && !(o.manager instanceof DegradationManager)) r.errors.push({ key: 'manager', value: o.manager, allowed: 'a DegradationManager' })
    if (o.manager !== undefined && o.rules !== undefined) r.errors.push({ key: 'rules', value: o.rules, allowed: "the manager's rules (give them to the DegradationManager)" })
    if (o.strategies !== undefined && !Array.isArray(o.strategies)) r.errors.push({ key: 'strategies', value: o.strategies, allowed: 'a list of strategies' })
    for (const k of ['cacheKey', 'fallback']) {
      if (o[k] !== undefined && typeof o[k] !== 'function') r.errors.push({ key: k, value: o[k], allowed: 'a function' })
    }
    if (r.errors.length > 0) throw configError(r.errors)
    const clock = o.clock ?? (o.manager ? o.manager.clock : undefined)
    this._manager = o.manager ?? new DegradationManager({ rules: o.rules, clock })
    if (this._manager.clock !== clock) throw configError([{ key: 'clock', value: clock, allowed: "the manager's clock" }])
    for (const s of o.strategies ?? []) this._manager.register(s)
    let cache = o.cache
    if (cache === true) cache = new ResponseCache({ clock })
    else if (isPlainObject(cache) && !(cache instanceof ResponseCache)) cache = new ResponseCache({ ...cache, clock })
    else if (cache !== undefined && !(cache instanceof ResponseCache)) throw configError([{ key: 'cache', value: cache, allowed: 'a ResponseCache, its options, or true' }])
    if (cache !== undefined && cache.clock !== clock) throw configError([{ key: 'cache', value: cache, allowed: "a cache on the fallback's clock" }])
    this._cache = cache
    this._cacheKey = o.cacheKey
    this._fallback = o.fallback
    this._clock = clock
    this._name = o.name
    this._policy = undefined
  }

  get manager() {
    return this._manager
  }
  get cache() {
    return this._cache
  }
  get clock() {
    return this._clock
  }

  /** The call's cache key (undefined: not cached). */
  _key(fn, context, component) {
    if (this._cache === undefined) return undefined
    if (this._cacheKey !== undefined) {
      const k = this._cacheKey(context)
      return k === undefined || k === null ? undefined : String(k)
    }
    return defaultCacheKey(fn, component, context)
  }

  /** Produces the value of the strategy the core chose. */
  async _serve(choice, error, context, key, info) {
    const impl = this._manager._impls.get(choice.strategy)
    const ctx = {
      component: info.component,
      trigger: choice.trigger,
      severity: choice.severity,
      error,
      attempts: info.attempts,
      cacheKey: key,
      context,
      stale: choice.stale,
    }
    if (impl !== undefined && impl.execute !== undefined) return impl.execute(ctx)
    if (impl !== undefined && 'value' in impl) return impl.value
    if (choice.kind === 'cached_response' && key !== undefined && this._cache !== undefined) {
      const hit = this._cache.onError(key)
      if (hit !== undefined) return hit.value
    }
    throw new BreakwaterError(`strategy '${choice.strategy}' has nothing to serve`, 'INVALID_ARGUMENT', { cause: error })
  }

  /** Runs `fn(context, { signal, attempt })` with this fallback alone. */
  execute(fn, context, options) {
    return this._ownPolicy().execute(fn, context, options)
  }

  executeWithInfo(fn, context, options) {
    return this._ownPolicy().executeWithInfo(fn, context, options)
  }

  _ownPolicy() {
    if (this._policy === undefined) {
      const { Policy } = require('./policy')
      this._policy = new Policy({ fallback: this, clock: this._clock, name: this._name ?? 'fallback' })
    }
    return this._policy
  }
}

module.exports = { DegradationManager, ResponseCache, Fallback, defaultCacheKey, canonical, KINDS, TRIGGERS }
