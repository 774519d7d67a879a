//! The exception hierarchy (contract section 3), defined in `errors.py` (compiled in) and built
//! once at import. Every class derives from `BreakwaterError` and carries a `code` class
//! attribute; `ConfigError` is also a `ValueError` and `TimeoutError` also the builtin
//! `TimeoutError`. This file raises them.

use std::time::Duration;

use std::ffi::CString;

use breakwater_core::{ConfigError as CoreConfigError, Rejection, State};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString, PyTuple, PyType};

pub struct ErrorTypes {
    pub base: Py<PyType>,
    pub circuit_open: Py<PyType>,
    pub rate_limited: Py<PyType>,
    pub bulkhead_full: Py<PyType>,
    pub timeout: Py<PyType>,
    pub retry: Py<PyType>,
    pub config: Py<PyType>,
}

static TYPES: PyOnceLock<ErrorTypes> = PyOnceLock::new();

const SOURCE: &str = include_str!("errors.py");

fn init(py: Python<'_>) -> PyResult<ErrorTypes> {
    let code = CString::new(SOURCE).expect("no NUL in errors.py");
    let m = PyModule::from_code(py, &code, c"breakwater/_errors.py", c"breakwater._errors")?;
    let get = |name: &str| -> PyResult<Py<PyType>> {
        Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
    };
    Ok(ErrorTypes {
        base: get("BreakwaterError")?,
        circuit_open: get("CircuitOpenError")?,
        rate_limited: get("RateLimitedError")?,
        bulkhead_full: get("BulkheadFullError")?,
        timeout: get("TimeoutError")?,
        retry: get("RetryError")?,
        config: get("ConfigError")?,
    })
}

pub fn types(py: Python<'_>) -> &ErrorTypes {
    TYPES
        .get_or_try_init(py, || init(py))
        .expect("creating breakwater's exception classes cannot fail")
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let t = TYPES.get_or_try_init(py, || init(py))?;
    m.add("BreakwaterError", t.base.bind(py))?;
    m.add("CircuitOpenError", t.circuit_open.bind(py))?;
    m.add("RateLimitedError", t.rate_limited.bind(py))?;
    m.add("BulkheadFullError", t.bulkhead_full.bind(py))?;
    m.add("TimeoutError", t.timeout.bind(py))?;
    m.add("RetryError", t.retry.bind(py))?;
    m.add("ConfigError", t.config.bind(py))?;
    Ok(())
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The breaker's rejection as a `CircuitOpenError`.
pub fn circuit_open(
    py: Python<'_>,
    component: &Bound<'_, PyAny>,
    rejection: Rejection,
    last_error: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    match build_circuit_open(py, component, rejection, last_error) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

fn build_circuit_open<'py>(
    py: Python<'py>,
    component: &Bound<'py, PyAny>,
    rejection: Rejection,
    last_error: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let state = state_name(py, rejection.state);
    let retry_after = rejection.retry_after.map(secs);
    let cls = types(py).circuit_open.bind(py);
    let exc = match last_error {
        None => cls.call1((component, state, retry_after))?,
        Some(le) => {
            let exc = cls.call1((component, state, retry_after, le))?;
            exc.setattr(intern!(py, "__cause__"), le)?;
            exc
        }
    };
    Ok(exc)
}

/// The state names as interned Python strings (no allocation per rejection).
fn state_name<'py>(py: Python<'py>, s: State) -> &'py Bound<'py, PyString> {
    match s {
        State::Open => intern!(py, "open"),
        State::HalfOpen => intern!(py, "half_open"),
        State::ForcedOpen => intern!(py, "forced_open"),
        State::Closed => intern!(py, "closed"),
        State::Disabled => intern!(py, "disabled"),
        State::MetricsOnly => intern!(py, "metrics_only"),
    }
}

/// One config problem as the Python caller wrote it.
pub struct PyConfigProblem {
    /// Where the key is in a whole config document; None: the key itself.
    pub path: Option<String>,
    pub key: String,
    pub value: Py<PyAny>,
    pub allowed: String,
}

impl PyConfigProblem {
    /// Where the key is in a whole document (the key itself outside one).
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.key)
    }

    pub fn from_core(py: Python<'_>, e: &CoreConfigError) -> Self {
        Self {
            path: Some(e.path.clone()),
            key: e.key.clone(),
            value: e
                .value
                .clone()
                .into_pyobject(py)
                .unwrap()
                .into_any()
                .unbind(),
            allowed: e.allowed.clone(),
        }
    }
}

/// A `ConfigError` for every problem found; the attributes name the first.
pub fn config_error(py: Python<'_>, problems: Vec<PyConfigProblem>) -> PyErr {
    match build_config_error(py, problems) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

fn build_config_error(
    py: Python<'_>,
    problems: Vec<PyConfigProblem>,
) -> PyResult<Bound<'_, PyAny>> {
    let mut msg = String::from("invalid config: ");
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            msg.push_str("; ");
        }
        let v = p
            .value
            .bind(py)
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_default();
        msg.push_str(&format!("{} = {} (allowed: {})", p.path(), v, p.allowed));
    }
    let exc = types(py).config.bind(py).call1((msg,))?;
    let all = PyList::empty(py);
    let paths = PyList::empty(py);
    for p in &problems {
        all.append((p.key.as_str(), p.value.bind(py), p.allowed.as_str()))?;
        paths.append(p.path())?;
    }
    if let Some(first) = problems.first() {
        exc.setattr(intern!(py, "key"), first.key.as_str())?;
        exc.setattr(intern!(py, "path"), first.path())?;
        exc.setattr(intern!(py, "value"), first.value.bind(py))?;
        exc.setattr(intern!(py, "allowed"), first.allowed.as_str())?;
    }
    exc.setattr(intern!(py, "errors"), PyTuple::new(py, all.iter())?)?;
    exc.setattr(intern!(py, "paths"), PyTuple::new(py, paths.iter())?)?;
    Ok(exc)
}

/// A `ConfigError` for one problem.
pub fn config_error1(py: Python<'_>, key: &str, value: Py<PyAny>, allowed: &str) -> PyErr {
    config_error(
        py,
        vec![PyConfigProblem {
            path: None,
            key: key.to_string(),
            value,
            allowed: allowed.to_string(),
        }],
    )
}

/// A `BreakwaterError` with code `PANIC`, for a Rust panic caught at the boundary.
pub fn panic_error(py: Python<'_>, what: &str) -> PyErr {
    let t = types(py).base.bind(py);
    match t.call1((format!("internal error in breakwater (a bug): {what}"),)) {
        Ok(e) => {
            let _ = e.setattr(intern!(py, "code"), "PANIC");
            PyErr::from_value(e)
        }
        Err(e) => e,
    }
}

/// A `BreakwaterError` with code `INVALID_ARGUMENT` (e.g. a report for a check never
/// registered).
pub fn invalid_argument(py: Python<'_>, what: &str) -> PyErr {
    let t = types(py).base.bind(py);
    match t.call1((what.to_string(),)) {
        Ok(e) => {
            let _ = e.setattr(intern!(py, "code"), "INVALID_ARGUMENT");
            PyErr::from_value(e)
        }
        Err(e) => e,
    }
}

/// Runs `f`, turning a Rust panic into `BreakwaterError(code="PANIC")` instead of PyO3's
/// `PanicException` (contract section 3). Free when nothing panics.
#[inline]
pub fn boundary<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            Err(panic_error(py, &what))
        }
    }
}
