//! The circuit breaker (contract section 2), as a permit protocol: the host asks
//! [`CircuitBreaker::try_acquire`] for a [`Permit`], runs the user's call with no lock held,
//! then hands the permit back with [`CircuitBreaker::record`] (or [`CircuitBreaker::release`]).
//!
//! The closed, disabled and metrics-only states admit without taking the lock (one atomic load),
//! and an open breaker rejects without it too; the lock is taken to record an outcome and for
//! the rare transitions. Time-driven transitions are lazy: they happen at the first
//! `try_acquire` after their deadline. Events are collected under the lock and handed to
//! listeners after it is released.

mod config;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use config::{BreakerConfig, RecoveryBackoff, WindowConfig};

use crate::category::Category;
use crate::clock::{ClockRef, Nanos, duration_to_nanos};
use crate::config::ConfigErrors;
use crate::error::ErrorCode;
use crate::event::{Event, EventBus, EventKind, Listener, ListenerId};
use crate::metrics::DurationHistogram;
use crate::sync::{AtomicU64, Mutex, Ordering};
use crate::window::{CountWindow, SlidingWindow, Tally, TimeWindow, Window};

crate::names::named_enum! {
    /// The breaker's states; `as_str` gives the name used in every language.
    #[repr(u8)]
    pub enum State {
        Closed => "closed",
        Open => "open",
        HalfOpen => "half_open",
        ForcedOpen => "forced_open",
        Disabled => "disabled",
        MetricsOnly => "metrics_only",
    }
}

impl State {
    fn from_bits(bits: u64) -> State {
        State::ALL[(bits & STATE_MASK) as usize]
    }
}

crate::names::named_enum! {
    /// Why a transition happened (the `reason` of a `state_change` event).
    pub enum TransitionReason {
        ConsecutiveFailures => "consecutive_failures",
        FailureRate => "failure_rate",
        SlowCallRate => "slow_call_rate",
        RecoveryTimeout => "recovery_timeout",
        ProbesSucceeded => "probes_succeeded",
        ProbeFailed => "probe_failed",
        HalfOpenTimeout => "half_open_timeout",
        Manual => "manual",
    }
}

/// A state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub reason: TransitionReason,
}

/// Permission to make one call. Hand it back exactly once, to `record` or `release`.
/// It is a small `Copy` value so bindings can carry it across their boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    generation: u64,
    start: Nanos,
    probe: bool,
}

impl Permit {
    /// The breaker generation it was granted in.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// When the call started, on the breaker's clock.
    pub fn start(&self) -> Nanos {
        self.start
    }
    /// Whether it holds one of the half-open probe slots.
    pub fn is_probe(&self) -> bool {
        self.probe
    }
    /// Rebuilds a permit from its parts (for bindings that carry it as plain fields).
    pub fn from_parts(generation: u64, start: Nanos, probe: bool) -> Self {
        Self {
            generation,
            start,
            probe,
        }
    }
}

/// The breaker said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// The state that rejected: open, half_open (probes full) or forced_open.
    pub state: State,
    /// When to try again: the rest of the open period; zero when half-open is full; `None`
    /// when forced open.
    pub retry_after: Option<Duration>,
}

impl Rejection {
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::CircuitOpen
    }
}

/// How a call ended, as the host classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A failure of this category; the breaker ignores it when the category is in
    /// `ignored_categories` (client and cancelled by default).
    Failure(Category),
    /// Counts as neither success nor failure.
    Ignored(Category),
}

/// A point-in-time view of a breaker (contract section 2, "Snapshot fields").
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub state: State,
    /// Time in the current state.
    pub state_since: Duration,
    pub calls: u64,
    pub failures: u64,
    pub slow_calls: u64,
    pub failure_rate: f64,
    pub slow_call_rate: f64,
    pub consecutive_failures: u64,
    pub consecutive_successes: u64,
    pub calls_total: u64,
    pub successes_total: u64,
    pub failures_total: u64,
    pub ignored_total: u64,
    pub rejected_total: u64,
    pub times_opened: u64,
    pub last_failure_category: Option<Category>,
    /// The rest of the open period, while open.
    pub retry_after: Option<Duration>,
}

const STATE_MASK: u64 = 0b111;

#[inline]
fn pack(generation: u64, state: State) -> u64 {
    (generation << 3) | state as u64
}

/// Everything the lock protects.
#[derive(Debug)]
struct Inner {
    config: BreakerConfig,
    state: State,
    generation: u64,
    state_since: Nanos,
    open_until: Nanos,
    window: Window,
    consecutive_failures: u64,
    consecutive_successes: u64,
    probes_in_flight: u32,
    opens_in_a_row: u32,
    successes_total: u64,
    failures_total: u64,
    ignored_total: u64,
    times_opened: u64,
    last_failure_category: Option<Category>,
    /// Entries into each state (indexed by `State as usize`); never reset.
    transitions_to: [u64; 6],
    slow_calls_total: u64,
    durations: DurationHistogram,
}

/// Counters kept for metrics, beyond the snapshot: transitions per state entered (never reset),
/// slow calls and the call-duration histogram (lifetime totals: `reset()` zeroes them). Every
/// recorded outcome (success, failure, ignored; late results included) is in the histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BreakerMetrics {
    pub transitions_to: [u64; 6],
    pub slow_calls_total: u64,
    pub durations: DurationHistogram,
}

fn new_window(w: &WindowConfig) -> Window {
    match *w {
        WindowConfig::Count { size } => Window::Count(CountWindow::new(size as usize)),
        WindowConfig::Time { duration, buckets } => {
            Window::Time(TimeWindow::new(duration.as_millis() as u64, buckets))
        }
    }
}

/// What one operation did, collected under the lock and turned into events after it.
#[derive(Debug, Default, Clone, Copy)]
struct Effects {
    outcome: Option<(EventKind, Option<Category>, Nanos)>,
    slow: Option<Nanos>,
    transition: Option<Transition>,
    rejected: bool,
}

/// A circuit breaker. Share it with `Arc`; every method takes `&self`.
pub struct CircuitBreaker {
    name: Arc<str>,
    clock: ClockRef,
    /// generation << 3 | state: the lock-free admission path reads only this.
    fast: AtomicU64,
    /// The end of the open period, for lock-free rejections while open.
    open_until: AtomicU64,
    rejected_total: AtomicU64,
    inner: Mutex<Inner>,
    events: EventBus,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl CircuitBreaker {
    /// A breaker named `name` (its component name in events and metrics).
    pub fn new(name: &str, config: BreakerConfig, clock: ClockRef) -> Result<Self, ConfigErrors> {
        config.validate()?;
        let now = clock.now();
        Ok(Self {
            name: Arc::from(name),
            fast: AtomicU64::new(pack(0, State::Closed)),
            open_until: AtomicU64::new(0),
            rejected_total: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                window: new_window(&config.window),
                config,
                state: State::Closed,
                generation: 0,
                state_since: now,
                open_until: 0,
                consecutive_failures: 0,
                consecutive_successes: 0,
                probes_in_flight: 0,
                opens_in_a_row: 0,
                successes_total: 0,
                failures_total: 0,
                ignored_total: 0,
                times_opened: 0,
                last_failure_category: None,
                transitions_to: [0; 6],
                slow_calls_total: 0,
                durations: DurationHistogram::default(),
            }),
            clock,
            events: EventBus::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn clock(&self) -> &ClockRef {
        &self.clock
    }

    pub fn config(&self) -> BreakerConfig {
        self.inner.lock().config.clone()
    }

    /// Asks to make a call. Closed, disabled and metrics-only admit lock-free; open rejects
    /// lock-free until its period ends; the rest decides under the lock.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit, Rejection> {
        self.admit(|| self.clock.now())
    }

    /// [`CircuitBreaker::try_acquire`] at a time the caller just read from this breaker's
    /// clock, so a caller that needs the time anyway (the policy pipeline) reads it once.
    #[inline]
    pub fn try_acquire_at(&self, now: Nanos) -> Result<Permit, Rejection> {
        self.admit(|| now)
    }

    /// The admission decision; `now` is only read on the paths that need the time.
    #[inline]
    fn admit(&self, now: impl FnOnce() -> Nanos) -> Result<Permit, Rejection> {
        let fast = self.fast.load(Ordering::Acquire);
        let state = State::from_bits(fast);
        match state {
            State::Closed | State::Disabled | State::MetricsOnly => Ok(Permit {
                generation: fast >> 3,
                start: now(),
                probe: false,
            }),
            State::ForcedOpen => Err(self.reject_fast(State::ForcedOpen, None)),
            State::Open => {
                let now = now();
                let until = self.open_until.load(Ordering::Acquire);
                if now < until {
                    Err(self.reject_fast(State::Open, Some(Duration::from_nanos(until - now))))
                } else {
                    self.acquire_locked(now)
                }
            }
            State::HalfOpen => self.acquire_locked(now()),
        }
    }

    #[inline]
    fn reject_fast(&self, state: State, retry_after: Option<Duration>) -> Rejection {
        self.rejected_total.fetch_add(1, Ordering::Relaxed);
        if self.events.is_active() {
            self.emit(Effects {
                rejected: true,
                ..Effects::default()
            });
        }
        Rejection { state, retry_after }
    }

    #[cold]
    fn acquire_locked(&self, now: Nanos) -> Result<Permit, Rejection> {
        let mut fx = Effects::default();
        let result = {
            let mut g = self.inner.lock();
            let inner = &mut *g;
            if inner.state == State::Open && now >= inner.open_until {
                fx.transition = Some(self.enter(
                    inner,
                    State::HalfOpen,
                    TransitionReason::RecoveryTimeout,
                    now,
                ));
            } else if inner.state == State::HalfOpen
                && inner
                    .config
                    .max_half_open
                    .is_some_and(|d| now.saturating_sub(inner.state_since) >= duration_to_nanos(d))
            {
                fx.transition =
                    Some(self.enter(inner, State::Open, TransitionReason::HalfOpenTimeout, now));
            }
            match inner.state {
                State::Closed | State::Disabled | State::MetricsOnly => Ok(Permit {
                    generation: inner.generation,
                    start: now,
                    probe: false,
                }),
                State::HalfOpen if inner.probes_in_flight < inner.config.half_open_max_calls => {
                    inner.probes_in_flight += 1;
                    Ok(Permit {
                        generation: inner.generation,
                        start: now,
                        probe: true,
                    })
                }
                State::HalfOpen => Err(Rejection {
                    state: State::HalfOpen,
                    retry_after: Some(Duration::ZERO),
                }),
                State::Open => Err(Rejection {
                    state: State::Open,
                    retry_after: Some(Duration::from_nanos(inner.open_until.saturating_sub(now))),
                }),
                State::ForcedOpen => Err(Rejection {
                    state: State::ForcedOpen,
                    retry_after: None,
                }),
            }
        };
        if result.is_err() {
            self.rejected_total.fetch_add(1, Ordering::Relaxed);
            fx.rejected = true;
        }
        self.emit(fx);
        result
    }

    /// Hands back a permit with the call's outcome. The duration is measured on the breaker's
    /// clock from the permit's start.
    pub fn record(&self, permit: Permit, outcome: Outcome) {
        let fast = self.fast.load(Ordering::Acquire);
        if State::from_bits(fast) == State::Disabled && fast >> 3 == permit.generation {
            return; // disabled records nothing: skip the lock entirely
        }
        let now = self.clock.now();
        let duration = now.saturating_sub(permit.start);
        let mut fx = Effects::default();
        {
            let mut g = self.inner.lock();
            let inner = &mut *g;
            let outcome = match outcome {
                Outcome::Failure(c) if inner.config.ignored_categories.contains(c) => {
                    Outcome::Ignored(c)
                }
                o => o,
            };
            let slow = !matches!(outcome, Outcome::Ignored(_))
                && inner
                    .config
                    .slow_call_duration
                    .is_some_and(|d| duration >= duration_to_nanos(d));
            if inner.state == State::Disabled {
                // A call admitted before `disable()` ended while disabled: disabled records nothing.
            } else if permit.generation != inner.generation {
                // A late result: it happened, so lifetime totals see it; the current state's
                // window and decisions never do.
                Self::count_total(inner, outcome);
                inner.durations.record(duration);
                inner.slow_calls_total += slow as u64;
                fx.outcome = Some(outcome_event(outcome, duration));
                fx.slow = slow.then_some(duration);
            } else {
                inner.durations.record(duration);
                inner.slow_calls_total += slow as u64;
                fx.outcome = Some(outcome_event(outcome, duration));
                fx.slow = slow.then_some(duration);
                fx.transition = self.record_current(inner, permit, outcome, slow, now);
            }
        }
        self.emit(fx);
    }

    fn count_total(inner: &mut Inner, outcome: Outcome) {
        match outcome {
            Outcome::Success => inner.successes_total += 1,
            Outcome::Failure(c) => {
                inner.failures_total += 1;
                inner.last_failure_category = Some(c);
            }
            Outcome::Ignored(_) => inner.ignored_total += 1,
        }
    }

    /// Records an outcome of the current generation and returns the transition it caused.
    fn record_current(
        &self,
        inner: &mut Inner,
        permit: Permit,
        outcome: Outcome,
        slow: bool,
        now: Nanos,
    ) -> Option<Transition> {
        Self::count_total(inner, outcome);
        if permit.probe && inner.state == State::HalfOpen {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
        }
        let failure = match outcome {
            Outcome::Ignored(_) => return None,
            Outcome::Success => {
                inner.consecutive_failures = 0;
                inner.consecutive_successes += 1;
                false
            }
            Outcome::Failure(_) => {
                inner.consecutive_successes = 0;
                inner.consecutive_failures += 1;
                true
            }
        };
        inner.window.record(now, failure, slow);
        match inner.state {
            State::Closed => {
                let reason = Self::evaluate(inner, failure, now)?;
                Some(self.enter(inner, State::Open, reason, now))
            }
            State::HalfOpen if failure => {
                Some(self.enter(inner, State::Open, TransitionReason::ProbeFailed, now))
            }
            State::HalfOpen
                if inner.consecutive_successes >= inner.config.success_threshold as u64 =>
            {
                Some(self.enter(inner, State::Closed, TransitionReason::ProbesSucceeded, now))
            }
            _ => None,
        }
    }

    /// The closed-state triggers, in the contract's order.
    fn evaluate(inner: &mut Inner, failure: bool, now: Nanos) -> Option<TransitionReason> {
        let c = &inner.config;
        if failure
            && c.failure_threshold > 0
            && inner.consecutive_failures >= c.failure_threshold as u64
        {
            return Some(TransitionReason::ConsecutiveFailures);
        }
        let minimum = c.effective_minimum_calls();
        let t = inner.window.tally(now);
        if t.calls < minimum {
            return None;
        }
        if t.failure_rate() >= c.failure_rate_threshold {
            return Some(TransitionReason::FailureRate);
        }
        if c.slow_call_duration.is_some() && t.slow_rate() >= c.slow_call_rate_threshold {
            return Some(TransitionReason::SlowCallRate);
        }
        None
    }

    /// Moves to `to`, applying the entry rules, and publishes the new fast word.
    fn enter(
        &self,
        inner: &mut Inner,
        to: State,
        reason: TransitionReason,
        now: Nanos,
    ) -> Transition {
        let from = inner.state;
        inner.state = to;
        inner.transitions_to[to as usize] += 1;
        inner.generation += 1;
        inner.state_since = now;
        inner.probes_in_flight = 0;
        if to == State::Open {
            // The window freezes: the snapshot keeps showing what opened the circuit.
            inner.opens_in_a_row = inner.opens_in_a_row.saturating_add(1);
            inner.times_opened += 1;
            inner.open_until = now.saturating_add(open_period(&inner.config, inner.opens_in_a_row));
            self.open_until.store(inner.open_until, Ordering::Release);
        } else {
            inner.window.clear();
            inner.consecutive_failures = 0;
            inner.consecutive_successes = 0;
        }
        if to == State::Closed {
            inner.opens_in_a_row = 0;
        }
        self.fast
            .store(pack(inner.generation, to), Ordering::Release);
        Transition { from, to, reason }
    }

    /// Gives a permit back without an outcome (the call never ran, or was cancelled): counts
    /// nothing and frees its half-open slot.
    pub fn release(&self, permit: Permit) {
        if !permit.probe {
            return;
        }
        let mut inner = self.inner.lock();
        if inner.generation == permit.generation && inner.state == State::HalfOpen {
            inner.probes_in_flight = inner.probes_in_flight.saturating_sub(1);
        }
    }

    /// The current state. Pure: reports `half_open` once the open period has passed, without
    /// transitioning.
    pub fn state(&self) -> State {
        match State::from_bits(self.fast.load(Ordering::Acquire)) {
            State::Open if self.clock.now() >= self.open_until.load(Ordering::Acquire) => {
                State::HalfOpen
            }
            s => s,
        }
    }

    /// A consistent view of the breaker. Pure, like `state`.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.clock.now();
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let due = inner.state == State::Open && now >= inner.open_until;
        let (state, since, tally, cf, cs) = if due {
            // What the lazy transition will make of it: a fresh half-open period.
            (State::HalfOpen, inner.open_until, Tally::default(), 0, 0)
        } else {
            let tally = if inner.state == State::Open {
                inner.window.current() // frozen: shows what opened the circuit
            } else {
                inner.window.tally(now)
            };
            (
                inner.state,
                inner.state_since,
                tally,
                inner.consecutive_failures,
                inner.consecutive_successes,
            )
        };
        Snapshot {
            state,
            state_since: Duration::from_nanos(now.saturating_sub(since)),
            calls: tally.calls,
            failures: tally.failures,
            slow_calls: tally.slow,
            failure_rate: tally.failure_rate(),
            slow_call_rate: tally.slow_rate(),
            consecutive_failures: cf,
            consecutive_successes: cs,
            calls_total: inner.successes_total + inner.failures_total,
            successes_total: inner.successes_total,
            failures_total: inner.failures_total,
            ignored_total: inner.ignored_total,
            rejected_total: self.rejected_total.load(Ordering::Relaxed),
            times_opened: inner.times_opened,
            last_failure_category: inner.last_failure_category,
            retry_after: (state == State::Open)
                .then(|| Duration::from_nanos(inner.open_until - now)),
        }
    }

    fn manual(&self, to: State) -> Option<Transition> {
        let now = self.clock.now();
        let t = {
            let mut inner = self.inner.lock();
            if inner.state == to {
                return None;
            }
            self.enter(&mut inner, to, TransitionReason::Manual, now)
        };
        self.emit(Effects {
            transition: Some(t),
            ..Effects::default()
        });
        Some(t)
    }

    /// Rejects every call until another manual state is chosen.
    pub fn force_open(&self) -> Option<Transition> {
        self.manual(State::ForcedOpen)
    }

    /// Normal operation from a clean window.
    pub fn force_close(&self) -> Option<Transition> {
        self.manual(State::Closed)
    }

    /// Admits every call and records nothing.
    pub fn disable(&self) -> Option<Transition> {
        self.manual(State::Disabled)
    }

    /// Admits every call and records it, but never trips.
    pub fn metrics_only(&self) -> Option<Transition> {
        self.manual(State::MetricsOnly)
    }

    /// Back to a brand-new closed breaker: window, counters, backoff and lifetime totals
    /// cleared. Emits a `state_change` only when the state changes.
    pub fn reset(&self) -> Option<Transition> {
        let now = self.clock.now();
        let t = {
            let mut g = self.inner.lock();
            let inner = &mut *g;
            let t = if inner.state == State::Closed {
                inner.generation += 1;
                inner.state_since = now;
                inner.window.clear();
                inner.consecutive_failures = 0;
                inner.consecutive_successes = 0;
                self.fast
                    .store(pack(inner.generation, State::Closed), Ordering::Release);
                None
            } else {
                Some(self.enter(inner, State::Closed, TransitionReason::Manual, now))
            };
            inner.opens_in_a_row = 0;
            inner.successes_total = 0;
            inner.failures_total = 0;
            inner.ignored_total = 0;
            inner.times_opened = 0;
            inner.last_failure_category = None;
            inner.slow_calls_total = 0;
            inner.durations = DurationHistogram::default();
            self.rejected_total.store(0, Ordering::Relaxed);
            t
        };
        if t.is_some() {
            self.emit(Effects {
                transition: t,
                ..Effects::default()
            });
        }
        t
    }

    /// The counters kept for metrics (see [`BreakerMetrics`]).
    pub fn metrics(&self) -> BreakerMetrics {
        let inner = self.inner.lock();
        BreakerMetrics {
            transitions_to: inner.transitions_to,
            slow_calls_total: inner.slow_calls_total,
            durations: inner.durations,
        }
    }

    /// Applies a new config to the live breaker, keeping its state and counters. A different
    /// window kind or size starts a fresh window. An invalid config changes nothing.
    pub fn configure(&self, config: BreakerConfig) -> Result<(), ConfigErrors> {
        config.validate()?;
        let mut inner = self.inner.lock();
        if inner.config.window != config.window {
            inner.window = new_window(&config.window);
        }
        inner.config = config;
        Ok(())
    }

    /// Calls `listener` for each event of `kind` (all kinds when `None`).
    pub fn subscribe(&self, kind: Option<EventKind>, listener: Listener) -> ListenerId {
        self.events.subscribe(kind, listener)
    }

    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        self.events.unsubscribe(id)
    }

    /// Turns effects into events and hands them out. Called with no lock held.
    fn emit(&self, fx: Effects) {
        if !self.events.is_active() {
            return;
        }
        let at = self.clock.wall_ms();
        if let Some((kind, category, duration)) = fx.outcome {
            let mut e = Event::new(kind, &self.name, at);
            e.category = category;
            e.duration = Some(Duration::from_nanos(duration));
            self.events.emit(&e);
        }
        if let Some(d) = fx.slow {
            let mut e = Event::new(EventKind::SlowCall, &self.name, at);
            e.duration = Some(Duration::from_nanos(d));
            self.events.emit(&e);
        }
        if let Some(t) = fx.transition {
            let mut e = Event::new(EventKind::StateChange, &self.name, at);
            e.from = Some(t.from);
            e.to = Some(t.to);
            e.reason = Some(t.reason.as_str());
            self.events.emit(&e);
        }
        if fx.rejected {
            self.events
                .emit(&Event::new(EventKind::CallRejected, &self.name, at));
        }
    }
}

fn outcome_event(outcome: Outcome, duration: Nanos) -> (EventKind, Option<Category>, Nanos) {
    match outcome {
        Outcome::Success => (EventKind::Success, None, duration),
        Outcome::Failure(c) => (EventKind::Failure, Some(c), duration),
        Outcome::Ignored(c) => (EventKind::Ignored, Some(c), duration),
    }
}

/// recovery_timeout x multiplier^(opens_in_a_row - 1), capped at the backoff's max.
fn open_period(c: &BreakerConfig, opens_in_a_row: u32) -> Nanos {
    let base = duration_to_nanos(c.recovery_timeout);
    match c.recovery_backoff {
        None => base,
        Some(b) => {
            let exp = opens_in_a_row.saturating_sub(1).min(i32::MAX as u32) as i32;
            let scaled = base as f64 * b.multiplier.powi(exp);
            let max = duration_to_nanos(b.max);
            if scaled >= max as f64 {
                max
            } else {
                scaled.round() as u64
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    fn breaker(cfg: BreakerConfig) -> Arc<CircuitBreaker> {
        let clock = ClockRef::Manual(Arc::new(crate::clock::ManualClock::new()));
        Arc::new(CircuitBreaker::new("loom", cfg, clock).unwrap())
    }

    /// Two threads race for one half-open probe slot: exactly one wins.
    #[test]
    fn half_open_admits_at_most_max_calls() {
        loom::model(|| {
            let cfg = BreakerConfig {
                failure_threshold: 1,
                half_open_max_calls: 1,
                recovery_timeout: Duration::from_nanos(1),
                ..BreakerConfig::default()
            };
            let b = breaker(cfg);
            let p = b.try_acquire().unwrap();
            b.record(p, Outcome::Failure(Category::Server));
            if let ClockRef::Manual(c) = b.clock() {
                c.advance(Duration::from_nanos(1));
            }
            let b2 = b.clone();
            let t = thread::spawn(move || b2.try_acquire().is_ok());
            let here = b.try_acquire().is_ok();
            let there = t.join().unwrap();
            assert!(here ^ there, "exactly one probe admitted");
        });
    }

    /// A record racing a failure that opens the circuit never corrupts the counts: either it
    /// landed in the window before the transition or it is a late result.
    #[test]
    fn concurrent_records_keep_exact_totals() {
        loom::model(|| {
            let cfg = BreakerConfig {
                failure_threshold: 1,
                ..BreakerConfig::default()
            };
            let b = breaker(cfg);
            let p1 = b.try_acquire().unwrap();
            let p2 = b.try_acquire().unwrap();
            let b2 = b.clone();
            let t = thread::spawn(move || b2.record(p2, Outcome::Success));
            b.record(p1, Outcome::Failure(Category::Server));
            t.join().unwrap();
            let s = b.snapshot();
            assert_eq!(s.calls_total, 2);
            assert_eq!(s.state, State::Open);
            assert_eq!(s.times_opened, 1);
        });
    }
}
