'use strict'
// Error classes (contract section 3). Every error breakwater raises is a BreakwaterError with a
// stable `code`; the user's own errors are never wrapped (they reach the caller as the same
// object). Rejections are built without capturing a stack: on the open path the stack trace
// would be most of the cost, and it would only point into breakwater anyway.

const CODES = Object.freeze({
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  RATE_LIMITED: 'RATE_LIMITED',
  BULKHEAD_FULL: 'BULKHEAD_FULL',
  TIMEOUT: 'TIMEOUT',
  RETRY_EXHAUSTED: 'RETRY_EXHAUSTED',
  CONFIG_INVALID: 'CONFIG_INVALID',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  PANIC: 'PANIC',
})

function causeOption(fields) {
  return fields !== undefined && fields !== null && 'cause' in fields ? { cause: fields.cause } : undefined
}

class BreakwaterError extends Error {
  /**
   * @param {string} message
   * @param {string} [code]
   * @param {{ cause?: unknown }} [options]
   */
  constructor(message, code, options) {
    super(message, options)
    this.code = code === undefined ? 'PANIC' : code
  }
}

function fmtMs(ms) {
  return Number.isInteger(ms) ? `${ms} ms` : `${ms.toFixed(3)} ms`
}

class CircuitOpenError extends BreakwaterError {
  constructor(fields = {}) {
    const { component = '', state = 'open', retryAfter } = fields
    let msg
    if (state === 'forced_open') msg = `circuit '${component}' is forced open`
    else if (state === 'half_open') msg = `circuit '${component}' is half-open and all its probe slots are taken`
    else msg = `circuit '${component}' is open`
    if (retryAfter !== undefined && state !== 'half_open') msg += `; retry after ${fmtMs(retryAfter)}`
    super(msg, CODES.CIRCUIT_OPEN, causeOption(fields))
    this.component = component
    this.state = state
    this.retryAfter = retryAfter
  }
}

class RateLimitedError extends BreakwaterError {
  constructor(fields = {}) {
    const { component = '', retryAfter } = fields
    super(
      `rate limit of '${component}' reached${retryAfter === undefined ? '' : `; retry after ${fmtMs(retryAfter)}`}`,
      CODES.RATE_LIMITED,
      causeOption(fields),
    )
    this.component = component
    this.retryAfter = retryAfter
  }
}

class BulkheadFullError extends BreakwaterError {
  constructor(fields = {}) {
    const { component = '' } = fields
    super(`bulkhead '${component}' is full`, CODES.BULKHEAD_FULL, causeOption(fields))
    this.component = component
  }
}

class TimeoutError extends BreakwaterError {
  constructor(fields = {}) {
    const { component = '', timeout } = fields
    super(
      `call${component ? ` through '${component}'` : ''} timed out${timeout === undefined ? '' : ` after ${fmtMs(timeout)}`}`,
      CODES.TIMEOUT,
      causeOption(fields),
    )
    this.component = component
    this.timeout = timeout
  }
}

class RetryError extends BreakwaterError {
  constructor(fields = {}) {
    const { attempts = 0, reason = 'max_attempts', component = '' } = fields
    super(
      `gave up${component ? ` on '${component}'` : ''} after ${attempts} attempt${attempts === 1 ? '' : 's'} (${reason})`,
      CODES.RETRY_EXHAUSTED,
      causeOption(fields),
    )
    this.component = component
    this.attempts = attempts
    this.reason = reason
  }
}

class ConfigError extends BreakwaterError {
  constructor(fields = {}) {
    const { key = '', value, allowed = '' } = fields
    // Where the key is in a whole config document; the key itself outside one.
    const path = typeof fields.path === 'string' && fields.path !== '' ? fields.path : key
    super(`invalid option ${path} = ${show(value)} (allowed: ${allowed})`, CODES.CONFIG_INVALID, causeOption(fields))
    this.key = key
    this.path = path
    this.value = value
    this.allowed = allowed
    /** Every problem found, the first being this one's key/path/value/allowed. */
    this.errors =
      Array.isArray(fields.errors) && fields.errors.length > 0
        ? fields.errors.map((e) => (typeof e.path === 'string' && e.path !== '' ? e : { ...e, path: e.key }))
        : [{ key, path, value, allowed }]
  }
}

function show(v) {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`
  if (typeof v === 'bigint') return `${v}n`
  if (v !== null && typeof v === 'object') {
    try {
      return JSON.stringify(v)
    } catch {
      return Object.prototype.toString.call(v)
    }
  }
  return String(v)
}

for (const C of [BreakwaterError, CircuitOpenError, RateLimitedError, BulkheadFullError, TimeoutError, RetryError, ConfigError]) {
  Object.defineProperty(C.prototype, 'name', { value: C.name, writable: true, configurable: true, enumerable: false })
}

/**
 * What the caller gets when its own AbortSignal aborts with a timeout reason
 * (`AbortSignal.timeout()`): a TimeoutError (code TIMEOUT) whose `cause` is the signal's reason.
 */
function abortTimeoutError(component, reason) {
  return stackless(() => new TimeoutError({ component, cause: reason }))
}

/** Builds an error without capturing a stack trace (the rejection fast path). */
function stackless(build) {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return build()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** Re-throws an error from the native layer as a BreakwaterError, keeping its code. */
function fromNative(e) {
  if (e instanceof BreakwaterError) return e
  const code = e !== null && typeof e === 'object' && typeof e.code === 'string' && e.code in CODES ? e.code : 'PANIC'
  return new BreakwaterError(e instanceof Error ? e.message : String(e), code, { cause: e })
}

module.exports = {
  CODES,
  BreakwaterError,
  CircuitOpenError,
  RateLimitedError,
  BulkheadFullError,
  TimeoutError,
  RetryError,
  ConfigError,
  stackless,
  abortTimeoutError,
  fromNative,
  show,
}
