//! Service level objectives (contract section 1, "SLO"): good and bad requests over a rolling
//! window, the error budget they leave, the burn rate, and a recommendation.

#![allow(non_camel_case_types)]

use std::ffi::c_char;
use std::sync::Arc;

use breakwater_core::{Recommendation, Slo, SloConfig};

use crate::breaker::{clock_of, parse_json};
use crate::clock::bw_manual_clock;
use crate::events::{bw_event, event_from_c};
use crate::ffi::{self, OptOut, Out, boundary, boundary_value};
use crate::result::bw_result;
use crate::types::{floor_ms, ms, name_of};

/// What to do about the error budget: healthy below 50 % consumed, moderate below 80 %,
/// critical below 100 %, exhausted at 100 % or more. `bw_recommendation_name` gives the name.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_recommendation {
    BW_RECOMMENDATION_HEALTHY = 0,
    BW_RECOMMENDATION_MODERATE = 1,
    BW_RECOMMENDATION_CRITICAL = 2,
    BW_RECOMMENDATION_EXHAUSTED = 3,
}

/// A `bw_recommendation` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct RecommendationArg(pub u32);

fn recommendation_to_c(r: Recommendation) -> bw_recommendation {
    use bw_recommendation::*;
    match r {
        Recommendation::Healthy => BW_RECOMMENDATION_HEALTHY,
        Recommendation::Moderate => BW_RECOMMENDATION_MODERATE,
        Recommendation::Critical => BW_RECOMMENDATION_CRITICAL,
        Recommendation::Exhausted => BW_RECOMMENDATION_EXHAUSTED,
    }
}

/// The name of a recommendation ("healthy", "moderate", "critical", "exhausted"); NULL for a
/// value that is not a `bw_recommendation`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_recommendation_name(recommendation: RecommendationArg) -> *const c_char {
    boundary_value("bw_recommendation_name", std::ptr::null(), || {
        name_of(
            &[c"healthy", c"moderate", c"critical", c"exhausted"],
            recommendation.0,
        )
    })
}

/// An SLO's settings for `bw_slo_new`. Zero-initialise it and set what you need; a field whose
/// `has_` flag is false keeps the default: target 0.999 over 30 days (2592000000 ms) in 720
/// buckets, burn rate over the last hour (3600000 ms). Checked together: "target" in (0, 1),
/// "window_ms" 1..=366 days and a whole multiple of "buckets" (1..=10000),
/// "burn_rate_window_ms" > 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_slo_options {
    pub has_target: bool,
    pub target: f64,
    pub has_window: bool,
    pub window_ms: u64,
    pub has_buckets: bool,
    pub buckets: u32,
    pub has_burn_rate_window: bool,
    pub burn_rate_window_ms: u64,
}

/// An SLO's figures at one moment (`bw_slo_get_status`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_slo_status {
    pub target: f64,
    pub window_ms: u64,
    /// Requests in the window.
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    /// good / total; 1 when there were no requests.
    pub availability: f64,
    /// The failures the target allows for this traffic: (1 - target) x total.
    pub allowed_failures: f64,
    /// bad / allowed_failures: 0.5 is half the budget spent; above 1 when overspent.
    pub error_budget_consumed: f64,
    /// 1 - consumed, floored at 0.
    pub error_budget_remaining: f64,
    /// The failure share over the burn-rate look-back divided by (1 - target).
    pub burn_rate: f64,
    pub recommendation: bw_recommendation,
}

/// An SLO. Made by `bw_slo_new` / `bw_slo_from_json`, destroyed by `bw_slo_free`. Thread-safe:
/// one handle may be used from any number of threads at once (except `_free`, which must come
/// last).
pub struct bw_slo {
    pub(crate) inner: Arc<Slo>,
}

fn on_slo(
    func: &'static str,
    slo: *const bw_slo,
    body: impl FnOnce(&Slo) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `slo` is NULL or a live handle.
        let s = unsafe { ffi::arg_ref(slo, "slo") }?;
        body(&s.inner)
    })
}

/// Renames the core's keys to C's (`window` is `window_ms` for the options).
fn respell(mut e: breakwater_core::ConfigErrors) -> breakwater_core::ConfigErrors {
    for err in &mut e.0 {
        match err.key.as_str() {
            "window" => ffi::respell_key(err, "window_ms"),
            "burn_rate_window" => ffi::respell_key(err, "burn_rate_window_ms"),
            _ => {}
        }
    }
    e
}

/// Makes an SLO named `name` (`len` bytes of UTF-8; the component its alerts name) with
/// `options` (NULL: the defaults), reading time from `clock` (NULL: the system clock).
/// `BW_RESULT_CONFIG_INVALID` names the field. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `options` is NULL or readable; `clock` is NULL or
/// live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_slo_new(
    name: *const c_char,
    len: usize,
    options: *const bw_slo_options,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_slo,
) -> bw_result {
    boundary("bw_slo_new", || {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        let out = Out::new(out, "out")?;
        let mut c = SloConfig::default();
        // SAFETY: documented requirement on `options`.
        if let Some(o) = unsafe { options.as_ref() } {
            if o.has_target {
                c.target = o.target;
            }
            if o.has_window {
                c.window = ms(o.window_ms);
            }
            if o.has_buckets {
                c.buckets = o.buckets;
            }
            if o.has_burn_rate_window {
                c.burn_rate_window = ms(o.burn_rate_window_ms);
            }
        }
        let slo = Slo::new(name, c, clock_of(clock)).map_err(respell)?;
        out.write(ffi::into_handle(bw_slo {
            inner: Arc::new(slo),
        }));
        Ok(())
    })
}

/// Makes an SLO from a JSON object in config-file spelling (`{"target": 0.99, "window_ms":
/// 86400000, "buckets": 24, "burn_rate_window_ms": 3600000}`, or camelCase `window`,
/// `burnRateWindow` in ms). `BW_RESULT_CONFIG_INVALID` names the key as written. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes, `json` to `json_len`; `clock` is NULL or live; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_slo_from_json(
    name: *const c_char,
    len: usize,
    json: *const c_char,
    json_len: usize,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_slo,
) -> bw_result {
    boundary("bw_slo_from_json", || {
        // SAFETY: documented requirements on the arguments.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        // SAFETY: as above.
        let text = unsafe { ffi::arg_str(json, json_len, "json") }?;
        let out = Out::new(out, "out")?;
        let c = SloConfig::from_json(&parse_json(text)?)?;
        let slo = Slo::new(name, c, clock_of(clock))?;
        out.write(ffi::into_handle(bw_slo {
            inner: Arc::new(slo),
        }));
        Ok(())
    })
}

/// Counts one request now, good or bad. Thread-safe.
///
/// # Safety
/// `slo` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_slo_record(slo: *const bw_slo, good: bool) -> bw_result {
    on_slo("bw_slo_record", slo, |s| {
        s.record(good);
        Ok(())
    })
}

/// Counts `good` good and `bad` bad requests now. Thread-safe.
///
/// # Safety
/// `slo` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_slo_record_counts(
    slo: *const bw_slo,
    good: u64,
    bad: u64,
) -> bw_result {
    on_slo("bw_slo_record_counts", slo, |s| {
        s.record_counts(good, bad);
        Ok(())
    })
}

/// Counts what an event says about a request: `success` is good; `failure` and
/// `call_rejected` are bad; other kinds count nothing. `*out_counted` (may be NULL) says
/// whether it counted. Forward a breaker's events from its callback to feed the SLO. The event
/// is read as for `bw_event_log_record`. Thread-safe.
///
/// # Safety
/// `slo` is NULL or live; `event` is NULL or a readable `bw_event` (see
/// `bw_event_log_record`); `out_counted` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_slo_observe(
    slo: *const bw_slo,
    event: *const bw_event,
    out_counted: *mut bool,
) -> bw_result {
    on_slo("bw_slo_observe", slo, |s| {
        // SAFETY: documented requirement on `event`.
        let e = unsafe { event_from_c(event, "event") }?;
        OptOut::new(out_counted).write(s.observe(&e));
        Ok(())
    })
}

/// Writes the figures now (old buckets expire as the clock moves) to `*out`. Thread-safe.
///
/// # Safety
/// `slo` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_slo_get_status(
    slo: *const bw_slo,
    out: *mut bw_slo_status,
) -> bw_result {
    on_slo("bw_slo_get_status", slo, |s| {
        let out = Out::new(out, "out")?;
        let st = s.status();
        out.write(bw_slo_status {
            target: st.target,
            window_ms: floor_ms(st.window),
            total: st.total,
            good: st.good,
            bad: st.bad,
            availability: st.availability,
            allowed_failures: st.allowed_failures,
            error_budget_consumed: st.error_budget_consumed,
            error_budget_remaining: st.error_budget_remaining,
            burn_rate: st.burn_rate,
            recommendation: recommendation_to_c(st.recommendation),
        });
        Ok(())
    })
}

/// Destroys an SLO handle; NULL is a no-op. Free it exactly once, after every other thread has
/// stopped using the handle.
///
/// # Safety
/// `slo` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_slo_free(slo: *mut bw_slo) {
    // SAFETY: documented requirement on `slo`.
    unsafe { ffi::free_handle("bw_slo_free", slo) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_core() {
        for (i, r) in Recommendation::ALL.iter().enumerate() {
            assert_eq!(recommendation_to_c(*r) as usize, i);
            // SAFETY: a static NUL-terminated name.
            let n = unsafe {
                std::ffi::CStr::from_ptr(bw_recommendation_name(RecommendationArg(i as u32)))
            };
            assert_eq!(n.to_str().unwrap(), r.as_str());
        }
    }
}
