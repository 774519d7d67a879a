//! What every conformance runner in core/tests/ shares: where the repository is and which
//! scenario files exist.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every `*.json` under `conformance/scenarios/`, sorted.
pub fn scenario_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root().join("conformance/scenarios"), &mut out);
    out.sort();
    out
}

use std::sync::Arc;
use std::time::Duration;

use breakwater_core::{
    BreakerConfig, Bulkhead, BulkheadConfig, CircuitBreaker, Clock, ClockRef, ConfigErrors,
    ManualClock, PolicyParts, RateLimiter, RateLimiterConfig, RetryConfig, RetryPolicy,
};
use serde_json::Value;

/// A scenario's policy config (`{breaker, retry, rate_limiter, bulkhead, timeout_ms, fallback}`)
/// as policy parts on the scenario's ManualClock; the breaker is named `name`.
pub fn policy_parts(
    name: &str,
    config: &Value,
    clock: &Arc<ManualClock>,
) -> Result<PolicyParts, ConfigErrors> {
    let manual = ClockRef::Manual(clock.clone());
    let now = clock.now();
    let breaker = config
        .get("breaker")
        .map(|v| -> Result<_, ConfigErrors> {
            let cfg = BreakerConfig::from_json(v)?;
            Ok(Arc::new(CircuitBreaker::new(name, cfg, manual.clone())?))
        })
        .transpose()?;
    let retry = config
        .get("retry")
        .map(|v| -> Result<_, ConfigErrors> {
            Ok(Arc::new(RetryPolicy::new(
                RetryConfig::from_json(v)?,
                0,
                None,
            )?))
        })
        .transpose()?;
    let rate_limiter = config
        .get("rate_limiter")
        .map(|v| -> Result<_, ConfigErrors> {
            Ok(Arc::new(RateLimiter::new(
                RateLimiterConfig::from_json(v)?,
                now,
            )?))
        })
        .transpose()?;
    let bulkhead = config
        .get("bulkhead")
        .map(|v| -> Result<_, ConfigErrors> {
            Ok(Arc::new(Bulkhead::new(BulkheadConfig::from_json(v)?)?))
        })
        .transpose()?;
    Ok(PolicyParts {
        breaker,
        retry,
        rate_limiter,
        bulkhead,
        timeout: config
            .get("timeout_ms")
            .and_then(Value::as_u64)
            .map(Duration::from_millis),
        fallback: config
            .get("fallback")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        clock: Some(manual),
    })
}
