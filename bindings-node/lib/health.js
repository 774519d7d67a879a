'use strict'
// HealthRegistry: the core keeps each check's results, thresholds, staleness, the dependencies
// (breakers, degraded components) and the aggregate (status, ready, live, started); this file
// runs each check on its interval with its timeout and reports what it saw. Every timer is
// unreferenced, so health checks never keep the process alive.

const { performance } = require('node:perf_hooks')
const native = require('../native.js')
const { BreakwaterError, fromNative } = require('./errors')
const { ManualClock, kNative, schedule } = require('./clock')
const { split, replacer, configError, valueAt } = require('./options')
const { EventHub } = require('./events')
const { FLAG, drain, queues } = require('./host')
const { CircuitBreaker } = require('./breaker')
const { DegradationManager } = require('./degradation')

const SETTINGS_KEYS = [
  'enabled',
  'interval',
  'interval_ms',
  'timeout',
  'timeout_ms',
  'failureThreshold',
  'failure_threshold',
  'critical',
  'kind',
  'maxHistory',
  'max_history',
  'agentSpecific',
  'agent_specific',
  'checks',
]
const CHECK_KEYS = ['kind', 'interval', 'interval_ms', 'timeout', 'timeout_ms', 'failureThreshold', 'failure_threshold', 'critical']

/** Core errors with the keys as written (this section takes both spellings), values as given. */
function asWritten(options, errors) {
  return errors.map((e) => {
    const v = valueAt(options, e.key)
    return { key: e.key, path: e.path, value: v !== undefined ? v : e.value, allowed: e.allowed }
  })
}
const STATUSES = ['healthy', 'degraded', 'unhealthy', 'critical', 'unknown']

function plainView(v) {
  const out = {}
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue
    out[k] = k === 'last' ? plainResult(x) : x
  }
  return out
}

function plainResult(r) {
  const out = {}
  for (const [k, x] of Object.entries(r)) if (x !== null) out[k] = x
  return out
}

function plainReport(r) {
  return { ...r, checks: r.checks.map(plainView) }
}

/** What a check function's result says: a status string, a boolean, or `{ status, message, metadata }`. */
function outcome(v) {
  if (v === undefined || v === null || v === true) return { status: 'healthy' }
  if (v === false) return { status: 'unhealthy' }
  if (typeof v === 'string') return { status: STATUSES.includes(v) ? v : 'unknown', message: STATUSES.includes(v) ? undefined : `unknown status '${v}'` }
  if (typeof v === 'object') {
    const status = STATUSES.includes(v.status) ? v.status : v.healthy === false ? 'unhealthy' : v.status === undefined ? 'healthy' : 'unknown'
    return { status, message: typeof v.message === 'string' ? v.message : undefined, metadata: v.metadata }
  }
  return { status: 'unknown' }
}

class HealthRegistry {
  /**
   * @param {object} [options] the `healthChecks` section's keys (`enabled`, `interval`,
   *   `timeout`, `failureThreshold`, `critical`, `kind`, `maxHistory`, `agentSpecific`), plus
   *   `name` (of the overall status in events, default 'health') and `clock`.
   */
  constructor(options) {
    const r = split(options, { core: SETTINGS_KEYS, host: ['name', 'clock'] })
    const o = r.options
    if (o.clock !== undefined && o.clock !== null && !(o.clock instanceof ManualClock)) {
      r.errors.push({ key: 'clock', value: o.clock, allowed: 'a ManualClock (leave it out for the system clock)' })
    }
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) r.errors.push({ key: 'name', value: o.name, allowed: 'a non-empty string' })
    if (r.errors.length > 0) throw configError(r.errors)
    const json = JSON.stringify(r.core, replacer)
    const errors = native.checkHealthConfig(json)
    if (errors.length > 0) throw configError(asWritten(o, errors))
    const clock = o.clock ?? undefined
    try {
      this._n = new native.NativeHealthRegistry(o.name ?? 'health', json, clock ? clock[kNative] : undefined)
    } catch (e) {
      throw fromNative(e)
    }
    this._clock = clock
    /** @type {Map<string, { fn: Function | undefined, config: object, cancel: (() => void) | undefined, running: boolean }>} */
    this._checks = new Map()
    this._started = true
    const n = this._n
    this._hub = new EventHub(['healthChanged'], (mask) => n.setListening(mask))
    this._qid = n.queueId
  }

  get clock() {
    return this._clock
  }
  /** Whether the section says to run checks (`enabled`). */
  get enabled() {
    return this._n.enabled()
  }

  /**
   * Registers a check: `fn({ signal })` returns (or resolves with) a status string, a boolean,
   * or `{ status, message, metadata }`; a throw or a timeout is unhealthy. It runs every
   * `interval` ms (first run at once) with its `timeout`; options override the section's config
   * for this name. Without `fn` the check is only reported to (`report`). Returns the config.
   */
  register(name, fn, options) {
    if (typeof name !== 'string' || name.length === 0) throw configError([{ key: 'name', value: name, allowed: 'a non-empty string' }])
    if (fn !== undefined && fn !== null && typeof fn !== 'function') {
      if (options === undefined && typeof fn === 'object') {
        options = fn
        fn = undefined
      } else throw configError([{ key: 'check', value: fn, allowed: 'a function ({ signal }) => status' }])
    }
    const r = split(options, { core: CHECK_KEYS, host: [] })
    if (r.errors.length > 0) throw configError(r.errors)
    const out = this._n.register(name, options === undefined ? undefined : JSON.stringify(r.core, replacer))
    if (Array.isArray(out)) throw configError(asWritten(r.options, out))
    const old = this._checks.get(name)
    if (old !== undefined && old.cancel !== undefined) old.cancel()
    const entry = { fn: fn ?? undefined, config: out, cancel: undefined, running: false }
    this._checks.set(name, entry)
    if (entry.fn !== undefined && this._started && this.enabled) this._schedule(name, entry, 0)
    return { ...out }
  }

  /** Removes a check (and stops running it). */
  unregister(name) {
    const e = this._checks.get(name)
    if (e !== undefined && e.cancel !== undefined) e.cancel()
    this._checks.delete(name)
    return this._n.unregister(name)
  }

  /** Marks `name` as a dependency; with `breaker` (a CircuitBreaker) it fails while that breaker is open. */
  addDependency(name, options) {
    const o = options ?? {}
    if (o.breaker !== undefined && !(o.breaker instanceof CircuitBreaker)) throw configError([{ key: 'breaker', value: o.breaker, allowed: 'a CircuitBreaker' }])
    this._n.addDependency(name, o.critical !== false, o.breaker ? o.breaker._n : undefined)
  }

  /** A dependency on `breaker`, under its name. */
  addBreaker(breaker, options) {
    this.addDependency(breaker.name, { ...options, breaker })
  }

  removeDependency(name) {
    return this._n.removeDependency(name)
  }

  /** Consults `manager` for degraded dependencies (undefined: stop). */
  useDegradation(manager) {
    if (manager !== undefined && !(manager instanceof DegradationManager)) throw configError([{ key: 'manager', value: manager, allowed: 'a DegradationManager' }])
    this._n.setDegradationManager(manager ? manager._n : undefined)
  }

  /** Says by hand whether component `name` is degraded. */
  setDegraded(name, degraded) {
    this._n.setDegraded(name, degraded === true)
  }

  /** Records one result of check `name` (`latency` in ms); the check as it now stands. */
  report(name, status, options) {
    const o = options ?? {}
    let v
    try {
      v = this._n.report(name, status, o.message, o.latency ?? 0, o.metadata === undefined ? undefined : JSON.stringify(o.metadata, replacer))
    } catch (e) {
      throw fromNative(e)
    }
    if (FLAG[0] !== 0) drain()
    return plainView(v)
  }

  /** Evaluates now, announcing changes ('healthChanged'). */
  evaluate() {
    const r = this._n.evaluate()
    if (FLAG[0] !== 0) drain()
    return plainReport(r)
  }

  /** A pure read: `{ status, liveness, readiness, startup, live, ready, started, checks, at }`. */
  snapshot() {
    return plainReport(this._n.snapshot())
  }

  check(name) {
    const v = this._n.check(name)
    return v === null ? undefined : plainView(v)
  }

  /** The latest reports of `name`, newest first. */
  history(name, limit = 20) {
    return this._n.history(name, limit).map(plainResult)
  }

  get ready() {
    return this._n.isReady()
  }
  get live() {
    return this._n.isLive()
  }

  /** Runs every check with a function once now; resolves with the evaluated report. */
  async runChecks() {
    await Promise.all([...this._checks.entries()].filter(([, e]) => e.fn !== undefined).map(([name, e]) => this._runOnce(name, e)))
    return this.evaluate()
  }

  /** Starts running checks on their intervals (they start on registration unless stopped). */
  start() {
    this._started = true
    if (!this.enabled) return
    for (const [name, e] of this._checks) if (e.fn !== undefined && e.cancel === undefined) this._schedule(name, e, 0)
  }

  /** Stops every check's timer (a run in progress still reports). */
  stop() {
    this._started = false
    for (const e of this._checks.values()) {
      if (e.cancel !== undefined) e.cancel()
      e.cancel = undefined
    }
  }

  _schedule(name, entry, ms) {
    entry.cancel = timer(this._clock, ms, () => {
      entry.cancel = undefined
      this._runOnce(name, entry).then(() => {
        if (this._started && this._checks.get(name) === entry && entry.cancel === undefined) this._schedule(name, entry, entry.config.interval)
      })
    })
  }

  /** One run of a check, with its timeout; reports what it saw. */
  async _runOnce(name, entry) {
    if (entry.running) return
    entry.running = true
    const clock = this._clock
    const t0 = clock !== undefined ? clock.now() : performance.now()
    const elapsed = () => (clock !== undefined ? clock.now() : performance.now()) - t0
    const timeout = entry.config.timeout
    const ac = new AbortController()
    let cancelTimer
    const timedOut = new Promise((resolve) => {
      cancelTimer = timer(clock, timeout, () => {
        ac.abort(new BreakwaterError(`health check '${name}' timed out after ${timeout} ms`, 'TIMEOUT'))
        // The run did not finish within its timeout: its latency is above it (a failed report).
        resolve({ status: 'unhealthy', message: `timed out after ${timeout} ms`, latency: Math.max(elapsed(), timeout + 1) })
      })
    })
    let seen
    try {
      const run = (async () => outcome(await entry.fn({ signal: ac.signal })))().then(
        (o) => ({ ...o, latency: elapsed() }),
        (err) => ({ status: 'unhealthy', message: err instanceof Error ? err.message : String(err), latency: elapsed() }),
      )
      seen = await Promise.race([run, timedOut])
    } finally {
      cancelTimer()
      entry.running = false
    }
    if (this._checks.get(name) !== entry) return
    try {
      this.report(name, seen.status, { message: seen.message, latency: seen.latency, metadata: seen.metadata })
    } catch {
      // unregistered meanwhile
    }
  }

  /** 'healthChanged'; returns a function that stops. */
  on(name, listener) {
    const off = this._hub.on(name, listener, 'HealthRegistry')
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

/** A one-shot timer on `clock` (a ManualClock's, or an unreferenced system timer); returns cancel. */
function timer(clock, ms, fn) {
  if (ms === 0) {
    const h = setImmediate(fn)
    h.unref()
    return () => clearImmediate(h)
  }
  if (clock !== undefined) return schedule(clock, ms, fn)
  const h = setTimeout(fn, ms)
  h.unref()
  return () => clearTimeout(h)
}

module.exports = { HealthRegistry }
