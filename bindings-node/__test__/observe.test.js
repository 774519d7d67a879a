'use strict'
// Slo, EventLog and AlertManager through the JS API.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const bw = require('breakwater')
const { Slo, EventLog, AlertManager, HealthRegistry, ManualClock, ConfigError } = bw

test('Slo: record, status in camelCase, both key spellings, config errors', () => {
  const clock = new ManualClock()
  const slo = new Slo('api', { target: 0.9, window: 100000, buckets: 10, burnRateWindow: 10000, clock })
  assert.equal(slo.name, 'api')
  for (let i = 0; i < 9; i++) slo.record(true)
  slo.record(false)
  assert.deepEqual(slo.status(), {
    target: 0.9,
    window: 100000,
    total: 10,
    good: 9,
    bad: 1,
    availability: 0.9,
    allowedFailures: 1,
    errorBudgetConsumed: 1,
    errorBudgetRemaining: 0,
    burnRate: 1,
    recommendation: 'exhausted',
  })
  assert.equal(slo.observe('success'), true)
  assert.equal(slo.observe('callRejected'), true)
  assert.equal(slo.observe('slowCall'), false)
  assert.equal(slo.status().total, 12)
  assert.equal(new Slo('b', { window_ms: 60000, buckets: 60 }).status().window, 60000)
  assert.throws(() => new Slo('c', { target: 99.9 }), (e) => e instanceof ConfigError && e.key === 'target' && e.value === 99.9)
  assert.throws(() => new Slo('c', { targte: 0.9 }), (e) => e instanceof ConfigError && e.key === 'targte')
  assert.throws(() => new Slo('c', { clock: 'x' }), ConfigError)
})

test('AlertManager: default rules, observe, one alert per outage, active/history/stats, on(alert)', () => {
  const clock = new ManualClock()
  const alerts = new AlertManager({ clock })
  assert.ok(alerts.rules.includes('breaker_opened'))
  const seen = []
  const off = alerts.on('alert', (e) => seen.push(e))
  const open = { kind: 'state_change', component: 'db', from: 'closed', to: 'open', reason: 'failure_rate' }
  alerts.observe(open)
  alerts.observe({ kind: 'stateChange', component: 'db', from: 'half_open', to: 'open', reason: 'probe_failed' })
  assert.equal(seen.length, 1)
  assert.deepEqual(seen[0], { kind: 'alert', component: 'db', at: clock.wallMs(), reason: 'breaker_opened', severity: 'warning' })
  const [a] = alerts.active()
  assert.equal(a.rule, 'breaker_opened')
  assert.equal(a.active, true)
  assert.equal(a.suppressed, 1)
  alerts.observe({ kind: 'state_change', component: 'db', from: 'half_open', to: 'closed' })
  assert.deepEqual(alerts.active().filter((x) => x.rule === 'breaker_opened'), [])
  const h = alerts.history()
  assert.ok(h.some((x) => x.rule === 'breaker_opened' && x.active === false && typeof x.resolvedAt === 'number'))
  const s = alerts.stats()
  assert.equal(s.suppressedTotal, 1)
  assert.ok(s.raisedTotal >= 1)
  assert.equal(s.raisedBySeverity.warning >= 1, true)
  off()
  alerts.observe(open)
  assert.equal(seen.length, 1)
  assert.throws(() => alerts.on('alerts', () => {}), TypeError)
  assert.throws(() => new AlertManager({ rules: [{ condition: 'disk_full' }] }), (e) => e instanceof ConfigError && e.key === 'rules[0].condition')
  assert.deepEqual(new AlertManager({ rules: [] }).rules, [])
})

test('AlertManager: health checks and SLO budgets', () => {
  const clock = new ManualClock()
  const alerts = new AlertManager({ rules: [{ condition: 'health_check_failing', reports: 2, severity: 'critical' }, { condition: 'error_budget', threshold: 0.5 }], clock })
  const health = new HealthRegistry({ failureThreshold: 1, clock })
  health.stop()
  alerts.watchHealth(health)
  const seen = []
  alerts.on('alert', (e) => seen.push(e))
  health.register('db')
  health.report('db', 'unhealthy')
  assert.equal(seen.length, 0)
  health.report('db', 'unhealthy')
  assert.deepEqual(seen.map((e) => [e.component, e.reason, e.severity]), [['db', 'health_check_failing', 'critical']])
  const slo = new Slo('api', { target: 0.9, clock })
  slo.recordCounts(90, 10)
  alerts.observeSlo(slo)
  assert.equal(seen.at(-1).reason, 'error_budget')
  assert.equal(seen.at(-1).component, 'api')
})

test('EventLog: record, attach, query by component/kinds/limit, capacity', () => {
  const clock = new ManualClock()
  const log = new EventLog({ capacity: 3, clock })
  assert.equal(log.capacity, 3)
  const alerts = new AlertManager({ clock })
  log.attach(alerts)
  const open = { kind: 'state_change', component: 'db', from: 'closed', to: 'open', reason: 'failure_rate' }
  log.record(open)
  alerts.observe(open)
  log.record({ kind: 'failure', component: 'api' })
  assert.equal(log.size, 3)
  const all = log.query()
  assert.deepEqual(all.map((x) => x.seq), [3, 2, 1])
  assert.equal(all[1].event.kind, 'alert')
  assert.deepEqual(log.query({ component: 'db' }).map((x) => x.event.kind), ['alert', 'state_change'])
  assert.deepEqual(log.query({ kinds: ['stateChange'] }).map((x) => x.seq), [1])
  assert.deepEqual(log.query({ limit: 1 }).map((x) => x.seq), [3])
  log.record({ kind: 'success', component: 'api' })
  assert.deepEqual(log.query().map((x) => x.seq), [4, 3, 2])
  assert.throws(() => new EventLog({ capacity: 0 }), (e) => e instanceof ConfigError && e.key === 'capacity')
  assert.throws(() => log.attach({}), TypeError)
  assert.throws(() => log.record({ kind: 'nope', component: 'x' }))
  log.clear()
  assert.equal(log.size, 0)
})
