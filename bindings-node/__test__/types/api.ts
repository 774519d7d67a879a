// Type-level tests of index.d.ts, checked by `tsc --noEmit --strict` (test.sh). A line after an
// expect-error directive must fail to compile; everything else must compile.

import {
  CircuitBreaker,
  CircuitOpenError,
  ConfigError,
  ManualClock,
  type BreakerSnapshot,
  type Category,
  type State,
  type StateChangeEvent,
} from 'breakwater'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertType<T extends true>(): void {}

const clock = new ManualClock()
const cb = new CircuitBreaker('architect', { failureThreshold: 3, recoveryTimeout: 60000, clock })
// @ts-expect-error `timeout` is not a breaker option (recoveryTimeout is)
new CircuitBreaker('x', { timeout: 1000 })
// @ts-expect-error unknown option
new CircuitBreaker('x', { failureTreshold: 1 })
// @ts-expect-error window needs a type
new CircuitBreaker('x', { window: { size: 10 } })
new CircuitBreaker('x', { window: { type: 'time', duration: 10000, buckets: 10 }, recoveryBackoff: { multiplier: 2, max: 600000 } })

async function main(): Promise<void> {
  const ctx = { agentName: 'architect', task: 'Design' }
  const out = await cb.execute(async (c, info) => {
    assertType<Equal<typeof c, { agentName: string; task: string }>>()
    assertType<Equal<typeof info.signal, AbortSignal>>()
    assertType<Equal<typeof info.attempt, number>>()
    return c.task.length
  }, ctx)
  assertType<Equal<typeof out, number>>()
  const sync = await cb.execute(() => 'x')
  assertType<Equal<typeof sync, string>>()
  // @ts-expect-error a function that needs a context gets one
  await cb.execute((c: { id: number }) => c.id)
  await cb.execute((c: { id: number }) => c.id, { id: 1 }, { signal: AbortSignal.timeout(1000) })

  async function fetchCompletion(prompt: string, maxTokens?: number): Promise<{ text: string }> {
    return { text: prompt.slice(0, maxTokens) }
  }
  const guarded = cb.wrap(fetchCompletion)
  assertType<Equal<Parameters<typeof guarded>, [prompt: string, maxTokens?: number]>>()
  assertType<Equal<ReturnType<typeof guarded>, Promise<{ text: string }>>>()
  // @ts-expect-error wrong argument type
  await guarded(42)
  const syncWrapped = cb.wrap((a: number, b: number) => a + b)
  assertType<Equal<ReturnType<typeof syncWrapped>, Promise<number>>>()

  const state: State = cb.state
  const snap: BreakerSnapshot = cb.snapshot()
  assertType<Equal<typeof snap.retryAfter, number | undefined>>()
  assertType<Equal<typeof snap.lastFailureCategory, Category | undefined>>()
  void state

  const off = cb.on('stateChange', (e) => {
    assertType<Equal<typeof e, StateChangeEvent>>()
    assertType<Equal<typeof e.kind, 'state_change'>>()
  })
  off()
  cb.on('failure', (e) => {
    const c: Category = e.category
    const d: number = e.duration
    void c, d
  })
  // @ts-expect-error event names are camelCase
  cb.on('state_change', () => {})

  try {
    await cb.execute(() => 1)
  } catch (err) {
    if (err instanceof CircuitOpenError) {
      const ra: number | undefined = err.retryAfter
      const code: 'CIRCUIT_OPEN' = err.code
      const st: 'open' | 'half_open' | 'forced_open' = err.state
      void ra, code, st
    }
    if (err instanceof ConfigError) {
      const k: string = err.key
      void k
    }
  }

  const permit = cb.tryAcquire()
  cb.record(permit, 'failure', 'server')
  // @ts-expect-error not a category
  cb.record(cb.tryAcquire(), 'failure', 'oops')
  cb.release(cb.tryAcquire())
  clock.advance(1000)
}
void main

import { Policy, Retry, RetryBudget, type ExecutionInfo, type RetryDecision } from 'breakwater'

async function policies(): Promise<void> {
  const retry = new Retry({ maxAttempts: 3, baseDelay: 100, jitter: 'none', budget: new RetryBudget({ ratio: 0.1 }), clock })
  // @ts-expect-error jitter values are a closed set
  new Retry({ jitter: 'random' })
  const policy = new Policy({ breaker: cb, retry, timeout: 30000 })
  const v = await policy.execute(async (c: { q: string }, { signal }) => (signal.aborted ? 0 : c.q.length), { q: 'x' })
  assertType<Equal<typeof v, number>>()
  const withFallback = new Policy({ retry, fallback: () => 'cached' as const })
  const w = await withFallback.execute(async () => 42)
  assertType<Equal<typeof w, 42 | 'cached' | number>>()
  const infoResult: ExecutionInfo<number> = await policy.executeWithInfo(async () => 1)
  void infoResult.fromFallback
  policy.on('retry', (e) => {
    const d: number = e.delay
    void d
  })
  const d: RetryDecision = retry.begin().decide(new Error('x'))
  if (d.decision === 'retry') void d.delay
  else void d.reason
}
void policies

import {
  Bulkhead,
  RateLimiter,
  Registry,
  registry,
  wrapAgentManager,
  type AgentCallInfo,
  type BreakerSnapshot as Snap,
  type GuardedAgentManager,
} from 'breakwater'

async function registries(): Promise<void> {
  const reg = Registry.fromObject(
    {
      circuitBreakers: { defaults: { failureThreshold: 5, timeout: 60000 }, agentSpecific: { architect: { failureThreshold: 3 } } },
      retry: { defaults: { max_attempts: 3 } },
      healthChecks: { enabled: true, interval: 30000 },
    },
    { clock, env: true },
  )
  const sec: CircuitBreaker = registry.getAgentCircuitBreaker('security', { failureThreshold: 2, timeout: 120000 })
  // @ts-expect-error `timeout` is the seed API's; `breaker()` takes recoveryTimeout
  reg.breaker('x', { timeout: 5 })
  // @ts-expect-error the registry's clock is fixed
  reg.breaker('x', { clock })
  const status: Snap | undefined = registry.getCircuitBreakerStatus('security')
  const closed: boolean = registry.forceCloseCircuitBreaker('security')
  const p = reg.policy('architect', { timeout: 1000, fallback: () => null })
  const r = await p.execute(async () => 'x')
  assertType<Equal<typeof r, string | null>>()
  reg.reload({ circuit_breakers: { enabled: false } })
  const fromFile: Registry = Registry.fromFile('breakwater.toml', { maxSize: 100, idleTtl: 60000 })
  // @ts-expect-error unknown section spelling is not a ConfigDocument key
  Registry.fromObject({ circuitBreaker: {} })
  void sec, status, closed, fromFile

  const limiter = new RateLimiter({ maxRequests: 10, timeWindow: 1000, clock })
  const ok: boolean = limiter.tryAcquire()
  const wait: number = limiter.reserve()
  const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 10, maxWait: 1000, clock })
  const n = await bulkhead.execute(async (ctx: { id: number }) => ctx.id, { id: 1 })
  assertType<Equal<typeof n, number>>()
  new Policy({ rateLimiter: limiter, bulkhead, clock })
  // @ts-expect-error a bulkhead option is not a limiter option
  new RateLimiter({ maxConcurrent: 1 })
  void ok, wait
}
void registries

interface Task {
  id: number
}
interface Out {
  output: string
}
class AgentManager {
  version = '1'
  async executeAgent(agentName: string, task: Task): Promise<Out> {
    return { output: `${agentName}:${task.id}` }
  }
  listAgents(): string[] {
    return []
  }
}

async function agentManagers(): Promise<void> {
  const guarded = wrapAgentManager(new AgentManager(), {
    circuitBreakers: { defaults: { failureThreshold: 3 }, agentSpecific: { security: { failureThreshold: 2, timeout: 120000 } } },
    retry: { defaults: { maxAttempts: 2 } },
    agentSpecific: { security: { fallback: (_err: unknown, info: AgentCallInfo): Out => ({ output: `queued ${info.method}` }) } },
  })
  const out = await guarded.executeAgent('architect', { id: 1 })
  assertType<Equal<typeof out, Out>>()
  assertType<Equal<Parameters<typeof guarded.executeAgent>, [agentName: string, task: Task]>>()
  // @ts-expect-error same parameters as the original
  await guarded.executeAgent('architect', 'not a task')
  assertType<Equal<typeof guarded.version, string>>()
  const plain = wrapAgentManager(new AgentManager())
  assertType<Equal<ReturnType<typeof plain.listAgents>, Promise<string[]>>>()
  assertType<Equal<ReturnType<typeof plain.executeAgent>, Promise<Out>>>()

  const only = wrapAgentManager(new AgentManager(), { methods: ['executeAgent'], fallback: () => 'fallback' as const })
  assertType<Equal<ReturnType<typeof only.listAgents>, string[]>>()
  const o = await only.executeAgent('a', { id: 1 })
  assertType<Equal<typeof o, Out | 'fallback'>>()
  // @ts-expect-error not a method
  wrapAgentManager(new AgentManager(), { methods: ['version'] })
  const g: GuardedAgentManager<AgentManager, 'executeAgent' | 'listAgents', Out> = guarded
  void g
}
void agentManagers

import {
  DegradationManager,
  Fallback,
  HealthRegistry,
  ResponseCache,
  prometheus,
  type ExecutionInfo as Info,
  type HealthReport,
  type Level,
  type Trigger,
} from 'breakwater'

async function degradation(): Promise<void> {
  const manager = new DegradationManager({
    rules: [{ name: 'r', conditions: { reasons: ['circuit_breaker_open'], component: 'llm' }, severityThreshold: 'partial', strategy: 'cache', priority: 1 }],
    clock,
  })
  // @ts-expect-error reasons are triggers
  new DegradationManager({ rules: [{ conditions: { reasons: ['oops'] }, strategy: 'x' }] })
  manager.register({ name: 'offline', kind: 'offline_response', value: { text: 'later' } })
  // @ts-expect-error not a kind
  manager.register({ name: 'x', kind: 'cached' })
  const lvl: Level = manager.level('llm')
  const t: Trigger | undefined = manager.statistics().mostFrequentReason
  manager.on('degradationRecovered', (e) => {
    const d: number = e.duration
    void d
  })
  const fallback = new Fallback<{ text: string }>({
    manager,
    cache: new ResponseCache({ ttl: 60000, clock }),
    strategies: [{ name: 'cache', kind: 'cached_response', priority: 0 }],
    fallback: () => ({ text: 'offline' }),
  })
  const policy = new Policy({ breaker: cb, fallback })
  const r = await policy.executeWithInfo(async () => ({ text: 'live' }))
  const i: Info<{ text: string }> = r
  const reason: Trigger | undefined = r.reason
  void lvl, t, i, reason

  const health = new HealthRegistry({ interval: 30000, timeout: 5000, agentSpecific: { db: { critical: false } } })
  health.register('db', async ({ signal }) => (signal.aborted ? 'unhealthy' : { status: 'healthy', message: 'ok' }), { kind: 'readiness' })
  // @ts-expect-error not a status
  health.register('x', async () => 'fine')
  const report: HealthReport = await health.runChecks()
  const ready: boolean = health.ready
  health.on('healthChanged', (e) => {
    const s: 'healthy' | 'degraded' | 'unhealthy' | 'critical' | 'unknown' = e.reason
    void s
  })
  const text: string = prometheus({ breakers: [cb], degradation: manager, health })
  const ct: string = prometheus.contentType
  void report, ready, text, ct
}
void degradation

// ---- SLOs, event log, alerts ----
import { Slo, EventLog, AlertManager, type SloStatus, type AlertEvent, type Alert } from 'breakwater'
{
  const slo = new Slo('api', { target: 0.99, window: 3600000, buckets: 60, clock })
  slo.record(true)
  const st: SloStatus = slo.status()
  assertType<Equal<typeof st.recommendation, 'healthy' | 'moderate' | 'critical' | 'exhausted'>>()
  // @ts-expect-error a record is good or bad
  slo.record('yes')
  const alerts = new AlertManager({ rules: [{ condition: 'breaker_opened', severity: 'critical' }], clock })
  // @ts-expect-error unknown condition
  new AlertManager({ rules: [{ condition: 'disk_full' }] })
  alerts.on('alert', (e: AlertEvent) => e.severity)
  const active: Alert[] = alerts.active()
  void active
  alerts.observeSlo(slo)
  const log = new EventLog({ capacity: 100 })
  log.attach(alerts)
  const entries = log.query({ component: 'db', kinds: ['state_change'], limit: 10 })
  const seq: number = entries[0].seq
  void seq
}

// ---- documents ----
import { Document, Registry as Reg2 } from 'breakwater'
{
  const d = Document.fromObject({ circuitBreakers: { defaults: { failureThreshold: 3 } } })
  const ft: unknown = d.breakerConfig('architect').failure_threshold
  void ft
  const on: boolean = d.enabled('circuit_breakers')
  void on
  // @ts-expect-error not a section with overrides
  d.enabled('monitoring')
  const doc = Reg2.fromObject({}).document
  if (doc !== undefined) doc.withEnv({ RETRY_MAX_ATTEMPTS: '5' }).retryConfig()
  // @ts-expect-error made by fromObject / fromFile
  new Document()
}
