'use strict'
// Runs the `cache`, `degradation`, `health` and `registry` scenarios in conformance/scenarios/** through the
// public JS API (ResponseCache, DegradationManager with Fallback and Policy, HealthRegistry), on
// a ManualClock. Format: conformance/README.md ("Degradation and cache", "Health, SLOs and
// alerts"). Config keys are passed as the scenarios write them where the JS options take both
// spellings (degradation, health); the cache's options are camelCase, so its keys are
// translated. Anything the JS API cannot express is reported as skipped, with the reason.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const bw = require('..')

const ROOT = path.resolve(__dirname, '../../conformance/scenarios')
const NAME = 'test'

function scenarioFiles(dir) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...scenarioFiles(p))
    else if (entry.name.endsWith('.json')) out.push(p)
  }
  return out.sort()
}

class Untranslatable extends Error {}

const same = (got, want) => {
  if (want === null) return got === undefined || got === null
  if (typeof want === 'number') return typeof got === 'number' && Math.abs(got - want) <= 1e-9
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => same(got[i], w))
  if (typeof want === 'object') return got !== null && typeof got === 'object' && Object.keys(want).every((k) => same(got[k], want[k]))
  return got === want
}

const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

class Run {
  constructor(doc) {
    this.doc = doc
    this.failures = []
    this.step = 0
  }
  fail(msg) {
    this.failures.push(`step ${this.step}: ${msg}`)
  }
  /** `want` (snake_case keys) against `got` (camelCase keys, via `map`). */
  subset(what, got, want, map = camel) {
    for (const [k, w] of Object.entries(want)) {
      const g = got[map(k)]
      if (!same(g, w)) this.fail(`${what}.${k} = ${JSON.stringify(g)}, expected ${JSON.stringify(w)}`)
    }
  }
  value(expect, key, got) {
    if (key in expect && !same(got, expect[key])) this.fail(`${key} = ${JSON.stringify(got)}, expected ${JSON.stringify(expect[key])}`)
  }
  configError(e, want, translate = (k) => k) {
    if (!(e instanceof bw.ConfigError)) return this.fail(`expected a ConfigError, got ${e}`)
    if (want.code !== undefined && e.code !== want.code) this.fail(`code ${e.code} != ${want.code}`)
    if (want.key !== undefined && e.key !== translate(want.key)) this.fail(`error key ${e.key} != ${translate(want.key)} (${e.message})`)
    if (want.path !== undefined && e.path !== want.path) this.fail(`error path ${e.path} != ${want.path} (${e.message})`)
    if (want.paths !== undefined) {
      const got = e.errors.map((x) => x.path)
      if (!same(got, want.paths)) this.fail(`error paths ${JSON.stringify(got)} != ${JSON.stringify(want.paths)}`)
    }
  }
  steps(clock, each) {
    return (async () => {
      for (const [i, step] of (this.doc.steps ?? []).entries()) {
        this.step = i
        if (step.at !== undefined && !clock.set(step.at)) this.fail(`at ${step.at} moves the clock backwards`)
        await each(step, step.expect ?? {})
      }
    })()
  }
}

// ---- cache -----------------------------------------------------------------------------------

const CACHE_KEYS = { ttl_ms: 'ttl', max_entries: 'maxEntries', stale_if_error: 'staleIfError' }
function cacheOptions(config) {
  const out = {}
  for (const [k, v] of Object.entries(config ?? {})) {
    const js = CACHE_KEYS[k] ?? k
    if (js in out) throw new Untranslatable(`\`${k}\` and another spelling of it (an alias conflict only config files can write)`)
    out[js] = v
  }
  return out
}
const cacheKey = (k) => CACHE_KEYS[k] ?? k

async function runCache(run) {
  const doc = run.doc
  const clock = new bw.ManualClock()
  let cache
  try {
    cache = new bw.ResponseCache({ ...cacheOptions(doc.config), clock })
  } catch (e) {
    if (e instanceof Untranslatable) return { skip: e.message }
    if (!doc.config_error) return run.fail(`config rejected: ${e.message}`)
    return run.configError(e, doc.config_error, cacheKey)
  }
  if (doc.config_error) return run.fail(`config accepted, expected ${JSON.stringify(doc.config_error)}`)
  const hit = (h) => h ?? 'miss'
  await run.steps(clock, (step, expect) => {
    switch (step.op) {
      case 'put': {
        const r = cache.put(step.key, step.value ?? null, step.ttl_ms === undefined ? undefined : { ttl: step.ttl_ms })
        run.value(expect, 'replaced', r.replaced)
        run.value(expect, 'evicted', r.evicted)
        break
      }
      case 'get': {
        const s = cache.status(step.key)
        const v = cache.get(step.key)
        run.value(expect, 'hit', s === 'fresh' ? 'fresh' : 'miss')
        run.value(expect, 'value', v)
        break
      }
      case 'on_error': {
        const h = cache.onError(step.key)
        run.value(expect, 'hit', h === undefined ? 'miss' : h.stale ? 'stale' : 'fresh')
        run.value(expect, 'value', h === undefined ? null : h.value)
        break
      }
      case 'status':
        run.value(expect, 'hit', hit(cache.status(step.key)))
        break
      case 'remove':
        run.value(expect, 'value', cache.remove(step.key))
        break
      case 'clear':
        run.value(expect, 'removed', cache.clear())
        break
      case 'purge_expired':
        run.value(expect, 'removed', cache.purgeExpired())
        break
      case 'configure': {
        let removed
        try {
          removed = cache.configure(cacheOptions(step.config))
        } catch (e) {
          if (expect.error) run.configError(e, expect.error, cacheKey)
          else run.fail(`configure rejected: ${e.message}`)
          break
        }
        if (expect.error) run.fail('configure accepted, expected an error')
        run.value(expect, 'removed', removed)
        break
      }
      case 'advance':
        clock.advance(step.ms ?? 0)
        break
      case 'inspect':
        break
      default:
        run.fail(`unknown op ${step.op}`)
    }
    if ('keys' in expect) run.value(expect, 'keys', cache.keys())
    run.value(expect, 'size', cache.size)
    if (expect.stats) run.subset('stats', cache.stats(), expect.stats)
  })
}

// ---- degradation ------------------------------------------------------------------------------

const BREAKER_KEYS = {
  failure_threshold: 'failureThreshold',
  recovery_timeout_ms: 'recoveryTimeout',
  minimum_calls: 'minimumCalls',
  half_open_max_calls: 'halfOpenMaxCalls',
  success_threshold: 'successThreshold',
}
const RETRY_KEYS = { max_attempts: 'maxAttempts', base_delay_ms: 'baseDelay', max_delay_ms: 'maxDelay', retry_on: 'retryOn' }
const LIMITER_KEYS = { max_requests: 'maxRequests', time_window_ms: 'timeWindow', burst_limit: 'burstLimit' }
const BULKHEAD_KEYS = { max_concurrent: 'maxConcurrent', max_queue: 'maxQueue', max_wait_ms: 'maxWait' }
function translate(config, map) {
  const out = {}
  for (const [k, v] of Object.entries(config ?? {})) {
    if (!(k in map) && k.includes('_')) throw new Untranslatable(`no JS option for \`${k}\``)
    out[map[k] ?? k] = v
  }
  return out
}

function errorFor(category) {
  const e = new Error(`scenario failure (${category})`)
  switch (category) {
    case 'timeout':
      return Object.assign(e, { code: 'ETIMEDOUT' })
    case 'rate_limited':
      return Object.assign(e, { status: 429 })
    case 'server':
      return Object.assign(e, { status: 503 })
    case 'network':
      return Object.assign(e, { code: 'ECONNRESET' })
    default:
      return Object.assign(e, { scenarioCategory: category })
  }
}
const classify = (e) => (e !== null && typeof e === 'object' ? e.scenarioCategory : undefined)

const EVENT_FIELDS = { duration_ms: 'duration' }

function checkEvents(run, want, events) {
  if (want.length !== events.length) {
    return run.fail(`${events.length} events [${events.map((e) => e.kind)}], expected ${JSON.stringify(want)}`)
  }
  want.forEach((w, i) => run.subset(`event ${i} (${events[i].kind})`, events[i], w, (k) => EVENT_FIELDS[k] ?? k))
}

async function runDegradation(run) {
  const doc = run.doc
  const clock = new bw.ManualClock()
  const config = { ...(doc.config ?? {}) }
  const policyConfig = config.policy
  delete config.policy
  let manager
  try {
    manager = new bw.DegradationManager({ ...config, clock })
  } catch (e) {
    if (!doc.config_error) return run.fail(`config rejected: ${e.message}`)
    return run.configError(e, doc.config_error)
  }
  if (doc.config_error) return run.fail(`config accepted, expected ${JSON.stringify(doc.config_error)}`)
  const events = []
  for (const k of ['degradationTriggered', 'degradationRecovered', 'fallback']) manager.on(k, (e) => events.push(e))

  // The scenario's policy, with a Fallback on the manager. Its cache reports what the step's
  // `cached` says (the host's cache is the scenario's to set).
  let policy
  let breaker
  let cachedNow
  const served = []
  const SERVED = Symbol('served')
  if (policyConfig !== undefined) {
    const pc = policyConfig
    try {
      breaker = pc.breaker ? new bw.CircuitBreaker(NAME, { ...translate(pc.breaker, BREAKER_KEYS), clock, classify }) : undefined
      const retry = pc.retry ? new bw.Retry({ ...translate(pc.retry, RETRY_KEYS), clock, classify }) : undefined
      const rateLimiter = pc.rate_limiter ? new bw.RateLimiter({ ...translate(pc.rate_limiter, LIMITER_KEYS), clock }) : undefined
      const bulkhead = pc.bulkhead ? new bw.Bulkhead({ ...translate(pc.bulkhead, BULKHEAD_KEYS), clock }) : undefined
      const cache = new bw.ResponseCache({ clock })
      cache.status = () => cachedNow
      cache.onError = () => (cachedNow === undefined ? undefined : { value: SERVED, stale: cachedNow === 'stale' })
      const fallback = new bw.Fallback({
        manager,
        cache,
        cacheKey: () => 'the-call',
        fallback: pc.fallback ? (err) => (served.push({ err }), SERVED) : undefined,
        clock,
      })
      policy = new bw.Policy({ name: NAME, breaker, retry, rateLimiter, bulkhead, timeout: pc.timeout_ms, fallback, clock, classify })
    } catch (e) {
      if (e instanceof Untranslatable) return { skip: e.message }
      return run.fail(`policy rejected: ${e.message}`)
    }
  }

  const level = (step) => (step.severity !== undefined ? step.severity : undefined)
  await run.steps(clock, async (step, expect) => {
    events.length = 0
    const target = step.target ?? NAME
    switch (step.op) {
      case 'register': {
        const s = { name: step.strategy, kind: step.kind ?? 'custom', priority: step.priority ?? 0, available: step.available ?? true }
        if (step.handles !== undefined) s.canHandle = (ctx) => step.handles.includes(ctx.trigger)
        if (s.kind !== 'cached_response') s.execute = (ctx) => (served.push({ err: ctx.error, strategy: step.strategy }), SERVED)
        run.value(expect, 'changed', manager.register(s))
        break
      }
      case 'unregister':
        run.value(expect, 'changed', manager.unregister(step.strategy))
        break
      case 'set_available':
        run.value(expect, 'changed', manager.setAvailable(step.strategy, step.available ?? true))
        break
      case 'trigger': {
        const severity = step.severity ?? (step.status !== undefined ? statusLevel(step.status) : undefined)
        run.value(expect, 'changed', manager.trigger(target, step.trigger, severity))
        break
      }
      case 'fallback':
      case 'choose': {
        const ctx = { component: target, trigger: step.trigger, severity: level(step) ?? (step.status !== undefined ? statusLevel(step.status) : undefined), cached: step.cached }
        const c = step.op === 'fallback' ? manager.select(ctx) : manager.choose(ctx)
        run.value(expect, 'strategy', c?.strategy)
        run.value(expect, 'kind', c?.kind)
        run.value(expect, 'rule', c?.rule)
        run.value(expect, 'stale', c?.stale ?? false)
        break
      }
      case 'clear':
        run.value(expect, 'recovered', manager.triggerCleared(target, step.trigger))
        break
      case 'success':
        run.value(expect, 'recovered', manager.reportSuccess(target))
        break
      case 'breaker_state':
        run.value(expect, 'changed', manager.onBreakerState(target, step.state))
        break
      case 'health_status':
        run.value(expect, 'changed', manager.onHealthStatus(target, step.status))
        break
      case 'force_recovery':
        run.value(expect, 'recovered', manager.forceRecovery(target))
        break
      case 'force_recovery_all':
        run.value(expect, 'recovered', manager.forceRecoveryAll())
        break
      case 'configure': {
        let err
        try {
          manager.configure(step.config ?? {})
        } catch (e) {
          err = e
        }
        if (err && !expect.error) run.fail(`configure rejected: ${err.message}`)
        if (!err && expect.error) run.fail('configure accepted, expected an error')
        if (err && expect.error) run.configError(err, expect.error)
        break
      }
      case 'advance':
        clock.advance(step.ms ?? 0)
        break
      case 'inspect':
        break
      case 'force_open':
        breaker.forceOpen()
        break
      case 'force_close':
        breaker.forceClose()
        break
      case 'run': {
        if (policy === undefined) return run.fail('op run needs a policy')
        cachedNow = step.cached
        served.length = 0
        const trace = []
        const script = step.attempts ?? []
        const userErrors = []
        const ac = new AbortController()
        const offRetry = policy.on('retry', (e) => trace.push(`sleep:${e.delay}`))
        let k = 0
        let outcome
        try {
          const info = await policy.executeWithInfo(
            (ctx, callInfo) => {
              trace.push(`attempt:${callInfo.attempt}`)
              const a = script[k++]
              if (a === undefined) throw new Error('the scenario scripted fewer attempts than the policy made')
              clock.advance(a.duration_ms ?? 0)
              if (a.outcome === 'success') return 'value'
              if (a.outcome === 'cancelled') {
                ac.abort()
                return new Promise(() => {})
              }
              const err = errorFor(a.category ?? 'unknown')
              userErrors.push(err)
              throw err
            },
            undefined,
            { signal: ac.signal },
          )
          outcome = { info }
        } catch (e) {
          outcome = { error: e }
        } finally {
          offRetry()
        }
        if (k < script.length) run.fail('the script has attempts the policy never made')
        if (expect.trace !== undefined && JSON.stringify(trace) !== JSON.stringify(expect.trace)) {
          run.fail(`trace ${JSON.stringify(trace)} != ${JSON.stringify(expect.trace)}`)
        }
        const fromFallback = outcome.info !== undefined && outcome.info.fromFallback
        const err = fromFallback ? served[0]?.err : outcome.error
        const last = userErrors[userErrors.length - 1]
        const result = { attempts: trace.filter((t) => t.startsWith('attempt:')).length }
        if (outcome.info !== undefined && !fromFallback) result.kind = 'value'
        else if (err !== undefined && err === ac.signal.reason && ac.signal.aborted) result.kind = 'cancelled'
        else if (err instanceof bw.RetryError) Object.assign(result, { kind: 'retry_exhausted', reason: err.reason, attempts: err.attempts })
        else if (err instanceof bw.CircuitOpenError || err instanceof bw.RateLimitedError || err instanceof bw.BulkheadFullError) {
          Object.assign(result, { kind: 'rejected', code: err.code })
        } else if (err !== undefined && err === last) result.kind = 'user_error'
        else result.kind = `unexpected (${err})`
        // A policy with a degradation manager sends every error verdict to its fallback step.
        result.fallback = result.kind !== 'value' && result.kind !== 'cancelled'
        if (expect.result) run.subset('result', result, expect.result, (x) => x)
        if ('info' in expect) {
          const info = outcome.info !== undefined && (fromFallback || result.kind === 'value') ? outcome.info : undefined
          const got = info === undefined ? undefined : { ...info, from_fallback: info.fromFallback }
          if (expect.info === null) {
            if (got !== undefined && fromFallback) run.fail(`info ${JSON.stringify(got)}, expected null`)
          } else if (got === undefined) run.fail(`info null, expected ${JSON.stringify(expect.info)}`)
          else run.subset('info', got, expect.info, (x) => (x === 'from_fallback' ? x : x))
        }
        break
      }
      default:
        run.fail(`unknown op ${step.op}`)
    }
    if (expect.events !== undefined) checkEvents(run, expect.events, events)
    if ('level' in expect) run.value(expect, 'level', manager.level(target))
    run.value(expect, 'overall_level', manager.overallLevel)
    if (expect.active !== undefined) {
      const all = manager.activeAll()
      const names = all.map((a) => a.component)
      const wanted = Object.keys(expect.active).sort()
      if (JSON.stringify(names) !== JSON.stringify(wanted)) run.fail(`active ${JSON.stringify(names)}, expected ${JSON.stringify(wanted)}`)
      for (const a of all) {
        const w = expect.active[a.component]
        if (w) run.subset(`active.${a.component}`, { ...a, sinceMs: a.since }, w, (k) => (k === 'since_ms' ? 'sinceMs' : camel(k)))
      }
    }
    if (expect.history !== undefined) {
      const h = manager.history()
      if (h.length !== expect.history.length) run.fail(`history has ${h.length} entries, expected ${expect.history.length}`)
      else h.forEach((e, i) => run.subset(`history[${i}]`, { ...e, sinceMs: e.since, durationMs: e.duration }, expect.history[i], (k) => (k === 'since_ms' ? 'sinceMs' : k === 'duration_ms' ? 'durationMs' : camel(k))))
    }
    if (expect.statistics !== undefined) {
      const s = manager.statistics()
      run.subset('statistics', { ...s, meanDurationMs: s.meanDuration, maxDurationMs: s.maxDuration }, expect.statistics)
    }
  })
}

function statusLevel(status) {
  return { healthy: 'none', degraded: 'partial', unhealthy: 'significant', critical: 'severe' }[status]
}

// ---- health ------------------------------------------------------------------------------------

async function runHealth(run) {
  const doc = run.doc
  const clock = new bw.ManualClock()
  let health
  try {
    health = new bw.HealthRegistry({ ...(doc.config ?? {}), clock })
  } catch (e) {
    if (!doc.config_error) return run.fail(`config rejected: ${e.message}`)
    return run.configError(e, doc.config_error)
  }
  if (doc.config_error) return run.fail(`config accepted, expected ${JSON.stringify(doc.config_error)}`)
  health.stop() // the scenario reports by hand
  const events = []
  health.on('healthChanged', (e) => events.push(e))
  const breakers = new Map()
  await run.steps(clock, async (step, expect) => {
    events.length = 0
    switch (step.op) {
      case 'register': {
        let err
        try {
          health.register(step.check, undefined, step.config)
        } catch (e) {
          err = e
        }
        if (err && !expect.error) run.fail(`register rejected: ${err.message}`)
        if (!err && expect.error) run.fail('register accepted, expected an error')
        if (err && expect.error) run.configError(err, expect.error)
        break
      }
      case 'unregister':
        health.unregister(step.check)
        break
      case 'dependency': {
        let cb
        if (step.breaker !== undefined) {
          cb = new bw.CircuitBreaker(step.check, { ...translate(step.breaker, BREAKER_KEYS), clock })
          breakers.set(step.check, cb)
        }
        health.addDependency(step.check, { critical: step.critical ?? true, breaker: cb })
        break
      }
      case 'breaker': {
        const cb = breakers.get(step.check)
        if (cb === undefined) return run.fail(`no breaker for ${step.check}`)
        if (step.action !== undefined) {
          if (step.action === 'force_open') cb.forceOpen()
          else if (step.action === 'force_close') cb.forceClose()
          else if (step.action === 'reset') cb.reset()
          else if (step.action === 'acquire') {
            try {
              cb.tryAcquire()
            } catch {
              // rejected: skipped
            }
          } else run.fail(`unknown action ${step.action}`)
        } else {
          for (let i = 0; i < (step.repeat ?? 1); i++) {
            await cb
              .execute(() => {
                if (step.outcome === 'failure') throw errorFor(step.category ?? 'server')
                return 'ok'
              })
              .catch(() => {})
          }
        }
        break
      }
      case 'degrade':
        health.setDegraded(step.check, step.degraded === true)
        break
      case 'report': {
        let err
        for (let i = 0; i < (step.repeat ?? 1) && err === undefined; i++) {
          try {
            health.report(step.check, step.status, { message: step.message, latency: step.latency_ms ?? 0 })
          } catch (e) {
            err = e
          }
        }
        if (err && !expect.error) run.fail(`report rejected: ${err.message}`)
        if (!err && expect.error) run.fail('report accepted, expected an error')
        if (err && expect.error && expect.error.code !== undefined && err.code !== expect.error.code) run.fail(`code ${err.code} != ${expect.error.code}`)
        break
      }
      case 'advance':
        clock.advance(step.ms ?? 0)
        break
      case 'evaluate':
        health.evaluate()
        break
      case 'snapshot':
        break
      default:
        run.fail(`unknown op ${step.op}`)
    }
    const snap = health.snapshot()
    for (const k of ['status', 'liveness', 'readiness', 'startup', 'ready', 'live', 'started']) run.value(expect, k, snap[k])
    if (expect.checks !== undefined) {
      for (const [name, want] of Object.entries(expect.checks)) {
        const c = snap.checks.find((x) => x.name === name)
        if (want === null) {
          if (c !== undefined) run.fail(`check ${name} exists, expected none`)
        } else if (c === undefined) run.fail(`no check ${name}`)
        else run.subset(`checks.${name}`, c, want)
      }
    }
    if (expect.history !== undefined) {
      for (const [name, want] of Object.entries(expect.history)) {
        run.value({ [name]: want }, name, health.history(name, 1000).map((r) => r.status))
      }
    }
    if (expect.events !== undefined) checkEvents(run, expect.events, events)
  })
}

// ---- registry ----------------------------------------------------------------------------------

async function runRegistry(run) {
  const doc = run.doc
  const needsReadBack = (doc.steps ?? []).some((st) => st.expect && ('config' in st.expect || (st.kind !== undefined && st.kind !== 'breaker')))
  if (needsReadBack) return { skip: 'reads configs back (or non-breaker identities), which the JS API does not expose' }
  const clock = new bw.ManualClock()
  const bounds = doc.config?.bounds ?? {}
  let reg
  try {
    reg = bw.Registry.fromObject(doc.config?.document ?? {}, { clock, maxSize: bounds.max_size, idleTtl: bounds.idle_ttl_ms })
  } catch (e) {
    if (!doc.config_error) return run.fail(`config rejected: ${e.message}`)
    return run.configError(e, doc.config_error)
  }
  if (doc.config_error) return run.fail(`config accepted, expected ${JSON.stringify(doc.config_error)}`)
  const seen = new Map()
  await run.steps(clock, async (step, expect) => {
    const name = step.name
    switch (step.op) {
      case 'get': {
        const cb = reg.breaker(name)
        run.value(expect, 'created', seen.get(name) !== cb)
        seen.set(name, cb)
        run.value(expect, 'state', cb.state)
        break
      }
      case 'call': {
        const cb = reg.breaker(name)
        seen.set(name, cb)
        let rejected
        for (let i = 0; i < (step.repeat ?? 1); i++) {
          try {
            await cb.execute(() => {
              clock.advance(step.duration_ms ?? 0)
              if (step.outcome === 'failure') throw errorFor(step.category ?? 'server')
              return 'ok'
            })
            rejected = undefined
          } catch (e) {
            rejected = e instanceof bw.CircuitOpenError ? e : undefined
          }
        }
        run.value(expect, 'permitted', rejected === undefined)
        if (expect.rejected !== undefined) {
          if (rejected === undefined) run.fail('expected a rejection')
          else run.subset('rejected', { code: rejected.code, retry_after_ms: rejected.retryAfter }, expect.rejected, (k) => k)
        }
        run.value(expect, 'state', cb.state)
        break
      }
      case 'force_open':
      case 'force_close':
      case 'disable':
      case 'reset': {
        const cb = reg.breaker(name)
        seen.set(name, cb)
        cb[camel(step.op)]()
        run.value(expect, 'state', cb.state)
        break
      }
      case 'state': {
        const s = reg.getCircuitBreakerStatus(name)
        run.value(expect, 'state', s === undefined ? null : s.state)
        break
      }
      case 'names':
        run.value(expect, 'names', reg.breakerNames())
        break
      case 'reload': {
        let err
        try {
          reg.reload(step.document ?? {})
        } catch (e) {
          err = e
        }
        if (err && !expect.error) run.fail(`reload rejected: ${err.message}`)
        if (!err && expect.error) run.fail('reload accepted, expected an error')
        if (err && expect.error) run.configError(err, expect.error)
        break
      }
      case 'advance':
        clock.advance(step.ms ?? 0)
        break
      default:
        run.fail(`unknown op ${step.op}`)
    }
  })
}

const RUNNERS = { cache: runCache, degradation: runDegradation, health: runHealth, registry: runRegistry }
const counts = {}
for (const file of scenarioFiles(ROOT)) {
  const rel = path.relative(ROOT, file)
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
  const runner = RUNNERS[doc.component]
  if (runner === undefined) continue
  counts[doc.component] ??= { run: 0, skipped: 0 }
  test(rel, async (t) => {
    const run = new Run(doc)
    const r = await runner(run)
    if (r && r.skip) {
      counts[doc.component].skipped++
      return t.skip(r.skip)
    }
    counts[doc.component].run++
    assert.deepEqual(run.failures, [], `${doc.name}\n  ${run.failures.join('\n  ')}`)
  })
}

test('conformance summary (cache, degradation, health, registry)', () => {
  const lines = Object.entries(counts).map(([c, n]) => `${c}: ${n.run} run, ${n.skipped} skipped`)
  console.log(`# ${lines.join('; ')}`)
})
