//! `Retry`, `RetryBudget` and `Policy`: the core's retry decisions and policy step machine,
//! driven from here. The sync loop runs natively (attempt, classify, report, sleep on the
//! clock); the asyncio loop lives in the Python layer and drives the same machine through a
//! `_PolicyRun`.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use breakwater_core::classify::Classification;
use breakwater_core::degradation::FallbackChoice;
use breakwater_core::limiter::Ticket;
use breakwater_core::policy::{
    AttemptOutcome, CallInfo as CoreCallInfo, FallbackInput, Policy, PolicyCall, PolicyParts, Step,
    Verdict,
};
use breakwater_core::retry::{BudgetConfig, Jitter, RetryBudget, RetryConfig, RetryPolicy};
use breakwater_core::{Category, CategorySet, ClockRef, ErrorCode, EventKind, ManualClock, State};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::breaker::{
    Guard, Guarded, PyCircuitBreaker, Subscription, event_kind, python_listener, result_failed,
    user_category,
};
use crate::classify;
use crate::clock::PyManualClock;
use crate::config::{Reader, as_duration, as_int, items};
use crate::degradation::{Acceptor, Host, PyFallback};
use crate::errors::{self, PyConfigProblem, config_error};
use crate::limiter::{PyBulkhead, PyRateLimiter};

fn entropy_seed() -> u64 {
    // std's RandomState is seeded from the OS once per process and varied per instance.
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

fn unknown_key(key: &str, v: &Bound<'_, PyAny>, known: &[&str]) -> PyConfigProblem {
    let hint = breakwater_core::config::did_you_mean(key, known)
        .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
    PyConfigProblem {
        path: None,
        key: key.to_string(),
        value: v.clone().unbind(),
        allowed: format!("one of the documented keywords{hint}"),
    }
}

// -- RetryBudget ------------------------------------------------------------------------------

/// `bw.RetryBudget(ratio=0.2, min_per_second=10, ttl=10.0)`: retries may be at most `ratio` of
/// first attempts plus `min_per_second`, over a sliding `ttl` seconds. Share one between
/// `Retry`s to cap their retries together.
#[pyclass(frozen, module = "breakwater", name = "RetryBudget")]
pub struct PyRetryBudget {
    pub inner: Arc<RetryBudget>,
}

#[pymethods]
impl PyRetryBudget {
    #[new]
    #[pyo3(signature = (ratio = None, min_per_second = None, ttl = None))]
    fn new(
        py: Python<'_>,
        ratio: Option<&Bound<'_, PyAny>>,
        min_per_second: Option<&Bound<'_, PyAny>>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut cfg = BudgetConfig::default();
        let mut r = Reader::new(py);
        if let Some(v) = ratio {
            cfg.ratio = r.rate("budget.ratio", "ratio", v);
        }
        if let Some(v) = min_per_second {
            cfg.min_per_second = r.uint("budget.min_per_second", "min_per_second", v);
        }
        if let Some(v) = ttl {
            cfg.ttl = r.duration("budget.ttl", "ttl", v);
        }
        let checked = cfg;
        r.finish(move |sp| checked.validate_spelled(sp))?;
        let inner = RetryBudget::new(cfg).map_err(|e| core_errors(py, &e))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    #[getter]
    fn ratio(&self) -> f64 {
        self.inner.config().ratio
    }
    #[getter]
    fn min_per_second(&self) -> u32 {
        self.inner.config().min_per_second
    }
    /// Seconds.
    #[getter]
    fn ttl(&self) -> f64 {
        self.inner.config().ttl.as_secs_f64()
    }
    fn __repr__(&self) -> String {
        format!(
            "RetryBudget(ratio={}, min_per_second={}, ttl={})",
            self.ratio(),
            self.min_per_second(),
            crate::fmt_secs(self.ttl())
        )
    }
}

fn core_errors(py: Python<'_>, e: &breakwater_core::ConfigErrors) -> PyErr {
    config_error(
        py,
        e.0.iter()
            .map(|e| PyConfigProblem::from_core(py, e))
            .collect(),
    )
}

// -- Retry ------------------------------------------------------------------------------------

const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "base_delay",
    "max_delay",
    "multiplier",
    "jitter",
    "jitter_factor",
    "max_elapsed",
    "retry_on",
    "max_retry_after",
    "idempotent",
    "seed",
    "budget",
];

/// `bw.Retry(max_attempts=3, base_delay=0.2, max_delay=8.0, multiplier=2.0, jitter="full", ...)`:
/// when and how long to wait before trying again (seconds). Use it in a `Policy`, or directly
/// as a decorator.
#[pyclass(frozen, subclass, weakref, module = "breakwater", name = "Retry")]
pub struct PyRetry {
    pub inner: Arc<RetryPolicy>,
    budget: Option<Py<PyRetryBudget>>,
}

fn retry_config(
    py: Python<'_>,
    kwargs: &[(String, Bound<'_, PyAny>)],
) -> PyResult<(RetryConfig, Option<Py<PyRetryBudget>>)> {
    let mut cfg = RetryConfig::default();
    let mut budget = None;
    let mut r = Reader::new(py);
    for (key, v) in kwargs {
        let k = key.as_str();
        match k {
            "max_attempts" => cfg.max_attempts = r.uint("max_attempts", k, v),
            "base_delay" => cfg.base_delay = r.duration("base_delay", k, v),
            "max_delay" => cfg.max_delay = r.duration("max_delay", k, v),
            "multiplier" => cfg.multiplier = r.rate("multiplier", k, v),
            "jitter_factor" => cfg.jitter_factor = r.rate("jitter_factor", k, v),
            "max_retry_after" => cfg.max_retry_after = r.duration("max_retry_after", k, v),
            "max_elapsed" => {
                cfg.max_elapsed = if v.is_none() {
                    None
                } else {
                    Some(r.duration("max_elapsed", k, v))
                }
            }
            "jitter" => match v
                .extract::<String>()
                .ok()
                .and_then(|s| s.parse::<Jitter>().ok())
            {
                Some(j) => cfg.jitter = j,
                None => r.early.push(PyConfigProblem {
                    path: None,
                    key: k.into(),
                    value: v.clone().unbind(),
                    allowed: "one of \"none\", \"full\", \"equal\", \"decorrelated\", \
                              \"proportional\""
                        .into(),
                }),
            },
            "idempotent" => match v.cast::<PyBool>() {
                Ok(b) => cfg.idempotent = b.is_true(),
                Err(_) => r.early.push(PyConfigProblem {
                    path: None,
                    key: k.into(),
                    value: v.clone().unbind(),
                    allowed: "True or False".into(),
                }),
            },
            "seed" => {
                if v.is_none() {
                    cfg.seed = None;
                } else {
                    match as_int(v).and_then(|i| u64::try_from(i).ok()) {
                        Some(s) => cfg.seed = Some(s),
                        None => r.early.push(PyConfigProblem {
                            path: None,
                            key: k.into(),
                            value: v.clone().unbind(),
                            allowed: "None or an integer 0..=2**64-1".into(),
                        }),
                    }
                }
            }
            "retry_on" => {
                let parsed: Option<CategorySet> = (|| {
                    if v.is_instance_of::<PyString>() {
                        return None; // a string is iterable, but not a set of categories
                    }
                    let mut set = CategorySet::EMPTY;
                    for item in v.try_iter().ok()? {
                        let c: Category = item.ok()?.extract::<String>().ok()?.parse().ok()?;
                        set.insert(c);
                    }
                    Some(set)
                })();
                match parsed {
                    Some(set) => cfg.retry_on = set,
                    None => r.early.push(PyConfigProblem {
                        path: None,
                        key: k.into(),
                        value: v.clone().unbind(),
                        allowed: format!(
                            "an iterable of categories ({})",
                            Category::ALL.map(|c| c.as_str()).join(", ")
                        ),
                    }),
                }
            }
            "budget" => {
                if v.is_none() {
                    budget = None;
                } else if let Ok(b) = v.cast::<PyRetryBudget>() {
                    budget = Some(b.clone().unbind());
                } else {
                    r.early.push(PyConfigProblem {
                        path: None,
                        key: k.into(),
                        value: v.clone().unbind(),
                        allowed: "None or a breakwater.RetryBudget".into(),
                    });
                }
            }
            other => r.early.push(unknown_key(other, v, RETRY_KEYS)),
        }
    }
    let checked = cfg.clone();
    r.finish(move |sp| checked.validate_spelled(sp))?;
    Ok((cfg, budget))
}

/// Carries a retry config parsed from a mapping into `__new__` (used by `from_config`).
#[pyclass(frozen, module = "breakwater._breakwater")]
pub struct _ParsedRetry {
    config: RetryConfig,
}

#[pymethods]
impl PyRetry {
    /// A Retry from a config mapping in config-file spelling (`base_delay_ms`, `maxAttempts`,
    /// `budget: {ratio, min_per_second, ttl_ms}`...), as in a `retry` section.
    #[classmethod]
    #[pyo3(signature = (config, /))]
    fn from_config<'py>(
        cls: &Bound<'py, pyo3::types::PyType>,
        config: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let value = crate::json::to_json(config)
            .map_err(|msg| errors::config_error1(py, "(config)", config.clone().unbind(), &msg))?;
        let parsed = RetryConfig::from_json(&value)
            .map_err(|e| crate::breaker::mapping_errors(py, config, &e))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item(
            "_parsed_config",
            Py::new(py, _ParsedRetry { config: parsed })?,
        )?;
        cls.call((), Some(&kwargs))
    }

    #[new]
    #[pyo3(
        signature = (**kwargs),
        text_signature = "(*, max_attempts=3, base_delay=0.2, max_delay=8.0, multiplier=2.0, jitter='full', jitter_factor=0.15, max_elapsed=None, retry_on=('network', 'timeout', 'rate_limited', 'server', 'database', 'external_api'), max_retry_after=60.0, idempotent=True, seed=None, budget=None)"
    )]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let all = items(kwargs)?;
        if let Some((_, v)) = all.iter().find(|(k, _)| k == "_existing")
            && let Some(inner) = v.cast::<crate::registry::_Existing>()?.get().retry.clone()
        {
            return Ok(Self {
                inner,
                budget: None,
            });
        }
        let (cfg, budget) = match all.iter().find(|(k, _)| k == "_parsed_config") {
            Some((_, v)) => (v.cast::<_ParsedRetry>()?.get().config.clone(), None),
            None => retry_config(py, &all)?,
        };
        let shared = budget.as_ref().map(|b| b.get().inner.clone());
        let inner =
            RetryPolicy::new(cfg, entropy_seed(), shared).map_err(|e| core_errors(py, &e))?;
        Ok(Self {
            inner: Arc::new(inner),
            budget,
        })
    }

    /// The settings, as keyword arguments (seconds).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.inner.config();
        let d = PyDict::new(py);
        d.set_item("max_attempts", c.max_attempts)?;
        d.set_item("base_delay", c.base_delay.as_secs_f64())?;
        d.set_item("max_delay", c.max_delay.as_secs_f64())?;
        d.set_item("multiplier", c.multiplier)?;
        d.set_item("jitter", c.jitter.as_str())?;
        d.set_item("jitter_factor", c.jitter_factor)?;
        d.set_item("max_elapsed", c.max_elapsed.map(|d| d.as_secs_f64()))?;
        let on: Vec<&str> = c.retry_on.iter().map(|c| c.as_str()).collect();
        d.set_item("retry_on", PyTuple::new(py, on)?)?;
        d.set_item("max_retry_after", c.max_retry_after.as_secs_f64())?;
        d.set_item("idempotent", c.idempotent)?;
        d.set_item("seed", c.seed)?;
        d.set_item("budget", self.budget.as_ref().map(|b| b.clone_ref(py)))?;
        Ok(d)
    }

    #[getter]
    fn budget(&self, py: Python<'_>) -> Option<Py<PyRetryBudget>> {
        self.budget.as_ref().map(|b| b.clone_ref(py))
    }

    /// Starts one call's retry state now (on `clock`, default the system clock): the low-level
    /// protocol under `call` and `Policy`. Ask `decide(error)` after each failed attempt.
    #[pyo3(signature = (clock = None))]
    fn begin(&self, py: Python<'_>, clock: Option<&Bound<'_, PyAny>>) -> PyResult<RetryCall> {
        let clock = crate::cache::manual_clock_arg(py, clock)?;
        let clock = crate::cache::clock_ref(&clock);
        let state = self.inner.begin(clock.now());
        Ok(RetryCall {
            policy: self.inner.clone(),
            state,
            clock,
        })
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "Retry(max_attempts={}, base_delay={}, max_delay={}, jitter={:?})",
            c.max_attempts,
            crate::fmt_secs(c.base_delay.as_secs_f64()),
            crate::fmt_secs(c.max_delay.as_secs_f64()),
            c.jitter.as_str()
        )
    }
}

/// One call's retry state (`Retry.begin()`): its own random stream, its attempts, when it
/// started. `decide(error)` after each failed attempt says whether to retry and after how long.
#[pyclass(module = "breakwater", name = "RetryCall")]
pub struct RetryCall {
    policy: Arc<RetryPolicy>,
    state: breakwater_core::RetryState,
    clock: ClockRef,
}

#[pymethods]
impl RetryCall {
    /// What follows the latest failed attempt: the exception it raised (classified like a
    /// guarded call's), or just its `category`. A `RetryDecision`; a "retry" counts the next
    /// attempt as started.
    #[pyo3(signature = (error = None, *, category = None))]
    fn decide<'py>(
        &mut self,
        py: Python<'py>,
        error: Option<&Bound<'py, PyAny>>,
        category: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let failure = match (error, category) {
            (_, Some(c)) => {
                let cat: Category = c.parse().map_err(|_| {
                    PyValueError::new_err(format!(
                        "unknown category {c:?}; one of: {}",
                        Category::ALL.map(|c| c.as_str()).join(", ")
                    ))
                })?;
                let mut f = match error {
                    Some(e) => classify::classify_exception(e, self.clock.wall_ms()),
                    None => Classification::of(cat),
                };
                f.category = cat;
                f
            }
            (Some(e), None) => classify::classify_exception(e, self.clock.wall_ms()),
            (None, None) => {
                return Err(PyValueError::new_err(
                    "decide() needs an error or a category",
                ));
            }
        };
        let d = self
            .policy
            .decide(&mut self.state, &failure, self.clock.now());
        match d {
            breakwater_core::Decision::Retry { delay, attempt } => {
                crate::records::rec!(py, "RetryDecision", {
                    decision: "retry",
                    delay: delay.as_secs_f64(),
                    attempt: attempt,
                })
            }
            breakwater_core::Decision::GiveUp(reason) => {
                crate::records::rec!(py, "RetryDecision", {
                    decision: "give_up",
                    reason: reason.as_str(),
                })
            }
        }
    }

    /// Attempts made so far, the current one included.
    #[getter]
    fn attempts(&self) -> u32 {
        self.state.attempts()
    }

    fn __repr__(&self) -> String {
        format!("<RetryCall attempts={}>", self.state.attempts())
    }
}

// -- Policy -----------------------------------------------------------------------------------

/// The events a Policy emits itself.
const POLICY_EVENTS: [EventKind; 3] = [EventKind::Retry, EventKind::GiveUp, EventKind::Fallback];

const POLICY_KEYS: &[&str] = &[
    "breaker",
    "retry",
    "rate_limiter",
    "bulkhead",
    "timeout",
    "fallback",
    "clock",
    "classify",
    "failure_if",
    "name",
];

/// `bw.Policy(breaker=None, retry=None, timeout=None, fallback=None, clock=None)`: the
/// pipeline, outermost first: fallback, retry, circuit breaker, timeout (per attempt, seconds;
/// enforced on coroutines only), the call.
#[pyclass(frozen, subclass, weakref, module = "breakwater", name = "Policy")]
pub struct PyPolicy {
    core: Arc<Policy>,
    name: Py<PyString>,
    breaker: Option<Py<PyCircuitBreaker>>,
    retry: Option<Py<PyRetry>>,
    rate_limiter: Option<Py<PyRateLimiter>>,
    bulkhead: Option<Py<PyBulkhead>>,
    /// The plain fallback function: `fallback=` itself, or a `Fallback`'s `fallback`.
    fallback: Option<Py<PyAny>>,
    /// A `bw.Fallback` (strategies chosen by its degradation manager, its response cache).
    fb: Option<Py<PyFallback>>,
    clock: Option<Py<PyManualClock>>,
    manual: Option<Arc<ManualClock>>,
    classify: Option<Py<PyAny>>,
    failure_if: Option<Py<PyAny>>,
    timeout: Option<f64>,
    hook_error_logged: AtomicBool,
}

/// What the last attempt left: its value or its error.
pub enum Last {
    Nothing,
    Value(Py<PyAny>),
    Error(PyErr),
}

/// One guarded call in progress.
pub struct Run {
    call: PolicyCall,
    step: Step,
    last: Last,
}

/// How a guarded call ended, for `call_with_info`.
pub struct CallOutcome {
    value: Py<PyAny>,
    info: CoreCallInfo,
}

impl CallOutcome {
    pub fn into_value(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        Ok(self.value.into_bound(py))
    }
}

/// Sets `error.__context__` to `during` (what Python does for an exception raised while
/// handling another), unless it already has one.
fn chain_context(py: Python<'_>, error: &PyErr, during: &PyErr) {
    let e = error.value(py);
    if e.getattr(intern!(py, "__context__"))
        .is_ok_and(|c| c.is_none())
    {
        let _ = e.setattr(intern!(py, "__context__"), during.value(py));
    }
}

impl PyPolicy {
    pub fn core(&self) -> &Arc<Policy> {
        &self.core
    }

    pub fn breaker_object(&self, py: Python<'_>) -> Option<Py<PyCircuitBreaker>> {
        self.breaker.as_ref().map(|b| b.clone_ref(py))
    }

    pub fn rate_limiter_object(&self, py: Python<'_>) -> Option<Py<PyRateLimiter>> {
        self.rate_limiter.as_ref().map(|b| b.clone_ref(py))
    }

    pub fn bulkhead_object(&self, py: Python<'_>) -> Option<Py<PyBulkhead>> {
        self.bulkhead.as_ref().map(|b| b.clone_ref(py))
    }

    fn attempt_failed(&self, py: Python<'_>, exc: &Bound<'_, PyAny>) -> AttemptOutcome {
        if !exc.is_instance_of::<PyException>() {
            return AttemptOutcome::Cancelled; // asyncio cancellation, KeyboardInterrupt...
        }
        let hook = self.classify.as_ref().or_else(|| {
            self.breaker
                .as_ref()
                .and_then(|b| b.get().classify.as_ref())
        });
        let user = user_category(py, hook, &self.hook_error_logged, exc);
        let facts = classify::extract(exc);
        AttemptOutcome::Failure(facts.classify(user, self.core.clock().wall_ms()))
    }

    fn attempt_returned(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> AttemptOutcome {
        let hook = self.failure_if.as_ref().or_else(|| {
            self.breaker
                .as_ref()
                .and_then(|b| b.get().failure_if.as_ref())
        });
        match result_failed(py, hook, &self.hook_error_logged, value) {
            Some(c) => AttemptOutcome::Failure(Classification::of(c)),
            None => AttemptOutcome::Success,
        }
    }

    pub fn start(&self) -> Run {
        let (call, step) = self.core.start();
        Run {
            call,
            step,
            last: Last::Nothing,
        }
    }

    fn on_value(&self, py: Python<'_>, run: &mut Run, value: Bound<'_, PyAny>) {
        let o = self.attempt_returned(py, &value);
        run.last = Last::Value(value.unbind());
        run.step = self.core.on_outcome(&mut run.call, o);
        self.pass_wake(py, run);
    }

    fn on_error(&self, py: Python<'_>, run: &mut Run, err: PyErr) {
        let o = self.attempt_failed(py, err.value(py).as_any());
        run.last = Last::Error(err);
        run.step = self.core.on_outcome(&mut run.call, o);
        self.pass_wake(py, run);
    }

    fn cancel(&self, py: Python<'_>, run: &mut Run, err: PyErr) {
        if let (Step::Wait { ticket, .. }, Some(b)) = (run.step, &self.bulkhead) {
            b.get().unregister(ticket);
        }
        run.last = Last::Error(err);
        run.step = self.core.cancel(&mut run.call);
        self.pass_wake(py, run);
    }

    /// The bulkhead slot this call gave up went to a queued call: wake it.
    fn pass_wake(&self, py: Python<'_>, run: &mut Run) {
        if let Some(t) = run.call.take_wake()
            && let Some(b) = &self.bulkhead
        {
            b.get().wake(py, t);
        }
    }

    /// The sync wait for a bulkhead slot: a `threading.Event` the slot's giver sets.
    fn wait_sync(&self, py: Python<'_>, run: &mut Run, ticket: Ticket, max_wait: Duration) {
        let Some(b) = &self.bulkhead else {
            run.step = self.core.after_wait(&mut run.call, false);
            return;
        };
        let b = b.get();
        let result = (|| -> PyResult<bool> {
            let event = py
                .import(intern!(py, "threading"))?
                .getattr(intern!(py, "Event"))?
                .call0()?;
            if b.register(ticket, event.getattr(intern!(py, "set"))?.unbind()) {
                return Ok(true);
            }
            event
                .call_method1(intern!(py, "wait"), (max_wait.as_secs_f64(),))?
                .is_truthy()
        })();
        match result {
            Ok(woken) => {
                b.unregister(ticket);
                run.step = self.core.after_wait(&mut run.call, woken);
            }
            Err(e) => self.cancel(py, run, e),
        }
    }

    /// What the verdict gives the caller: the value, or the error to raise.
    fn resolve(&self, py: Python<'_>, verdict: Verdict, last: &Last) -> PyResult<Py<PyAny>> {
        let last_error = match last {
            Last::Error(e) => Some(e.clone_ref(py)),
            _ => None,
        };
        match verdict {
            Verdict::Value | Verdict::UserError | Verdict::Cancelled => match last {
                Last::Value(v) => Ok(v.clone_ref(py)),
                Last::Error(e) => Err(e.clone_ref(py)),
                Last::Nothing => Ok(py.None()),
            },
            Verdict::RetryExhausted { attempts, reason } => {
                let t = errors::types(py).retry.bind(py);
                let exc = t.call1((format!(
                    "gave up after {attempts} attempt{}: {reason}",
                    if attempts == 1 { "" } else { "s" }
                ),))?;
                exc.setattr(intern!(py, "attempts"), attempts)?;
                exc.setattr(intern!(py, "reason"), reason.as_str())?;
                if let Some(e) = &last_error {
                    exc.setattr(intern!(py, "last_error"), e.value(py))?;
                    exc.setattr(intern!(py, "__cause__"), e.value(py))?;
                }
                Err(PyErr::from_value(exc))
            }
            Verdict::Rejected {
                code,
                state,
                retry_after,
                attempts,
            } => {
                let le = if attempts > 0 {
                    last_error.as_ref().map(|e| e.value(py).clone().into_any())
                } else {
                    None
                };
                let types = errors::types(py);
                let secs = retry_after.map(|d| d.as_secs_f64());
                let exc = match code {
                    ErrorCode::CircuitOpen => {
                        let component = match &self.breaker {
                            Some(b) => b.get().name.clone_ref(py),
                            None => self.name.clone_ref(py),
                        };
                        let rej = breakwater_core::Rejection {
                            state: state.unwrap_or(State::Open),
                            retry_after,
                        };
                        return Err(errors::circuit_open(
                            py,
                            component.bind(py).as_any(),
                            rej,
                            le.as_ref(),
                        ));
                    }
                    ErrorCode::RateLimited => {
                        let component = match &self.rate_limiter {
                            Some(l) => l.get().name.clone_ref(py),
                            None => self.name.clone_ref(py),
                        };
                        types
                            .rate_limited
                            .bind(py)
                            .call1((component, secs, le.clone()))?
                    }
                    _ => match &self.bulkhead {
                        Some(b) => b.get().full(py, le.as_ref())?,
                        None => types
                            .bulkhead_full
                            .bind(py)
                            .call1((self.name.clone_ref(py), le.clone()))?,
                    },
                };
                if let Some(le) = &le {
                    exc.setattr(intern!(py, "__cause__"), le)?;
                }
                Err(PyErr::from_value(exc))
            }
        }
    }

    fn sleep_sync(&self, py: Python<'_>, delay: Duration) -> PyResult<()> {
        match &self.manual {
            Some(clock) => {
                clock.advance(delay);
                Ok(())
            }
            None => {
                py.import(intern!(py, "time"))?
                    .call_method1(intern!(py, "sleep"), (delay.as_secs_f64(),))?;
                Ok(())
            }
        }
    }

    /// Runs the fallback on the error the pipeline ended with: the strategy the degradation
    /// manager chooses, else the plain fallback function, else the error.
    fn serve_fallback(
        &self,
        py: Python<'_>,
        verdict: Verdict,
        run: &Run,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<CallOutcome> {
        let err = match self.resolve(py, verdict, &run.last) {
            Ok(value) => {
                return Ok(CallOutcome {
                    value,
                    info: run.call.info(),
                });
            }
            Err(e) => e,
        };
        if let Some(fb) = &self.fb
            && let Some((value, choice)) =
                self.serve_strategy(py, fb.get(), &run.call, &err, func, args, kwargs)?
        {
            return Ok(CallOutcome {
                value,
                info: run.call.fallback_info(Some(&choice)),
            });
        }
        match &self.fallback {
            Some(fb) => match fb.bind(py).call1((err.value(py),)) {
                Ok(v) => Ok(CallOutcome {
                    value: v.unbind(),
                    info: run.call.fallback_info(None),
                }),
                Err(e) => {
                    chain_context(py, &e, &err);
                    Err(e)
                }
            },
            None => Err(err),
        }
    }

    /// Asks the degradation manager which strategy serves (with the cache's answer and the
    /// strategies' own predicates) and produces its value; None when none serves.
    #[allow(clippy::too_many_arguments)]
    fn serve_strategy(
        &self,
        py: Python<'_>,
        fb: &PyFallback,
        call: &PolicyCall,
        err: &PyErr,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Option<(Py<PyAny>, FallbackChoice)>> {
        let key = fb.key(py, self.name.bind(py), func, args, kwargs);
        let parts = fb.parts();
        let cached = match (&parts.cache, &key) {
            (Some(c), Some(k)) => c.get().status_of(py, k)?,
            _ => None,
        };
        let input = FallbackInput {
            cache_key: None,
            cached,
        };
        let host = Host {
            error: Some(err.value(py).clone().into_any()),
            args: Some(args.clone()),
            kwargs: kwargs.cloned(),
            key,
        };
        let mgr = parts.manager.get();
        let choice = {
            let impls = mgr.impls.bind(py);
            let mut acceptor = Acceptor::new(py, impls, &host);
            self.core
                .choose_fallback_with(call, &input, &mut |i, c| acceptor.accept(i, c))
        };
        let Some(choice) = choice else {
            return Ok(None);
        };
        let Some(ctx) = self.core.fallback_context(call, &input) else {
            return Ok(None);
        };
        match mgr.serve(py, &choice, &ctx, &host, parts.cache.as_ref()) {
            Ok(Some(v)) => Ok(Some((v.unbind(), choice))),
            Ok(None) => Ok(None),
            Err(e) => {
                chain_context(py, &e, err);
                Err(e)
            }
        }
    }

    /// A live value: remembered for `cached_response` when the Fallback has a cache.
    fn remember(
        &self,
        py: Python<'_>,
        value: &Py<PyAny>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) {
        if let Some(fb) = &self.fb {
            let fb = fb.get();
            if fb.parts().cache.is_some() {
                let key = fb.key(py, self.name.bind(py), func, args, kwargs);
                fb.remember(py, key.as_ref(), value);
            }
        }
    }

    /// The native sync loop.
    pub fn run_sync(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<CallOutcome> {
        errors::boundary(py, || self.run_sync_inner(py, func, args, kwargs))
    }

    fn run_sync_inner(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<CallOutcome> {
        let mut run = self.start();
        loop {
            match run.step {
                Step::Attempt { .. } => match func.call(args, kwargs) {
                    Ok(v) => self.on_value(py, &mut run, v),
                    Err(e) => self.on_error(py, &mut run, e),
                },
                Step::Sleep { delay } => match self.sleep_sync(py, delay) {
                    Ok(()) => run.step = self.core.after_sleep(&mut run.call),
                    Err(e) => self.cancel(py, &mut run, e),
                },
                Step::Wait { ticket, max_wait } => self.wait_sync(py, &mut run, ticket, max_wait),
                Step::Fallback(v) => {
                    let o = self.serve_fallback(py, v, &run, func, args, kwargs)?;
                    self.served(&run.call, &o.info);
                    return Ok(o);
                }
                Step::Done(v) => {
                    let value = self.resolve(py, v, &run.last)?;
                    if v == Verdict::Value {
                        self.remember(py, &value, func, args, kwargs);
                    }
                    return Ok(CallOutcome {
                        value,
                        info: run.call.info(),
                    });
                }
            }
        }
    }

    /// A fallback served the call (`info.from_fallback`): the policy's `fallback` event.
    fn served(&self, call: &PolicyCall, info: &CoreCallInfo) {
        if info.from_fallback {
            self.core.fallback_served(call, info.strategy.as_deref());
        }
    }

    fn info(&self, py: Python<'_>, o: CallOutcome) -> PyResult<Py<CallInfo>> {
        Py::new(
            py,
            CallInfo {
                value: o.value,
                info: o.info,
            },
        )
    }
}

fn policy_problem(key: &str, v: &Bound<'_, PyAny>, allowed: &str) -> PyConfigProblem {
    PyConfigProblem {
        path: None,
        key: key.into(),
        value: v.clone().unbind(),
        allowed: allowed.into(),
    }
}

#[pymethods]
impl PyPolicy {
    #[new]
    #[pyo3(
        signature = (**kwargs),
        text_signature = "(*, breaker=None, retry=None, rate_limiter=None, bulkhead=None, timeout=None, fallback=None, clock=None, classify=None, failure_if=None, name=None)"
    )]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut problems = Vec::new();
        let mut breaker: Option<Py<PyCircuitBreaker>> = None;
        let mut retry: Option<Py<PyRetry>> = None;
        let mut rate_limiter: Option<Py<PyRateLimiter>> = None;
        let mut bulkhead: Option<Py<PyBulkhead>> = None;
        let mut fallback = None;
        let mut fb: Option<Py<PyFallback>> = None;
        let mut clock: Option<Py<PyManualClock>> = None;
        let mut classify = None;
        let mut failure_if = None;
        let mut name: Option<Py<PyString>> = None;
        let mut timeout: Option<(f64, Duration, Py<PyAny>)> = None;
        for (k, v) in items(kwargs)? {
            if v.is_none() {
                if !POLICY_KEYS.contains(&k.as_str()) {
                    problems.push(unknown_key(&k, &v, POLICY_KEYS));
                }
                continue;
            }
            match k.as_str() {
                "breaker" => match v.cast::<PyCircuitBreaker>() {
                    Ok(b) => breaker = Some(b.clone().unbind()),
                    Err(_) => problems.push(policy_problem(&k, &v, "a breakwater.CircuitBreaker")),
                },
                "retry" => match v.cast::<PyRetry>() {
                    Ok(r) => retry = Some(r.clone().unbind()),
                    Err(_) => problems.push(policy_problem(&k, &v, "a breakwater.Retry")),
                },
                "bulkhead" => match v.cast::<PyBulkhead>() {
                    Ok(b) => bulkhead = Some(b.clone().unbind()),
                    Err(_) => problems.push(policy_problem(&k, &v, "a breakwater.Bulkhead")),
                },
                "rate_limiter" => match v.cast::<PyRateLimiter>() {
                    Ok(r) => rate_limiter = Some(r.clone().unbind()),
                    Err(_) => problems.push(policy_problem(&k, &v, "a breakwater.RateLimiter")),
                },
                "clock" => match v.cast::<PyManualClock>() {
                    Ok(c) => clock = Some(c.clone().unbind()),
                    Err(_) => problems.push(policy_problem(
                        &k,
                        &v,
                        "None (the parts' clock) or a breakwater.ManualClock",
                    )),
                },
                "timeout" => match as_duration(&v) {
                    Some(d) if !d.is_zero() => {
                        timeout = Some((d.as_secs_f64(), d, v.clone().unbind()))
                    }
                    _ => problems.push(policy_problem(&k, &v, "None or a duration > 0 (seconds)")),
                },
                "fallback" if v.is_instance_of::<PyFallback>() => {
                    let f = v.cast::<PyFallback>()?;
                    fallback = f.get().fallback.as_ref().map(|f| f.clone_ref(py));
                    fb = Some(f.clone().unbind());
                }
                "fallback" | "classify" | "failure_if" => {
                    if !v.is_callable() {
                        let allowed = if k == "fallback" {
                            "None, a callable or a breakwater.Fallback"
                        } else {
                            "None or a callable"
                        };
                        problems.push(policy_problem(&k, &v, allowed));
                    } else if k == "fallback" {
                        fallback = Some(v.clone().unbind());
                    } else if k == "classify" {
                        classify = Some(v.clone().unbind());
                    } else {
                        failure_if = Some(v.clone().unbind());
                    }
                }
                "name" => match v.cast::<PyString>() {
                    Ok(s) => name = Some(s.clone().unbind()),
                    Err(_) => problems.push(policy_problem(&k, &v, "a string")),
                },
                other => problems.push(unknown_key(other, &v, POLICY_KEYS)),
            }
        }
        // One clock for every part (contract section 7): the explicit one, else the first clock
        // a part was given. A breaker always has one (None: the system clock); a RateLimiter or
        // Fallback made without one takes the policy's (Retry and Bulkhead read the policy's
        // clock anyway). Only clocks that were given must match.
        let manual_of = |c: &Option<Py<PyManualClock>>| c.as_ref().map(|c| c.clone_ref(py));
        let breaker_clock = breaker.as_ref().map(|b| manual_of(&b.get().clock));
        let limiter_clock = rate_limiter
            .as_ref()
            .and_then(|l| manual_of(&l.get().clock))
            .map(Some);
        let fallback_clock = fb.as_ref().and_then(|f| f.get().fixed_clock(py));
        let chosen: Option<Py<PyManualClock>> = clock
            .as_ref()
            .map(|c| Some(c.clone_ref(py)))
            .or_else(|| breaker_clock.as_ref().map(&manual_of))
            .or_else(|| limiter_clock.as_ref().map(&manual_of))
            .or_else(|| fallback_clock.as_ref().map(&manual_of))
            .flatten();
        if let (Some(got), Some(l)) = (&limiter_clock, &rate_limiter)
            && !crate::cache::same_clock(&chosen, got)
        {
            problems.push(policy_problem(
                "rate_limiter",
                l.bind(py).as_any(),
                "a RateLimiter on the policy's clock (all parts must share one; a RateLimiter \
                 made without a clock takes the policy's)",
            ));
        }
        if let (Some(got), Some(f)) = (&fallback_clock, &fb)
            && !crate::cache::same_clock(&chosen, got)
        {
            problems.push(policy_problem(
                "fallback",
                f.bind(py).as_any(),
                "a Fallback on the policy's clock (pass the same clock= to bw.Fallback, or none: \
                 a Fallback made without a clock takes its first policy's)",
            ));
        }
        if !problems.is_empty() {
            return Err(config_error(py, problems));
        }
        let parts = PolicyParts {
            breaker: breaker.as_ref().map(|b| b.get().core.clone()),
            retry: retry.as_ref().map(|r| r.get().inner.clone()),
            rate_limiter: rate_limiter.as_ref().map(|l| l.get().inner.clone()),
            bulkhead: bulkhead.as_ref().map(|b| b.get().inner.clone()),
            timeout: timeout.as_ref().map(|t| t.1),
            fallback: fallback.is_some(),
            // The system clock is the binding's one (the same origin as its parts').
            clock: Some(chosen.as_ref().map_or_else(crate::clock::system, |c| {
                ClockRef::Manual(c.get().inner.clone())
            })),
        };
        let name = match name {
            Some(n) => n,
            None => match &breaker {
                Some(b) => b.get().name.clone_ref(py),
                None => PyString::new(py, "policy").unbind(),
            },
        };
        let core = Policy::new(&name.bind(py).to_string(), parts).map_err(|e| {
            let problems =
                e.0.iter()
                    .map(|e| match e.key.as_str() {
                        "clock" => PyConfigProblem {
                            path: None,
                            key: "clock".into(),
                            value: clock
                                .as_ref()
                                .map_or_else(|| py.None(), |c| c.clone_ref(py).into_any()),
                            allowed: e.allowed.clone(),
                        },
                        "timeout" => PyConfigProblem {
                            path: None,
                            key: "timeout".into(),
                            value: timeout
                                .as_ref()
                                .map_or_else(|| py.None(), |t| t.2.clone_ref(py)),
                            allowed: e.allowed.clone(),
                        },
                        _ => PyConfigProblem::from_core(py, e),
                    })
                    .collect();
            config_error(py, problems)
        })?;
        // A free Fallback takes the policy's clock now (its manager and cache are made on it).
        if let Some(f) = &fb
            && !f.get().adopt(py, &chosen)?
        {
            return Err(config_error(
                py,
                vec![policy_problem(
                    "fallback",
                    f.bind(py).as_any(),
                    "a Fallback on the policy's clock (pass the same clock= to bw.Fallback)",
                )],
            ));
        }
        let manual = chosen.as_ref().map(|c| c.get().inner.clone());
        let clock = chosen;
        let core = match &fb {
            None => core,
            Some(f) => core
                .with_degradation(f.get().parts().manager.get().core.clone())
                .map_err(|e| {
                    config_error(
                        py,
                        e.0.iter()
                            .map(|e| PyConfigProblem {
                                path: None,
                                key: "fallback".into(),
                                value: f.clone_ref(py).into_any(),
                                allowed: e.allowed.clone(),
                            })
                            .collect(),
                    )
                })?,
        };
        Ok(Self {
            core: Arc::new(core),
            name,
            breaker,
            retry,
            rate_limiter,
            bulkhead,
            fallback,
            fb,
            clock,
            manual,
            classify,
            failure_if,
            timeout: timeout.map(|t| t.0),
            hook_error_logged: AtomicBool::new(false),
        })
    }

    /// Calls `func(*args, **kwargs)` through the pipeline; sync (the timeout is not enforced on
    /// a sync call: a late result is returned as it is).
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_sync(py, func, args, kwargs)?.into_value(py)
    }

    /// Like `call`, but returns a `CallInfo` (value, from_fallback, strategy, reason, stale,
    /// attempts).
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn call_with_info<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Py<CallInfo>> {
        let o = self.run_sync(py, func, args, kwargs)?;
        self.info(py, o)
    }

    #[pyo3(signature = (func, /))]
    fn _wrap_sync(slf: &Bound<'_, Self>, func: &Bound<'_, PyAny>) -> Guarded {
        Guarded {
            guard: Guard::Policy(slf.clone().unbind()),
            func: func.clone().unbind(),
        }
    }

    /// Starts a call for the asyncio loop of the Python layer (`func`, `args`, `kwargs`: the
    /// call, for the response cache and the fallback strategies).
    #[pyo3(signature = (func = None, args = None, kwargs = None))]
    fn _start(
        slf: &Bound<'_, Self>,
        func: Option<Py<PyAny>>,
        args: Option<Py<PyTuple>>,
        kwargs: Option<Py<PyDict>>,
    ) -> PolicyRun {
        let p = slf.get();
        let call = if p.fb.is_some() {
            func.map(|f| (f, args, kwargs))
        } else {
            None
        };
        PolicyRun {
            policy: slf.clone().unbind(),
            run: p.start(),
            call,
            info: None,
        }
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }
    #[getter]
    fn breaker(&self, py: Python<'_>) -> Option<Py<PyCircuitBreaker>> {
        self.breaker.as_ref().map(|b| b.clone_ref(py))
    }
    #[getter]
    fn retry(&self, py: Python<'_>) -> Option<Py<PyRetry>> {
        self.retry.as_ref().map(|r| r.clone_ref(py))
    }
    #[getter]
    fn rate_limiter(&self, py: Python<'_>) -> Option<Py<PyRateLimiter>> {
        self.rate_limiter.as_ref().map(|l| l.clone_ref(py))
    }
    #[getter]
    fn bulkhead(&self, py: Python<'_>) -> Option<Py<PyBulkhead>> {
        self.bulkhead.as_ref().map(|b| b.clone_ref(py))
    }
    /// Seconds per attempt, or None.
    #[getter]
    fn timeout(&self) -> Option<f64> {
        self.timeout
    }
    /// The `Fallback` given as `fallback=`, or the fallback function.
    #[getter]
    fn fallback(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.fb {
            Some(f) => Some(f.clone_ref(py).into_any()),
            None => self.fallback.as_ref().map(|f| f.clone_ref(py)),
        }
    }
    /// The ManualClock the policy runs on (its own or its breaker's), or None.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|c| c.clone_ref(py))
    }

    /// The policy's counters: `attempts_total`, `retries_total`, `fallbacks_total` (calls
    /// whose error went to the fallback step), `results` (finished calls by verdict: value,
    /// user_error, retry_exhausted, rejected, cancelled), `rejections` (circuit_open,
    /// rate_limited, bulkhead_full) and `give_ups` (by give-up reason).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use breakwater_core::policy::{REJECTION_NAMES, RESULT_NAMES};
        let s = self.core.stats();
        let d = PyDict::new(py);
        d.set_item("attempts_total", s.attempts_total)?;
        d.set_item("retries_total", s.retries_total)?;
        d.set_item("fallbacks_total", s.fallbacks_total)?;
        let results = PyDict::new(py);
        for (name, n) in RESULT_NAMES.iter().zip(s.results) {
            results.set_item(*name, n)?;
        }
        d.set_item("results", results)?;
        let rejections = PyDict::new(py);
        for (name, n) in REJECTION_NAMES.iter().zip(s.rejections) {
            rejections.set_item(*name, n)?;
        }
        d.set_item("rejections", rejections)?;
        let give_ups = PyDict::new(py);
        for r in breakwater_core::GiveUpReason::ALL {
            give_ups.set_item(r.as_str(), s.give_ups[r as usize])?;
        }
        d.set_item("give_ups", give_ups)?;
        Ok(d)
    }

    /// Listens to the policy's own events (`retry`, `give_up`, `fallback`; `"*"` for all
    /// three); the breaker, rate limiter and degradation manager have their own `on`. Any other
    /// kind is a ValueError.
    fn on(&self, event: &str, callback: &Bound<'_, PyAny>) -> PyResult<Subscription> {
        let kind = event_kind(event).ok().and_then(|k| match k {
            None => Some(None),
            Some(k) if POLICY_EVENTS.contains(&k) => Some(Some(k)),
            Some(_) => None,
        });
        let Some(kind) = kind else {
            return Err(PyValueError::new_err(format!(
                "a Policy emits no {event:?} events; one of: \"*\", {}{}",
                POLICY_EVENTS
                    .map(|k| format!("{:?}", k.as_str()))
                    .join(", "),
                if event_kind(event).is_ok() {
                    " (listen on the part that emits it, e.g. policy.breaker.on)"
                } else {
                    ""
                }
            )));
        };
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
            "<Policy {:?} breaker={} retry={} timeout={:?} fallback={}>",
            self.name.bind(py).to_string(),
            self.breaker.is_some(),
            self.retry.is_some(),
            self.timeout,
            self.fallback.is_some() || self.fb.is_some()
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for o in [&self.fallback, &self.classify, &self.failure_if]
            .into_iter()
            .flatten()
        {
            visit.call(o)?;
        }
        if let Some(f) = &self.fb {
            visit.call(f)?;
        }
        if let Some(b) = &self.breaker {
            visit.call(b)?;
        }
        if let Some(r) = &self.retry {
            visit.call(r)?;
        }
        if let Some(l) = &self.rate_limiter {
            visit.call(l)?;
        }
        if let Some(b) = &self.bulkhead {
            visit.call(b)?;
        }
        if let Some(c) = &self.clock {
            visit.call(c)?;
        }
        Ok(())
    }
}

/// A guarded call's function and arguments.
type GuardedCall = (Py<PyAny>, Option<Py<PyTuple>>, Option<Py<PyDict>>);

/// One policy call driven step by step (the asyncio loop in `breakwater._policy`).
#[pyclass(module = "breakwater._breakwater", name = "_PolicyRun")]
pub struct PolicyRun {
    policy: Py<PyPolicy>,
    run: Run,
    /// The guarded call (kept only when the policy has a `Fallback`).
    call: Option<GuardedCall>,
    /// How the call ended, once a fallback step ran.
    info: Option<CoreCallInfo>,
}

impl PolicyRun {
    fn kind_of<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        match self.run.step {
            Step::Attempt { .. } => intern!(py, "attempt"),
            Step::Sleep { .. } => intern!(py, "sleep"),
            Step::Wait { .. } => intern!(py, "wait"),
            Step::Fallback(_) => intern!(py, "fallback"),
            Step::Done(_) => intern!(py, "done"),
        }
        .clone()
    }
}

#[pymethods]
impl PolicyRun {
    /// The next step's kind: "attempt", "sleep", "wait", "fallback" or "done".
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.kind_of(py)
    }

    /// At "attempt": the per-attempt timeout in seconds, or None.
    #[getter]
    fn timeout(&self) -> Option<f64> {
        match self.run.step {
            Step::Attempt { timeout, .. } => timeout.map(|t| t.as_secs_f64()),
            _ => None,
        }
    }

    /// At "sleep": the seconds to sleep (0 on a ManualClock, which `after_sleep` advances).
    #[getter]
    fn delay(&self) -> f64 {
        match self.run.step {
            Step::Sleep { delay } if self.policy.get().manual.is_none() => delay.as_secs_f64(),
            _ => 0.0,
        }
    }

    /// ("attempt", number, timeout seconds or None) | ("sleep", seconds, on a ManualClock) |
    /// ("fallback",) | ("done",)
    #[getter]
    fn step<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let p = self.policy.get();
        match self.run.step {
            Step::Attempt { attempt, timeout } => PyTuple::new(
                py,
                [
                    "attempt".into_pyobject(py)?.into_any(),
                    attempt.into_pyobject(py)?.into_any(),
                    timeout.map(|t| t.as_secs_f64()).into_pyobject(py)?,
                ],
            ),
            Step::Sleep { delay } => PyTuple::new(
                py,
                [
                    "sleep".into_pyobject(py)?.into_any(),
                    delay.as_secs_f64().into_pyobject(py)?.into_any(),
                    PyBool::new(py, p.manual.is_some()).to_owned().into_any(),
                ],
            ),
            Step::Wait { .. } => PyTuple::new(py, ["wait"]),
            Step::Fallback(_) => PyTuple::new(py, ["fallback"]),
            Step::Done(_) => PyTuple::new(py, ["done"]),
        }
    }

    /// The attempt returned `value`; returns the next step's kind.
    fn on_value<'py>(&mut self, py: Python<'py>, value: Bound<'py, PyAny>) -> Bound<'py, PyString> {
        let p = self.policy.get();
        p.on_value(py, &mut self.run, value);
        if let (Step::Done(Verdict::Value), Some((f, a, k)), Last::Value(v)) =
            (self.run.step, &self.call, &self.run.last)
        {
            let args = a
                .as_ref()
                .map_or_else(|| PyTuple::empty(py), |a| a.bind(py).clone());
            p.remember(py, v, f.bind(py), &args, k.as_ref().map(|k| k.bind(py)));
        }
        self.kind_of(py)
    }

    /// The attempt raised `error`; returns the next step's kind.
    fn on_error<'py>(&mut self, py: Python<'py>, error: Bound<'py, PyAny>) -> Bound<'py, PyString> {
        let p = self.policy.get();
        p.on_error(py, &mut self.run, PyErr::from_value(error));
        self.kind_of(py)
    }

    /// The sleep is over (on a ManualClock, advances it by the delay first); returns the next
    /// step's kind.
    fn after_sleep<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyString> {
        let p = self.policy.get();
        if let (Step::Sleep { delay }, Some(c)) = (self.run.step, &p.manual) {
            c.advance(delay);
        }
        self.run.step = p.core.after_sleep(&mut self.run.call);
        self.kind_of(py)
    }

    /// At "wait": registers `waker` (called, from any thread, when a slot is handed to this
    /// call); True when the slot was already handed over (no need to wait).
    fn wait_register(&self, waker: Py<PyAny>) -> bool {
        let p = self.policy.get();
        match (self.run.step, &p.bulkhead) {
            (Step::Wait { ticket, .. }, Some(b)) => b.get().register(ticket, waker),
            _ => true,
        }
    }

    /// At "wait": the seconds to wait at most.
    #[getter]
    fn max_wait(&self) -> f64 {
        match self.run.step {
            Step::Wait { max_wait, .. } => max_wait.as_secs_f64(),
            _ => 0.0,
        }
    }

    /// The wait is over (`woken`: a slot was handed over); returns the next step's kind.
    fn after_wait<'py>(&mut self, py: Python<'py>, woken: bool) -> Bound<'py, PyString> {
        let p = self.policy.get();
        if let (Step::Wait { ticket, .. }, Some(b)) = (self.run.step, &p.bulkhead) {
            b.get().unregister(ticket);
        }
        self.run.step = p.core.after_wait(&mut self.run.call, woken);
        self.kind_of(py)
    }

    /// The caller was cancelled (`error` is the cancellation): releases what is held; returns
    /// the next step's kind ("done").
    fn cancel<'py>(&mut self, py: Python<'py>, error: Bound<'py, PyAny>) -> Bound<'py, PyString> {
        let p = self.policy.get();
        p.cancel(py, &mut self.run, PyErr::from_value(error));
        self.kind_of(py)
    }

    /// At "done": the value, or raises the verdict's error.
    fn finish(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self.run.step {
            Step::Done(v) | Step::Fallback(v) => self.policy.get().resolve(py, v, &self.run.last),
            _ => Err(PyValueError::new_err("the call is not finished")),
        }
    }

    /// At "done": a CallInfo, or raises the verdict's error.
    fn finish_info(&self, py: Python<'_>) -> PyResult<Py<CallInfo>> {
        let p = self.policy.get();
        let Step::Done(v) = self.run.step else {
            return Err(PyValueError::new_err("the call is not finished"));
        };
        let value = p.resolve(py, v, &self.run.last)?;
        p.info(
            py,
            CallOutcome {
                value,
                info: self.run.call.info(),
            },
        )
    }

    /// At "fallback": runs the fallback (the chosen strategy, else the fallback function) and
    /// returns `(value, from_fallback)`; the value may be awaitable. Raises the verdict's error
    /// when nothing serves.
    fn fallback<'py>(&mut self, py: Python<'py>) -> PyResult<(Py<PyAny>, bool)> {
        let Step::Fallback(v) = self.run.step else {
            return Err(PyValueError::new_err("no fallback step"));
        };
        let p = self.policy.get();
        let none = py.None().into_bound(py);
        let (func, args, kwargs) = match &self.call {
            Some((f, a, k)) => (
                f.bind(py).clone(),
                a.as_ref()
                    .map_or_else(|| PyTuple::empty(py), |a| a.bind(py).clone()),
                k.as_ref().map(|k| k.bind(py).clone()),
            ),
            None => (none, PyTuple::empty(py), None),
        };
        let o = p.serve_fallback(py, v, &self.run, &func, &args, kwargs.as_ref())?;
        let from_fallback = o.info.from_fallback;
        self.info = Some(o.info);
        Ok((o.value, from_fallback))
    }

    /// The value of the fallback step was produced (awaited, when it was awaitable): emits the
    /// policy's `fallback` event when a fallback served the call.
    fn served(&self) {
        if let Some(info) = &self.info {
            self.policy.get().served(&self.run.call, info);
        }
    }

    /// A CallInfo for `value`, the result of the fallback step (or of the live call).
    fn info(&self, py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<CallInfo>> {
        self.policy.get().info(
            py,
            CallOutcome {
                value,
                info: self.info.clone().unwrap_or_else(|| self.run.call.info()),
            },
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.policy)?;
        if let Last::Value(v) = &self.run.last {
            visit.call(v)?;
        }
        if let Some((f, a, k)) = &self.call {
            visit.call(f)?;
            if let Some(a) = a {
                visit.call(a)?;
            }
            if let Some(k) = k {
                visit.call(k)?;
            }
        }
        Ok(())
    }
}

/// How a guarded call ended: `value`, whether a fallback served it (`from_fallback`),
/// which strategy (`strategy`, `kind`: None for a live value or a plain fallback function), why
/// (`reason`: the degradation trigger, `circuit_breaker_open`, `timeout`, `rate_limited` or
/// `error_rate`; None for a live value), whether a cached response was past its TTL (`stale`)
/// and the attempts made.
#[pyclass(frozen, module = "breakwater", name = "CallInfo")]
pub struct CallInfo {
    value: Py<PyAny>,
    info: CoreCallInfo,
}

#[pymethods]
impl CallInfo {
    #[getter]
    fn value(&self, py: Python<'_>) -> Py<PyAny> {
        self.value.clone_ref(py)
    }
    #[getter]
    #[allow(clippy::wrong_self_convention)] // the contract's field name
    fn from_fallback(&self) -> bool {
        self.info.from_fallback
    }
    #[getter]
    fn strategy(&self) -> Option<&str> {
        self.info.strategy.as_deref()
    }
    #[getter]
    fn kind(&self) -> Option<&'static str> {
        self.info.kind.map(|k| k.as_str())
    }
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        if self.info.from_fallback {
            self.info.reason.map(|t| t.as_str())
        } else {
            None
        }
    }
    #[getter]
    fn stale(&self) -> bool {
        self.info.stale
    }
    #[getter]
    fn attempts(&self) -> u32 {
        self.info.attempts
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let opt = |o: Option<&str>| o.map_or("None".to_string(), |s| format!("'{s}'"));
        let b = |x: bool| if x { "True" } else { "False" };
        Ok(format!(
            "CallInfo(value={}, from_fallback={}, strategy={}, kind={}, reason={}, stale={}, attempts={})",
            self.value.bind(py).repr()?,
            b(self.info.from_fallback),
            opt(self.strategy()),
            opt(self.kind()),
            opt(self.reason()),
            b(self.info.stale),
            self.info.attempts
        ))
    }
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.value)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRetryBudget>()?;
    m.add_class::<PyRetry>()?;
    m.add_class::<PyPolicy>()?;
    m.add_class::<PolicyRun>()?;
    m.add_class::<CallInfo>()?;
    m.add_class::<RetryCall>()?;
    m.add_class::<_ParsedRetry>()?;
    Ok(())
}
