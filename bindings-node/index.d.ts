// Types of the `breakwater` package (hand-written; the native layer's generated types are in
// native.d.ts and are not part of the API). Names, units and codes: the contract
// (camelCase options, durations in milliseconds, snake_case string values).

// ---- values shared by every component ---------------------------------------------------------

/** Breaker states. */
export type State = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled' | 'metrics_only'

/** Failure categories. */
export type Category =
  | 'network'
  | 'timeout'
  | 'rate_limited'
  | 'server'
  | 'database'
  | 'external_api'
  | 'auth'
  | 'client'
  | 'cancelled'
  | 'unknown'

/** Why a breaker changed state (`reason` of a `state_change` event). */
export type TransitionReason =
  | 'consecutive_failures'
  | 'failure_rate'
  | 'slow_call_rate'
  | 'recovery_timeout'
  | 'probes_succeeded'
  | 'probe_failed'
  | 'half_open_timeout'
  | 'manual'

/** Error codes, the same string in every language. */
export type ErrorCode =
  | 'CIRCUIT_OPEN'
  | 'RATE_LIMITED'
  | 'BULKHEAD_FULL'
  | 'TIMEOUT'
  | 'RETRY_EXHAUSTED'
  | 'CONFIG_INVALID'
  | 'INVALID_ARGUMENT'
  | 'PANIC'

/** Why retrying stopped. */
export type GiveUpReason =
  | 'max_attempts'
  | 'not_retryable'
  | 'circuit_open'
  | 'rate_limited'
  | 'bulkhead_full'
  | 'max_elapsed'
  | 'retry_after_exceeds_max'
  | 'budget_exhausted'
  | 'cancelled'

export declare const ErrorCodes: { readonly [K in ErrorCode]: K }
/** Every category, in the core's order. */
export declare const CATEGORIES: readonly Category[]
/** Every breaker state, in the core's order. */
export declare const STATES: readonly State[]

// ---- errors -------------------------------------------------------------------------------------

/** The base of every error breakwater raises. `name` is the class name. */
export declare class BreakwaterError extends Error {
  constructor(message: string, code?: ErrorCode, options?: { cause?: unknown })
  readonly code: ErrorCode
}

/** A breaker rejected the call (open, half-open with every probe slot taken, or forced open). */
export declare class CircuitOpenError extends BreakwaterError {
  constructor(fields?: { component?: string; state?: 'open' | 'half_open' | 'forced_open'; retryAfter?: number; cause?: unknown })
  readonly code: 'CIRCUIT_OPEN'
  /** The breaker's name. */
  readonly component: string
  readonly state: 'open' | 'half_open' | 'forced_open'
  /** Ms until the open period ends; 0 when half-open is full; undefined when forced open. */
  readonly retryAfter: number | undefined
  /** The last error of the user's function, when the rejection came mid-retry. */
  readonly cause?: unknown
}

/** A rate limiter rejected the call. */
export declare class RateLimitedError extends BreakwaterError {
  constructor(fields?: { component?: string; retryAfter?: number; cause?: unknown })
  readonly code: 'RATE_LIMITED'
  readonly component: string
  /** Ms until a permit is available, when known. */
  readonly retryAfter: number | undefined
}

/** A bulkhead had no free slot (and no queue space). */
export declare class BulkheadFullError extends BreakwaterError {
  constructor(fields?: { component?: string; cause?: unknown })
  readonly code: 'BULKHEAD_FULL'
  readonly component: string
}

/** An attempt exceeded its timeout. */
export declare class TimeoutError extends BreakwaterError {
  constructor(fields?: { component?: string; timeout?: number; cause?: unknown })
  readonly code: 'TIMEOUT'
  readonly component: string
  /** The timeout in ms. */
  readonly timeout: number | undefined
}

/** Retries ran out; `cause` is the last error. */
export declare class RetryError extends BreakwaterError {
  constructor(fields?: { attempts?: number; reason?: GiveUpReason; component?: string; cause?: unknown })
  readonly code: 'RETRY_EXHAUSTED'
  readonly attempts: number
  readonly reason: GiveUpReason
  readonly component: string
  readonly cause?: unknown
}

/** One invalid option. */
export interface ConfigProblem {
  /** The option as the caller wrote it (`failureThreshold`, `window.size`). */
  readonly key: string
  /** The value as the caller wrote it (JS units: ms). */
  readonly value: unknown
  /** What would have been accepted. */
  readonly allowed: string
}

/** Invalid options; `key`/`value`/`allowed` describe the first problem, `errors` all of them. */
export declare class ConfigError extends BreakwaterError implements ConfigProblem {
  constructor(fields?: { key?: string; value?: unknown; allowed?: string; errors?: ConfigProblem[]; cause?: unknown })
  readonly code: 'CONFIG_INVALID'
  readonly key: string
  readonly value: unknown
  readonly allowed: string
  readonly errors: readonly ConfigProblem[]
}

// ---- time ---------------------------------------------------------------------------------------

/** A clock that moves only when told to; share it between components and advance it in tests. */
export declare class ManualClock {
  /** `epoch`: wall time at monotonic 0 (ms since the Unix epoch, or a Date); default 2026-01-01T00:00:00Z. */
  constructor(options?: { epoch?: number | Date } | number | Date)
  /** Moves time forward by `ms`. */
  advance(ms: number): void
  /** Sets monotonic time to `ms`; returns false (and changes nothing) if that would go backwards. */
  set(ms: number): boolean
  /** Monotonic ms since the clock's origin. */
  now(): number
  /** Wall time, ms since the Unix epoch: the epoch plus `now()`. */
  wallMs(): number
  /** Advances the clock by `ms` and resolves at once. */
  sleep(ms: number): Promise<void>
}

// ---- classification -----------------------------------------------------------------------------

/** The default category of an error (or a failed result): status, `code`, `name`, abort reason. */
export declare function classifyError(error: unknown): Category

/** The second argument of a guarded function. */
export interface CallInfo {
  /** Aborts when the caller's signal aborts (or the attempt times out, in a Policy). */
  readonly signal: AbortSignal
  /** 1 for the first attempt, 2 for the first retry... */
  readonly attempt: number
}

export interface ExecuteOptions {
  /** Cancels the call: it rejects with `signal.reason`, the permit is released and nothing is counted. */
  signal?: AbortSignal
}

// ---- circuit breaker ----------------------------------------------------------------------------

export type WindowOptions =
  | { type: 'count'; size: number }
  | { type: 'time'; /** ms, a multiple of `buckets` */ duration: number; buckets?: number }

export interface CircuitBreakerOptions<T = unknown> {
  /** Consecutive failures that open the circuit (0 turns this trigger off). Default 5. */
  failureThreshold?: number
  /** Open when the window's failure rate is >= this, in (0, 1]. Default 0.5. */
  failureRateThreshold?: number
  /** Calls in the window before the rate triggers apply. Default 10. */
  minimumCalls?: number
  /** The sliding window. Default `{ type: 'time', duration: 60000, buckets: 10 }`. */
  window?: WindowOptions
  /** Ms: a call lasting at least this is slow. Default: slow detection off. */
  slowCallDuration?: number | null
  /** Open when the slow-call rate is >= this, in (0, 1]. Default 1. */
  slowCallRateThreshold?: number
  /** Ms the circuit stays open before a probe. Default 60000. */
  recoveryTimeout?: number
  /** Longer open periods while probes keep failing: recoveryTimeout x multiplier^(opens in a row - 1), capped at max (ms). */
  recoveryBackoff?: { multiplier: number; max: number } | null
  /** Probes in flight at once while half-open. Default 3. */
  halfOpenMaxCalls?: number
  /** Consecutive probe successes that close the circuit. Default 2. */
  successThreshold?: number
  /** Ms: a half-open state that has not closed within this reopens. Default: none. */
  maxHalfOpen?: number | null
  /** Seed alias of `minimumCalls`. */
  volumeThreshold?: number
  /** Seed alias of `failureRateThreshold`, in percent. */
  errorThresholdPercentage?: number
  /** Seed alias of the time window's duration (ms). */
  monitoringPeriod?: number
  /** Seed alias of the time window's duration (ms). */
  monitoringWindowMs?: number
  /** Seed alias of `recoveryTimeout` (ms). */
  recoveryTimeoutMs?: number
  /** Not a breaker option (a ConfigError pointing to `recoveryTimeout`). */
  timeout?: never
  /** The clock (default: the system clock). */
  clock?: ManualClock
  /** Your category for an error (or a result `isFailure` flagged); undefined falls back to the default. */
  classify?: (errorOrResult: unknown) => Category | undefined | null
  /** Marks a returned value as a failure (classified like an error). Default: fetch-style responses with status >= 500, 408 or 429. */
  isFailure?: (result: T) => boolean
}

/** A consistent view of a breaker; durations in ms. */
export interface BreakerSnapshot {
  readonly state: State
  /** Ms in the current state. */
  readonly stateSince: number
  /** Recorded successes and failures in the window. */
  readonly calls: number
  readonly failures: number
  readonly slowCalls: number
  readonly failureRate: number
  readonly slowCallRate: number
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  readonly callsTotal: number
  readonly successesTotal: number
  readonly failuresTotal: number
  readonly ignoredTotal: number
  readonly rejectedTotal: number
  readonly timesOpened: number
  readonly lastFailureCategory: Category | undefined
  /** Ms until the open period ends (open only). */
  readonly retryAfter: number | undefined
}

interface EventBase {
  /** The component's name. */
  readonly component: string
  /** The clock's wall time, ms since the Unix epoch. */
  readonly at: number
}
export interface StateChangeEvent extends EventBase {
  readonly kind: 'state_change'
  readonly from: State
  readonly to: State
  readonly reason: TransitionReason
}
export interface CallRejectedEvent extends EventBase {
  readonly kind: 'call_rejected'
}
export interface SuccessEvent extends EventBase {
  readonly kind: 'success'
  /** Ms, on the breaker's clock. */
  readonly duration: number
}
export interface FailureEvent extends EventBase {
  readonly kind: 'failure'
  readonly category: Category
  readonly duration: number
}
export interface IgnoredEvent extends EventBase {
  readonly kind: 'ignored'
  readonly category: Category
  readonly duration: number
}
export interface SlowCallEvent extends EventBase {
  readonly kind: 'slow_call'
  readonly duration: number
}

/** The events a breaker emits, by the name `on()` takes. */
export interface BreakerEvents {
  stateChange: StateChangeEvent
  callRejected: CallRejectedEvent
  success: SuccessEvent
  failure: FailureEvent
  ignored: IgnoredEvent
  slowCall: SlowCallEvent
}
export type BreakerEvent = BreakerEvents[keyof BreakerEvents]

/** Permission to make one call (low-level API): hand it back once with `record` or `release`. */
export declare class Permit {
  private constructor()
  readonly breaker: CircuitBreaker
  /** Whether it was already handed back. */
  readonly settled: boolean
}

export declare class CircuitBreaker {
  /** `name` is the component name in events, errors and metrics. */
  constructor(name: string, options?: CircuitBreakerOptions)
  readonly name: string
  /** The clock given in the options (undefined: the system clock). */
  readonly clock: ManualClock | undefined
  /** The current state. Pure: it reports 'half_open' once the open period has passed. */
  readonly state: State
  /**
   * Runs `fn(context, { signal, attempt })` through the breaker and resolves with its value.
   * Rejects with fn's own error (the same object), a CircuitOpenError when the breaker
   * rejects, or `signal.reason` when `options.signal` aborts (nothing counted).
   */
  execute<R>(fn: (context: undefined, info: CallInfo) => R): Promise<Awaited<R>>
  execute<C, R>(fn: (context: C, info: CallInfo) => R, context: C, options?: ExecuteOptions): Promise<Awaited<R>>
  /** `fn` guarded by this breaker: same parameters (and `this`), and a Promise of its result. */
  wrap<A extends unknown[], R, This = unknown>(fn: (this: This, ...args: A) => R): (this: This, ...args: A) => Promise<Awaited<R>>
  /** A consistent view (durations in ms). Pure. */
  snapshot(): BreakerSnapshot
  /** Rejects every call until another manual state is chosen; returns whether the state changed. */
  forceOpen(): boolean
  /** Normal operation from a clean window. */
  forceClose(): boolean
  /** Admits every call and records nothing. */
  disable(): boolean
  /** Admits and records every call but never trips. */
  metricsOnly(): boolean
  /** A brand-new closed breaker (window, counters, backoff and lifetime totals cleared). */
  reset(): boolean
  /** Changes options of the live breaker (the others keep their values); throws ConfigError and changes nothing when invalid. */
  configure(options: Omit<CircuitBreakerOptions, 'clock'>): void
  /** Calls `listener` synchronously for each event of that kind; returns a function that stops listening. A listener that throws is isolated. */
  on<K extends keyof BreakerEvents>(event: K, listener: (event: BreakerEvents[K]) => void): () => void
  /** Low level: asks for a permit; throws CircuitOpenError when rejected. */
  tryAcquire(): Permit
  /** Low level: hands the permit back with the outcome (`category` defaults: failure 'unknown', ignored 'client'). */
  record(permit: Permit, outcome: 'success'): void
  record(permit: Permit, outcome: 'failure' | 'ignored', category?: Category): void
  /** Low level: hands the permit back without an outcome (counts nothing). */
  release(permit: Permit): void
}

// ---- retry --------------------------------------------------------------------------------------

export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated' | 'proportional'

export interface RetryBudgetOptions {
  /** Retry tokens each first attempt deposits. Default 0.2. */
  ratio?: number
  /** Retries per second always allowed. Default 10. */
  minPerSecond?: number
  /** Ms a deposit (and a withdrawal) counts. Default 10000. */
  ttl?: number
}

/** Caps retries at `ratio` of first attempts plus `minPerSecond`, over `ttl`; share it between Retry objects. */
export declare class RetryBudget {
  constructor(options?: RetryBudgetOptions)
}

export interface RetryOptions<T = unknown> {
  /** Total attempts, the first included (1..=100). Default 3. */
  maxAttempts?: number
  /** Ms before the first retry. Default 200. */
  baseDelay?: number
  /** Ms cap of the computed backoff. Default 8000. */
  maxDelay?: number
  /** Default 2. */
  multiplier?: number
  /** Default 'full'. */
  jitter?: Jitter
  /** Used by 'proportional', in [0, 1]. Default 0.15. */
  jitterFactor?: number
  /** Ms since the first attempt after which no retry starts. */
  maxElapsed?: number | null
  /** Categories retried. Default network, timeout, rate_limited, server, database, external_api. */
  retryOn?: readonly Category[]
  /** Ms: a Retry-After above this gives up (retry_after_exceeds_max). Default 60000. */
  maxRetryAfter?: number
  /** false: retry only failures whose request was never sent. Default true. */
  idempotent?: boolean
  /** Seed of the jitter's random stream (default: drawn from the OS). */
  seed?: number | bigint
  /** A shared RetryBudget, or the options of one of its own. */
  budget?: RetryBudget | RetryBudgetOptions
  /** The clock (default: the system clock); a ManualClock makes sleeps advance it. */
  clock?: ManualClock
  classify?: (errorOrResult: unknown) => Category | undefined | null
  isFailure?: (result: T) => boolean
}

export type RetryDecision =
  | { readonly decision: 'retry'; /** ms */ readonly delay: number; readonly attempt: number }
  | { readonly decision: 'give_up'; readonly reason: GiveUpReason }

/** One call's retry state (low-level API, for your own loop). */
export declare class RetryCall {
  private constructor()
  /** Attempts made so far, the current one included. */
  readonly attempts: number
  /** What follows the latest failed attempt, which failed with `error` (or a failed result). */
  decide(error: unknown): RetryDecision
}

export interface RetryEvent extends EventBase {
  readonly kind: 'retry'
  /** The number of the attempt about to be made. */
  readonly attempt: number
  /** Ms the call sleeps first. */
  readonly delay: number
  readonly category: Category
}
export interface GiveUpEvent extends EventBase {
  readonly kind: 'give_up'
  readonly reason: GiveUpReason
  /** Attempts made. */
  readonly attempt: number
  readonly category?: Category
}
export interface PolicyEvents {
  retry: RetryEvent
  giveUp: GiveUpEvent
}

/** What `executeWithInfo` resolves with. */
export interface ExecutionInfo<R> {
  readonly value: R
  /** Whether the fallback produced the value. */
  readonly fromFallback: boolean
  /** The fallback's name, when it served. */
  readonly strategy: string | undefined
  /** Why the fallback served (a give-up reason, 'circuit_open'..., or 'error'). */
  readonly reason: string | undefined
  readonly stale: boolean
  /** Attempts made. */
  readonly attempts: number
}

export declare class Retry {
  constructor(options?: RetryOptions)
  readonly clock: ManualClock | undefined
  readonly budget: RetryBudget | undefined
  /** Runs `fn(context, { signal, attempt })`, retrying its failures as configured. */
  execute<R>(fn: (context: undefined, info: CallInfo) => R): Promise<Awaited<R>>
  execute<C, R>(fn: (context: C, info: CallInfo) => R, context: C, options?: ExecuteOptions): Promise<Awaited<R>>
  executeWithInfo<R>(fn: (context: undefined, info: CallInfo) => R): Promise<ExecutionInfo<Awaited<R>>>
  executeWithInfo<C, R>(fn: (context: C, info: CallInfo) => R, context: C, options?: ExecuteOptions): Promise<ExecutionInfo<Awaited<R>>>
  wrap<A extends unknown[], R, This = unknown>(fn: (this: This, ...args: A) => R): (this: This, ...args: A) => Promise<Awaited<R>>
  on<K extends keyof PolicyEvents>(event: K, listener: (event: PolicyEvents[K]) => void): () => void
  /** Low level: starts a call now, for your own loop. */
  begin(): RetryCall
}

// ---- policy -------------------------------------------------------------------------------------

export interface FallbackInfo {
  readonly attempts: number
  /** Why the pipeline failed: a give-up reason, 'circuit_open'..., or 'error'. */
  readonly reason: string
  readonly component: string
}

export interface PolicyOptions<R = unknown> {
  breaker?: CircuitBreaker
  retry?: Retry
  /** Ms per attempt: the attempt's signal aborts and it counts as a `timeout` failure. */
  timeout?: number
  /** Serves a value instead of any error (cancellation excepted). */
  fallback?: (error: unknown, context: any, info: FallbackInfo) => R | PromiseLike<R>
  /** The parts' clock (they must share one). */
  clock?: ManualClock
  /** The component name of its events (default: the breaker's name, else 'policy'). */
  name?: string
  classify?: (errorOrResult: unknown) => Category | undefined | null
  isFailure?: (result: any) => boolean
}

/** Fallback, retry, circuit breaker, timeout, the call: outermost first. Every part optional. */
export declare class Policy<FB = never> {
  constructor(options?: PolicyOptions<FB>)
  readonly name: string
  readonly breaker: CircuitBreaker | undefined
  readonly retry: Retry | undefined
  readonly clock: ManualClock | undefined
  readonly timeout: number | undefined
  execute<R>(fn: (context: undefined, info: CallInfo) => R): Promise<Awaited<R> | FB>
  execute<C, R>(fn: (context: C, info: CallInfo) => R, context: C, options?: ExecuteOptions): Promise<Awaited<R> | FB>
  executeWithInfo<R>(fn: (context: undefined, info: CallInfo) => R): Promise<ExecutionInfo<Awaited<R> | FB>>
  executeWithInfo<C, R>(fn: (context: C, info: CallInfo) => R, context: C, options?: ExecuteOptions): Promise<ExecutionInfo<Awaited<R> | FB>>
  wrap<A extends unknown[], R, This = unknown>(fn: (this: This, ...args: A) => R): (this: This, ...args: A) => Promise<Awaited<R> | FB>
  on<K extends keyof PolicyEvents>(event: K, listener: (event: PolicyEvents[K]) => void): () => void
}

/** How the core reads a failure; `retryAfter` (ms) from Retry-After / retry-after-ms headers, against `clock`'s wall time. */
export declare function classifyFailure(
  error: unknown,
  options?: { clock?: ManualClock },
): { category: Category; notSent: boolean; retryAfter: number | undefined }
