'use strict'
// Runs every scenario in conformance/scenarios/** through the public JS API, on a ManualClock
// (format: conformance/README.md). Scenario configs are in config-file spelling; they are
// translated to the JS option names (camelCase, ms) first, so the scenarios exercise exactly
// what a user's `new CircuitBreaker(name, options)` does. Components the Node binding cannot
// run yet are reported as skipped (with the reason), never dropped silently.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const bw = require('..')

const ROOT = path.resolve(__dirname, '../../conformance/scenarios')

function scenarioFiles(dir) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...scenarioFiles(p))
    else if (entry.name.endsWith('.json')) out.push(p)
  }
  return out.sort()
}

// ---- config-file spelling -> JS option names -------------------------------------------------

const TOP = {
  failure_threshold: 'failureThreshold',
  failure_rate_threshold: 'failureRateThreshold',
  minimum_calls: 'minimumCalls',
  slow_call_duration_ms: 'slowCallDuration',
  slow_call_rate_threshold: 'slowCallRateThreshold',
  recovery_timeout_ms: 'recoveryTimeout',
  recovery_backoff: 'recoveryBackoff',
  half_open_max_calls: 'halfOpenMaxCalls',
  success_threshold: 'successThreshold',
  max_half_open_ms: 'maxHalfOpen',
  // In config files `timeout` is the seeds' recovery timeout; `new CircuitBreaker` rejects
  // `timeout` (it would read as a call timeout), so it travels as the other ms alias.
  timeout: 'recoveryTimeoutMs',
}
const NESTED = { window: { duration_ms: 'duration' }, recovery_backoff: { max_ms: 'max' } }
const RETRY_TOP = {
  max_attempts: 'maxAttempts',
  base_delay_ms: 'baseDelay',
  max_delay_ms: 'maxDelay',
  jitter_factor: 'jitterFactor',
  max_elapsed_ms: 'maxElapsed',
  retry_on: 'retryOn',
  max_retry_after_ms: 'maxRetryAfter',
}
const RETRY_NESTED = { budget: { min_per_second: 'minPerSecond', ttl_ms: 'ttl' } }
const LIMITER_TOP = { max_requests: 'maxRequests', time_window_ms: 'timeWindow', burst_limit: 'burstLimit' }
const BULKHEAD_TOP = { max_concurrent: 'maxConcurrent', max_queue: 'maxQueue', max_wait_ms: 'maxWait' }

class Untranslatable extends Error {}

function translateKey(key, top = TOP, nestedMap = NESTED) {
  const [head, ...rest] = key.split('.')
  const nested = nestedMap[head] ?? {}
  return [top[head] ?? head, ...rest.map((k) => nested[k] ?? k)].join('.')
}

function translateConfig(config, top = TOP, nestedMap = NESTED) {
  const out = {}
  for (const [key, value] of Object.entries(config ?? {})) {
    const js = top[key] ?? key
    let v = value
    if (nestedMap[key] && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      v = {}
      for (const [k, x] of Object.entries(value)) v[nestedMap[key][k] ?? k] = x
    }
    if (js in out && JSON.stringify(out[js]) !== JSON.stringify(v)) {
      throw new Untranslatable(`\`${key}\` and another spelling of it with a different value (an alias conflict only config files can write)`)
    }
    out[js] = v
  }
  return out
}

// ---- errors that the default classifier maps to each category --------------------------------

function errorFor(category) {
  const e = new Error(`scenario failure (${category})`)
  switch (category) {
    case 'network':
      return Object.assign(e, { code: 'ECONNRESET' })
    case 'timeout':
      return Object.assign(e, { code: 'ETIMEDOUT' })
    case 'rate_limited':
      return Object.assign(e, { status: 429 })
    case 'server':
      return Object.assign(e, { status: 503 })
    case 'database':
      return Object.assign(e, { code: 'SQLITE_BUSY' })
    case 'auth':
      return Object.assign(e, { statusCode: 401 })
    case 'client':
      return Object.assign(e, { response: { status: 404 } })
    case 'cancelled':
      return new DOMException('aborted', 'AbortError')
    case 'unknown':
      return e
    default:
      // No default mapping (e.g. external_api): the scenario classifier hook answers.
      return Object.assign(e, { scenarioCategory: category })
  }
}
const classify = (e) => (e !== null && typeof e === 'object' ? e.scenarioCategory : undefined)

/** An error carrying the scenario's facts the way JS errors carry them. */
function errorFromFacts(facts, category) {
  if (facts === undefined) return errorFor(category ?? 'unknown')
  const e = new Error('scenario failure')
  e.name = 'ScenarioError'
  const codes = [...(facts.codes ?? [])]
  // JS carries a refused connection as the error's own ECONNREFUSED code.
  if (facts.connection_refused) codes.unshift('ECONNREFUSED')
  let name
  if (facts.cancelled && facts.timeout) throw new Untranslatable('both the cancelled and timeout flags (one JS error name)')
  if (facts.cancelled) name = 'AbortError'
  else if (facts.timeout) name = 'TimeoutError'
  if (codes.length > (name ? 2 : 3)) throw new Untranslatable(`${codes.length} codes (a JS error carries code, cause.code, name)`)
  if (codes[0] !== undefined) e.code = codes[0]
  if (codes[1] !== undefined || facts.abort_reason_timeout) {
    e.cause = {}
    if (codes[1] !== undefined) e.cause.code = codes[1]
    if (facts.abort_reason_timeout) e.cause.name = 'TimeoutError'
  }
  if (name) e.name = name
  else if (codes[2] !== undefined) e.name = codes[2]
  if (facts.status !== undefined) e.status = facts.status
  if (facts.user_category !== undefined) e.scenarioCategory = facts.user_category
  if (facts.retry_after !== undefined || facts.retry_after_ms !== undefined) {
    e.headers = {}
    if (facts.retry_after !== undefined) e.headers['retry-after'] = facts.retry_after
    if (facts.retry_after_ms !== undefined) e.headers['retry-after-ms'] = facts.retry_after_ms
  }
  if (category !== undefined && facts.user_category === undefined && facts.status === undefined && codes.length === 0 && !name) {
    return Object.assign(errorFor(category), { headers: e.headers })
  }
  return e
}

// ---- expectations ------------------------------------------------------------------------------

const SNAPSHOT = {
  state: 'state',
  state_since_ms: 'stateSince',
  calls: 'calls',
  failures: 'failures',
  slow_calls: 'slowCalls',
  failure_rate: 'failureRate',
  slow_call_rate: 'slowCallRate',
  consecutive_failures: 'consecutiveFailures',
  consecutive_successes: 'consecutiveSuccesses',
  calls_total: 'callsTotal',
  successes_total: 'successesTotal',
  failures_total: 'failuresTotal',
  ignored_total: 'ignoredTotal',
  rejected_total: 'rejectedTotal',
  times_opened: 'timesOpened',
  last_failure_category: 'lastFailureCategory',
  retry_after_ms: 'retryAfter',
}
const EVENT = {
  kind: 'kind',
  component: 'component',
  at: 'at',
  from: 'from',
  to: 'to',
  reason: 'reason',
  category: 'category',
  duration_ms: 'duration',
  attempt: 'attempt',
  delay_ms: 'delay',
}

function same(got, want) {
  if (want === null) return got === undefined || got === null
  if (typeof want === 'number') return typeof got === 'number' && Math.abs(got - want) <= 1e-9
  return got === want
}

class Run {
  constructor(file, doc) {
    this.file = file
    this.doc = doc
    this.failures = []
    this.step = 0
  }

  fail(msg) {
    this.failures.push(`step ${this.step}: ${msg}`)
  }

  checkRejection(err, want) {
    if (!(err instanceof bw.CircuitOpenError)) {
      this.fail(`expected a CircuitOpenError, got ${err}`)
      return
    }
    if (!(err instanceof bw.BreakwaterError) || !(err instanceof Error)) this.fail('CircuitOpenError is not a BreakwaterError')
    if (want.code !== undefined && err.code !== want.code) this.fail(`rejection code ${err.code} != ${want.code}`)
    if ('retry_after_ms' in want && !same(err.retryAfter, want.retry_after_ms)) {
      this.fail(`retryAfter ${err.retryAfter} != ${want.retry_after_ms}`)
    }
    if (err.component !== 'test') this.fail(`rejection component ${err.component}`)
  }

  async breaker() {
    const doc = this.doc
    let options
    try {
      options = translateConfig(doc.config)
    } catch (e) {
      if (e instanceof Untranslatable) return { skip: e.message }
      throw e
    }
    const clock = new bw.ManualClock()
    let cb
    try {
      cb = new bw.CircuitBreaker('test', { ...options, clock, classify })
    } catch (e) {
      if (!doc.config_error) return this.fail(`config rejected: ${e.message}`)
      if (!(e instanceof bw.ConfigError)) return this.fail(`expected a ConfigError, got ${e}`)
      if (e.code !== doc.config_error.code) this.fail(`code ${e.code} != ${doc.config_error.code}`)
      const key = translateKey(doc.config_error.key)
      if (e.key !== key) this.fail(`error key ${e.key} != ${key} (${e.message})`)
      return
    }
    if (doc.config_error) return this.fail(`config accepted, expected ${JSON.stringify(doc.config_error)}`)

    const events = []
    for (const name of ['stateChange', 'callRejected', 'success', 'failure', 'slowCall', 'ignored']) {
      cb.on(name, (e) => events.push(e))
    }
    const permits = new Map()
    for (const [i, step] of (doc.steps ?? []).entries()) {
      this.step = i
      const expect = step.expect ?? {}
      if (step.at !== undefined && !clock.set(step.at)) this.fail(`at ${step.at} moves the clock backwards`)
      events.length = 0
      await this.breakerStep(cb, clock, step, expect, permits)
      this.checkExpect(cb, expect, events)
    }
  }

  async breakerStep(cb, clock, step, expect, permits) {
    switch (step.op) {
      case 'acquire': {
        let p
        try {
          p = cb.tryAcquire()
        } catch (e) {
          if (expect.rejected) this.checkRejection(e, expect.rejected)
          else this.fail(`expected a permit, got ${e}`)
          return
        }
        if (expect.rejected) this.fail('expected a rejection, got a permit')
        if (step.permit !== undefined) permits.set(step.permit, p)
        return
      }
      case 'record':
      case 'release': {
        const p = permits.get(step.permit)
        permits.delete(step.permit)
        if (p === undefined) return this.fail(`no permit named ${step.permit}`)
        if (step.op === 'release') cb.release(p)
        else cb.record(p, step.outcome, step.category)
        return
      }
      case 'call': {
        let rejected = false
        for (let k = 0; k < (step.repeat ?? 1) && !rejected; k++) {
          rejected = await this.call(cb, clock, step, expect)
        }
        if (expect.rejected && !rejected) this.fail('expected the call to be rejected')
        return
      }
      case 'advance':
        clock.advance(step.ms ?? 0)
        return
      case 'force_open':
        cb.forceOpen()
        return
      case 'force_close':
        cb.forceClose()
        return
      case 'disable':
        cb.disable()
        return
      case 'metrics_only':
        cb.metricsOnly()
        return
      case 'reset':
        cb.reset()
        return
      case 'state':
      case 'snapshot':
        return
      case 'configure': {
        let err
        try {
          cb.configure(translateConfig(step.config))
        } catch (e) {
          err = e
        }
        if (err === undefined && expect.error) this.fail(`configure accepted, expected ${JSON.stringify(expect.error)}`)
        if (err !== undefined && !expect.error) this.fail(`configure rejected: ${err.message}`)
        if (err !== undefined && expect.error) {
          if (!(err instanceof bw.ConfigError)) this.fail(`expected a ConfigError, got ${err}`)
          else if (expect.error.key !== undefined && err.key !== translateKey(expect.error.key)) {
            this.fail(`configure error key ${err.key} != ${translateKey(expect.error.key)}`)
          }
        }
        return
      }
      default:
        this.fail(`unknown op ${step.op}`)
    }
  }

  /** One `call`: through `execute` (success / failure), or the low-level API (ignored). */
  async call(cb, clock, step, expect) {
    const duration = step.duration_ms ?? 0
    if (step.outcome === 'ignored') {
      let p
      try {
        p = cb.tryAcquire()
      } catch (e) {
        if (expect.rejected) this.checkRejection(e, expect.rejected)
        else this.fail(`call rejected: ${e}`)
        return true
      }
      clock.advance(duration)
      cb.record(p, 'ignored', step.category)
      return false
    }
    const failure = step.outcome === 'failure' ? errorFor(step.category ?? 'unknown') : undefined
    const value = { ok: true }
    try {
      const got = await cb.execute((ctx, info) => {
        assert.equal(ctx, 'ctx')
        assert.equal(info.attempt, 1)
        clock.advance(duration)
        if (failure !== undefined) throw failure
        return value
      }, 'ctx')
      if (failure !== undefined) this.fail('execute resolved, expected the failure')
      else if (got !== value) this.fail('execute did not resolve with the function\'s value')
    } catch (e) {
      if (e instanceof bw.CircuitOpenError) {
        if (expect.rejected) this.checkRejection(e, expect.rejected)
        else this.fail(`call rejected: ${e.message}`)
        return true
      }
      if (e !== failure) this.fail(`execute rejected with ${e}, not the function's own error`)
    }
    return false
  }

  checkExpect(cb, expect, events) {
    if (expect.state !== undefined && cb.state !== expect.state) this.fail(`state ${cb.state} != ${expect.state}`)
    if (expect.snapshot !== undefined) {
      const snap = cb.snapshot()
      for (const [k, want] of Object.entries(expect.snapshot)) {
        const field = SNAPSHOT[k]
        if (field === undefined) this.fail(`unknown snapshot field ${k}`)
        else if (!(field in snap)) this.fail(`snapshot has no ${field}`)
        else if (!same(snap[field], want)) this.fail(`snapshot.${field} = ${snap[field]}, expected ${want}`)
      }
    }
    if (expect.events !== undefined) {
      if (events.length !== expect.events.length) {
        this.fail(`${events.length} events [${events.map((e) => e.kind)}], expected ${JSON.stringify(expect.events)}`)
        return
      }
      expect.events.forEach((want, i) => {
        for (const [k, w] of Object.entries(want)) {
          const field = EVENT[k]
          if (field === undefined) this.fail(`unknown event field ${k}`)
          else if (!same(events[i][field], w)) this.fail(`event ${i} (${events[i].kind}).${field} = ${events[i][field]}, expected ${w}`)
        }
      })
    }
  }
}

Object.assign(Run.prototype, {
  async classify() {
    const clock = new bw.ManualClock()
    for (const [i, step] of (this.doc.steps ?? []).entries()) {
      this.step = i
      if (step.at !== undefined) clock.set(step.at)
      if (step.op !== 'classify') {
        this.fail(`unknown op ${step.op}`)
        continue
      }
      let err
      try {
        err = errorFromFacts(step.facts ?? {})
      } catch (e) {
        if (e instanceof Untranslatable) return { skip: e.message }
        throw e
      }
      const got = step.facts?.user_category !== undefined ? { ...bw.classifyFailure(err, { clock }), category: classify(err) } : bw.classifyFailure(err, { clock })
      const want = step.expect ?? {}
      if (want.category !== undefined && got.category !== want.category) this.fail(`category ${got.category} != ${want.category}`)
      if (want.category !== undefined && step.facts?.user_category === undefined && bw.classifyError(err) !== want.category) {
        this.fail(`classifyError ${bw.classifyError(err)} != ${want.category}`)
      }
      if (want.not_sent !== undefined && got.notSent !== want.not_sent) this.fail(`notSent ${got.notSent} != ${want.not_sent}`)
      if ('retry_after_ms' in want && !same(got.retryAfter, want.retry_after_ms)) {
        this.fail(`retryAfter ${got.retryAfter} != ${want.retry_after_ms}`)
      }
    }
  },

  retryOptions(config) {
    return translateConfig(config, RETRY_TOP, RETRY_NESTED)
  },

  configError(e, want, top, nested) {
    if (!(e instanceof bw.ConfigError)) return this.fail(`expected a ConfigError, got ${e}`)
    if (e.code !== want.code) this.fail(`code ${e.code} != ${want.code}`)
    const key = translateKey(want.key, top, nested)
    if (e.key !== key) this.fail(`error key ${e.key} != ${key} (${e.message})`)
  },

  async retry() {
    const doc = this.doc
    const clock = new bw.ManualClock()
    let retry
    try {
      retry = new bw.Retry({ ...this.retryOptions(doc.config), clock, classify })
    } catch (e) {
      if (e instanceof Untranslatable) return { skip: e.message }
      if (!doc.config_error) return this.fail(`config rejected: ${e.message}`)
      return this.configError(e, doc.config_error, RETRY_TOP, RETRY_NESTED)
    }
    if (doc.config_error) return this.fail(`config accepted, expected ${JSON.stringify(doc.config_error)}`)
    const calls = new Map()
    for (const [i, step] of (doc.steps ?? []).entries()) {
      this.step = i
      if (step.at !== undefined && !clock.set(step.at)) this.fail(`at ${step.at} moves the clock backwards`)
      const name = step.call ?? 'c'
      const want = step.expect ?? {}
      if (step.op === 'advance') {
        clock.advance(step.ms ?? 0)
      } else if (step.op === 'start') {
        calls.set(name, retry.begin())
      } else if (step.op === 'decide') {
        const call = calls.get(name)
        if (call === undefined) {
          this.fail(`no call named ${name}`)
          continue
        }
        let err
        try {
          err = errorFromFacts(step.facts, step.category)
        } catch (e) {
          if (e instanceof Untranslatable) return { skip: e.message }
          throw e
        }
        const d = call.decide(err)
        if (want.decision !== undefined && d.decision !== want.decision) this.fail(`decision ${JSON.stringify(d)}, expected ${want.decision}`)
        if (want.delay_ms !== undefined && !same(d.delay, want.delay_ms)) this.fail(`delay ${d.delay} != ${want.delay_ms}`)
        if (want.attempt !== undefined && d.attempt !== want.attempt) this.fail(`attempt ${d.attempt} != ${want.attempt}`)
        if (want.reason !== undefined && d.reason !== want.reason) this.fail(`reason ${d.reason} != ${want.reason}`)
      } else {
        this.fail(`unknown op ${step.op}`)
      }
    }
  },

  async policy() {
    const doc = this.doc
    const config = doc.config ?? {}
    for (const k of Object.keys(config)) {
      if (!['breaker', 'retry', 'rate_limiter', 'bulkhead', 'timeout_ms', 'fallback'].includes(k)) {
        return { skip: `policy part '${k}' is not in the Node binding yet` }
      }
    }
    const clock = new bw.ManualClock()
    let breaker, retry, rateLimiter, bulkhead, policy
    const fallbackSeen = []
    const FALLBACK = { fallback: true }
    try {
      breaker = config.breaker ? new bw.CircuitBreaker('test', { ...translateConfig(config.breaker), clock, classify }) : undefined
      retry = config.retry ? new bw.Retry({ ...this.retryOptions(config.retry), clock, classify }) : undefined
      rateLimiter = config.rate_limiter ? new bw.RateLimiter({ ...translateConfig(config.rate_limiter, LIMITER_TOP, {}), clock }) : undefined
      bulkhead = config.bulkhead ? new bw.Bulkhead({ ...translateConfig(config.bulkhead, BULKHEAD_TOP, {}), clock }) : undefined
      policy = new bw.Policy({
        name: 'test',
        breaker,
        retry,
        rateLimiter,
        bulkhead,
        clock,
        classify,
        timeout: config.timeout_ms,
        fallback: config.fallback ? (err, ctx, info) => (fallbackSeen.push({ err, info }), FALLBACK) : undefined,
      })
    } catch (e) {
      if (e instanceof Untranslatable) return { skip: e.message }
      return this.fail(`config rejected: ${e.message}`)
    }
    const events = []
    if (breaker) for (const n of ['stateChange', 'callRejected', 'success', 'failure', 'slowCall', 'ignored']) breaker.on(n, (e) => events.push(e))
    for (const n of ['retry', 'giveUp', 'fallback']) policy.on(n, (e) => events.push(e))
    const permits = new Map()
    for (const [i, step] of (doc.steps ?? []).entries()) {
      this.step = i
      const expect = step.expect ?? {}
      if (step.at !== undefined && !clock.set(step.at)) this.fail(`at ${step.at} moves the clock backwards`)
      events.length = 0
      if (step.op === 'run') {
        const r = await this.policyRun(policy, clock, step, expect, events, fallbackSeen, FALLBACK)
        if (r && r.skip) return r
      } else if (breaker) {
        await this.breakerStep(breaker, clock, step, expect, permits)
      } else if (step.op === 'advance') {
        clock.advance(step.ms ?? 0)
      } else {
        this.fail(`op ${step.op} needs a breaker`)
      }
      if (breaker) this.checkExpect(breaker, expect, events)
      else if (expect.events) this.checkExpect({ state: undefined, snapshot: () => ({}) }, { events: expect.events }, events)
    }
  },

  async policyRun(policy, clock, step, expect, events, fallbackSeen, FALLBACK) {
    const trace = []
    const script = step.attempts ?? []
    const ac = new AbortController()
    const userErrors = []
    const offRetry = policy.on('retry', (e) => trace.push(`sleep:${e.delay}`))
    let k = 0
    let outcome
    fallbackSeen.length = 0
    try {
      const value = await policy.execute(
        (ctx, info) => {
          trace.push(`attempt:${info.attempt}`)
          const a = script[k++]
          if (a === undefined) throw new Error('the scenario scripted fewer attempts than the policy made')
          clock.advance(a.duration_ms ?? 0)
          if (a.outcome === 'success') return 'value'
          if (a.outcome === 'cancelled') {
            ac.abort()
            return new Promise(() => {})
          }
          const err = errorFromFacts(a.facts, a.category ?? 'unknown')
          userErrors.push(err)
          throw err
        },
        'ctx',
        { signal: ac.signal },
      )
      outcome = value === FALLBACK ? { fallback: fallbackSeen[0] } : { value }
    } catch (e) {
      if (e instanceof Untranslatable) return { skip: e.message }
      outcome = { error: e }
    } finally {
      offRetry()
    }
    // Events from our own trace listener are not expected; drop nothing else.
    if (expect.trace !== undefined && JSON.stringify(trace) !== JSON.stringify(expect.trace)) {
      this.fail(`trace ${JSON.stringify(trace)} != ${JSON.stringify(expect.trace)}`)
    }
    const want = expect.result
    if (want === undefined) return
    const viaFallback = outcome.fallback !== undefined
    if (want.fallback !== undefined && viaFallback !== want.fallback) this.fail(`fallback ${viaFallback}, expected ${want.fallback}`)
    const err = viaFallback ? outcome.fallback.err : outcome.error
    const last = userErrors[userErrors.length - 1]
    let kind
    if (!viaFallback && 'value' in outcome) kind = 'value'
    else if (err === ac.signal.reason && ac.signal.aborted) kind = 'cancelled'
    else if (err instanceof bw.RetryError) kind = 'retry_exhausted'
    else if (err instanceof bw.CircuitOpenError || err instanceof bw.RateLimitedError || err instanceof bw.BulkheadFullError) kind = 'rejected'
    else if (err !== undefined && err === last) kind = 'user_error'
    else kind = `unexpected (${err})`
    if (want.kind !== undefined && kind !== want.kind) this.fail(`result ${kind}, expected ${want.kind}`)
    if (kind === 'retry_exhausted') {
      if (want.reason !== undefined && err.reason !== want.reason) this.fail(`reason ${err.reason} != ${want.reason}`)
      if (want.attempts !== undefined && err.attempts !== want.attempts) this.fail(`attempts ${err.attempts} != ${want.attempts}`)
      if (err.cause !== last) this.fail('the RetryError\'s cause is not the last user error')
      if (err.code !== 'RETRY_EXHAUSTED') this.fail(`code ${err.code}`)
    }
    if (kind === 'rejected') {
      if (want.code !== undefined && err.code !== want.code) this.fail(`code ${err.code} != ${want.code}`)
      if (want.state !== undefined && err.state !== want.state) this.fail(`state ${err.state} != ${want.state}`)
      if ('retry_after_ms' in want && !same(err.retryAfter, want.retry_after_ms)) this.fail(`retryAfter ${err.retryAfter} != ${want.retry_after_ms}`)
      const attempts = trace.filter((t) => t.startsWith('attempt:')).length
      if (want.attempts !== undefined && attempts !== want.attempts) this.fail(`attempts ${attempts} != ${want.attempts}`)
      if (attempts > 0 && err.cause !== last) this.fail('the rejection does not carry the last user error as its cause')
      if (attempts === 0 && err.cause !== undefined) this.fail('a rejection before any attempt has a cause')
    }
    if (viaFallback && want.attempts !== undefined && outcome.fallback.info.attempts !== want.attempts) {
      this.fail(`fallback info.attempts ${outcome.fallback.info.attempts} != ${want.attempts}`)
    }
  },
})

const RUNNERS = {
  breaker: (run) => run.breaker(),
  classify: (run) => run.classify(),
  retry: (run) => run.retry(),
  policy: (run) => run.policy(),
}

// Run by conformance_more.test.js (cache, degradation, health, registry),
// conformance_observe.test.js (slo, alerts) and conformance_document.test.js (document).
const ELSEWHERE = new Set(['cache', 'degradation', 'health', 'registry', 'slo', 'alerts', 'document'])

const files = scenarioFiles(ROOT)
const counts = {}
test('scenarios exist', () => assert.ok(files.length > 0, `no scenarios under ${ROOT}`))

for (const file of files) {
  const rel = path.relative(ROOT, file)
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
  if (ELSEWHERE.has(doc.component)) continue
  const runner = RUNNERS[doc.component]
  counts[doc.component] ??= { run: 0, skipped: 0 }
  if (runner === undefined) {
    counts[doc.component].skipped++
    test(rel, { skip: `component '${doc.component}' is not supported by the Node binding yet` }, () => {})
    continue
  }
  test(rel, async (t) => {
    const run = new Run(rel, doc)
    const r = await runner(run)
    if (r && r.skip) {
      counts[doc.component].skipped++
      t.skip(r.skip)
      return
    }
    counts[doc.component].run++
    assert.deepEqual(run.failures, [], `${doc.name}\n  ${run.failures.join('\n  ')}`)
  })
}

test('conformance summary', () => {
  const lines = Object.entries(counts).map(([c, n]) => `${c}: ${n.run} run, ${n.skipped} skipped`)
  console.log(`# conformance scenarios (${files.length} files): ${lines.join('; ')}`)
})
