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
  /** The option as the caller wrote it, relative to its component's config (`failureThreshold`, `window.size`). */
  readonly key: string
  /**
   * Where the key is in a whole config document
   * (`circuitBreakers.agentSpecific.architect.failureThreshold`); equal to `key` outside one.
   */
  readonly path: string
  /** The value as the caller wrote it (JS units: ms). */
  readonly value: unknown
  /** What would have been accepted. */
  readonly allowed: string
}

/** Invalid options; `key`/`path`/`value`/`allowed` describe the first problem, `errors` all of them (in order). */
export declare class ConfigError extends BreakwaterError implements ConfigProblem {
  /** `path` (and each problem's) defaults to its `key`. */
  constructor(fields?: {
    key?: string
    path?: string
    value?: unknown
    allowed?: string
    errors?: Array<Omit<ConfigProblem, 'path'> & { readonly path?: string }>
    cause?: unknown
  })
  readonly code: 'CONFIG_INVALID'
  readonly key: string
  readonly path: string
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
  /**
   * Cancels the call: it rejects with `signal.reason`, the permit is released and nothing is
   * counted. An abort whose reason is a `TimeoutError` (`AbortSignal.timeout()`) is the caller's
   * deadline instead: the attempt in flight counts as a `timeout` failure, nothing is retried,
   * and the call rejects with a {@link TimeoutError} (code `TIMEOUT`) whose `cause` is the reason.
   */
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
   * rejects, or `signal.reason` when `options.signal` aborts (nothing counted; an
   * `AbortSignal.timeout()` deadline is a counted `timeout` failure, rejected as a TimeoutError).
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
/** A Retry's events. */
export interface RetryEvents {
  retry: RetryEvent
  giveUp: GiveUpEvent
}
/** A fallback served a call of the policy: a degradation strategy, or the plain fallback function. */
export interface PolicyFallbackEvent extends EventBase {
  readonly kind: 'fallback'
  /** The strategy that served; absent for the plain fallback function. */
  readonly strategy?: string
  /** Why the call fell back: the degradation trigger. */
  readonly reason: Trigger
  /** Attempts made. */
  readonly attempt: number
  /** The last failure's category (absent when no attempt failed, e.g. rejected up front). */
  readonly category?: Category
}
/** A Policy's events. */
export interface PolicyEvents extends RetryEvents {
  fallback: PolicyFallbackEvent
}

/** What `executeWithInfo` resolves with. */
export interface ExecutionInfo<R> {
  readonly value: R
  /** Whether the fallback produced the value. */
  readonly fromFallback: boolean
  /** The degradation strategy that served (undefined for a live value or a plain fallback function). */
  readonly strategy: string | undefined
  /** The serving strategy's kind. */
  readonly kind: StrategyKind | undefined
  /** Why the call fell back: the degradation trigger (undefined for a live value). */
  readonly reason: Trigger | undefined
  /** A cached response served after its TTL (stale-if-error). */
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
  on<K extends keyof RetryEvents>(event: K, listener: (event: RetryEvents[K]) => void): () => void
  /** Low level: starts a call now, for your own loop. */
  begin(): RetryCall
}

// ---- policy -------------------------------------------------------------------------------------

export interface FallbackInfo {
  readonly attempts: number
  /** Why the pipeline failed: a give-up reason, 'circuit_open'..., or 'error'. */
  readonly reason: string
  /** The degradation trigger behind the error. */
  readonly trigger: Trigger | undefined
  readonly component: string
}

export interface PolicyOptions<R = unknown> {
  breaker?: CircuitBreaker
  retry?: Retry
  /** Refuses attempts beyond its rate (RATE_LIMITED, final: never retried). */
  rateLimiter?: RateLimiter
  /** Limits attempts in flight; a queued attempt waits to be handed a slot (BULKHEAD_FULL when it cannot). */
  bulkhead?: Bulkhead
  /** Ms per attempt: the attempt's signal aborts and it counts as a `timeout` failure. */
  timeout?: number
  /**
   * Serves a value instead of any error (cancellation excepted): a function, or a Fallback
   * (a degradation manager's strategies, a response cache, and a last-resort function).
   */
  fallback?: ((error: unknown, context: any, info: FallbackInfo) => R | PromiseLike<R>) | Fallback<R>
  /** The parts' clock (they must share one). */
  clock?: ManualClock
  /** The component name of its events (default: the breaker's name, else 'policy'). */
  name?: string
  classify?: (errorOrResult: unknown) => Category | undefined | null
  isFailure?: (result: any) => boolean
}

/** Fallback, retry, circuit breaker, rate limiter, bulkhead, timeout, the call: outermost first. Every part optional. */
export declare class Policy<FB = never> {
  constructor(options?: PolicyOptions<FB>)
  readonly name: string
  readonly breaker: CircuitBreaker | undefined
  readonly retry: Retry | undefined
  readonly rateLimiter: RateLimiter | undefined
  readonly bulkhead: Bulkhead | undefined
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

// ---- rate limiter and bulkhead ------------------------------------------------------------------

export interface RateLimiterOptions {
  /** Requests per `timeWindow`. Default 100. */
  maxRequests?: number
  /** Ms over which `maxRequests` refill. Default 1000. */
  timeWindow?: number
  /** The bucket's capacity (the largest burst). Default `maxRequests`. */
  burstLimit?: number
  /** The clock (default: the system clock). */
  clock?: ManualClock
  /** The component name of its errors. Default 'rate_limiter'. */
  name?: string
}

/** A token bucket: at most `maxRequests` per `timeWindow` ms, bursts up to `burstLimit`; starts full. */
export declare class RateLimiter {
  constructor(options?: RateLimiterOptions)
  readonly name: string
  readonly clock: ManualClock | undefined
  readonly maxRequests: number
  /** Ms. */
  readonly timeWindow: number
  readonly burstLimit: number
  /** Takes a token if one is there now. */
  tryAcquire(): boolean
  /** Reserves a token: the ms to wait before using it (0: now). Reservations queue up; a reserved token is spent. */
  reserve(): number
  /** Whole tokens available now. */
  available(): number
  /** Waits for a token (reserve, then sleep on the limiter's clock); the signal stops the sleep. */
  acquire(options?: ExecuteOptions): Promise<void>
  /** Runs fn when a token is there now; else rejects with a RateLimitedError (its `retryAfter` in ms). */
  execute<R>(fn: (context: undefined, info: CallInfo) => R): Promise<Awaited<R>>
  execute<C, R>(fn: (context: C, info: CallInfo) => R, context: C, options?: ExecuteOptions): Promise<Awaited<R>>
}

export interface BulkheadOptions {
  /** Calls in flight at once. Default 25. */
  maxConcurrent?: number
  /** Calls that may wait for a slot. Default 0 (no queue). */
  maxQueue?: number
  /** Ms a queued call waits at most. Default 0 (no queue). */
  maxWait?: number
  /** The clock the waits run on (default: the system clock). */
  clock?: ManualClock
  /** The component name of its errors. Default 'bulkhead'. */
  name?: string
}

/** Concurrency isolation: `maxConcurrent` calls at once, up to `maxQueue` more waiting (FIFO, at most `maxWait` ms). */
export declare class Bulkhead {
  constructor(options?: BulkheadOptions)
  readonly name: string
  readonly clock: ManualClock | undefined
  readonly maxConcurrent: number
  readonly maxQueue: number
  /** Ms. */
  readonly maxWait: number
  /** Calls holding a slot now. */
  readonly inFlight: number
  /** Calls waiting for a slot now. */
  readonly queued: number
  /**
   * Runs fn in a slot (held until fn settles). When every slot is taken the call queues and is
   * started by the call that frees a slot; it rejects with a BulkheadFullError when there is no
   * room or `maxWait` passes, and with `signal.reason` when aborted while queued.
   */
  execute<R>(fn: (context: undefined, info: CallInfo) => R): Promise<Awaited<R>>
  execute<C, R>(fn: (context: C, info: CallInfo) => R, context: C, options?: ExecuteOptions): Promise<Awaited<R>>
}

// ---- config documents and the registry ----------------------------------------------------------

/** Keys of a config section, as config files write them (camelCase in ms, or snake_case with `_ms`). */
export type ConfigSettings = { readonly [key: string]: unknown }

/** Breaker settings in a config document: the option names, plus the seeds' `timeout` (recovery timeout, ms). */
export type BreakerSettings = Omit<CircuitBreakerOptions, 'timeout' | 'clock' | 'classify' | 'isFailure'> & {
  /** The recovery timeout in ms (the seeds' name). */
  timeout?: number
} & ConfigSettings

export type RetrySettings = Omit<RetryOptions, 'clock' | 'classify' | 'isFailure' | 'budget' | 'seed'> & {
  seed?: number
  budget?: RetryBudgetOptions
} & ConfigSettings

/** A component kind's section: `defaults`, per-name overrides, and `enabled: false` for a pass-through. */
export interface ConfigSection<S> {
  enabled?: boolean
  defaults?: S
  agentSpecific?: { readonly [name: string]: S }
  agent_specific?: { readonly [name: string]: S }
}

/** A config document (contract section 1, "Config files"); sections in either spelling. */
export interface ConfigDocument {
  circuitBreakers?: ConfigSection<BreakerSettings> | BreakerSettings
  circuit_breakers?: ConfigSection<BreakerSettings> | BreakerSettings
  retry?: ConfigSection<RetrySettings> | RetrySettings
  retries?: ConfigSection<RetrySettings> | RetrySettings
  rateLimiters?: ConfigSection<ConfigSettings> | ConfigSettings
  rate_limiters?: ConfigSection<ConfigSettings> | ConfigSettings
  bulkheads?: ConfigSection<ConfigSettings> | ConfigSettings
  degradationRules?: readonly unknown[]
  degradation_rules?: readonly unknown[]
  degradation?: ConfigSettings
  healthChecks?: ConfigSettings
  health_checks?: ConfigSettings
  monitoring?: ConfigSettings
  slo?: ConfigSettings
}

/** `true` applies process.env's breakwater variables on top of the document; an object gives them explicitly. */
export type EnvOption = boolean | { readonly [name: string]: string | undefined }

export interface RegistryOptions {
  /** The clock of everything the registry makes (default: the system clock). */
  clock?: ManualClock
  /** Components of each kind kept at most (least recently used closed ones go first). Default: no bound. */
  maxSize?: number
  /** Ms after which an unused component may go. Default: never. */
  idleTtl?: number
}

export interface RegistryPolicyOptions<FB = never> {
  /** Ms per attempt. */
  timeout?: number
  /** A function, or a Fallback (strategies and a cache) on the registry's clock. */
  fallback?: ((error: unknown, context: any, info: FallbackInfo) => FB | PromiseLike<FB>) | Fallback<FB>
  classify?: (errorOrResult: unknown) => Category | undefined | null
  isFailure?: (result: any) => boolean
}

/** Breaker options a registry takes as code arguments (applied when the name is first made). */
export type RegistryBreakerOptions = Omit<CircuitBreakerOptions, 'clock'>
/** The seed API's options: `timeout` is the recovery timeout in ms. */
export type AgentBreakerOptions = Omit<CircuitBreakerOptions, 'clock' | 'timeout'> & { timeout?: number }

/** Named components made on first use from one config document, on one clock. */
/** A section with named overrides (snake_case). */
export type DocumentSectionName = 'circuit_breakers' | 'retry' | 'rate_limiters' | 'bulkheads'
/** A section the components read themselves, returned as written. */
export type DocumentRawSectionName = 'degradation_rules' | 'degradation' | 'health_checks' | 'slo'
/** A config as read back: canonical config-file spelling (snake_case keys, durations in ms with `_ms`; null: not set). */
export type FileSpelledConfig = { readonly [key: string]: unknown }

/**
 * A config document as the core read it (either spelling, environment variables applied), for
 * reading back in canonical config-file spelling, exactly as the other languages read it back.
 */
export declare class Document {
  private constructor()
  static fromObject(document: ConfigDocument, options?: { env?: EnvOption }): Document
  static fromFile(path: string, options?: { env?: EnvOption }): Document
  /** This document with environment variables applied on top of it as written. */
  withEnv(vars: Readonly<Record<string, string>>): Document
  /** The config for `name` (its agentSpecific override, else the defaults; none: the defaults). */
  breakerConfig(name?: string): FileSpelledConfig
  retryConfig(name?: string): FileSpelledConfig
  rateLimiterConfig(name?: string): FileSpelledConfig
  bulkheadConfig(name?: string): FileSpelledConfig
  enabled(section: DocumentSectionName): boolean
  /** The names with an agentSpecific entry, sorted. */
  overrides(section: DocumentSectionName): string[]
  readonly monitoring: FileSpelledConfig
  /** As written, or null when absent. */
  section(name: DocumentRawSectionName): unknown
  /** The document as written (environment variables applied). */
  readonly raw: { readonly [section: string]: unknown }
}

export declare class Registry {
  constructor(options?: RegistryOptions)
  /** From a config object (either spelling); `env` applies environment variables on top. */
  static fromObject(document: ConfigDocument, options?: RegistryOptions & { env?: EnvOption }): Registry
  /** From a JSON or TOML file (by extension); `env` applies environment variables on top. */
  static fromFile(path: string, options?: RegistryOptions & { env?: EnvOption }): Registry
  readonly clock: ManualClock | undefined
  /** Whether this is the process-wide registry (shared by every worker thread). */
  readonly processWide: boolean
  /** Bumped by every reload. */
  readonly generation: number
  /** The document it was made from (or last reloaded with), for reading back; undefined without one. */
  readonly document: Document | undefined
  breakerNames(): string[]
  /** The breaker named `name` (layered config: defaults, agentSpecific, then `overrides` on first use). */
  breaker(name: string, overrides?: RegistryBreakerOptions): CircuitBreaker
  /** The seed API: like `breaker`, where `timeout` is the recovery timeout in ms. */
  getAgentCircuitBreaker(name: string, options?: AgentBreakerOptions): CircuitBreaker
  /** A snapshot of the breaker named `name`; undefined when there is none (none is made). */
  getCircuitBreakerStatus(name: string): BreakerSnapshot | undefined
  /** False when there is no breaker by that name. */
  forceCloseCircuitBreaker(name: string): boolean
  forceOpenCircuitBreaker(name: string): boolean
  resetCircuitBreaker(name: string): boolean
  /** The retry policy named `name` (rebuilt after a reload). */
  retry(name: string): Retry
  rateLimiter(name: string, overrides?: Omit<RateLimiterOptions, 'clock' | 'name'>): RateLimiter
  bulkhead(name: string, overrides?: Omit<BulkheadOptions, 'clock' | 'name'>): Bulkhead
  /** Breaker and retry for `name`, plus a rate limiter / bulkhead when the document has those sections. */
  policy<FB = never>(name: string, options?: RegistryPolicyOptions<FB>): Policy<FB>
  /** Applies a new document: breakers keep their state; invalid documents throw and change nothing. */
  reload(document: ConfigDocument, options?: { env?: EnvOption }): void
}

/** The process-wide registry: the breaker named X is the same breaker in every worker thread. */
export declare const registry: Registry

// ---- agent managers -----------------------------------------------------------------------------

/** The names of `T`'s methods. */
export type MethodKeys<T> = { [K in keyof T]-?: T[K] extends (...args: any[]) => any ? K : never }[keyof T] & string

/** `T` with the methods in `M` guarded: same parameters, a Promise of the result (or of the fallback's value). */
export type GuardedAgentManager<T, M extends keyof T = MethodKeys<T>, FB = never> = {
  [K in keyof T]: K extends M ? (T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R> | FB> : T[K]) : T[K]
}

/** What an agent fallback learns about the call. */
export interface AgentCallInfo {
  readonly agentName: string
  readonly method: string
  readonly args: readonly unknown[]
  readonly attempts: number
  /** Why the pipeline failed: a give-up reason ('max_attempts'...), 'circuit_open'..., or 'error'. */
  readonly reason: string
}

export interface AgentOptions<FB = never> {
  /**
   * Serves a value instead of the agent's error (cancellation excepted); or a Fallback
   * (degradation strategies and a response cache; its strategies see the call's context
   * `{ agentName, method, args }`).
   */
  fallback?: ((error: unknown, info: AgentCallInfo) => FB | PromiseLike<FB>) | Fallback<FB>
  /** Ms per attempt. */
  timeout?: number
  classify?: (errorOrResult: unknown) => Category | undefined | null
  isFailure?: (result: any) => boolean
}

export interface WrapAgentManagerOptions<M extends string = string, FB = never> extends AgentOptions<FB> {
  /** Where the agents' components come from. Default: a Registry made from the sections below (and `clock`), else the process-wide `registry`. */
  registry?: Registry
  circuitBreakers?: ConfigSection<BreakerSettings> | BreakerSettings
  circuit_breakers?: ConfigSection<BreakerSettings> | BreakerSettings
  retry?: ConfigSection<RetrySettings> | RetrySettings
  retries?: ConfigSection<RetrySettings> | RetrySettings
  rateLimiters?: ConfigSection<ConfigSettings> | ConfigSettings
  bulkheads?: ConfigSection<ConfigSettings> | ConfigSettings
  clock?: ManualClock
  env?: EnvOption
  /** The methods to guard. Default: every method. */
  methods?: readonly M[]
  /** The agent a call is for (undefined: run it unguarded). Default: the first argument when it is a string. */
  agentNameOf?: (args: unknown[], method: string) => string | undefined
  /** Per-agent host options (breaker and retry settings go in the sections' `agentSpecific`). */
  agentSpecific?: { readonly [agentName: string]: AgentOptions<FB> }
}

/**
 * Guards every agent call of `agentManager` with that agent's breaker, retry and fallback (from
 * a registry, with per-agent overrides); the result has the same methods, each returning a Promise.
 */
export declare function wrapAgentManager<T extends object, M extends MethodKeys<T> = MethodKeys<T>, FB = never>(
  agentManager: T,
  options?: WrapAgentManagerOptions<M, FB>,
): GuardedAgentManager<T, M, FB>

// ---- degradation, fallback strategies, the response cache ----------------------------------------

/** Degradation levels, ordered. */
export type Level = 'none' | 'partial' | 'significant' | 'severe' | 'critical'
/** Why a component is degraded. */
export type Trigger = 'circuit_breaker_open' | 'timeout' | 'rate_limited' | 'error_rate' | 'health_check_failed' | 'manual'
export type StrategyKind = 'cached_response' | 'simplified_response' | 'fallback_target' | 'offline_response' | 'custom'
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'critical' | 'unknown'

/** What a strategy (and its `canHandle`) learns about a failed call. */
export interface StrategyContext {
  readonly component: string
  readonly trigger: Trigger
  readonly severity: Level
  readonly error: unknown
  readonly attempts: number
  readonly cacheKey: string | undefined
  /** The call's context (what `execute` was given; a wrapped function's arguments). */
  readonly context: unknown
  /** A cached response would be served stale. */
  readonly stale?: boolean
}

/** A fallback strategy. Kinds other than `cached_response` produce their answer with `execute` or `value`. */
export interface Strategy<R = unknown> {
  name: string
  kind?: StrategyKind
  /** Lower numbers are tried first (0..=1000000). Default 0. */
  priority?: number
  description?: string
  /** The availability flag (`setAvailable`). Default true. */
  available?: boolean
  /** The triggers it serves (all when absent). */
  handles?: readonly Trigger[]
  canHandle?: (context: StrategyContext) => boolean
  isAvailable?: () => boolean
  execute?: (context: StrategyContext) => R | PromiseLike<R>
  value?: R
}

/** A rule as the seed writes it (`degradationRules`). */
export interface DegradationRule {
  name?: string
  conditions: { reasons: readonly Trigger[]; component?: string }
  severityThreshold?: Level
  severity_threshold?: Level
  strategy: string
  priority?: number
  enabled?: boolean
}

export interface DegradationManagerOptions {
  rules?: readonly DegradationRule[]
  degradationRules?: readonly DegradationRule[]
  /** Degradations kept in the history. Default 1000. */
  maxHistory?: number
  /** Recover when the trigger clears. Default true. */
  autoRecovery?: boolean
  /** false: chooses nothing, records nothing. Default true. */
  enabled?: boolean
  clock?: ManualClock
}

export interface FallbackChoice {
  readonly strategy: string
  readonly kind: StrategyKind
  /** The rule that named it; undefined when picked by priority. */
  readonly rule: string | undefined
  readonly trigger: Trigger
  readonly severity: Level
  readonly stale: boolean
}

export interface FallbackDecisionContext {
  component: string
  trigger: Trigger
  /** Default: the trigger's own severity. */
  severity?: Level
  category?: Category
  attempts?: number
  cacheKey?: string
  /** What the response cache would serve for the call. */
  cached?: 'fresh' | 'stale'
}

export interface ActiveDegradation {
  readonly component: string
  readonly level: Level
  readonly trigger: Trigger
  /** Ms on the manager's clock when it started. */
  readonly since: number
  /** Wall time when it started. */
  readonly startedAt: number
  readonly strategy: string | undefined
  readonly callsServed: number
}

export interface DegradationHistoryEntry {
  readonly component: string
  readonly trigger: Trigger
  readonly level: Level
  readonly since: number
  readonly startedAt: number
  /** Ms; undefined while active. */
  readonly duration: number | undefined
  readonly strategy: string | undefined
  readonly callsServed: number
  readonly recovery: 'auto' | 'forced' | undefined
}

export interface DegradationStatistics {
  readonly active: number
  readonly totalTriggered: number
  readonly totalRecovered: number
  readonly callsServed: number
  readonly mostFrequentReason: Trigger | undefined
  /** Ms, over the degradations that ended. */
  readonly meanDuration: number | undefined
  readonly maxDuration: number | undefined
}

interface DegradationEventBase extends EventBase {
  readonly reason: Trigger
  readonly severity: Level
  readonly strategy?: string
}
export interface DegradationTriggeredEvent extends DegradationEventBase {
  readonly kind: 'degradation_triggered'
}
export interface DegradationRecoveredEvent extends DegradationEventBase {
  readonly kind: 'degradation_recovered'
  readonly duration: number
}
export interface FallbackEvent extends DegradationEventBase {
  readonly kind: 'fallback'
}
export interface DegradationEvents {
  degradationTriggered: DegradationTriggeredEvent
  degradationRecovered: DegradationRecoveredEvent
  fallback: FallbackEvent
}

/** Which components are degraded, which strategy serves a failed call, recovery, history. */
export declare class DegradationManager {
  constructor(options?: DegradationManagerOptions)
  readonly clock: ManualClock | undefined
  autoRecovery: boolean
  readonly overallLevel: Level
  configure(options: Omit<DegradationManagerOptions, 'clock'>): void
  /** Registers (or replaces in place) a strategy; whether one was replaced. */
  register(strategy: Strategy): boolean
  unregister(name: string): boolean
  setAvailable(name: string, available: boolean): boolean
  strategies(): Array<{ name: string; kind: StrategyKind; priority: number; description: string; available: boolean; handles: Trigger[] | undefined }>
  /** The decision for a failed call, recording nothing. */
  choose(context: FallbackDecisionContext): FallbackChoice | undefined
  /** The decision, recorded: the component is degraded and the fallback counted. */
  select(context: FallbackDecisionContext): FallbackChoice | undefined
  trigger(component: string, trigger: Trigger, severity?: Level): boolean
  triggerCleared(component: string, trigger: Trigger): boolean
  reportSuccess(component: string): boolean
  onBreakerState(component: string, state: State): boolean
  onHealthStatus(component: string, status: HealthStatus): boolean
  /** Follows a breaker's state changes; returns a function that stops. */
  watch(breaker: CircuitBreaker): () => void
  forceRecovery(component: string): boolean
  forceRecoveryAll(): number
  level(component: string): Level
  active(component: string): ActiveDegradation | undefined
  activeAll(): ActiveDegradation[]
  history(): DegradationHistoryEntry[]
  statistics(): DegradationStatistics
  on<K extends keyof DegradationEvents>(event: K, listener: (event: DegradationEvents[K]) => void): () => void
}

export interface ResponseCacheOptions {
  /** Ms an entry is fresh. Default 300000. */
  ttl?: number
  /** Entries kept (least recently used go first). Default 1000. */
  maxEntries?: number
  /** Serve an expired entry (marked stale) when the live call fails. Default true. */
  staleIfError?: boolean
  clock?: ManualClock
}

/** The last good answers: TTL, LRU, stale-if-error (the core owns keys and expiry; values stay in JS). */
export declare class ResponseCache<V = unknown> {
  constructor(options?: ResponseCacheOptions)
  readonly clock: ManualClock | undefined
  readonly config: { ttl: number; maxEntries: number; staleIfError: boolean }
  readonly size: number
  put(key: string, value: V, options?: { ttl?: number }): { replaced: V | undefined; evicted: string | undefined }
  /** The fresh value, or undefined. */
  get(key: string): V | undefined
  /** The live call failed: the entry (stale under stale-if-error), or undefined. */
  onError(key: string): { value: V; stale: boolean } | undefined
  /** What `onError` would serve. Pure. */
  status(key: string): 'fresh' | 'stale' | undefined
  remove(key: string): V | undefined
  clear(): string[]
  purgeExpired(): string[]
  /** Least to most recently used. */
  keys(): string[]
  stats(): { entries: number; hits: number; staleHits: number; misses: number; evictions: number }
  configure(options: Omit<ResponseCacheOptions, 'clock'>): string[]
}

export interface FallbackOptions<R = unknown> {
  /** Chooses the strategy (default: a new DegradationManager with `rules`). */
  manager?: DegradationManager
  rules?: readonly DegradationRule[]
  /** Registered on the manager. */
  strategies?: ReadonlyArray<Strategy<R>>
  /** Keeps each call's last good answer for `cached_response` (true: default options). */
  cache?: ResponseCache | ResponseCacheOptions | true
  /** The call's cache key (default: the function's identity, the component and canonical JSON of the context). */
  cacheKey?: (context: any) => string | undefined
  /** Serves when no strategy does. */
  fallback?: (error: unknown, context: any, info: FallbackInfo) => R | PromiseLike<R>
  clock?: ManualClock
  name?: string
}

/** A policy's fallback built from degradation strategies, a response cache and a last-resort function. */
export declare class Fallback<R = unknown> {
  constructor(options?: FallbackOptions<R>)
  readonly manager: DegradationManager
  readonly cache: ResponseCache | undefined
  readonly clock: ManualClock | undefined
  execute<T>(fn: (context: undefined, info: CallInfo) => T): Promise<Awaited<T> | R>
  execute<C, T>(fn: (context: C, info: CallInfo) => T, context: C, options?: ExecuteOptions): Promise<Awaited<T> | R>
  executeWithInfo<T>(fn: (context: undefined, info: CallInfo) => T): Promise<ExecutionInfo<Awaited<T> | R>>
  executeWithInfo<C, T>(fn: (context: C, info: CallInfo) => T, context: C, options?: ExecuteOptions): Promise<ExecutionInfo<Awaited<T> | R>>
}

// ---- health checks -------------------------------------------------------------------------------

export type CheckKind = 'liveness' | 'readiness' | 'startup'

export interface HealthCheckOptions {
  kind?: CheckKind
  /** Ms between runs. Default 30000. */
  interval?: number
  /** Ms one run may take. Default 5000. */
  timeout?: number
  /** Failed runs in a row before the check counts as failing. Default 3. */
  failureThreshold?: number
  critical?: boolean
}

export interface HealthRegistryOptions extends HealthCheckOptions {
  /** false: checks are not run (the registry still answers). */
  enabled?: boolean
  maxHistory?: number
  agentSpecific?: { readonly [check: string]: HealthCheckOptions }
  /** The overall status's name in events. Default 'health'. */
  name?: string
  clock?: ManualClock
}

/** What a check function may return. */
export type CheckOutcome = HealthStatus | boolean | void | { status?: HealthStatus; healthy?: boolean; message?: string; metadata?: Record<string, unknown> }

export interface HealthResult {
  readonly status: HealthStatus
  readonly message?: string
  /** Ms. */
  readonly latency: number
  readonly at: number
  readonly failed: boolean
  readonly timedOut: boolean
}

export interface HealthCheckView {
  readonly name: string
  readonly kind: CheckKind
  readonly critical: boolean
  readonly status: HealthStatus
  readonly failing: boolean
  readonly stale: boolean
  readonly consecutiveFailures: number
  readonly reportsTotal: number
  readonly failuresTotal: number
  readonly last?: HealthResult
  readonly isCheck: boolean
  readonly dependency: boolean
  readonly breakerState?: State
  readonly degraded: boolean
}

export interface HealthReport {
  readonly status: HealthStatus
  readonly liveness: HealthStatus
  readonly readiness: HealthStatus
  readonly startup: HealthStatus
  readonly live: boolean
  readonly ready: boolean
  readonly started: boolean
  readonly checks: HealthCheckView[]
  readonly at: number
}

export interface HealthChangedEvent extends EventBase {
  readonly kind: 'health_changed'
  /** The new status. */
  readonly reason: HealthStatus
  /** The check's consecutive failures. */
  readonly attempt?: number
}

/** Health checks run on their intervals with timeouts (unreferenced timers), their dependencies, and the aggregate. */
export declare class HealthRegistry {
  constructor(options?: HealthRegistryOptions)
  readonly clock: ManualClock | undefined
  readonly enabled: boolean
  readonly ready: boolean
  readonly live: boolean
  /** Registers a check run every `interval` with its `timeout` (first run at once); without `fn` it is reported to by hand. */
  register(name: string, fn?: (info: { signal: AbortSignal }) => CheckOutcome | PromiseLike<CheckOutcome>, options?: HealthCheckOptions): Required<HealthCheckOptions>
  unregister(name: string): boolean
  addDependency(name: string, options?: { critical?: boolean; breaker?: CircuitBreaker }): void
  /** A dependency on `breaker`, under its name. */
  addBreaker(breaker: CircuitBreaker, options?: { critical?: boolean }): void
  removeDependency(name: string): boolean
  /** Degraded components (per the manager) count as failing dependencies. */
  useDegradation(manager: DegradationManager | undefined): void
  setDegraded(name: string, degraded: boolean): void
  report(name: string, status: HealthStatus, options?: { message?: string; latency?: number; metadata?: Record<string, unknown> }): HealthCheckView
  /** Evaluates now, announcing changes ('healthChanged'). */
  evaluate(): HealthReport
  /** A pure read. */
  snapshot(): HealthReport
  check(name: string): HealthCheckView | undefined
  history(name: string, limit?: number): HealthResult[]
  /** Runs every check once now. */
  runChecks(): Promise<HealthReport>
  start(): void
  stop(): void
  on(event: 'healthChanged', listener: (event: HealthChangedEvent) => void): () => void
}

// ---- SLOs, event log, alerts ----------------------------------------------------------------------

/** An SLO's config; durations in ms. The config-file spelling (`window_ms`, `burn_rate_window_ms`) is taken too. */
export interface SloOptions {
  /** 0 < target < 1 (default 0.999). */
  target?: number
  /** The sliding window (default 30 days, at most 366 days). */
  window?: number
  window_ms?: number
  /** Buckets of the window (they divide it; at most 10000). */
  buckets?: number
  /** The burn rate's look-back. */
  burnRateWindow?: number
  burn_rate_window_ms?: number
  clock?: ManualClock
}

export type SloRecommendation = 'healthy' | 'moderate' | 'critical' | 'exhausted'

/** An SLO's status over its window (contract: SLOs). */
export interface SloStatus {
  readonly target: number
  /** Ms. */
  readonly window: number
  readonly total: number
  readonly good: number
  readonly bad: number
  /** good / total; 1 for an empty window. */
  readonly availability: number
  /** The bad requests the target allows over the window's total. */
  readonly allowedFailures: number
  /** bad / allowedFailures. */
  readonly errorBudgetConsumed: number
  readonly errorBudgetRemaining: number
  /** The error rate over the look-back, in units of the allowed rate. */
  readonly burnRate: number
  readonly recommendation: SloRecommendation
}

export declare class Slo {
  constructor(name: string, options?: SloOptions)
  readonly name: string
  readonly clock: ManualClock | undefined
  /** Counts one request, good or bad, now. */
  record(good: boolean): void
  recordCounts(good: number, bad: number): void
  /** Counts an event by its kind (`success`: good; `failure`, `callRejected`: bad); whether it counted. */
  observe(kind: string | { kind: string }): boolean
  status(): SloStatus
}

/** An event given to an EventLog or an AlertManager (kinds in snake_case or camelCase). */
export interface EventInput {
  kind: string
  component: string
  /** Wall ms; default: the clock's now. */
  at?: number
  from?: State
  to?: State
  reason?: string
  severity?: string
  attempt?: number
}

/** An event as logged: kind (snake_case), component, at, and the fields it has. */
export interface LoggedEventFields {
  readonly kind: string
  readonly component: string
  readonly at: number
  readonly from?: State
  readonly to?: State
  readonly reason?: string
  readonly category?: Category
  readonly duration?: number
  readonly attempt?: number
  readonly delay?: number
  readonly strategy?: string
  readonly severity?: string
}

export interface LoggedEvent {
  /** 1 for the first event the log took. */
  readonly seq: number
  readonly event: LoggedEventFields
}

export interface EventQuery {
  component?: string
  /** Kinds, snake_case or camelCase; none: every kind. */
  kinds?: readonly string[]
  limit?: number
  /** Only events logged after this sequence number. */
  afterSeq?: number
}

/** A bounded log of events (the newest `capacity` kept), queried newest first. */
export declare class EventLog {
  /** `capacity` 1..1000000 (default 1000). */
  constructor(options?: { capacity?: number; clock?: ManualClock })
  readonly capacity: number
  readonly size: number
  clear(): void
  record(event: EventInput): void
  query(query?: EventQuery): LoggedEvent[]
  /** Logs every event the source emits from now on (alerts; health changes). */
  attach(source: AlertManager | HealthRegistry): void
}

export type AlertSeverity = 'info' | 'warning' | 'critical'
export type AlertCondition = 'breaker_opened' | 'degradation_triggered' | 'recovery_completed' | 'health_check_failing' | 'error_budget'

export interface AlertRuleConfig {
  name?: string
  condition: AlertCondition
  severity?: AlertSeverity
  /** Only this component. */
  component?: string
  /** health_check_failing: failed reports in a row. */
  reports?: number
  /** error_budget: the consumed fraction. */
  threshold?: number
}

export interface AlertManagerOptions {
  /** Left out: the default rules. */
  rules?: readonly AlertRuleConfig[]
  max_history?: number
  clock?: ManualClock
}

export interface Alert {
  readonly id: number
  readonly rule: string
  readonly condition: AlertCondition
  readonly component: string
  readonly severity: AlertSeverity
  readonly raisedAt: number
  /** When the outage ended (absent while active). */
  readonly resolvedAt?: number
  /** Repeats of the same outage folded into this alert. */
  readonly suppressed: number
  readonly active: boolean
}

export interface AlertStats {
  readonly raisedTotal: number
  readonly suppressedTotal: number
  readonly raisedBySeverity: Readonly<Record<AlertSeverity, number>>
  readonly activeBySeverity: Readonly<Record<AlertSeverity, number>>
}

export interface AlertEvent extends EventBase {
  readonly kind: 'alert'
  readonly severity: AlertSeverity
  /** The rule's condition. */
  readonly reason: AlertCondition
  readonly attempt?: number
}

/** Watches events, health checks and SLOs against rules; one de-duplicated `alert` per outage. */
export declare class AlertManager {
  constructor(options?: AlertManagerOptions)
  readonly clock: ManualClock | undefined
  /** The rules' names, in order. */
  readonly rules: string[]
  observe(event: EventInput): void
  observeSlo(slo: Slo): void
  /** Checks every report the registry records against the health rules. */
  watchHealth(registry: HealthRegistry): void
  active(): Alert[]
  /** Newest first, at most `limit`. */
  history(limit?: number): Alert[]
  stats(): AlertStats
  on(event: 'alert', listener: (event: AlertEvent) => void): () => void
}

// ---- metrics -------------------------------------------------------------------------------------

export interface PrometheusOptions {
  /** Default: the process-wide registry. */
  registries?: Registry | readonly Registry[]
  breakers?: CircuitBreaker | readonly CircuitBreaker[]
  policies?: Policy<any> | ReadonlyArray<Policy<any>>
  rateLimiters?: RateLimiter | readonly RateLimiter[]
  bulkheads?: Bulkhead | readonly Bulkhead[]
  degradation?: DegradationManager | readonly DegradationManager[]
  health?: HealthRegistry
}

/** The Prometheus text exposition (format 0.0.4) of the given components (docs/metrics.md). */
export declare const prometheus: {
  (options?: PrometheusOptions): string
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: string
}
