//! Observability: `bw.Slo` (error budgets), `bw.EventLog`, `bw.AlertManager` and
//! `bw.prometheus(...)` (the core's Prometheus text exposition over whatever objects and
//! registry it is given). Listeners that feed these from other components are core listeners
//! subscribed natively: no Python runs per event.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breakwater_core::event::Listener;
use breakwater_core::eventlog::{AlertRule, AlertsConfig, EventLog, EventQuery};
use breakwater_core::health::HealthRegistry;
use breakwater_core::limiter::{Bulkhead, RateLimiter};
use breakwater_core::metrics::{
    BulkheadSample, DegradationSample, MetricsSources, RateLimiterSample,
};
use breakwater_core::slo::{Slo, SloConfig};
use breakwater_core::{AlertManager, CircuitBreaker, ConfigErrors, Event, EventKind, Policy};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

use crate::breaker::{PyCircuitBreaker, PyEvent, Subscription, event_kind, python_listener};
use crate::cache::{clock_ref, manual_clock_arg};
use crate::clock::PyManualClock;
use crate::config::{as_duration, as_int, as_number, items};
use crate::degradation::{PyDegradationManager, PyFallback};
use crate::errors::{PyConfigProblem, config_error, config_error1};
use crate::health::PyHealthRegistry;
use crate::limiter::{PyBulkhead, PyRateLimiter};
use crate::policy::PyPolicy;
use crate::records::rec;
use crate::registry::PyRegistry;

// -- subscribing core listeners to native objects ---------------------------------------------

/// Subscribes a core listener to whatever emits events among the native objects.
pub fn subscribe_core(
    obj: &Bound<'_, PyAny>,
    kind: Option<EventKind>,
    listener: Listener,
) -> PyResult<Subscription> {
    macro_rules! sub {
        ($core:expr) => {{
            let core = $core.clone();
            let id = core.subscribe(kind, listener);
            let weak = Arc::downgrade(&core);
            return Ok(Subscription::new(
                Box::new(move |id| weak.upgrade().is_some_and(|c| c.unsubscribe(id))),
                id,
            ));
        }};
    }
    if let Ok(b) = obj.cast::<PyCircuitBreaker>() {
        sub!(b.get().core);
    }
    if let Ok(p) = obj.cast::<PyPolicy>() {
        sub!(p.get().core());
    }
    if let Ok(m) = obj.cast::<PyDegradationManager>() {
        sub!(m.get().core);
    }
    if let Ok(f) = obj.cast::<PyFallback>() {
        sub!(f.get().parts_fixed().manager.get().core);
    }
    if let Ok(h) = obj.cast::<PyHealthRegistry>() {
        sub!(h.get().core);
    }
    if let Ok(a) = obj.cast::<PyAlertManager>() {
        sub!(a.get().core);
    }
    Err(PyValueError::new_err(format!(
        "{} emits no events (a CircuitBreaker, Policy, DegradationManager, Fallback, \
         HealthRegistry or AlertManager does)",
        obj.repr().map(|r| r.to_string()).unwrap_or_default()
    )))
}

fn kinds_of(kinds: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<EventKind>> {
    let mut out = Vec::new();
    if let Some(k) = kinds.filter(|k| !k.is_none()) {
        if let Ok(s) = k.cast::<PyString>() {
            out.extend(event_kind(&s.to_cow()?)?);
        } else {
            for item in k.try_iter()? {
                out.extend(event_kind(&item?.extract::<String>()?)?);
            }
        }
    }
    Ok(out)
}

/// The core event inside a `bw.Event`.
fn event_of(e: &Bound<'_, PyAny>) -> PyResult<Event> {
    Ok(e.cast::<PyEvent>()
        .map_err(|_| PyValueError::new_err("expected a breakwater.Event"))?
        .get()
        .0
        .clone())
}

// -- Slo --------------------------------------------------------------------------------------

/// `bw.Slo(name, *, target=0.999, window=30 days, buckets=720, burn_rate_window=3600.0,
/// clock=None)`: the share of good requests of one component over a rolling window (seconds),
/// its error budget and burn rate.
#[pyclass(frozen, weakref, module = "breakwater", name = "Slo")]
pub struct PySlo {
    pub core: Arc<Slo>,
    clock: Option<Py<PyManualClock>>,
}

fn slo_config(py: Python<'_>, kwargs: &[(String, Bound<'_, PyAny>)]) -> PyResult<SloConfig> {
    let mut cfg = SloConfig::default();
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
            "target" => cfg.target = as_number(v).unwrap_or(f64::NAN),
            "window" => cfg.window = as_duration(v).unwrap_or(Duration::ZERO),
            "buckets" => cfg.buckets = as_int(v).and_then(|i| u32::try_from(i).ok()).unwrap_or(0),
            "burn_rate_window" => cfg.burn_rate_window = as_duration(v).unwrap_or(Duration::ZERO),
            other => {
                let known = ["target", "window", "buckets", "burn_rate_window", "clock"];
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
    if early.is_empty()
        && let Err(ConfigErrors(errs)) = cfg.validate()
    {
        for e in errs {
            // The core states durations in ms; here they are seconds.
            let allowed = match e.key.as_str() {
                "window" => "seconds > 0 (whole ms), at most 366 days",
                "burn_rate_window" => "seconds > 0 (whole ms)",
                _ => e.allowed.as_str(),
            };
            match kwargs.iter().find(|(k, _)| *k == e.key) {
                Some((k, v)) => early.push(problem(k, v, allowed)),
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

fn core_config_errors(py: Python<'_>, e: &ConfigErrors) -> PyErr {
    config_error(
        py,
        e.0.iter()
            .map(|e| PyConfigProblem::from_core(py, e))
            .collect(),
    )
}

#[pymethods]
impl PySlo {
    #[new]
    #[pyo3(
        signature = (name, **kwargs),
        text_signature = "(name, *, target=0.999, window=2592000.0, buckets=720, burn_rate_window=3600.0, clock=None)"
    )]
    fn new(py: Python<'_>, name: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut all = items(kwargs)?;
        let clock = match all.iter().position(|(k, _)| k == "clock") {
            Some(i) => manual_clock_arg(py, Some(&all.remove(i).1))?,
            None => None,
        };
        let cfg = slo_config(py, &all)?;
        let core =
            Slo::new(name, cfg, clock_ref(&clock)).map_err(|e| core_config_errors(py, &e))?;
        Ok(Self {
            core: Arc::new(core),
            clock,
        })
    }

    /// An SLO from a config mapping (`target`, `window_ms` / `window` in ms, `buckets`,
    /// `burn_rate_window_ms` / `burnRateWindow`).
    #[classmethod]
    #[pyo3(signature = (name, config, /, *, clock = None))]
    fn from_config(
        cls: &Bound<'_, PyType>,
        name: &str,
        config: &Bound<'_, PyAny>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = cls.py();
        let clock = manual_clock_arg(py, clock)?;
        let value = crate::json::to_json(config)
            .map_err(|msg| config_error1(py, "(config)", config.clone().unbind(), &msg))?;
        let cfg = SloConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, config, &e))?;
        let core =
            Slo::new(name, cfg, clock_ref(&clock)).map_err(|e| core_config_errors(py, &e))?;
        Ok(Self {
            core: Arc::new(core),
            clock,
        })
    }

    /// Counts one request, good or bad, now.
    #[pyo3(signature = (good = true))]
    fn record(&self, good: bool) {
        self.core.record(good);
    }

    /// Counts `good` good and `bad` bad requests now.
    #[pyo3(signature = (good = 0, bad = 0))]
    fn record_counts(&self, good: u64, bad: u64) {
        self.core.record_counts(good, bad);
    }

    /// Counts what an event (a `bw.Event`, or an event kind) says about a request: `success`
    /// is good, `failure` and `call_rejected` bad, anything else nothing. Whether it counted.
    fn observe(&self, event: &Bound<'_, PyAny>) -> PyResult<bool> {
        let e = if let Ok(s) = event.cast::<PyString>() {
            let kind = event_kind(&s.to_cow()?)?
                .ok_or_else(|| PyValueError::new_err("an event kind, not \"*\""))?;
            Event::new(kind, &Arc::from(self.core.name()), 0)
        } else {
            event_of(event)?
        };
        Ok(self.core.observe(&e))
    }

    /// Feeds this SLO from a breaker's (or a policy's) events.
    fn watch(&self, source: &Bound<'_, PyAny>) -> PyResult<Subscription> {
        let target = if let Ok(p) = source.cast::<PyPolicy>() {
            match p.get().breaker_object(source.py()) {
                Some(b) => b.into_bound(source.py()).into_any(),
                None => source.clone(),
            }
        } else {
            source.clone()
        };
        subscribe_core(&target, None, self.core.listener())
    }

    /// The figures now: an `SloStatus`.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.core.status();
        rec!(py, "SloStatus", {
            name: self.core.name(),
            target: s.target,
            window: s.window.as_secs_f64(),
            total: s.total,
            good: s.good,
            bad: s.bad,
            availability: s.availability,
            allowed_failures: s.allowed_failures,
            error_budget_consumed: s.error_budget_consumed,
            error_budget_remaining: s.error_budget_remaining,
            burn_rate: s.burn_rate,
            recommendation: s.recommendation.as_str(),
            advice: s.recommendation.advice(),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        self.core.name()
    }

    /// `{"target", "window", "buckets", "burn_rate_window"}` (seconds).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.core.config();
        let d = PyDict::new(py);
        d.set_item("target", c.target)?;
        d.set_item("window", c.window.as_secs_f64())?;
        d.set_item("buckets", c.buckets)?;
        d.set_item("burn_rate_window", c.burn_rate_window.as_secs_f64())?;
        Ok(d)
    }

    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        let s = self.core.status();
        format!(
            "<Slo {:?} target={} availability={} recommendation={}>",
            self.core.name(),
            s.target,
            s.availability,
            s.recommendation.as_str()
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        Ok(())
    }
}

// -- EventLog ---------------------------------------------------------------------------------

/// `bw.EventLog(capacity=1000)`: the newest events of any components, oldest dropped first.
/// `attach(obj)` feeds it natively; `query(...)` reads it newest first.
#[pyclass(frozen, module = "breakwater", name = "EventLog")]
pub struct PyEventLog {
    core: Arc<EventLog>,
}

fn logged_object<'py>(
    py: Python<'py>,
    e: &breakwater_core::LoggedEvent,
) -> PyResult<Bound<'py, PyAny>> {
    rec!(py, "LoggedEvent", {
        seq: e.seq,
        event: Py::new(py, PyEvent(e.event.clone()))?,
    })
}

#[pymethods]
impl PyEventLog {
    #[new]
    #[pyo3(signature = (capacity = None))]
    fn new(py: Python<'_>, capacity: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let n = match capacity.filter(|c| !c.is_none()) {
            None => breakwater_core::eventlog::DEFAULT_LOG_CAPACITY,
            Some(c) => as_int(c)
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(|| {
                    config_error1(py, "capacity", c.clone().unbind(), "an integer 1..=1000000")
                })?,
        };
        let core = EventLog::new(n).map_err(|e| {
            let v = capacity.map_or_else(|| py.None(), |c| c.clone().unbind());
            config_error(
                py,
                e.0.iter()
                    .map(|e| PyConfigProblem {
                        path: None,
                        key: e.key.clone(),
                        value: v.clone_ref(py),
                        allowed: e.allowed.clone(),
                    })
                    .collect(),
            )
        })?;
        Ok(Self {
            core: Arc::new(core),
        })
    }

    /// Appends one event.
    fn record(&self, event: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.record(&event_of(event)?);
        Ok(())
    }

    /// Records every event of `source` (a breaker, policy, degradation manager, fallback,
    /// health registry or alert manager) from now on, natively.
    fn attach(&self, source: &Bound<'_, PyAny>) -> PyResult<Subscription> {
        subscribe_core(source, None, self.core.listener())
    }

    /// Matching events, newest first: of `component`, of `kinds` (an event kind or a list),
    /// at most `limit`, with a sequence number above `after_seq` (for polling).
    #[pyo3(signature = (*, component = None, kinds = None, limit = None, after_seq = None))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        component: Option<&str>,
        kinds: Option<&Bound<'py, PyAny>>,
        limit: Option<usize>,
        after_seq: Option<u64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let kinds = kinds_of(kinds)?;
        let q = EventQuery {
            component,
            kinds: &kinds,
            limit,
            after_seq,
        };
        let out = PyList::empty(py);
        for e in self.core.query(&q) {
            out.append(logged_object(py, &e)?)?;
        }
        Ok(out)
    }

    /// The newest `limit` events, newest first.
    #[pyo3(signature = (limit = 100))]
    fn recent<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for e in self.core.recent(limit) {
            out.append(logged_object(py, &e)?)?;
        }
        Ok(out)
    }

    fn __len__(&self) -> usize {
        self.core.len()
    }

    /// The sequence number of the newest event ever logged (0 before any).
    #[getter]
    fn last_seq(&self) -> u64 {
        self.core.last_seq()
    }

    #[getter]
    fn capacity(&self) -> usize {
        self.core.capacity()
    }

    /// Forgets every event (sequence numbers keep counting).
    fn clear(&self) {
        self.core.clear();
    }

    fn __repr__(&self) -> String {
        format!(
            "<EventLog len={} capacity={}>",
            self.core.len(),
            self.core.capacity()
        )
    }
}

// -- AlertManager -----------------------------------------------------------------------------

/// `bw.AlertManager(rules=None, *, max_history=1000, clock=None)`: watches events, health
/// reports and SLOs against rules (the defaults when `rules` is None) and raises de-duplicated
/// `alert` events: one per outage and component.
#[pyclass(frozen, weakref, module = "breakwater", name = "AlertManager")]
pub struct PyAlertManager {
    pub core: Arc<AlertManager>,
    clock: Option<Py<PyManualClock>>,
}

/// The core manager inside a `bw.AlertManager`.
pub fn alert_core(obj: &Bound<'_, PyAny>) -> Option<Arc<AlertManager>> {
    obj.cast::<PyAlertManager>()
        .ok()
        .map(|a| a.get().core.clone())
}

fn alert_object<'py>(py: Python<'py>, a: &breakwater_core::Alert) -> PyResult<Bound<'py, PyAny>> {
    rec!(py, "Alert", {
        id: a.id,
        rule: &*a.rule,
        condition: a.condition,
        component: &*a.component,
        severity: a.severity.as_str(),
        raised_at: a.raised_at_ms,
        resolved_at: a.resolved_at_ms,
        suppressed: a.suppressed,
    })
}

fn rule_dict<'py>(py: Python<'py>, r: &AlertRule) -> PyResult<Bound<'py, PyDict>> {
    use breakwater_core::AlertCondition;
    let d = PyDict::new(py);
    d.set_item("name", &*r.name)?;
    d.set_item("condition", r.condition.as_str())?;
    d.set_item("severity", r.severity.as_str())?;
    d.set_item("component", r.component.as_deref())?;
    match r.condition {
        AlertCondition::HealthCheckFailing { reports } => d.set_item("reports", reports)?,
        AlertCondition::ErrorBudget { threshold } => d.set_item("threshold", threshold)?,
        _ => {}
    }
    Ok(d)
}

impl PyAlertManager {
    fn build(
        py: Python<'_>,
        cfg: AlertsConfig,
        clock: Option<Py<PyManualClock>>,
    ) -> PyResult<Self> {
        let core = AlertManager::with_config(cfg, clock_ref(&clock))
            .map_err(|e| core_config_errors(py, &e))?;
        Ok(Self {
            core: Arc::new(core),
            clock,
        })
    }
}

#[pymethods]
impl PyAlertManager {
    #[new]
    #[pyo3(signature = (rules = None, *, max_history = None, clock = None))]
    fn new(
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        max_history: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let clock = manual_clock_arg(py, clock)?;
        let d = PyDict::new(py);
        if let Some(r) = rules.filter(|r| !r.is_none()) {
            d.set_item("rules", r)?;
        }
        if let Some(m) = max_history.filter(|m| !m.is_none()) {
            d.set_item("max_history", m)?;
        }
        let value = crate::json::to_json(d.as_any()).map_err(|msg| {
            config_error1(
                py,
                "rules",
                rules.map_or_else(|| py.None(), |r| r.clone().unbind()),
                &msg,
            )
        })?;
        let cfg = AlertsConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, d.as_any(), &e))?;
        Self::build(py, cfg, clock)
    }

    /// A manager from a config mapping: `{"rules": [...], "max_history": n}` (without
    /// `rules`, the default rules).
    #[classmethod]
    #[pyo3(signature = (config, /, *, clock = None))]
    fn from_config(
        cls: &Bound<'_, PyType>,
        config: &Bound<'_, PyAny>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = cls.py();
        let clock = manual_clock_arg(py, clock)?;
        let value = crate::json::to_json(config)
            .map_err(|msg| config_error1(py, "(config)", config.clone().unbind(), &msg))?;
        let cfg = AlertsConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, config, &e))?;
        Self::build(py, cfg, clock)
    }

    /// Adds a rule: `{"condition": "breaker_opened" | "health_check_failing" |
    /// "degradation_triggered" | "recovery_completed" | "error_budget", "severity": "info" |
    /// "warning" | "critical", "component", "name", "reports", "threshold"}`.
    fn add_rule(&self, py: Python<'_>, rule: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = crate::json::to_json(rule)
            .map_err(|msg| config_error1(py, "(rule)", rule.clone().unbind(), &msg))?;
        let r = AlertRule::from_json(&value, "")
            .map_err(|e| crate::breaker::mapping_errors(py, rule, &e))?;
        self.core
            .add_rule(r)
            .map_err(|e| core_config_errors(py, &e))
    }

    /// The rules, as mappings.
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for r in self.core.rules() {
            out.append(rule_dict(py, &r)?)?;
        }
        Ok(out)
    }

    /// Feeds the manager every event of `source` (breakers, policies, degradation managers)
    /// from now on, natively.
    fn watch(&self, source: &Bound<'_, PyAny>) -> PyResult<Subscription> {
        subscribe_core(source, None, self.core.listener())
    }

    /// Checks one event against the event rules.
    fn observe(&self, event: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.observe(&event_of(event)?);
        Ok(())
    }

    /// Checks an SLO's error budget against the budget rules.
    fn observe_slo(&self, slo: &Bound<'_, PySlo>) {
        self.core.observe_slo(&slo.get().core);
    }

    /// Active alerts, newest first.
    fn active<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for a in self.core.active() {
            out.append(alert_object(py, &a)?)?;
        }
        Ok(out)
    }

    /// Raised alerts, newest first, at most `limit`.
    #[pyo3(signature = (limit = 100))]
    fn history<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for a in self.core.history(limit) {
            out.append(alert_object(py, &a)?)?;
        }
        Ok(out)
    }

    /// `{"raised_total", "suppressed_total", "raised_by_severity", "active_by_severity"}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.core.stats();
        let names = ["info", "warning", "critical"];
        let d = PyDict::new(py);
        d.set_item("raised_total", s.raised_total)?;
        d.set_item("suppressed_total", s.suppressed_total)?;
        let by = |v: [u64; 3]| -> PyResult<Bound<'py, PyDict>> {
            let m = PyDict::new(py);
            for (n, x) in names.iter().zip(v) {
                m.set_item(*n, x)?;
            }
            Ok(m)
        };
        d.set_item("raised_by_severity", by(s.raised_by_severity)?)?;
        d.set_item("active_by_severity", by(s.active_by_severity)?)?;
        Ok(d)
    }

    /// Calls `callback(event)` for every `alert` (`severity`, `reason`: the condition).
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

    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        format!("<AlertManager active={}>", self.core.active().len())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        Ok(())
    }
}

// -- Prometheus -------------------------------------------------------------------------------

#[derive(Default)]
struct Gathered {
    breakers: Vec<Arc<CircuitBreaker>>,
    policies: Vec<Arc<Policy>>,
    limiters: Vec<(String, Arc<RateLimiter>, Option<u64>)>,
    bulkheads: Vec<(String, Arc<Bulkhead>)>,
    managers: Vec<Arc<breakwater_core::DegradationManager>>,
    health: Option<Arc<HealthRegistry>>,
    slos: Vec<Arc<Slo>>,
    alerts: Option<Arc<AlertManager>>,
}

impl Gathered {
    fn manager(&mut self, m: &Arc<breakwater_core::DegradationManager>) {
        if !self.managers.iter().any(|x| Arc::ptr_eq(x, m)) {
            self.managers.push(m.clone());
        }
    }

    fn add(&mut self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(b) = obj.cast::<PyCircuitBreaker>() {
            self.breakers.push(b.get().core.clone());
        } else if let Ok(p) = obj.cast::<PyPolicy>() {
            let p = p.get();
            self.policies.push(p.core().clone());
            let parts = p.core().parts();
            if let Some(b) = &parts.breaker {
                self.breakers.push(b.clone());
            }
            if let Some(l) = p.rate_limiter_object(py) {
                self.add(py, l.bind(py).as_any())?;
            }
            if let Some(b) = p.bulkhead_object(py) {
                self.add(py, b.bind(py).as_any())?;
            }
            if let Some(m) = p.core().degradation() {
                self.manager(m);
            }
        } else if let Ok(l) = obj.cast::<PyRateLimiter>() {
            let l = l.get();
            let now = l.clock_ref().now();
            self.limiters
                .push((l.name.bind(py).to_string(), l.inner.clone(), Some(now)));
        } else if let Ok(b) = obj.cast::<PyBulkhead>() {
            let b = b.get();
            self.bulkheads
                .push((b.name.bind(py).to_string(), b.inner.clone()));
        } else if let Ok(m) = obj.cast::<PyDegradationManager>() {
            self.manager(&m.get().core);
        } else if let Ok(f) = obj.cast::<PyFallback>() {
            self.manager(&f.get().parts_fixed().manager.get().core);
        } else if let Ok(h) = obj.cast::<PyHealthRegistry>() {
            let h = &h.get().core;
            match &self.health {
                Some(prev) if !Arc::ptr_eq(prev, h) => {
                    return Err(PyValueError::new_err(
                        "one exposition shows one HealthRegistry",
                    ));
                }
                _ => self.health = Some(h.clone()),
            }
        } else if let Ok(s) = obj.cast::<PySlo>() {
            self.slos.push(s.get().core.clone());
        } else if let Ok(a) = obj.cast::<PyAlertManager>() {
            let a = &a.get().core;
            match &self.alerts {
                Some(prev) if !Arc::ptr_eq(prev, a) => {
                    return Err(PyValueError::new_err(
                        "one exposition shows one AlertManager",
                    ));
                }
                _ => self.alerts = Some(a.clone()),
            }
        } else if let Ok(r) = obj.cast::<PyRegistry>() {
            let reg = r.get().core();
            self.breakers.extend(reg.breakers());
            let now = reg.clock().now();
            for (name, l) in reg.rate_limiters_named() {
                self.limiters.push((name, l, Some(now)));
            }
            for (name, b) in reg.bulkheads_named() {
                self.bulkheads.push((name, b));
            }
        } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            for item in obj.try_iter()? {
                self.add(py, &item?)?;
            }
        } else {
            return Err(PyValueError::new_err(format!(
                "prometheus() cannot show {}",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            )));
        }
        Ok(())
    }

    fn render(&self) -> String {
        let breakers: Vec<&CircuitBreaker> = self.breakers.iter().map(|b| &**b).collect();
        let policies: Vec<&Policy> = self.policies.iter().map(|p| &**p).collect();
        let limiters: Vec<RateLimiterSample<'_>> = self
            .limiters
            .iter()
            .map(|(name, l, now)| RateLimiterSample {
                name,
                limiter: l,
                now: *now,
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
            .managers
            .iter()
            .flat_map(|m| m.component_totals())
            .collect();
        let mut seen = HashSet::new();
        let degradations: Vec<DegradationSample<'_>> = totals
            .iter()
            .filter(|t| seen.insert(t.component.clone()))
            .map(|t| DegradationSample {
                component: &t.component,
                level: t.level as u8,
                active: t.active,
                triggered_total: t.triggered_total,
                served_total: t.served_total,
            })
            .collect();
        let slos: Vec<&Slo> = self.slos.iter().map(|s| &**s).collect();
        breakwater_core::metrics::render(&MetricsSources {
            breakers: &breakers,
            policies: &policies,
            rate_limiters: &limiters,
            bulkheads: &bulkheads,
            degradations: &degradations,
            health: self.health.as_deref(),
            slos: &slos,
            alerts: self.alerts.as_deref(),
        })
    }
}

/// The Prometheus text exposition (format 0.0.4) of `objects` (breakers, policies with their
/// parts and fallback, rate limiters, bulkheads, degradation managers, one health registry,
/// SLOs, one alert manager, registries, or lists of these).
#[pyfunction]
#[pyo3(signature = (objects, /))]
fn _prometheus(py: Python<'_>, objects: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut g = Gathered::default();
    for item in objects.try_iter()? {
        let item = item?;
        if item.is_none() {
            continue;
        }
        g.add(py, &item)?;
    }
    Ok(g.render())
}

// -- events made in Python --------------------------------------------------------------------

/// `&'static str` for an event's `reason` / `severity`: the names the core uses are static;
/// others are interned (leaked) once each, at most `MAX_INTERNED` of them.
pub fn static_name(s: &str) -> PyResult<&'static str> {
    const MAX_INTERNED: usize = 4096;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut g = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(x) = set.get(s) {
        return Ok(x);
    }
    if set.len() >= MAX_INTERNED {
        return Err(PyValueError::new_err(
            "too many distinct event reason / severity names",
        ));
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    Ok(leaked)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySlo>()?;
    m.add_class::<PyEventLog>()?;
    m.add_class::<PyAlertManager>()?;
    m.add_function(wrap_pyfunction!(_prometheus, m)?)?;
    m.add(
        "METRICS_CONTENT_TYPE",
        breakwater_core::metrics::CONTENT_TYPE,
    )?;
    Ok(())
}
