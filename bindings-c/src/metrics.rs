//! Prometheus text exposition (format 0.0.4) into a caller buffer: the core renders it, so C
//! serves the same names, labels and buckets as every language (`docs/metrics.md`).

#![allow(non_camel_case_types)]

use std::ffi::{CStr, c_char};
use std::sync::Arc;

use breakwater_core::degradation::ComponentTotals;
use breakwater_core::metrics::{
    self, BulkheadSample, DegradationSample, MetricsSources, RateLimiterSample,
};
use breakwater_core::{Bulkhead, CircuitBreaker, Policy, RateLimiter, Slo};

use crate::alerts::bw_alerts;
use crate::breaker::bw_breaker;
use crate::degradation::bw_degradation;
use crate::ffi::{self, Error, boundary_value};
use crate::health::bw_health;
use crate::policy::bw_policy;
use crate::registry::bw_registry;
use crate::result::bw_result;
use crate::slo::bw_slo;
use crate::text::TextOut;

/// What one exposition shows, for `bw_prometheus`. Zero-initialise it and set what you have;
/// every field is optional (an all-zero struct renders ""). Arrays are pointer + count ((NULL,
/// 0) is empty) of non-NULL handles. A name shown twice within one kind is shown once (the
/// first: the registry's before the arrays').
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_metrics_sources {
    /// A registry: its breakers, rate limiters and bulkheads, under their names.
    pub registry: *const bw_registry,
    /// More breakers (`breakwater_circuit_breaker_*`).
    pub breakers: *const *const bw_breaker,
    pub breakers_len: usize,
    /// Policies (`breakwater_policy_*`, `breakwater_retries_total`...).
    pub policies: *const *const bw_policy,
    pub policies_len: usize,
    /// A degradation manager: every component it ever degraded (`breakwater_degradation_*`).
    pub degradation: *const bw_degradation,
    /// A health registry (`breakwater_health_*`), read without announcing anything.
    pub health: *const bw_health,
    /// SLOs (`breakwater_slo_*`).
    pub slos: *const *const bw_slo,
    pub slos_len: usize,
    /// An alert manager (`breakwater_alerts_*`).
    pub alerts: *const bw_alerts,
}

/// The handles of an array, each checked for NULL.
///
/// # Safety
/// `p` is NULL or points to `len` readable pointers, each NULL or live.
unsafe fn handles<'a, T>(
    p: *const *const T,
    len: usize,
    arg: &'static str,
) -> ffi::Result<Vec<&'a T>> {
    // SAFETY: forwarded.
    let list = unsafe { ffi::arg_slice(p, len, arg) }?;
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            // SAFETY: forwarded: each is NULL or live.
            unsafe { h.as_ref() }.ok_or_else(|| Error::null_at(format!("{arg}[{i}]")))
        })
        .collect()
}

/// Renders the Prometheus text exposition of `sources` into `buf`. The buffer contract (the
/// same for every function that fills a buffer):
///
/// - `*out_needed` (when `out_needed` is not NULL) receives the bytes the text needs, its
///   terminating NUL included, whether or not it fits;
/// - when `cap >= *out_needed`, the text and a NUL are written and the result is `BW_OK`;
/// - otherwise nothing is written to `buf` and the result is `BW_RESULT_BUFFER_TOO_SMALL`;
///   call again with a buffer of at least `*out_needed` bytes (figures may have grown
///   meanwhile: loop until `BW_OK`);
/// - `buf` may be NULL when `cap` is 0 (a size query).
///
/// The text is UTF-8, lines end with "\n", and is served with `bw_prometheus_content_type()`.
/// Reading it changes nothing (health is read without announcing). Thread-safe.
///
/// # Safety
/// `sources` is NULL or readable, its handles and arrays as documented; `buf` is NULL or
/// points to `cap` writable bytes; `out_needed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_prometheus(
    sources: *const bw_metrics_sources,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    ffi::boundary("bw_prometheus", || {
        // SAFETY: documented requirement on `sources`.
        let s = unsafe { ffi::arg_ref(sources, "sources") }?;
        let out = TextOut::new(buf, cap, out_needed)?;
        // SAFETY (the handles): documented requirements on `sources`.
        let (registry, degradation, health, alerts) = unsafe {
            (
                s.registry.as_ref(),
                s.degradation.as_ref(),
                s.health.as_ref(),
                s.alerts.as_ref(),
            )
        };
        // SAFETY: as above.
        let more_breakers = unsafe { handles(s.breakers, s.breakers_len, "sources.breakers") }?;
        // SAFETY: as above.
        let policies = unsafe { handles(s.policies, s.policies_len, "sources.policies") }?;
        // SAFETY: as above.
        let slos = unsafe { handles(s.slos, s.slos_len, "sources.slos") }?;

        let mut breakers: Vec<Arc<CircuitBreaker>> = Vec::new();
        let mut limiters: Vec<(String, Arc<RateLimiter>)> = Vec::new();
        let mut bulkheads: Vec<(String, Arc<Bulkhead>)> = Vec::new();
        let mut now = None;
        if let Some(r) = registry {
            let mut list = r.inner.breakers();
            list.sort_by(|a, b| a.name().cmp(b.name()));
            breakers = list;
            limiters = r.inner.rate_limiters_named();
            bulkheads = r.inner.bulkheads_named();
            now = Some(r.inner.clock().now());
        }
        breakers.extend(more_breakers.iter().map(|b| b.inner.clone()));
        let breaker_refs: Vec<&CircuitBreaker> = breakers.iter().map(|b| &**b).collect();
        let policy_refs: Vec<&Policy> = policies.iter().map(|p| &*p.inner).collect();
        let limiter_samples: Vec<RateLimiterSample<'_>> = limiters
            .iter()
            .map(|(n, l)| RateLimiterSample {
                name: n,
                limiter: l,
                now,
                rejected_total: None,
            })
            .collect();
        let bulkhead_samples: Vec<BulkheadSample<'_>> = bulkheads
            .iter()
            .map(|(n, b)| BulkheadSample {
                name: n,
                bulkhead: b,
                rejected_total: None,
            })
            .collect();
        let totals: Vec<ComponentTotals> =
            degradation.map_or_else(Vec::new, |d| d.inner.component_totals());
        let degradation_samples: Vec<DegradationSample<'_>> = totals
            .iter()
            .map(|t| DegradationSample {
                component: &t.component,
                level: t.level as u8,
                active: t.active,
                triggered_total: t.triggered_total,
                served_total: t.served_total,
            })
            .collect();
        let slo_refs: Vec<&Slo> = slos.iter().map(|s| &*s.inner).collect();
        let text = metrics::render(&MetricsSources {
            breakers: &breaker_refs,
            policies: &policy_refs,
            rate_limiters: &limiter_samples,
            bulkheads: &bulkhead_samples,
            degradations: &degradation_samples,
            health: health.map(|h| &*h.inner),
            slos: &slo_refs,
            alerts: alerts.map(|a| &*a.inner),
        });
        out.write(&text)
    })
}

/// The content type to serve `bw_prometheus`'s text with:
/// "text/plain; version=0.0.4; charset=utf-8". Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_prometheus_content_type() -> *const c_char {
    const CT: &CStr = c"text/plain; version=0.0.4; charset=utf-8";
    boundary_value("bw_prometheus_content_type", CT.as_ptr(), || CT.as_ptr())
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_type_is_the_core_s() {
        // SAFETY: a static NUL-terminated string.
        let ct = unsafe { std::ffi::CStr::from_ptr(super::bw_prometheus_content_type()) };
        assert_eq!(ct.to_str().unwrap(), breakwater_core::metrics::CONTENT_TYPE);
    }
}
