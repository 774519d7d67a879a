//! The policy pipeline (contract section 1, "Policy"), as a small state machine the host drives.
//! Order, outermost first: fallback, retry, circuit breaker, (rate limiter, bulkhead: with their
//! issue), timeout, the call. The host loops:
//!
//! ```text
//! let (mut call, mut step) = policy.start();
//! loop {
//!     match step {
//!         Step::Attempt { timeout, .. } => { run the user's function (enforcing timeout);
//!                                            step = policy.on_outcome(&mut call, outcome) }
//!         Step::Sleep { delay }         => { sleep on the host's timer; step = policy.after_sleep(&mut call) }
//!         Step::Fallback(verdict)       => { run the fallback, or apply verdict when none serves }
//!         Step::Done(verdict)           => { return what verdict says }
//!     }
//! }
//! ```
//! The host keeps the user's values and errors; a [`Verdict`] says which one the caller gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::breaker::{CircuitBreaker, Outcome, Permit, State};
use crate::cache::Freshness;
use crate::category::Category;
use crate::classify::Classification;
use crate::clock::{ClockRef, Nanos};
use crate::config::{ConfigError, ConfigErrors};
use crate::degradation::{
    DegradationManager, FallbackChoice, FallbackContext, StrategyInfo, StrategyKind, Trigger,
};
use crate::error::ErrorCode;
use crate::event::{Event, EventBus, EventKind, Listener, ListenerId};
use crate::limiter::{Admission, Bulkhead, RateLimiter, Ticket};
use crate::retry::{Decision, GiveUpReason, RetryPolicy, RetryState};

/// The parts of a policy; every one is optional.
#[derive(Debug, Clone, Default)]
pub struct PolicyParts {
    pub breaker: Option<Arc<CircuitBreaker>>,
    pub retry: Option<Arc<RetryPolicy>>,
    pub rate_limiter: Option<Arc<RateLimiter>>,
    pub bulkhead: Option<Arc<Bulkhead>>,
    /// Per attempt; the host enforces it.
    pub timeout: Option<Duration>,
    /// Whether the host has a fallback to run when the pipeline ends in an error.
    pub fallback: bool,
    /// Defaults to the parts' clock (they must share one), else the system clock.
    pub clock: Option<ClockRef>,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Success,
    Failure(Classification),
    /// Cancelled by the caller: the permit is released and nothing is counted.
    Cancelled,
}

/// What the caller of the guarded call receives (contract section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The last attempt's value.
    Value,
    /// The last user error, the same object, unchanged.
    UserError,
    /// A `RetryError` whose cause is the last user error.
    RetryExhausted { attempts: u32, reason: GiveUpReason },
    /// A component rejected the attempt: its own error (`CircuitOpenError`...), with the last
    /// user error attached when `attempts > 0`.
    Rejected {
        code: ErrorCode,
        state: Option<State>,
        retry_after: Option<Duration>,
        attempts: u32,
    },
    /// The host's own cancellation error.
    Cancelled,
}

/// The next thing the host must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run attempt number `attempt` (1-based), abandoning it after `timeout`.
    Attempt {
        attempt: u32,
        timeout: Option<Duration>,
    },
    /// Sleep, then call [`Policy::after_sleep`].
    Sleep {
        delay: Duration,
    },
    /// The bulkhead queued the call: wait up to `max_wait` to be woken for `ticket` (another
    /// call's [`PolicyCall::take_wake`] names it), then call [`Policy::after_wait`].
    Wait {
        ticket: Ticket,
        max_wait: Duration,
    },
    /// The pipeline ended in an error and a fallback is configured: run it (its value is
    /// returned), or apply the verdict when no fallback strategy serves. With a degradation
    /// manager attached, [`Policy::choose_fallback`] names the strategy that serves.
    Fallback(Verdict),
    Done(Verdict),
}

/// One guarded call's state. Owned by the call; plain data.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyCall {
    retry: Option<RetryState>,
    permit: Option<Permit>,
    attempts: u32,
    last_category: Option<Category>,
    in_bulkhead: bool,
    waiting: Option<Ticket>,
    wake: Option<Ticket>,
    finished: bool,
    /// How the pipeline ended, once it has.
    verdict: Option<Verdict>,
}

impl PolicyCall {
    /// How the pipeline ended (`None` while the call is still running).
    pub fn verdict(&self) -> Option<Verdict> {
        self.verdict
    }

    /// The degradation trigger behind the call's error ([`Trigger::from_verdict`]); `None` for
    /// a value, a cancellation, or a call still running.
    pub fn trigger(&self) -> Option<Trigger> {
        Trigger::from_verdict(self.verdict.as_ref()?, self.last_category)
    }

    /// `call_with_info` for a live result: not from a fallback.
    pub fn info(&self) -> CallInfo {
        CallInfo {
            from_fallback: false,
            strategy: None,
            kind: None,
            reason: None,
            stale: false,
            attempts: self.attempts,
        }
    }

    /// `call_with_info` for a result a fallback produced: the chosen strategy (`None` for a
    /// plain host fallback function), the trigger as the reason, and whether a cached response
    /// was stale.
    pub fn fallback_info(&self, choice: Option<&FallbackChoice>) -> CallInfo {
        CallInfo {
            from_fallback: true,
            strategy: choice.map(|c| c.strategy.clone()),
            kind: choice.map(|c| c.kind),
            reason: choice.map(|c| c.trigger).or_else(|| self.trigger()),
            stale: choice.is_some_and(|c| c.stale),
            attempts: self.attempts,
        }
    }

    /// Attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The category of the last failed attempt.
    pub fn last_category(&self) -> Option<Category> {
        self.last_category
    }

    /// The breaker permit of the attempt in flight.
    pub fn permit(&self) -> Option<Permit> {
        self.permit
    }

    /// A queued call this call's bulkhead slot was handed to: the host must wake it.
    pub fn take_wake(&mut self) -> Option<Ticket> {
        self.wake.take()
    }
}

/// What the host knows about a call that the core's fallback decision needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackInput {
    /// The call's cache key, when it has one.
    pub cache_key: Option<Arc<str>>,
    /// What the response cache would serve for it now ([`crate::ResponseCache::status`]).
    pub cached: Option<Freshness>,
}

/// What `call_with_info` / `executeWithInfo` return beside the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub from_fallback: bool,
    /// The strategy that served (`None` for a live result or a plain fallback function).
    pub strategy: Option<Arc<str>>,
    pub kind: Option<StrategyKind>,
    /// The degradation trigger that sent the call to its fallback.
    pub reason: Option<Trigger>,
    /// A cached response served after its TTL (stale-if-error).
    pub stale: bool,
    pub attempts: u32,
}

/// A composed policy. Share it with `Arc`; each call gets its own [`PolicyCall`].
#[derive(Debug)]
pub struct Policy {
    name: Arc<str>,
    parts: PolicyParts,
    clock: ClockRef,
    events: EventBus,
    /// Chooses fallback strategies ([`Policy::with_degradation`]).
    degradation: Option<Arc<DegradationManager>>,
    /// Counters for metrics ([`Policy::stats`]).
    counters: PolicyCounters,
}

impl Policy {
    pub fn new(name: &str, mut parts: PolicyParts) -> Result<Self, ConfigErrors> {
        // A pass-through retry policy (its section is disabled) is no retry at all.
        if parts.retry.as_ref().is_some_and(|r| !r.is_enabled()) {
            parts.retry = None;
        }
        let clock = match (&parts.clock, &parts.breaker) {
            (Some(c), Some(b)) if !c.same_as(b.clock()) => {
                return Err(ConfigError::new(
                    "clock",
                    "a different clock",
                    "the clock of the policy's parts (they must share one)",
                )
                .into());
            }
            (Some(c), _) => c.clone(),
            (None, Some(b)) => b.clock().clone(),
            (None, None) => ClockRef::system(),
        };
        if parts.timeout.is_some_and(|t| t.is_zero()) {
            return Err(ConfigError::new("timeout", "0", "a duration > 0").into());
        }
        Ok(Self {
            name: Arc::from(name),
            parts,
            clock,
            events: EventBus::default(),
            degradation: None,
            counters: PolicyCounters::default(),
        })
    }

    /// Attaches a degradation manager: a call that ends in an error then goes to
    /// [`Step::Fallback`] (even without `parts.fallback`), and
    /// [`Policy::choose_fallback`] asks the manager which strategy serves. Successful calls
    /// report recovery: `timeout`, `rate_limited` and `error_rate` clear, and
    /// `circuit_breaker_open` clears once the policy's breaker is closed. The manager must use
    /// the policy's clock; a policy that got the system clock by default (no `clock`, no
    /// breaker) takes the manager's.
    pub fn with_degradation(
        mut self,
        manager: Arc<DegradationManager>,
    ) -> Result<Self, ConfigErrors> {
        if !manager.clock().same_as(&self.clock) {
            if self.parts.clock.is_none() && self.parts.breaker.is_none() {
                self.clock = manager.clock().clone();
            } else {
                return Err(ConfigError::new(
                    "clock",
                    "a different clock",
                    "the clock of the policy's parts (they must share one)",
                )
                .into());
            }
        }
        self.degradation = Some(manager);
        Ok(self)
    }

    /// The attached degradation manager.
    pub fn degradation(&self) -> Option<&Arc<DegradationManager>> {
        self.degradation.as_ref()
    }

    /// The context a fallback decision for this call is made in: the policy's name as the
    /// component, the trigger from the verdict at its own severity, the last failure's category,
    /// the attempts, and what the host's cache holds for the call. `None` unless the call ended
    /// in an error.
    pub fn fallback_context(
        &self,
        call: &PolicyCall,
        input: &FallbackInput,
    ) -> Option<FallbackContext> {
        let trigger = call.trigger()?;
        Some(FallbackContext {
            component: self.name.clone(),
            trigger,
            severity: trigger
                .default_level()
                .unwrap_or(crate::degradation::Level::Partial),
            category: call.last_category,
            attempts: call.attempts,
            cache_key: input.cache_key.clone(),
            cached: input.cached,
        })
    }

    /// At [`Step::Fallback`]: which strategy serves, recorded by the attached manager
    /// ([`DegradationManager::select`]). `None` when no manager is attached, the call did not
    /// end in an error, or no strategy serves: then the host runs its own fallback function if
    /// it has one, else applies the verdict.
    pub fn choose_fallback(
        &self,
        call: &PolicyCall,
        input: &FallbackInput,
    ) -> Option<FallbackChoice> {
        self.choose_fallback_with(call, input, &mut |_, _| true)
    }

    /// [`Policy::choose_fallback`] with the host's own `can_handle` / `is_available` answer for
    /// each candidate (run on the caller's thread, no lock held).
    pub fn choose_fallback_with(
        &self,
        call: &PolicyCall,
        input: &FallbackInput,
        accept: &mut dyn FnMut(&StrategyInfo, &FallbackContext) -> bool,
    ) -> Option<FallbackChoice> {
        let manager = self.degradation.as_ref()?;
        let ctx = self.fallback_context(call, input)?;
        manager.select_with(&ctx, accept)
    }

    /// The host served the call from a fallback (`strategy`: the chosen strategy's name, or
    /// `None` for a plain fallback function): emits the policy's `fallback` event, with the
    /// trigger as its reason.
    pub fn fallback_served(&self, call: &PolicyCall, strategy: Option<&str>) {
        if self.events.is_active() {
            let mut e = self.event(EventKind::Fallback);
            e.strategy = strategy.map(Arc::from);
            e.reason = call.trigger().map(|t| t.as_str());
            e.attempt = Some(call.attempts);
            e.category = call.last_category;
            self.events.emit(&e);
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn parts(&self) -> &PolicyParts {
        &self.parts
    }

    pub fn clock(&self) -> &ClockRef {
        &self.clock
    }

    /// Starts a call: its first step is an attempt, or a rejection.
    pub fn start(&self) -> (PolicyCall, Step) {
        let mut call = PolicyCall::default();
        // One clock read serves the retry state's start and the first permit.
        let now = self.clock.now();
        if let Some(r) = &self.parts.retry {
            call.retry = Some(r.begin(now));
        }
        let step = self.acquire(&mut call, now);
        (call, step)
    }

    /// Reports how the attempt in flight ended.
    pub fn on_outcome(&self, call: &mut PolicyCall, outcome: AttemptOutcome) -> Step {
        self.leave_bulkhead(call);
        let permit = call.permit.take();
        let failure = match outcome {
            AttemptOutcome::Success => {
                if let (Some(b), Some(p)) = (&self.parts.breaker, permit) {
                    b.record(p, Outcome::Success);
                }
                self.report_recovery();
                return self.finish(call, Verdict::Value);
            }
            AttemptOutcome::Cancelled => {
                if let (Some(b), Some(p)) = (&self.parts.breaker, permit) {
                    b.release(p);
                }
                if self.parts.retry.is_some() {
                    self.give_up(call, GiveUpReason::Cancelled);
                }
                return self.finish(call, Verdict::Cancelled);
            }
            AttemptOutcome::Failure(c) => c,
        };
        call.last_category = Some(failure.category);
        if let (Some(b), Some(p)) = (&self.parts.breaker, permit) {
            b.record(p, Outcome::Failure(failure.category));
        }
        let (Some(retry), Some(state)) = (&self.parts.retry, call.retry.as_mut()) else {
            return self.finish(call, Verdict::UserError);
        };
        match retry.decide(state, &failure, self.clock.now()) {
            Decision::Retry { delay, attempt } => {
                self.counters.retries.fetch_add(1, Relaxed);
                if self.events.is_active() {
                    let mut e = self.event(EventKind::Retry);
                    e.attempt = Some(attempt);
                    e.delay = Some(delay);
                    e.category = Some(failure.category);
                    self.events.emit(&e);
                }
                Step::Sleep { delay }
            }
            Decision::GiveUp(reason) => {
                self.give_up(call, reason);
                if reason.is_exhaustion() {
                    let attempts = call.attempts;
                    self.finish(call, Verdict::RetryExhausted { attempts, reason })
                } else {
                    self.finish(call, Verdict::UserError)
                }
            }
        }
    }

    /// The backoff sleep is over: the next attempt (or a rejection).
    pub fn after_sleep(&self, call: &mut PolicyCall) -> Step {
        self.acquire(call, self.clock.now())
    }

    /// The bulkhead wait is over: `woken` when the host was woken for the ticket, `false` when
    /// `max_wait` passed first.
    pub fn after_wait(&self, call: &mut PolicyCall, woken: bool) -> Step {
        let Some(ticket) = call.waiting.take() else {
            return self.start_attempt(call);
        };
        let b = self
            .parts
            .bulkhead
            .as_ref()
            .expect("a waiting call has a bulkhead");
        if woken || !b.abandon(ticket) {
            // Woken, or the slot arrived just as the wait timed out: it holds a slot.
            call.in_bulkhead = true;
            return self.start_attempt(call);
        }
        self.reject(
            call,
            GiveUpReason::BulkheadFull,
            ErrorCode::BulkheadFull,
            None,
        )
    }

    fn leave_bulkhead(&self, call: &mut PolicyCall) {
        if std::mem::take(&mut call.in_bulkhead)
            && let Some(b) = &self.parts.bulkhead
        {
            call.wake = b.leave();
        }
    }

    /// The caller cancelled (during an attempt or a sleep): releases what is held.
    pub fn cancel(&self, call: &mut PolicyCall) -> Step {
        self.leave_bulkhead(call);
        if let (Some(bh), Some(t)) = (&self.parts.bulkhead, call.waiting.take())
            && !bh.abandon(t)
        {
            call.wake = bh.leave(); // it had just been handed a slot: pass it on
        }
        if let (Some(b), Some(p)) = (&self.parts.breaker, call.permit.take()) {
            b.release(p);
        }
        if self.parts.retry.is_some() && call.attempts > 0 {
            self.give_up(call, GiveUpReason::Cancelled);
        }
        call.finished = true;
        self.counters.results[RESULT_CANCELLED].fetch_add(1, Relaxed);
        Step::Done(Verdict::Cancelled)
    }

    /// Breaker, then rate limiter, then bulkhead (the contract's order). A limiter or bulkhead
    /// refusal releases the breaker's permit, so it counts nothing.
    fn acquire(&self, call: &mut PolicyCall, now: Nanos) -> Step {
        if let Some(b) = &self.parts.breaker {
            match b.try_acquire_at(now) {
                Ok(p) => call.permit = Some(p),
                Err(rej) => {
                    if self.parts.retry.is_some() {
                        self.give_up(call, GiveUpReason::CircuitOpen);
                    }
                    let verdict = Verdict::Rejected {
                        code: ErrorCode::CircuitOpen,
                        state: Some(rej.state),
                        retry_after: rej.retry_after,
                        attempts: call.attempts,
                    };
                    return self.finish(call, verdict);
                }
            }
        }
        if let Some(l) = &self.parts.rate_limiter
            && let Err(limited) = l.try_acquire(now)
        {
            let ra = Some(limited.retry_after);
            return self.reject(call, GiveUpReason::RateLimited, ErrorCode::RateLimited, ra);
        }
        if let Some(bh) = &self.parts.bulkhead {
            match bh.try_enter() {
                Admission::Entered => call.in_bulkhead = true,
                Admission::Queued { ticket, max_wait } => {
                    call.waiting = Some(ticket);
                    return Step::Wait { ticket, max_wait };
                }
                Admission::Full => {
                    return self.reject(
                        call,
                        GiveUpReason::BulkheadFull,
                        ErrorCode::BulkheadFull,
                        None,
                    );
                }
            }
        }
        self.start_attempt(call)
    }

    fn start_attempt(&self, call: &mut PolicyCall) -> Step {
        call.attempts += 1;
        self.counters.attempts.fetch_add(1, Relaxed);
        Step::Attempt {
            attempt: call.attempts,
            timeout: self.parts.timeout,
        }
    }

    /// A refusal after the breaker admitted: release its permit (counting nothing) and stop.
    fn reject(
        &self,
        call: &mut PolicyCall,
        reason: GiveUpReason,
        code: ErrorCode,
        retry_after: Option<Duration>,
    ) -> Step {
        if let (Some(b), Some(p)) = (&self.parts.breaker, call.permit.take()) {
            b.release(p);
        }
        if self.parts.retry.is_some() {
            self.give_up(call, reason);
        }
        let verdict = Verdict::Rejected {
            code,
            state: None,
            retry_after,
            attempts: call.attempts,
        };
        self.finish(call, verdict)
    }

    fn give_up(&self, call: &PolicyCall, reason: GiveUpReason) {
        self.counters.give_ups[reason as usize].fetch_add(1, Relaxed);
        if self.events.is_active() {
            let mut e = self.event(EventKind::GiveUp);
            e.reason = Some(reason.as_str());
            e.attempt = Some(call.attempts);
            e.category = call.last_category;
            self.events.emit(&e);
        }
    }

    /// A live success: the attached manager may recover the component (one atomic load when
    /// nothing is degraded).
    fn report_recovery(&self) {
        if let Some(m) = &self.degradation
            && m.has_active()
        {
            m.report_success(&self.name);
            if self
                .parts
                .breaker
                .as_ref()
                .is_some_and(|b| b.state() == State::Closed)
            {
                m.trigger_cleared(&self.name, Trigger::CircuitBreakerOpen);
            }
        }
    }

    fn finish(&self, call: &mut PolicyCall, verdict: Verdict) -> Step {
        call.finished = true;
        call.verdict = Some(verdict);
        self.counters.count(&verdict);
        let step = match verdict {
            Verdict::Value | Verdict::Cancelled => Step::Done(verdict),
            _ if self.parts.fallback || self.degradation.is_some() => Step::Fallback(verdict),
            _ => Step::Done(verdict),
        };
        if matches!(step, Step::Fallback(_)) {
            self.counters.fallbacks.fetch_add(1, Relaxed);
        }
        step
    }

    fn event(&self, kind: EventKind) -> Event {
        Event::new(kind, &self.name, self.clock.wall_ms())
    }

    /// Listens to the policy's own events (`retry`, `give_up`); the breaker has its own.
    pub fn subscribe(&self, kind: Option<EventKind>, listener: Listener) -> ListenerId {
        self.events.subscribe(kind, listener)
    }

    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        self.events.unsubscribe(id)
    }
}

/// The `result` label values of `breakwater_policy_calls_total`, in [`PolicyStats::results`]
/// order.
pub const RESULT_NAMES: [&str; 5] = [
    "value",
    "user_error",
    "retry_exhausted",
    "rejected",
    "cancelled",
];
const RESULT_CANCELLED: usize = 4;
/// The `reason` label values of `breakwater_policy_rejections_total`, in
/// [`PolicyStats::rejections`] order.
pub const REJECTION_NAMES: [&str; 3] = ["circuit_open", "rate_limited", "bulkhead_full"];

/// Relaxed atomic counters: one uncontended add per event, no allocation, no lock.
#[derive(Debug, Default)]
struct PolicyCounters {
    attempts: AtomicU64,
    retries: AtomicU64,
    give_ups: [AtomicU64; 9],
    results: [AtomicU64; 5],
    rejections: [AtomicU64; 3],
    fallbacks: AtomicU64,
}

impl PolicyCounters {
    fn count(&self, verdict: &Verdict) {
        let result = match verdict {
            Verdict::Value => 0,
            Verdict::UserError => 1,
            Verdict::RetryExhausted { .. } => 2,
            Verdict::Rejected { code, .. } => {
                let i = match code {
                    ErrorCode::CircuitOpen => Some(0),
                    ErrorCode::RateLimited => Some(1),
                    ErrorCode::BulkheadFull => Some(2),
                    _ => None,
                };
                if let Some(i) = i {
                    self.rejections[i].fetch_add(1, Relaxed);
                }
                3
            }
            Verdict::Cancelled => RESULT_CANCELLED,
        };
        self.results[result].fetch_add(1, Relaxed);
    }
}

/// A policy's counters, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PolicyStats {
    /// Attempts started, first attempts included.
    pub attempts_total: u64,
    /// Retries scheduled (the policy asked the host to sleep and try again).
    pub retries_total: u64,
    /// Give-ups by reason, indexed by `GiveUpReason as usize` (the order of
    /// [`GiveUpReason::ALL`]).
    pub give_ups: [u64; 9],
    /// Finished calls by result, in [`RESULT_NAMES`] order.
    pub results: [u64; 5],
    /// Refusals by reason, in [`REJECTION_NAMES`] order.
    pub rejections: [u64; 3],
    /// Calls whose verdict went to the fallback step.
    pub fallbacks_total: u64,
}

impl Policy {
    /// The policy's counters (relaxed reads: each is exact, they are not read as one atomic
    /// snapshot).
    pub fn stats(&self) -> PolicyStats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Relaxed);
        PolicyStats {
            attempts_total: load(&c.attempts),
            retries_total: load(&c.retries),
            give_ups: c.give_ups.each_ref().map(load),
            results: c.results.each_ref().map(load),
            rejections: c.rejections.each_ref().map(load),
            fallbacks_total: load(&c.fallbacks),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::breaker::BreakerConfig;
    use crate::clock::ManualClock;
    use crate::retry::{Jitter, RetryConfig};

    fn setup(max_attempts: u32) -> (Arc<ManualClock>, Policy) {
        let clock = Arc::new(ManualClock::new());
        let breaker = CircuitBreaker::new(
            "svc",
            BreakerConfig::default(),
            ClockRef::Manual(clock.clone()),
        )
        .unwrap();
        let retry = RetryPolicy::new(
            RetryConfig {
                max_attempts,
                jitter: Jitter::None,
                ..RetryConfig::default()
            },
            1,
            None,
        )
        .unwrap();
        let parts = PolicyParts {
            breaker: Some(Arc::new(breaker)),
            retry: Some(Arc::new(retry)),
            ..PolicyParts::default()
        };
        (clock, Policy::new("svc", parts).unwrap())
    }

    #[test]
    fn retries_then_succeeds() {
        let (_, p) = setup(3);
        let (mut call, step) = p.start();
        assert_eq!(
            step,
            Step::Attempt {
                attempt: 1,
                timeout: None
            }
        );
        let step = p.on_outcome(
            &mut call,
            AttemptOutcome::Failure(Classification::of(Category::Server)),
        );
        assert_eq!(
            step,
            Step::Sleep {
                delay: Duration::from_millis(200)
            }
        );
        assert_eq!(
            p.after_sleep(&mut call),
            Step::Attempt {
                attempt: 2,
                timeout: None
            }
        );
        assert_eq!(
            p.on_outcome(&mut call, AttemptOutcome::Success),
            Step::Done(Verdict::Value)
        );
    }

    #[test]
    fn exhaustion_and_not_retryable() {
        let (_, p) = setup(2);
        let (mut call, _) = p.start();
        let server = AttemptOutcome::Failure(Classification::of(Category::Server));
        assert!(matches!(
            p.on_outcome(&mut call, server),
            Step::Sleep { .. }
        ));
        p.after_sleep(&mut call);
        assert_eq!(
            p.on_outcome(&mut call, server),
            Step::Done(Verdict::RetryExhausted {
                attempts: 2,
                reason: GiveUpReason::MaxAttempts
            })
        );
        let (mut call, _) = p.start();
        let client = AttemptOutcome::Failure(Classification::of(Category::Client));
        assert_eq!(
            p.on_outcome(&mut call, client),
            Step::Done(Verdict::UserError)
        );
    }

    #[test]
    fn a_degradation_manager_chooses_at_the_fallback_step() {
        use crate::degradation::{DegradationConfig, Level, StrategySpec};
        let (clock, p) = setup(1);
        let m = Arc::new(
            DegradationManager::new(DegradationConfig::default(), ClockRef::Manual(clock)).unwrap(),
        );
        m.register(StrategySpec::new(
            "offline",
            StrategyKind::OfflineResponse,
            1,
        ));
        let p = p.with_degradation(m.clone()).unwrap();
        let (mut call, _) = p.start();
        let timeout = AttemptOutcome::Failure(Classification::of(Category::Timeout));
        assert!(matches!(
            p.on_outcome(&mut call, timeout),
            Step::Fallback(Verdict::RetryExhausted { .. })
        ));
        let c = p.choose_fallback(&call, &FallbackInput::default()).unwrap();
        assert_eq!((&*c.strategy, c.trigger), ("offline", Trigger::Timeout));
        let info = call.fallback_info(Some(&c));
        assert!(info.from_fallback && info.reason == Some(Trigger::Timeout) && !info.stale);
        assert_eq!(m.level("svc"), Level::Partial);
        let (mut call, _) = p.start();
        assert_eq!(
            p.on_outcome(&mut call, AttemptOutcome::Success),
            Step::Done(Verdict::Value)
        );
        assert!(!call.info().from_fallback);
        assert_eq!(m.level("svc"), Level::None, "a live success recovers");

        let other = Arc::new(
            DegradationManager::new(DegradationConfig::default(), ClockRef::system()).unwrap(),
        );
        let (_, p2) = setup(1);
        assert_eq!(p2.with_degradation(other).unwrap_err().first().key, "clock");
    }

    #[test]
    fn parts_must_share_a_clock() {
        let breaker =
            CircuitBreaker::new("b", BreakerConfig::default(), ClockRef::system()).unwrap();
        let parts = PolicyParts {
            breaker: Some(Arc::new(breaker)),
            clock: Some(ClockRef::Manual(Arc::new(ManualClock::new()))),
            ..PolicyParts::default()
        };
        assert_eq!(Policy::new("p", parts).unwrap_err().first().key, "clock");
    }
}
