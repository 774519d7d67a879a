//! Reading configs back: every key of a config builder in one struct (`bw_*_config_get`), the
//! config as JSON in canonical file spelling (`bw_*_config_to_json`), the live config of a
//! component (`bw_*_get_config`), and whether two handles are the same component.

#![allow(non_camel_case_types)]

use std::ffi::c_char;
use std::sync::Arc;

use breakwater_core::config::Spelling;
use breakwater_core::config_keys::{
    breaker_values, bulkhead_values, rate_limiter_values, retry_values,
};
use breakwater_core::{Jitter, WindowConfig};
use serde_json::{Map, Value};

use crate::breaker::{bw_breaker, bw_breaker_config};
use crate::ffi::{self, Out, boundary};
use crate::limits::{bw_bulkhead, bw_bulkhead_config, bw_rate_limiter, bw_rate_limiter_config};
use crate::result::bw_result;
use crate::retry::{bw_jitter, bw_retry, bw_retry_config};
use crate::text::TextOut;
use crate::types::floor_ms;

fn mask(set: breakwater_core::CategorySet) -> u32 {
    set.iter().fold(0, |m, c| m | 1 << c as u32)
}

fn jitter_to_c(j: Jitter) -> bw_jitter {
    use bw_jitter::*;
    match Jitter::ALL.iter().position(|x| *x == j) {
        Some(0) => BW_JITTER_NONE,
        Some(1) => BW_JITTER_FULL,
        Some(2) => BW_JITTER_EQUAL,
        Some(3) => BW_JITTER_DECORRELATED,
        _ => BW_JITTER_PROPORTIONAL,
    }
}

fn to_json(m: Map<String, Value>, out: TextOut) -> ffi::Result<()> {
    out.write(&Value::Object(m).to_string())
}

// ----- breaker ------------------------------------------------------------------------------

/// Every key of a breaker config, read back by `bw_breaker_config_get`. Durations are ms.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_breaker_config_values {
    pub failure_threshold: u32,
    pub failure_rate_threshold: f64,
    pub minimum_calls: u32,
    /// A count window (`window_size` calls) when true, else a time window
    /// (`window_duration_ms` in `window_buckets` buckets).
    pub count_window: bool,
    pub window_size: u32,
    pub window_duration_ms: u64,
    pub window_buckets: u32,
    /// Slow-call detection is on.
    pub has_slow_call_duration: bool,
    pub slow_call_duration_ms: u64,
    pub slow_call_rate_threshold: f64,
    pub recovery_timeout_ms: u64,
    pub has_recovery_backoff: bool,
    pub recovery_backoff_multiplier: f64,
    pub recovery_backoff_max_ms: u64,
    pub half_open_max_calls: u32,
    pub success_threshold: u32,
    pub has_max_half_open: bool,
    pub max_half_open_ms: u64,
    /// The ignored categories, as a mask: bit `1 << c` for each `bw_category` c.
    pub ignored_categories: u32,
}

/// Writes every key of `config` (as set, valid or not) to `*out`. Thread-safe (reads only).
///
/// # Safety
/// `config` is NULL or a live builder; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_get(
    config: *const bw_breaker_config,
    out: *mut bw_breaker_config_values,
) -> bw_result {
    boundary("bw_breaker_config_get", || {
        // SAFETY: documented requirement on `config`.
        let c = &unsafe { ffi::arg_ref(config, "config") }?.config;
        let out = Out::new(out, "out")?;
        let (count_window, window_size, window_duration_ms, window_buckets) = match c.window {
            WindowConfig::Count { size } => (true, size, 0, 0),
            WindowConfig::Time { duration, buckets } => (false, 0, floor_ms(duration), buckets),
        };
        out.write(bw_breaker_config_values {
            failure_threshold: c.failure_threshold,
            failure_rate_threshold: c.failure_rate_threshold,
            minimum_calls: c.minimum_calls,
            count_window,
            window_size,
            window_duration_ms,
            window_buckets,
            has_slow_call_duration: c.slow_call_duration.is_some(),
            slow_call_duration_ms: c.slow_call_duration.map_or(0, floor_ms),
            slow_call_rate_threshold: c.slow_call_rate_threshold,
            recovery_timeout_ms: floor_ms(c.recovery_timeout),
            has_recovery_backoff: c.recovery_backoff.is_some(),
            recovery_backoff_multiplier: c.recovery_backoff.map_or(0.0, |b| b.multiplier),
            recovery_backoff_max_ms: c.recovery_backoff.map_or(0, |b| floor_ms(b.max)),
            half_open_max_calls: c.half_open_max_calls,
            success_threshold: c.success_threshold,
            has_max_half_open: c.max_half_open.is_some(),
            max_half_open_ms: c.max_half_open.map_or(0, floor_ms),
            ignored_categories: mask(c.ignored_categories),
        });
        Ok(())
    })
}

/// Writes `config` as a JSON object in canonical file spelling (snake_case, durations as
/// integer ms with `_ms`, `null` for "none": `{"failure_threshold": 5, "window": {"type":
/// "time", "duration_ms": 60000, "buckets": 10}, "slow_call_duration_ms": null, ...}`) into
/// `buf`, with the buffer contract of `bw_prometheus`. `bw_breaker_config_from_json` reads it
/// back. Thread-safe (reads only).
///
/// # Safety
/// `config` is NULL or a live builder; `buf` is NULL or points to `cap` writable bytes;
/// `out_needed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_config_to_json(
    config: *const bw_breaker_config,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    boundary("bw_breaker_config_to_json", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        let out = TextOut::new(buf, cap, out_needed)?;
        to_json(breaker_values(&c.config), out)
    })
}

// ----- retry --------------------------------------------------------------------------------

/// Every key of a retry config, read back by `bw_retry_config_get`. Durations are ms.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_retry_config_values {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub multiplier: f64,
    pub jitter: bw_jitter,
    pub jitter_factor: f64,
    pub has_max_elapsed: bool,
    pub max_elapsed_ms: u64,
    /// The categories retried, as a mask: bit `1 << c` for each `bw_category` c.
    pub retry_on: u32,
    pub max_retry_after_ms: u64,
    pub idempotent: bool,
    pub has_seed: bool,
    pub seed: u64,
    pub has_budget: bool,
    pub budget_ratio: f64,
    pub budget_min_per_second: u32,
    pub budget_ttl_ms: u64,
}

/// Writes every key of `config` (as set) to `*out`. Thread-safe (reads only).
///
/// # Safety
/// `config` is NULL or a live builder; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_get(
    config: *const bw_retry_config,
    out: *mut bw_retry_config_values,
) -> bw_result {
    boundary("bw_retry_config_get", || {
        // SAFETY: documented requirement on `config`.
        let c = &unsafe { ffi::arg_ref(config, "config") }?.config;
        let out = Out::new(out, "out")?;
        let b = c.budget.as_ref();
        out.write(bw_retry_config_values {
            max_attempts: c.max_attempts,
            base_delay_ms: floor_ms(c.base_delay),
            max_delay_ms: floor_ms(c.max_delay),
            multiplier: c.multiplier,
            jitter: jitter_to_c(c.jitter),
            jitter_factor: c.jitter_factor,
            has_max_elapsed: c.max_elapsed.is_some(),
            max_elapsed_ms: c.max_elapsed.map_or(0, floor_ms),
            retry_on: mask(c.retry_on),
            max_retry_after_ms: floor_ms(c.max_retry_after),
            idempotent: c.idempotent,
            has_seed: c.seed.is_some(),
            seed: c.seed.unwrap_or(0),
            has_budget: b.is_some(),
            budget_ratio: b.map_or(0.0, |b| b.ratio),
            budget_min_per_second: b.map_or(0, |b| b.min_per_second),
            budget_ttl_ms: b.map_or(0, |b| floor_ms(b.ttl)),
        });
        Ok(())
    })
}

/// Writes `config` as JSON in canonical file spelling (`retry_on` sorted by name, `budget` as
/// `{"ratio", "min_per_second", "ttl_ms"}` or null), with the buffer contract of
/// `bw_prometheus`. Thread-safe (reads only).
///
/// # Safety
/// As `bw_breaker_config_to_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_config_to_json(
    config: *const bw_retry_config,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    boundary("bw_retry_config_to_json", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        let out = TextOut::new(buf, cap, out_needed)?;
        to_json(retry_values(&c.config), out)
    })
}

/// Writes a new config builder holding the retry policy's config to `*out` (free it with
/// `bw_retry_config_free`). Thread-safe.
///
/// # Safety
/// `retry` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_get_config(
    retry: *const bw_retry,
    out: *mut *mut bw_retry_config,
) -> bw_result {
    boundary("bw_retry_get_config", || {
        // SAFETY: documented requirement on `retry`.
        let r = unsafe { ffi::arg_ref(retry, "retry") }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_retry_config {
            config: r.inner.config().clone(),
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

// ----- rate limiter and bulkhead ------------------------------------------------------------

/// Every key of a rate limiter config (`bw_rate_limiter_config_get`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_rate_limiter_config_values {
    pub max_requests: u32,
    pub time_window_ms: u64,
    /// Set by `bw_rate_limiter_config_set_burst_limit`; otherwise the burst is max_requests.
    pub has_burst_limit: bool,
    pub burst_limit: u32,
}

/// Writes every key of `config` to `*out`. Thread-safe (reads only).
///
/// # Safety
/// `config` is NULL or a live builder; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_config_get(
    config: *const bw_rate_limiter_config,
    out: *mut bw_rate_limiter_config_values,
) -> bw_result {
    boundary("bw_rate_limiter_config_get", || {
        // SAFETY: documented requirement on `config`.
        let c = &unsafe { ffi::arg_ref(config, "config") }?.config;
        let out = Out::new(out, "out")?;
        out.write(bw_rate_limiter_config_values {
            max_requests: c.max_requests,
            time_window_ms: floor_ms(c.time_window),
            has_burst_limit: c.burst_limit.is_some(),
            burst_limit: c.burst_limit.unwrap_or(0),
        });
        Ok(())
    })
}

/// Writes `config` as JSON in canonical file spelling (`{"max_requests", "time_window_ms",
/// "burst_limit"}`), with the buffer contract of `bw_prometheus`. Thread-safe (reads only).
///
/// # Safety
/// As `bw_breaker_config_to_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_config_to_json(
    config: *const bw_rate_limiter_config,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    boundary("bw_rate_limiter_config_to_json", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        let out = TextOut::new(buf, cap, out_needed)?;
        to_json(rate_limiter_values(&c.config), out)
    })
}

/// Writes a new config builder holding the limiter's config to `*out` (free it with
/// `bw_rate_limiter_config_free`). Thread-safe.
///
/// # Safety
/// `limiter` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_get_config(
    limiter: *const bw_rate_limiter,
    out: *mut *mut bw_rate_limiter_config,
) -> bw_result {
    boundary("bw_rate_limiter_get_config", || {
        // SAFETY: documented requirement on `limiter`.
        let l = unsafe { ffi::arg_ref(limiter, "limiter") }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_rate_limiter_config {
            config: *l.inner.config(),
        }));
        Ok(())
    })
}

/// Every key of a bulkhead config (`bw_bulkhead_config_get`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_bulkhead_config_values {
    pub max_concurrent: u32,
    pub max_queue: u32,
    pub max_wait_ms: u64,
}

/// Writes every key of `config` to `*out`. Thread-safe (reads only).
///
/// # Safety
/// `config` is NULL or a live builder; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_config_get(
    config: *const bw_bulkhead_config,
    out: *mut bw_bulkhead_config_values,
) -> bw_result {
    boundary("bw_bulkhead_config_get", || {
        // SAFETY: documented requirement on `config`.
        let c = &unsafe { ffi::arg_ref(config, "config") }?.config;
        let out = Out::new(out, "out")?;
        out.write(bw_bulkhead_config_values {
            max_concurrent: c.max_concurrent,
            max_queue: c.max_queue,
            max_wait_ms: floor_ms(c.max_wait),
        });
        Ok(())
    })
}

/// Writes `config` as JSON in canonical file spelling (`{"max_concurrent", "max_queue",
/// "max_wait_ms"}`), with the buffer contract of `bw_prometheus`. Thread-safe (reads only).
///
/// # Safety
/// As `bw_breaker_config_to_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_config_to_json(
    config: *const bw_bulkhead_config,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    boundary("bw_bulkhead_config_to_json", || {
        // SAFETY: documented requirement on `config`.
        let c = unsafe { ffi::arg_ref(config, "config") }?;
        let out = TextOut::new(buf, cap, out_needed)?;
        to_json(bulkhead_values(&c.config), out)
    })
}

/// Writes a new config builder holding the bulkhead's config to `*out` (free it with
/// `bw_bulkhead_config_free`). Thread-safe.
///
/// # Safety
/// `bulkhead` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_get_config(
    bulkhead: *const bw_bulkhead,
    out: *mut *mut bw_bulkhead_config,
) -> bw_result {
    boundary("bw_bulkhead_get_config", || {
        // SAFETY: documented requirement on `bulkhead`.
        let b = unsafe { ffi::arg_ref(bulkhead, "bulkhead") }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_bulkhead_config {
            config: *b.inner.config(),
        }));
        Ok(())
    })
}

// ----- identity -----------------------------------------------------------------------------

/// Writes to `*out` whether `a` and `b` are handles to the same breaker (a registry hands out a
/// new handle per call: this tells whether it is the one it handed out before). Thread-safe.
///
/// # Safety
/// `a` and `b` are NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_breaker_same(
    a: *const bw_breaker,
    b: *const bw_breaker,
    out: *mut bool,
) -> bw_result {
    boundary("bw_breaker_same", || {
        // SAFETY: documented requirements on `a` and `b`.
        let (a, b) = unsafe { (ffi::arg_ref(a, "a")?, ffi::arg_ref(b, "b")?) };
        Out::new(out, "out")?.write(Arc::ptr_eq(&a.inner, &b.inner));
        Ok(())
    })
}

/// Writes to `*out` whether `a` and `b` are handles to the same retry policy (a registry hands out a
/// new handle per call: this tells whether it is the one it handed out before). Thread-safe.
///
/// # Safety
/// `a` and `b` are NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_retry_same(
    a: *const bw_retry,
    b: *const bw_retry,
    out: *mut bool,
) -> bw_result {
    boundary("bw_retry_same", || {
        // SAFETY: documented requirements on `a` and `b`.
        let (a, b) = unsafe { (ffi::arg_ref(a, "a")?, ffi::arg_ref(b, "b")?) };
        Out::new(out, "out")?.write(Arc::ptr_eq(&a.inner, &b.inner));
        Ok(())
    })
}

/// Writes to `*out` whether `a` and `b` are handles to the same rate limiter (a registry hands out a
/// new handle per call: this tells whether it is the one it handed out before). Thread-safe.
///
/// # Safety
/// `a` and `b` are NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_rate_limiter_same(
    a: *const bw_rate_limiter,
    b: *const bw_rate_limiter,
    out: *mut bool,
) -> bw_result {
    boundary("bw_rate_limiter_same", || {
        // SAFETY: documented requirements on `a` and `b`.
        let (a, b) = unsafe { (ffi::arg_ref(a, "a")?, ffi::arg_ref(b, "b")?) };
        Out::new(out, "out")?.write(Arc::ptr_eq(&a.inner, &b.inner));
        Ok(())
    })
}

/// Writes to `*out` whether `a` and `b` are handles to the same bulkhead (a registry hands out a
/// new handle per call: this tells whether it is the one it handed out before). Thread-safe.
///
/// # Safety
/// `a` and `b` are NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bulkhead_same(
    a: *const bw_bulkhead,
    b: *const bw_bulkhead,
    out: *mut bool,
) -> bw_result {
    boundary("bw_bulkhead_same", || {
        // SAFETY: documented requirements on `a` and `b`.
        let (a, b) = unsafe { (ffi::arg_ref(a, "a")?, ffi::arg_ref(b, "b")?) };
        Out::new(out, "out")?.write(Arc::ptr_eq(&a.inner, &b.inner));
        Ok(())
    })
}
