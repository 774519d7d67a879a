'use strict'
// prometheus(): the Prometheus text exposition, rendered by the core (the same names, labels and
// buckets as Python, C and the monitoring server; docs/metrics.md).

const native = require('../native.js')
const { CircuitBreaker } = require('./breaker')
const { Policy } = require('./policy')
const { RateLimiter, Bulkhead } = require('./limits')
const { Registry, registry: processWide } = require('./registry')
const { DegradationManager } = require('./degradation')
const { HealthRegistry } = require('./health')
const { configError, split } = require('./options')

const KEYS = ['registries', 'breakers', 'policies', 'rateLimiters', 'bulkheads', 'degradation', 'health']

function list(v) {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]
}

/**
 * Renders the exposition (format 0.0.4) of the components given: `registries` (default: the
 * process-wide registry: every breaker it holds, made on any thread), `breakers`, `policies`,
 * `rateLimiters`, `bulkheads`, `degradation` (managers), `health` (a HealthRegistry).
 */
function prometheus(options) {
  const r = split(options, { core: [], host: KEYS })
  const o = r.options
  const check = (key, C, what) => {
    for (const v of list(o[key])) if (!(v instanceof C)) r.errors.push({ key, value: v, allowed: what })
  }
  check('registries', Registry, 'Registry objects')
  check('breakers', CircuitBreaker, 'CircuitBreaker objects')
  check('policies', Policy, 'Policy objects')
  check('rateLimiters', RateLimiter, 'RateLimiter objects')
  check('bulkheads', Bulkhead, 'Bulkhead objects')
  check('degradation', DegradationManager, 'DegradationManager objects')
  if (o.health !== undefined && !(o.health instanceof HealthRegistry)) r.errors.push({ key: 'health', value: o.health, allowed: 'a HealthRegistry' })
  if (r.errors.length > 0) throw configError(r.errors)
  const m = new native.NativeMetrics()
  for (const b of list(o.breakers)) m.addBreaker(b._n)
  for (const reg of o.registries === undefined ? [processWide] : list(o.registries)) m.addRegistry(reg._n)
  for (const p of list(o.policies)) m.addPolicy(p._n)
  for (const l of list(o.rateLimiters)) m.addRateLimiter(l.name, l._n)
  for (const b of list(o.bulkheads)) m.addBulkhead(b.name, b._n)
  for (const d of list(o.degradation)) m.addDegradation(d._n)
  if (o.health !== undefined) m.setHealth(o.health._n)
  return m.render()
}

/** The exposition's content type. */
prometheus.contentType = native.metricsContentType()

module.exports = { prometheus }
