//! `bw.ResponseCache`: the core's response cache (TTL, LRU, stale-if-error) holding Python
//! values under Python keys.
//!
//! Keys are compared by equality, never by a hash alone (contract section 6). The core keeps
//! integer ids; a Python dict maps each key to its id (so Python's own `==` decides which
//! entry a key names) and a second dict maps ids back to keys. Python `__eq__` / `__hash__`
//! therefore never run while the core's lock is held: a key class written in Python could
//! otherwise let the interpreter switch threads mid-comparison, and a second thread blocking on
//! the cache's lock with the GIL held would deadlock both. Every method runs with the GIL held;
//! values leave the core's lock before they are dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use breakwater_core::cache::{CacheConfig, Freshness, ResponseCache};
use breakwater_core::{ClockRef, ConfigErrors};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyType};
use pyo3::{IntoPyObjectExt, PyTraverseError, PyVisit, intern};

use crate::clock::PyManualClock;
use crate::config::{as_duration, as_int, items};
use crate::errors::{PyConfigProblem, config_error, config_error1};
use crate::records::record;

/// What a `put` displaced: the value it replaced, the key of the entry it evicted.
pub type Displaced<'py> = (Option<Py<PyAny>>, Option<Bound<'py, PyAny>>);

/// The id no key ever gets: a lookup for a key never stored asks the core for it, so the
/// miss is counted like any other.
const NO_ID: u64 = 0;

/// `bw.ResponseCache(ttl=300.0, max_entries=1000, stale_if_error=True, clock=None)`.
#[pyclass(frozen, weakref, module = "breakwater", name = "ResponseCache")]
pub struct PyResponseCache {
    pub core: ResponseCache<Py<PyAny>, u64>,
    /// key -> id
    ids: Py<PyDict>,
    /// id -> key
    keys: Py<PyDict>,
    next_id: AtomicU64,
    pub clock: Option<Py<PyManualClock>>,
}

pub fn clock_ref(clock: &Option<Py<PyManualClock>>) -> ClockRef {
    match clock {
        Some(c) => ClockRef::Manual(c.get().inner.clone()),
        None => crate::clock::system(),
    }
}

/// Whether two optional ManualClocks are the same clock (None: the system clock).
pub fn same_clock(a: &Option<Py<PyManualClock>>, b: &Option<Py<PyManualClock>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => std::sync::Arc::ptr_eq(&a.get().inner, &b.get().inner),
        _ => false,
    }
}

pub fn manual_clock_arg(
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

fn core_errors(py: Python<'_>, written: &[(String, Bound<'_, PyAny>)], e: &ConfigErrors) -> PyErr {
    config_error(
        py,
        e.0.iter()
            .map(|e| match written.iter().find(|(k, _)| *k == e.key) {
                Some((k, v)) => PyConfigProblem {
                    path: None,
                    key: k.clone(),
                    value: v.clone().unbind(),
                    allowed: e.allowed.clone(),
                },
                None => PyConfigProblem::from_core(py, e),
            })
            .collect(),
    )
}

/// Python keywords (seconds) over `base`; every problem named by its keyword.
fn config_from_kwargs(
    py: Python<'_>,
    base: CacheConfig,
    kwargs: &[(String, Bound<'_, PyAny>)],
) -> PyResult<CacheConfig> {
    let mut cfg = base;
    let mut early = Vec::new();
    let problem = |k: &str, v: &Bound<'_, PyAny>, allowed: &str| PyConfigProblem {
        path: None,
        key: k.into(),
        value: v.clone().unbind(),
        allowed: allowed.into(),
    };
    for (k, v) in kwargs {
        match k.as_str() {
            "ttl" => match as_duration(v) {
                Some(d) => cfg.ttl = d,
                None => early.push(problem(k, v, "a duration > 0 and <= 365 days (seconds)")),
            },
            "max_entries" => match as_int(v).and_then(|i| usize::try_from(i).ok()) {
                Some(n) => cfg.max_entries = n,
                None => early.push(problem(k, v, "an integer 1..=10000000")),
            },
            "stale_if_error" => match v.cast::<PyBool>() {
                Ok(b) => cfg.stale_if_error = b.is_true(),
                Err(_) => early.push(problem(k, v, "True or False")),
            },
            other => {
                let hint = breakwater_core::config::did_you_mean(
                    other,
                    &["ttl", "max_entries", "stale_if_error", "clock"],
                )
                .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                early.push(problem(
                    other,
                    v,
                    &format!("one of the documented keywords{hint}"),
                ));
            }
        }
    }
    if !early.is_empty() {
        return Err(config_error(py, early));
    }
    cfg.validate().map_err(|e| core_errors(py, kwargs, &e))?;
    Ok(cfg)
}

impl PyResponseCache {
    pub fn build(
        py: Python<'_>,
        config: CacheConfig,
        clock: Option<Py<PyManualClock>>,
    ) -> PyResult<Self> {
        let core =
            ResponseCache::new(config, clock_ref(&clock)).map_err(|e| core_errors(py, &[], &e))?;
        Ok(Self {
            core,
            ids: PyDict::new(py).unbind(),
            keys: PyDict::new(py).unbind(),
            next_id: AtomicU64::new(NO_ID + 1),
            clock,
        })
    }

    /// The id of `key` if it was stored (raises TypeError for an unhashable key).
    fn id_of(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        match self.ids.bind(py).get_item(key)? {
            Some(id) => Ok(Some(id.extract()?)),
            None => Ok(None),
        }
    }

    /// The id of `key`, assigning one when it has none.
    fn intern(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<u64> {
        if let Some(id) = self.id_of(py, key)? {
            return Ok(id);
        }
        let fresh = self.next_id.fetch_add(1, Ordering::Relaxed);
        // setdefault: another thread may have interned an equal key meanwhile.
        let got: u64 = self
            .ids
            .bind(py)
            .call_method1(intern!(py, "setdefault"), (key, fresh))?
            .extract()?;
        if got == fresh {
            self.keys.bind(py).set_item(fresh, key)?;
        }
        Ok(got)
    }

    /// Drops the key of an entry the core no longer holds; returns the key.
    fn forget<'py>(&self, py: Python<'py>, id: u64) -> Option<Bound<'py, PyAny>> {
        let keys = self.keys.bind(py);
        let key = keys.get_item(id).ok().flatten()?;
        let _ = keys.del_item(id);
        let ids = self.ids.bind(py);
        if let Ok(Some(cur)) = ids.get_item(&key)
            && cur.extract::<u64>().ok() == Some(id)
        {
            let _ = ids.del_item(&key);
        }
        Some(key)
    }

    fn key_of<'py>(&self, py: Python<'py>, id: u64) -> Option<Bound<'py, PyAny>> {
        self.keys.bind(py).get_item(id).ok().flatten()
    }

    /// Stores `value`; returns (the value it replaced, the key of the entry it evicted).
    pub fn store<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        value: Py<PyAny>,
        ttl: Option<Duration>,
    ) -> PyResult<Displaced<'py>> {
        let id = self.intern(py, key)?;
        let r = match ttl {
            Some(t) => self.core.put_with_ttl(id, value, t),
            None => self.core.put(id, value),
        };
        let evicted = r.evicted.and_then(|(eid, _v)| self.forget(py, eid));
        Ok((r.replaced, evicted))
    }

    /// What `serve` would give now, without serving it (pure).
    pub fn status_of(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Freshness>> {
        Ok(match self.id_of(py, key)? {
            Some(id) => self.core.status(&id),
            None => None,
        })
    }

    /// The live call failed: the fresh entry, or a stale one under stale-if-error.
    pub fn serve(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<(Py<PyAny>, Freshness)>> {
        let id = self.id_of(py, key)?.unwrap_or(NO_ID);
        Ok(self
            .core
            .on_error_with(&id, |v| v.clone_ref(py))
            .map(|h| (h.value, h.freshness)))
    }

    fn removed_keys<'py>(
        &self,
        py: Python<'py>,
        ids: Vec<(u64, Py<PyAny>)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for (id, value) in ids {
            if let Some(k) = self.forget(py, id) {
                out.append(k)?;
            }
            drop(value);
        }
        Ok(out)
    }
}

#[pymethods]
impl PyResponseCache {
    #[new]
    #[pyo3(
        signature = (**kwargs),
        text_signature = "(*, ttl=300.0, max_entries=1000, stale_if_error=True, clock=None)"
    )]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut all = items(kwargs)?;
        let clock = match all.iter().position(|(k, _)| k == "clock") {
            Some(i) => {
                let (_, c) = all.remove(i);
                manual_clock_arg(py, Some(&c))?
            }
            None => None,
        };
        let cfg = config_from_kwargs(py, CacheConfig::default(), &all)?;
        Self::build(py, cfg, clock)
    }

    /// A cache from a config mapping in config-file spelling (`ttl_ms`, `max_entries`,
    /// `stale_if_error`, or the camelCase `ttl` in ms, `maxEntries`, `staleIfError`).
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
        let cfg = CacheConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, config, &e))?;
        Self::build(py, cfg, clock)
    }

    /// Stores `value` under `key` (any hashable object), fresh for the cache's ttl or for
    /// `ttl` seconds (0: stored already expired, served only as stale-if-error). Returns what
    /// it displaced.
    #[pyo3(signature = (key, value, ttl = None))]
    fn put<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
        ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ttl = match ttl.filter(|t| !t.is_none()) {
            None => None,
            Some(t) => Some(as_duration(t).ok_or_else(|| {
                config_error1(
                    py,
                    "ttl",
                    t.clone().unbind(),
                    "None or a duration >= 0 (seconds)",
                )
            })?),
        };
        let (replaced, evicted) = self.store(py, key, value.clone().unbind(), ttl)?;
        record(
            py,
            "CachePut",
            vec![
                ("replaced", replaced.into_bound_py_any(py)?),
                ("evicted", evicted.into_bound_py_any(py)?),
            ],
        )
    }

    /// The fresh value under `key` (an expired entry is a miss here), else `default`.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = self.id_of(py, key)?.unwrap_or(NO_ID);
        Ok(match self.core.get_with(&id, |v| v.clone_ref(py)) {
            Some(v) => v.into_bound(py),
            None => default.unwrap_or_else(|| py.None().into_bound(py)),
        })
    }

    /// The live call failed: a `CacheHit` (the fresh value, or with stale_if_error an expired
    /// one marked stale), or None.
    fn on_error<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.serve(py, key)? {
            Some((v, f)) => record(
                py,
                "CacheHit",
                vec![
                    ("value", v.into_bound(py)),
                    (
                        "stale",
                        PyBool::new(py, f == Freshness::Stale).to_owned().into_any(),
                    ),
                ],
            ),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// What `on_error` would serve now: "fresh", "stale" or None. Pure: nothing is counted or
    /// marked used.
    fn status(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<&'static str>> {
        Ok(self.status_of(py, key)?.map(|f| f.as_str()))
    }

    /// Removes the entry for `key`; its value, or None.
    fn remove(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
        let Some(id) = self.id_of(py, key)? else {
            return Ok(None);
        };
        let v = self.core.remove(&id);
        self.forget(py, id);
        Ok(v)
    }

    /// Removes every entry (the counters stay); the keys, least recently used first.
    fn clear<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let removed = self.core.clear();
        self.removed_keys(py, removed)
    }

    /// Removes the expired entries; their keys, least recently used first.
    fn purge_expired<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let removed = self.core.purge_expired();
        self.removed_keys(py, removed)
    }

    /// The keys, least to most recently used.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for id in self.core.keys() {
            if let Some(k) = self.key_of(py, id) {
                out.append(k)?;
            }
        }
        Ok(out)
    }

    fn __len__(&self) -> usize {
        self.core.len()
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(match self.id_of(py, key)? {
            Some(id) => self.core.contains(&id),
            None => false,
        })
    }

    /// `CacheStats(entries, hits, stale_hits, misses, evictions)`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.core.stats();
        record(
            py,
            "CacheStats",
            vec![
                ("entries", s.entries.into_bound_py_any(py)?),
                ("hits", s.hits.into_bound_py_any(py)?),
                ("stale_hits", s.stale_hits.into_bound_py_any(py)?),
                ("misses", s.misses.into_bound_py_any(py)?),
                ("evictions", s.evictions.into_bound_py_any(py)?),
            ],
        )
    }

    /// Applies new settings over the current ones (keywords in seconds, or one mapping in
    /// config-file spelling); a smaller `max_entries` evicts now. Returns the evicted keys.
    #[pyo3(signature = (config = None, /, **kwargs))]
    fn configure<'py>(
        &self,
        py: Python<'py>,
        config: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let current = self.core.config();
        let next = match config.filter(|c| !c.is_none()) {
            Some(mapping) => {
                let value = crate::json::to_json(mapping)
                    .map_err(|msg| config_error1(py, "(config)", mapping.clone().unbind(), &msg))?;
                CacheConfig::from_json_over(&current, &value)
                    .map_err(|e| crate::breaker::mapping_errors(py, mapping, &e))?
            }
            None => config_from_kwargs(py, current, &items(kwargs)?)?,
        };
        let evicted = self
            .core
            .configure(next)
            .map_err(|e| core_errors(py, &[], &e))?;
        self.removed_keys(py, evicted)
    }

    /// `{"ttl": seconds, "max_entries": n, "stale_if_error": bool}`.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.core.config();
        let d = PyDict::new(py);
        d.set_item("ttl", c.ttl.as_secs_f64())?;
        d.set_item("max_entries", c.max_entries)?;
        d.set_item("stale_if_error", c.stale_if_error)?;
        Ok(d)
    }

    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        let c = self.core.config();
        format!(
            "<ResponseCache entries={} ttl={} max_entries={}>",
            self.core.len(),
            crate::fmt_secs(c.ttl.as_secs_f64()),
            c.max_entries
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.ids)?;
        visit.call(&self.keys)?;
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        Ok(())
    }
}
