//! Admission limits: the token-bucket rate limiter and the bulkhead, as parts of a policy or
//! on their own.

#![allow(non_camel_case_types)]

use std::ffi::c_char;
use std::sync::Arc;

use breakwater_core::config::ConfigErrors;
use breakwater_core::limiter::Ticket;
use breakwater_core::{
    Admission, Bulkhead, BulkheadConfig, ClockRef, RateLimiter, RateLimiterConfig,
};

use crate::breaker::{bw_rejection, clock_of, parse_json};
use crate::clock::bw_manual_clock;
use crate::ffi::{self, Error, OptOut, Out, boundary, boundary_value};
use crate::result::bw_result;
use crate::types::{bw_state, ceil_ms, floor_ms, ms};

/// The core names these fields canonically; C's setters and keys carry the `_ms` suffix.
fn respell(mut e: ConfigErrors) -> ConfigErrors {
    for err in &mut e.0 {
        match err.key.as_str() {
            "time_window" => ffi::respell_key(err, "time_window_ms"),
            "max_wait" => ffi::respell_key(err, "max_wait_ms"),
            _ => {}
        }
    }
    e
}

// ----- rate limiter -------------------------------------------------------------------------

/// A rate limiter's configuration: at most `max_requests` per `time_window_ms`, bursts up to
/// `burst_limit`. Defaults: 100 per 1000 ms, burst_limit = max_requests. Checked by
/// `bw_rate_limiter_new` (keys "max_requests" 1..=1000000000, "time_window_ms" 1..=86400000,
/// "burst_limit" 1..=1000000000). Made by `bw_rate_limiter_config_new` / `_from_json`,
/// destroyed by `bw_rate_limiter_config_free`. Not changed while another thread uses it.
pub struct bw_rate_limiter_config {
    pub(crate) config: RateLimiterConfig,
}

/// A new rate limiter config with the defaults. NULL only on a panic. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_rate_limiter_config_new() -> *mut bw_rate_limiter_config {
    boundary_value("bw_rate_limiter_config_new", std::ptr::null_mut(), || {
        ffi::into_handle(bw_rate_limiter_config {
            config: RateLimiterConfig::default(),
        })
    })
}

/// Loads a rate limiter config from a JSON object (`{"max_requests": 10, "time_window_ms":
/// 1000, "burst_limit": 5}` or camelCase). `BW_RESULT_CONFIG_INVALID` names the key as
/// written. Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_config_from_json(
    json: *const c_char,
    len: usize,
    out: *mut *mut bw_rate_limiter_config,
) -> bw_result {
    boundary("bw_rate_limiter_config_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let config = RateLimiterConfig::from_json(&parse_json(text)?)?;
        out.write(ffi::into_handle(bw_rate_limiter_config { config }));
        Ok(())
    })
}

/// Destroys a rate limiter config; NULL is a no-op. Free it exactly once, when no other
/// thread is using it.
///
/// # Safety
/// `config` is NULL or a live builder, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_config_free(config: *mut bw_rate_limiter_config) {
    // SAFETY: documented requirement on `config`.
    unsafe { ffi::free_handle("bw_rate_limiter_config_free", config) }
}

/// Requests allowed per time window. Default 100.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_config_set_max_requests(
    config: *mut bw_rate_limiter_config,
    max_requests: u32,
) -> bw_result {
    // SAFETY: documented requirement on `config`.
    unsafe {
        ffi::with_builder("bw_rate_limiter_config_set_max_requests", config, |c| {
            c.config.max_requests = max_requests;
            Ok(())
        })
    }
}

/// The time window, in ms. Default 1000.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_config_set_time_window_ms(
    config: *mut bw_rate_limiter_config,
    time_window_ms: u64,
) -> bw_result {
    // SAFETY: documented requirement on `config`.
    unsafe {
        ffi::with_builder("bw_rate_limiter_config_set_time_window_ms", config, |c| {
            c.config.time_window = ms(time_window_ms);
            Ok(())
        })
    }
}

/// The bucket's capacity (the largest burst). Default: max_requests.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_config_set_burst_limit(
    config: *mut bw_rate_limiter_config,
    burst_limit: u32,
) -> bw_result {
    // SAFETY: documented requirement on `config`.
    unsafe {
        ffi::with_builder("bw_rate_limiter_config_set_burst_limit", config, |c| {
            c.config.burst_limit = Some(burst_limit);
            Ok(())
        })
    }
}

/// A token-bucket rate limiter (starts full). Made by `bw_rate_limiter_new`, destroyed by
/// `bw_rate_limiter_free`. Thread-safe: one handle may be used from any number of threads at
/// once (except `_free`, which must come last).
pub struct bw_rate_limiter {
    pub(crate) inner: Arc<RateLimiter>,
    pub(crate) clock: ClockRef,
}

/// Makes a rate limiter from `config` (copied), on `clock` (a `bw_manual_clock`, or NULL for
/// the system clock). `BW_RESULT_CONFIG_INVALID` names the key. Thread-safe.
///
/// # Safety
/// `config` is NULL or a live builder; `clock` is NULL or a live clock; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_new(
    config: *const bw_rate_limiter_config,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_rate_limiter,
) -> bw_result {
    boundary("bw_rate_limiter_new", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        let out = Out::new(out, "out")?;
        let clock = clock_of(clock);
        let inner = RateLimiter::new(c.config, clock.now()).map_err(respell)?;
        out.write(ffi::into_handle(bw_rate_limiter {
            inner: Arc::new(inner),
            clock,
        }));
        Ok(())
    })
}

/// Takes one token: `BW_OK`, or `BW_RESULT_RATE_LIMITED` with `*out_rejection` (when not
/// NULL) saying when a token will be there (`retry_after_ms`, rounded up). Thread-safe.
///
/// # Safety
/// `limiter` is NULL or a live handle; `out_rejection` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_try_acquire(
    limiter: *const bw_rate_limiter,
    out_rejection: *mut bw_rejection,
) -> bw_result {
    boundary("bw_rate_limiter_try_acquire", || {
        // SAFETY: documented requirement on `limiter`.
        let l = unsafe { ffi::arg_ref(limiter, "limiter") }?;
        match l.inner.try_acquire(l.clock.now()) {
            Ok(()) => Ok(()),
            Err(limited) => {
                OptOut::new(out_rejection).write(bw_rejection {
                    code: bw_result::BW_RESULT_RATE_LIMITED,
                    has_state: false,
                    state: bw_state::BW_STATE_CLOSED,
                    has_retry_after: true,
                    retry_after_ms: ceil_ms(limited.retry_after),
                });
                Err(Error::fixed(
                    bw_result::BW_RESULT_RATE_LIMITED,
                    c"rate limited",
                ))
            }
        }
    })
}

/// Destroys a rate limiter handle; NULL is a no-op. Policies made with it keep it alive. Free
/// it exactly once, after every other thread has stopped using the handle.
///
/// # Safety
/// `limiter` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_free(limiter: *mut bw_rate_limiter) {
    // SAFETY: documented requirement on `limiter`.
    unsafe { ffi::free_handle("bw_rate_limiter_free", limiter) }
}

// ----- bulkhead -----------------------------------------------------------------------------

/// A bulkhead's configuration: at most `max_concurrent` calls in flight, up to `max_queue`
/// callers waiting at most `max_wait_ms` for a slot. Defaults 25, 0, 0. Checked by
/// `bw_bulkhead_new` (keys "max_concurrent" 1..=1000000, "max_queue" 0..=1000000). Made by
/// `bw_bulkhead_config_new` / `_from_json`, destroyed by `bw_bulkhead_config_free`.
pub struct bw_bulkhead_config {
    pub(crate) config: BulkheadConfig,
}

/// A new bulkhead config with the defaults. NULL only on a panic. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_bulkhead_config_new() -> *mut bw_bulkhead_config {
    boundary_value("bw_bulkhead_config_new", std::ptr::null_mut(), || {
        ffi::into_handle(bw_bulkhead_config {
            config: BulkheadConfig::default(),
        })
    })
}

/// Loads a bulkhead config from a JSON object (`{"max_concurrent": 10, "max_queue": 5,
/// "max_wait_ms": 100}` or camelCase). Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_config_from_json(
    json: *const c_char,
    len: usize,
    out: *mut *mut bw_bulkhead_config,
) -> bw_result {
    boundary("bw_bulkhead_config_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let config = BulkheadConfig::from_json(&parse_json(text)?)?;
        out.write(ffi::into_handle(bw_bulkhead_config { config }));
        Ok(())
    })
}

/// Destroys a bulkhead config; NULL is a no-op. Free it exactly once, when no other thread
/// is using it.
///
/// # Safety
/// `config` is NULL or a live builder, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_config_free(config: *mut bw_bulkhead_config) {
    // SAFETY: documented requirement on `config`.
    unsafe { ffi::free_handle("bw_bulkhead_config_free", config) }
}

/// Calls in flight at once. Default 25.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_config_set_max_concurrent(
    config: *mut bw_bulkhead_config,
    max_concurrent: u32,
) -> bw_result {
    // SAFETY: documented requirement on `config`.
    unsafe {
        ffi::with_builder("bw_bulkhead_config_set_max_concurrent", config, |c| {
            c.config.max_concurrent = max_concurrent;
            Ok(())
        })
    }
}

/// Callers that may wait for a slot. Default 0.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_config_set_max_queue(
    config: *mut bw_bulkhead_config,
    max_queue: u32,
) -> bw_result {
    // SAFETY: documented requirement on `config`.
    unsafe {
        ffi::with_builder("bw_bulkhead_config_set_max_queue", config, |c| {
            c.config.max_queue = max_queue;
            Ok(())
        })
    }
}

/// How long a queued caller waits for a slot, in ms (0: no waiting). Default 0.
///
/// # Safety
/// `config` is NULL or a live builder no other thread uses during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_config_set_max_wait_ms(
    config: *mut bw_bulkhead_config,
    max_wait_ms: u64,
) -> bw_result {
    // SAFETY: documented requirement on `config`.
    unsafe {
        ffi::with_builder("bw_bulkhead_config_set_max_wait_ms", config, |c| {
            c.config.max_wait = ms(max_wait_ms);
            Ok(())
        })
    }
}

/// Concurrency isolation for one dependency. Made by `bw_bulkhead_new`, destroyed by
/// `bw_bulkhead_free`. Thread-safe: one handle may be used from any number of threads at
/// once (except `_free`, which must come last).
pub struct bw_bulkhead {
    pub(crate) inner: Arc<Bulkhead>,
}

/// The answer of `bw_bulkhead_try_enter` when it is `BW_OK`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_admission {
    /// false: a slot is yours (call `bw_bulkhead_leave` when done). true: you are queued:
    /// wait up to `max_wait_ms` to be woken for `ticket` (another caller's
    /// `bw_bulkhead_leave` names it), else call `bw_bulkhead_abandon`.
    pub queued: bool,
    pub ticket: u64,
    pub max_wait_ms: u64,
}

/// Makes a bulkhead from `config` (copied). `BW_RESULT_CONFIG_INVALID` names the key.
/// Thread-safe.
///
/// # Safety
/// `config` is NULL or a live builder; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_new(
    config: *const bw_bulkhead_config,
    out: *mut *mut bw_bulkhead,
) -> bw_result {
    boundary("bw_bulkhead_new", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        let out = Out::new(out, "out")?;
        let inner = Bulkhead::new(c.config).map_err(respell)?;
        out.write(ffi::into_handle(bw_bulkhead {
            inner: Arc::new(inner),
        }));
        Ok(())
    })
}

/// Takes a slot or joins the queue (`BW_OK`, see `bw_admission`), or is refused
/// (`BW_RESULT_BULKHEAD_FULL`, with `*out_rejection` when not NULL). Thread-safe.
///
/// # Safety
/// `bulkhead` is NULL or a live handle; `out` is NULL or writable; `out_rejection` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_try_enter(
    bulkhead: *const bw_bulkhead,
    out: *mut bw_admission,
    out_rejection: *mut bw_rejection,
) -> bw_result {
    boundary("bw_bulkhead_try_enter", || {
        // SAFETY: documented requirement on `bulkhead`.
        let b = unsafe { ffi::arg_ref(bulkhead, "bulkhead") }?;
        let out = Out::new(out, "out")?;
        match b.inner.try_enter() {
            Admission::Entered => out.write(bw_admission {
                queued: false,
                ticket: 0,
                max_wait_ms: 0,
            }),
            Admission::Queued { ticket, max_wait } => out.write(bw_admission {
                queued: true,
                ticket: ticket.0,
                max_wait_ms: floor_ms(max_wait),
            }),
            Admission::Full => {
                OptOut::new(out_rejection).write(bw_rejection {
                    code: bw_result::BW_RESULT_BULKHEAD_FULL,
                    has_state: false,
                    state: bw_state::BW_STATE_CLOSED,
                    has_retry_after: false,
                    retry_after_ms: 0,
                });
                return Err(Error::fixed(
                    bw_result::BW_RESULT_BULKHEAD_FULL,
                    c"bulkhead full",
                ));
            }
        }
        Ok(())
    })
}

/// Frees a slot. When a caller is queued the slot passes straight to it:
/// `*out_has_wake` becomes true and `*out_ticket` names the caller to wake (both outputs may
/// be NULL). Thread-safe.
///
/// # Safety
/// `bulkhead` is NULL or a live handle; the outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_leave(
    bulkhead: *const bw_bulkhead,
    out_has_wake: *mut bool,
    out_ticket: *mut u64,
) -> bw_result {
    boundary("bw_bulkhead_leave", || {
        // SAFETY: documented requirement on `bulkhead`.
        let b = unsafe { ffi::arg_ref(bulkhead, "bulkhead") }?;
        let wake = b.inner.leave();
        OptOut::new(out_has_wake).write(wake.is_some());
        OptOut::new(out_ticket).write(wake.map_or(0, |t| t.0));
        Ok(())
    })
}

/// A queued caller stopped waiting. `*out_removed` (may be NULL) is true when it was still
/// queued and is now removed, false when it had already been handed a slot, which it must
/// `bw_bulkhead_leave`. Thread-safe.
///
/// # Safety
/// `bulkhead` is NULL or a live handle; `out_removed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_abandon(
    bulkhead: *const bw_bulkhead,
    ticket: u64,
    out_removed: *mut bool,
) -> bw_result {
    boundary("bw_bulkhead_abandon", || {
        // SAFETY: documented requirement on `bulkhead`.
        let b = unsafe { ffi::arg_ref(bulkhead, "bulkhead") }?;
        let removed = b.inner.abandon(Ticket(ticket));
        OptOut::new(out_removed).write(removed);
        Ok(())
    })
}

/// Destroys a bulkhead handle; NULL is a no-op. Policies made with it keep it alive. Free it
/// exactly once, after every other thread has stopped using the handle.
///
/// # Safety
/// `bulkhead` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_free(bulkhead: *mut bw_bulkhead) {
    // SAFETY: documented requirement on `bulkhead`.
    unsafe { ffi::free_handle("bw_bulkhead_free", bulkhead) }
}
