//! `bw.RateLimiter`: the core's token bucket, on the same clock as the policy using it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use breakwater_core::ClockRef;
use breakwater_core::limiter::{Bulkhead, BulkheadConfig, RateLimiter, RateLimiterConfig, Ticket};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};
use pyo3::{PyTraverseError, PyVisit};

use crate::clock::PyManualClock;
use crate::config::{Reader, items};
use crate::errors::{self, PyConfigProblem, config_error};

const KEYS: &[&str] = &[
    "max_requests",
    "time_window",
    "burst_limit",
    "clock",
    "name",
];

/// `bw.RateLimiter(max_requests=100, time_window=1.0, burst_limit=None, clock=None, name=None)`:
/// at most `max_requests` calls per `time_window` seconds, bursts up to `burst_limit`
/// (default `max_requests`). Put it in a `Policy` (a refusal is final: it is not retried), or
/// use it directly.
#[pyclass(frozen, module = "breakwater", name = "RateLimiter")]
pub struct PyRateLimiter {
    pub inner: Arc<RateLimiter>,
    pub clock: Option<Py<PyManualClock>>,
    pub name: Py<PyString>,
}

/// Carries a config parsed from a mapping into `__new__` (used by `from_config`).
#[pyclass(frozen, module = "breakwater._breakwater")]
pub struct _ParsedLimiter {
    config: RateLimiterConfig,
}

impl PyRateLimiter {
    pub fn clock_ref(&self) -> ClockRef {
        match &self.clock {
            Some(c) => ClockRef::Manual(c.get().inner.clone()),
            None => crate::clock::system(),
        }
    }

    pub fn limited(&self, py: Python<'_>, retry_after: std::time::Duration) -> PyErr {
        let t = errors::types(py).rate_limited.bind(py);
        match t.call1((self.name.clone_ref(py), retry_after.as_secs_f64())) {
            Ok(e) => PyErr::from_value(e),
            Err(e) => e,
        }
    }
}

#[pymethods]
impl PyRateLimiter {
    #[new]
    #[pyo3(
        signature = (**kwargs),
        text_signature = "(*, max_requests=100, time_window=1.0, burst_limit=None, clock=None, name=None)"
    )]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut cfg = RateLimiterConfig::default();
        let mut parsed = None;
        let mut existing = None;
        let mut clock: Option<Py<PyManualClock>> = None;
        let mut name: Option<Py<PyString>> = None;
        let mut r = Reader::new(py);
        for (k, v) in items(kwargs)? {
            let key = k.as_str();
            match key {
                "max_requests" => cfg.max_requests = r.uint("max_requests", key, &v),
                "time_window" => cfg.time_window = r.duration("time_window", key, &v),
                "burst_limit" => {
                    cfg.burst_limit = if v.is_none() {
                        None
                    } else {
                        Some(r.uint("burst_limit", key, &v))
                    }
                }
                "clock" if v.is_none() => {}
                "clock" => match v.cast::<PyManualClock>() {
                    Ok(c) => clock = Some(c.clone().unbind()),
                    Err(_) => r.early.push(PyConfigProblem {
                        path: None,
                        key: "clock".into(),
                        value: v.clone().unbind(),
                        allowed: "None (the system clock) or a breakwater.ManualClock".into(),
                    }),
                },
                "name" if v.is_none() => {}
                "name" => match v.cast::<PyString>() {
                    Ok(s) => name = Some(s.clone().unbind()),
                    Err(_) => r.early.push(PyConfigProblem {
                        path: None,
                        key: "name".into(),
                        value: v.clone().unbind(),
                        allowed: "a string".into(),
                    }),
                },
                "_parsed_config" => parsed = Some(v.cast::<_ParsedLimiter>()?.get().config),
                "_existing" => {
                    existing = v
                        .cast::<crate::registry::_Existing>()?
                        .get()
                        .limiter
                        .clone()
                }
                other => {
                    let hint = breakwater_core::config::did_you_mean(other, KEYS)
                        .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                    r.early.push(PyConfigProblem {
                        path: None,
                        key: other.into(),
                        value: v.clone().unbind(),
                        allowed: format!("one of the documented keywords{hint}"),
                    });
                }
            }
        }
        let cfg = parsed.unwrap_or(cfg);
        r.finish(move |sp| cfg.validate_spelled(sp))?;
        let name = name.unwrap_or_else(|| PyString::new(py, "rate_limiter").unbind());
        if let Some(inner) = existing {
            return Ok(Self { inner, clock, name });
        }
        // Made without a clock, the bucket runs on the clock of whoever uses it (its policy's,
        // or the system clock): it starts full at that clock's origin.
        let start = clock
            .as_ref()
            .map_or(0, |c| breakwater_core::Clock::now(&*c.get().inner));
        let inner = RateLimiter::new(cfg, start).map_err(|e| {
            config_error(
                py,
                e.0.iter()
                    .map(|e| PyConfigProblem::from_core(py, e))
                    .collect(),
            )
        })?;
        Ok(Self {
            inner: Arc::new(inner),
            clock,
            name,
        })
    }

    /// A RateLimiter from a config mapping in config-file spelling (`max_requests`,
    /// `time_window_ms` / `timeWindow`, `burst_limit`).
    #[classmethod]
    #[pyo3(signature = (config, /, *, clock = None, name = None))]
    fn from_config<'py>(
        cls: &Bound<'py, PyType>,
        config: &Bound<'py, PyAny>,
        clock: Option<&Bound<'py, PyAny>>,
        name: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let value = crate::json::to_json(config)
            .map_err(|msg| errors::config_error1(py, "(config)", config.clone().unbind(), &msg))?;
        let parsed = RateLimiterConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, config, &e))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item(
            "_parsed_config",
            Py::new(py, _ParsedLimiter { config: parsed })?,
        )?;
        kwargs.set_item("clock", clock)?;
        kwargs.set_item("name", name)?;
        cls.call((), Some(&kwargs))
    }

    /// Takes a token now, or raises `RateLimitedError` (with `retry_after` seconds).
    fn try_acquire(&self, py: Python<'_>) -> PyResult<()> {
        self.inner
            .try_acquire(self.clock_ref().now())
            .map_err(|l| self.limited(py, l.retry_after))
    }

    /// Reserves a token and returns the seconds to wait before using it (0.0 when one is
    /// there now); waits queue up behind each other. For asyncio:
    /// `await asyncio.sleep(limiter.reserve())`.
    fn reserve(&self) -> f64 {
        self.inner.reserve(self.clock_ref().now()).as_secs_f64()
    }

    /// Takes a token, waiting for it if needed (on a ManualClock: advancing it).
    fn acquire(&self, py: Python<'_>) -> PyResult<()> {
        let wait = self.inner.reserve(self.clock_ref().now());
        if wait.is_zero() {
            return Ok(());
        }
        match &self.clock {
            Some(c) => c.get().inner.advance(wait),
            None => {
                py.import(intern!(py, "time"))?
                    .call_method1(intern!(py, "sleep"), (wait.as_secs_f64(),))?;
            }
        }
        Ok(())
    }

    /// The settings, as keyword arguments (seconds).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.inner.config();
        let d = PyDict::new(py);
        d.set_item("max_requests", c.max_requests)?;
        d.set_item("time_window", c.time_window.as_secs_f64())?;
        d.set_item("burst_limit", c.burst_limit)?;
        Ok(d)
    }

    /// Whole tokens available now.
    #[getter]
    fn available(&self) -> u64 {
        self.inner.available(self.clock_ref().now())
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "RateLimiter(max_requests={}, time_window={}, burst_limit={})",
            c.max_requests,
            crate::fmt_secs(c.time_window.as_secs_f64()),
            c.burst_limit.map_or("None".to_string(), |b| b.to_string())
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        Ok(())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRateLimiter>()?;
    m.add_class::<_ParsedLimiter>()?;
    register_bulkhead(m)
}

// -- Bulkhead ---------------------------------------------------------------------------------

const BULKHEAD_KEYS: &[&str] = &["max_concurrent", "max_queue", "max_wait", "name"];

/// Who waits for which ticket: a callable that wakes the waiter (a `threading.Event.set`, or
/// an asyncio future resolved through its loop). A wake that comes before its waiter is
/// registered is kept as pending.
#[derive(Default)]
struct Waiters {
    wakers: HashMap<u64, Py<PyAny>>,
    pending: HashSet<u64>,
}

/// `bw.Bulkhead(max_concurrent=25, max_queue=0, max_wait=0.0, name=None)`: at most
/// `max_concurrent` calls of a `Policy` in flight; up to `max_queue` more wait (FIFO) at most
/// `max_wait` seconds for a slot; the rest get `BulkheadFullError`.
#[pyclass(frozen, module = "breakwater", name = "Bulkhead")]
pub struct PyBulkhead {
    pub inner: Arc<Bulkhead>,
    pub name: Py<PyString>,
    waiters: Mutex<Waiters>,
}

/// Carries a config parsed from a mapping into `__new__` (used by `from_config`).
#[pyclass(frozen, module = "breakwater._breakwater")]
pub struct _ParsedBulkhead {
    config: BulkheadConfig,
}

impl PyBulkhead {
    /// Registers the waker for `ticket`; `true` when it was already woken.
    pub fn register(&self, ticket: Ticket, waker: Py<PyAny>) -> bool {
        let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if w.pending.remove(&ticket.0) {
            return true;
        }
        w.wakers.insert(ticket.0, waker);
        false
    }

    pub fn unregister(&self, ticket: Ticket) {
        let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        w.wakers.remove(&ticket.0);
        w.pending.remove(&ticket.0);
    }

    /// Wakes the caller the core handed a slot to.
    pub fn wake(&self, py: Python<'_>, ticket: Ticket) {
        let waker = {
            let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            match w.wakers.remove(&ticket.0) {
                Some(k) => Some(k),
                None => {
                    w.pending.insert(ticket.0);
                    None
                }
            }
        };
        if let Some(k) = waker
            && let Err(e) = k.bind(py).call0()
        {
            crate::breaker::log_isolated(py, "bulkhead waker", k.bind(py), &e);
        }
    }

    pub fn full<'py>(
        &self,
        py: Python<'py>,
        last_error: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        errors::types(py)
            .bulkhead_full
            .bind(py)
            .call1((self.name.clone_ref(py), last_error))
    }
}

#[pymethods]
impl PyBulkhead {
    #[new]
    #[pyo3(
        signature = (**kwargs),
        text_signature = "(*, max_concurrent=25, max_queue=0, max_wait=0.0, name=None)"
    )]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut cfg = BulkheadConfig::default();
        let mut parsed = None;
        let mut existing = None;
        let mut name: Option<Py<PyString>> = None;
        let mut r = Reader::new(py);
        for (k, v) in items(kwargs)? {
            let key = k.as_str();
            match key {
                "max_concurrent" => cfg.max_concurrent = r.uint("max_concurrent", key, &v),
                "max_queue" => cfg.max_queue = r.uint("max_queue", key, &v),
                "max_wait" => cfg.max_wait = r.duration("max_wait", key, &v),
                "name" if v.is_none() => {}
                "name" => match v.cast::<PyString>() {
                    Ok(s) => name = Some(s.clone().unbind()),
                    Err(_) => r.early.push(PyConfigProblem {
                        path: None,
                        key: "name".into(),
                        value: v.clone().unbind(),
                        allowed: "a string".into(),
                    }),
                },
                "_parsed_config" => parsed = Some(v.cast::<_ParsedBulkhead>()?.get().config),
                "_existing" => {
                    existing = v
                        .cast::<crate::registry::_Existing>()?
                        .get()
                        .bulkhead
                        .clone()
                }
                other => {
                    let hint = breakwater_core::config::did_you_mean(other, BULKHEAD_KEYS)
                        .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                    r.early.push(PyConfigProblem {
                        path: None,
                        key: other.into(),
                        value: v.clone().unbind(),
                        allowed: format!("one of the documented keywords{hint}"),
                    });
                }
            }
        }
        let cfg = parsed.unwrap_or(cfg);
        r.finish(move |sp| cfg.validate_spelled(sp))?;
        let name = name.unwrap_or_else(|| PyString::new(py, "bulkhead").unbind());
        if let Some(inner) = existing {
            return Ok(Self {
                inner,
                name,
                waiters: Mutex::new(Waiters::default()),
            });
        }
        let inner = Bulkhead::new(cfg).map_err(|e| {
            config_error(
                py,
                e.0.iter()
                    .map(|e| PyConfigProblem::from_core(py, e))
                    .collect(),
            )
        })?;
        Ok(Self {
            inner: Arc::new(inner),
            name,
            waiters: Mutex::new(Waiters::default()),
        })
    }

    /// A Bulkhead from a config mapping in config-file spelling (`max_concurrent`,
    /// `max_queue`, `max_wait_ms` / `maxWait`...).
    #[classmethod]
    #[pyo3(signature = (config, /, *, name = None))]
    fn from_config<'py>(
        cls: &Bound<'py, PyType>,
        config: &Bound<'py, PyAny>,
        name: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let value = crate::json::to_json(config)
            .map_err(|msg| errors::config_error1(py, "(config)", config.clone().unbind(), &msg))?;
        let parsed = BulkheadConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, config, &e))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item(
            "_parsed_config",
            Py::new(py, _ParsedBulkhead { config: parsed })?,
        )?;
        kwargs.set_item("name", name)?;
        cls.call((), Some(&kwargs))
    }

    /// The settings, as keyword arguments (seconds).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.inner.config();
        let d = PyDict::new(py);
        d.set_item("max_concurrent", c.max_concurrent)?;
        d.set_item("max_queue", c.max_queue)?;
        d.set_item("max_wait", c.max_wait.as_secs_f64())?;
        Ok(d)
    }

    /// Calls in flight.
    #[getter]
    fn in_flight(&self) -> u32 {
        self.inner.load().0
    }

    /// Callers waiting for a slot.
    #[getter]
    fn queued(&self) -> u32 {
        self.inner.load().1
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "Bulkhead(max_concurrent={}, max_queue={}, max_wait={})",
            c.max_concurrent,
            c.max_queue,
            crate::fmt_secs(c.max_wait.as_secs_f64())
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        for k in w.wakers.values() {
            visit.call(k)?;
        }
        Ok(())
    }
}

pub fn register_bulkhead(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBulkhead>()?;
    m.add_class::<_ParsedBulkhead>()?;
    Ok(())
}
