//! `Policy`: the core's step machine (fallback, retry, breaker, timeout, the call), driven by the
//! JS layer, which runs attempts, sleeps and the fallback. Each native call returns the next
//! step as a small code; the rare steps (sleep, fallback, errors) are read with `lastStep()`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use breakwater_core::breaker::State;
use breakwater_core::classify::Classification;
use breakwater_core::policy::{AttemptOutcome, Policy, PolicyCall, PolicyParts, Step, Verdict};
use breakwater_core::{Category, ErrorCode};
use napi_derive::napi;

use crate::breaker::{NativeCircuitBreaker, NativeConfigError, config_errors};
use crate::clock::{NativeManualClock, ms_to_duration};
use crate::events::{EventQueue, NativeEvent};
use crate::fast::Fast;
use crate::retry::NativeRetry;
use crate::slab::Slab;
use crate::status::{Result, error, guard};

/// Step codes (the low 7 bits of what `start` returns, all of what the others return).
const DETAILS: f64 = 0.0;
const VALUE: f64 = 1.0;
const USER_ERROR: f64 = 2.0;
const CANCELLED: f64 = 3.0;
/// `ATTEMPT + n`: run attempt n.
const ATTEMPT: u32 = 8;
const MAX_INLINE_ATTEMPT: u32 = 119;

/// A step that does not fit a code: a sleep, a fallback or an error verdict.
#[napi(object)]
pub struct NativeStep {
    /// `attempt`, `sleep`, `wait`, `fallback` or `done`.
    pub kind: String,
    pub attempt: Option<u32>,
    /// Ms to sleep (`sleep`), or to wait at most (`wait`).
    pub delay: Option<f64>,
    /// `value`, `user_error`, `retry_exhausted`, `rejected`, `cancelled` (fallback, done).
    pub verdict: Option<String>,
    pub attempts: Option<u32>,
    /// The give-up reason of `retry_exhausted`.
    pub reason: Option<String>,
    /// The error code of `rejected`.
    pub code: Option<String>,
    /// The breaker state of a `CIRCUIT_OPEN` rejection.
    pub state: Option<String>,
    pub retry_after: Option<f64>,
}

fn verdict_fields(step: &mut NativeStep, v: Verdict) {
    let (kind, attempts) = match v {
        Verdict::Value => ("value", None),
        Verdict::UserError => ("user_error", None),
        Verdict::Cancelled => ("cancelled", None),
        Verdict::RetryExhausted { attempts, reason } => {
            step.reason = Some(reason.as_str().to_string());
            ("retry_exhausted", Some(attempts))
        }
        Verdict::Rejected {
            code,
            state,
            retry_after,
            attempts,
        } => {
            step.code = Some(code.as_str().to_string());
            step.state = state.map(|s: State| s.as_str().to_string());
            step.retry_after = retry_after.map(|d| d.as_secs_f64() * 1000.0);
            ("rejected", Some(attempts))
        }
    };
    step.verdict = Some(kind.to_string());
    step.attempts = attempts;
}

fn describe(step: Step) -> NativeStep {
    let mut s = NativeStep {
        kind: String::new(),
        attempt: None,
        delay: None,
        verdict: None,
        attempts: None,
        reason: None,
        code: None,
        state: None,
        retry_after: None,
    };
    match step {
        Step::Attempt { attempt, .. } => {
            s.kind = "attempt".into();
            s.attempt = Some(attempt);
        }
        Step::Sleep { delay } => {
            s.kind = "sleep".into();
            s.delay = Some(delay.as_secs_f64() * 1000.0);
        }
        Step::Wait { max_wait, .. } => {
            s.kind = "wait".into();
            s.delay = Some(max_wait.as_secs_f64() * 1000.0);
        }
        Step::Fallback(v) => {
            s.kind = "fallback".into();
            verdict_fields(&mut s, v);
        }
        Step::Done(v) => {
            s.kind = "done".into();
            verdict_fields(&mut s, v);
        }
    }
    s
}

#[napi]
pub struct NativePolicy {
    core: Arc<Policy>,
    fast: Rc<FastPolicy>,
    handle: u32,
    events: EventQueue,
}

/// The per-call state the fast path reaches by handle.
struct FastPolicy {
    core: Arc<Policy>,
    calls: RefCell<Slab<PolicyCall>>,
    last: RefCell<Option<Step>>,
}

impl FastPolicy {
    fn code(&self, step: Step) -> f64 {
        match step {
            Step::Attempt { attempt, .. } if attempt <= MAX_INLINE_ATTEMPT => {
                f64::from(ATTEMPT + attempt)
            }
            Step::Done(Verdict::Value) => VALUE,
            Step::Done(Verdict::UserError) => USER_ERROR,
            Step::Done(Verdict::Cancelled) => CANCELLED,
            other => {
                *self.last.borrow_mut() = Some(other);
                DETAILS
            }
        }
    }

    fn advance(&self, token: f64, f: impl FnOnce(&Policy, &mut PolicyCall) -> Step) -> Result<f64> {
        let step = {
            let mut calls = self.calls.borrow_mut();
            let call = calls.get_mut(token)?;
            let step = f(&self.core, call);
            if matches!(step, Step::Done(_) | Step::Fallback(_)) {
                calls.take(token)?;
            }
            step
        };
        Ok(self.code(step))
    }

    fn start(&self) -> Result<f64> {
        let (call, step) = self.core.start();
        let finished = matches!(step, Step::Done(_) | Step::Fallback(_));
        let token = if finished {
            0.0
        } else {
            self.calls.borrow_mut().insert(call)?
        };
        Ok(token * 128.0 + self.code(step))
    }

    fn failure(&self, token: f64, classified: u32, retry_after_ms: f64) -> Result<f64> {
        let category = u8::try_from(classified & 0xff)
            .ok()
            .and_then(Category::from_index)
            .unwrap_or(Category::Unknown);
        let retry_after = (retry_after_ms >= 0.0 && retry_after_ms.is_finite())
            .then(|| Duration::from_secs_f64(retry_after_ms / 1000.0));
        let failure = Classification {
            category,
            not_sent: classified & 0x100 != 0,
            retry_after,
        };
        self.advance(token, |p, c| {
            p.on_outcome(c, AttemptOutcome::Failure(failure))
        })
    }
}

/// Fast ops: 10 start, 11 success(token), 12 failure(token, classified, retryAfterMs),
/// 13 cancel(token), 14 afterSleep(token). NaN: use the slow path.
impl Fast for FastPolicy {
    fn call(&self, op: u32, a: f64, b: f64, c: f64) -> f64 {
        let r = match op {
            10 => self.start(),
            11 => self.advance(a, |p, call| p.on_outcome(call, AttemptOutcome::Success)),
            12 if (0.0..65536.0).contains(&b) => self.failure(a, b as u32, c),
            13 => self.advance(a, |p, call| p.cancel(call)),
            14 => self.advance(a, |p, call| p.after_sleep(call)),
            _ => return f64::NAN,
        };
        r.unwrap_or(f64::NAN)
    }
}

#[napi]
impl NativePolicy {
    /// Checks the parts and builds the policy; problems are returned by `checkPolicy` first.
    #[napi(constructor)]
    pub fn new(
        name: String,
        breaker: Option<&NativeCircuitBreaker>,
        retry: Option<&NativeRetry>,
        timeout_ms: Option<f64>,
        fallback: bool,
        clock: Option<&NativeManualClock>,
    ) -> Result<Self> {
        guard(|| {
            let timeout = timeout_ms
                .map(|ms| ms_to_duration("timeout", ms))
                .transpose()?;
            let parts = PolicyParts {
                breaker: breaker.map(|b| b.core.clone()),
                retry: retry.map(|r| r.core.clone()),
                timeout,
                fallback,
                clock: clock.map(NativeManualClock::clock_ref),
                ..PolicyParts::default()
            };
            let core = Policy::new(&name, parts).map_err(|e| {
                let first: Vec<NativeConfigError> = config_errors(e);
                let msg = first
                    .iter()
                    .map(|e| format!("{} = {} (allowed: {})", e.key, e.value, e.allowed))
                    .collect::<Vec<_>>()
                    .join("; ");
                error(ErrorCode::ConfigInvalid, format!("invalid policy: {msg}"))
            })?;
            let core = Arc::new(core);
            let fast = Rc::new(FastPolicy {
                core: core.clone(),
                calls: RefCell::new(Slab::default()),
                last: RefCell::new(None),
            });
            let handle = crate::fast::register(fast.clone());
            Ok(Self {
                core,
                fast,
                handle,
                events: EventQueue::default(),
            })
        })
    }

    /// The handle of this policy for the raw fast function (`fastFunction()`).
    #[napi(getter)]
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// Starts a call: `token * 128 + code` (see `lastStep()` when the code is 0).
    #[napi]
    pub fn start(&self) -> Result<f64> {
        guard(|| self.fast.start())
    }

    #[napi]
    pub fn success(&self, token: f64) -> Result<f64> {
        guard(|| {
            self.fast
                .advance(token, |p, c| p.on_outcome(c, AttemptOutcome::Success))
        })
    }

    /// A failed attempt: `classified` is a category index, bit 8 set when the request was
    /// never sent; `retryAfterMs` < 0 when the error named no wait.
    #[napi]
    pub fn failure(&self, token: f64, classified: u32, retry_after_ms: f64) -> Result<f64> {
        guard(|| self.fast.failure(token, classified, retry_after_ms))
    }

    /// The caller cancelled (during an attempt or a sleep): releases the permit, counts nothing.
    #[napi]
    pub fn cancel(&self, token: f64) -> Result<f64> {
        guard(|| self.fast.advance(token, |p, c| p.cancel(c)))
    }

    #[napi]
    pub fn after_sleep(&self, token: f64) -> Result<f64> {
        guard(|| self.fast.advance(token, |p, c| p.after_sleep(c)))
    }

    /// The step behind the last code 0.
    #[napi]
    pub fn last_step(&self) -> Option<NativeStep> {
        self.fast.last.borrow_mut().take().map(describe)
    }

    /// Calls in flight.
    #[napi]
    pub fn calls_in_flight(&self) -> u32 {
        self.fast.calls.borrow().len() as u32
    }

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

    #[napi]
    pub fn take_events(&self) -> Vec<NativeEvent> {
        self.events.take()
    }
}

impl Drop for NativePolicy {
    fn drop(&mut self) {
        crate::fast::unregister(self.handle);
        self.events.clear(|id| self.core.unsubscribe(id));
    }
}
