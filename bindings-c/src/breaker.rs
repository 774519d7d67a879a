//! The circuit breaker: its config builder, the handle, the permit protocol, manual control,
//! reads and events (contract sections 1 and 2).

#![allow(non_camel_case_types)]

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use breakwater_core::config::{ConfigError, ConfigErrors, Spelling};
use breakwater_core::{
    BreakerConfig, Category, CircuitBreaker, ClockRef, Outcome, Permit, RecoveryBackoff, Rejection,
    Snapshot, State, WindowConfig,
};

use crate::clock::bw_manual_clock;
use crate::events::{self, bw_event_callback};
use crate::ffi::{self, Error, OptOut, Out, boundary, boundary_value};
use crate::result::bw_result;
use crate::types::{
    CategoryArg, EventKindArg, OutcomeArg, bw_category, bw_state, category_set, category_to_c,
    ceil_ms, floor_ms, state_to_c,
};

// ----- config builder -----------------------------------------------------------------------

/// A circuit breaker's configuration, built with one setter per key (contract section 1) or
/// loaded from JSON. Starts with the contract's defaults. Setters only store values; they are
/// checked together by `bw_breaker_new`, `bw_breaker_configure` and
/// `bw_breaker_config_validate`, which name the offending key (as the setter spells it, e.g.
/// "recovery_timeout_ms", "window.size") in `bw_last_error_key` / `bw_last_error_message`.
///
/// Made by `bw_breaker_config_new` / `bw_breaker_config_from_json`, destroyed by
/// `bw_breaker_config_free`. A breaker copies its config, so the builder may be freed or
/// reused right after `bw_breaker_new`. A builder may be moved between threads and read
/// from several at once, but not changed while another thread uses it.
pub struct bw_breaker_config {
    pub(crate) config: BreakerConfig,
    pub(crate) spelling: Spelling,
}

impl bw_breaker_config {
    fn validate(&self) -> Result<(), ConfigErrors> {
        self.config.validate_spelled(&self.spelling)
    }
}

pub(crate) fn parse_json(text: &str) -> ffi::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::config(ConfigErrors(vec![ConfigError::new(
            "(document)",
            format!("not valid JSON: {e}"),
            "a JSON object",
        )]))
    })
}

/// A new breaker config with the contract's defaults: failure_threshold 5,
/// failure_rate_threshold 0.5, minimum_calls 10, a 60 000 ms time window of 10 buckets, no
/// slow-call detection, slow_call_rate_threshold 1.0, recovery_timeout 60 000 ms, no
/// recovery backoff, half_open_max_calls 3, success_threshold 2, no max_half_open, client and
/// cancelled failures ignored. Free it with `bw_breaker_config_free`. NULL only on a panic.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_breaker_config_new() -> *mut bw_breaker_config {
    boundary_value("bw_breaker_config_new", std::ptr::null_mut(), || {
        ffi::into_handle(bw_breaker_config {
            config: BreakerConfig::default(),
            spelling: Spelling::default(),
        })
    })
}

/// Loads a breaker config from a JSON object (`json`: `len` bytes of UTF-8, not necessarily
/// NUL-terminated) in config-file spelling: snake_case keys with durations in ms and an `_ms`
/// suffix (`{"failure_threshold": 3, "recovery_timeout_ms": 1000, "window": {"type": "count",
/// "size": 20}}`), or the seeds' camelCase keys in ms (`failureThreshold`, `timeout`...).
/// Keys left out take the defaults. On success writes a new builder to `*out` (free it with
/// `bw_breaker_config_free`); setters may still change it.
///
/// `BW_RESULT_CONFIG_INVALID` for malformed JSON, an unknown key, a wrong type or a value out
/// of range (the key as written is in `bw_last_error_key`); `BW_RESULT_INVALID_ARGUMENT` for
/// invalid UTF-8. Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_from_json(
    json: *const c_char,
    len: usize,
    out: *mut *mut bw_breaker_config,
) -> bw_result {
    boundary("bw_breaker_config_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let config = BreakerConfig::from_json(&parse_json(text)?)?;
        out.write(ffi::into_handle(bw_breaker_config {
            config,
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

/// Checks the config as `bw_breaker_new` would: `BW_OK` or `BW_RESULT_CONFIG_INVALID`
/// naming the first offending key. Thread-safe (reads only).
///
/// # Safety
/// `config` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_validate(config: *const bw_breaker_config) -> bw_result {
    boundary("bw_breaker_config_validate", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        Ok(c.validate()?)
    })
}

/// Destroys a config builder; NULL is a no-op. Free each builder exactly once, when no other
/// thread is using it.
///
/// # Safety
/// `config` is NULL or a live builder, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_free(config: *mut bw_breaker_config) {
    // SAFETY: documented requirement on `config`.
    unsafe { ffi::free_handle("bw_breaker_config_free", config) }
}

fn setter(
    func: &'static str,
    config: *mut bw_breaker_config,
    apply: impl FnOnce(&mut bw_breaker_config) -> ffi::Result<()>,
) -> bw_result {
    // SAFETY: every setter documents that `config` is NULL or a live builder that no other
    // thread uses during the call.
    unsafe { ffi::with_builder(func, config, apply) }
}

use crate::types::ms;

/// Consecutive failures that open the circuit; 0 turns this trigger off. Allowed
/// 0..=1000000 (checked by `bw_breaker_new`). Default 5.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_failure_threshold(
    config: *mut bw_breaker_config,
    failure_threshold: u32,
) -> bw_result {
    setter("bw_breaker_config_set_failure_threshold", config, |c| {
        c.config.failure_threshold = failure_threshold;
        c.spelling.set(
            "failure_threshold",
            "failure_threshold",
            failure_threshold.to_string(),
        );
        Ok(())
    })
}

/// Open when the window's failure rate is at least this. Allowed (0, 1]. Default 0.5.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_failure_rate_threshold(
    config: *mut bw_breaker_config,
    failure_rate_threshold: f64,
) -> bw_result {
    setter(
        "bw_breaker_config_set_failure_rate_threshold",
        config,
        |c| {
            c.config.failure_rate_threshold = failure_rate_threshold;
            c.spelling.set(
                "failure_rate_threshold",
                "failure_rate_threshold",
                failure_rate_threshold.to_string(),
            );
            Ok(())
        },
    )
}

/// Calls in the window before the rate triggers are evaluated (capped at a count window's
/// size). Allowed 1..=1000000. Default 10.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_minimum_calls(
    config: *mut bw_breaker_config,
    minimum_calls: u32,
) -> bw_result {
    setter("bw_breaker_config_set_minimum_calls", config, |c| {
        c.config.minimum_calls = minimum_calls;
        c.spelling
            .set("minimum_calls", "minimum_calls", minimum_calls.to_string());
        Ok(())
    })
}

/// A count window: the last `size` calls. Allowed size 1..=100000 (key "window.size").
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_count_window(
    config: *mut bw_breaker_config,
    size: u32,
) -> bw_result {
    setter("bw_breaker_config_set_count_window", config, |c| {
        c.config.window = WindowConfig::Count { size };
        c.spelling
            .set("window.size", "window.size", size.to_string());
        Ok(())
    })
}

/// A time window: the calls of the last `duration_ms` ms in `buckets` buckets. Allowed
/// buckets 1..=1000 (key "window.buckets"); `duration_ms` at least `buckets` and a multiple
/// of it (key "window.duration_ms"). The default is 60000 ms in 10 buckets.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_time_window(
    config: *mut bw_breaker_config,
    duration_ms: u64,
    buckets: u32,
) -> bw_result {
    setter("bw_breaker_config_set_time_window", config, |c| {
        c.config.window = WindowConfig::Time {
            duration: ms(duration_ms),
            buckets,
        };
        c.spelling.set(
            "window.duration",
            "window.duration_ms",
            duration_ms.to_string(),
        );
        c.spelling
            .set("window.buckets", "window.buckets", buckets.to_string());
        Ok(())
    })
}

/// Turns slow-call detection on: a call lasting at least `slow_call_duration_ms` is slow.
/// Allowed > 0. Default: off.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_slow_call_duration_ms(
    config: *mut bw_breaker_config,
    slow_call_duration_ms: u64,
) -> bw_result {
    setter("bw_breaker_config_set_slow_call_duration_ms", config, |c| {
        c.config.slow_call_duration = Some(ms(slow_call_duration_ms));
        c.spelling.set(
            "slow_call_duration",
            "slow_call_duration_ms",
            slow_call_duration_ms.to_string(),
        );
        Ok(())
    })
}

/// Open when the slow-call rate is at least this (only while slow detection is on). Allowed
/// (0, 1]. Default 1.0.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_slow_call_rate_threshold(
    config: *mut bw_breaker_config,
    slow_call_rate_threshold: f64,
) -> bw_result {
    setter(
        "bw_breaker_config_set_slow_call_rate_threshold",
        config,
        |c| {
            c.config.slow_call_rate_threshold = slow_call_rate_threshold;
            c.spelling.set(
                "slow_call_rate_threshold",
                "slow_call_rate_threshold",
                slow_call_rate_threshold.to_string(),
            );
            Ok(())
        },
    )
}

/// Time open before a probe is allowed. Allowed 1..=86400000 ms (one day). Default 60000.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_recovery_timeout_ms(
    config: *mut bw_breaker_config,
    recovery_timeout_ms: u64,
) -> bw_result {
    setter("bw_breaker_config_set_recovery_timeout_ms", config, |c| {
        c.config.recovery_timeout = ms(recovery_timeout_ms);
        c.spelling.set(
            "recovery_timeout",
            "recovery_timeout_ms",
            recovery_timeout_ms.to_string(),
        );
        Ok(())
    })
}

/// Longer open periods while probes keep failing: open time = recovery_timeout x
/// multiplier^(opens_in_a_row - 1), capped at `max_ms`. Allowed multiplier >= 1 (key
/// "recovery_backoff.multiplier"), `max_ms` >= recovery_timeout (key
/// "recovery_backoff.max_ms"). Default: none.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_recovery_backoff(
    config: *mut bw_breaker_config,
    multiplier: f64,
    max_ms: u64,
) -> bw_result {
    setter("bw_breaker_config_set_recovery_backoff", config, |c| {
        c.config.recovery_backoff = Some(RecoveryBackoff {
            multiplier,
            max: ms(max_ms),
        });
        c.spelling.set(
            "recovery_backoff.multiplier",
            "recovery_backoff.multiplier",
            multiplier.to_string(),
        );
        c.spelling.set(
            "recovery_backoff.max",
            "recovery_backoff.max_ms",
            max_ms.to_string(),
        );
        Ok(())
    })
}

/// Probes in flight at once while half-open. Allowed 1..=1000. Default 3.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_half_open_max_calls(
    config: *mut bw_breaker_config,
    half_open_max_calls: u32,
) -> bw_result {
    setter("bw_breaker_config_set_half_open_max_calls", config, |c| {
        c.config.half_open_max_calls = half_open_max_calls;
        c.spelling.set(
            "half_open_max_calls",
            "half_open_max_calls",
            half_open_max_calls.to_string(),
        );
        Ok(())
    })
}

/// Consecutive probe successes that close the circuit. Allowed 1..=1000. Default 2.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_success_threshold(
    config: *mut bw_breaker_config,
    success_threshold: u32,
) -> bw_result {
    setter("bw_breaker_config_set_success_threshold", config, |c| {
        c.config.success_threshold = success_threshold;
        c.spelling.set(
            "success_threshold",
            "success_threshold",
            success_threshold.to_string(),
        );
        Ok(())
    })
}

/// A half-open period that has not closed within `max_half_open_ms` reopens. Allowed > 0.
/// Default: none.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_max_half_open_ms(
    config: *mut bw_breaker_config,
    max_half_open_ms: u64,
) -> bw_result {
    setter("bw_breaker_config_set_max_half_open_ms", config, |c| {
        c.config.max_half_open = Some(ms(max_half_open_ms));
        c.spelling.set(
            "max_half_open",
            "max_half_open_ms",
            max_half_open_ms.to_string(),
        );
        Ok(())
    })
}

/// The failure categories the breaker ignores (counted as neither success nor failure),
/// replacing the default set (client, cancelled). `categories` holds `count` values; NULL
/// with `count` 0 is the empty set (count every failure). A value that is not a
/// `bw_category` is `BW_RESULT_INVALID_ARGUMENT` and leaves the builder unchanged.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call; `categories` is
/// NULL or points to `count` readable values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_set_ignored_categories(
    config: *mut bw_breaker_config,
    categories: *const CategoryArg,
    count: usize,
) -> bw_result {
    setter("bw_breaker_config_set_ignored_categories", config, |c| {
        // SAFETY: documented requirement on `categories`.
        let list = unsafe { ffi::arg_slice(categories, count, "categories") }?;
        let set = category_set(list, "categories")?;
        c.config.ignored_categories = set;
        Ok(())
    })
}

// ----- the breaker --------------------------------------------------------------------------

/// A circuit breaker. Made by `bw_breaker_new`, destroyed by `bw_breaker_free`.
///
/// Thread-safe: one handle may be used from any number of threads at once (every function
/// takes `const bw_breaker *`), except `bw_breaker_free`, which must come last.
pub struct bw_breaker {
    pub(crate) inner: Arc<CircuitBreaker>,
    pub(crate) name: CString,
}

/// Permission to make one call, from `bw_breaker_try_acquire`. Treat the fields as opaque:
/// copy the struct freely, and hand it back exactly once, to `bw_breaker_record` (with the
/// outcome) or `bw_breaker_release` (the call never ran). Nothing to free.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct bw_permit {
    /// The breaker generation it was granted in.
    pub generation: u64,
    /// When the call started, in ns on the breaker's clock.
    pub start_ns: u64,
    /// Nonzero when it holds one of the half-open probe slots.
    pub probe: u8,
}

/// Why a call was refused: written to the optional `bw_rejection` out-parameter together
/// with a rejection code (`BW_RESULT_CIRCUIT_OPEN`, `BW_RESULT_RATE_LIMITED`,
/// `BW_RESULT_BULKHEAD_FULL`), and only then.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct bw_rejection {
    /// The rejection code (the same as the function returned).
    pub code: bw_result,
    /// Whether `state` is set (only for `BW_RESULT_CIRCUIT_OPEN`).
    pub has_state: bool,
    /// The breaker state that rejected (`BW_STATE_OPEN`, `BW_STATE_HALF_OPEN` when the probes
    /// are all in flight, `BW_STATE_FORCED_OPEN`).
    pub state: bw_state,
    /// Whether `retry_after_ms` is set (false when forced open).
    pub has_retry_after: bool,
    /// When to try again, in ms, rounded up: the rest of the open period; 0 when half-open
    /// is full.
    pub retry_after_ms: u64,
}

/// A point-in-time view of a breaker (contract section 2, "Snapshot fields"). Durations are
/// whole milliseconds: `state_since_ms` rounded down, `retry_after_ms` rounded up.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct bw_snapshot {
    pub state: bw_state,
    /// Time in the current state.
    pub state_since_ms: u64,
    /// Recorded successes and failures in the window (never ignored or rejected calls).
    pub calls: u64,
    pub failures: u64,
    pub slow_calls: u64,
    /// failures / calls (0 when calls is 0).
    pub failure_rate: f64,
    /// slow_calls / calls (0 when calls is 0).
    pub slow_call_rate: f64,
    pub consecutive_failures: u64,
    pub consecutive_successes: u64,
    /// successes_total + failures_total.
    pub calls_total: u64,
    pub successes_total: u64,
    pub failures_total: u64,
    pub ignored_total: u64,
    pub rejected_total: u64,
    pub times_opened: u64,
    /// Whether `last_failure_category` is set (false before the first failure).
    pub has_last_failure_category: bool,
    pub last_failure_category: bw_category,
    /// Whether `retry_after_ms` is set (only while open).
    pub has_retry_after: bool,
    /// The rest of the open period.
    pub retry_after_ms: u64,
}

#[inline]
fn permit_to_c(p: Permit) -> bw_permit {
    bw_permit {
        generation: p.generation(),
        start_ns: p.start(),
        probe: p.is_probe() as u8,
    }
}

#[inline]
fn permit_from_c(p: bw_permit) -> Permit {
    Permit::from_parts(p.generation, p.start_ns, p.probe != 0)
}

pub(crate) fn rejection_to_c(r: Rejection) -> bw_rejection {
    bw_rejection {
        code: bw_result::BW_RESULT_CIRCUIT_OPEN,
        has_state: true,
        state: state_to_c(r.state),
        has_retry_after: r.retry_after.is_some(),
        retry_after_ms: r.retry_after.map_or(0, ceil_ms),
    }
}

pub(crate) fn snapshot_to_c(s: &Snapshot) -> bw_snapshot {
    bw_snapshot {
        state: state_to_c(s.state),
        state_since_ms: floor_ms(s.state_since),
        calls: s.calls,
        failures: s.failures,
        slow_calls: s.slow_calls,
        failure_rate: s.failure_rate,
        slow_call_rate: s.slow_call_rate,
        consecutive_failures: s.consecutive_failures,
        consecutive_successes: s.consecutive_successes,
        calls_total: s.calls_total,
        successes_total: s.successes_total,
        failures_total: s.failures_total,
        ignored_total: s.ignored_total,
        rejected_total: s.rejected_total,
        times_opened: s.times_opened,
        has_last_failure_category: s.last_failure_category.is_some(),
        last_failure_category: category_to_c(s.last_failure_category.unwrap_or(Category::Unknown)),
        has_retry_after: s.retry_after.is_some(),
        retry_after_ms: s.retry_after.map_or(0, ceil_ms),
    }
}

pub(crate) fn clock_of(clock: *const bw_manual_clock) -> ClockRef {
    // SAFETY: callers document that `clock` is NULL or a live handle.
    match unsafe { clock.as_ref() } {
        None => ClockRef::system(),
        Some(c) => ClockRef::Manual(c.inner.clone()),
    }
}

/// Makes a breaker named `name` (`name_len` bytes of UTF-8 without NUL bytes, not
/// necessarily NUL-terminated; the component name in events) from `config` (copied; the
/// builder stays the caller's), reading time from `clock` (a `bw_manual_clock`, or NULL for
/// the system clock). On success writes the new handle to `*out`; free it with
/// `bw_breaker_free`.
///
/// `BW_RESULT_CONFIG_INVALID` when a value is out of range (the key, as the setter or JSON
/// spells it, in `bw_last_error_key`); `BW_RESULT_INVALID_ARGUMENT` for a name that is not
/// UTF-8 or contains a NUL byte; `BW_RESULT_NULL_ARGUMENT` for a NULL `name`, `config` or
/// `out`. Thread-safe.
///
/// # Safety
/// `name` points to `name_len` readable bytes; `config` is NULL or a live builder; `clock`
/// is NULL or a live clock; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_new(
    name: *const c_char,
    name_len: usize,
    config: *const bw_breaker_config,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_breaker,
) -> bw_result {
    boundary("bw_breaker_new", || {
        // SAFETY: documented requirements on the arguments.
        let name = unsafe { ffi::arg_str(name, name_len, "name") }?;
        // SAFETY: as above.
        let config = unsafe { ffi::arg_ref(config, "config") }?;
        let out = Out::new(out, "out")?;
        let name_c = CString::new(name)
            .map_err(|_| Error::invalid("argument `name` contains a NUL byte"))?;
        config.validate()?;
        let inner = CircuitBreaker::new(name, config.config.clone(), clock_of(clock))?;
        out.write(ffi::into_handle(bw_breaker {
            inner: Arc::new(inner),
            name: name_c,
        }));
        Ok(())
    })
}

/// Destroys a breaker (and its event subscriptions); NULL is a no-op. Call it exactly once,
/// after every other thread has stopped using the handle.
///
/// # Safety
/// `breaker` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_free(breaker: *mut bw_breaker) {
    // SAFETY: documented requirement on `breaker`.
    unsafe { ffi::free_handle("bw_breaker_free", breaker) }
}

/// Runs the body of a function on a breaker handle.
#[inline(always)]
fn on_breaker(
    func: &'static str,
    breaker: *const bw_breaker,
    body: impl FnOnce(&bw_breaker) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `breaker` is NULL or a live handle.
        let b = unsafe { ffi::arg_ref(breaker, "breaker") }?;
        body(b)
    })
}

/// Asks to make a call. `BW_OK`: the call may go ahead, and `*out_permit` holds the permit
/// to hand back to `bw_breaker_record` or `bw_breaker_release`. `BW_RESULT_CIRCUIT_OPEN`: the
/// breaker refused (open, forced open, or half-open with every probe slot taken);
/// `*out_rejection` (when not NULL) says why and when to try again, and `*out_permit` is not
/// written. Allocates nothing. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_permit` is NULL or writable; `out_rejection` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_try_acquire(
    breaker: *const bw_breaker,
    out_permit: *mut bw_permit,
    out_rejection: *mut bw_rejection,
) -> bw_result {
    on_breaker("bw_breaker_try_acquire", breaker, |b| {
        let out = Out::new(out_permit, "out_permit")?;
        match b.inner.try_acquire() {
            Ok(p) => {
                out.write(permit_to_c(p));
                Ok(())
            }
            Err(r) => {
                OptOut::new(out_rejection).write(rejection_to_c(r));
                Err(Error::fixed(
                    bw_result::BW_RESULT_CIRCUIT_OPEN,
                    match r.state {
                        State::HalfOpen => {
                            c"circuit open: half-open and every probe slot is in flight"
                        }
                        State::ForcedOpen => c"circuit open: forced open",
                        _ => c"circuit open",
                    },
                ))
            }
        }
    })
}

/// Hands back a permit with the call's outcome. The call's duration is measured on the
/// breaker's clock from the permit's start. `category` is the failure's category for
/// `BW_OUTCOME_FAILURE` and `BW_OUTCOME_IGNORED` (checked but unused for
/// `BW_OUTCOME_SUCCESS`). `BW_RESULT_INVALID_ARGUMENT` for an outcome or category out of
/// range (nothing is recorded then; the permit may be handed back again). Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_record(
    breaker: *const bw_breaker,
    permit: bw_permit,
    outcome: OutcomeArg,
    category: CategoryArg,
) -> bw_result {
    on_breaker("bw_breaker_record", breaker, |b| {
        let category = category.require("category")?;
        let outcome = match outcome.0 {
            0 => Outcome::Success,
            1 => Outcome::Failure(category),
            2 => Outcome::Ignored(category),
            o => {
                return Err(Error::invalid(format!(
                    "argument `outcome`: {o} is not a bw_outcome (0..=2)"
                )));
            }
        };
        b.inner.record(permit_from_c(permit), outcome);
        Ok(())
    })
}

/// Gives a permit back without an outcome (the call never ran, or was cancelled): counts
/// nothing and frees its half-open probe slot. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_release(
    breaker: *const bw_breaker,
    permit: bw_permit,
) -> bw_result {
    on_breaker("bw_breaker_release", breaker, |b| {
        b.inner.release(permit_from_c(permit));
        Ok(())
    })
}

/// Moves to `forced_open` (rejects every call, with no retry_after) until another manual
/// state is chosen. A no-op when already forced open. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_force_open(breaker: *const bw_breaker) -> bw_result {
    on_breaker("bw_breaker_force_open", breaker, |b| {
        b.inner.force_open();
        Ok(())
    })
}

/// Moves to `closed` with a clean window (normal operation). A no-op when already closed.
/// Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_force_close(breaker: *const bw_breaker) -> bw_result {
    on_breaker("bw_breaker_force_close", breaker, |b| {
        b.inner.force_close();
        Ok(())
    })
}

/// Moves to `disabled`: admits every call and records nothing, until another manual state is
/// chosen. A no-op when already disabled. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_disable(breaker: *const bw_breaker) -> bw_result {
    on_breaker("bw_breaker_disable", breaker, |b| {
        b.inner.disable();
        Ok(())
    })
}

/// Moves to `metrics_only`: admits every call and records it, but never trips. A no-op when
/// already there. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_metrics_only(breaker: *const bw_breaker) -> bw_result {
    on_breaker("bw_breaker_metrics_only", breaker, |b| {
        b.inner.metrics_only();
        Ok(())
    })
}

/// Back to a brand-new closed breaker: window, consecutive counts, open backoff and lifetime
/// totals cleared; emits a state_change only when the state changes. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_reset(breaker: *const bw_breaker) -> bw_result {
    on_breaker("bw_breaker_reset", breaker, |b| {
        b.inner.reset();
        Ok(())
    })
}

/// Writes the current state to `*out_state`. Pure: reports `BW_STATE_HALF_OPEN` once the
/// open period has passed, without transitioning or emitting events. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_state` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_state(
    breaker: *const bw_breaker,
    out_state: *mut bw_state,
) -> bw_result {
    on_breaker("bw_breaker_state", breaker, |b| {
        let out = Out::new(out_state, "out_state")?;
        out.write(state_to_c(b.inner.state()));
        Ok(())
    })
}

/// Writes a consistent snapshot to `*out_snapshot`. Pure, like `bw_breaker_state`.
/// Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_snapshot` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_snapshot(
    breaker: *const bw_breaker,
    out_snapshot: *mut bw_snapshot,
) -> bw_result {
    on_breaker("bw_breaker_snapshot", breaker, |b| {
        let out = Out::new(out_snapshot, "out_snapshot")?;
        out.write(snapshot_to_c(&b.inner.snapshot()));
        Ok(())
    })
}

/// Writes the breaker's name to `*out_name` (NUL-terminated, owned by the breaker, valid
/// until `bw_breaker_free`) and its length in bytes to `*out_len` when `out_len` is not
/// NULL. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out_name` is NULL or writable; `out_len` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_name(
    breaker: *const bw_breaker,
    out_name: *mut *const c_char,
    out_len: *mut usize,
) -> bw_result {
    on_breaker("bw_breaker_name", breaker, |b| {
        let out = Out::new(out_name, "out_name")?;
        out.write(b.name.as_ptr());
        OptOut::new(out_len).write(b.name.as_bytes().len());
        Ok(())
    })
}

/// Applies a new config to the live breaker, keeping its state and counters (a different
/// window kind or size starts a fresh window). `BW_RESULT_CONFIG_INVALID` changes nothing.
/// Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle; `config` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_configure(
    breaker: *const bw_breaker,
    config: *const bw_breaker_config,
) -> bw_result {
    on_breaker("bw_breaker_configure", breaker, |b| {
        // SAFETY: documented requirement on `config`.
        let config = unsafe { ffi::arg_ref(config, "config") }?;
        config.validate()?;
        Ok(b.inner.configure(config.config.clone())?)
    })
}

/// Applies a JSON object (as for `bw_breaker_config_from_json`) on top of the breaker's
/// current config: keys left out keep their current values. Otherwise like
/// `bw_breaker_configure`. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle; `json` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_configure_json(
    breaker: *const bw_breaker,
    json: *const c_char,
    len: usize,
) -> bw_result {
    on_breaker("bw_breaker_configure_json", breaker, |b| {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let value = parse_json(text)?;
        let config = BreakerConfig::from_json_over(&b.inner.config(), &value)?;
        Ok(b.inner.configure(config)?)
    })
}

/// Writes a new config builder holding the breaker's current config to `*out` (free it with
/// `bw_breaker_config_free`). Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_get_config(
    breaker: *const bw_breaker,
    out: *mut *mut bw_breaker_config,
) -> bw_result {
    on_breaker("bw_breaker_get_config", breaker, |b| {
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_breaker_config {
            config: b.inner.config(),
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

// ----- events -------------------------------------------------------------------------------

/// Calls `callback(userdata, event)` for each event of `kind` the breaker emits
/// (`BW_EVENT_KIND_ALL` for every kind), and writes the subscription's id to `*out_id` (for
/// `bw_breaker_off`; `out_id` may be NULL when you never unsubscribe). `userdata` may be
/// NULL; breakwater never dereferences it. `BW_RESULT_INVALID_ARGUMENT` for a kind out of
/// range. Thread-safe; see `bw_event_callback` for where the callback runs.
///
/// # Safety
/// `breaker` is NULL or a live handle; `callback` is NULL or a function safe to call from
/// any thread with `userdata` until `bw_breaker_off` returns (or the breaker is freed);
/// `out_id` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_on(
    breaker: *const bw_breaker,
    kind: EventKindArg,
    callback: bw_event_callback,
    userdata: *mut c_void,
    out_id: *mut u64,
) -> bw_result {
    on_breaker("bw_breaker_on", breaker, |b| {
        events::on(kind, callback, userdata, out_id, |k, l| {
            b.inner.subscribe(k, l)
        })
    })
}

/// Removes the subscription `id` made by `bw_breaker_on`. Once it returns, no new call of
/// that callback starts (one already running on another thread may still finish).
/// `BW_RESULT_INVALID_ARGUMENT` when there is no such subscription (already removed).
/// Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_off(breaker: *const bw_breaker, id: u64) -> bw_result {
    on_breaker("bw_breaker_off", breaker, |b| {
        events::off(id, |i| b.inner.unsubscribe(i))
    })
}
