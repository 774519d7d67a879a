'use strict'
// Default classification. The host only extracts facts from an error (or a failed result):
// an HTTP status (`status`, `statusCode`, `response.status`), a string `code` (its own or its
// cause's: undici's `fetch failed` keeps the errno in `cause.code`), its `name` and its
// cause's name. The core maps the facts to a category (contract section 4).

const native = require('../native.js')

const CATEGORIES = Object.freeze(native.categoryNames())
const CATEGORY_INDEX = new Map(CATEGORIES.map((c, i) => [c, i]))
const UNKNOWN = CATEGORY_INDEX.get('unknown')

function num(v) {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined
}
function str(v) {
  return typeof v === 'string' ? v : undefined
}
function isObj(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function')
}

const TIMEOUT = 1
const CONNECTION_REFUSED = 2
const CANCELLED = 4
const ABORT_REASON_TIMEOUT = 8

/**
 * The facts of an error or result: [status, codes, flags] (see the native `classifyFacts`).
 * Codes, most specific first: its `code`, its cause's `code`, its `name`.
 */
function factsOf(x) {
  let status
  const codes = []
  let flags = 0
  if (!isObj(x)) return [status, codes, flags]
  try {
    const response = isObj(x.response) ? x.response : undefined
    status = num(x.status) ?? num(x.statusCode) ?? (response && (num(response.status) ?? num(response.statusCode)))
    const cause = isObj(x.cause) ? x.cause : undefined
    const code = str(x.code)
    const causeCode = cause && str(cause.code)
    const name = str(x.name)
    if (code !== undefined) codes.push(code)
    if (causeCode !== undefined) codes.push(causeCode)
    if (name !== undefined) codes.push(name)
    if (code === 'ECONNREFUSED') flags |= CONNECTION_REFUSED
    // An abort whose reason is a timeout (AbortSignal.timeout()): the core applies it to a
    // cancellation, however the cancellation shows (the flag, or an AbortError code).
    if (cause !== undefined && str(cause.name) === 'TimeoutError') flags |= ABORT_REASON_TIMEOUT
    if (name === 'AbortError' || code === 'ABORT_ERR' || code === 'ERR_CANCELED') {
      flags |= CANCELLED
    } else if (name === 'TimeoutError') {
      flags |= TIMEOUT
    }
  } catch {
    // a throwing getter: classify what was read so far
  }
  return [status, codes, flags]
}

/**
 * Whether an AbortSignal's reason is a timeout (`AbortSignal.timeout()` aborts with a
 * DOMException named 'TimeoutError'): the caller's own deadline passed (contract section 4).
 */
function isTimeoutReason(reason) {
  if (!isObj(reason)) return false
  try {
    return reason.name === 'TimeoutError'
  } catch {
    return false
  }
}

/** How the core classifies an abort whose reason is a timeout (the abort_reason_timeout fact). */
function abortTimeoutClassified() {
  return native.classifyFacts(undefined, ['AbortError'], CANCELLED | ABORT_REASON_TIMEOUT)
}

/** The category index of an error or failed result by the default table; bit 8: never sent. */
function defaultClassified(x) {
  const [status, codes, flags] = factsOf(x)
  if (status === undefined && codes.length === 0 && flags === 0) return UNKNOWN
  return native.classifyFacts(status, codes, flags)
}

/** The category index of an error or failed result, by the default table. */
function defaultCategoryIndex(x) {
  return defaultClassified(x) & 0xff
}

function header(headers, name) {
  if (!isObj(headers)) return undefined
  // Header names are case-insensitive: a plain object may spell them `Retry-After`.
  const v =
    typeof headers.get === 'function'
      ? headers.get(name)
      : (headers[name] ??
        headers[Object.keys(headers).find((k) => k.toLowerCase() === name) ?? name])
  if (typeof v === 'string') return v
  if (typeof v === 'number') return String(v)
  return undefined
}

/**
 * The wait a failure names, in ms: a `retry-after-ms` or `Retry-After` header (its own
 * `headers`, or its response's), or a breakwater error's `retryAfter`. -1 when none.
 */
function retryAfterOf(x, wallNowMs) {
  if (!isObj(x)) return -1
  try {
    for (const headers of [x.headers, isObj(x.response) ? x.response.headers : undefined]) {
      const ms = header(headers, 'retry-after-ms')
      if (ms !== undefined) {
        const v = native.parseRetryAfterMsHeader(ms)
        if (v !== null) return v
      }
      const ra = header(headers, 'retry-after')
      if (ra !== undefined) {
        const v = native.parseRetryAfterHeader(ra, wallNowMs())
        if (v !== null) return v
      }
    }
    if ((x.code === 'RATE_LIMITED' || x.code === 'CIRCUIT_OPEN') && typeof x.retryAfter === 'number' && x.retryAfter >= 0) {
      return x.retryAfter
    }
  } catch {
    // a throwing getter: no wait
  }
  return -1
}

/**
 * The default category of an error or a failed result, e.g. `'network'` for an
 * `ECONNREFUSED`, `'rate_limited'` for a 429.
 * @param {unknown} error
 * @returns {string}
 */
function classifyError(error) {
  return CATEGORIES[defaultCategoryIndex(error)]
}

/**
 * How the core reads a failure: `{ category, notSent, retryAfter }` (`retryAfter` in ms, from a
 * `Retry-After` / `retry-after-ms` header, read against `clock`'s wall time; undefined when none).
 */
function classifyFailure(error, options) {
  const clock = options !== undefined && options !== null ? options.clock : undefined
  const c = defaultClassified(error)
  const ra = retryAfterOf(error, clock !== undefined ? () => clock.wallMs() : () => Date.now())
  return { category: CATEGORIES[c & 0xff], notSent: (c & 0x100) !== 0, retryAfter: ra >= 0 ? ra : undefined }
}

/**
 * The default `isFailure`: a fetch-style response (numeric `status`, boolean `ok`) whose status
 * is a server error, 408 or 429 is a failure (classified by its status); any other value is a
 * success.
 */
function defaultIsFailure(value) {
  if (value === null || typeof value !== 'object') return false
  const s = value.status
  if (typeof s !== 'number' || typeof value.ok !== 'boolean') return false
  return s >= 500 || s === 408 || s === 429
}

module.exports = { isTimeoutReason, abortTimeoutClassified, classifyFailure, CATEGORIES, CATEGORY_INDEX, UNKNOWN, factsOf, defaultClassified, defaultCategoryIndex, retryAfterOf, classifyError, defaultIsFailure }
