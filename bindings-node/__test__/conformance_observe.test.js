'use strict'
// Runs the `slo` and `alerts` scenarios in conformance/scenarios/** through the public JS API
// (Slo, AlertManager, EventLog, HealthRegistry), on a ManualClock, as
// bindings-python/tests/scenario_health.py does. Format: conformance/README.md ("Health, SLOs
// and alerts"). Config keys are passed as the scenarios write them (the SLO takes both
// spellings). Anything the JS API cannot express is reported as skipped, with the reason.

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
  list(what, got, want, map = camel) {
    if (got.length !== want.length) return this.fail(`${what}: ${got.length} entries ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
    want.forEach((w, i) => this.subset(`${what}[${i}]`, got[i], w, map))
  }
  configError(e, want, translate = (k) => k) {
    if (!(e instanceof bw.ConfigError)) return this.fail(`expected a ConfigError, got ${e}`)
    if (want.code !== undefined && e.code !== want.code) this.fail(`code ${e.code} != ${want.code}`)
    if (want.key !== undefined && e.key !== translate(want.key)) this.fail(`error key ${e.key} != ${translate(want.key)} (${e.message})`)
  }
  /** Builds with `build`; the scenario's `config_error` says whether it must throw. false: stop. */
  built(build, translate) {
    try {
      build()
    } catch (e) {
      if (!this.doc.config_error) this.fail(`config rejected: ${e.message}`)
      else this.configError(e, this.doc.config_error, translate)
      return false
    }
    if (this.doc.config_error) {
      this.fail(`config accepted, expected ${JSON.stringify(this.doc.config_error)}`)
      return false
    }
    return true
  }
  steps(clock, each) {
    for (const [i, step] of (this.doc.steps ?? []).entries()) {
      this.step = i
      if (step.at !== undefined && !clock.set(step.at)) this.fail(`at ${step.at} moves the clock backwards`)
      if (step.op === 'advance') clock.advance(step.ms ?? 0)
      each(step, step.expect ?? {})
    }
  }
}

// ---- slo ---------------------------------------------------------------------------------------

function runSlo(run) {
  const clock = new bw.ManualClock()
  let slo
  if (!run.built(() => (slo = new bw.Slo('test', { ...(run.doc.config ?? {}), clock })))) return
  run.steps(clock, (step, expect) => {
    let counted
    if (step.op === 'record') slo.recordCounts(step.good ?? 0, step.bad ?? 0)
    else if (step.op === 'event') counted = slo.observe(step.kind)
    else if (step.op !== 'advance' && step.op !== 'status') run.fail(`unknown op ${step.op}`)
    if ('counted' in expect && counted !== expect.counted) run.fail(`counted = ${counted}, expected ${expect.counted}`)
    if (expect.status !== undefined) run.subset('status', slo.status(), expect.status)
  })
}

// ---- alerts ------------------------------------------------------------------------------------

function runAlerts(run) {
  const clock = new bw.ManualClock()
  const { log_capacity: logCapacity, health: healthCfg, slo: sloCfg = {}, ...cfg } = run.doc.config ?? {}
  let alerts, log, health
  const build = () => {
    alerts = new bw.AlertManager({ ...cfg, clock })
    log = new bw.EventLog({ capacity: logCapacity, clock })
    health = new bw.HealthRegistry({ ...(healthCfg ?? {}), clock })
    new bw.Slo('check', sloCfg) // eslint-disable-line no-new
  }
  if (!run.built(build, (k) => (k === 'log_capacity' ? 'capacity' : k))) return
  health.stop() // the scenario reports by hand
  alerts.watchHealth(health)
  // The components' events are logged, then seen by the manager; its alerts and the registry's
  // health changes are logged too.
  log.attach(alerts)
  log.attach(health)
  const raised = []
  alerts.on('alert', (e) => raised.push(e))
  const slos = new Map()
  run.steps(clock, (step, expect) => {
    let entries
    switch (step.op) {
      case 'event':
        for (let i = 0; i < (step.repeat ?? 1); i++) {
          const e = { ...step.event, at: clock.wallMs() }
          log.record(e)
          alerts.observe(e)
        }
        break
      case 'register':
        health.register(step.check, undefined, step.config)
        break
      case 'report':
        for (let i = 0; i < (step.repeat ?? 1); i++) health.report(step.check, step.status, { latency: step.latency_ms ?? 0 })
        break
      case 'slo': {
        let slo = slos.get(step.component)
        if (slo === undefined) slos.set(step.component, (slo = new bw.Slo(step.component, { ...sloCfg, clock })))
        slo.recordCounts(step.good ?? 0, step.bad ?? 0)
        alerts.observeSlo(slo)
        break
      }
      case 'log':
        entries = log.query({ component: step.component, kinds: step.kinds, limit: step.limit }).map((x) => ({ ...x.event, seq: x.seq }))
        break
      case 'advance':
        break
      default:
        run.fail(`unknown op ${step.op}`)
    }
    if (expect.events !== undefined) run.list('events', raised, expect.events)
    raised.length = 0
    if (expect.active !== undefined) run.list('active', alerts.active(), expect.active)
    if (expect.history !== undefined) run.list('history', alerts.history(), expect.history)
    if (expect.stats !== undefined) run.subset('stats', alerts.stats(), expect.stats)
    if (expect.entries !== undefined) {
      if (entries === undefined) run.fail('`entries` needs a `log` op')
      else run.list('entries', entries, expect.entries)
    }
  })
}

const RUNNERS = { slo: runSlo, alerts: runAlerts }
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

test('conformance summary (slo, alerts)', () => {
  const lines = Object.entries(counts).map(([c, n]) => `${c}: ${n.run} run, ${n.skipped} skipped`)
  console.log(`# ${lines.join('; ')}`)
  assert.ok((counts.slo?.run ?? 0) > 0 && (counts.alerts?.run ?? 0) > 0)
})
