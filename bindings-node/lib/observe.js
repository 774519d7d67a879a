'use strict'
// Slo, EventLog and AlertManager: the core keeps the SLO windows, the bounded event log and
// the alert rules (de-duplication, re-arming); this file hands them events and reads them back.

const native = require('../native.js')
const { fromNative } = require('./errors')
const { ManualClock, kNative } = require('./clock')
const { replacer, configError, isPlainObject } = require('./options')
const { EventHub, toEvent, camel } = require('./events')
const { FLAG, drain, queues } = require('./host')
const { HealthRegistry } = require('./health')

const snake = (s) => String(s).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** Core errors with the keys as the core names them; the values as given. */
function asGiven(options, errors) {
  return errors.map((e) => {
    let v = options
    for (const part of e.key.replace(/\[(\d+)\]/g, '.$1').split('.')) {
      v = v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, part) ? v[part] : undefined
    }
    return { key: e.key, path: e.path, value: v !== undefined ? v : e.value, allowed: e.allowed }
  })
}

/** Splits `clock` (and `name`) off a config object; the rest goes to the core as JSON. */
function hostSplit(options, what, hostKeys) {
  if (options !== undefined && options !== null && !isPlainObject(options)) {
    throw configError([{ key: '(options)', path: '(options)', value: options, allowed: `${what} options (a plain object)` }])
  }
  const core = {}
  const host = {}
  for (const [k, v] of Object.entries(options ?? {})) {
    if (hostKeys.includes(k)) host[k] = v
    else core[k] = v
  }
  if (host.clock !== undefined && host.clock !== null && !(host.clock instanceof ManualClock)) {
    throw configError([{ key: 'clock', path: 'clock', value: host.clock, allowed: 'a ManualClock (leave it out for the system clock)' }])
  }
  return { core, host }
}

function eventInput(e) {
  if (e === null || typeof e !== 'object') throw new TypeError('an event must be an object { kind, component, ... }')
  return {
    kind: snake(e.kind),
    component: String(e.component),
    at: typeof e.at === 'number' ? e.at : undefined,
    from: e.from ?? undefined,
    to: e.to ?? undefined,
    reason: e.reason ?? undefined,
    severity: e.severity ?? undefined,
    attempt: typeof e.attempt === 'number' ? e.attempt : undefined,
  }
}

function call(f) {
  try {
    return f()
  } catch (e) {
    throw fromNative(e)
  }
}

/** An availability SLO over a sliding window of buckets (contract: target, window, buckets, burn rate). */
class Slo {
  /**
   * @param {string} name
   * @param {object} [options] `target` (0 < t < 1, default 0.999), `window` (ms), `buckets`,
   *   `burnRateWindow` (ms); the config-file spelling (`window_ms`, `burn_rate_window_ms`) too;
   *   and `clock`.
   */
  constructor(name, options) {
    if (typeof name !== 'string' || name.length === 0) throw configError([{ key: 'name', path: 'name', value: name, allowed: 'a non-empty string' }])
    const { core, host } = hostSplit(options, 'SLO', ['clock'])
    const json = JSON.stringify(core, replacer)
    const errors = native.checkSloConfig(json)
    if (errors.length > 0) throw configError(asGiven(core, errors))
    this._clock = host.clock ?? undefined
    this._n = call(() => new native.NativeSlo(name, json, this._clock ? this._clock[kNative] : undefined))
  }

  get name() {
    return this._n.name
  }
  get clock() {
    return this._clock
  }

  /** Counts one request, good (`true`) or bad. */
  record(good) {
    this._n.record(good === true)
  }

  /** Counts `good` good and `bad` bad requests now. */
  recordCounts(good, bad) {
    this._n.recordCounts(good ?? 0, bad ?? 0)
  }

  /** Counts an event by its kind (`success`: good; `failure`, `callRejected`: bad); whether it counted. */
  observe(kind) {
    const k = typeof kind === 'object' && kind !== null ? kind.kind : kind
    return call(() => this._n.observe(snake(k)))
  }

  /**
   * `{ target, window, total, good, bad, availability, allowedFailures, errorBudgetConsumed,
   * errorBudgetRemaining, burnRate, recommendation }` (window in ms).
   */
  status() {
    return { ...this._n.status() }
  }
}

function logged(x) {
  return { seq: x.seq, event: toEvent(x.event) }
}

/** A bounded log of events, newest kept (oldest dropped first), each with a sequence number. */
class EventLog {
  /** @param {{ capacity?: number, clock?: ManualClock }} [options] capacity 1..1000000, default 1000. */
  constructor(options) {
    const { core, host } = hostSplit(options, 'EventLog', ['clock'])
    for (const k of Object.keys(core)) {
      if (k !== 'capacity') throw configError([{ key: k, path: k, value: core[k], allowed: 'an EventLog option (capacity, clock)' }])
    }
    if (core.capacity !== undefined) {
      const cap = core.capacity
      const errors = typeof cap === 'number' ? native.checkEventLogCapacity(cap) : [{ key: 'capacity', path: 'capacity', value: String(cap), allowed: 'an integer 1..=1000000' }]
      if (errors.length > 0) throw configError(asGiven(core, errors))
    }
    this._clock = host.clock ?? undefined
    this._n = call(() => new native.NativeEventLog(core.capacity, this._clock ? this._clock[kNative] : undefined))
  }

  get capacity() {
    return this._n.capacity()
  }
  /** How many events it holds. */
  get size() {
    return this._n.size
  }
  clear() {
    this._n.clear()
  }

  /** Logs one event `{ kind, component, at?, from?, to?, reason?, severity?, attempt? }`. */
  record(event) {
    call(() => this._n.record(eventInput(event)))
  }

  /**
   * Matching events, newest first, as `{ seq, event }`: `component`, `kinds` (snake_case or
   * camelCase), at most `limit`, only those after `afterSeq`.
   */
  query(options) {
    const o = options ?? {}
    const kinds = o.kinds === undefined || o.kinds === null ? undefined : Array.from(o.kinds, snake)
    return call(() => this._n.query(o.component ?? undefined, kinds, o.limit ?? undefined, o.afterSeq ?? undefined)).map(logged)
  }

  /** Logs every event `source` (an AlertManager or a HealthRegistry) emits from now on. */
  attach(source) {
    if (source instanceof AlertManager) this._n.attachAlerts(source._n)
    else if (source instanceof HealthRegistry) this._n.attachHealth(source._n)
    else throw new TypeError('EventLog.attach(source): source must be an AlertManager or a HealthRegistry')
  }
}

function plainAlert(a) {
  const out = { ...a }
  if (out.resolvedAt === null || out.resolvedAt === undefined) delete out.resolvedAt
  return out
}

/**
 * Watches events, health checks and SLOs against rules and raises de-duplicated `alert` events
 * (one per outage; re-armed when the outage ends).
 */
class AlertManager {
  /**
   * @param {object} [options] `rules` (a list of `{ name?, condition, severity?, component?,
   *   reports?, threshold? }`; left out: the default rules), `max_history`, and `clock`.
   */
  constructor(options) {
    const { core, host } = hostSplit(options, 'AlertManager', ['clock'])
    let json
    if (options !== undefined && options !== null) {
      json = JSON.stringify(core, replacer)
      const errors = native.checkAlertsConfig(json)
      if (errors.length > 0) throw configError(asGiven(core, errors))
    }
    this._clock = host.clock ?? undefined
    const n = (this._n = call(() => new native.NativeAlertManager(json, this._clock ? this._clock[kNative] : undefined)))
    this._hub = new EventHub(['alert'], (mask) => n.setListening(mask))
    this._qid = n.queueId
  }

  get clock() {
    return this._clock
  }
  /** The rules' names, in order. */
  get rules() {
    return this._n.ruleNames()
  }

  /** Checks one event `{ kind, component, from?, to?, reason?, ... }` against the event rules. */
  observe(event) {
    call(() => this._n.observe(eventInput(event)))
    if (FLAG[0] !== 0) drain()
  }

  /** Checks an Slo's error budget against the budget rules. */
  observeSlo(slo) {
    if (!(slo instanceof Slo)) throw new TypeError('observeSlo(slo): slo must be an Slo')
    call(() => this._n.observeSlo(slo._n))
    if (FLAG[0] !== 0) drain()
  }

  /** Checks every report `registry` records against the health rules. */
  watchHealth(registry) {
    if (!(registry instanceof HealthRegistry)) throw new TypeError('watchHealth(registry): registry must be a HealthRegistry')
    this._n.watchHealth(registry._n)
  }

  /** The active alerts. */
  active() {
    return this._n.active().map(plainAlert)
  }

  /** Raised alerts, newest first, at most `limit` (default all kept). */
  history(limit) {
    return this._n.history(limit ?? 0xffffffff).map(plainAlert)
  }

  /** `{ raisedTotal, suppressedTotal, raisedBySeverity, activeBySeverity }` (by severity: `{ info, warning, critical }`). */
  stats() {
    const s = this._n.stats()
    const bySeverity = (a) => ({ info: a[0], warning: a[1], critical: a[2] })
    return { raisedTotal: s.raisedTotal, suppressedTotal: s.suppressedTotal, raisedBySeverity: bySeverity(s.raisedBySeverity), activeBySeverity: bySeverity(s.activeBySeverity) }
  }

  /** 'alert'; returns a function that stops. */
  on(name, listener) {
    const off = this._hub.on(name, listener, 'AlertManager')
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

module.exports = { Slo, EventLog, AlertManager, camel }
