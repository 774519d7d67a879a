//! `CircuitBreaker` and its companions (permit, snapshot, event, subscription, guarded
//! function). The guarded call runs natively: acquire, call the user's function with no lock
//! held, classify, record. The GIL is held throughout (every core operation is O(1) and takes
//! far less than detaching would), which also means no core lock is ever held across a fork.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use breakwater_core::event::Listener;
use breakwater_core::{
    BreakerConfig, Category, CircuitBreaker, ClockRef, Event, EventKind, ListenerId, Outcome,
    Permit, Snapshot,
};
use pyo3::IntoPyObjectExt;
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

use crate::classify;
use crate::clock::PyManualClock;
use crate::config::{self, breaker_config, items, window_object};
use crate::errors::{self, PyConfigProblem, config_error, config_error1};
use crate::json;

const HOOK_KEYS: &[&str] = &["clock", "classify", "failure_if"];

/// Logs an error from user code that must not reach the guarded call (listeners, hooks).
pub fn log_isolated(py: Python<'_>, what: &str, target: &Bound<'_, PyAny>, err: &PyErr) {
    let _ = (|| -> PyResult<()> {
        let logger = py
            .import(intern!(py, "logging"))?
            .call_method1(intern!(py, "getLogger"), ("breakwater",))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("exc_info", err.value(py))?;
        logger.call_method(
            intern!(py, "error"),
            (
                "%s %r raised; breakwater ignored the error (further errors from it are not logged)",
                what,
                target,
            ),
            Some(&kwargs),
        )?;
        Ok(())
    })();
}

/// A `classify=` hook's answer for `exc`: a category, or None to use the default classifier.
/// A hook that raises or answers something else is logged once and ignored.
pub fn user_category(
    py: Python<'_>,
    hook: Option<&Py<PyAny>>,
    logged: &AtomicBool,
    exc: &Bound<'_, PyAny>,
) -> Option<Category> {
    let hook = hook?.bind(py);
    match hook.call1((exc,)) {
        Ok(v) if v.is_none() => None,
        Ok(v) => match v.extract::<String>().ok().and_then(|s| s.parse().ok()) {
            Some(c) => Some(c),
            None => {
                if !logged.swap(true, Ordering::Relaxed) {
                    let err = PyValueError::new_err(format!(
                        "classify returned {}, not a category name ({})",
                        v.repr().map(|r| r.to_string()).unwrap_or_default(),
                        Category::ALL.map(|c| c.as_str()).join(", ")
                    ));
                    log_isolated(py, "classify hook", hook, &err);
                }
                None
            }
        },
        Err(err) => {
            if !logged.swap(true, Ordering::Relaxed) {
                log_isolated(py, "classify hook", hook, &err);
            }
            None
        }
    }
}

/// Whether a `failure_if=` hook marks `value` as a failure, and its category (by its status).
/// Without a hook, a response-like value whose HTTP status (`.status_code` / `.status`) is
/// >= 500, 408 or 429 is a failure (the Node binding's default too).
pub fn result_failed(
    py: Python<'_>,
    hook: Option<&Py<PyAny>>,
    logged: &AtomicBool,
    value: &Bound<'_, PyAny>,
) -> Option<Category> {
    let Some(hook) = hook else {
        return classify::default_result_failure(value);
    };
    let hook = hook.bind(py);
    match hook.call1((value,)).and_then(|r| r.is_truthy()) {
        Ok(true) => Some(classify::classify_result(value)),
        Ok(false) => None,
        Err(err) => {
            if !logged.swap(true, Ordering::Relaxed) {
                log_isolated(py, "failure_if hook", hook, &err);
            }
            None
        }
    }
}

/// A core listener that calls a Python callable with an `Event`, isolating its errors.
pub fn python_listener(callback: &Bound<'_, PyAny>) -> Listener {
    let cb = callback.clone().unbind();
    let logged = AtomicBool::new(false);
    Arc::new(move |e: &Event| {
        Python::attach(|py| {
            let cb = cb.bind(py);
            let result = Py::new(py, PyEvent(e.clone())).and_then(|ev| cb.call1((ev,)));
            if let Err(err) = result
                && !logged.swap(true, Ordering::Relaxed)
            {
                log_isolated(py, "event listener", cb, &err);
            }
        })
    })
}

/// The event kind named `event` (`"*"`: every kind).
pub fn event_kind(event: &str) -> PyResult<Option<EventKind>> {
    if event == "*" {
        return Ok(None);
    }
    EventKind::parse(event).map(Some).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown event {event:?}; one of: \"*\", {}",
            EventKind::ALL.map(|k| k.as_str()).join(", ")
        ))
    })
}

/// `bw.CircuitBreaker(name, **config)`.
#[pyclass(
    frozen,
    subclass,
    weakref,
    module = "breakwater",
    name = "CircuitBreaker"
)]
pub struct PyCircuitBreaker {
    pub core: Arc<CircuitBreaker>,
    pub name: Py<PyString>,
    pub clock: Option<Py<PyManualClock>>,
    pub classify: Option<Py<PyAny>>,
    pub failure_if: Option<Py<PyAny>>,
    pub hook_error_logged: AtomicBool,
}

/// Carries a config parsed from a mapping into `__new__` (used by `from_config`).
#[pyclass(frozen, module = "breakwater._breakwater")]
pub struct _ParsedConfig {
    config: BreakerConfig,
}

fn callable_or_none(
    key: &str,
    v: Option<&Bound<'_, PyAny>>,
) -> Result<Option<Py<PyAny>>, PyConfigProblem> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) if v.is_callable() => Ok(Some(v.clone().unbind())),
        Some(v) => Err(PyConfigProblem {
            path: None,
            key: key.into(),
            value: v.clone().unbind(),
            allowed: "None or a callable".into(),
        }),
    }
}

impl PyCircuitBreaker {
    fn name_str(&self, py: Python<'_>) -> String {
        self.name.bind(py).to_string()
    }

    /// The outcome of a call that raised; `None` when the permit is to be released (the call
    /// was cancelled or interrupted: asyncio cancellation, KeyboardInterrupt, SystemExit).
    pub fn outcome_of_error(&self, py: Python<'_>, exc: &Bound<'_, PyAny>) -> Option<Outcome> {
        if !exc.is_instance_of::<PyException>() {
            return None;
        }
        // The user's answer wins over every fact (the core's rule too).
        if let Some(c) = user_category(py, self.classify.as_ref(), &self.hook_error_logged, exc) {
            return Some(Outcome::Failure(c));
        }
        let wall = self.core.clock().wall_ms();
        Some(Outcome::Failure(
            classify::classify_exception(exc, wall).category,
        ))
    }

    /// The outcome of a call that returned `value`.
    pub fn outcome_of_result(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> Outcome {
        match result_failed(py, self.failure_if.as_ref(), &self.hook_error_logged, value) {
            Some(c) => Outcome::Failure(c),
            None => Outcome::Success,
        }
    }

    pub fn finish_error(&self, py: Python<'_>, permit: Permit, exc: &Bound<'_, PyAny>) {
        match self.outcome_of_error(py, exc) {
            Some(o) => self.core.record(permit, o),
            None => self.core.release(permit),
        }
    }

    pub fn open_error(&self, py: Python<'_>, rej: breakwater_core::Rejection) -> PyErr {
        errors::circuit_open(py, self.name.bind(py).as_any(), rej, None)
    }

    /// The guarded call: acquire, run, classify, record.
    #[inline]
    pub fn guarded<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        errors::boundary(py, || self.guarded_inner(py, func, args, kwargs))
    }

    #[inline]
    fn guarded_inner<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let permit = match self.core.try_acquire() {
            Ok(p) => p,
            Err(rej) => return Err(self.open_error(py, rej)),
        };
        match func.call(args, kwargs) {
            Ok(v) => {
                let outcome = self.outcome_of_result(py, &v);
                self.core.record(permit, outcome);
                Ok(v)
            }
            Err(e) => {
                self.finish_error(py, permit, e.value(py).as_any());
                Err(e)
            }
        }
    }

    fn build(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut early = Vec::new();
        let name_s: Option<Py<PyString>> = match name.cast::<PyString>() {
            Ok(s) => Some(s.clone().unbind()),
            Err(_) => {
                early.push(PyConfigProblem {
                    path: None,
                    key: "name".into(),
                    value: name.clone().unbind(),
                    allowed: "a string".into(),
                });
                None
            }
        };
        let all = items(kwargs)?;
        let mut parsed: Option<BreakerConfig> = None;
        let mut existing: Option<Arc<CircuitBreaker>> = None;
        let mut clock_arg = None;
        let mut classify_arg = None;
        let mut failure_if_arg = None;
        let mut rest = Vec::new();
        for (k, v) in all {
            match k.as_str() {
                "clock" => clock_arg = Some(v),
                "classify" => classify_arg = Some(v),
                "failure_if" => failure_if_arg = Some(v),
                "_parsed_config" => {
                    parsed = Some(v.cast::<_ParsedConfig>()?.get().config.clone());
                }
                "_existing" => {
                    existing = v
                        .cast::<crate::registry::_Existing>()?
                        .get()
                        .breaker
                        .clone()
                }
                _ => rest.push((k, v)),
            }
        }
        let clock: Option<Py<PyManualClock>> = match clock_arg {
            None => None,
            Some(c) if c.is_none() => None,
            Some(c) => match c.cast::<PyManualClock>() {
                Ok(m) => Some(m.clone().unbind()),
                Err(_) => {
                    early.push(PyConfigProblem {
                        path: None,
                        key: "clock".into(),
                        value: c.clone().unbind(),
                        allowed: "None (the system clock) or a breakwater.ManualClock".into(),
                    });
                    None
                }
            },
        };
        let classify = callable_or_none("classify", classify_arg.as_ref()).unwrap_or_else(|p| {
            early.push(p);
            None
        });
        let failure_if =
            callable_or_none("failure_if", failure_if_arg.as_ref()).unwrap_or_else(|p| {
                early.push(p);
                None
            });
        if !early.is_empty() {
            return Err(config_error(py, early));
        }
        let name_s = name_s.expect("checked above");
        if let Some(core) = existing {
            return Ok(Self {
                core,
                name: name_s,
                clock,
                classify,
                failure_if,
                hook_error_logged: AtomicBool::new(false),
            });
        }
        let cfg = match parsed {
            Some(c) => c,
            None => breaker_config(py, &BreakerConfig::default(), &rest, HOOK_KEYS)?,
        };
        let clock_ref = match &clock {
            Some(c) => ClockRef::Manual(c.get().inner.clone()),
            None => crate::clock::system(),
        };
        let core =
            CircuitBreaker::new(&name_s.bind(py).to_string(), cfg, clock_ref).map_err(|e| {
                config_error(
                    py,
                    e.0.iter()
                        .map(|e| PyConfigProblem::from_core(py, e))
                        .collect(),
                )
            })?;
        Ok(Self {
            core: Arc::new(core),
            name: name_s,
            clock,
            classify,
            failure_if,
            hook_error_logged: AtomicBool::new(false),
        })
    }
}

/// Maps the core's errors for a config mapping back to the values the caller wrote.
pub fn mapping_errors(
    py: Python<'_>,
    mapping: &Bound<'_, PyAny>,
    errs: &breakwater_core::ConfigErrors,
) -> PyErr {
    let problems = errs
        .0
        .iter()
        .map(|e| {
            // The path walks the mapping as written (it is the key outside a document).
            let mut cur = Some(mapping.clone());
            for part in e.path.split('.') {
                cur = cur.and_then(|c| c.get_item(part).ok());
            }
            PyConfigProblem {
                path: Some(e.path.clone()),
                key: e.key.clone(),
                value: match cur {
                    Some(v) => v.unbind(),
                    None => e
                        .value
                        .clone()
                        .into_pyobject(py)
                        .unwrap()
                        .into_any()
                        .unbind(),
                },
                allowed: e.allowed.clone(),
            }
        })
        .collect();
    config_error(py, problems)
}

#[pymethods]
impl PyCircuitBreaker {
    #[new]
    #[pyo3(
        signature = (name, **kwargs),
        text_signature = "(name, *, failure_threshold=5, failure_rate_threshold=0.5, minimum_calls=10, window=TimeWindow(60.0, buckets=10), slow_call_duration=None, slow_call_rate_threshold=1.0, recovery_timeout=60.0, recovery_backoff=None, half_open_max_calls=3, success_threshold=2, max_half_open=None, clock=None, classify=None, failure_if=None)"
    )]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        Self::build(py, name, kwargs)
    }

    /// A breaker from a config mapping in config-file spelling (snake_case keys with `_ms`
    /// durations, or the seeds' camelCase keys in ms), as in a `circuit_breakers` section.
    #[classmethod]
    #[pyo3(signature = (name, config, *, clock = None, classify = None, failure_if = None))]
    fn from_config<'py>(
        cls: &Bound<'py, PyType>,
        name: &Bound<'py, PyAny>,
        config: &Bound<'py, PyAny>,
        clock: Option<&Bound<'py, PyAny>>,
        classify: Option<&Bound<'py, PyAny>>,
        failure_if: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let value = json::to_json(config)
            .map_err(|msg| config_error1(py, "(config)", config.clone().unbind(), &msg))?;
        let parsed =
            BreakerConfig::from_json(&value).map_err(|e| mapping_errors(py, config, &e))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item(
            "_parsed_config",
            Py::new(py, _ParsedConfig { config: parsed })?,
        )?;
        kwargs.set_item("clock", clock)?;
        kwargs.set_item("classify", classify)?;
        kwargs.set_item("failure_if", failure_if)?;
        cls.call((name,), Some(&kwargs))
    }

    /// Applies new settings to the live breaker, over its current config, keeping its state
    /// and counters. Either keywords (Python spelling, seconds) or one mapping in config-file
    /// spelling. An invalid config raises `ConfigError` and changes nothing.
    #[pyo3(signature = (config = None, /, **kwargs))]
    fn configure(
        &self,
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let current = self.core.config();
        let next = match config {
            Some(mapping) if !mapping.is_none() => {
                if kwargs.is_some_and(|k| !k.is_empty()) {
                    return Err(PyValueError::new_err(
                        "configure() takes a mapping or keywords, not both",
                    ));
                }
                let value = json::to_json(mapping)
                    .map_err(|msg| config_error1(py, "(config)", mapping.clone().unbind(), &msg))?;
                BreakerConfig::from_json_over(&current, &value)
                    .map_err(|e| mapping_errors(py, mapping, &e))?
            }
            _ => breaker_config(py, &current, &items(kwargs)?, &[])?,
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

    /// Calls `func(*args, **kwargs)` through the breaker.
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.guarded(py, func, args, kwargs)
    }

    /// Wraps a sync function in a native guarded callable (the Python layer adds
    /// `functools.wraps` and handles coroutine functions).
    #[pyo3(signature = (func, /))]
    fn _wrap_sync(slf: &Bound<'_, Self>, func: &Bound<'_, PyAny>) -> PyResult<Guarded> {
        Ok(Guarded {
            guard: Guard::Breaker(slf.clone().unbind()),
            func: func.clone().unbind(),
        })
    }

    /// A native guarded coroutine function (the asyncio fast path), or None when this
    /// interpreter lacks it (the Python layer then wraps with `async def`).
    #[pyo3(signature = (func, /))]
    fn _wrap_async(
        slf: &Bound<'_, Self>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Option<crate::fastawait::GuardedAsync>> {
        Self::wrap_async(slf, func)
    }

    /// `func(*args, **kwargs)` as a guarded coroutine, not started (the asyncio fast path).
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn _call_async(
        slf: &Bound<'_, Self>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        Self::call_async_native(slf, func, args, kwargs)
    }

    /// The asyncio fast path: a permit packed in an int (no object per call); hand it back
    /// with `_finish`.
    fn _acquire<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.core.try_acquire() {
            // One machine word whenever it fits (PyO3's u128 conversion under abi3 builds the
            // int from two halves with shifts: five objects instead of one).
            Ok(p) => match u64::try_from(pack_permit(p)) {
                Ok(small) => small.into_bound_py_any(py),
                Err(_) => pack_permit(p).into_bound_py_any(py),
            },
            Err(rej) => Err(self.open_error(py, rej)),
        }
    }

    /// Hands back an `_acquire` permit with what the call produced: its value, or (when
    /// `failed`) the exception it raised.
    fn _finish(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        outcome: &Bound<'_, PyAny>,
        failed: bool,
    ) -> PyResult<()> {
        let permit = unpack_permit(token)?;
        if failed {
            self.finish_error(py, permit, outcome);
        } else {
            let o = self.outcome_of_result(py, outcome);
            self.core.record(permit, o);
        }
        Ok(())
    }

    /// Asks for a permit; raises `CircuitOpenError` when rejected.
    fn try_acquire(&self, py: Python<'_>) -> PyResult<PyPermit> {
        match self.core.try_acquire() {
            Ok(p) => Ok(PyPermit {
                permit: p,
                used: AtomicBool::new(false),
            }),
            Err(rej) => Err(self.open_error(py, rej)),
        }
    }

    /// Hands a permit back with an outcome: `"success"`, `"failure"` (category default
    /// `"unknown"`) or `"ignored"` (category default `"client"`).
    #[pyo3(signature = (permit, outcome = "success", category = None))]
    fn record(
        &self,
        permit: &Bound<'_, PyPermit>,
        outcome: &str,
        category: Option<&str>,
    ) -> PyResult<()> {
        let cat = |default: Category| -> PyResult<Category> {
            match category {
                None => Ok(default),
                Some(s) => s.parse().map_err(|_| {
                    PyValueError::new_err(format!(
                        "unknown category {s:?}; one of: {}",
                        Category::ALL.map(|c| c.as_str()).join(", ")
                    ))
                }),
            }
        };
        let o = match outcome {
            "success" => Outcome::Success,
            "failure" => Outcome::Failure(cat(Category::Unknown)?),
            "ignored" => Outcome::Ignored(cat(Category::Client)?),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown outcome {other:?}; one of: success, failure, ignored"
                )));
            }
        };
        let p = permit.get().take()?;
        self.core.record(p, o);
        Ok(())
    }

    /// Records the outcome of a call that raised `error` (classified like a guarded call's);
    /// a cancellation releases the permit instead.
    fn record_error(
        &self,
        py: Python<'_>,
        permit: &Bound<'_, PyPermit>,
        error: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let p = permit.get().take()?;
        self.finish_error(py, p, error);
        Ok(())
    }

    /// Records the outcome of a call that returned `value` (`failure_if` applies).
    fn record_result(
        &self,
        py: Python<'_>,
        permit: &Bound<'_, PyPermit>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let p = permit.get().take()?;
        let o = self.outcome_of_result(py, value);
        self.core.record(p, o);
        Ok(())
    }

    /// Gives a permit back without an outcome: counts nothing, frees a half-open slot.
    fn release(&self, permit: &Bound<'_, PyPermit>) -> PyResult<()> {
        let p = permit.get().take()?;
        self.core.release(p);
        Ok(())
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// The current state (pure: `half_open` once the open period has passed).
    #[getter]
    fn state(&self) -> &'static str {
        self.core.state().as_str()
    }

    /// The ManualClock this breaker reads, or None for the system clock.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    /// The current settings, as keyword arguments (seconds).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.core.config();
        let d = PyDict::new(py);
        d.set_item("failure_threshold", c.failure_threshold)?;
        d.set_item("failure_rate_threshold", c.failure_rate_threshold)?;
        d.set_item("minimum_calls", c.minimum_calls)?;
        d.set_item("window", window_object(py, c.window)?)?;
        d.set_item(
            "slow_call_duration",
            c.slow_call_duration.map(|d| d.as_secs_f64()),
        )?;
        d.set_item("slow_call_rate_threshold", c.slow_call_rate_threshold)?;
        d.set_item("recovery_timeout", c.recovery_timeout.as_secs_f64())?;
        d.set_item(
            "recovery_backoff",
            c.recovery_backoff
                .map(|b| (b.multiplier, b.max.as_secs_f64())),
        )?;
        d.set_item("half_open_max_calls", c.half_open_max_calls)?;
        d.set_item("success_threshold", c.success_threshold)?;
        d.set_item("max_half_open", c.max_half_open.map(|d| d.as_secs_f64()))?;
        Ok(d)
    }

    fn snapshot(&self) -> PySnapshot {
        PySnapshot(self.core.snapshot())
    }

    fn force_open(&self) {
        self.core.force_open();
    }

    fn force_close(&self) {
        self.core.force_close();
    }

    fn disable(&self) {
        self.core.disable();
    }

    fn metrics_only(&self) {
        self.core.metrics_only();
    }

    fn reset(&self) {
        self.core.reset();
    }

    /// Calls `callback(event)` for every event named `event` (`"*"` for all). Listeners run
    /// after the breaker's lock is released, on the thread that caused the event; one that
    /// raises is isolated and logged once.
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

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<CircuitBreaker {:?} state={}>",
            self.name_str(py),
            self.core.state().as_str()
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(c) = &self.classify {
            visit.call(c)?;
        }
        if let Some(c) = &self.failure_if {
            visit.call(c)?;
        }
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        Ok(())
    }
}

/// A permit as a Python int: usually below 2**64 (one machine word, cheap to convert):
/// `start << 11 | generation << 1 | probe`; else, with bit 127 set, the full fields.
fn pack_permit(p: Permit) -> u128 {
    let (g, st, probe) = (p.generation(), p.start(), p.is_probe() as u64);
    if g < (1 << 10) && st < (1 << 53) {
        ((st << 11) | (g << 1) | probe) as u128
    } else {
        (1u128 << 127) | ((g as u128 & ((1 << 62) - 1)) << 65) | ((st as u128) << 1) | probe as u128
    }
}

fn unpack_permit(token: &Bound<'_, PyAny>) -> PyResult<Permit> {
    if let Ok(t) = token.extract::<u64>() {
        return Ok(Permit::from_parts((t >> 1) & 0x3ff, t >> 11, t & 1 == 1));
    }
    let t: u128 = token.extract()?;
    Ok(Permit::from_parts(
        ((t >> 65) & ((1 << 62) - 1)) as u64,
        (t >> 1) as u64,
        t & 1 == 1,
    ))
}

/// Permission to make one call; hand it back once, to `record*` or `release`.
#[pyclass(frozen, module = "breakwater", name = "Permit")]
pub struct PyPermit {
    permit: Permit,
    used: AtomicBool,
}

impl PyPermit {
    fn take(&self) -> PyResult<Permit> {
        if self.used.swap(true, Ordering::AcqRel) {
            return Err(PyRuntimeError::new_err(
                "this permit was already handed back (record or release it once)",
            ));
        }
        Ok(self.permit)
    }
}

#[pymethods]
impl PyPermit {
    /// The breaker generation the permit was granted in.
    #[getter]
    fn generation(&self) -> u64 {
        self.permit.generation()
    }
    /// When the call started on the breaker's clock, in seconds.
    #[getter]
    fn start(&self) -> f64 {
        self.permit.start() as f64 / 1e9
    }
    /// Whether it holds a half-open probe slot.
    #[getter]
    fn probe(&self) -> bool {
        self.permit.is_probe()
    }
    /// Whether it was already handed back.
    #[getter]
    fn used(&self) -> bool {
        self.used.load(Ordering::Acquire)
    }
    fn __repr__(&self) -> String {
        format!(
            "<Permit generation={} probe={} used={}>",
            self.generation(),
            if self.probe() { "True" } else { "False" },
            if self.used() { "True" } else { "False" }
        )
    }
}

const SNAPSHOT_FIELDS: [&str; 17] = [
    "state",
    "state_since",
    "calls",
    "failures",
    "slow_calls",
    "failure_rate",
    "slow_call_rate",
    "consecutive_failures",
    "consecutive_successes",
    "calls_total",
    "successes_total",
    "failures_total",
    "ignored_total",
    "rejected_total",
    "times_opened",
    "last_failure_category",
    "retry_after",
];

/// A point-in-time view of a breaker; durations in seconds.
#[pyclass(frozen, module = "breakwater", name = "Snapshot")]
pub struct PySnapshot(pub Snapshot);

impl PySnapshot {
    fn field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let s = &self.0;
        fn o<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
            v.into_bound_py_any(py)
        }
        Ok(Some(match name {
            "state" => o(py, s.state.as_str())?,
            "state_since" => o(py, s.state_since.as_secs_f64())?,
            "calls" => o(py, s.calls)?,
            "failures" => o(py, s.failures)?,
            "slow_calls" => o(py, s.slow_calls)?,
            "failure_rate" => o(py, s.failure_rate)?,
            "slow_call_rate" => o(py, s.slow_call_rate)?,
            "consecutive_failures" => o(py, s.consecutive_failures)?,
            "consecutive_successes" => o(py, s.consecutive_successes)?,
            "calls_total" => o(py, s.calls_total)?,
            "successes_total" => o(py, s.successes_total)?,
            "failures_total" => o(py, s.failures_total)?,
            "ignored_total" => o(py, s.ignored_total)?,
            "rejected_total" => o(py, s.rejected_total)?,
            "times_opened" => o(py, s.times_opened)?,
            "last_failure_category" => o(py, s.last_failure_category.map(|c| c.as_str()))?,
            "retry_after" => o(py, s.retry_after.map(|d| d.as_secs_f64()))?,
            _ => return Ok(None),
        }))
    }
}

#[pymethods]
impl PySnapshot {
    #[getter]
    fn state(&self) -> &'static str {
        self.0.state.as_str()
    }
    /// Seconds in the current state.
    #[getter]
    fn state_since(&self) -> f64 {
        self.0.state_since.as_secs_f64()
    }
    #[getter]
    fn calls(&self) -> u64 {
        self.0.calls
    }
    #[getter]
    fn failures(&self) -> u64 {
        self.0.failures
    }
    #[getter]
    fn slow_calls(&self) -> u64 {
        self.0.slow_calls
    }
    #[getter]
    fn failure_rate(&self) -> f64 {
        self.0.failure_rate
    }
    #[getter]
    fn slow_call_rate(&self) -> f64 {
        self.0.slow_call_rate
    }
    #[getter]
    fn consecutive_failures(&self) -> u64 {
        self.0.consecutive_failures
    }
    #[getter]
    fn consecutive_successes(&self) -> u64 {
        self.0.consecutive_successes
    }
    #[getter]
    fn calls_total(&self) -> u64 {
        self.0.calls_total
    }
    #[getter]
    fn successes_total(&self) -> u64 {
        self.0.successes_total
    }
    #[getter]
    fn failures_total(&self) -> u64 {
        self.0.failures_total
    }
    #[getter]
    fn ignored_total(&self) -> u64 {
        self.0.ignored_total
    }
    #[getter]
    fn rejected_total(&self) -> u64 {
        self.0.rejected_total
    }
    #[getter]
    fn times_opened(&self) -> u64 {
        self.0.times_opened
    }
    #[getter]
    fn last_failure_category(&self) -> Option<&'static str> {
        self.0.last_failure_category.map(|c| c.as_str())
    }
    /// Seconds until the open period ends, while open; else None.
    #[getter]
    fn retry_after(&self) -> Option<f64> {
        self.0.retry_after.map(|d| d.as_secs_f64())
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, key)?
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.to_string()))
    }

    /// The fields as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for f in SNAPSHOT_FIELDS {
            d.set_item(f, self.field(py, f)?)?;
        }
        Ok(d)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PySnapshot>()
            .is_ok_and(|o| o.get().0 == self.0)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = Vec::new();
        for f in SNAPSHOT_FIELDS {
            let v = self.field(py, f)?.expect("known field");
            parts.push(format!("{f}={}", v.repr()?));
        }
        Ok(format!("Snapshot({})", parts.join(", ")))
    }
}

const EVENT_FIELDS: [&str; 12] = [
    "kind",
    "component",
    "at",
    "from",
    "to",
    "reason",
    "category",
    "duration",
    "attempt",
    "delay",
    "strategy",
    "severity",
];

/// One event. `at` is the clock's wall time in ms since the Unix epoch; `duration` and `delay`
/// are seconds. `from` is a keyword in Python: read it as `event.from_`, `event["from"]` or
/// `getattr(event, "from")`.
#[pyclass(frozen, module = "breakwater", name = "Event")]
pub struct PyEvent(pub Event);

impl PyEvent {
    fn field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let e = &self.0;
        fn o<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
            v.into_bound_py_any(py)
        }
        Ok(Some(match name {
            "kind" => o(py, e.kind.as_str())?,
            "component" => o(py, &*e.component)?,
            "at" => o(py, e.at_ms)?,
            "from" | "from_" => o(py, e.from.map(|s| s.as_str()))?,
            "to" => o(py, e.to.map(|s| s.as_str()))?,
            "reason" => o(py, e.reason)?,
            "category" => o(py, e.category.map(|c| c.as_str()))?,
            "duration" => o(py, e.duration.map(|d| d.as_secs_f64()))?,
            "attempt" => o(py, e.attempt)?,
            "delay" => o(py, e.delay.map(|d| d.as_secs_f64()))?,
            "strategy" => o(py, e.strategy.as_deref())?,
            "severity" => o(py, e.severity)?,
            _ => return Ok(None),
        }))
    }
}

#[pymethods]
impl PyEvent {
    /// An event made by hand (to feed an `EventLog`, an `AlertManager` or an `Slo`); `at`
    /// defaults to the system's wall time in ms, `duration` / `delay` are seconds.
    #[new]
    #[pyo3(signature = (kind, component, *, at = None, from_ = None, to = None, reason = None, category = None, duration = None, attempt = None, delay = None, strategy = None, severity = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: &str,
        component: &str,
        at: Option<u64>,
        from_: Option<&str>,
        to: Option<&str>,
        reason: Option<&str>,
        category: Option<&str>,
        duration: Option<f64>,
        attempt: Option<u32>,
        delay: Option<f64>,
        strategy: Option<&str>,
        severity: Option<&str>,
    ) -> PyResult<Self> {
        use breakwater_core::State;
        let kind =
            event_kind(kind)?.ok_or_else(|| PyValueError::new_err("an event kind, not \"*\""))?;
        let state = |s: Option<&str>| -> PyResult<Option<State>> {
            s.map(|s| {
                State::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| PyValueError::new_err(format!("unknown state {s:?}")))
            })
            .transpose()
        };
        let secs = |d: Option<f64>, what: &str| -> PyResult<Option<std::time::Duration>> {
            d.map(|d| {
                crate::config::secs_to_duration(d)
                    .ok_or_else(|| PyValueError::new_err(format!("{what} must be seconds >= 0")))
            })
            .transpose()
        };
        let at = at.unwrap_or_else(|| breakwater_core::ClockRef::system().wall_ms());
        let mut e = Event::new(kind, &Arc::from(component), at);
        e.from = state(from_)?;
        e.to = state(to)?;
        e.reason = reason.map(crate::observe::static_name).transpose()?;
        e.severity = severity.map(crate::observe::static_name).transpose()?;
        e.category = category
            .map(|c| {
                c.parse::<Category>()
                    .map_err(|_| PyValueError::new_err(format!("unknown category {c:?}")))
            })
            .transpose()?;
        e.duration = secs(duration, "duration")?;
        e.delay = secs(delay, "delay")?;
        e.attempt = attempt;
        e.strategy = strategy.map(Arc::from);
        Ok(PyEvent(e))
    }

    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }
    #[getter]
    fn component(&self) -> &str {
        &self.0.component
    }
    /// Wall time of the clock, ms since the Unix epoch.
    #[getter]
    fn at(&self) -> u64 {
        self.0.at_ms
    }
    #[getter]
    fn from_(&self) -> Option<&'static str> {
        self.0.from.map(|s| s.as_str())
    }
    #[getter]
    fn to(&self) -> Option<&'static str> {
        self.0.to.map(|s| s.as_str())
    }
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        self.0.reason
    }
    #[getter]
    fn category(&self) -> Option<&'static str> {
        self.0.category.map(|c| c.as_str())
    }
    /// Seconds.
    #[getter]
    fn duration(&self) -> Option<f64> {
        self.0.duration.map(|d| d.as_secs_f64())
    }
    #[getter]
    fn attempt(&self) -> Option<u32> {
        self.0.attempt
    }
    /// Seconds.
    #[getter]
    fn delay(&self) -> Option<f64> {
        self.0.delay.map(|d| d.as_secs_f64())
    }
    #[getter]
    fn strategy(&self) -> Option<&str> {
        self.0.strategy.as_deref()
    }
    #[getter]
    fn severity(&self) -> Option<&'static str> {
        self.0.severity
    }

    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        if name == "from" {
            return Ok(self.field(py, "from")?.expect("known field"));
        }
        Err(pyo3::exceptions::PyAttributeError::new_err(
            name.to_string(),
        ))
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, key)?
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.to_string()))
    }

    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.field(py, key)? {
            Some(v) => v,
            None => default.unwrap_or_else(|| py.None().into_bound(py)),
        })
    }

    /// The event's fields that are set, as a dict (`from` spelled `from`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for f in EVENT_FIELDS {
            let v = self.field(py, f)?.expect("known field");
            if !v.is_none() {
                d.set_item(f, v)?;
            }
        }
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let d = self.to_dict(py)?;
        let mut parts = Vec::new();
        for (k, v) in d.iter() {
            parts.push(format!("{}={}", k, v.repr()?));
        }
        Ok(format!("Event({})", parts.join(", ")))
    }
}

type Unsubscribe = Box<dyn Fn(ListenerId) -> bool + Send + Sync>;

/// What `on(...)` returns; `unsubscribe()` stops the deliveries.
#[pyclass(frozen, module = "breakwater", name = "Subscription")]
pub struct Subscription {
    unsubscribe: Unsubscribe,
    id: ListenerId,
    active: AtomicBool,
}

impl Subscription {
    pub fn new(unsubscribe: Unsubscribe, id: ListenerId) -> Self {
        Self {
            unsubscribe,
            id,
            active: AtomicBool::new(true),
        }
    }
}

#[pymethods]
impl Subscription {
    /// Stops the deliveries; False when already unsubscribed.
    fn unsubscribe(&self) -> bool {
        if !self.active.swap(false, Ordering::AcqRel) {
            return false;
        }
        (self.unsubscribe)(self.id)
    }
    #[getter]
    fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }
    fn __repr__(&self) -> String {
        format!("<Subscription active={}>", self.active())
    }
}

fn method_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static T: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    T.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("types")?.getattr("MethodType")?.unbind())
    })
    .map(|t| t.bind(py))
}

/// What guards a `GuardedFunction`.
pub enum Guard {
    Breaker(Py<PyCircuitBreaker>),
    Policy(Py<crate::policy::PyPolicy>),
}

/// A function guarded by a breaker or a policy: what `@breaker` / `@policy` make of a sync
/// function. Calling it runs the guarded call natively; it binds as a method like a function.
#[pyclass(frozen, dict, module = "breakwater", name = "GuardedFunction")]
pub struct Guarded {
    pub guard: Guard,
    pub func: Py<PyAny>,
}

#[pymethods]
impl Guarded {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match &self.guard {
            Guard::Breaker(b) => b.get().guarded(py, self.func.bind(py), args, kwargs),
            Guard::Policy(p) => p
                .get()
                .run_sync(py, self.func.bind(py), args, kwargs)
                .and_then(|o| o.into_value(py)),
        }
    }

    fn __get__<'py>(
        slf: &Bound<'py, Self>,
        instance: Option<&Bound<'py, PyAny>>,
        owner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = owner;
        match instance {
            None => Ok(slf.clone().into_any()),
            Some(i) if i.is_none() => Ok(slf.clone().into_any()),
            Some(i) => method_type(slf.py())?.call1((slf, i)),
        }
    }

    /// The breaker or policy guarding this function.
    #[getter]
    fn guard(&self, py: Python<'_>) -> Py<PyAny> {
        match &self.guard {
            Guard::Breaker(b) => b.clone_ref(py).into_any(),
            Guard::Policy(p) => p.clone_ref(py).into_any(),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<guarded {} by {}>",
            self.func.bind(py).repr()?,
            self.guard(py).bind(py).repr()?
        ))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        match &self.guard {
            Guard::Breaker(b) => visit.call(b)?,
            Guard::Policy(p) => visit.call(p)?,
        }
        visit.call(&self.func)?;
        Ok(())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCircuitBreaker>()?;
    m.add_class::<PyPermit>()?;
    m.add_class::<PySnapshot>()?;
    m.add_class::<PyEvent>()?;
    m.add_class::<Subscription>()?;
    m.add_class::<Guarded>()?;
    m.add_class::<_ParsedConfig>()?;
    m.add_class::<config::PyCountWindow>()?;
    m.add_class::<config::PyTimeWindow>()?;
    Ok(())
}
