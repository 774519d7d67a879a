//! `bw.Registry`: named components built from a config document (JSON or TOML, either
//! spelling, environment variables on top when asked), the same object for the same name, and
//! `bw.registry`, the process-wide one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use breakwater_core::document::{Document, apply_env};
use breakwater_core::limiter::{Bulkhead, RateLimiter};
use breakwater_core::registry::{Registry, RegistryBounds, default_registry};
use breakwater_core::retry::RetryPolicy;
use breakwater_core::{CircuitBreaker, ClockRef, ConfigErrors};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};
use pyo3::{PyTraverseError, PyVisit, intern};
use serde_json::Value;

use crate::breaker::PyCircuitBreaker;
use crate::clock::PyManualClock;
use crate::config::as_duration;
use crate::errors::{PyConfigProblem, config_error, config_error1};
use crate::limiter::{PyBulkhead, PyRateLimiter};
use crate::policy::PyRetry;

/// Hands an existing core object to a wrapper's `__new__` (the registry's components).
#[pyclass(frozen, module = "breakwater._breakwater")]
#[derive(Default)]
pub struct _Existing {
    pub breaker: Option<Arc<CircuitBreaker>>,
    pub retry: Option<Arc<RetryPolicy>>,
    pub limiter: Option<Arc<RateLimiter>>,
    pub bulkhead: Option<Arc<Bulkhead>>,
}

enum RegRef {
    Owned(Arc<Registry>),
    Global(&'static Registry),
}

impl std::ops::Deref for RegRef {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        match self {
            RegRef::Owned(r) => r,
            RegRef::Global(r) => r,
        }
    }
}

/// The Python wrappers handed out, so one name gives the same object while the core keeps the
/// component (an evicted or rebuilt one gets a new wrapper).
#[derive(Default)]
struct Wrappers {
    breakers: HashMap<String, Py<PyAny>>,
    retries: HashMap<String, Py<PyAny>>,
    limiters: HashMap<String, Py<PyAny>>,
    bulkheads: HashMap<String, Py<PyAny>>,
}

/// `bw.Registry(config=None, *, env=False, clock=None, max_size=None, idle_ttl=None)`: the
/// components of a config document by name. `Registry.from_file(path)` /
/// `Registry.from_dict(d)`; `reg.breaker("architect")`, `reg.retry(...)`,
/// `reg.rate_limiter(...)`, `reg.bulkhead(...)`, `reg.policy(...)`; `reg.reload(d)`.
#[pyclass(frozen, module = "breakwater", name = "Registry")]
pub struct PyRegistry {
    reg: RegRef,
    clock: Option<Py<PyManualClock>>,
    wrappers: Mutex<Wrappers>,
}

fn entropy() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

fn document_errors(py: Python<'_>, doc: Option<&Bound<'_, PyAny>>, e: &ConfigErrors) -> PyErr {
    match doc {
        Some(d) => crate::breaker::mapping_errors(py, d, e),
        None => config_error(
            py,
            e.0.iter()
                .map(|e| PyConfigProblem::from_core(py, e))
                .collect(),
        ),
    }
}

/// The document for a mapping (or none), with the environment applied when `env`.
fn document_of(py: Python<'_>, config: Option<&Bound<'_, PyAny>>, env: bool) -> PyResult<Document> {
    let mut value = match config {
        None => Value::Object(serde_json::Map::new()),
        Some(c) if c.is_none() => Value::Object(serde_json::Map::new()),
        Some(c) => crate::json::to_json(c)
            .map_err(|msg| config_error1(py, "(config)", c.clone().unbind(), &msg))?,
    };
    document_from_value(py, &mut value, config, env)
}

fn document_from_value(
    py: Python<'_>,
    value: &mut Value,
    config: Option<&Bound<'_, PyAny>>,
    env: bool,
) -> PyResult<Document> {
    if env {
        let items: Vec<(String, String)> = py
            .import(intern!(py, "os"))?
            .getattr(intern!(py, "environ"))?
            .call_method0(intern!(py, "items"))?
            .try_iter()?
            .map(|kv| kv.and_then(|kv| kv.extract::<(String, String)>()))
            .collect::<PyResult<_>>()?;
        apply_env(value, items.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| document_errors(py, None, &e))?;
    }
    Document::from_value(value).map_err(|e| document_errors(py, config, &e))
}

fn bounds_of(
    py: Python<'_>,
    max_size: Option<&Bound<'_, PyAny>>,
    idle_ttl: Option<&Bound<'_, PyAny>>,
) -> PyResult<RegistryBounds> {
    let mut b = RegistryBounds::default();
    if let Some(v) = max_size.filter(|v| !v.is_none()) {
        match crate::config::as_int(v).and_then(|i| usize::try_from(i).ok()) {
            Some(n) if n > 0 => b.max_size = Some(n),
            _ => {
                return Err(config_error1(
                    py,
                    "max_size",
                    v.clone().unbind(),
                    "None or an integer >= 1",
                ));
            }
        }
    }
    if let Some(v) = idle_ttl.filter(|v| !v.is_none()) {
        match as_duration(v) {
            Some(d) if !d.is_zero() => b.idle_ttl = Some(d),
            _ => {
                return Err(config_error1(
                    py,
                    "idle_ttl",
                    v.clone().unbind(),
                    "None or a duration > 0 (seconds)",
                ));
            }
        }
    }
    Ok(b)
}

fn clock_of(
    py: Python<'_>,
    clock: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Py<PyManualClock>>> {
    match clock.filter(|c| !c.is_none()) {
        None => Ok(None),
        Some(c) => match c.cast::<PyManualClock>() {
            Ok(m) => Ok(Some(m.clone().unbind())),
            Err(_) => Err(config_error1(
                py,
                "clock",
                c.clone().unbind(),
                "None (the system clock) or a breakwater.ManualClock",
            )),
        },
    }
}

impl PyRegistry {
    /// The core registry.
    pub fn core(&self) -> &Registry {
        &self.reg
    }

    fn build(
        py: Python<'_>,
        document: Document,
        clock: Option<Py<PyManualClock>>,
        bounds: RegistryBounds,
    ) -> Self {
        let clock_ref = match &clock {
            Some(c) => ClockRef::Manual(c.get().inner.clone()),
            None => crate::clock::system(),
        };
        let _ = py;
        Self {
            reg: RegRef::Owned(Arc::new(Registry::new(
                document,
                clock_ref,
                bounds,
                entropy(),
            ))),
            clock,
            wrappers: Mutex::new(Wrappers::default()),
        }
    }

    pub fn global(_py: Python<'_>) -> Self {
        Self {
            reg: RegRef::Global(default_registry(entropy())),
            clock: None,
            wrappers: Mutex::new(Wrappers::default()),
        }
    }

    fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        py.import(intern!(py, "breakwater"))?.getattr(name)
    }

    fn core_errors(py: Python<'_>, e: &ConfigErrors) -> PyErr {
        document_errors(py, None, e)
    }

    /// The cached wrapper of `name` when it still wraps `same`, else a new one from `make`.
    fn wrapper(
        &self,
        py: Python<'_>,
        pick: impl Fn(&mut Wrappers) -> &mut HashMap<String, Py<PyAny>>,
        name: &str,
        same: impl Fn(&Bound<'_, PyAny>) -> bool,
        make: impl FnOnce() -> PyResult<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        {
            let mut w = self.wrappers.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(cached) = pick(&mut w).get(name)
                && same(cached.bind(py))
            {
                return Ok(cached.clone_ref(py));
            }
        }
        let fresh = make()?;
        let mut w = self.wrappers.lock().unwrap_or_else(|e| e.into_inner());
        pick(&mut w).insert(name.to_string(), fresh.clone_ref(py));
        Ok(fresh)
    }

    fn existing<'py>(py: Python<'py>, e: _Existing) -> PyResult<Bound<'py, PyDict>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("_existing", Py::new(py, e)?)?;
        Ok(kwargs)
    }
}

#[pymethods]
impl PyRegistry {
    #[new]
    #[pyo3(signature = (config = None, *, env = false, clock = None, max_size = None, idle_ttl = None))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        env: bool,
        clock: Option<&Bound<'_, PyAny>>,
        max_size: Option<&Bound<'_, PyAny>>,
        idle_ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let clock = clock_of(py, clock)?;
        let bounds = bounds_of(py, max_size, idle_ttl)?;
        let doc = document_of(py, config, env)?;
        Ok(Self::build(py, doc, clock, bounds))
    }

    /// A registry from a document mapping (either spelling: `circuit_breakers` /
    /// `circuitBreakers`, `_ms` keys or the seeds' camelCase in ms).
    #[classmethod]
    #[pyo3(signature = (config, /, *, env = false, clock = None, max_size = None, idle_ttl = None))]
    fn from_dict<'py>(
        cls: &Bound<'py, PyType>,
        config: &Bound<'py, PyAny>,
        env: bool,
        clock: Option<&Bound<'py, PyAny>>,
        max_size: Option<&Bound<'py, PyAny>>,
        idle_ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        Self::new(cls.py(), Some(config), env, clock, max_size, idle_ttl)
    }

    /// A registry from a JSON or TOML file (TOML when the name ends in `.toml`).
    #[classmethod]
    #[pyo3(signature = (path, /, *, env = false, clock = None, max_size = None, idle_ttl = None))]
    fn from_file<'py>(
        cls: &Bound<'py, PyType>,
        path: &Bound<'py, PyAny>,
        env: bool,
        clock: Option<&Bound<'py, PyAny>>,
        max_size: Option<&Bound<'py, PyAny>>,
        idle_ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        let py = cls.py();
        let clock = clock_of(py, clock)?;
        let bounds = bounds_of(py, max_size, idle_ttl)?;
        let doc = read_file(py, path, env)?;
        Ok(Self::build(py, doc, clock, bounds))
    }

    /// The breaker named `name` (made from the document on first use; the same one after).
    fn breaker(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let core = self
            .reg
            .breaker(name)
            .map_err(|e| Self::core_errors(py, &e))?;
        let clock = self.clock.as_ref().map(|c| c.clone_ref(py));
        self.wrapper(
            py,
            |w| &mut w.breakers,
            name,
            |cached| {
                cached
                    .cast::<PyCircuitBreaker>()
                    .is_ok_and(|b| Arc::ptr_eq(&b.get().core, &core))
            },
            || {
                let kwargs = Self::existing(
                    py,
                    _Existing {
                        breaker: Some(core.clone()),
                        ..Default::default()
                    },
                )?;
                kwargs.set_item("clock", clock)?;
                Ok(Self::class(py, "CircuitBreaker")?
                    .call((name,), Some(&kwargs))?
                    .unbind())
            },
        )
    }

    /// The breaker named `name` when the registry holds one, else None.
    fn get_breaker(&self, py: Python<'_>, name: &str) -> PyResult<Option<Py<PyAny>>> {
        match self.reg.get_breaker(name) {
            Some(_) => self.breaker(py, name).map(Some),
            None => Ok(None),
        }
    }

    /// Forgets the breaker named `name`; False when there was none.
    fn remove_breaker(&self, name: &str) -> bool {
        let mut w = self.wrappers.lock().unwrap_or_else(|e| e.into_inner());
        w.breakers.remove(name);
        self.reg.remove_breaker(name)
    }

    /// The names of the breakers held, sorted.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.reg.breaker_names()
    }

    /// The retry policy named `name`.
    fn retry(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let core = self
            .reg
            .retry(name)
            .map_err(|e| Self::core_errors(py, &e))?;
        self.wrapper(
            py,
            |w| &mut w.retries,
            name,
            |cached| {
                cached
                    .cast::<PyRetry>()
                    .is_ok_and(|r| Arc::ptr_eq(&r.get().inner, &core))
            },
            || {
                let kwargs = Self::existing(
                    py,
                    _Existing {
                        retry: Some(core.clone()),
                        ..Default::default()
                    },
                )?;
                Ok(Self::class(py, "Retry")?.call((), Some(&kwargs))?.unbind())
            },
        )
    }

    /// The rate limiter named `name`.
    fn rate_limiter(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let core = self
            .reg
            .rate_limiter_with(name, Ok)
            .map_err(|e| Self::core_errors(py, &e))?;
        let clock = self.clock.as_ref().map(|c| c.clone_ref(py));
        self.wrapper(
            py,
            |w| &mut w.limiters,
            name,
            |cached| {
                cached
                    .cast::<PyRateLimiter>()
                    .is_ok_and(|r| Arc::ptr_eq(&r.get().inner, &core))
            },
            || {
                let kwargs = Self::existing(
                    py,
                    _Existing {
                        limiter: Some(core.clone()),
                        ..Default::default()
                    },
                )?;
                kwargs.set_item("clock", clock)?;
                kwargs.set_item("name", name)?;
                Ok(Self::class(py, "RateLimiter")?
                    .call((), Some(&kwargs))?
                    .unbind())
            },
        )
    }

    /// The bulkhead named `name`.
    fn bulkhead(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let core = self
            .reg
            .bulkhead_with(name, Ok)
            .map_err(|e| Self::core_errors(py, &e))?;
        self.wrapper(
            py,
            |w| &mut w.bulkheads,
            name,
            |cached| {
                cached
                    .cast::<PyBulkhead>()
                    .is_ok_and(|b| Arc::ptr_eq(&b.get().inner, &core))
            },
            || {
                let kwargs = Self::existing(
                    py,
                    _Existing {
                        bulkhead: Some(core.clone()),
                        ..Default::default()
                    },
                )?;
                kwargs.set_item("name", name)?;
                Ok(Self::class(py, "Bulkhead")?
                    .call((), Some(&kwargs))?
                    .unbind())
            },
        )
    }

    /// A policy for `name`: its breaker and retry policy, plus its rate limiter and bulkhead
    /// when the document has those sections.
    fn policy(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let doc = self.reg.document();
        let kwargs = PyDict::new(py);
        kwargs.set_item("breaker", self.breaker(py, name)?)?;
        if doc.retries.enabled {
            kwargs.set_item("retry", self.retry(py, name)?)?;
        }
        if doc.rate_limiters.present && doc.rate_limiters.enabled {
            kwargs.set_item("rate_limiter", self.rate_limiter(py, name)?)?;
        }
        if doc.bulkheads.present && doc.bulkheads.enabled {
            kwargs.set_item("bulkhead", self.bulkhead(py, name)?)?;
        }
        kwargs.set_item("name", name)?;
        Ok(Self::class(py, "Policy")?.call((), Some(&kwargs))?.unbind())
    }

    /// Applies a new document to every component, keeping breaker state; nothing changes when
    /// it is invalid (ConfigError).
    #[pyo3(signature = (config, /, *, env = false))]
    fn reload(&self, py: Python<'_>, config: &Bound<'_, PyAny>, env: bool) -> PyResult<()> {
        let doc = document_of(py, Some(config), env)?;
        self.reg
            .reload(doc)
            .map_err(|e| document_errors(py, Some(config), &e))
    }

    /// `reload` from a JSON or TOML file.
    #[pyo3(signature = (path, /, *, env = false))]
    fn reload_file(&self, py: Python<'_>, path: &Bound<'_, PyAny>, env: bool) -> PyResult<()> {
        let doc = read_file(py, path, env)?;
        self.reg.reload(doc).map_err(|e| Self::core_errors(py, &e))
    }

    /// The current document (for reading back what the registry builds from).
    #[getter]
    fn document(&self) -> crate::document::PyDocument {
        crate::document::PyDocument {
            doc: self.reg.document(),
        }
    }

    /// The ManualClock the registry's components run on, or None for the system clock.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        format!("<Registry breakers={:?}>", self.reg.breaker_names())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        let w = self.wrappers.lock().unwrap_or_else(|e| e.into_inner());
        for m in [&w.breakers, &w.retries, &w.limiters, &w.bulkheads] {
            for v in m.values() {
                visit.call(v)?;
            }
        }
        Ok(())
    }
}

fn read_file(py: Python<'_>, path: &Bound<'_, PyAny>, env: bool) -> PyResult<Document> {
    let fspath = py
        .import(intern!(py, "os"))?
        .call_method1(intern!(py, "fspath"), (path,))?;
    let p: String = fspath.extract()?;
    let text = std::fs::read_to_string(&p)
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot read {p}: {e}")))?;
    let mut value: Value = if p.ends_with(".toml") {
        toml::from_str(&text).map_err(|e| {
            config_error1(
                py,
                "(document)",
                PyString::new(py, &p).into_any().unbind(),
                &format!("a TOML document ({e})"),
            )
        })?
    } else {
        serde_json::from_str(&text).map_err(|e| {
            config_error1(
                py,
                "(document)",
                PyString::new(py, &p).into_any().unbind(),
                &format!("a JSON object ({e})"),
            )
        })?
    };
    document_from_value(py, &mut value, None, env)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRegistry>()?;
    m.add_class::<_Existing>()?;
    m.add("registry", Py::new(m.py(), PyRegistry::global(m.py()))?)?;
    Ok(())
}
