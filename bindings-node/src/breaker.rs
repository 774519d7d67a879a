//! `CircuitBreaker`: the core breaker behind a permit slab, so a permit crosses the boundary as
//! one number (a token) instead of an object.
//!
//! A guarded call is two native calls: `acquire()` (a token >= 0, or a negative number that
//! encodes the rejection) and one of `recordSuccess` / `recordFailure` / `recordIgnored` /
//! `release`. Events are collected into a queue by a core listener that exists only while JS
//! listens to that kind; the JS layer drains it with `takeEvents()` after each operation, so
//! listeners run synchronously, after the core lock is released, like an EventEmitter.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use breakwater_core::breaker::{BreakerConfig, CircuitBreaker, Outcome, Permit, State};
use breakwater_core::{Category, ClockRef, ConfigErrors, ErrorCode};
use napi_derive::napi;
use serde_json::Value;

use crate::clock::NativeManualClock;
use crate::events::{EventQueue, NativeEvent};
use crate::fast::{DONE, Fast, bound_function};
use crate::slab::Slab;
use crate::status::{Result, error, guard};

/// One config problem, as the core reports it (the JS layer maps it to a `ConfigError`):
/// `key` as written relative to its component's config, `path` where it is in a whole document
/// (equal to `key` outside one).
#[napi(object)]
pub struct NativeConfigError {
    pub key: String,
    pub value: String,
    pub allowed: String,
    pub path: String,
}

pub(crate) fn config_errors(e: ConfigErrors) -> Vec<NativeConfigError> {
    e.0.into_iter()
        .map(|e| NativeConfigError {
            key: e.key,
            value: e.value,
            allowed: e.allowed,
            path: e.path,
        })
        .collect()
}

pub(crate) fn parse_json(json: &str) -> std::result::Result<Value, Vec<NativeConfigError>> {
    serde_json::from_str(json).map_err(|e| {
        vec![NativeConfigError {
            key: "(options)".into(),
            value: json.into(),
            allowed: format!("a JSON-serialisable options object ({e})"),
            path: "(options)".into(),
        }]
    })
}

/// A `CONFIG_INVALID` error listing every problem.
pub(crate) fn invalid(errs: Vec<NativeConfigError>) -> napi::Error<crate::status::Code> {
    let msg = errs
        .iter()
        .map(|e| format!("{} = {} (allowed: {})", e.path, e.value, e.allowed))
        .collect::<Vec<_>>()
        .join("; ");
    error(ErrorCode::ConfigInvalid, format!("invalid config: {msg}"))
}

/// Parses breaker options (config-document spelling, already JSON) and returns every problem;
/// empty when valid.
#[napi]
pub fn check_breaker_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => BreakerConfig::from_json(&v)
            .err()
            .map(config_errors)
            .unwrap_or_default(),
    }
}

/// A snapshot; durations in ms.
#[napi(object)]
pub struct NativeSnapshot {
    pub state: String,
    pub state_since: f64,
    pub calls: f64,
    pub failures: f64,
    pub slow_calls: f64,
    pub failure_rate: f64,
    pub slow_call_rate: f64,
    pub consecutive_failures: f64,
    pub consecutive_successes: f64,
    pub calls_total: f64,
    pub successes_total: f64,
    pub failures_total: f64,
    pub ignored_total: f64,
    pub rejected_total: f64,
    pub times_opened: f64,
    pub last_failure_category: Option<String>,
    pub retry_after: Option<f64>,
}

fn category(index: u32) -> Result<Category> {
    u8::try_from(index)
        .ok()
        .and_then(Category::from_index)
        .ok_or_else(|| error(ErrorCode::InvalidArgument, format!("no category {index}")))
}

/// The native circuit breaker (wrapped by the JS `CircuitBreaker`).
#[napi]
pub struct NativeCircuitBreaker {
    pub(crate) core: Arc<CircuitBreaker>,
    fast: Rc<FastBreaker>,
    events: EventQueue,
}

/// The per-call state the fast path reaches by handle.
struct FastBreaker {
    core: Arc<CircuitBreaker>,
    permits: RefCell<Slab<Permit>>,
}

impl FastBreaker {
    fn acquire(&self) -> Result<f64> {
        match self.core.try_acquire() {
            Ok(p) => self.permits.borrow_mut().insert(p),
            Err(r) => Ok(match (r.state, r.retry_after) {
                (State::Open, Some(d)) => -(3.0 + d.as_secs_f64() * 1000.0),
                (State::HalfOpen, _) => -2.0,
                _ => -1.0,
            }),
        }
    }

    fn finish(&self, token: f64, outcome: Option<Outcome>) -> Result<()> {
        let permit = self.permits.borrow_mut().take(token)?;
        match outcome {
            Some(o) => self.core.record(permit, o),
            None => self.core.release(permit),
        }
        Ok(())
    }
}

/// Fast ops: 0 acquire, 1 success(token), 2 failure(token, category), 3 release(token),
/// 4 state. Records answer `undefined`; NaN: use the slow path (it throws the right error).
impl Fast for FastBreaker {
    fn call(&self, op: u32, a: f64, b: f64, _c: f64) -> f64 {
        let done = |r: Result<()>| if r.is_ok() { DONE } else { f64::NAN };
        match op {
            0 => self.acquire().unwrap_or(f64::NAN),
            1 => done(self.finish(a, Some(Outcome::Success))),
            2 => match category(b as u32) {
                Ok(c) if b >= 0.0 => done(self.finish(a, Some(Outcome::Failure(c)))),
                _ => f64::NAN,
            },
            3 => done(self.finish(a, None)),
            4 => f64::from(self.core.state() as u8),
            _ => f64::NAN,
        }
    }
}

#[napi]
impl NativeCircuitBreaker {
    /// `config` is the options as JSON in config-document spelling; validate it first with
    /// `checkBreakerConfig` (an invalid one throws `CONFIG_INVALID` here).
    #[napi(constructor)]
    pub fn new(name: String, config: String, clock: Option<&NativeManualClock>) -> Result<Self> {
        guard(|| {
            let value = parse_json(&config).map_err(invalid)?;
            let config = BreakerConfig::from_json(&value).map_err(|e| invalid(config_errors(e)))?;
            let clock = clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref);
            let core =
                CircuitBreaker::new(&name, config, clock).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self::from_core(Arc::new(core)))
        })
    }

    /// The id of this wrapper's event queue (the `-id` message of `takeLocal`).
    #[napi(getter)]
    pub fn queue_id(&self) -> u32 {
        self.events.id()
    }

    #[napi(getter)]
    pub fn name(&self) -> String {
        self.core.name().to_string()
    }

    /// A token >= 0 for a granted permit; a rejection is negative: -1 forced open (no
    /// retry-after), -2 half-open full (retry-after 0), -(3 + retry-after ms) open.
    #[napi]
    pub fn acquire(&self) -> Result<f64> {
        guard(|| self.fast.acquire())
    }

    /// This breaker's raw hot-path function, `f(op, a, b) -> number` (see `fast.rs`): 0
    /// acquire, 1 success(token), 2 failure(token, category), 3 release(token), 4 state.
    #[napi(
        ts_return_type = "(op: number, a?: number, b?: number, c?: number) => number | undefined"
    )]
    pub fn fast_function<'e>(
        &self,
        env: &'e napi::Env,
    ) -> napi::Result<napi::bindgen_prelude::Unknown<'e>> {
        bound_function(env, self.fast.clone())
    }

    fn finish(&self, token: f64, outcome: Option<Outcome>) -> Result<()> {
        guard(|| self.fast.finish(token, outcome))
    }

    #[napi]
    pub fn record_success(&self, token: f64) -> Result<()> {
        self.finish(token, Some(Outcome::Success))
    }

    /// A failure of category `category` (an index into `categoryNames()`); the breaker
    /// ignores it when the category is ignored (client, cancelled).
    #[napi]
    pub fn record_failure(&self, token: f64, category_index: u32) -> Result<()> {
        self.finish(token, Some(Outcome::Failure(category(category_index)?)))
    }

    #[napi]
    pub fn record_ignored(&self, token: f64, category_index: u32) -> Result<()> {
        self.finish(token, Some(Outcome::Ignored(category(category_index)?)))
    }

    /// Hands a permit back without an outcome: counts nothing, frees a half-open slot.
    #[napi]
    pub fn release(&self, token: f64) -> Result<()> {
        self.finish(token, None)
    }

    /// The state's index into `stateNames()`. Pure.
    #[napi]
    pub fn state(&self) -> u32 {
        self.core.state() as u32
    }

    #[napi]
    pub fn snapshot(&self) -> Result<NativeSnapshot> {
        guard(|| {
            let s = self.core.snapshot();
            Ok(NativeSnapshot {
                state: s.state.as_str().to_string(),
                state_since: s.state_since.as_secs_f64() * 1000.0,
                calls: s.calls as f64,
                failures: s.failures as f64,
                slow_calls: s.slow_calls as f64,
                failure_rate: s.failure_rate,
                slow_call_rate: s.slow_call_rate,
                consecutive_failures: s.consecutive_failures as f64,
                consecutive_successes: s.consecutive_successes as f64,
                calls_total: s.calls_total as f64,
                successes_total: s.successes_total as f64,
                failures_total: s.failures_total as f64,
                ignored_total: s.ignored_total as f64,
                rejected_total: s.rejected_total as f64,
                times_opened: s.times_opened as f64,
                last_failure_category: s.last_failure_category.map(|c| c.as_str().to_string()),
                retry_after: s.retry_after.map(|d| d.as_secs_f64() * 1000.0),
            })
        })
    }

    /// Manual control; each returns whether the state changed. `op`: 0 force_open,
    /// 1 force_close, 2 disable, 3 metrics_only, 4 reset.
    #[napi]
    pub fn manual(&self, op: u32) -> Result<bool> {
        guard(|| {
            let t = match op {
                0 => self.core.force_open(),
                1 => self.core.force_close(),
                2 => self.core.disable(),
                3 => self.core.metrics_only(),
                4 => self.core.reset(),
                _ => return Err(error(ErrorCode::InvalidArgument, "unknown manual op")),
            };
            Ok(t.is_some())
        })
    }

    /// Applies options (JSON, config-document spelling) over the current config. Returns the
    /// problems; empty when applied.
    #[napi]
    pub fn configure(&self, json: String) -> Result<Vec<NativeConfigError>> {
        guard(|| {
            let value = match parse_json(&json) {
                Ok(v) => v,
                Err(e) => return Ok(e),
            };
            let applied = BreakerConfig::from_json_over(&self.core.config(), &value)
                .and_then(|c| self.core.configure(c));
            Ok(applied.err().map(config_errors).unwrap_or_default())
        })
    }

    /// Subscribes to exactly the kinds in `mask` (bit i = `eventKindNames()[i]`).
    #[napi]
    pub fn set_listening(&self, mask: u32) -> Result<()> {
        guard(|| {
            self.events.set_listening(
                mask,
                |k, l| self.core.subscribe(Some(k), l),
                |id| self.core.unsubscribe(id),
            );
            Ok(())
        })
    }

    /// The events emitted since the last call, in order.
    #[napi]
    pub fn take_events(&self) -> Vec<NativeEvent> {
        self.events.take()
    }

    /// Permits currently in flight through this wrapper.
    #[napi]
    pub fn permits_in_flight(&self) -> u32 {
        self.fast.permits.borrow().len() as u32
    }
}

impl NativeCircuitBreaker {
    /// A wrapper (with its own permits and event queue) around a core breaker, which may be
    /// shared with other wrappers, on other threads too.
    pub fn from_core(core: Arc<CircuitBreaker>) -> Self {
        let fast = Rc::new(FastBreaker {
            core: core.clone(),
            permits: RefCell::new(Slab::default()),
        });
        Self {
            core,
            fast,
            events: EventQueue::default(),
        }
    }
}

impl Drop for NativeCircuitBreaker {
    fn drop(&mut self) {
        self.events.clear(|id| self.core.unsubscribe(id));
    }
}
