//! The native module `breakwater._breakwater`: the core's circuit breaker, clock, windows and
//! errors for Python. The public package `breakwater` re-exports it and adds the Python-only
//! ergonomics (decorators for coroutine functions, context managers, asyncio).

mod breaker;
mod cache;
mod classify;
mod clock;
mod config;
mod degradation;
mod document;
mod errors;
mod fastawait;
mod health;
mod json;
mod limiter;
mod observe;
mod policy;
mod records;
mod registry;

use pyo3::prelude::*;

/// Seconds for display: `60.0` stays `60.0`, `0.25` stays `0.25`.
pub(crate) fn fmt_secs(s: f64) -> String {
    let r = format!("{s}");
    if r.contains('.') || r.contains('e') || r.contains("inf") || r.contains("NaN") {
        r
    } else {
        format!("{r}.0")
    }
}

/// Wall time for parsing HTTP-date Retry-After values: the given ManualClock's, else the system's.
fn wall_ms(clock: Option<&Bound<'_, clock::PyManualClock>>) -> u64 {
    use breakwater_core::Clock;
    match clock {
        Some(c) => c.get().inner.wall_ms(),
        None => breakwater_core::ClockRef::system().wall_ms(),
    }
}

/// The core's classification of `error`, with a `classify=` hook's answer first (as a
/// breaker or policy with that hook would see it).
fn classification(
    error: &Bound<'_, PyAny>,
    clock: Option<&Bound<'_, clock::PyManualClock>>,
    hook: Option<&Bound<'_, PyAny>>,
) -> breakwater_core::Classification {
    let py = error.py();
    let hook = hook.filter(|h| !h.is_none()).map(|h| h.clone().unbind());
    let logged = std::sync::atomic::AtomicBool::new(false);
    let user = breaker::user_category(py, hook.as_ref(), &logged, error);
    classify::extract(error).classify(user, wall_ms(clock))
}

/// The category of an exception (contract section 4): the default classifier's, or a
/// `classify` hook's answer when it gives one.
#[pyfunction(name = "classify")]
#[pyo3(signature = (error, clock = None, *, classify = None))]
fn py_classify(
    error: &Bound<'_, PyAny>,
    clock: Option<&Bound<'_, clock::PyManualClock>>,
    classify: Option<&Bound<'_, PyAny>>,
) -> &'static str {
    classification(error, clock, classify).category.as_str()
}

/// Whether an exception means the request was certainly never sent (connection refused, DNS
/// failure): safe to retry even when the call is not idempotent.
#[pyfunction]
#[pyo3(signature = (error, clock = None, *, classify = None))]
fn not_sent(
    error: &Bound<'_, PyAny>,
    clock: Option<&Bound<'_, clock::PyManualClock>>,
    classify: Option<&Bound<'_, PyAny>>,
) -> bool {
    classification(error, clock, classify).not_sent
}

/// The server-requested wait an exception carries (`retry_after` attribute, `Retry-After` or
/// `retry-after-ms` header, on it or on its `.response`), in seconds; None when absent. An
/// HTTP-date is read against `clock`'s wall time (default: the system's).
#[pyfunction]
#[pyo3(signature = (error, clock = None))]
fn retry_after(
    error: &Bound<'_, PyAny>,
    clock: Option<&Bound<'_, clock::PyManualClock>>,
) -> Option<f64> {
    classify::classify_exception(error, wall_ms(clock))
        .retry_after
        .map(|d| d.as_secs_f64())
}

/// Panics inside the boundary, to test that a panic reaches Python as
/// `BreakwaterError(code="PANIC")`.
#[pyfunction]
fn _test_panic(py: Python<'_>) -> PyResult<()> {
    errors::boundary(py, || -> PyResult<()> { panic!("deliberate test panic") })
}

#[pymodule]
fn _breakwater(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    breaker::register(m)?;
    policy::register(m)?;
    limiter::register(m)?;
    registry::register(m)?;
    degradation::register(m)?;
    health::register(m)?;
    observe::register(m)?;
    fastawait::register(m)?;
    document::register(m)?;
    m.add_class::<clock::PyManualClock>()?;
    m.add_function(wrap_pyfunction!(py_classify, m)?)?;
    m.add_function(wrap_pyfunction!(not_sent, m)?)?;
    m.add_function(wrap_pyfunction!(retry_after, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)?;
    m.add(
        "CATEGORIES",
        breakwater_core::Category::ALL.map(|c| c.as_str()).to_vec(),
    )?;
    m.add(
        "STATES",
        breakwater_core::State::ALL.map(|s| s.as_str()).to_vec(),
    )?;
    m.add(
        "EVENTS",
        breakwater_core::EventKind::ALL.map(|k| k.as_str()).to_vec(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
