//! `HealthRegistry` (the core's) and the Prometheus exposition. The core keeps results,
//! thresholds, staleness, dependencies and the aggregate; the JS layer runs each check on its
//! interval with its timeout (unreferenced timers) and reports what it saw.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use breakwater_core::degradation::{DegradationManager, Level};
use breakwater_core::health::{
    CheckResult, CheckView, HealthCheckConfig, HealthRegistry, HealthReport, HealthResult,
    HealthSettings, HealthStatus, breaker_probe,
};
use breakwater_core::metrics::{
    BulkheadSample, DegradationSample, MetricsSources, RateLimiterSample, render,
};
use breakwater_core::{Bulkhead, CircuitBreaker, ClockRef, ErrorCode, Policy, RateLimiter};
use napi_derive::napi;
use parking_lot::RwLock;
use serde_json::Value;

use crate::breaker::{NativeCircuitBreaker, NativeConfigError, config_errors, invalid, parse_json};
use crate::clock::{NativeManualClock, ms_to_duration};
use crate::degradation::NativeDegradationManager;
use crate::events::{EventQueue, NativeEvent};
use crate::limits::{NativeBulkhead, NativeRateLimiter};
use crate::policy::NativePolicy;
use crate::registry::NativeRegistry;
use crate::status::{Result, error, guard};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Checks a `healthChecks` section; empty when valid.
#[napi]
pub fn check_health_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => HealthSettings::from_json(&v)
            .err()
            .map(config_errors)
            .unwrap_or_default(),
    }
}

/// One check's settings as registered (durations in ms).
#[napi(object)]
pub struct NativeCheckConfig {
    pub kind: String,
    pub interval: f64,
    pub timeout: f64,
    pub failure_threshold: u32,
    pub critical: bool,
}

fn check_config(c: &HealthCheckConfig) -> NativeCheckConfig {
    NativeCheckConfig {
        kind: c.kind.as_str().to_string(),
        interval: ms(c.interval),
        timeout: ms(c.timeout),
        failure_threshold: c.failure_threshold,
        critical: c.critical,
    }
}

#[napi(object)]
pub struct NativeHealthResult {
    pub status: String,
    pub message: Option<String>,
    /// Ms.
    pub latency: f64,
    /// Wall time of the report.
    pub at: f64,
    pub failed: bool,
    pub timed_out: bool,
}

fn result(r: &HealthResult) -> NativeHealthResult {
    NativeHealthResult {
        status: r.result.status.as_str().to_string(),
        message: r.result.message.clone(),
        latency: ms(r.result.latency),
        at: r.at_ms as f64,
        failed: r.failed,
        timed_out: r.timed_out,
    }
}

#[napi(object)]
pub struct NativeCheckView {
    pub name: String,
    pub kind: String,
    pub critical: bool,
    pub status: String,
    pub failing: bool,
    pub stale: bool,
    pub consecutive_failures: u32,
    pub reports_total: f64,
    pub failures_total: f64,
    pub last: Option<NativeHealthResult>,
    pub is_check: bool,
    pub dependency: bool,
    pub breaker_state: Option<String>,
    pub degraded: bool,
}

fn view(c: &CheckView) -> NativeCheckView {
    NativeCheckView {
        name: c.name.to_string(),
        kind: c.kind.as_str().to_string(),
        critical: c.critical,
        status: c.status.as_str().to_string(),
        failing: c.failing,
        stale: c.stale,
        consecutive_failures: c.consecutive_failures,
        reports_total: c.reports_total as f64,
        failures_total: c.failures_total as f64,
        last: c.last.as_ref().map(result),
        is_check: c.is_check,
        dependency: c.dependency.is_some(),
        breaker_state: c
            .dependency
            .and_then(|d| d.breaker_state)
            .map(|s| s.as_str().to_string()),
        degraded: c.dependency.is_some_and(|d| d.degraded),
    }
}

#[napi(object)]
pub struct NativeHealthReport {
    pub status: String,
    pub liveness: String,
    pub readiness: String,
    pub startup: String,
    pub live: bool,
    pub ready: bool,
    pub started: bool,
    pub checks: Vec<NativeCheckView>,
    pub at: f64,
}

fn report(r: &HealthReport) -> NativeHealthReport {
    NativeHealthReport {
        status: r.status.as_str().to_string(),
        liveness: r.liveness.as_str().to_string(),
        readiness: r.readiness.as_str().to_string(),
        startup: r.startup.as_str().to_string(),
        live: r.live,
        ready: r.ready,
        started: r.started,
        checks: r.checks.iter().map(view).collect(),
        at: r.at_ms as f64,
    }
}

/// The degradation view the registry consults: names set by hand plus an attached manager.
#[derive(Default)]
struct Degraded {
    names: RwLock<HashSet<String>>,
    manager: RwLock<Option<Arc<DegradationManager>>>,
}

impl Degraded {
    fn is(&self, component: &str) -> bool {
        self.names.read().contains(component)
            || self
                .manager
                .read()
                .as_ref()
                .is_some_and(|m| m.level(component) != Level::None)
    }
}

#[napi]
pub struct NativeHealthRegistry {
    pub(crate) core: Arc<HealthRegistry>,
    degraded: Arc<Degraded>,
    events: EventQueue,
}

#[napi]
impl NativeHealthRegistry {
    /// `name` names the overall status in events; `settings`: a `healthChecks` section
    /// (check it with `checkHealthConfig` first).
    #[napi(constructor)]
    pub fn new(
        name: String,
        settings: Option<String>,
        clock: Option<&NativeManualClock>,
    ) -> Result<Self> {
        guard(|| {
            let settings = match settings {
                None => HealthSettings::default(),
                Some(json) => {
                    let v = parse_json(&json).map_err(invalid)?;
                    HealthSettings::from_json(&v).map_err(|e| invalid(config_errors(e)))?
                }
            };
            let clock = clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref);
            let core = Arc::new(HealthRegistry::with_settings(&name, settings, clock));
            let degraded = Arc::new(Degraded::default());
            let d = degraded.clone();
            core.set_degraded_probe(Some(Arc::new(move |c: &str| d.is(c))));
            Ok(Self {
                core,
                degraded,
                events: EventQueue::default(),
            })
        })
    }

    /// Whether the section says to run checks.
    #[napi]
    pub fn enabled(&self) -> bool {
        self.core.settings().enabled
    }

    /// Registers (or reconfigures) check `name`: the section's config for it, then `config`
    /// (check keys, config-file spelling). Returns the config as registered, or the problems.
    #[napi]
    pub fn register(
        &self,
        name: String,
        config: Option<String>,
    ) -> napi::Either<NativeCheckConfig, Vec<NativeConfigError>> {
        let base = self.core.settings().config_for(&name);
        let cfg = match config {
            None => Ok(base),
            Some(json) => match parse_json(&json) {
                Ok(v) => HealthCheckConfig::from_json_over(&base, &v),
                Err(e) => return napi::Either::B(e),
            },
        };
        match cfg.and_then(|c| self.core.register(&name, c).map(|()| c)) {
            Ok(c) => napi::Either::A(check_config(&c)),
            Err(e) => napi::Either::B(config_errors(e)),
        }
    }

    #[napi]
    pub fn unregister(&self, name: String) -> bool {
        self.core.unregister(&name)
    }

    #[napi]
    pub fn check_names(&self) -> Vec<String> {
        self.core
            .check_names()
            .into_iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// Marks `name` as a dependency; with `breaker`, failing while that breaker is open.
    #[napi]
    pub fn add_dependency(
        &self,
        name: String,
        critical: bool,
        breaker: Option<&NativeCircuitBreaker>,
    ) {
        self.core
            .add_dependency(&name, critical, breaker.map(|b| breaker_probe(&b.core)));
    }

    #[napi]
    pub fn remove_dependency(&self, name: String) -> bool {
        self.core.remove_dependency(&name)
    }

    /// Says whether component `name` is degraded (besides what an attached manager says).
    #[napi]
    pub fn set_degraded(&self, name: String, degraded: bool) {
        let mut s = self.degraded.names.write();
        if degraded {
            s.insert(name);
        } else {
            s.remove(&name);
        }
    }

    /// Consults `manager` for degraded dependencies (none: stop).
    #[napi]
    pub fn set_degradation_manager(&self, manager: Option<&NativeDegradationManager>) {
        *self.degraded.manager.write() = manager.map(|m| m.core.clone());
    }

    /// Records one result of check `name` (latency in ms); the check as it now stands.
    #[napi]
    pub fn report(
        &self,
        name: String,
        status: String,
        message: Option<String>,
        latency_ms: f64,
        metadata_json: Option<String>,
    ) -> Result<NativeCheckView> {
        guard(|| {
            let status = HealthStatus::ALL
                .into_iter()
                .find(|s| s.as_str() == status)
                .ok_or_else(|| {
                    error(
                        ErrorCode::InvalidArgument,
                        format!(
                            "status must be healthy, degraded, unhealthy, critical or unknown, got '{status}'"
                        ),
                    )
                })?;
            let mut r =
                CheckResult::new(status).with_latency(ms_to_duration("latency", latency_ms)?);
            r.message = message;
            if let Some(m) = metadata_json
                && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&m)
            {
                r.metadata = map;
            }
            self.core
                .report(&name, r)
                .map(|v| view(&v))
                .map_err(|e| error(ErrorCode::InvalidArgument, e.to_string()))
        })
    }

    /// Evaluates now, announcing changes (`health_changed`).
    #[napi]
    pub fn evaluate(&self) -> NativeHealthReport {
        report(&self.core.evaluate())
    }

    /// A pure read.
    #[napi]
    pub fn snapshot(&self) -> NativeHealthReport {
        report(&self.core.snapshot())
    }

    #[napi]
    pub fn check(&self, name: String) -> Option<NativeCheckView> {
        self.core.check(&name).map(|v| view(&v))
    }

    /// The latest reports of check `name`, newest first.
    #[napi]
    pub fn history(&self, name: String, limit: u32) -> Vec<NativeHealthResult> {
        self.core
            .history(&name, limit as usize)
            .iter()
            .map(result)
            .collect()
    }

    #[napi]
    pub fn is_ready(&self) -> bool {
        self.core.is_ready()
    }

    #[napi]
    pub fn is_live(&self) -> bool {
        self.core.is_live()
    }

    #[napi(getter)]
    pub fn queue_id(&self) -> u32 {
        self.events.id()
    }

    #[napi]
    pub fn set_listening(&self, mask: u32) -> Result<()> {
        guard(|| {
            self.events.set_listening(
                mask,
                |k, l| self.core.subscribe(Some(k), l),
                |id| self.core.unsubscribe(id),
            );
            Ok(())
        })
    }

    #[napi]
    pub fn take_events(&self) -> Vec<NativeEvent> {
        self.events.take()
    }
}

impl Drop for NativeHealthRegistry {
    fn drop(&mut self) {
        self.core.set_degraded_probe(None);
        self.events.clear(|id| self.core.unsubscribe(id));
    }
}

/// What one Prometheus exposition shows; the JS layer adds the components, then renders.
#[napi]
#[derive(Default)]
pub struct NativeMetrics {
    breakers: Vec<Arc<CircuitBreaker>>,
    policies: Vec<Arc<Policy>>,
    limiters: Vec<(String, Arc<RateLimiter>, ClockRef)>,
    bulkheads: Vec<(String, Arc<Bulkhead>)>,
    degradation: Vec<Arc<DegradationManager>>,
    health: Option<Arc<HealthRegistry>>,
}

#[napi]
impl NativeMetrics {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    #[napi]
    pub fn add_breaker(&mut self, b: &NativeCircuitBreaker) {
        self.breakers.push(b.core.clone());
    }

    /// Every breaker the registry holds (on every thread, for the process-wide registry).
    #[napi]
    pub fn add_registry(&mut self, r: &NativeRegistry) {
        self.breakers.extend(r.core_breakers());
    }

    #[napi]
    pub fn add_policy(&mut self, p: &NativePolicy) {
        self.policies.push(p.core.clone());
    }

    #[napi]
    pub fn add_rate_limiter(&mut self, name: String, l: &NativeRateLimiter) {
        self.limiters.push((name, l.core.clone(), l.clock.clone()));
    }

    #[napi]
    pub fn add_bulkhead(&mut self, name: String, b: &NativeBulkhead) {
        self.bulkheads.push((name, b.core.clone()));
    }

    #[napi]
    pub fn add_degradation(&mut self, m: &NativeDegradationManager) {
        self.degradation.push(m.core.clone());
    }

    #[napi]
    pub fn set_health(&mut self, h: &NativeHealthRegistry) {
        self.health = Some(h.core.clone());
    }

    /// The text exposition (format 0.0.4).
    #[napi]
    pub fn render(&self) -> String {
        let breakers: Vec<&CircuitBreaker> = self.breakers.iter().map(|b| &**b).collect();
        let policies: Vec<&Policy> = self.policies.iter().map(|p| &**p).collect();
        let limiters: Vec<RateLimiterSample<'_>> = self
            .limiters
            .iter()
            .map(|(name, l, clock)| RateLimiterSample {
                name,
                limiter: l,
                now: Some(clock.now()),
                rejected_total: None,
            })
            .collect();
        let bulkheads: Vec<BulkheadSample<'_>> = self
            .bulkheads
            .iter()
            .map(|(name, b)| BulkheadSample {
                name,
                bulkhead: b,
                rejected_total: None,
            })
            .collect();
        let totals: Vec<_> = self
            .degradation
            .iter()
            .flat_map(|m| m.component_totals())
            .collect();
        let degradations: Vec<DegradationSample<'_>> = totals
            .iter()
            .map(|t| DegradationSample {
                component: &t.component,
                level: t.level as u8,
                active: t.active,
                triggered_total: t.triggered_total,
                served_total: t.served_total,
            })
            .collect();
        render(&MetricsSources {
            breakers: &breakers,
            policies: &policies,
            rate_limiters: &limiters,
            bulkheads: &bulkheads,
            degradations: &degradations,
            health: self.health.as_deref(),
            ..MetricsSources::default()
        })
    }
}

/// The content type of the exposition.
#[napi]
pub fn metrics_content_type() -> &'static str {
    breakwater_core::metrics::CONTENT_TYPE
}
