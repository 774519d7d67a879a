//! Retry decisions (contract section 1, "Retry"): after a failed attempt the core answers
//! "retry after D ms" or "give up because R"; the caller sleeps on its own timer.

#![allow(non_camel_case_types)]

use std::ffi::c_char;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use breakwater_core::config::{ConfigErrors, Spelling};
use breakwater_core::{
    BudgetConfig, ClockRef, Decision, GiveUpReason, Jitter, RetryConfig, RetryPolicy, RetryState,
};

use crate::breaker::{clock_of, parse_json};
use crate::classify::bw_failure;
use crate::clock::bw_manual_clock;
use crate::ffi::{self, Error, Out, boundary, boundary_value};
use crate::result::bw_result;
use crate::types::{CategoryArg, category_set, floor_ms, ms};

/// How the backoff is randomised. `bw_jitter_name` gives its name.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_jitter {
    /// "none": exp(n) = min(max_delay, base_delay x multiplier^(n-1)).
    BW_JITTER_NONE = 0,
    /// "full" (the default): U(0, exp(n)).
    BW_JITTER_FULL = 1,
    /// "equal": exp(n)/2 + U(0, exp(n)/2).
    BW_JITTER_EQUAL = 2,
    /// "decorrelated": min(max_delay, U(base_delay, 3 x previous)).
    BW_JITTER_DECORRELATED = 3,
    /// "proportional": exp(n) x (1 + U(-jitter_factor, +jitter_factor)), capped.
    BW_JITTER_PROPORTIONAL = 4,
}

/// A `bw_jitter` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct JitterArg(pub u32);

/// Why a call stopped retrying (a closed set). `bw_give_up_reason_name` gives its name.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_give_up_reason {
    /// "max_attempts"
    BW_GIVE_UP_MAX_ATTEMPTS = 0,
    /// "not_retryable": the category is not in retry_on, or the request may have been sent
    /// and the call is not idempotent.
    BW_GIVE_UP_NOT_RETRYABLE = 1,
    /// "circuit_open"
    BW_GIVE_UP_CIRCUIT_OPEN = 2,
    /// "rate_limited"
    BW_GIVE_UP_RATE_LIMITED = 3,
    /// "bulkhead_full"
    BW_GIVE_UP_BULKHEAD_FULL = 4,
    /// "max_elapsed"
    BW_GIVE_UP_MAX_ELAPSED = 5,
    /// "retry_after_exceeds_max"
    BW_GIVE_UP_RETRY_AFTER_EXCEEDS_MAX = 6,
    /// "budget_exhausted"
    BW_GIVE_UP_BUDGET_EXHAUSTED = 7,
    /// "cancelled"
    BW_GIVE_UP_CANCELLED = 8,
}

/// A `bw_give_up_reason` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct GiveUpReasonArg(pub u32);

pub(crate) fn give_up_to_c(r: GiveUpReason) -> bw_give_up_reason {
    use bw_give_up_reason::*;
    match r {
        GiveUpReason::MaxAttempts => BW_GIVE_UP_MAX_ATTEMPTS,
        GiveUpReason::NotRetryable => BW_GIVE_UP_NOT_RETRYABLE,
        GiveUpReason::CircuitOpen => BW_GIVE_UP_CIRCUIT_OPEN,
        GiveUpReason::RateLimited => BW_GIVE_UP_RATE_LIMITED,
        GiveUpReason::BulkheadFull => BW_GIVE_UP_BULKHEAD_FULL,
        GiveUpReason::MaxElapsed => BW_GIVE_UP_MAX_ELAPSED,
        GiveUpReason::RetryAfterExceedsMax => BW_GIVE_UP_RETRY_AFTER_EXCEEDS_MAX,
        GiveUpReason::BudgetExhausted => BW_GIVE_UP_BUDGET_EXHAUSTED,
        GiveUpReason::Cancelled => BW_GIVE_UP_CANCELLED,
    }
}

const GIVE_UP_NAMES: [&std::ffi::CStr; 9] = [
    c"max_attempts",
    c"not_retryable",
    c"circuit_open",
    c"rate_limited",
    c"bulkhead_full",
    c"max_elapsed",
    c"retry_after_exceeds_max",
    c"budget_exhausted",
    c"cancelled",
];
const JITTER_NAMES: [&std::ffi::CStr; 5] =
    [c"none", c"full", c"equal", c"decorrelated", c"proportional"];

/// The name of a give-up reason ("max_attempts", "not_retryable", ...); NULL for a value that
/// is not a `bw_give_up_reason`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_give_up_reason_name(reason: GiveUpReasonArg) -> *const c_char {
    boundary_value("bw_give_up_reason_name", std::ptr::null(), || {
        GIVE_UP_NAMES
            .get(reason.0 as usize)
            .map_or(std::ptr::null(), |n| n.as_ptr())
    })
}

/// The name of a jitter kind ("none", "full", "equal", "decorrelated", "proportional"); NULL
/// for a value that is not a `bw_jitter`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_jitter_name(jitter: JitterArg) -> *const c_char {
    boundary_value("bw_jitter_name", std::ptr::null(), || {
        JITTER_NAMES
            .get(jitter.0 as usize)
            .map_or(std::ptr::null(), |n| n.as_ptr())
    })
}

// ----- config builder -----------------------------------------------------------------------

/// A retry policy's configuration, one setter per key (contract section 1, "Retry"), or
/// loaded from JSON. Starts with the contract's defaults: max_attempts 3, base_delay 200 ms,
/// max_delay 8000 ms, multiplier 2.0, full jitter, jitter_factor 0.15, no max_elapsed,
/// retry_on network, timeout, rate_limited, server, database, external_api, max_retry_after
/// 60000 ms, idempotent, no seed (drawn from the OS), no budget. Setters only store; values
/// are checked by `bw_retry_new` / `bw_retry_config_validate`, which name the key.
///
/// Made by `bw_retry_config_new` / `bw_retry_config_from_json`, destroyed by
/// `bw_retry_config_free`. May be moved between threads; not changed while another thread
/// uses it.
pub struct bw_retry_config {
    pub(crate) config: RetryConfig,
    pub(crate) spelling: Spelling,
}

impl bw_retry_config {
    fn validate(&self) -> Result<(), ConfigErrors> {
        self.config.validate_spelled(&self.spelling)
    }
}

/// A new retry config with the contract's defaults. Free it with `bw_retry_config_free`.
/// NULL only on a panic. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_retry_config_new() -> *mut bw_retry_config {
    boundary_value("bw_retry_config_new", std::ptr::null_mut(), || {
        ffi::into_handle(bw_retry_config {
            config: RetryConfig::default(),
            spelling: Spelling::default(),
        })
    })
}

/// Loads a retry config from a JSON object in config-file spelling (`{"max_attempts": 5,
/// "base_delay_ms": 100, "jitter": "none", "retry_on": ["server"]}`, or camelCase in ms).
/// On success writes a new builder to `*out`. `BW_RESULT_CONFIG_INVALID` names the key as
/// written (`bw_last_error_key`). Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_from_json(
    json: *const c_char,
    len: usize,
    out: *mut *mut bw_retry_config,
) -> bw_result {
    boundary("bw_retry_config_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let config = RetryConfig::from_json(&parse_json(text)?)?;
        out.write(ffi::into_handle(bw_retry_config {
            config,
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

/// Checks the config as `bw_retry_new` would. Thread-safe (reads only).
///
/// # Safety
/// `config` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_validate(config: *const bw_retry_config) -> bw_result {
    boundary("bw_retry_config_validate", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        Ok(c.validate()?)
    })
}

/// Destroys a retry config builder; NULL is a no-op. Free it exactly once, when no other
/// thread is using it.
///
/// # Safety
/// `config` is NULL or a live builder, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_free(config: *mut bw_retry_config) {
    // SAFETY: documented requirement on `config`.
    unsafe { ffi::free_handle("bw_retry_config_free", config) }
}

fn setter(
    func: &'static str,
    config: *mut bw_retry_config,
    apply: impl FnOnce(&mut bw_retry_config) -> ffi::Result<()>,
) -> bw_result {
    // SAFETY: every setter documents that `config` is NULL or a live builder that no other
    // thread uses during the call.
    unsafe { ffi::with_builder(func, config, apply) }
}

/// Total attempts, the first included. Allowed 1..=100. Default 3.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_max_attempts(
    config: *mut bw_retry_config,
    max_attempts: u32,
) -> bw_result {
    setter("bw_retry_config_set_max_attempts", config, |c| {
        c.config.max_attempts = max_attempts;
        c.spelling
            .set("max_attempts", "max_attempts", max_attempts.to_string());
        Ok(())
    })
}

/// The first backoff, in ms. Allowed >= 0. Default 200.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_base_delay_ms(
    config: *mut bw_retry_config,
    base_delay_ms: u64,
) -> bw_result {
    setter("bw_retry_config_set_base_delay_ms", config, |c| {
        c.config.base_delay = ms(base_delay_ms);
        c.spelling
            .set("base_delay", "base_delay_ms", base_delay_ms.to_string());
        Ok(())
    })
}

/// The cap of the computed backoff, in ms (Retry-After is not capped). Allowed >= base_delay
/// (key "max_delay_ms"). Default 8000.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_max_delay_ms(
    config: *mut bw_retry_config,
    max_delay_ms: u64,
) -> bw_result {
    setter("bw_retry_config_set_max_delay_ms", config, |c| {
        c.config.max_delay = ms(max_delay_ms);
        c.spelling
            .set("max_delay", "max_delay_ms", max_delay_ms.to_string());
        Ok(())
    })
}

/// The backoff's growth per retry. Allowed >= 1 (finite). Default 2.0.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_multiplier(
    config: *mut bw_retry_config,
    multiplier: f64,
) -> bw_result {
    setter("bw_retry_config_set_multiplier", config, |c| {
        c.config.multiplier = multiplier;
        c.spelling
            .set("multiplier", "multiplier", multiplier.to_string());
        Ok(())
    })
}

/// The jitter kind. A value that is not a `bw_jitter` is `BW_RESULT_INVALID_ARGUMENT` here.
/// Default `BW_JITTER_FULL`.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_jitter(
    config: *mut bw_retry_config,
    jitter: JitterArg,
) -> bw_result {
    setter("bw_retry_config_set_jitter", config, |c| {
        c.config.jitter = Jitter::ALL.get(jitter.0 as usize).copied().ok_or_else(|| {
            Error::invalid(format!(
                "argument `jitter`: {} is not a bw_jitter (0..=4)",
                jitter.0
            ))
        })?;
        Ok(())
    })
}

/// The spread of proportional jitter. Allowed [0, 1]. Default 0.15.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_jitter_factor(
    config: *mut bw_retry_config,
    jitter_factor: f64,
) -> bw_result {
    setter("bw_retry_config_set_jitter_factor", config, |c| {
        c.config.jitter_factor = jitter_factor;
        c.spelling
            .set("jitter_factor", "jitter_factor", jitter_factor.to_string());
        Ok(())
    })
}

/// Give up rather than retry past this many ms since the first attempt. Allowed > 0.
/// Default: none.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_max_elapsed_ms(
    config: *mut bw_retry_config,
    max_elapsed_ms: u64,
) -> bw_result {
    setter("bw_retry_config_set_max_elapsed_ms", config, |c| {
        c.config.max_elapsed = Some(ms(max_elapsed_ms));
        c.spelling
            .set("max_elapsed", "max_elapsed_ms", max_elapsed_ms.to_string());
        Ok(())
    })
}

/// The categories retried (replacing the default set). (NULL, 0) retries nothing. A value
/// that is not a `bw_category` is `BW_RESULT_INVALID_ARGUMENT` here.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call; `categories` is
/// NULL or points to `count` readable values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_retry_on(
    config: *mut bw_retry_config,
    categories: *const CategoryArg,
    count: usize,
) -> bw_result {
    setter("bw_retry_config_set_retry_on", config, |c| {
        // SAFETY: documented requirement on `categories`.
        let list = unsafe { ffi::arg_slice(categories, count, "categories") }?;
        c.config.retry_on = category_set(list, "categories")?;
        Ok(())
    })
}

/// A server asking to wait longer than this many ms ends the retries
/// (`BW_GIVE_UP_RETRY_AFTER_EXCEEDS_MAX`). Allowed >= 0. Default 60000.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_max_retry_after_ms(
    config: *mut bw_retry_config,
    max_retry_after_ms: u64,
) -> bw_result {
    setter("bw_retry_config_set_max_retry_after_ms", config, |c| {
        c.config.max_retry_after = ms(max_retry_after_ms);
        Ok(())
    })
}

/// false: retry only failures where the request was never sent (`bw_failure.not_sent`).
/// Default true.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_idempotent(
    config: *mut bw_retry_config,
    idempotent: bool,
) -> bw_result {
    setter("bw_retry_config_set_idempotent", config, |c| {
        c.config.idempotent = idempotent;
        Ok(())
    })
}

/// Seeds the policy's random stream, for reproducible jitter. Default: drawn from the OS.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_seed(
    config: *mut bw_retry_config,
    seed: u64,
) -> bw_result {
    setter("bw_retry_config_set_seed", config, |c| {
        c.config.seed = Some(seed);
        Ok(())
    })
}

/// A retry budget of the policy's own: retries may be at most `ratio` of first attempts plus
/// `min_per_second`, over `ttl_ms`. Allowed ratio [0, 1000] (key "budget.ratio"),
/// min_per_second 0..=1000000, ttl 10 ms..=1 day (key "budget.ttl_ms"). Default: none.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_set_budget(
    config: *mut bw_retry_config,
    ratio: f64,
    min_per_second: u32,
    ttl_ms: u64,
) -> bw_result {
    setter("bw_retry_config_set_budget", config, |c| {
        c.config.budget = Some(BudgetConfig {
            ratio,
            min_per_second,
            ttl: ms(ttl_ms),
        });
        Ok(())
    })
}

/// Budget errors are reported without a spelling by the core; name them as C's setter does.
fn respell_budget(mut e: ConfigErrors) -> ConfigErrors {
    for err in &mut e.0 {
        if err.key == "budget.ttl" {
            ffi::respell_key(err, "budget.ttl_ms");
        }
    }
    e
}

// ----- the policy ---------------------------------------------------------------------------

/// A retry policy shared by many calls: each call (`bw_retry_begin`) takes its own random
/// stream, so concurrent calls get different, reproducible delays. Made by `bw_retry_new`,
/// destroyed by `bw_retry_free`. Thread-safe: one handle may be used from any number of
/// threads at once (except `bw_retry_free`, which must come last).
pub struct bw_retry {
    pub(crate) inner: Arc<RetryPolicy>,
    pub(crate) clock: ClockRef,
}

/// A seed from the OS's randomness (the core never reads entropy itself).
pub(crate) fn os_seed() -> u64 {
    RandomState::new().hash_one(0x5EED_u64)
}

/// Makes a retry policy from `config` (copied), reading time from `clock` (a
/// `bw_manual_clock`, or NULL for the system clock) for max_elapsed and budgets. On success
/// writes the handle to `*out`. `BW_RESULT_CONFIG_INVALID` names the key. Thread-safe.
///
/// # Safety
/// `config` is NULL or a live builder; `clock` is NULL or a live clock; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_new(
    config: *const bw_retry_config,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_retry,
) -> bw_result {
    boundary("bw_retry_new", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        let out = Out::new(out, "out")?;
        c.validate().map_err(respell_budget)?;
        let inner = RetryPolicy::new(c.config.clone(), os_seed(), None).map_err(respell_budget)?;
        out.write(ffi::into_handle(bw_retry {
            inner: Arc::new(inner),
            clock: clock_of(clock),
        }));
        Ok(())
    })
}

/// Destroys a retry policy handle; NULL is a no-op. Calls begun from it keep working. Free it
/// exactly once, after every other thread has stopped using the handle.
///
/// # Safety
/// `retry` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_free(retry: *mut bw_retry) {
    // SAFETY: documented requirement on `retry`.
    unsafe { ffi::free_handle("bw_retry_free", retry) }
}

/// One call's retry state: attempts made, when it started, its own random stream. Made by
/// `bw_retry_begin`, destroyed by `bw_retry_call_free`. Belongs to one call: do not use one
/// from two threads at once (different calls on different threads are fine).
pub struct bw_retry_call {
    retry: Arc<RetryPolicy>,
    clock: ClockRef,
    state: RetryState,
}

/// The answer after a failed attempt.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_retry_decision {
    /// true: sleep `delay_ms`, then make attempt number `attempt`. false: give up because of
    /// `reason`.
    pub retry: bool,
    /// The backoff (Retry-After included), whole ms.
    pub delay_ms: u64,
    /// The attempt that follows (2 for the first retry).
    pub attempt: u32,
    pub reason: bw_give_up_reason,
}

/// Starts a call whose first attempt begins now (and deposits into the retry budget). Writes
/// the new call state to `*out_call`; free it with `bw_retry_call_free`. Thread-safe.
///
/// # Safety
/// `retry` is NULL or a live handle; `out_call` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_begin(
    retry: *const bw_retry,
    out_call: *mut *mut bw_retry_call,
) -> bw_result {
    boundary("bw_retry_begin", || {
        // SAFETY: documented requirement on `retry`.
        let r = unsafe { ffi::arg_ref(retry, "retry") }?;
        let out = Out::new(out_call, "out_call")?;
        let state = r.inner.begin(r.clock.now());
        out.write(ffi::into_handle(bw_retry_call {
            retry: r.inner.clone(),
            clock: r.clock.clone(),
            state,
        }));
        Ok(())
    })
}

/// Decides what follows the call's failed attempt (`failure`, e.g. from `bw_classify`), at
/// the clock's now, and writes the decision to `*out`. A give-up is `BW_OK` with
/// `out->retry` false. `BW_RESULT_INVALID_ARGUMENT` for a category out of range.
///
/// # Safety
/// `call` is NULL or a live call no other thread uses during this; `failure` is NULL or
/// readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_decide(
    call: *mut bw_retry_call,
    failure: *const bw_failure,
    out: *mut bw_retry_decision,
) -> bw_result {
    boundary("bw_retry_decide", || {
        // SAFETY: documented requirements on the arguments.
        let c = unsafe { ffi::arg_mut(call, "call") }?;
        // SAFETY: as above.
        let f = unsafe { ffi::arg_ref(failure, "failure") }?;
        let out = Out::new(out, "out")?;
        let failure = f.to_core("failure.category")?;
        let decision = c.retry.decide(&mut c.state, &failure, c.clock.now());
        out.write(match decision {
            Decision::Retry { delay, attempt } => bw_retry_decision {
                retry: true,
                delay_ms: floor_ms(delay),
                attempt,
                reason: bw_give_up_reason::BW_GIVE_UP_MAX_ATTEMPTS,
            },
            Decision::GiveUp(reason) => bw_retry_decision {
                retry: false,
                delay_ms: 0,
                attempt: c.state.attempts(),
                reason: give_up_to_c(reason),
            },
        });
        Ok(())
    })
}

/// Writes the attempts made so far (the current one included) to `*out_attempts`. Not
/// concurrently with `bw_retry_decide` on the same call (other calls: any thread).
///
/// # Safety
/// `call` is NULL or a live call; `out_attempts` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_call_attempts(
    call: *const bw_retry_call,
    out_attempts: *mut u32,
) -> bw_result {
    boundary("bw_retry_call_attempts", || {
        // SAFETY: documented requirements on the arguments.
        let c = unsafe { ffi::arg_ref(call, "call") }?;
        Out::new(out_attempts, "out_attempts")?.write(c.state.attempts());
        Ok(())
    })
}

/// Destroys a call's retry state; NULL is a no-op. Free it exactly once, when no other
/// thread is using it.
///
/// # Safety
/// `call` is NULL or a live call, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_call_free(call: *mut bw_retry_call) {
    // SAFETY: documented requirement on `call`.
    unsafe { ffi::free_handle("bw_retry_call_free", call) }
}
