//! The policy pipeline (contract section 1, "Policy") as steps the C caller drives: the core
//! says what to do next (attempt, sleep, wait, fallback, done) and the caller does it with no
//! breakwater lock held.
//!
//! ```c
//! bw_policy_call *call; bw_step step;
//! bw_policy_start(policy, &call, &step);
//! for (;;) {
//!   if (step.kind == BW_STEP_ATTEMPT) { ... run it ...; bw_policy_record(call, outcome, &failure, &step); }
//!   else if (step.kind == BW_STEP_SLEEP) { sleep(step.delay_ms); bw_policy_next(call, &step); }
//!   else if (step.kind == BW_STEP_WAIT) { woken = wait(step.ticket, step.max_wait_ms); bw_policy_after_wait(call, woken, &step); }
//!   else break; // BW_STEP_FALLBACK or BW_STEP_DONE: step.verdict says what the caller gets
//! }
//! bw_policy_call_free(call);
//! ```

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use breakwater_core::config::ConfigError;
use breakwater_core::{
    AttemptOutcome, ClockRef, ErrorCode, FallbackChoice, FallbackInput, Freshness, Policy,
    PolicyCall, PolicyParts, ResponseCache, Step, StrategyKind, Trigger, Verdict,
};

use crate::breaker::bw_breaker;
use crate::cache::{CacheLookupArg, bw_cache};
use crate::classify::{bw_failure, bw_str};
use crate::clock::bw_manual_clock;
use crate::degradation::{
    bw_degradation, bw_fallback_choice, bw_strategy_kind, bw_trigger, choice_to_c, kind_to_c,
    no_choice, trigger_to_c,
};
use crate::events::{self, bw_event_callback};
use crate::ffi::{self, Error, OptOut, Out, boundary};
use crate::limits::{bw_bulkhead, bw_rate_limiter};
use crate::result::bw_result;
use crate::retry::{bw_give_up_reason, bw_retry, give_up_to_c};
use crate::text::Names;
use crate::types::{EventKindArg, bw_state, ceil_ms, floor_ms, ms, state_to_c};

/// A policy's parts, for `bw_policy_new`; every one is optional. Zero-initialise it
/// (`bw_policy_parts parts = {0};`) and set what you use. The handles are shared, not copied:
/// the policy keeps them alive, and they may be freed after `bw_policy_new`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_policy_parts {
    pub breaker: *const bw_breaker,
    pub retry: *const bw_retry,
    pub rate_limiter: *const bw_rate_limiter,
    pub bulkhead: *const bw_bulkhead,
    /// A timeout per attempt, which the caller enforces (`bw_step.timeout_ms`); > 0.
    pub has_timeout: bool,
    pub timeout_ms: u64,
    /// Whether the caller has a fallback: an error verdict then comes as `BW_STEP_FALLBACK`.
    pub fallback: bool,
    /// The policy's clock; NULL: the parts' clock (they must all share one), else the system
    /// clock.
    pub clock: *const bw_manual_clock,
    /// A degradation manager (on the policy's clock): a call that ends in an error then comes
    /// as `BW_STEP_FALLBACK` (even without `fallback`), with the strategy the manager chose in
    /// `bw_step.fallback`; successful calls report recovery to it. NULL: none.
    pub degradation: *const bw_degradation,
    /// The response cache the manager's cached_response strategies read: at the fallback step
    /// the call's cache key (`bw_call_options.cache_key`) is looked up in it
    /// (`bw_cache_status`). NULL: none.
    pub cache: *const bw_cache,
}

/// A composed policy: fallback, retry, circuit breaker, rate limiter, bulkhead, timeout, the
/// call (outermost first). Made by `bw_policy_new`, destroyed by `bw_policy_free`.
/// Thread-safe: one handle may be used from any number of threads at once (each call has its
/// own `bw_policy_call`), except `_free`, which must come last.
pub struct bw_policy {
    pub(crate) inner: Arc<Policy>,
    /// The names `bw_step.fallback` points to.
    pub(crate) names: Arc<Names>,
    pub(crate) cache: Option<Arc<ResponseCache<Arc<[u8]>, String>>>,
}

impl bw_policy {
    pub(crate) fn plain(inner: Policy) -> Self {
        bw_policy {
            inner: Arc::new(inner),
            names: Arc::new(Names::default()),
            cache: None,
        }
    }
}

/// What the caller should do next.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_step_kind {
    /// Run attempt number `attempt`, abandoning it after `timeout_ms` when `has_timeout`; then
    /// `bw_policy_record`.
    BW_STEP_ATTEMPT = 0,
    /// Sleep `delay_ms` on your own timer; then `bw_policy_next`.
    BW_STEP_SLEEP = 1,
    /// The bulkhead queued the call: wait up to `max_wait_ms` to be woken for `ticket`; then
    /// `bw_policy_after_wait`.
    BW_STEP_WAIT = 2,
    /// The pipeline ended in an error and a fallback is configured: run it (its value is the
    /// result), or apply `verdict` when it does not serve. The call is over.
    BW_STEP_FALLBACK = 3,
    /// The call is over: `verdict` says what the caller gets.
    BW_STEP_DONE = 4,
}

/// What the caller of the guarded call receives (contract section 3).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_verdict_kind {
    /// Not a final step (no verdict yet).
    BW_VERDICT_NONE = 0,
    /// The last attempt's value.
    BW_VERDICT_VALUE = 1,
    /// The last attempt's own error, unchanged.
    BW_VERDICT_USER_ERROR = 2,
    /// Retries ran out (`code` `BW_RESULT_RETRY_EXHAUSTED`, `attempts`, `reason`); the last
    /// user error is its cause.
    BW_VERDICT_RETRY_EXHAUSTED = 3,
    /// A component refused (`code` `BW_RESULT_CIRCUIT_OPEN`, `BW_RESULT_RATE_LIMITED` or
    /// `BW_RESULT_BULKHEAD_FULL`), with the last user error attached when `attempts` > 0.
    BW_VERDICT_REJECTED = 4,
    /// The caller's own cancellation.
    BW_VERDICT_CANCELLED = 5,
}

/// A verdict, in `bw_step.verdict` of a final step.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_verdict {
    pub kind: bw_verdict_kind,
    /// The breakwater error the caller gets; `BW_OK` when it gets its own value or error (or
    /// its cancellation).
    pub code: bw_result,
    /// Attempts made.
    pub attempts: u32,
    /// Why retrying stopped (`BW_VERDICT_RETRY_EXHAUSTED`).
    pub has_reason: bool,
    pub reason: bw_give_up_reason,
    /// The breaker state that refused (`BW_VERDICT_REJECTED` by the breaker).
    pub has_state: bool,
    pub state: bw_state,
    /// When to try again, ms rounded up (`BW_VERDICT_REJECTED`, when known).
    pub has_retry_after: bool,
    pub retry_after_ms: u64,
}

/// One step of a guarded call; the fields of other kinds are zero.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_step {
    pub kind: bw_step_kind,
    /// `BW_STEP_ATTEMPT`: the attempt's number (1-based) and timeout.
    pub attempt: u32,
    pub has_timeout: bool,
    pub timeout_ms: u64,
    /// `BW_STEP_SLEEP`: the backoff, whole ms.
    pub delay_ms: u64,
    /// `BW_STEP_WAIT`: the ticket to be woken for and the longest wait.
    pub ticket: u64,
    pub max_wait_ms: u64,
    /// `BW_STEP_FALLBACK` / `BW_STEP_DONE`: what the caller gets.
    pub verdict: bw_verdict,
    /// `BW_STEP_FALLBACK` with a degradation manager: the strategy that serves (its strings
    /// live as long as the call); `has_strategy` false when none does (run your own fallback
    /// function if you have one, else apply `verdict`).
    pub fallback: bw_fallback_choice,
}

/// Per-call inputs for `bw_policy_start_with`. Zero-initialise it and set what you have.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_call_options {
    /// The call's cache key (contract section 6: in C the caller builds it), UTF-8; `ptr`
    /// NULL: none. The fallback decision sees it, and with the policy's `cache` it decides
    /// whether a cached_response strategy can serve.
    pub cache_key: bw_str,
    /// What the response cache would serve for the call, when you keep the cache yourself:
    /// wins over the policy's `cache`. False: ask the policy's cache (none: nothing cached).
    pub has_cached: bool,
    pub cached: CacheLookupArg,
}

/// What `call_with_info` gives beside the value (contract section 3), for a call that is over
/// (`bw_policy_call_info`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_call_info {
    /// The value comes from a fallback (the call ended with `BW_STEP_FALLBACK`).
    pub from_fallback: bool,
    /// The strategy that served; NULL for a live result or your own fallback function. Lives
    /// as long as the call.
    pub strategy: *const c_char,
    pub has_kind: bool,
    pub kind: bw_strategy_kind,
    /// The degradation trigger that sent the call to its fallback.
    pub has_reason: bool,
    pub reason: bw_trigger,
    /// A cached response served after its TTL (stale-if-error).
    pub stale: bool,
    /// Attempts made.
    pub attempts: u32,
}

/// How an attempt ended, for `bw_policy_record`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_attempt_outcome {
    BW_ATTEMPT_SUCCESS = 0,
    /// The attempt failed; pass its `bw_failure` (e.g. from `bw_classify`).
    BW_ATTEMPT_FAILURE = 1,
    /// The caller cancelled it: the permit is released and nothing is counted.
    BW_ATTEMPT_CANCELLED = 2,
}

/// A `bw_attempt_outcome` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct AttemptOutcomeArg(pub u32);

fn no_verdict() -> bw_verdict {
    bw_verdict {
        kind: bw_verdict_kind::BW_VERDICT_NONE,
        code: bw_result::BW_OK,
        attempts: 0,
        has_reason: false,
        reason: bw_give_up_reason::BW_GIVE_UP_MAX_ATTEMPTS,
        has_state: false,
        state: bw_state::BW_STATE_CLOSED,
        has_retry_after: false,
        retry_after_ms: 0,
    }
}

fn code_to_c(code: ErrorCode) -> bw_result {
    match code {
        ErrorCode::CircuitOpen => bw_result::BW_RESULT_CIRCUIT_OPEN,
        ErrorCode::RateLimited => bw_result::BW_RESULT_RATE_LIMITED,
        ErrorCode::BulkheadFull => bw_result::BW_RESULT_BULKHEAD_FULL,
        ErrorCode::Timeout => bw_result::BW_RESULT_TIMEOUT,
        ErrorCode::RetryExhausted => bw_result::BW_RESULT_RETRY_EXHAUSTED,
        ErrorCode::ConfigInvalid => bw_result::BW_RESULT_CONFIG_INVALID,
        ErrorCode::NullArgument => bw_result::BW_RESULT_NULL_ARGUMENT,
        ErrorCode::InvalidArgument => bw_result::BW_RESULT_INVALID_ARGUMENT,
        ErrorCode::Panic => bw_result::BW_RESULT_PANIC,
    }
}

fn verdict_to_c(v: Verdict) -> bw_verdict {
    let mut out = no_verdict();
    match v {
        Verdict::Value => out.kind = bw_verdict_kind::BW_VERDICT_VALUE,
        Verdict::UserError => out.kind = bw_verdict_kind::BW_VERDICT_USER_ERROR,
        Verdict::Cancelled => out.kind = bw_verdict_kind::BW_VERDICT_CANCELLED,
        Verdict::RetryExhausted { attempts, reason } => {
            out.kind = bw_verdict_kind::BW_VERDICT_RETRY_EXHAUSTED;
            out.code = bw_result::BW_RESULT_RETRY_EXHAUSTED;
            out.attempts = attempts;
            out.has_reason = true;
            out.reason = give_up_to_c(reason);
        }
        Verdict::Rejected {
            code,
            state,
            retry_after,
            attempts,
        } => {
            out.kind = bw_verdict_kind::BW_VERDICT_REJECTED;
            out.code = code_to_c(code);
            out.attempts = attempts;
            out.has_state = state.is_some();
            out.state = state.map_or(bw_state::BW_STATE_CLOSED, state_to_c);
            out.has_retry_after = retry_after.is_some();
            out.retry_after_ms = retry_after.map_or(0, ceil_ms);
        }
    }
    out
}

fn step_to_c(s: Step) -> bw_step {
    let mut out = bw_step {
        kind: bw_step_kind::BW_STEP_DONE,
        attempt: 0,
        has_timeout: false,
        timeout_ms: 0,
        delay_ms: 0,
        ticket: 0,
        max_wait_ms: 0,
        verdict: no_verdict(),
        fallback: no_choice(),
    };
    match s {
        Step::Attempt { attempt, timeout } => {
            out.kind = bw_step_kind::BW_STEP_ATTEMPT;
            out.attempt = attempt;
            out.has_timeout = timeout.is_some();
            out.timeout_ms = timeout.map_or(0, floor_ms);
        }
        Step::Sleep { delay } => {
            out.kind = bw_step_kind::BW_STEP_SLEEP;
            out.delay_ms = floor_ms(delay);
        }
        Step::Wait { ticket, max_wait } => {
            out.kind = bw_step_kind::BW_STEP_WAIT;
            out.ticket = ticket.0;
            out.max_wait_ms = floor_ms(max_wait);
        }
        Step::Fallback(v) => {
            out.kind = bw_step_kind::BW_STEP_FALLBACK;
            out.verdict = verdict_to_c(v);
        }
        Step::Done(v) => {
            out.kind = bw_step_kind::BW_STEP_DONE;
            out.verdict = verdict_to_c(v);
        }
    }
    out
}

/// Makes a policy named `name` (`name_len` bytes of UTF-8; the component name of its events)
/// from `parts`. `BW_RESULT_CONFIG_INVALID` when the parts do not share one clock (key
/// "clock") or the timeout is 0 (key "timeout_ms"). Thread-safe.
///
/// # Safety
/// `name` points to `name_len` readable bytes; `parts` is NULL or readable, and each handle
/// in it is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_new(
    name: *const c_char,
    name_len: usize,
    parts: *const bw_policy_parts,
    out: *mut *mut bw_policy,
) -> bw_result {
    boundary("bw_policy_new", || {
        // SAFETY: documented requirements on the arguments.
        let name = unsafe { ffi::arg_str(name, name_len, "name") }?;
        // SAFETY: as above.
        let p = unsafe { ffi::arg_ref(parts, "parts") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: as above: each handle is NULL or live.
        let (breaker, retry, limiter, bulkhead, clock, degradation, cache) = unsafe {
            (
                p.breaker.as_ref(),
                p.retry.as_ref(),
                p.rate_limiter.as_ref(),
                p.bulkhead.as_ref(),
                p.clock.as_ref(),
                p.degradation.as_ref(),
                p.cache.as_ref(),
            )
        };
        if p.has_timeout && p.timeout_ms == 0 {
            return Err(Error::config(
                ConfigError::new("timeout_ms", "0", "a duration > 0").into(),
            ));
        }
        // One clock for every part: the explicit one, else the first part's.
        let clocks: Vec<ClockRef> = [
            clock.map(|c| ClockRef::Manual(c.inner.clone())),
            breaker.map(|b| b.inner.clock().clone()),
            retry.map(|r| r.clock.clone()),
            limiter.map(|l| l.clock.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if clocks.windows(2).any(|w| !w[0].same_as(&w[1])) {
            return Err(Error::config(
                ConfigError::new(
                    "clock",
                    "a different clock",
                    "the clock of the policy's parts (they must share one)",
                )
                .into(),
            ));
        }
        let parts = PolicyParts {
            breaker: breaker.map(|b| b.inner.clone()),
            retry: retry.map(|r| r.inner.clone()),
            rate_limiter: limiter.map(|l| l.inner.clone()),
            bulkhead: bulkhead.map(|b| b.inner.clone()),
            timeout: p.has_timeout.then(|| ms(p.timeout_ms)),
            fallback: p.fallback,
            clock: clocks.into_iter().next(),
        };
        let mut policy = Policy::new(name, parts)?;
        let mut names = Arc::new(Names::default());
        if let Some(m) = degradation {
            policy = policy.with_degradation(m.inner.clone())?;
            names = m.names.clone();
        }
        out.write(ffi::into_handle(bw_policy {
            inner: Arc::new(policy),
            names,
            cache: cache.map(|c| c.inner.clone()),
        }));
        Ok(())
    })
}

/// Destroys a policy handle; NULL is a no-op. Calls started from it keep working. Free it
/// exactly once, after every other thread has stopped using the handle.
///
/// # Safety
/// `policy` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_free(policy: *mut bw_policy) {
    // SAFETY: documented requirement on `policy`.
    unsafe { ffi::free_handle("bw_policy_free", policy) }
}

/// Where a call stands, so steps out of order are refused instead of corrupting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Attempt,
    Sleep,
    Wait,
    Finished,
}

/// One guarded call in progress. Made by `bw_policy_start`, destroyed by
/// `bw_policy_call_free` (at any point: freeing an unfinished call cancels it first). Belongs
/// to one call: do not use one from two threads at once.
pub struct bw_policy_call {
    policy: Arc<Policy>,
    call: PolicyCall,
    phase: Phase,
    names: Arc<Names>,
    cache: Option<Arc<ResponseCache<Arc<[u8]>, String>>>,
    cache_key: Option<Arc<str>>,
    /// The caller's own answer for `cached` (wins over the cache).
    cached: Option<Option<Freshness>>,
    /// The strategy chosen at the fallback step.
    choice: Option<FallbackChoice>,
    /// The call's last step was `BW_STEP_FALLBACK`.
    at_fallback: bool,
}

impl Drop for bw_policy_call {
    fn drop(&mut self) {
        if self.phase != Phase::Finished {
            // Release whatever the call holds (a permit, a bulkhead slot or place in line).
            self.policy.cancel(&mut self.call);
        }
    }
}

impl bw_policy_call {
    fn advance(&mut self, step: Step, out: Out<bw_step>) {
        self.phase = match step {
            Step::Attempt { .. } => Phase::Attempt,
            Step::Sleep { .. } => Phase::Sleep,
            Step::Wait { .. } => Phase::Wait,
            Step::Fallback(_) | Step::Done(_) => Phase::Finished,
        };
        let fallback = matches!(step, Step::Fallback(_));
        self.at_fallback = fallback;
        let mut s = step_to_c(step);
        if fallback && self.policy.degradation().is_some() {
            // The manager chooses (and records) once, when the pipeline reaches the fallback.
            let cached = match self.cached {
                Some(c) => c,
                None => match (&self.cache, &self.cache_key) {
                    (Some(cache), Some(key)) => cache.status(&**key),
                    _ => None,
                },
            };
            let input = FallbackInput {
                cache_key: self.cache_key.clone(),
                cached,
            };
            self.choice = self.policy.choose_fallback(&self.call, &input);
            s.fallback = choice_to_c(&self.names, self.choice.as_ref());
        }
        out.write(s);
    }

    fn expect(&self, phase: Phase, after: &str) -> ffi::Result<()> {
        if self.phase == phase {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "this comes after a {after} step; the call's last step was {}",
                match self.phase {
                    Phase::Attempt => "an attempt",
                    Phase::Sleep => "a sleep",
                    Phase::Wait => "a wait",
                    Phase::Finished => "final (the call is over)",
                }
            )))
        }
    }
}

/// Starts a guarded call: writes its state to `*out_call` (free it with
/// `bw_policy_call_free`) and its first step to `*out_step` (an attempt, or a rejection).
/// Thread-safe.
///
/// # Safety
/// `policy` is NULL or a live handle; `out_call` and `out_step` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_start(
    policy: *const bw_policy,
    out_call: *mut *mut bw_policy_call,
    out_step: *mut bw_step,
) -> bw_result {
    boundary("bw_policy_start", || {
        // SAFETY: documented requirement on `policy`.
        let p = unsafe { ffi::arg_ref(policy, "policy") }?;
        let out_call = Out::new(out_call, "out_call")?;
        let out_step = Out::new(out_step, "out_step")?;
        start(p, None, out_call, out_step)
    })
}

fn start(
    p: &bw_policy,
    options: Option<&bw_call_options>,
    out_call: Out<*mut bw_policy_call>,
    out_step: Out<bw_step>,
) -> ffi::Result<()> {
    let mut cache_key = None;
    let mut cached = None;
    if let Some(o) = options {
        if !o.cache_key.ptr.is_null() {
            // SAFETY: `bw_policy_start_with` documents that the key is readable.
            let k = unsafe { ffi::arg_str(o.cache_key.ptr, o.cache_key.len, "options.cache_key") }?;
            cache_key = Some(Arc::from(k));
        }
        if o.has_cached {
            cached = Some(o.cached.get("options.cached")?);
        }
    }
    let (call, step) = p.inner.start();
    let mut handle = Box::new(bw_policy_call {
        policy: p.inner.clone(),
        call,
        phase: Phase::Finished,
        names: p.names.clone(),
        cache: p.cache.clone(),
        cache_key,
        cached,
        choice: None,
        at_fallback: false,
    });
    handle.advance(step, out_step);
    out_call.write(Box::into_raw(handle));
    Ok(())
}

/// `bw_policy_start` with per-call inputs (`options` may be NULL): the cache key the fallback
/// decision sees and what the cache holds for it. Thread-safe.
///
/// # Safety
/// `policy` is NULL or a live handle; `options` is NULL or readable (its key readable for its
/// length); `out_call` and `out_step` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_start_with(
    policy: *const bw_policy,
    options: *const bw_call_options,
    out_call: *mut *mut bw_policy_call,
    out_step: *mut bw_step,
) -> bw_result {
    boundary("bw_policy_start_with", || {
        // SAFETY: documented requirement on `policy`.
        let p = unsafe { ffi::arg_ref(policy, "policy") }?;
        let out_call = Out::new(out_call, "out_call")?;
        let out_step = Out::new(out_step, "out_step")?;
        // SAFETY: documented requirement on `options`.
        let o = unsafe { options.as_ref() };
        start(p, o, out_call, out_step)
    })
}

/// For a call that is over: what `call_with_info` gives beside the value, written to `*out`.
/// After `BW_STEP_DONE` with `BW_VERDICT_VALUE`: a live result. After `BW_STEP_FALLBACK`: from
/// a fallback, with the strategy the manager chose (`strategy` NULL when none chose: your own
/// fallback function served), the trigger as the reason, and whether a cached response was
/// stale. `BW_RESULT_INVALID_ARGUMENT` while the call is still running. Not concurrently with
/// a step of the same call.
///
/// # Safety
/// `call` is NULL or a live call; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_call_info(
    call: *const bw_policy_call,
    out: *mut bw_call_info,
) -> bw_result {
    boundary("bw_policy_call_info", || {
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_ref(call, "call") }?;
        let out = Out::new(out, "out")?;
        if c.phase != Phase::Finished || c.call.verdict().is_none() {
            return Err(Error::invalid("the call is not over yet"));
        }
        let from_fallback = !matches!(c.call.verdict(), Some(Verdict::Value | Verdict::Cancelled))
            && (c.policy.parts().fallback || c.policy.degradation().is_some());
        let info = if from_fallback {
            c.call.fallback_info(c.choice.as_ref())
        } else {
            c.call.info()
        };
        out.write(bw_call_info {
            from_fallback: info.from_fallback,
            strategy: c.names.opt(info.strategy.as_deref()),
            has_kind: info.kind.is_some(),
            kind: kind_to_c(info.kind.unwrap_or(StrategyKind::Custom)),
            has_reason: info.reason.is_some(),
            reason: trigger_to_c(info.reason.unwrap_or(Trigger::ErrorRate)),
            stale: info.stale,
            attempts: info.attempts,
        });
        Ok(())
    })
}

/// After `BW_STEP_FALLBACK`, when a fallback served the call: emits the policy's `fallback`
/// event to its listeners (`bw_policy_on_event`), with `strategy` (the strategy that served,
/// `strategy_len` bytes of UTF-8; NULL for your own fallback function, whatever
/// `strategy_len`), the trigger as its reason, the attempts and the last failure's category.
/// Call it once, when the fallback's value is the result; not when the fallback does not serve
/// (the verdict applies). `BW_RESULT_INVALID_ARGUMENT` when the call's last step was not
/// `BW_STEP_FALLBACK`, or the call was not started on `policy`. Thread-safe for the policy; not
/// concurrently with a step of the same call.
///
/// # Safety
/// `policy` is NULL or a live handle; `call` is NULL or a live call; `strategy` is NULL or
/// points to `strategy_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_fallback_served(
    policy: *const bw_policy,
    call: *const bw_policy_call,
    strategy: *const c_char,
    strategy_len: usize,
) -> bw_result {
    boundary("bw_policy_fallback_served", || {
        // SAFETY: documented requirement on `policy`.
        let p = unsafe { ffi::arg_ref(policy, "policy") }?;
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_ref(call, "call") }?;
        let strategy = if strategy.is_null() {
            None
        } else {
            // SAFETY: documented requirement on `strategy`.
            Some(unsafe { ffi::arg_str(strategy, strategy_len, "strategy") }?)
        };
        if !Arc::ptr_eq(&p.inner, &c.policy) {
            return Err(Error::invalid("the call was not started on this policy"));
        }
        if c.phase != Phase::Finished || !c.at_fallback {
            return Err(Error::invalid(
                "only after a fallback step: the call's last step was not BW_STEP_FALLBACK",
            ));
        }
        p.inner.fallback_served(&c.call, strategy);
        Ok(())
    })
}

/// Reports how the attempt in flight ended and writes the next step. `failure` is required
/// for `BW_ATTEMPT_FAILURE` (ignored otherwise; may be NULL). `BW_RESULT_INVALID_ARGUMENT`
/// when the last step was not an attempt, or for an outcome or category out of range.
///
/// # Safety
/// `call` is NULL or a live call no other thread uses during this; `failure` is NULL or
/// readable; `out_step` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_record(
    call: *mut bw_policy_call,
    outcome: AttemptOutcomeArg,
    failure: *const bw_failure,
    out_step: *mut bw_step,
) -> bw_result {
    boundary("bw_policy_record", || {
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_mut(call, "call") }?;
        let out_step = Out::new(out_step, "out_step")?;
        let outcome = match outcome.0 {
            0 => AttemptOutcome::Success,
            1 => {
                // SAFETY: documented requirement on `failure`.
                let f = unsafe { ffi::arg_ref(failure, "failure") }?;
                AttemptOutcome::Failure(f.to_core("failure.category")?)
            }
            2 => AttemptOutcome::Cancelled,
            o => {
                return Err(Error::invalid(format!(
                    "argument `outcome`: {o} is not a bw_attempt_outcome (0..=2)"
                )));
            }
        };
        c.expect(Phase::Attempt, "BW_STEP_ATTEMPT")?;
        let step = c.policy.on_outcome(&mut c.call, outcome);
        c.advance(step, out_step);
        Ok(())
    })
}

/// The backoff sleep is over: writes the next step (the next attempt, or a rejection).
/// `BW_RESULT_INVALID_ARGUMENT` when the last step was not a sleep.
///
/// # Safety
/// `call` is NULL or a live call no other thread uses during this; `out_step` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_next(
    call: *mut bw_policy_call,
    out_step: *mut bw_step,
) -> bw_result {
    boundary("bw_policy_next", || {
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_mut(call, "call") }?;
        let out_step = Out::new(out_step, "out_step")?;
        c.expect(Phase::Sleep, "BW_STEP_SLEEP")?;
        let step = c.policy.after_sleep(&mut c.call);
        c.advance(step, out_step);
        Ok(())
    })
}

/// The bulkhead wait is over: `woken` when you were woken for the step's ticket, false when
/// `max_wait_ms` passed first. Writes the next step. `BW_RESULT_INVALID_ARGUMENT` when the
/// last step was not a wait.
///
/// # Safety
/// `call` is NULL or a live call no other thread uses during this; `out_step` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_after_wait(
    call: *mut bw_policy_call,
    woken: bool,
    out_step: *mut bw_step,
) -> bw_result {
    boundary("bw_policy_after_wait", || {
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_mut(call, "call") }?;
        let out_step = Out::new(out_step, "out_step")?;
        c.expect(Phase::Wait, "BW_STEP_WAIT")?;
        let step = c.policy.after_wait(&mut c.call, woken);
        c.advance(step, out_step);
        Ok(())
    })
}

/// The caller cancelled the call (during an attempt, a sleep or a wait): releases what it
/// holds, counts nothing, and writes the final step (`BW_VERDICT_CANCELLED`).
/// `BW_RESULT_INVALID_ARGUMENT` when the call is already over.
///
/// # Safety
/// `call` is NULL or a live call no other thread uses during this; `out_step` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_cancel(
    call: *mut bw_policy_call,
    out_step: *mut bw_step,
) -> bw_result {
    boundary("bw_policy_cancel", || {
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_mut(call, "call") }?;
        let out_step = Out::new(out_step, "out_step")?;
        if c.phase == Phase::Finished {
            return Err(Error::invalid("the call is already over"));
        }
        let step = c.policy.cancel(&mut c.call);
        c.advance(step, out_step);
        Ok(())
    })
}

/// After a step that left the bulkhead: when a queued call was handed this call's slot,
/// `*out_has_wake` becomes true and `*out_ticket` names the call to wake (check after each
/// `bw_policy_record` / `bw_policy_cancel` when the policy has a queueing bulkhead). Either
/// output may be NULL.
///
/// # Safety
/// `call` is NULL or a live call no other thread uses during this; the outputs are NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_call_take_wake(
    call: *mut bw_policy_call,
    out_has_wake: *mut bool,
    out_ticket: *mut u64,
) -> bw_result {
    boundary("bw_policy_call_take_wake", || {
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_mut(call, "call") }?;
        let wake = c.call.take_wake();
        OptOut::new(out_has_wake).write(wake.is_some());
        OptOut::new(out_ticket).write(wake.map_or(0, |t| t.0));
        Ok(())
    })
}

/// Writes the attempts started so far to `*out_attempts`. Not concurrently with a step of
/// the same call (other calls: any thread).
///
/// # Safety
/// `call` is NULL or a live call; `out_attempts` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_call_attempts(
    call: *const bw_policy_call,
    out_attempts: *mut u32,
) -> bw_result {
    boundary("bw_policy_call_attempts", || {
        // SAFETY: documented requirement on `call`.
        let c = unsafe { ffi::arg_ref(call, "call") }?;
        Out::new(out_attempts, "out_attempts")?.write(c.call.attempts());
        Ok(())
    })
}

/// Destroys a call's state; NULL is a no-op. An unfinished call is cancelled first (its
/// permit, bulkhead slot or place in line released). Free it exactly once, when no other
/// thread is using it.
///
/// # Safety
/// `call` is NULL or a live call, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_call_free(call: *mut bw_policy_call) {
    // SAFETY: documented requirement on `call`.
    unsafe { ffi::free_handle("bw_policy_call_free", call) }
}

/// Calls `callback(userdata, event)` for the policy's own events of `kind` ("retry",
/// "give_up"; `BW_EVENT_KIND_ALL` for both); the breaker has its own (`bw_breaker_on`).
/// Writes the subscription id to `*out_id` when not NULL. Thread-safe; see
/// `bw_event_callback`.
///
/// # Safety
/// As `bw_breaker_on`, with `policy` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_on(
    policy: *const bw_policy,
    kind: EventKindArg,
    callback: bw_event_callback,
    userdata: *mut c_void,
    out_id: *mut u64,
) -> bw_result {
    boundary("bw_policy_on", || {
        // SAFETY: documented requirement on `policy`.
        let p = unsafe { ffi::arg_ref(policy, "policy") }?;
        events::on(kind, callback, userdata, out_id, |k, l| {
            p.inner.subscribe(k, l)
        })
    })
}

/// Removes the subscription `id` made by `bw_policy_on`. `BW_RESULT_INVALID_ARGUMENT` when
/// there is no such subscription. Thread-safe.
///
/// # Safety
/// `policy` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_policy_off(policy: *const bw_policy, id: u64) -> bw_result {
    boundary("bw_policy_off", || {
        // SAFETY: documented requirement on `policy`.
        let p = unsafe { ffi::arg_ref(policy, "policy") }?;
        events::off(id, |i| p.inner.unsubscribe(i))
    })
}
