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
