//! `bw.DegradationManager` and `bw.Fallback`: the core decides which strategy serves a failed
//! call (rules, priorities, availability, the cache's answer) and tracks degradations; this
//! module keeps what only Python can hold (the strategies' objects, their predicates, the
//! cached values) and produces the chosen strategy's value.
//!
//! A strategy is any object with the attributes the contract names: `name`, `kind`,
//! `priority`, `description`, `available`, `handles` (the triggers it accepts), and for user
//! strategies `execute(context)` plus optional `can_handle(context)` / `is_available()`. The
//! built-in kinds need no `execute`: `cached_response` serves the Fallback's response cache,
//! `simplified_response` its `response` (called with the context when callable),
//! `fallback_target` calls its `target` with the call's own arguments, `offline_response`
//! returns its `value`. Attributes are read once, at registration.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use breakwater_core::degradation::{
    DegradationConfig, DegradationManager, FallbackChoice, FallbackContext, Level, Rule,
    StrategyInfo, StrategyKind, StrategySpec, Trigger, TriggerSet,
};
use breakwater_core::{Category, EventKind, State};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit, intern};

use crate::breaker::{PyCircuitBreaker, Subscription, event_kind, log_isolated, python_listener};
use crate::cache::{PyResponseCache, clock_ref, manual_clock_arg, same_clock};
use crate::clock::PyManualClock;
use crate::errors::{PyConfigProblem, config_error, config_error1};
use crate::records::rec;

pub fn parse_trigger(s: &str) -> PyResult<Trigger> {
    s.parse().map_err(|()| {
        PyValueError::new_err(format!(
            "unknown trigger {s:?}; one of: {}",
            Trigger::ALL.map(|t| t.as_str()).join(", ")
        ))
    })
}

pub fn parse_level(s: &str) -> PyResult<Level> {
    s.parse().map_err(|()| {
        PyValueError::new_err(format!(
            "unknown level {s:?}; one of: {}",
            Level::ALL.map(|l| l.as_str()).join(", ")
        ))
    })
}

fn parse_cached(s: Option<&str>) -> PyResult<Option<breakwater_core::Freshness>> {
    match s {
        None => Ok(None),
        Some("fresh") => Ok(Some(breakwater_core::Freshness::Fresh)),
        Some("stale") => Ok(Some(breakwater_core::Freshness::Stale)),
        Some(other) => Err(PyValueError::new_err(format!(
            "cached must be \"fresh\", \"stale\" or None, not {other:?}"
        ))),
    }
}

fn secs(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

// -- strategies -------------------------------------------------------------------------------

/// What the binding keeps of a registered strategy object.
#[pyclass(frozen, module = "breakwater._breakwater", name = "_StrategyImpl")]
pub struct StrategyImpl {
    obj: Py<PyAny>,
    kind: StrategyKind,
    execute: Option<Py<PyAny>>,
    can_handle: Option<Py<PyAny>>,
    is_available: Option<Py<PyAny>>,
    /// `value` (offline), `response` (simplified), `target` (fallback_target).
    payload: Option<Py<PyAny>>,
    logged: AtomicBool,
}

#[pymethods]
impl StrategyImpl {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.obj)?;
        for o in [
            &self.execute,
            &self.can_handle,
            &self.is_available,
            &self.payload,
        ]
        .into_iter()
        .flatten()
        {
            visit.call(o)?;
        }
        Ok(())
    }
}

fn attr<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(obj.getattr_opt(name)?.filter(|v| !v.is_none()))
}

fn callable_attr<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    problems: &mut Vec<PyConfigProblem>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let v = attr(obj, name)?;
    if let Some(f) = &v
        && !f.is_callable()
    {
        problems.push(PyConfigProblem {
            path: None,
            key: name.into(),
            value: f.clone().unbind(),
            allowed: "a callable".into(),
        });
        return Ok(None);
    }
    Ok(v)
}

fn triggers_of(v: &Bound<'_, PyAny>) -> Option<TriggerSet> {
    if v.is_instance_of::<PyString>() {
        return None;
    }
    let mut set = TriggerSet::EMPTY;
    for item in v.try_iter().ok()? {
        let t: Trigger = item.ok()?.extract::<String>().ok()?.parse().ok()?;
        set.insert(t);
    }
    Some(set)
}

fn read_strategy(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<(StrategySpec, StrategyImpl)> {
    let mut problems = Vec::new();
    let problem = |k: &str, v: &Bound<'_, PyAny>, allowed: &str| PyConfigProblem {
        path: None,
        key: k.into(),
        value: v.clone().unbind(),
        allowed: allowed.into(),
    };
    let kind = match attr(obj, "kind")? {
        None => StrategyKind::Custom,
        Some(k) => match k.extract::<String>().ok().and_then(|s| s.parse().ok()) {
            Some(kind) => kind,
            None => {
                problems.push(problem(
                    "kind",
                    &k,
                    &format!(
                        "one of {}",
                        StrategyKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                ));
                StrategyKind::Custom
            }
        },
    };
    let name = match attr(obj, "name")? {
        Some(n) => match n.extract::<String>() {
            Ok(s) if !s.is_empty() => s,
            _ => {
                problems.push(problem("name", &n, "a non-empty string"));
                String::new()
            }
        },
        None if kind != StrategyKind::Custom => kind.as_str().to_string(),
        None => obj.get_type().name()?.to_string(),
    };
    let mut priority = 0u32;
    if let Some(p) = attr(obj, "priority")? {
        match crate::config::as_int(&p).and_then(|i| u32::try_from(i).ok()) {
            Some(n) if n <= 1_000_000 => priority = n,
            _ => problems.push(problem("priority", &p, "an integer 0..=1000000")),
        }
    }
    let description = match attr(obj, "description")? {
        None => String::new(),
        Some(d) => d.str()?.to_string(),
    };
    let mut available = true;
    if let Some(a) = attr(obj, "available")? {
        match a.cast::<PyBool>() {
            Ok(b) => available = b.is_true(),
            Err(_) if a.is_callable() => {} // a method named `available`: not the flag
            Err(_) => problems.push(problem("available", &a, "True or False")),
        }
    }
    let mut handles = None;
    if let Some(h) = attr(obj, "handles")? {
        match triggers_of(&h) {
            Some(set) => handles = Some(set),
            None => problems.push(problem(
                "handles",
                &h,
                &format!(
                    "None or an iterable of triggers ({})",
                    Trigger::ALL.map(|t| t.as_str()).join(", ")
                ),
            )),
        }
    }
    let execute = callable_attr(obj, "execute", &mut problems)?;
    let can_handle = callable_attr(obj, "can_handle", &mut problems)?;
    let is_available = callable_attr(obj, "is_available", &mut problems)?;
    let payload = match kind {
        StrategyKind::OfflineResponse => attr(obj, "value")?,
        StrategyKind::SimplifiedResponse => attr(obj, "response")?,
        StrategyKind::FallbackTarget => {
            let t = attr(obj, "target")?;
            if execute.is_none() && !t.as_ref().is_some_and(|t| t.is_callable()) {
                problems.push(PyConfigProblem {
                    path: None,
                    key: "target".into(),
                    value: t.map_or_else(|| py.None(), |t| t.unbind()),
                    allowed: "a callable: the alternative called with the call's arguments".into(),
                });
                None
            } else {
                t
            }
        }
        StrategyKind::CachedResponse | StrategyKind::Custom => None,
    };
    if kind == StrategyKind::Custom && execute.is_none() && problems.is_empty() {
        problems.push(PyConfigProblem {
            path: None,
            key: "execute".into(),
            value: obj.clone().unbind(),
            allowed: "a strategy object with execute(context) (or a built-in kind)".into(),
        });
    }
    if !problems.is_empty() {
        return Err(config_error(py, problems));
    }
    let mut spec = StrategySpec::new(name, kind, priority)
        .description(description)
        .available(available);
    if let Some(t) = handles {
        spec = spec.triggers(t);
    }
    let imp = StrategyImpl {
        obj: obj.clone().unbind(),
        kind,
        execute: execute.map(Bound::unbind),
        can_handle: can_handle.map(Bound::unbind),
        is_available: is_available.map(Bound::unbind),
        payload: payload.map(Bound::unbind),
        logged: AtomicBool::new(false),
    };
    Ok((spec, imp))
}

// -- decisions --------------------------------------------------------------------------------

/// What the host knows about a failed call: the error, the arguments, the cache key.
#[derive(Default)]
pub struct Host<'py> {
    pub error: Option<Bound<'py, PyAny>>,
    pub args: Option<Bound<'py, PyTuple>>,
    pub kwargs: Option<Bound<'py, PyDict>>,
    pub key: Option<Bound<'py, PyAny>>,
}

/// The `FallbackContext` a strategy sees.
pub fn context_object<'py>(
    py: Python<'py>,
    ctx: &FallbackContext,
    host: &Host<'py>,
    stale: bool,
) -> PyResult<Bound<'py, PyAny>> {
    rec!(py, "FallbackContext", {
        component: &*ctx.component,
        trigger: ctx.trigger.as_str(),
        severity: ctx.severity.as_str(),
        error: host.error.clone(),
        attempts: ctx.attempts,
        category: ctx.category.map(|c| c.as_str()),
        cache_key: host.key.clone(),
        cached: ctx.cached.map(|f| f.as_str()),
        args: host.args.clone().unwrap_or_else(|| PyTuple::empty(py)),
        kwargs: host.kwargs.clone().unwrap_or_else(|| PyDict::new(py)),
        stale: stale,
    })
}

/// The host's answer for one candidate strategy: its own `is_available()` and
/// `can_handle(context)`. One that raises is logged once and counts as a refusal.
pub struct Acceptor<'a, 'py> {
    py: Python<'py>,
    impls: &'a Bound<'py, PyDict>,
    host: &'a Host<'py>,
    context: Option<Bound<'py, PyAny>>,
}

impl<'a, 'py> Acceptor<'a, 'py> {
    pub fn new(py: Python<'py>, mgr: &'a Bound<'py, PyDict>, host: &'a Host<'py>) -> Self {
        Self {
            py,
            impls: mgr,
            host,
            context: None,
        }
    }

    pub fn accept(&mut self, info: &StrategyInfo, ctx: &FallbackContext) -> bool {
        let py = self.py;
        let Ok(Some(imp)) = self.impls.get_item(&*info.name) else {
            return true;
        };
        let Ok(imp) = imp.cast::<StrategyImpl>() else {
            return true;
        };
        let imp = imp.get();
        let refuse = |what: &str, f: &Py<PyAny>, err: PyErr| {
            if !imp.logged.swap(true, Ordering::Relaxed) {
                log_isolated(py, what, f.bind(py), &err);
            }
            false
        };
        if let Some(f) = &imp.is_available {
            match f.bind(py).call0().and_then(|r| r.is_truthy()) {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => return refuse("strategy is_available", f, e),
            }
        }
        if let Some(f) = &imp.can_handle {
            if self.context.is_none() {
                match context_object(py, ctx, self.host, false) {
                    Ok(c) => self.context = Some(c),
                    Err(e) => return refuse("strategy can_handle", f, e),
                }
            }
            let c = self.context.as_ref().expect("built above");
            match f.bind(py).call1((c,)).and_then(|r| r.is_truthy()) {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => return refuse("strategy can_handle", f, e),
            }
        }
        true
    }
}

// -- the manager ------------------------------------------------------------------------------

/// `bw.DegradationManager(rules=None, *, max_history=1000, auto_recovery=True, enabled=True,
/// clock=None)`: which components are degraded, why and how badly; which strategy serves a
/// failed call; recovery, history and statistics. `rules` are the seed's `degradationRules`
/// entries.
#[pyclass(frozen, weakref, module = "breakwater", name = "DegradationManager")]
pub struct PyDegradationManager {
    pub core: Arc<DegradationManager>,
    pub impls: Py<PyDict>,
    pub clock: Option<Py<PyManualClock>>,
}

const MANAGER_KEYS: &[&str] = &["rules", "max_history", "auto_recovery", "enabled", "clock"];

fn rule_dict<'py>(py: Python<'py>, r: &Rule) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &*r.name)?;
    let cond = PyDict::new(py);
    let reasons: Vec<&str> = r.reasons.iter().map(|t| t.as_str()).collect();
    cond.set_item("reasons", reasons)?;
    if let Some(c) = &r.component {
        cond.set_item("component", &**c)?;
    }
    d.set_item("conditions", cond)?;
    d.set_item("severityThreshold", r.severity_threshold.as_str())?;
    d.set_item("strategy", &*r.strategy)?;
    d.set_item("priority", r.priority)?;
    d.set_item("enabled", r.enabled)?;
    Ok(d)
}

/// Keyword arguments as the JSON object the core's settings reader takes.
fn settings_json<'py>(
    py: Python<'py>,
    kwargs: &[(String, Bound<'py, PyAny>)],
) -> PyResult<(serde_json::Value, Bound<'py, PyDict>)> {
    let mut map = serde_json::Map::new();
    let written = PyDict::new(py);
    let mut problems = Vec::new();
    for (k, v) in kwargs {
        if !MANAGER_KEYS.contains(&k.as_str()) || k == "clock" {
            if k != "clock" {
                let hint = breakwater_core::config::did_you_mean(k, MANAGER_KEYS)
                    .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                problems.push(PyConfigProblem {
                    path: None,
                    key: k.clone(),
                    value: v.clone().unbind(),
                    allowed: format!("one of the documented keywords{hint}"),
                });
            }
            continue;
        }
        if v.is_none() {
            continue;
        }
        written.set_item(k, v)?;
        match crate::json::to_json(v) {
            Ok(j) => {
                map.insert(k.clone(), j);
            }
            Err(msg) => problems.push(PyConfigProblem {
                path: None,
                key: k.clone(),
                value: v.clone().unbind(),
                allowed: msg,
            }),
        }
    }
    if !problems.is_empty() {
        return Err(config_error(py, problems));
    }
    Ok((serde_json::Value::Object(map), written))
}

impl PyDegradationManager {
    pub fn build(
        py: Python<'_>,
        config: DegradationConfig,
        clock: Option<Py<PyManualClock>>,
    ) -> PyResult<Self> {
        let core = DegradationManager::new(config, clock_ref(&clock)).map_err(|e| {
            config_error(
                py,
                e.0.iter()
                    .map(|e| PyConfigProblem::from_core(py, e))
                    .collect(),
            )
        })?;
        Ok(Self {
            core: Arc::new(core),
            impls: PyDict::new(py).unbind(),
            clock,
        })
    }

    fn core_context(
        component: &str,
        trigger: &str,
        severity: Option<&str>,
        cached: Option<&str>,
        attempts: u32,
        category: Option<&str>,
    ) -> PyResult<FallbackContext> {
        let t = parse_trigger(trigger)?;
        let mut ctx = FallbackContext::new(component, t).with_cached(parse_cached(cached)?);
        match severity {
            Some(s) => ctx = ctx.with_severity(parse_level(s)?),
            None if t.default_level().is_none() => {
                return Err(PyValueError::new_err(format!(
                    "trigger {trigger:?} needs a severity"
                )));
            }
            None => {}
        }
        ctx.attempts = attempts;
        ctx.category = match category {
            None => None,
            Some(c) => Some(
                c.parse::<Category>()
                    .map_err(|_| PyValueError::new_err(format!("unknown category {c:?}")))?,
            ),
        };
        Ok(ctx)
    }

    #[allow(clippy::too_many_arguments)]
    fn decide<'py>(
        &self,
        py: Python<'py>,
        record: bool,
        component: &str,
        trigger: &str,
        severity: Option<&str>,
        cached: Option<&str>,
        error: Option<Bound<'py, PyAny>>,
        attempts: u32,
        category: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ctx = Self::core_context(component, trigger, severity, cached, attempts, category)?;
        let host = Host {
            error,
            ..Host::default()
        };
        let impls = self.impls.bind(py);
        let mut acceptor = Acceptor::new(py, impls, &host);
        let mut accept = |i: &StrategyInfo, c: &FallbackContext| acceptor.accept(i, c);
        let choice = if record {
            self.core.select_with(&ctx, &mut accept)
        } else {
            self.core.choose_with(&ctx, &mut accept)
        };
        match choice {
            Some(c) => choice_object(py, &c),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Produces the chosen strategy's value: `Ok(None)` when it turns out to have nothing to
    /// serve (no implementation, or the cached entry went away).
    pub fn serve<'py>(
        &self,
        py: Python<'py>,
        choice: &FallbackChoice,
        ctx: &FallbackContext,
        host: &Host<'py>,
        cache: Option<&Py<PyResponseCache>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(imp) = self.impls.bind(py).get_item(&*choice.strategy)? else {
            return Ok(None);
        };
        let imp = imp.cast::<StrategyImpl>()?.get();
        let context = || context_object(py, ctx, host, choice.stale);
        if let Some(f) = &imp.execute {
            return f.bind(py).call1((context()?,)).map(Some);
        }
        match imp.kind {
            StrategyKind::OfflineResponse => Ok(Some(
                imp.payload
                    .as_ref()
                    .map_or_else(|| py.None().into_bound(py), |v| v.bind(py).clone()),
            )),
            StrategyKind::SimplifiedResponse => match &imp.payload {
                Some(r) if r.bind(py).is_callable() => r.bind(py).call1((context()?,)).map(Some),
                Some(r) => Ok(Some(r.bind(py).clone())),
                None => Ok(Some(py.None().into_bound(py))),
            },
            StrategyKind::FallbackTarget => match &imp.payload {
                Some(t) => {
                    let args = host.args.clone().unwrap_or_else(|| PyTuple::empty(py));
                    t.bind(py).call(args, host.kwargs.as_ref()).map(Some)
                }
                None => Ok(None),
            },
            StrategyKind::CachedResponse => match (cache, &host.key) {
                (Some(c), Some(k)) => Ok(c.get().serve(py, k)?.map(|(v, _)| v.into_bound(py))),
                _ => Ok(None),
            },
            StrategyKind::Custom => Ok(None),
        }
    }

    pub fn register_strategy(&self, py: Python<'_>, strategy: &Bound<'_, PyAny>) -> PyResult<bool> {
        let (spec, imp) = read_strategy(py, strategy)?;
        let name = spec.name.clone();
        self.impls.bind(py).set_item(&name, Py::new(py, imp)?)?;
        Ok(self.core.register(spec))
    }
}

pub fn choice_object<'py>(py: Python<'py>, c: &FallbackChoice) -> PyResult<Bound<'py, PyAny>> {
    rec!(py, "FallbackChoice", {
        strategy: &*c.strategy,
        kind: c.kind.as_str(),
        rule: c.rule.as_deref(),
        trigger: c.trigger.as_str(),
        severity: c.severity.as_str(),
        stale: c.stale,
    })
}

fn info_object<'py>(py: Python<'py>, s: &StrategyInfo) -> PyResult<Bound<'py, PyAny>> {
    let handles = match s.triggers {
        None => py.None().into_bound(py),
        Some(t) => PyTuple::new(py, t.iter().map(|t| t.as_str()).collect::<Vec<_>>())?.into_any(),
    };
    rec!(py, "StrategyInfo", {
        name: &*s.name,
        kind: s.kind.as_str(),
        priority: s.priority,
        description: &*s.description,
        available: s.available,
        handles: handles,
    })
}

#[pymethods]
impl PyDegradationManager {
    #[new]
    #[pyo3(
        signature = (rules = None, **kwargs),
        text_signature = "(rules=None, *, max_history=1000, auto_recovery=True, enabled=True, clock=None)"
    )]
    fn new(
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut all = crate::config::items(kwargs)?;
        if let Some(r) = rules {
            all.insert(0, ("rules".to_string(), r.clone()));
        }
        let clock = match all.iter().find(|(k, _)| k == "clock") {
            Some((_, c)) => manual_clock_arg(py, Some(c))?,
            None => None,
        };
        let (value, written) = settings_json(py, &all)?;
        let cfg = DegradationConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, written.as_any(), &e))?;
        Self::build(py, cfg, clock)
    }

    /// A manager from a config mapping as a file writes it: `{"max_history": 100,
    /// "auto_recovery": false, "degradationRules": [...]}` (also `maxHistory`,
    /// `autoRecovery`, `degradation_rules`, `rules`, `enabled`).
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
        let cfg = DegradationConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, config, &e))?;
        Self::build(py, cfg, clock)
    }

    /// A manager from a config document's `degradation` settings and `degradationRules`
    /// (or `degradation_rules`) list; errors name the keys as the document wrote them.
    #[classmethod]
    #[pyo3(signature = (document, /, *, clock = None))]
    fn from_document(
        cls: &Bound<'_, PyType>,
        document: &Bound<'_, crate::document::PyDocument>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = cls.py();
        let clock = manual_clock_arg(py, clock)?;
        let doc = &document.get().doc;
        let key = if doc
            .raw
            .as_object()
            .is_some_and(|m| m.contains_key("degradation_rules"))
        {
            "degradation_rules"
        } else {
            "degradationRules"
        };
        let cfg = DegradationConfig::from_sections(
            doc.degradation.as_ref(),
            doc.degradation_rules.as_ref().map(|r| (key, r)),
        )
        .map_err(|e| {
            config_error(
                py,
                e.0.iter()
                    .map(|e| PyConfigProblem::from_core(py, e))
                    .collect(),
            )
        })?;
        Self::build(py, cfg, clock)
    }

    /// Applies settings (and rules, when given) over the live ones: keywords, or one mapping in
    /// config-file spelling. Degradations, strategies and statistics stay.
    #[pyo3(signature = (config = None, /, **kwargs))]
    fn configure(
        &self,
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let current = self.core.config();
        let next = match config.filter(|c| !c.is_none()) {
            Some(mapping) => {
                let value = crate::json::to_json(mapping)
                    .map_err(|msg| config_error1(py, "(config)", mapping.clone().unbind(), &msg))?;
                DegradationConfig::from_json_over(&current, &value)
                    .map_err(|e| crate::breaker::mapping_errors(py, mapping, &e))?
            }
            None => {
                let all = crate::config::items(kwargs)?;
                if all.iter().any(|(k, _)| k == "clock") {
                    return Err(config_error1(
                        py,
                        "clock",
                        py.None(),
                        "the manager's clock is fixed when it is made",
                    ));
                }
                let (value, written) = settings_json(py, &all)?;
                DegradationConfig::from_json_over(&current, &value)
                    .map_err(|e| crate::breaker::mapping_errors(py, written.as_any(), &e))?
            }
        };
        self.core.configure(next).map_err(|e| {
            config_error(
                py,
                e.0.iter()
                    .map(|e| PyConfigProblem::from_core(py, e))
                    .collect(),
            )
        })
    }

    /// `{"enabled", "max_history", "auto_recovery", "rules"}` (rules in the seed's spelling).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.core.config();
        let d = PyDict::new(py);
        d.set_item("enabled", c.enabled)?;
        d.set_item("max_history", c.max_history)?;
        d.set_item("auto_recovery", c.auto_recovery)?;
        let rules = PyList::empty(py);
        for r in &c.rules {
            rules.append(rule_dict(py, r)?)?;
        }
        d.set_item("rules", rules)?;
        Ok(d)
    }

    /// Registers a strategy object (see `bw.Strategy`), replacing one of the same name in place;
    /// returns whether one was replaced.
    fn register(&self, py: Python<'_>, strategy: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.register_strategy(py, strategy)
    }

    /// Removes the strategy named `name`; False when there was none.
    fn unregister(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        let removed = self.core.unregister(name);
        let impls = self.impls.bind(py);
        if impls.contains(name)? {
            impls.del_item(name)?;
        }
        Ok(removed)
    }

    /// Turns a strategy's availability flag on or off; False when there is no such strategy.
    fn set_available(&self, name: &str, available: bool) -> bool {
        self.core.set_available(name, available)
    }

    /// The registered strategies, in registration order.
    fn strategies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for s in self.core.strategies() {
            out.append(info_object(py, &s)?)?;
        }
        Ok(out)
    }

    /// The strategy object registered under `name`, or None.
    fn strategy(&self, py: Python<'_>, name: &str) -> PyResult<Option<Py<PyAny>>> {
        Ok(match self.impls.bind(py).get_item(name)? {
            Some(i) => Some(i.cast::<StrategyImpl>()?.get().obj.clone_ref(py)),
            None => None,
        })
    }

    /// Which strategy would serve a failed call of `component` for `trigger` (at `severity`,
    /// default the trigger's own; `cached` is what the response cache holds for the call:
    /// "fresh", "stale" or None). Records nothing. A `FallbackChoice`, or None.
    #[pyo3(signature = (component, trigger, *, severity = None, cached = None, error = None, attempts = 0, category = None))]
    #[allow(clippy::too_many_arguments)]
    fn choose<'py>(
        &self,
        py: Python<'py>,
        component: &str,
        trigger: &str,
        severity: Option<&str>,
        cached: Option<&str>,
        error: Option<Bound<'py, PyAny>>,
        attempts: u32,
        category: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.decide(
            py, false, component, trigger, severity, cached, error, attempts, category,
        )
    }

    /// Like `choose`, and records it: the component is degraded (or its level changes) and,
    /// when a strategy serves, the fallback is counted and announced.
    #[pyo3(signature = (component, trigger, *, severity = None, cached = None, error = None, attempts = 0, category = None))]
    #[allow(clippy::too_many_arguments)]
    fn select<'py>(
        &self,
        py: Python<'py>,
        component: &str,
        trigger: &str,
        severity: Option<&str>,
        cached: Option<&str>,
        error: Option<Bound<'py, PyAny>>,
        attempts: u32,
        category: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.decide(
            py, true, component, trigger, severity, cached, error, attempts, category,
        )
    }

    /// Degrades `component` for `trigger` at `severity` (default: the trigger's own level;
    /// `manual` and `health_check_failed` need one). Whether anything changed.
    #[pyo3(signature = (component, trigger, severity = None))]
    fn trigger(&self, component: &str, trigger: &str, severity: Option<&str>) -> PyResult<bool> {
        let t = parse_trigger(trigger)?;
        let level = match severity {
            Some(s) => parse_level(s)?,
            None => t.default_level().ok_or_else(|| {
                PyValueError::new_err(format!("trigger {trigger:?} needs a severity"))
            })?,
        };
        Ok(self.core.trigger(component, t, level))
    }

    /// The condition behind `trigger` cleared for `component`: with auto_recovery on, a
    /// degradation with that trigger ends. Whether one did.
    fn trigger_cleared(&self, component: &str, trigger: &str) -> PyResult<bool> {
        Ok(self
            .core
            .trigger_cleared(component, parse_trigger(trigger)?))
    }

    /// A live call to `component` succeeded (clears `timeout`, `rate_limited`, `error_rate`).
    fn report_success(&self, component: &str) -> bool {
        self.core.report_success(component)
    }

    /// Feeds a breaker state: `open` / `forced_open` degrade, `closed` / `disabled` /
    /// `metrics_only` recover, `half_open` changes nothing.
    fn on_breaker_state(&self, component: &str, state: &str) -> PyResult<bool> {
        let s = State::ALL
            .into_iter()
            .find(|s| s.as_str() == state)
            .ok_or_else(|| PyValueError::new_err(format!("unknown state {state:?}")))?;
        Ok(self.core.on_breaker_state(component, s))
    }

    /// Feeds a health status: `degraded` / `unhealthy` / `critical` degrade, `healthy`
    /// recovers, anything else changes nothing.
    fn on_health_status(&self, component: &str, status: &str) -> bool {
        self.core.on_health_status(component, status)
    }

    /// Follows a breaker's state (under the breaker's name), starting with its state now.
    fn watch(&self, breaker: &Bound<'_, PyCircuitBreaker>) -> Subscription {
        let b = breaker.get().core.clone();
        self.core.on_breaker_state(b.name(), b.state());
        let weak = Arc::downgrade(&self.core);
        let id = b.subscribe(
            Some(EventKind::StateChange),
            Arc::new(move |e: &breakwater_core::Event| {
                if let (Some(m), Some(to)) = (weak.upgrade(), e.to) {
                    m.on_breaker_state(&e.component, to);
                }
            }),
        );
        let weak_b = Arc::downgrade(&b);
        Subscription::new(
            Box::new(move |id| weak_b.upgrade().is_some_and(|b| b.unsubscribe(id))),
            id,
        )
    }

    /// Ends `component`'s degradation whatever its trigger; whether there was one.
    fn force_recovery(&self, component: &str) -> bool {
        self.core.force_recovery(component)
    }

    /// Ends every degradation; how many there were.
    fn force_recovery_all(&self) -> usize {
        self.core.force_recovery_all()
    }

    /// `component`'s level: "none", "partial", "significant", "severe" or "critical".
    fn level(&self, component: &str) -> &'static str {
        self.core.level(component).as_str()
    }

    /// The highest level over every component.
    #[getter]
    fn overall_level(&self) -> &'static str {
        self.core.overall_level().as_str()
    }

    /// Whether any component is degraded.
    #[getter]
    fn has_active(&self) -> bool {
        self.core.has_active()
    }

    /// `component`'s active degradation, or None.
    fn active<'py>(&self, py: Python<'py>, component: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.core.active(component) {
            Some(a) => active_object(py, &a),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Every active degradation, by component name.
    fn active_degradations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for a in self.core.active_all() {
            out.append(active_object(py, &a)?)?;
        }
        Ok(out)
    }

    /// The degradations, oldest first (at most max_history).
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for h in self.core.history() {
            out.append(rec!(py, "DegradationRecord", {
                component: &*h.component,
                trigger: h.trigger.as_str(),
                level: h.level.as_str(),
                since: secs(h.since),
                started_at: h.started_at_ms,
                duration: h.duration.map(|d| d.as_secs_f64()),
                strategy: h.strategy.as_deref(),
                calls_served: h.calls_served,
                recovery: h.recovery.map(|r| r.as_str()),
            })?)?;
        }
        Ok(out)
    }

    /// Lifetime statistics.
    fn statistics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.core.statistics();
        let by_reason = PyDict::new(py);
        for (t, n) in &s.by_reason {
            by_reason.set_item(t.as_str(), n)?;
        }
        rec!(py, "DegradationStats", {
            active: s.active,
            total_triggered: s.total_triggered,
            total_recovered: s.total_recovered,
            calls_served: s.calls_served,
            most_frequent_reason: s.most_frequent_reason.map(|t| t.as_str()),
            by_reason: by_reason,
            mean_duration: s.mean_duration.map(|d| d.as_secs_f64()),
            max_duration: s.max_duration.map(|d| d.as_secs_f64()),
        })
    }

    /// Calls `callback(event)` for `degradation_triggered`, `degradation_recovered` and
    /// `fallback` events (`"*"`: all three).
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

    /// The ManualClock the manager reads, or None for the system clock.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "<DegradationManager active={} overall_level={}>",
            self.core.active_all().len(),
            self.core.overall_level().as_str()
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.impls)?;
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        Ok(())
    }
}

fn active_object<'py>(
    py: Python<'py>,
    a: &breakwater_core::ActiveDegradation,
) -> PyResult<Bound<'py, PyAny>> {
    rec!(py, "ActiveDegradation", {
        component: &*a.component,
        level: a.level.as_str(),
        trigger: a.trigger.as_str(),
        since: secs(a.since),
        started_at: a.started_at_ms,
        strategy: a.strategy.as_deref(),
        calls_served: a.calls_served,
    })
}

// -- Fallback ---------------------------------------------------------------------------------

/// `bw.Fallback(strategies=(), *, manager=None, rules=None, cache=None, cache_key=None,
/// fallback=None, clock=None)`: a policy's fallback. Its degradation manager chooses the
/// strategy that serves a failed call; `cache` keeps the last good result of each call for
/// `cached_response` (made automatically when a `cached_response` strategy is given);
/// `fallback(error)` serves when no strategy does.
///
/// A Fallback made without a clock (and without a manager or cache of the caller's) takes the
/// clock of the first policy it joins: its manager and cache are made again on that clock,
/// before anything used them. Reading `manager` or `cache` (or watching the Fallback) first
/// fixes it on the system clock.
#[pyclass(frozen, weakref, module = "breakwater", name = "Fallback")]
pub struct PyFallback {
    /// The manager, cache and clock it was made with.
    base: FallbackParts,
    /// The same, made again on the clock of the first policy it joined.
    rebound: OnceLock<FallbackParts>,
    /// Still free to take a policy's clock.
    free: AtomicBool,
    /// How to make the parts again (a Fallback made without a clock).
    recipe: Option<Recipe>,
    pub cache_key: Option<Py<PyAny>>,
    pub fallback: Option<Py<PyAny>>,
}

/// A Fallback's parts that run on its clock.
pub struct FallbackParts {
    pub manager: Py<PyDegradationManager>,
    pub cache: Option<Py<PyResponseCache>>,
    pub clock: Option<Py<PyManualClock>>,
}

/// What a Fallback made without a clock was made from.
struct Recipe {
    strategies: Vec<Py<PyAny>>,
    rules: Option<Py<PyAny>>,
    cache: bool,
}

/// The manager a Fallback makes for itself (from `rules`).
fn own_manager(
    py: Python<'_>,
    rules: Option<&Bound<'_, PyAny>>,
    clock: Option<Py<PyManualClock>>,
) -> PyResult<Py<PyDegradationManager>> {
    let kwargs = PyDict::new(py);
    if let Some(r) = rules.filter(|r| !r.is_none()) {
        kwargs.set_item("rules", r)?;
    }
    let all = crate::config::items(Some(&kwargs))?;
    let (value, written) = settings_json(py, &all)?;
    let cfg = DegradationConfig::from_json(&value)
        .map_err(|e| crate::breaker::mapping_errors(py, written.as_any(), &e))?;
    Py::new(py, PyDegradationManager::build(py, cfg, clock)?)
}

/// Registers the strategies; whether one of them wants a response cache.
fn register_all(
    py: Python<'_>,
    manager: &Py<PyDegradationManager>,
    strategies: &[Bound<'_, PyAny>],
) -> PyResult<bool> {
    let mut wants_cache = false;
    for s in strategies {
        manager.get().register_strategy(py, s)?;
        if let Ok(Some(k)) = s.getattr_opt("kind")
            && k.extract::<String>().ok().as_deref() == Some("cached_response")
        {
            wants_cache = true;
        }
    }
    Ok(wants_cache)
}

fn default_cache(
    py: Python<'_>,
    clock: &Option<Py<PyManualClock>>,
) -> PyResult<Py<PyResponseCache>> {
    Py::new(
        py,
        PyResponseCache::build(
            py,
            breakwater_core::CacheConfig::default(),
            clock.as_ref().map(|c| c.clone_ref(py)),
        )?,
    )
}

impl PyFallback {
    /// The manager, cache and clock in use.
    pub fn parts(&self) -> &FallbackParts {
        self.rebound.get().unwrap_or(&self.base)
    }

    /// The parts, handed out: the clock is fixed from now on.
    pub fn parts_fixed(&self) -> &FallbackParts {
        self.free.store(false, Ordering::Release);
        self.parts()
    }

    /// The clock the Fallback is bound to (None inside: the system clock), or None while it is
    /// free to take a policy's.
    pub fn fixed_clock(&self, py: Python<'_>) -> Option<Option<Py<PyManualClock>>> {
        if self.free.load(Ordering::Acquire) {
            None
        } else {
            Some(self.parts().clock.as_ref().map(|c| c.clone_ref(py)))
        }
    }

    /// Joins a policy on `clock` (None: the system clock): a free Fallback takes it (its
    /// manager and cache are made again on it); false when the Fallback is fixed on another.
    pub fn adopt(&self, py: Python<'_>, clock: &Option<Py<PyManualClock>>) -> PyResult<bool> {
        if !self.free.swap(false, Ordering::AcqRel) {
            return Ok(same_clock(&self.parts().clock, clock));
        }
        let (Some(recipe), Some(_)) = (&self.recipe, clock) else {
            return Ok(same_clock(&self.parts().clock, clock));
        };
        let strategies: Vec<Bound<'_, PyAny>> = recipe
            .strategies
            .iter()
            .map(|s| s.bind(py).clone())
            .collect();
        let clock = clock.as_ref().map(|c| c.clone_ref(py));
        let manager = own_manager(
            py,
            recipe.rules.as_ref().map(|r| r.bind(py)),
            clock.as_ref().map(|c| c.clone_ref(py)),
        )?;
        register_all(py, &manager, &strategies)?;
        let cache = if recipe.cache {
            Some(default_cache(py, &clock)?)
        } else {
            None
        };
        let _ = self.rebound.set(FallbackParts {
            manager,
            cache,
            clock,
        });
        Ok(true)
    }

    /// The call's key in the response cache, or None (no cache, or an argument that is not
    /// hashable, or the user's `cache_key` said None).
    pub fn key<'py>(
        &self,
        py: Python<'py>,
        component: &Bound<'py, PyString>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> Option<Bound<'py, PyAny>> {
        self.parts().cache.as_ref()?;
        let key = match &self.cache_key {
            Some(f) => match f.bind(py).call(args, kwargs) {
                Ok(k) if k.is_none() => return None,
                Ok(k) => k,
                Err(e) => {
                    log_isolated(py, "cache_key", f.bind(py), &e);
                    return None;
                }
            },
            None => default_key(py, component, func, args, kwargs).ok()?,
        };
        // Only hashable keys are cached (contract section 6).
        key.hash().ok()?;
        Some(key)
    }

    /// Remembers a live value for `cached_response`.
    pub fn remember(&self, py: Python<'_>, key: Option<&Bound<'_, PyAny>>, value: &Py<PyAny>) {
        if let (Some(c), Some(k)) = (&self.parts().cache, key) {
            let _ = c.get().store(py, k, value.clone_ref(py), None);
        }
    }
}

/// `(module, qualname, component, args, sorted kwargs items)`; a bound method's instance
/// counts as its first argument.
fn default_key<'py>(
    py: Python<'py>,
    component: &Bound<'py, PyString>,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let module = func
        .getattr_opt(intern!(py, "__module__"))?
        .unwrap_or_else(|| py.None().into_bound(py));
    let qualname = match func.getattr_opt(intern!(py, "__qualname__"))? {
        Some(q) => q,
        None => func.clone(),
    };
    let args = match func.getattr_opt(intern!(py, "__self__"))? {
        Some(s) if !s.is_none() && !s.is_instance_of::<PyModule>() => {
            let mut v: Vec<Bound<'py, PyAny>> = vec![s];
            v.extend(args.iter());
            PyTuple::new(py, v)?
        }
        _ => args.clone(),
    };
    let kw = match kwargs.filter(|k| !k.is_empty()) {
        None => PyTuple::empty(py),
        Some(k) => {
            let items = k.items();
            items.sort()?;
            PyTuple::new(py, items.iter())?
        }
    };
    Ok(PyTuple::new(
        py,
        [
            module,
            qualname,
            component.clone().into_any(),
            args.into_any(),
            kw.into_any(),
        ],
    )?
    .into_any())
}

#[pymethods]
impl PyFallback {
    #[new]
    #[pyo3(signature = (strategies = None, *, manager = None, rules = None, cache = None, cache_key = None, fallback = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        strategies: Option<&Bound<'_, PyAny>>,
        manager: Option<&Bound<'_, PyAny>>,
        rules: Option<&Bound<'_, PyAny>>,
        cache: Option<&Bound<'_, PyAny>>,
        cache_key: Option<&Bound<'_, PyAny>>,
        fallback: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut problems = Vec::new();
        let problem = |k: &str, v: &Bound<'_, PyAny>, allowed: &str| PyConfigProblem {
            path: None,
            key: k.into(),
            value: v.clone().unbind(),
            allowed: allowed.into(),
        };
        let clock_given = clock.is_some_and(|c| !c.is_none());
        let mut clock = manual_clock_arg(py, clock)?;
        let manager: Option<Py<PyDegradationManager>> = match manager.filter(|m| !m.is_none()) {
            None => None,
            Some(m) => match m.cast::<PyDegradationManager>() {
                Ok(m) => Some(m.clone().unbind()),
                Err(_) => {
                    problems.push(problem(
                        "manager",
                        m,
                        "None or a breakwater.DegradationManager",
                    ));
                    None
                }
            },
        };
        if let (Some(_), Some(r)) = (&manager, rules.filter(|r| !r.is_none())) {
            problems.push(problem(
                "rules",
                r,
                "the manager's own rules (give them to the DegradationManager)",
            ));
        }
        for (k, v) in [("cache_key", cache_key), ("fallback", fallback)] {
            if let Some(v) = v.filter(|v| !v.is_none())
                && !v.is_callable()
            {
                problems.push(problem(k, v, "None or a callable"));
            }
        }
        let items: Vec<Bound<'_, PyAny>> = match strategies.filter(|s| !s.is_none()) {
            None => Vec::new(),
            Some(s) => match s.try_iter() {
                Ok(it) if !s.is_instance_of::<PyString>() => it.collect::<PyResult<_>>()?,
                _ => {
                    problems.push(problem("strategies", s, "an iterable of strategies"));
                    Vec::new()
                }
            },
        };
        if !problems.is_empty() {
            return Err(config_error(py, problems));
        }
        let own = manager.is_none();
        let manager = match manager {
            Some(m) => {
                let mclock = &m.get().clock;
                if clock_given && !same_clock(&clock, mclock) {
                    return Err(config_error1(
                        py,
                        "clock",
                        clock.map_or_else(|| py.None(), |c| c.into_any()),
                        "the manager's clock",
                    ));
                }
                clock = mclock.as_ref().map(|c| c.clone_ref(py));
                m
            }
            None => own_manager(py, rules, clock.as_ref().map(|c| c.clone_ref(py)))?,
        };
        let wants_cache = register_all(py, &manager, &items)?;
        let cache_given = cache.is_some_and(|c| !c.is_none() && !c.is_instance_of::<PyBool>());
        let cache: Option<Py<PyResponseCache>> = match cache.filter(|c| !c.is_none()) {
            None if wants_cache => Some(default_cache(py, &clock)?),
            None => None,
            Some(c) if c.is_instance_of::<PyBool>() => {
                if c.is_truthy()? {
                    Some(default_cache(py, &clock)?)
                } else {
                    None
                }
            }
            Some(c) => match c.cast::<PyResponseCache>() {
                Ok(rc) => {
                    if !same_clock(&rc.get().clock, &clock) {
                        return Err(config_error1(
                            py,
                            "cache",
                            c.clone().unbind(),
                            "a ResponseCache on the fallback's clock",
                        ));
                    }
                    Some(rc.clone().unbind())
                }
                Err(_) => {
                    return Err(config_error1(
                        py,
                        "cache",
                        c.clone().unbind(),
                        "None, True or a breakwater.ResponseCache",
                    ));
                }
            },
        };
        // Made without a clock, and nothing of the caller's that has one: free to take the
        // clock of the first policy it joins.
        let free = !clock_given && own && !cache_given;
        let recipe = free.then(|| Recipe {
            strategies: items.iter().map(|s| s.clone().unbind()).collect(),
            rules: rules.filter(|r| !r.is_none()).map(|r| r.clone().unbind()),
            cache: cache.is_some(),
        });
        Ok(Self {
            base: FallbackParts {
                manager,
                cache,
                clock,
            },
            rebound: OnceLock::new(),
            free: AtomicBool::new(free),
            recipe,
            cache_key: cache_key
                .filter(|v| !v.is_none())
                .map(|v| v.clone().unbind()),
            fallback: fallback
                .filter(|v| !v.is_none())
                .map(|v| v.clone().unbind()),
        })
    }

    /// The degradation manager (reading it fixes a Fallback made without a clock on the
    /// clock it has now).
    #[getter]
    fn manager(&self, py: Python<'_>) -> Py<PyDegradationManager> {
        self.parts_fixed().manager.clone_ref(py)
    }
    /// The response cache, or None (reading it fixes the clock, like `manager`).
    #[getter]
    fn cache(&self, py: Python<'_>) -> Option<Py<PyResponseCache>> {
        self.parts_fixed().cache.as_ref().map(|c| c.clone_ref(py))
    }
    #[getter]
    fn cache_key(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.cache_key.as_ref().map(|c| c.clone_ref(py))
    }
    #[getter]
    fn fallback(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.fallback.as_ref().map(|c| c.clone_ref(py))
    }
    /// The ManualClock it runs on (its own, or the one it took from its policy), or None.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.parts().clock.as_ref().map(|c| c.clone_ref(py))
    }

    /// The key `func(*args, **kwargs)` is cached under when guarded by a policy named
    /// `component` (None: not cached).
    #[pyo3(signature = (component, func, /, *args, **kwargs))]
    fn key_for<'py>(
        &self,
        py: Python<'py>,
        component: &Bound<'py, PyString>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> Option<Bound<'py, PyAny>> {
        self.key(py, component, func, args, kwargs)
    }

    fn __repr__(&self) -> String {
        let b = |x: bool| if x { "True" } else { "False" };
        format!(
            "<Fallback strategies={} cache={} fallback={}>",
            self.parts().manager.get().core.strategies().len(),
            b(self.parts().cache.is_some()),
            b(self.fallback.is_some())
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for parts in std::iter::once(&self.base).chain(self.rebound.get()) {
            visit.call(&parts.manager)?;
            if let Some(c) = &parts.cache {
                visit.call(c)?;
            }
            if let Some(c) = &parts.clock {
                visit.call(c)?;
            }
        }
        for o in [&self.cache_key, &self.fallback].into_iter().flatten() {
            visit.call(o)?;
        }
        if let Some(r) = &self.recipe {
            for o in r.strategies.iter().chain(&r.rules) {
                visit.call(o)?;
            }
        }
        Ok(())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDegradationManager>()?;
    m.add_class::<PyFallback>()?;
    m.add_class::<PyResponseCache>()?;
    m.add("TRIGGERS", Trigger::ALL.map(|t| t.as_str()).to_vec())?;
    m.add("LEVELS", Level::ALL.map(|l| l.as_str()).to_vec())?;
    m.add(
        "STRATEGY_KINDS",
        StrategyKind::ALL.map(|k| k.as_str()).to_vec(),
    )?;
    Ok(())
}
