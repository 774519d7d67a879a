//! `bw.HealthRegistry`, the native half: the core's registry (results, statuses, liveness,
//! readiness, startup, dependencies, `health_changed`). The Python layer
//! (`breakwater._health`) keeps the check callables and runs them: sync checks on a
//! background daemon thread, async checks as tasks on the running loop, each on its interval
//! with its timeout, reporting every result here.

use std::sync::{Arc, Weak};
use std::time::Duration;

use breakwater_core::health::{
    CheckKind, CheckResult, CheckView, HealthCheckConfig, HealthRegistry, HealthReport,
    HealthResult, HealthSettings, HealthStatus,
};
use breakwater_core::{ConfigErrors, DegradationManager, EventKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};
use pyo3::{IntoPyObjectExt, PyTraverseError, PyVisit};

use crate::breaker::{PyCircuitBreaker, Subscription, event_kind, python_listener};
use crate::cache::{clock_ref, manual_clock_arg};
use crate::clock::PyManualClock;
use crate::config::{as_duration, as_int, items};
use crate::degradation::PyDegradationManager;
use crate::errors::{PyConfigProblem, config_error, config_error1};
use crate::records::rec;

const CHECK_KEYS: &[&str] = &[
    "kind",
    "interval",
    "timeout",
    "failure_threshold",
    "critical",
];

fn parse_status(s: &str) -> PyResult<HealthStatus> {
    s.parse().map_err(|()| {
        PyValueError::new_err(format!(
            "unknown health status {s:?}; one of: {}",
            HealthStatus::ALL.map(|h| h.as_str()).join(", ")
        ))
    })
}

/// Check settings from Python keywords (seconds) over `base`; problems named by keyword with
/// the value as written.
fn check_config(
    py: Python<'_>,
    base: HealthCheckConfig,
    kwargs: &[(String, Bound<'_, PyAny>)],
    extra: &[&str],
) -> PyResult<HealthCheckConfig> {
    let mut cfg = base;
    let mut early = Vec::new();
    let problem = |k: &str, v: &Bound<'_, PyAny>, allowed: &str| PyConfigProblem {
        path: None,
        key: k.into(),
        value: v.clone().unbind(),
        allowed: allowed.into(),
    };
    for (k, v) in kwargs {
        if v.is_none() {
            continue;
        }
        match k.as_str() {
            "kind" => match v
                .extract::<String>()
                .ok()
                .and_then(|s| s.parse::<CheckKind>().ok())
            {
                Some(kind) => cfg.kind = kind,
                None => early.push(problem(k, v, "one of liveness, readiness, startup")),
            },
            "interval" => cfg.interval = as_duration(v).unwrap_or(Duration::ZERO),
            "timeout" => cfg.timeout = as_duration(v).unwrap_or(Duration::ZERO),
            "failure_threshold" => {
                cfg.failure_threshold = as_int(v).and_then(|i| u32::try_from(i).ok()).unwrap_or(0)
            }
            "critical" => match v.cast::<PyBool>() {
                Ok(b) => cfg.critical = b.is_true(),
                Err(_) => early.push(problem(k, v, "True or False")),
            },
            other if extra.contains(&other) => {}
            other => {
                let mut known = CHECK_KEYS.to_vec();
                known.extend_from_slice(extra);
                let hint = breakwater_core::config::did_you_mean(other, &known)
                    .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                early.push(problem(
                    other,
                    v,
                    &format!("one of the documented keywords{hint}"),
                ));
            }
        }
    }
    if let Err(ConfigErrors(errs)) = cfg.validate() {
        for e in errs {
            // The core states durations in ms; here they are seconds.
            let allowed = match e.key.as_str() {
                "interval" | "timeout" => "seconds > 0 (whole ms), at most 1 day".to_string(),
                _ => e.allowed.clone(),
            };
            match kwargs.iter().find(|(k, _)| *k == e.key) {
                Some((k, v)) => early.push(problem(k, v, &allowed)),
                None => early.push(PyConfigProblem::from_core(py, &e)),
            }
        }
    }
    if early.is_empty() {
        Ok(cfg)
    } else {
        Err(config_error(py, early))
    }
}

pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_bound_py_any(py)?,
            (None, Some(u)) => u.into_bound_py_any(py)?,
            _ => n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)?,
        },
        Value::String(s) => s.into_bound_py_any(py)?,
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(json_to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn result_object<'py>(py: Python<'py>, r: &HealthResult) -> PyResult<Bound<'py, PyAny>> {
    let meta = json_to_py(py, &serde_json::Value::Object(r.result.metadata.clone()))?;
    rec!(py, "CheckResult", {
        status: r.result.status.as_str(),
        message: r.result.message.as_deref(),
        latency: r.result.latency.as_secs_f64(),
        metadata: meta,
        at: r.at_ms,
        failed: r.failed,
        timed_out: r.timed_out,
    })
}

pub fn view_object<'py>(py: Python<'py>, v: &CheckView) -> PyResult<Bound<'py, PyAny>> {
    let last = match &v.last {
        Some(r) => result_object(py, r)?,
        None => py.None().into_bound(py),
    };
    rec!(py, "CheckStatus", {
        name: &*v.name,
        kind: v.kind.as_str(),
        critical: v.critical,
        status: v.status.as_str(),
        failing: v.failing,
        stale: v.stale,
        consecutive_failures: v.consecutive_failures,
        reports_total: v.reports_total,
        failures_total: v.failures_total,
        last: last,
        is_check: v.is_check,
        dependency: v.dependency.is_some(),
        breaker_state: v.dependency.and_then(|d| d.breaker_state).map(|s| s.as_str()),
        degraded: v.dependency.is_some_and(|d| d.degraded),
    })
}

fn report_object<'py>(py: Python<'py>, r: &HealthReport) -> PyResult<Bound<'py, PyAny>> {
    let mut checks = Vec::with_capacity(r.checks.len());
    for c in &r.checks {
        checks.push(view_object(py, c)?);
    }
    rec!(py, "HealthReport", {
        status: r.status.as_str(),
        liveness: r.liveness.as_str(),
        readiness: r.readiness.as_str(),
        startup: r.startup.as_str(),
        live: r.live,
        ready: r.ready,
        started: r.started,
        checks: pyo3::types::PyTuple::new(py, checks)?,
        at: r.at_ms,
    })
}

fn config_dict<'py>(py: Python<'py>, c: &HealthCheckConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("kind", c.kind.as_str())?;
    d.set_item("interval", c.interval.as_secs_f64())?;
    d.set_item("timeout", c.timeout.as_secs_f64())?;
    d.set_item("failure_threshold", c.failure_threshold)?;
    d.set_item("critical", c.critical)?;
    Ok(d)
}

/// `bw.HealthRegistry(name="health", *, config=None, clock=None, degradation=None,
/// alerts=None, enabled=None, max_history=None, kind=None, interval=None, timeout=None,
/// failure_threshold=None, critical=None)`.
#[pyclass(
    frozen,
    subclass,
    weakref,
    module = "breakwater",
    name = "HealthRegistry"
)]
pub struct PyHealthRegistry {
    pub core: Arc<HealthRegistry>,
    pub clock: Option<Py<PyManualClock>>,
    degradation: Option<Py<PyDegradationManager>>,
    alerts: Option<Py<PyAny>>,
}

fn degraded_probe_of(m: &Arc<DegradationManager>) -> breakwater_core::health::DegradedProbe {
    let weak: Weak<DegradationManager> = Arc::downgrade(m);
    Arc::new(move |name: &str| {
        weak.upgrade()
            .is_some_and(|m| m.level(name) != breakwater_core::Level::None)
    })
}

#[pymethods]
impl PyHealthRegistry {
    #[new]
    #[pyo3(
        signature = (name = "health", **kwargs),
        text_signature = "(name='health', *, config=None, clock=None, degradation=None, alerts=None, enabled=None, max_history=None, kind=None, interval=None, timeout=None, failure_threshold=None, critical=None)"
    )]
    fn new(py: Python<'_>, name: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut rest = Vec::new();
        let mut config = None;
        let mut clock = None;
        let mut degradation = None;
        let mut alerts = None;
        let mut enabled = None;
        let mut max_history = None;
        for (k, v) in items(kwargs)? {
            match k.as_str() {
                "config" => config = Some(v),
                "clock" => clock = manual_clock_arg(py, Some(&v))?,
                "degradation" if !v.is_none() => match v.cast::<PyDegradationManager>() {
                    Ok(m) => degradation = Some(m.clone().unbind()),
                    Err(_) => {
                        return Err(config_error1(
                            py,
                            "degradation",
                            v.unbind(),
                            "None or a breakwater.DegradationManager",
                        ));
                    }
                },
                "alerts" if !v.is_none() => alerts = Some(v),
                "enabled" if !v.is_none() => match v.cast::<PyBool>() {
                    Ok(b) => enabled = Some(b.is_true()),
                    Err(_) => {
                        return Err(config_error1(py, "enabled", v.unbind(), "True or False"));
                    }
                },
                "max_history" if !v.is_none() => {
                    match as_int(&v).and_then(|i| usize::try_from(i).ok()) {
                        Some(n) if (1..=10_000).contains(&n) => max_history = Some(n),
                        _ => {
                            return Err(config_error1(
                                py,
                                "max_history",
                                v.unbind(),
                                "an integer 1..=10000",
                            ));
                        }
                    }
                }
                "degradation" | "alerts" | "enabled" | "max_history" => {}
                _ => rest.push((k, v)),
            }
        }
        let mut settings = match config.filter(|c| !c.is_none()) {
            None => HealthSettings::default(),
            Some(c) => {
                let value = crate::json::to_json(&c)
                    .map_err(|msg| config_error1(py, "(config)", c.clone().unbind(), &msg))?;
                HealthSettings::from_json(&value)
                    .map_err(|e| crate::breaker::mapping_errors(py, &c, &e))?
            }
        };
        settings.defaults = check_config(py, settings.defaults, &rest, &[])?;
        if let Some(e) = enabled {
            settings.enabled = e;
        }
        if let Some(n) = max_history {
            settings.max_history = n;
        }
        let core = Arc::new(HealthRegistry::with_settings(
            name,
            settings,
            clock_ref(&clock),
        ));
        if let Some(m) = &degradation {
            // Feed each check's status to the manager (the check's component degrades with it).
            let weak = Arc::downgrade(&m.get().core);
            core.subscribe(
                Some(EventKind::HealthChanged),
                Arc::new(move |e: &breakwater_core::Event| {
                    if let (Some(m), Some(status), Some(_)) = (weak.upgrade(), e.reason, e.attempt)
                    {
                        m.on_health_status(&e.component, status);
                    }
                }),
            );
        }
        let mut this = Self {
            core,
            clock,
            degradation,
            alerts: None,
        };
        if let Some(a) = alerts {
            this.set_alerts_inner(py, &a)?;
            this.alerts = Some(a.unbind());
        }
        Ok(this)
    }

    /// Registers (or reconfigures, keeping its results) check `name`; settings default to the
    /// config's entry for it, else the registry's defaults. The Python layer's `register` also
    /// takes the check callable.
    #[pyo3(signature = (name, config = None, **kwargs))]
    fn _register_check<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        config: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut base = self.core.settings().config_for(name);
        if let Some(c) = config.filter(|c| !c.is_none()) {
            let value = crate::json::to_json(c)
                .map_err(|msg| config_error1(py, "(config)", c.clone().unbind(), &msg))?;
            base = HealthCheckConfig::from_json_over(&base, &value)
                .map_err(|e| crate::breaker::mapping_errors(py, c, &e))?;
        }
        let cfg = check_config(py, base, &items(kwargs)?, &[])?;
        self.core.register(name, cfg).map_err(|e| {
            config_error(
                py,
                e.0.iter()
                    .map(|e| PyConfigProblem::from_core(py, e))
                    .collect(),
            )
        })?;
        config_dict(py, &cfg)
    }

    /// Removes check `name`; False when there was none.
    fn unregister(&self, name: &str) -> bool {
        self.core.unregister(name)
    }

    /// The names of the registered checks, in registration order.
    #[getter]
    fn check_names(&self) -> Vec<String> {
        self.core
            .check_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// The settings (seconds: kind, interval, timeout, failure_threshold, critical) a check
    /// named `name` is registered with by default: the config's entry for it, else the
    /// defaults.
    fn config_for<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
        config_dict(py, &self.core.settings().config_for(name))
    }

    /// Records one result of check `name` (`status`: healthy, degraded, unhealthy, critical or
    /// unknown; `latency` seconds: above the check's timeout it counts as failed) and
    /// re-evaluates, announcing what changed. Returns the check as it now stands.
    #[pyo3(signature = (name, status, message = None, *, latency = 0.0, metadata = None))]
    fn report<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        status: &str,
        message: Option<String>,
        latency: f64,
        metadata: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut r = CheckResult::new(parse_status(status)?);
        r.message = message;
        r.latency = crate::config::secs_to_duration(latency).ok_or_else(|| {
            PyValueError::new_err(format!("latency must be seconds >= 0, not {latency}"))
        })?;
        if let Some(m) = metadata.filter(|m| !m.is_none()) {
            match crate::json::to_json(m) {
                Ok(serde_json::Value::Object(map)) => r.metadata = map,
                _ => {
                    return Err(PyValueError::new_err(
                        "metadata must be a mapping of JSON-like values",
                    ));
                }
            }
        }
        match self.core.report(name, r) {
            Ok(view) => view_object(py, &view),
            Err(e) => Err(crate::errors::invalid_argument(py, &e.to_string())),
        }
    }

    /// Computes the report and announces every status change (`health_changed`).
    fn evaluate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        report_object(py, &self.core.evaluate())
    }

    /// The report now: a pure read (nothing is announced).
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        report_object(py, &self.core.snapshot())
    }

    /// The entry named `name` (a check or a dependency), or None.
    fn get<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.core.check(name) {
            Some(v) => view_object(py, &v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Stored results of check `name`, newest first, at most `limit`.
    #[pyo3(signature = (name, limit = 20))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        limit: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for r in self.core.history(name, limit) {
            out.append(result_object(py, &r)?)?;
        }
        Ok(out)
    }

    /// The status over liveness checks.
    fn liveness(&self) -> &'static str {
        self.core.snapshot().liveness.as_str()
    }
    /// The status over liveness and readiness checks and dependencies.
    fn readiness(&self) -> &'static str {
        self.core.snapshot().readiness.as_str()
    }
    /// The status over startup checks.
    fn startup(&self) -> &'static str {
        self.core.snapshot().startup.as_str()
    }
    /// Liveness is neither unhealthy nor critical.
    fn is_live(&self) -> bool {
        self.core.is_live()
    }
    /// Readiness is neither unhealthy nor critical (degraded is still ready).
    fn is_ready(&self) -> bool {
        self.core.is_ready()
    }
    /// Startup is healthy or degraded.
    fn is_started(&self) -> bool {
        self.core.snapshot().started
    }

    /// Makes `target` (a CircuitBreaker, or a component name) a dependency: while its breaker
    /// is open, or the degraded probe says it is degraded, it counts as a failing check of
    /// that name (a check of the same name takes the failure).
    #[pyo3(signature = (target, *, critical = true))]
    fn add_dependency(&self, target: &Bound<'_, PyAny>, critical: bool) -> PyResult<()> {
        if let Ok(b) = target.cast::<PyCircuitBreaker>() {
            self.core.add_breaker_dependency(&b.get().core, critical);
        } else if let Ok(s) = target.cast::<PyString>() {
            self.core.add_dependency(&s.to_cow()?, critical, None);
        } else {
            return Err(PyValueError::new_err(
                "a dependency is a CircuitBreaker or a component name",
            ));
        }
        Ok(())
    }

    fn remove_dependency(&self, name: &str) -> bool {
        self.core.remove_dependency(name)
    }

    /// What tells whether a dependency's component is degraded: a DegradationManager (its
    /// level is not "none"), a callable `probe(name) -> bool`, or None.
    fn set_degraded_probe(&self, probe: &Bound<'_, PyAny>) -> PyResult<()> {
        if probe.is_none() {
            self.core.set_degraded_probe(None);
        } else if let Ok(m) = probe.cast::<PyDegradationManager>() {
            self.core
                .set_degraded_probe(Some(degraded_probe_of(&m.get().core)));
        } else if probe.is_callable() {
            let f = probe.clone().unbind();
            self.core
                .set_degraded_probe(Some(Arc::new(move |name: &str| {
                    Python::attach(|py| {
                        f.bind(py)
                            .call1((name,))
                            .and_then(|r| r.is_truthy())
                            .unwrap_or(false)
                    })
                })));
        } else {
            return Err(PyValueError::new_err(
                "the probe is None, a DegradationManager or a callable",
            ));
        }
        Ok(())
    }

    /// Calls `callback(event)` on `health_changed` (`reason`: the new status; `component`:
    /// the entry, or the registry's name for the overall status).
    fn on(&self, event: &str, callback: &Bound<'_, PyAny>) -> PyResult<Subscription> {
        let kind = event_kind(event)?;
        if !callback.is_callable() {
            return Err(PyValueError::new_err("the callback must be callable"));
        }
        let id = self.core.subscribe(kind, python_listener(callback));
        let core = Arc::downgrade(&self.core);
        Ok(Subscription::new(
            Box::new(move |id| core.upgrade().is_some_and(|c| c.unsubscribe(id))),
            id,
        ))
    }

    /// The registry's name (the component of overall `health_changed` events).
    #[getter]
    fn name(&self) -> &str {
        self.core.name()
    }

    /// False when the config turned health checks off (nothing is scheduled).
    #[getter]
    fn enabled(&self) -> bool {
        self.core.settings().enabled
    }

    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    #[getter]
    fn degradation(&self, py: Python<'_>) -> Option<Py<PyDegradationManager>> {
        self.degradation.as_ref().map(|c| c.clone_ref(py))
    }

    /// Monotonic seconds on the registry's clock (what latencies and intervals are read from).
    fn _now(&self) -> f64 {
        self.core.clock().now() as f64 / 1e9
    }

    fn __repr__(&self) -> String {
        format!(
            "<HealthRegistry {:?} checks={:?} status={}>",
            self.core.name(),
            self.check_names(),
            self.core.snapshot().status.as_str()
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        if let Some(d) = &self.degradation {
            visit.call(d)?;
        }
        if let Some(a) = &self.alerts {
            visit.call(a)?;
        }
        Ok(())
    }
}

impl PyHealthRegistry {
    fn set_alerts_inner(&self, py: Python<'_>, alerts: &Bound<'_, PyAny>) -> PyResult<()> {
        match crate::observe::alert_core(alerts) {
            Some(a) => {
                self.core.set_alerts(Some(&a));
                Ok(())
            }
            None => Err(config_error1(
                py,
                "alerts",
                alerts.clone().unbind(),
                "None or a breakwater.AlertManager",
            )),
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHealthRegistry>()?;
    m.add(
        "HEALTH_STATUSES",
        HealthStatus::ALL.map(|s| s.as_str()).to_vec(),
    )?;
    Ok(())
}
