'use strict'
// Breaker options: the JS names (camelCase, ms) checked here, then handed to the core's config
// parser as JSON. The core validates ranges and aliases and names each bad key as the caller
// wrote it; this file only knows which names JavaScript accepts.

const native = require('../native.js')
const { ConfigError } = require('./errors')
const { ManualClock } = require('./clock')

/** Options the core parses, as JavaScript spells them (canonical names, then seed aliases). */
const BREAKER_KEYS = [
  'failureThreshold',
  'failureRateThreshold',
  'minimumCalls',
  'window',
  'slowCallDuration',
  'slowCallRateThreshold',
  'recoveryTimeout',
  'recoveryBackoff',
  'halfOpenMaxCalls',
  'successThreshold',
  'maxHalfOpen',
  'volumeThreshold',
  'errorThresholdPercentage',
  'monitoringPeriod',
  'monitoringWindowMs',
  'recoveryTimeoutMs',
]
/** Options only the JS layer uses. */
const HOST_KEYS = ['clock', 'classify', 'isFailure']
const NESTED_KEYS = { window: ['type', 'size', 'duration', 'buckets'], recoveryBackoff: ['multiplier', 'max'] }

/** A key as the core names it (config-file spelling possible) to the JS option name. */
function jsKey(key) {
  return key
    .split('.')
    .map((seg) => seg.replace(/_ms$/, '').replace(/_([a-z])/g, (_, c) => c.toUpperCase()))
    .join('.')
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function valueAt(options, key) {
  let v = options
  for (const part of key.split('.')) {
    if (!isPlainObject(v) || !Object.prototype.hasOwnProperty.call(v, part)) return undefined
    v = v[part]
  }
  return v
}

function unknownKey(prefix, key, value, known) {
  const hint = native.didYouMean(key, known)
  return {
    key: prefix ? `${prefix}.${key}` : key,
    value,
    allowed: `one of the documented options${hint ? `; did you mean \`${prefix ? `${prefix}.` : ''}${hint}\`?` : ''}`,
  }
}

function configError(errors) {
  return new ConfigError({ ...errors[0], errors })
}

/**
 * Core errors (key, path, value as JSON text, allowed) to JS ones (JS key, the value as given;
 * the path is the JS key unless the core placed the key in a document).
 */
function fromCoreErrors(options, coreErrors) {
  return coreErrors.map((e) => {
    const key = jsKey(e.key)
    const path = e.path === undefined || e.path === e.key ? key : e.path
    return { key, path, value: valueAt(options, key), allowed: e.allowed }
  })
}

// Values JSON cannot carry become strings, so the core rejects them (naming their key) instead
// of JSON silently dropping them or turning them into null.
function replacer(_key, v) {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? v : String(v)
    case 'bigint':
      return `${v}n`
    case 'function':
      return `[function ${v.name || 'anonymous'}]`
    case 'symbol':
      return v.toString()
    default:
      return v
  }
}

/**
 * Splits an options object by a spec: `core` keys go to the core as JSON (checked there),
 * `host` keys stay in JS, `special` keys get their own check; anything else is a ConfigError
 * (with a "did you mean" hint). Returns `{ core, errors }`.
 */
function split(options, spec) {
  if (options === undefined || options === null) options = {}
  if (!isPlainObject(options)) {
    return { options: {}, core: {}, errors: [{ key: '(options)', value: options, allowed: 'an options object' }] }
  }
  const errors = []
  const core = {}
  const known = [...spec.core, ...spec.host]
  for (const key of Object.keys(options)) {
    const value = options[key]
    if (value === undefined) continue
    if (spec.core.includes(key)) {
      const nested = spec.nested && spec.nested[key]
      if (nested && isPlainObject(value)) {
        for (const inner of Object.keys(value)) {
          if (value[inner] !== undefined && !nested.includes(inner)) errors.push(unknownKey(key, inner, value[inner], nested))
        }
      }
      core[key] = value
    } else if (spec.special && key in spec.special) {
      const problem = spec.special[key](value)
      if (problem) errors.push({ key, value, allowed: problem })
    } else if (!spec.host.includes(key)) {
      errors.push(unknownKey('', key, value, known))
    }
  }
  return { options, core, errors }
}

/** Checks the common host hooks (`classify`, `isFailure`, `clock`) into `host`. */
function hostHooks(options, errors, mode = {}) {
  const host = {}
  for (const key of ['classify', 'isFailure']) {
    const v = options[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'function') errors.push({ key, value: v, allowed: 'a function' })
    else host[key] = v
  }
  const clock = options.clock
  if (clock !== undefined && clock !== null) {
    if (mode.partial) errors.push({ key: 'clock', value: clock, allowed: mode.clockAllowed ?? 'the clock is fixed when the object is made' })
    else if (!(clock instanceof ManualClock)) {
      errors.push({ key: 'clock', value: clock, allowed: 'a ManualClock (leave it out for the system clock)' })
    } else host.clock = clock
  }
  return host
}

const BREAKER_SPEC = { core: BREAKER_KEYS, host: HOST_KEYS, nested: NESTED_KEYS }
const BREAKER_SPEC_WITH_TIMEOUT = { core: [...BREAKER_KEYS, 'timeout'], host: HOST_KEYS, nested: NESTED_KEYS }
const BREAKER_SPEC_NO_TIMEOUT = {
  ...BREAKER_SPEC,
  special: {
    timeout: () =>
      "not a breaker option: the time a breaker stays open is `recoveryTimeout` (ms); a call timeout is a Policy's `timeout`",
  },
}

/**
 * Checks breaker options and returns `{ json, host }`: the core's part as JSON and the JS-only
 * hooks. Throws ConfigError listing every problem.
 * @param {unknown} options
 * @param {{ partial?: boolean, allowTimeout?: boolean, clockAllowed?: string }} [mode]
 */
function breakerOptions(options, mode = {}) {
  const r = split(options, mode.allowTimeout ? BREAKER_SPEC_WITH_TIMEOUT : BREAKER_SPEC_NO_TIMEOUT)
  const host = hostHooks(r.options, r.errors, mode)
  if (r.errors.length > 0) throw configError(r.errors)
  const json = JSON.stringify(r.core, replacer)
  if (!mode.partial) {
    const coreErrors = native.checkBreakerConfig(json)
    if (coreErrors.length > 0) throw configError(fromCoreErrors(r.options, coreErrors))
  }
  return { json, host }
}

module.exports = { breakerOptions, split, hostHooks, replacer, fromCoreErrors, configError, isPlainObject, jsKey, valueAt, HOST_KEYS }
