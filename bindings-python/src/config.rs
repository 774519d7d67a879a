//! Python keyword arguments to core configs. Every range check is the core's
//! (`BreakerConfig::validate_spelled`); this module only converts units (float seconds to
//! `Duration`) and types, and names each problem by the Python keyword and the value as the
//! caller wrote it. A value that cannot even be converted (a string, a negative duration, an
//! int beyond `u32`) is replaced by one the core rejects, so the allowed range in the message
//! still comes from the core.

use std::time::Duration;

use breakwater_core::config::Spelling;
use breakwater_core::{BreakerConfig, ConfigErrors, RecoveryBackoff, WindowConfig};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyTuple};

use crate::errors::{PyConfigProblem, config_error};

/// Float seconds to a `Duration`, rounded to the nanosecond; `None` when not finite or < 0.
pub fn secs_to_duration(s: f64) -> Option<Duration> {
    if !s.is_finite() || s < 0.0 {
        return None;
    }
    let ns = (s * 1e9).round();
    if ns >= u64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(ns as u64))
}

/// A number as Python wrote it (int or float, never bool).
pub fn as_number(v: &Bound<'_, PyAny>) -> Option<f64> {
    if v.is_instance_of::<PyBool>() {
        return None;
    }
    if v.is_instance_of::<PyFloat>() || v.is_instance_of::<PyInt>() {
        return v.extract::<f64>().ok();
    }
    None
}

/// A Python int (or `__index__` object), never bool or float.
pub fn as_int(v: &Bound<'_, PyAny>) -> Option<i128> {
    if v.is_instance_of::<PyBool>() || v.is_instance_of::<PyFloat>() {
        return None;
    }
    v.extract::<i128>().ok()
}

/// Seconds as a Python caller wrote them.
pub fn as_duration(v: &Bound<'_, PyAny>) -> Option<Duration> {
    as_number(v).and_then(secs_to_duration)
}

/// Collects what the caller wrote, converts it, and maps the core's errors back.
pub(crate) struct Reader<'py> {
    py: Python<'py>,
    spelling: Spelling,
    /// (python key, value as written)
    written: Vec<(String, Py<PyAny>)>,
    /// Fields whose value could not be converted and was replaced by an invalid one.
    forced: Vec<(&'static str, String, &'static str)>,
    pub(crate) early: Vec<PyConfigProblem>,
}

impl<'py> Reader<'py> {
    pub(crate) fn new(py: Python<'py>) -> Self {
        Self {
            py,
            spelling: Spelling::default(),
            written: Vec::new(),
            forced: Vec::new(),
            early: Vec::new(),
        }
    }

    pub(crate) fn note(&mut self, field: &'static str, key: &str, v: &Bound<'py, PyAny>) {
        let repr = v.repr().map(|r| r.to_string()).unwrap_or_default();
        self.spelling.set(field, key, repr);
        if !self.written.iter().any(|(k, _)| k == key) {
            self.written.push((key.to_string(), v.clone().unbind()));
        }
    }

    pub(crate) fn force(&mut self, field: &'static str, key: &str, what: &'static str) {
        self.forced.push((field, key.to_string(), what));
    }

    pub(crate) fn uint(&mut self, field: &'static str, key: &str, v: &Bound<'py, PyAny>) -> u32 {
        self.note(field, key, v);
        match as_int(v).and_then(|i| u32::try_from(i).ok()) {
            Some(n) if n != u32::MAX => n,
            _ => {
                self.force(field, key, "an integer");
                u32::MAX // beyond every integer range the core allows
            }
        }
    }

    pub(crate) fn rate(&mut self, field: &'static str, key: &str, v: &Bound<'py, PyAny>) -> f64 {
        self.note(field, key, v);
        match as_number(v) {
            Some(x) => x,
            None => {
                self.force(field, key, "a number");
                f64::NAN
            }
        }
    }

    /// A duration that must be > 0: a bad one becomes zero, which the core rejects.
    pub(crate) fn duration(
        &mut self,
        field: &'static str,
        key: &str,
        v: &Bound<'py, PyAny>,
    ) -> Duration {
        self.note(field, key, v);
        match as_duration(v) {
            Some(d) => d,
            None => {
                self.force(field, key, "a number of seconds >= 0");
                Duration::ZERO
            }
        }
    }

    pub(crate) fn problem(
        &self,
        key: &str,
        fallback_value: &str,
        allowed: &str,
    ) -> PyConfigProblem {
        let value = self
            .written
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone_ref(self.py))
            .unwrap_or_else(|| {
                fallback_value
                    .into_pyobject(self.py)
                    .unwrap()
                    .into_any()
                    .unbind()
            });
        PyConfigProblem {
            path: None,
            key: key.to_string(),
            value,
            allowed: allowed.to_string(),
        }
    }

    /// Validates with the core and turns every problem into the caller's spelling.
    pub(crate) fn finish(
        self,
        check: impl FnOnce(&Spelling) -> Result<(), ConfigErrors>,
    ) -> PyResult<()> {
        let mut problems = self.early_clone();
        let mut seen: Vec<String> = Vec::new();
        if let Err(ConfigErrors(errs)) = check(&self.spelling) {
            for e in errs {
                // Two fields written under one keyword (recovery_backoff) report once each.
                // A field inside one keyword's value is spelled `keyword[field]`.
                let p = match e.key.split_once('[') {
                    Some((base, field)) => {
                        let field = field.trim_end_matches(']');
                        self.problem(base, &e.value, &format!("{field}: {}", e.allowed))
                    }
                    None => self.problem(&e.key, &e.value, &e.allowed),
                };
                seen.push(p.key.clone());
                problems.push(p);
            }
        }
        for (_, key, what) in &self.forced {
            let base = key.split_once('[').map_or(key.as_str(), |(b, _)| b);
            if !seen.iter().any(|k| k == base) {
                problems.push(self.problem(base, "", what));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(config_error(self.py, problems))
        }
    }

    fn early_clone(&self) -> Vec<PyConfigProblem> {
        self.early
            .iter()
            .map(|p| PyConfigProblem {
                path: None,
                key: p.key.clone(),
                value: p.value.clone_ref(self.py),
                allowed: p.allowed.clone(),
            })
            .collect()
    }
}

/// The keywords `CircuitBreaker(...)` and `configure(...)` accept for the breaker's config.
pub const BREAKER_KEYS: &[&str] = &[
    "failure_threshold",
    "failure_rate_threshold",
    "minimum_calls",
    "window",
    "slow_call_duration",
    "slow_call_rate_threshold",
    "recovery_timeout",
    "recovery_backoff",
    "half_open_max_calls",
    "success_threshold",
    "max_half_open",
];

/// Applies the breaker keywords in `kwargs` over `base`. Keys not in [`BREAKER_KEYS`] must have
/// been taken out by the caller (or are reported as unknown).
pub fn breaker_config(
    py: Python<'_>,
    base: &BreakerConfig,
    kwargs: &[(String, Bound<'_, PyAny>)],
    known_extra: &[&str],
) -> PyResult<BreakerConfig> {
    let mut cfg = base.clone();
    let mut r = Reader::new(py);
    for (key, v) in kwargs {
        let k = key.as_str();
        match k {
            "failure_threshold" => cfg.failure_threshold = r.uint("failure_threshold", k, v),
            "minimum_calls" => cfg.minimum_calls = r.uint("minimum_calls", k, v),
            "half_open_max_calls" => cfg.half_open_max_calls = r.uint("half_open_max_calls", k, v),
            "success_threshold" => cfg.success_threshold = r.uint("success_threshold", k, v),
            "failure_rate_threshold" => {
                cfg.failure_rate_threshold = r.rate("failure_rate_threshold", k, v)
            }
            "slow_call_rate_threshold" => {
                cfg.slow_call_rate_threshold = r.rate("slow_call_rate_threshold", k, v)
            }
            "recovery_timeout" => cfg.recovery_timeout = r.duration("recovery_timeout", k, v),
            "slow_call_duration" => {
                cfg.slow_call_duration = if v.is_none() {
                    None
                } else {
                    Some(r.duration("slow_call_duration", k, v))
                }
            }
            "max_half_open" => {
                cfg.max_half_open = if v.is_none() {
                    None
                } else {
                    Some(r.duration("max_half_open", k, v))
                }
            }
            "window" => {
                if let Ok(w) = v.cast::<PyCountWindow>() {
                    cfg.window = w.get().config;
                } else if let Ok(w) = v.cast::<PyTimeWindow>() {
                    cfg.window = w.get().config;
                } else if v.is_none() {
                    cfg.window = WindowConfig::default();
                } else {
                    r.early.push(PyConfigProblem {
                        path: None,
                        key: "window".into(),
                        value: v.clone().unbind(),
                        allowed: "breakwater.TimeWindow(...) or breakwater.CountWindow(...)".into(),
                    });
                }
            }
            "recovery_backoff" => {
                if v.is_none() {
                    cfg.recovery_backoff = None;
                    continue;
                }
                let pair: Option<(Bound<'_, PyAny>, Bound<'_, PyAny>)> =
                    if v.is_instance_of::<PyTuple>() || v.is_instance_of::<PyList>() {
                        v.extract().ok()
                    } else {
                        None
                    };
                match pair {
                    None => r.early.push(PyConfigProblem {
                        path: None,
                        key: "recovery_backoff".into(),
                        value: v.clone().unbind(),
                        allowed: "None or a (multiplier, max seconds) pair".into(),
                    }),
                    Some((m, mx)) => {
                        // Both fields are reported under the one keyword, with the whole pair.
                        r.written.push((k.to_string(), v.clone().unbind()));
                        const MUL: &str = "recovery_backoff[multiplier]";
                        const MAX: &str = "recovery_backoff[max]";
                        let multiplier = match as_number(&m) {
                            Some(x) => x,
                            None => {
                                r.force("recovery_backoff.multiplier", MUL, "a number");
                                f64::NAN
                            }
                        };
                        let max = match as_duration(&mx) {
                            Some(d) => d,
                            None => {
                                r.force("recovery_backoff.max", MAX, "a number of seconds");
                                Duration::ZERO
                            }
                        };
                        let repr = v.repr().map(|s| s.to_string()).unwrap_or_default();
                        r.spelling
                            .set("recovery_backoff.multiplier", MUL, repr.clone());
                        r.spelling.set("recovery_backoff.max", MAX, repr);
                        cfg.recovery_backoff = Some(RecoveryBackoff { multiplier, max });
                    }
                }
            }
            other => {
                if !known_extra.contains(&other) {
                    let mut known: Vec<&str> = BREAKER_KEYS.to_vec();
                    known.extend_from_slice(known_extra);
                    let hint = breakwater_core::config::did_you_mean(other, &known)
                        .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                    r.early.push(PyConfigProblem {
                        path: None,
                        key: other.to_string(),
                        value: v.clone().unbind(),
                        allowed: format!("one of the documented keywords{hint}"),
                    });
                }
            }
        }
    }
    let checked = cfg.clone();
    r.finish(move |sp| checked.validate_spelled(sp))?;
    Ok(cfg)
}

/// The items of an optional kwargs dict, in the order written.
pub fn items<'py>(
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mut out = Vec::new();
    if let Some(d) = kwargs {
        for (k, v) in d.iter() {
            out.push((k.extract::<String>()?, v));
        }
    }
    Ok(out)
}

/// `bw.CountWindow(size=100)`: the last `size` calls.
#[pyclass(frozen, eq, module = "breakwater", name = "CountWindow")]
#[derive(PartialEq)]
pub struct PyCountWindow {
    pub config: WindowConfig,
}

#[pymethods]
impl PyCountWindow {
    #[new]
    #[pyo3(signature = (size = None))]
    fn new(py: Python<'_>, size: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut r = Reader::new(py);
        let n = match size {
            Some(v) => r.uint("window.size", "size", v),
            None => 100,
        };
        let window = WindowConfig::Count { size: n };
        let cfg = BreakerConfig {
            window,
            ..BreakerConfig::default()
        };
        r.finish(move |sp| cfg.validate_spelled(sp))?;
        Ok(Self { config: window })
    }

    #[getter]
    fn size(&self) -> u32 {
        match self.config {
            WindowConfig::Count { size } => size,
            WindowConfig::Time { .. } => 0,
        }
    }

    fn __repr__(&self) -> String {
        format!("CountWindow({})", self.size())
    }
}

/// `bw.TimeWindow(duration=60.0, buckets=10)`: the calls of the last `duration` seconds.
#[pyclass(frozen, eq, module = "breakwater", name = "TimeWindow")]
#[derive(PartialEq)]
pub struct PyTimeWindow {
    pub config: WindowConfig,
}

#[pymethods]
impl PyTimeWindow {
    #[new]
    #[pyo3(signature = (duration = None, buckets = None))]
    fn new(
        py: Python<'_>,
        duration: Option<&Bound<'_, PyAny>>,
        buckets: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut r = Reader::new(py);
        let d = match duration {
            Some(v) => r.duration("window.duration", "duration", v),
            None => Duration::from_secs(60),
        };
        let b = match buckets {
            Some(v) => r.uint("window.buckets", "buckets", v),
            None => 10,
        };
        let window = WindowConfig::Time {
            duration: d,
            buckets: b,
        };
        let cfg = BreakerConfig {
            window,
            ..BreakerConfig::default()
        };
        r.finish(move |sp| cfg.validate_spelled(sp))?;
        Ok(Self { config: window })
    }

    #[getter]
    fn duration(&self) -> f64 {
        match self.config {
            WindowConfig::Time { duration, .. } => duration.as_secs_f64(),
            WindowConfig::Count { .. } => 0.0,
        }
    }

    #[getter]
    fn buckets(&self) -> u32 {
        match self.config {
            WindowConfig::Time { buckets, .. } => buckets,
            WindowConfig::Count { .. } => 0,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "TimeWindow({}, buckets={})",
            crate::fmt_secs(self.duration()),
            self.buckets()
        )
    }
}

/// The Python object for a core window config.
pub fn window_object(py: Python<'_>, w: WindowConfig) -> PyResult<Py<PyAny>> {
    Ok(match w {
        WindowConfig::Count { .. } => Py::new(py, PyCountWindow { config: w })?.into_any(),
        WindowConfig::Time { .. } => Py::new(py, PyTimeWindow { config: w })?.into_any(),
    })
}
