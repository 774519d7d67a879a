//! `Policy`: the core's step machine (fallback, retry, breaker, rate limiter, bulkhead, timeout,
//! the call), driven by the JS layer, which runs attempts, sleeps, waits and the fallback. Each
//! native call returns the next step as a small code; the rare steps (sleep, wait, fallback,
//! errors) are read with `lastStep()`. A policy with a bulkhead runs each step under the waiter
//! table's lock (`waiters.rs`) and wakes the call the core hands a freed slot to.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use breakwater_core::breaker::State;
use breakwater_core::cache::Freshness;
use breakwater_core::classify::Classification;
use breakwater_core::policy::{
    AttemptOutcome, FallbackInput, Policy, PolicyCall, PolicyParts, Step, Verdict,
};
use breakwater_core::{Bulkhead, Category, ErrorCode, Ticket};
use napi_derive::napi;

use crate::breaker::{NativeCircuitBreaker, NativeConfigError, config_errors};
use crate::clock::{NativeManualClock, ms_to_duration};
use crate::degradation::{NativeChoice, NativeDegradationManager, acceptor, choice};
use crate::events::{EventQueue, NativeEvent};
use crate::fast::{Fast, bound_function};
use crate::limits::{NativeBulkhead, NativeRateLimiter};
use crate::retry::NativeRetry;
use crate::slab::Slab;
use crate::status::{Result, error, guard};
use crate::waiters;

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
    /// The waiter's id (`wait`): its wake arrives as a `+id` host message.
    pub waiter: Option<u32>,
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

fn describe(step: Step, waiter: u32) -> NativeStep {
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
        waiter: None,
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
            s.waiter = Some(waiter);
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

/// What the fallback step serves: the strategy the degradation manager chose (none: the host's
/// own fallback function, or the error), and the trigger behind the call's error.
#[napi(object)]
pub struct NativeFallbackStep {
    pub choice: Option<NativeChoice>,
    pub trigger: Option<String>,
    pub attempts: u32,
    /// The call, until `fallbackEnd(token)` ends it.
    pub token: f64,
}

#[napi]
pub struct NativePolicy {
    pub(crate) core: Arc<Policy>,
    fast: Rc<FastPolicy>,
    events: EventQueue,
    /// Calls past their fallback step, until the host says whether the fallback served.
    at_fallback: RefCell<Slab<PolicyCall>>,
}

/// One call in flight: the core's state and the bulkhead ticket it waits for, if any.
struct Call {
    call: PolicyCall,
    waiting: Option<Ticket>,
}

/// The per-call state the fast path reaches by handle.
struct FastPolicy {
    core: Arc<Policy>,
    bulkhead: Option<Arc<Bulkhead>>,
    calls: RefCell<Slab<Call>>,
    /// The step behind the last code 0, and the waiter id of a `wait` step.
    last: RefCell<Option<(Step, u32)>>,
}

impl FastPolicy {
    fn code(&self, step: Step, waiter: u32) -> f64 {
        match step {
            Step::Attempt { attempt, .. } if attempt <= MAX_INLINE_ATTEMPT => {
                f64::from(ATTEMPT + attempt)
            }
            Step::Done(Verdict::Value) => VALUE,
            Step::Done(Verdict::UserError) => USER_ERROR,
            Step::Done(Verdict::Cancelled) => CANCELLED,
            other => {
                *self.last.borrow_mut() = Some((other, waiter));
                DETAILS
            }
        }
    }

    /// Runs one step of call `token`, in place (under the waiter lock when there is a
    /// bulkhead): registers a new wait, wakes the call the core handed a freed slot to, and drops
    /// a finished call.
    #[inline]
    fn step(
        &self,
        token: f64,
        f: impl FnOnce(&Policy, &mut Call, Option<&mut waiters::Table>) -> Step,
    ) -> Result<(Step, u32)> {
        let mut table = self.bulkhead.as_ref().map(|_| waiters::lock());
        let mut calls = self.calls.borrow_mut();
        let call = calls.get_mut(token)?;
        let step = f(&self.core, call, table.as_deref_mut());
        let mut waiter = 0;
        if let (Some(table), Some(bh)) = (table.as_deref_mut(), &self.bulkhead) {
            if let Step::Wait { ticket, .. } = step {
                waiter = table.register(bh, ticket);
                call.waiting = Some(ticket);
            }
            if let Some(t) = call.call.take_wake() {
                table.wake(bh, t);
            }
        }
        // A call at the fallback step stays until `fallback(token)` reads its trigger.
        if matches!(step, Step::Done(_)) {
            calls.take(token)?;
        }
        Ok((step, waiter))
    }

    #[inline]
    fn advance(&self, token: f64, f: impl FnOnce(&Policy, &mut PolicyCall) -> Step) -> Result<f64> {
        let (step, waiter) = self.step(token, |p, c, _| f(p, &mut c.call))?;
        Ok(self.code(step, waiter))
    }

    /// Starts a call: its state goes straight into the slab (unless it is already over).
    fn start(&self) -> Result<f64> {
        let mut table = self.bulkhead.as_ref().map(|_| waiters::lock());
        let (call, step) = self.core.start();
        let mut waiter = 0;
        let mut waiting = None;
        if let (Some(table), Some(bh), Step::Wait { ticket, .. }) =
            (table.as_deref_mut(), &self.bulkhead, step)
        {
            waiter = table.register(bh, ticket);
            waiting = Some(ticket);
        }
        if matches!(step, Step::Done(_)) {
            return Ok(self.code(step, waiter));
        }
        let token = self.calls.borrow_mut().insert(Call { call, waiting })?;
        Ok(token * 128.0 + self.code(step, waiter))
    }

    /// The bulkhead wait of call `token` is over (`woken`, or its max wait passed).
    fn after_wait(&self, token: f64, woken: bool) -> Result<f64> {
        let bulkhead = self.bulkhead.clone();
        let (step, waiter) = self.step(token, |p, c, table| {
            if let (Some(t), Some(table), Some(bh)) = (c.waiting.take(), table, &bulkhead)
                && !woken
            {
                table.forget(bh, t);
            }
            p.after_wait(&mut c.call, woken)
        })?;
        Ok(self.code(step, waiter))
    }

    /// The caller cancelled (during an attempt, a sleep or a wait).
    fn cancel(&self, token: f64) -> Result<f64> {
        let bulkhead = self.bulkhead.clone();
        let (step, waiter) = self.step(token, |p, c, table| {
            if let (Some(t), Some(table), Some(bh)) = (c.waiting.take(), table, &bulkhead) {
                table.forget(bh, t);
            }
            p.cancel(&mut c.call)
        })?;
        Ok(self.code(step, waiter))
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
/// 13 cancel(token), 14 afterSleep(token), 15 afterWait(token, woken). NaN: use the slow path.
impl Fast for FastPolicy {
    fn call(&self, op: u32, a: f64, b: f64, c: f64) -> f64 {
        let r = match op {
            10 => self.start(),
            11 => self.advance(a, |p, call| p.on_outcome(call, AttemptOutcome::Success)),
            12 if (0.0..65536.0).contains(&b) => self.failure(a, b as u32, c),
            13 => self.cancel(a),
            14 => self.advance(a, |p, call| p.after_sleep(call)),
            15 => self.after_wait(a, b != 0.0),
            _ => return f64::NAN,
        };
        r.unwrap_or(f64::NAN)
    }
}

#[napi]
impl NativePolicy {
    /// Builds the policy from its parts (the JS layer checks them first; a clock mismatch is
    /// `CONFIG_INVALID`).
    #[napi(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        breaker: Option<&NativeCircuitBreaker>,
        retry: Option<&NativeRetry>,
        rate_limiter: Option<&NativeRateLimiter>,
        bulkhead: Option<&NativeBulkhead>,
        timeout_ms: Option<f64>,
        fallback: bool,
        clock: Option<&NativeManualClock>,
        degradation: Option<&NativeDegradationManager>,
    ) -> Result<Self> {
        guard(|| {
            let timeout = timeout_ms
                .map(|ms| ms_to_duration("timeout", ms))
                .transpose()?;
            let parts = PolicyParts {
                breaker: breaker.map(|b| b.core.clone()),
                retry: retry.map(|r| r.core.clone()),
                rate_limiter: rate_limiter.map(|l| l.core.clone()),
                bulkhead: bulkhead.map(|b| b.core.clone()),
                timeout,
                fallback,
                clock: clock.map(NativeManualClock::clock_ref),
            };
            Self::from_parts(&name, parts, degradation.map(|d| d.core.clone()))
        })
    }

    /// This policy's raw hot-path function, `f(op, a, b, c) -> code` (see `fast.rs`): 10
    /// start, 11 success, 12 failure, 13 cancel, 14 afterSleep, 15 afterWait.
    #[napi(
        ts_return_type = "(op: number, a?: number, b?: number, c?: number) => number | undefined"
    )]
    pub fn fast_function<'e>(
        &self,
        env: &'e napi::Env,
    ) -> napi::Result<napi::bindgen_prelude::Unknown<'e>> {
        bound_function(env, self.fast.clone())
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
        guard(|| self.fast.cancel(token))
    }

    #[napi]
    pub fn after_sleep(&self, token: f64) -> Result<f64> {
        guard(|| self.fast.advance(token, |p, c| p.after_sleep(c)))
    }

    /// The bulkhead wait is over: `woken` by the call that freed a slot, or not (max wait
    /// passed).
    #[napi]
    pub fn after_wait(&self, token: f64, woken: bool) -> Result<f64> {
        guard(|| self.fast.after_wait(token, woken))
    }

    /// At the fallback step of call `token`: which strategy serves (the degradation manager's
    /// choice, recorded; `accept(name)` answers a strategy's own `canHandle`/`isAvailable`),
    /// and the trigger behind the error. The call waits for `fallbackEnd(step.token)`.
    #[napi]
    pub fn fallback(
        &self,
        token: f64,
        cache_key: Option<String>,
        cached: Option<String>,
        accept: Option<crate::degradation::Accept<'_>>,
    ) -> Result<NativeFallbackStep> {
        let c = self.fast.calls.borrow_mut().take(token)?;
        let cached = match cached.as_deref() {
            Some("fresh") => Some(Freshness::Fresh),
            Some("stale") => Some(Freshness::Stale),
            _ => None,
        };
        let input = FallbackInput {
            cache_key: cache_key.map(Arc::from),
            cached,
        };
        let mut f = acceptor(&accept);
        let chosen = self.core.choose_fallback_with(&c.call, &input, &mut f);
        let trigger = c.call.trigger().map(|t| t.as_str().to_string());
        let attempts = c.call.attempts();
        let token = self.at_fallback.borrow_mut().insert(c.call)?;
        Ok(NativeFallbackStep {
            choice: chosen.map(choice),
            trigger,
            attempts,
            token,
        })
    }

    /// Ends call `token` after its fallback step. `served`: a fallback served it (`strategy`,
    /// or none for the host's own fallback function), so the policy emits its `fallback` event.
    #[napi]
    pub fn fallback_end(&self, token: f64, served: bool, strategy: Option<String>) -> Result<()> {
        guard(|| {
            let call = self.at_fallback.borrow_mut().take(token)?;
            if served {
                self.core.fallback_served(&call, strategy.as_deref());
            }
            Ok(())
        })
    }

    /// Whether a degradation manager is attached.
    #[napi]
    pub fn has_degradation(&self) -> bool {
        self.core.degradation().is_some()
    }

    /// The step behind the last code 0.
    #[napi]
    pub fn last_step(&self) -> Option<NativeStep> {
        self.fast
            .last
            .borrow_mut()
            .take()
            .map(|(step, waiter)| describe(step, waiter))
    }

    /// The id of this wrapper's event queue (the `-id` message of `takeLocal`).
    #[napi(getter)]
    pub fn queue_id(&self) -> u32 {
        self.events.id()
    }

    /// Which parts the policy has: `[breaker, retry, rateLimiter, bulkhead, fallback]`.
    #[napi]
    pub fn parts(&self) -> Vec<bool> {
        let p = self.core.parts();
        vec![
            p.breaker.is_some(),
            p.retry.is_some(),
            p.rate_limiter.is_some(),
            p.bulkhead.is_some(),
            p.fallback,
        ]
    }

    /// The per-attempt timeout in ms, if any.
    #[napi]
    pub fn timeout(&self) -> Option<f64> {
        self.core.parts().timeout.map(|d| d.as_secs_f64() * 1000.0)
    }

    /// A wrapper of the policy's breaker (for a policy the registry built).
    #[napi]
    pub fn breaker(&self) -> Option<NativeCircuitBreaker> {
        self.core
            .parts()
            .breaker
            .clone()
            .map(NativeCircuitBreaker::from_core)
    }

    #[napi]
    pub fn retry(&self) -> Option<NativeRetry> {
        let clock = self.core.clock().clone();
        self.core
            .parts()
            .retry
            .clone()
            .map(|r| NativeRetry::from_core(r, clock))
    }

    #[napi]
    pub fn rate_limiter(&self) -> Option<NativeRateLimiter> {
        let clock = self.core.clock().clone();
        self.core
            .parts()
            .rate_limiter
            .clone()
            .map(|l| NativeRateLimiter::from_core(l, clock))
    }

    #[napi]
    pub fn bulkhead(&self) -> Option<NativeBulkhead> {
        self.core
            .parts()
            .bulkhead
            .clone()
            .map(NativeBulkhead::from_core)
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

impl NativePolicy {
    pub fn from_parts(
        name: &str,
        parts: PolicyParts,
        degradation: Option<Arc<breakwater_core::DegradationManager>>,
    ) -> Result<Self> {
        let invalid = |e: breakwater_core::ConfigErrors| {
            let first: Vec<NativeConfigError> = config_errors(e);
            let msg = first
                .iter()
                .map(|e| format!("{} = {} (allowed: {})", e.path, e.value, e.allowed))
                .collect::<Vec<_>>()
                .join("; ");
            error(ErrorCode::ConfigInvalid, format!("invalid policy: {msg}"))
        };
        let mut core = Policy::new(name, parts).map_err(invalid)?;
        if let Some(d) = degradation {
            core = core.with_degradation(d).map_err(invalid)?;
        }
        let core = Arc::new(core);
        let fast = Rc::new(FastPolicy {
            core: core.clone(),
            bulkhead: core.parts().bulkhead.clone(),
            calls: RefCell::new(Slab::default()),
            last: RefCell::new(None),
        });
        Ok(Self {
            core,
            fast,
            events: EventQueue::default(),
            at_fallback: RefCell::new(Slab::default()),
        })
    }
}

impl Drop for NativePolicy {
    fn drop(&mut self) {
        self.events.clear(|id| self.core.unsubscribe(id));
    }
}
