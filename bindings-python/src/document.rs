//! `bw.Document`: a config document as the core read it, for reading back. Configs come back
//! in canonical config-file spelling (snake_case keys, durations in integer ms with `_ms`),
//! exactly what the other languages read back; the sections the core does not parse itself
//! (degradation rules, health checks, SLOs) come back as written.

use std::sync::Arc;

use breakwater_core::config_keys::{
    breaker_values, bulkhead_values, monitor_values, rate_limiter_values, retry_values,
};
use breakwater_core::document::{Document, Section, apply_env};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyType};

use crate::errors::config_error1;
use crate::health::json_to_py;

/// A parsed config document (JSON or TOML, either spelling). `Document.from_dict(d)` /
/// `Document.from_file(path)`, or `registry.document`.
#[pyclass(frozen, module = "breakwater", name = "Document")]
pub struct PyDocument {
    pub doc: Arc<Document>,
}

fn env_pairs(py: Python<'_>, env: &Bound<'_, PyAny>) -> PyResult<Option<Vec<(String, String)>>> {
    if env.is_none() {
        return Ok(None);
    }
    if let Ok(b) = env.extract::<bool>() {
        if !b {
            return Ok(None);
        }
        let items = py.import("os")?.getattr("environ")?.call_method0("items")?;
        return Ok(Some(
            items
                .try_iter()?
                .map(|kv| kv.and_then(|kv| kv.extract::<(String, String)>()))
                .collect::<PyResult<_>>()?,
        ));
    }
    let m = env.cast::<PyMapping>().map_err(|_| {
        PyValueError::new_err("env is a bool or a mapping of variable names to strings")
    })?;
    Ok(Some(
        m.items()?
            .iter()
            .map(|kv| kv.extract::<(String, String)>())
            .collect::<PyResult<_>>()?,
    ))
}

fn parse(
    py: Python<'_>,
    mut value: serde_json::Value,
    written: Option<&Bound<'_, PyAny>>,
    env: &Bound<'_, PyAny>,
) -> PyResult<PyDocument> {
    if let Some(vars) = env_pairs(py, env)? {
        apply_env(
            &mut value,
            vars.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .map_err(|e| {
            crate::errors::config_error(
                py,
                e.0.iter()
                    .map(|e| crate::errors::PyConfigProblem::from_core(py, e))
                    .collect(),
            )
        })?;
    }
    let doc = Document::from_value(&value).map_err(|e| match written {
        Some(w) => crate::breaker::mapping_errors(py, w, &e),
        None => crate::errors::config_error(
            py,
            e.0.iter()
                .map(|e| crate::errors::PyConfigProblem::from_core(py, e))
                .collect(),
        ),
    })?;
    Ok(PyDocument { doc: Arc::new(doc) })
}

/// (enabled, overrides) of a section, by its snake_case name.
fn flags(doc: &Document, section: &str) -> PyResult<(bool, Vec<String>)> {
    fn of<T>(s: &Section<T>) -> (bool, Vec<String>) {
        (s.enabled, s.per_name.keys().cloned().collect())
    }
    Ok(match section {
        "circuit_breakers" => of(&doc.breakers),
        "retry" => of(&doc.retries),
        "rate_limiters" => of(&doc.rate_limiters),
        "bulkheads" => of(&doc.bulkheads),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown section {other:?}; one of circuit_breakers, retry, rate_limiters, bulkheads"
            )));
        }
    })
}

fn values_dict<'py>(
    py: Python<'py>,
    m: serde_json::Map<String, serde_json::Value>,
) -> PyResult<Bound<'py, PyAny>> {
    json_to_py(py, &serde_json::Value::Object(m))
}

#[pymethods]
impl PyDocument {
    /// A document from a mapping (either spelling). `env`: True applies the process
    /// environment's `CIRCUIT_BREAKER_*`-style variables on top, a mapping applies those.
    #[classmethod]
    #[pyo3(signature = (config, /, *, env = None))]
    fn from_dict(
        cls: &Bound<'_, PyType>,
        config: &Bound<'_, PyAny>,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = cls.py();
        let value = crate::json::to_json(config)
            .map_err(|msg| config_error1(py, "(config)", config.clone().unbind(), &msg))?;
        let none = py.None().into_bound(py);
        parse(py, value, Some(config), env.unwrap_or(&none))
    }

    /// A document from a JSON or TOML file (TOML when the name ends in `.toml`).
    #[classmethod]
    #[pyo3(signature = (path, /, *, env = None))]
    fn from_file(
        cls: &Bound<'_, PyType>,
        path: &Bound<'_, PyAny>,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let py = cls.py();
        let p: String = py
            .import("os")?
            .call_method1("fspath", (path,))?
            .extract()?;
        let text = std::fs::read_to_string(&p)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot read {p}: {e}")))?;
        let value: serde_json::Value = if p.ends_with(".toml") {
            toml::from_str(&text).map_err(|e| {
                config_error1(
                    py,
                    "(document)",
                    p.clone().into_pyobject(py).unwrap().into_any().unbind(),
                    &format!("a TOML document ({e})"),
                )
            })?
        } else {
            serde_json::from_str(&text).map_err(|e| {
                config_error1(
                    py,
                    "(document)",
                    p.clone().into_pyobject(py).unwrap().into_any().unbind(),
                    &format!("a JSON object ({e})"),
                )
            })?
        };
        let none = py.None().into_bound(py);
        parse(py, value, None, env.unwrap_or(&none))
    }

    /// This document with environment variables (a mapping of names to strings) applied on
    /// top of it as written.
    fn with_env(&self, py: Python<'_>, env: &Bound<'_, PyAny>) -> PyResult<Self> {
        parse(py, self.doc.raw.clone(), None, env)
    }

    /// The breaker config for `name` (its `agent_specific` override, else the defaults), in
    /// canonical file spelling.
    #[pyo3(signature = (name = None))]
    fn breaker_config<'py>(
        &self,
        py: Python<'py>,
        name: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = &self.doc.breakers;
        values_dict(
            py,
            breaker_values(&name.map_or_else(|| s.defaults.clone(), |n| s.config_for(n))),
        )
    }

    #[pyo3(signature = (name = None))]
    fn retry_config<'py>(
        &self,
        py: Python<'py>,
        name: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = &self.doc.retries;
        values_dict(
            py,
            retry_values(&name.map_or_else(|| s.defaults.clone(), |n| s.config_for(n))),
        )
    }

    #[pyo3(signature = (name = None))]
    fn rate_limiter_config<'py>(
        &self,
        py: Python<'py>,
        name: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = &self.doc.rate_limiters;
        values_dict(
            py,
            rate_limiter_values(&name.map_or(s.defaults, |n| s.config_for(n))),
        )
    }

    #[pyo3(signature = (name = None))]
    fn bulkhead_config<'py>(
        &self,
        py: Python<'py>,
        name: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = &self.doc.bulkheads;
        values_dict(
            py,
            bulkhead_values(&name.map_or(s.defaults, |n| s.config_for(n))),
        )
    }

    /// Whether a section (`circuit_breakers`, `retry`, `rate_limiters`, `bulkheads`) is
    /// enabled (`enabled: false` makes its components pass-throughs).
    fn enabled(&self, section: &str) -> PyResult<bool> {
        Ok(flags(&self.doc, section)?.0)
    }

    /// The names with an `agent_specific` entry in a section, sorted.
    fn overrides(&self, section: &str) -> PyResult<Vec<String>> {
        Ok(flags(&self.doc, section)?.1)
    }

    /// The monitoring settings, in canonical file spelling.
    #[getter]
    fn monitoring<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        values_dict(py, monitor_values(&self.doc.monitoring))
    }

    /// A section the components read themselves, as written (whatever its spelling), or None:
    /// `degradation_rules`, `degradation`, `health_checks`, `slo`.
    fn section<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let d = &self.doc;
        let v = match name {
            "degradation_rules" => &d.degradation_rules,
            "degradation" => &d.degradation,
            "health_checks" => &d.health_checks,
            "slo" => &d.slo,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown section {other:?}; one of degradation_rules, degradation, health_checks, slo"
                )));
            }
        };
        match v {
            Some(v) => json_to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// The document as written (environment variables applied).
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.doc.raw)
    }

    fn __repr__(&self) -> String {
        let keys: Vec<String> = self
            .doc
            .raw
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        format!("<Document sections={keys:?}>")
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDocument>()
}
