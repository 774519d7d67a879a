//! The degradation manager: which components are degraded, why and how badly; which strategy
//! serves a failed call; recovery; history and statistics.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::rules::{DegradationConfig, Rule};
use super::strategy::{
    FallbackChoice, FallbackContext, Strategy, StrategyInfo, StrategyKind, StrategySpec,
};
use super::{Level, Trigger};
use crate::breaker::State;
use crate::cache::Freshness;
use crate::clock::{ClockRef, Nanos};
use crate::config::ConfigErrors;
use crate::event::{Event, EventBus, EventKind, Listener, ListenerId};
use crate::sync::Mutex;

/// One component's current degradation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveDegradation {
    pub component: Arc<str>,
    pub level: Level,
    /// The trigger whose clearing recovers it (the latest one that raised the level).
    pub trigger: Trigger,
    /// When it started, monotonic on the manager's clock.
    pub since: Nanos,
    /// When it started, wall time (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// The strategy that served its latest fallback.
    pub strategy: Option<Arc<str>>,
    /// Fallbacks served for the component during this degradation.
    pub calls_served: u64,
}

/// How a degradation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recovery {
    /// Its trigger cleared (auto_recovery on).
    Auto,
    /// `force_recovery` / `force_recovery_all`.
    Forced,
}

impl Recovery {
    pub const fn as_str(self) -> &'static str {
        match self {
            Recovery::Auto => "auto",
            Recovery::Forced => "forced",
        }
    }
}

/// One degradation in the history, ongoing or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub component: Arc<str>,
    /// The trigger that started it.
    pub trigger: Trigger,
    /// The highest level it reached.
    pub level: Level,
    pub since: Nanos,
    pub started_at_ms: u64,
    /// How long it lasted; `None` while it is active.
    pub duration: Option<Duration>,
    pub strategy: Option<Arc<str>>,
    pub calls_served: u64,
    /// How it ended; `None` while it is active.
    pub recovery: Option<Recovery>,
}

/// One component's lifetime figures, for exposition (`breakwater_degradation_*`): every
/// component that was ever degraded, degraded now or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTotals {
    pub component: Arc<str>,
    /// Its level now (`none` when it is not degraded).
    pub level: Level,
    pub active: bool,
    /// Degradations of this component started.
    pub triggered_total: u64,
    /// Fallbacks a strategy served for this component.
    pub served_total: u64,
}

/// Lifetime statistics (not bounded by the history).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DegradationStats {
    /// Components degraded now.
    pub active: usize,
    /// Degradations started.
    pub total_triggered: u64,
    /// Degradations ended (auto or forced).
    pub total_recovered: u64,
    /// Fallbacks served by a strategy.
    pub calls_served: u64,
    /// The trigger that started the most degradations; ties go to the first in
    /// [`Trigger::ALL`]'s order. `None` before the first.
    pub most_frequent_reason: Option<Trigger>,
    /// Degradations started, per trigger, in [`Trigger::ALL`]'s order.
    pub by_reason: Vec<(Trigger, u64)>,
    /// Mean and longest duration of the degradations that ended; `None` before the first.
    pub mean_duration: Option<Duration>,
    pub max_duration: Option<Duration>,
}

#[derive(Debug)]
struct Active {
    episode: u64,
    level: Level,
    trigger: Trigger,
    since: Nanos,
    started_at_ms: u64,
    strategy: Option<Arc<str>>,
    calls_served: u64,
}

#[derive(Debug)]
struct Inner {
    enabled: bool,
    max_history: usize,
    auto_recovery: bool,
    rules: Arc<[Rule]>,
    strategies: Arc<[Arc<Strategy>]>,
    next_strategy: u64,
    active: BTreeMap<Arc<str>, Active>,
    history: VecDeque<(u64, HistoryEntry)>,
    next_episode: u64,
    total_triggered: u64,
    total_recovered: u64,
    calls_served: u64,
    by_reason: [u64; 6],
    duration_sum: u128,
    duration_max: Option<Nanos>,
    /// Per component: (degradations started, fallbacks served).
    per_component: BTreeMap<Arc<str>, (u64, u64)>,
}

/// Events gathered under the lock, emitted after it is released.
struct Pending {
    events: Vec<Event>,
    build: bool,
    wall_ms: u64,
}

impl Pending {
    fn event(
        &mut self,
        kind: EventKind,
        component: &Arc<str>,
        trigger: Trigger,
        level: Level,
        strategy: Option<&Arc<str>>,
        duration: Option<Duration>,
    ) {
        if self.build {
            let mut e = Event::new(kind, component, self.wall_ms);
            e.reason = Some(trigger.as_str());
            e.severity = Some(level.as_str());
            e.strategy = strategy.cloned();
            e.duration = duration;
            self.events.push(e);
        }
    }
}

impl Inner {
    fn history_mut(&mut self, episode: u64) -> Option<&mut HistoryEntry> {
        let i = self
            .history
            .binary_search_by_key(&episode, |(id, _)| *id)
            .ok()?;
        Some(&mut self.history[i].1)
    }

    fn trim_history(&mut self) {
        while self.history.len() > self.max_history {
            self.history.pop_front();
        }
    }

    /// Starts a degradation, or changes its level (see `trigger`). Whether anything changed.
    fn raise(
        &mut self,
        component: &Arc<str>,
        trigger: Trigger,
        level: Level,
        now: Nanos,
        p: &mut Pending,
    ) -> bool {
        if !self.enabled || level == Level::None {
            return false;
        }
        if let Some(a) = self.active.get_mut(component) {
            let changed = if a.trigger == trigger {
                a.level != level
            } else {
                level > a.level
            };
            if !changed {
                return false;
            }
            a.level = level;
            a.trigger = trigger;
            let (episode, strategy) = (a.episode, a.strategy.clone());
            if let Some(h) = self.history_mut(episode) {
                h.level = h.level.max(level);
            }
            p.event(
                EventKind::DegradationTriggered,
                component,
                trigger,
                level,
                strategy.as_ref(),
                None,
            );
            return true;
        }
        let episode = self.next_episode;
        self.next_episode += 1;
        self.active.insert(
            component.clone(),
            Active {
                episode,
                level,
                trigger,
                since: now,
                started_at_ms: p.wall_ms,
                strategy: None,
                calls_served: 0,
            },
        );
        if self.max_history > 0 {
            self.history.push_back((
                episode,
                HistoryEntry {
                    component: component.clone(),
                    trigger,
                    level,
                    since: now,
                    started_at_ms: p.wall_ms,
                    duration: None,
                    strategy: None,
                    calls_served: 0,
                    recovery: None,
                },
            ));
            self.trim_history();
        }
        self.total_triggered += 1;
        self.by_reason[trigger as usize] += 1;
        self.per_component.entry(component.clone()).or_default().0 += 1;
        p.event(
            EventKind::DegradationTriggered,
            component,
            trigger,
            level,
            None,
            None,
        );
        true
    }

    fn recover(&mut self, component: &str, how: Recovery, now: Nanos, p: &mut Pending) -> bool {
        let Some((name, a)) = self.active.remove_entry(component) else {
            return false;
        };
        let nanos = now.saturating_sub(a.since);
        let duration = Duration::from_nanos(nanos);
        if let Some(h) = self.history_mut(a.episode) {
            h.duration = Some(duration);
            h.recovery = Some(how);
        }
        self.total_recovered += 1;
        self.duration_sum += nanos as u128;
        self.duration_max = Some(self.duration_max.map_or(nanos, |m| m.max(nanos)));
        p.event(
            EventKind::DegradationRecovered,
            &name,
            a.trigger,
            a.level,
            a.strategy.as_ref(),
            Some(duration),
        );
        true
    }

    fn served(&mut self, component: &Arc<str>, strategy: &Arc<str>) {
        self.calls_served += 1;
        self.per_component.entry(component.clone()).or_default().1 += 1;
        let Some(a) = self.active.get_mut(component) else {
            return;
        };
        a.strategy = Some(strategy.clone());
        a.calls_served += 1;
        let (episode, calls) = (a.episode, a.calls_served);
        if let Some(h) = self.history_mut(episode) {
            h.strategy = Some(strategy.clone());
            h.calls_served = calls;
        }
    }
}

/// Tracks degradations per component and chooses fallback strategies. Share it with `Arc`;
/// every method takes `&self`. Listeners and predicates run with no lock held.
pub struct DegradationManager {
    clock: ClockRef,
    inner: Mutex<Inner>,
    active_count: AtomicUsize,
    events: EventBus,
}

impl fmt::Debug for DegradationManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DegradationManager")
            .field("active", &self.active_count.load(Ordering::Relaxed))
            .finish()
    }
}

/// What the manager does with a choice.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record {
    No,
    Yes,
}

impl DegradationManager {
    pub fn new(config: DegradationConfig, clock: ClockRef) -> Result<Self, ConfigErrors> {
        config.validate()?;
        Ok(DegradationManager {
            clock,
            inner: Mutex::new(Inner {
                enabled: config.enabled,
                max_history: config.max_history,
                auto_recovery: config.auto_recovery,
                rules: Arc::from(config.rules),
                strategies: Arc::from(Vec::new()),
                next_strategy: 0,
                active: BTreeMap::new(),
                history: VecDeque::new(),
                next_episode: 0,
                total_triggered: 0,
                total_recovered: 0,
                calls_served: 0,
                by_reason: [0; 6],
                duration_sum: 0,
                duration_max: None,
                per_component: BTreeMap::new(),
            }),
            active_count: AtomicUsize::new(0),
            events: EventBus::default(),
        })
    }

    pub fn clock(&self) -> &ClockRef {
        &self.clock
    }

    /// The current settings and rules.
    pub fn config(&self) -> DegradationConfig {
        let g = self.inner.lock();
        DegradationConfig {
            enabled: g.enabled,
            max_history: g.max_history,
            auto_recovery: g.auto_recovery,
            rules: g.rules.to_vec(),
        }
    }

    /// Replaces settings and rules; active degradations, strategies and statistics stay. A
    /// smaller `max_history` drops the oldest entries now.
    pub fn configure(&self, config: DegradationConfig) -> Result<(), ConfigErrors> {
        config.validate()?;
        let mut g = self.inner.lock();
        g.enabled = config.enabled;
        g.max_history = config.max_history;
        g.auto_recovery = config.auto_recovery;
        g.rules = Arc::from(config.rules);
        g.trim_history();
        Ok(())
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.inner.lock().rules.to_vec()
    }

    pub fn set_rules(&self, rules: Vec<Rule>) -> Result<(), ConfigErrors> {
        let mut cfg = self.config();
        cfg.rules = rules;
        self.configure(cfg)
    }

    pub fn auto_recovery(&self) -> bool {
        self.inner.lock().auto_recovery
    }

    pub fn set_auto_recovery(&self, on: bool) {
        self.inner.lock().auto_recovery = on;
    }

    // ----- strategies -----

    /// Registers a strategy under its name; a strategy already registered under that name is
    /// replaced in place (keeping its position in the registration order). Returns whether one
    /// was replaced.
    pub fn register(&self, spec: StrategySpec) -> bool {
        let mut g = self.inner.lock();
        let id = g.next_strategy;
        g.next_strategy += 1;
        let s = Arc::new(Strategy::new(id, spec));
        let mut list = g.strategies.to_vec();
        let replaced = match list.iter().position(|x| x.name == s.name) {
            Some(i) => {
                list[i] = s;
                true
            }
            None => {
                list.push(s);
                false
            }
        };
        g.strategies = Arc::from(list);
        replaced
    }

    /// Removes a strategy; `false` when no strategy has that name.
    pub fn unregister(&self, name: &str) -> bool {
        let mut g = self.inner.lock();
        let before = g.strategies.len();
        let list: Vec<_> = g
            .strategies
            .iter()
            .filter(|s| &*s.name != name)
            .cloned()
            .collect();
        let removed = list.len() != before;
        g.strategies = Arc::from(list);
        removed
    }

    /// Sets a strategy's availability flag; `false` when no strategy has that name.
    pub fn set_available(&self, name: &str, available: bool) -> bool {
        let g = self.inner.lock();
        match g.strategies.iter().find(|s| &*s.name == name) {
            Some(s) => {
                s.available.store(available, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Registered strategies, in registration order.
    pub fn strategies(&self) -> Vec<StrategyInfo> {
        let list = self.inner.lock().strategies.clone();
        list.iter().map(|s| s.info()).collect()
    }

    pub fn strategy(&self, name: &str) -> Option<StrategyInfo> {
        let list = self.inner.lock().strategies.clone();
        list.iter().find(|s| &*s.name == name).map(|s| s.info())
    }

    // ----- choosing -----

    /// Which strategy would serve a call in `ctx`, without recording anything (pure apart from
    /// the user predicates it calls).
    pub fn choose(&self, ctx: &FallbackContext) -> Option<FallbackChoice> {
        self.choose_inner(ctx, &mut |_, _| true, Record::No)
    }

    /// Like [`Self::choose`], with the host's own answer for each candidate that passed the
    /// core's checks (a user strategy's `can_handle` / `is_available`, run natively). `accept`
    /// runs on the caller's thread with no lock held.
    pub fn choose_with(
        &self,
        ctx: &FallbackContext,
        accept: &mut dyn FnMut(&StrategyInfo, &FallbackContext) -> bool,
    ) -> Option<FallbackChoice> {
        self.choose_inner(ctx, accept, Record::No)
    }

    /// Chooses a strategy and records the fallback: the component's degradation starts (or its
    /// level changes) and, when a strategy serves, it is counted and a `fallback` event sent.
    /// `None` when no strategy serves (the caller gets the original error).
    pub fn select(&self, ctx: &FallbackContext) -> Option<FallbackChoice> {
        self.choose_inner(ctx, &mut |_, _| true, Record::Yes)
    }

    /// [`Self::select`] with the host's `accept` (see [`Self::choose_with`]).
    pub fn select_with(
        &self,
        ctx: &FallbackContext,
        accept: &mut dyn FnMut(&StrategyInfo, &FallbackContext) -> bool,
    ) -> Option<FallbackChoice> {
        self.choose_inner(ctx, accept, Record::Yes)
    }

    fn choose_inner(
        &self,
        ctx: &FallbackContext,
        accept: &mut dyn FnMut(&StrategyInfo, &FallbackContext) -> bool,
        record: Record,
    ) -> Option<FallbackChoice> {
        let (enabled, rules, strategies) = {
            let g = self.inner.lock();
            (g.enabled, g.rules.clone(), g.strategies.clone())
        };
        if !enabled {
            return None;
        }
        // Predicates run here, with no lock held.
        let choice = pick(ctx, &rules, &strategies, accept);
        if record == Record::Yes {
            self.record(ctx, choice.as_ref());
        }
        choice
    }

    fn record(&self, ctx: &FallbackContext, choice: Option<&FallbackChoice>) {
        let now = self.clock.now();
        let mut p = self.pending();
        {
            let mut g = self.inner.lock();
            if !g.enabled {
                return;
            }
            g.raise(&ctx.component, ctx.trigger, ctx.severity, now, &mut p);
            if let Some(c) = choice {
                g.served(&ctx.component, &c.strategy);
                p.event(
                    EventKind::Fallback,
                    &ctx.component,
                    ctx.trigger,
                    ctx.severity,
                    Some(&c.strategy),
                    None,
                );
            }
            self.active_count.store(g.active.len(), Ordering::Release);
        }
        self.emit(p);
    }

    // ----- triggering and recovery -----

    /// Degrades `component` for `trigger` at `level` (use [`Trigger::default_level`], or
    /// [`Level::from_health_status`] for a health check). A component has one degradation at a
    /// time: the same trigger again sets the level; another trigger takes over only with a
    /// higher level. Level `none` does nothing. Whether anything changed.
    pub fn trigger(&self, component: &str, trigger: Trigger, level: Level) -> bool {
        let component: Arc<str> = Arc::from(component);
        self.mutate(|g, now, p| g.raise(&component, trigger, level, now, p))
    }

    /// The condition behind `trigger` has cleared for `component` (the breaker closed, the
    /// health check passes, a live call succeeded): with auto_recovery on, a degradation whose
    /// trigger it is recovers. `manual` never clears this way. Whether it recovered.
    pub fn trigger_cleared(&self, component: &str, trigger: Trigger) -> bool {
        self.clear_any(component, &[trigger])
    }

    /// A live call to `component` succeeded: clears `timeout`, `rate_limited` and
    /// `error_rate` (see [`Self::trigger_cleared`]).
    pub fn report_success(&self, component: &str) -> bool {
        self.clear_any(
            component,
            &[Trigger::Timeout, Trigger::RateLimited, Trigger::ErrorRate],
        )
    }

    /// Feeds a breaker state: `open` and `forced_open` trigger `circuit_breaker_open`;
    /// `closed`, `disabled` and `metrics_only` clear it; `half_open` changes nothing.
    pub fn on_breaker_state(&self, component: &str, state: State) -> bool {
        match state {
            State::Open | State::ForcedOpen => {
                self.trigger(component, Trigger::CircuitBreakerOpen, Level::Significant)
            }
            State::Closed | State::Disabled | State::MetricsOnly => {
                self.trigger_cleared(component, Trigger::CircuitBreakerOpen)
            }
            State::HalfOpen => false,
        }
    }

    /// Feeds a health check's status (`healthy`, `degraded`, `unhealthy`, `critical`):
    /// healthy clears `health_check_failed`, the others trigger it at their level; an unknown
    /// status changes nothing.
    pub fn on_health_status(&self, component: &str, status: &str) -> bool {
        match Level::from_health_status(status) {
            None => false,
            Some(Level::None) => self.trigger_cleared(component, Trigger::HealthCheckFailed),
            Some(level) => self.trigger(component, Trigger::HealthCheckFailed, level),
        }
    }

    fn clear_any(&self, component: &str, triggers: &[Trigger]) -> bool {
        if self.active_count.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.mutate(|g, now, p| {
            let clears = g.auto_recovery
                && g.active
                    .get(component)
                    .is_some_and(|a| a.trigger != Trigger::Manual && triggers.contains(&a.trigger));
            clears && g.recover(component, Recovery::Auto, now, p)
        })
    }

    /// Ends `component`'s degradation whatever its trigger and whether or not auto_recovery is
    /// on. Whether there was one.
    pub fn force_recovery(&self, component: &str) -> bool {
        self.mutate(|g, now, p| g.recover(component, Recovery::Forced, now, p))
    }

    /// Ends every degradation (in component-name order); how many there were.
    pub fn force_recovery_all(&self) -> usize {
        self.mutate(|g, now, p| {
            let names: Vec<Arc<str>> = g.active.keys().cloned().collect();
            names
                .iter()
                .filter(|n| g.recover(n, Recovery::Forced, now, p))
                .count()
        })
    }

    fn pending(&self) -> Pending {
        let build = self.events.is_active();
        Pending {
            events: Vec::new(),
            build,
            wall_ms: self.clock.wall_ms(),
        }
    }

    fn mutate<R>(&self, f: impl FnOnce(&mut Inner, Nanos, &mut Pending) -> R) -> R {
        let now = self.clock.now();
        let mut p = self.pending();
        let r = {
            let mut g = self.inner.lock();
            let r = f(&mut g, now, &mut p);
            self.active_count.store(g.active.len(), Ordering::Release);
            r
        };
        self.emit(p);
        r
    }

    fn emit(&self, p: Pending) {
        for e in &p.events {
            self.events.emit(e);
        }
    }

    // ----- reading -----

    /// Whether any component is degraded (one atomic load).
    pub fn has_active(&self) -> bool {
        self.active_count.load(Ordering::Acquire) > 0
    }

    /// `component`'s level (`none` when it is not degraded).
    pub fn level(&self, component: &str) -> Level {
        self.inner
            .lock()
            .active
            .get(component)
            .map_or(Level::None, |a| a.level)
    }

    /// The highest level over all components.
    pub fn overall_level(&self) -> Level {
        self.inner
            .lock()
            .active
            .values()
            .map(|a| a.level)
            .max()
            .unwrap_or(Level::None)
    }

    pub fn active(&self, component: &str) -> Option<ActiveDegradation> {
        let g = self.inner.lock();
        g.active.get_key_value(component).map(|(k, a)| view(k, a))
    }

    /// Every active degradation, by component name.
    pub fn active_all(&self) -> Vec<ActiveDegradation> {
        let g = self.inner.lock();
        g.active.iter().map(|(k, a)| view(k, a)).collect()
    }

    /// The history, oldest first, at most `max_history` entries.
    pub fn history(&self) -> Vec<HistoryEntry> {
        let g = self.inner.lock();
        g.history.iter().map(|(_, h)| h.clone()).collect()
    }

    pub fn statistics(&self) -> DegradationStats {
        let g = self.inner.lock();
        let mut most: Option<(Trigger, u64)> = None;
        for t in Trigger::ALL {
            let n = g.by_reason[t as usize];
            if n > 0 && most.is_none_or(|(_, m)| n > m) {
                most = Some((t, n));
            }
        }
        let mean = (g.total_recovered > 0).then(|| {
            let avg = g.duration_sum / g.total_recovered as u128;
            Duration::from_nanos(u64::try_from(avg).unwrap_or(u64::MAX))
        });
        DegradationStats {
            active: g.active.len(),
            total_triggered: g.total_triggered,
            total_recovered: g.total_recovered,
            calls_served: g.calls_served,
            most_frequent_reason: most.map(|(t, _)| t),
            by_reason: Trigger::ALL
                .into_iter()
                .map(|t| (t, g.by_reason[t as usize]))
                .collect(),
            mean_duration: mean,
            max_duration: g.duration_max.map(Duration::from_nanos),
        }
    }

    /// Every component ever degraded, by name, with its level now and its lifetime totals
    /// (what `breakwater_degradation_*` metrics show).
    pub fn component_totals(&self) -> Vec<ComponentTotals> {
        let g = self.inner.lock();
        g.per_component
            .iter()
            .map(|(c, &(triggered, served))| {
                let level = g.active.get(c).map_or(Level::None, |a| a.level);
                ComponentTotals {
                    component: c.clone(),
                    level,
                    active: g.active.contains_key(c),
                    triggered_total: triggered,
                    served_total: served,
                }
            })
            .collect()
    }

    // ----- events -----

    /// Listens to `degradation_triggered`, `degradation_recovered` and `fallback`.
    pub fn subscribe(&self, kind: Option<EventKind>, listener: Listener) -> ListenerId {
        self.events.subscribe(kind, listener)
    }

    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        self.events.unsubscribe(id)
    }
}

fn view(component: &Arc<str>, a: &Active) -> ActiveDegradation {
    ActiveDegradation {
        component: component.clone(),
        level: a.level,
        trigger: a.trigger,
        since: a.since,
        started_at_ms: a.started_at_ms,
        strategy: a.strategy.clone(),
        calls_served: a.calls_served,
    }
}

/// Rules first (applicable ones by priority, then declaration order), then every strategy by
/// priority (then registration order). A strategy refused once is not asked again.
fn pick(
    ctx: &FallbackContext,
    rules: &[Rule],
    strategies: &[Arc<Strategy>],
    accept: &mut dyn FnMut(&StrategyInfo, &FallbackContext) -> bool,
) -> Option<FallbackChoice> {
    let mut refused: Vec<u64> = Vec::new();
    let mut try_one = |s: &Strategy, refused: &mut Vec<u64>| -> bool {
        if refused.contains(&s.id) {
            return false;
        }
        let ok = s.serves(ctx) && accept(&s.info(), ctx);
        if !ok {
            refused.push(s.id);
        }
        ok
    };
    let choice = |s: &Strategy, rule: Option<&Rule>| FallbackChoice {
        strategy: s.name.clone(),
        kind: s.kind,
        rule: rule.map(|r| r.name.clone()),
        trigger: ctx.trigger,
        severity: ctx.severity,
        stale: s.kind == StrategyKind::CachedResponse && ctx.cached == Some(Freshness::Stale),
    };
    let mut applying: Vec<&Rule> = rules.iter().filter(|r| r.applies(ctx)).collect();
    applying.sort_by_key(|r| r.priority);
    for r in applying {
        if let Some(s) = strategies.iter().find(|s| s.name == r.strategy)
            && try_one(s, &mut refused)
        {
            return Some(choice(s, Some(r)));
        }
    }
    let mut order: Vec<&Arc<Strategy>> = strategies.iter().collect();
    order.sort_by_key(|s| s.priority);
    for s in order {
        if try_one(s, &mut refused) {
            return Some(choice(s, None));
        }
    }
    None
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::TriggerSet;
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Mutex as StdMutex;

    fn manager(config: DegradationConfig) -> (Arc<ManualClock>, DegradationManager) {
        let clock = Arc::new(ManualClock::new());
        let m = DegradationManager::new(config, ClockRef::Manual(clock.clone())).unwrap();
        (clock, m)
    }

    #[test]
    fn rules_win_then_priority_and_availability() {
        let mut rule = Rule::new(
            "offline-on-open",
            TriggerSet::of(&[Trigger::CircuitBreakerOpen]),
            "offline",
        );
        rule.severity_threshold = Level::Significant;
        let (_, m) = manager(DegradationConfig {
            rules: vec![rule],
            ..DegradationConfig::default()
        });
        m.register(StrategySpec::new("cache", StrategyKind::CachedResponse, 1));
        m.register(StrategySpec::new(
            "simple",
            StrategyKind::SimplifiedResponse,
            5,
        ));
        m.register(StrategySpec::new(
            "offline",
            StrategyKind::OfflineResponse,
            9,
        ));
        let open = FallbackContext::new("svc", Trigger::CircuitBreakerOpen);
        let c = m.choose(&open).unwrap();
        assert_eq!(
            (&*c.strategy, c.rule.as_deref()),
            ("offline", Some("offline-on-open"))
        );
        // Below the threshold the rule does not apply: priority order, and the cache has nothing.
        let c = m
            .choose(&open.clone().with_severity(Level::Partial))
            .unwrap();
        assert_eq!((&*c.strategy, c.rule.as_deref()), ("simple", None));
        let c = m
            .choose(
                &open
                    .clone()
                    .with_severity(Level::Partial)
                    .with_cached(Some(Freshness::Stale)),
            )
            .unwrap();
        assert_eq!((&*c.strategy, c.stale), ("cache", true));
        // The rule's strategy unavailable: the priority order takes over.
        assert!(m.set_available("offline", false));
        assert_eq!(&*m.choose(&open).unwrap().strategy, "simple");
        // The host's own answer.
        let c = m.choose_with(&open, &mut |s, _| &*s.name != "simple");
        assert!(c.is_none());
    }

    #[test]
    fn select_records_recovers_and_counts() {
        let (clock, m) = manager(DegradationConfig::default());
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let s = seen.clone();
        m.subscribe(
            None,
            Arc::new(move |e: &Event| {
                s.lock()
                    .unwrap()
                    .push((e.kind, e.reason, e.severity, e.strategy.clone()))
            }),
        );
        m.register(StrategySpec::new(
            "offline",
            StrategyKind::OfflineResponse,
            1,
        ));
        let ctx = FallbackContext::new("svc", Trigger::Timeout);
        assert!(m.select(&ctx).is_some());
        assert!(m.select(&ctx).is_some());
        let a = m.active("svc").unwrap();
        assert_eq!((a.level, a.calls_served), (Level::Partial, 2));
        clock.advance(Duration::from_secs(3));
        assert!(!m.trigger_cleared("svc", Trigger::CircuitBreakerOpen));
        assert!(m.report_success("svc"));
        assert!(!m.has_active());
        let st = m.statistics();
        assert_eq!(st.total_triggered, 1);
        assert_eq!(st.calls_served, 2);
        assert_eq!(st.most_frequent_reason, Some(Trigger::Timeout));
        assert_eq!(st.max_duration, Some(Duration::from_secs(3)));
        let kinds: Vec<_> = seen.lock().unwrap().iter().map(|e| e.0).collect();
        assert_eq!(
            kinds,
            [
                EventKind::DegradationTriggered,
                EventKind::Fallback,
                EventKind::Fallback,
                EventKind::DegradationRecovered
            ]
        );
        let t = m.component_totals();
        assert_eq!(t.len(), 1);
        assert_eq!(
            (
                &*t[0].component,
                t[0].active,
                t[0].triggered_total,
                t[0].served_total
            ),
            ("svc", false, 1, 2)
        );
        let h = m.history();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].recovery, Some(Recovery::Auto));
        assert_eq!(h[0].strategy.as_deref(), Some("offline"));
    }

    #[test]
    fn manual_needs_force_and_history_is_bounded() {
        let (_, m) = manager(DegradationConfig {
            max_history: 2,
            ..DegradationConfig::default()
        });
        for c in ["a", "b", "c"] {
            m.trigger(c, Trigger::Manual, Level::Critical);
        }
        assert!(!m.trigger_cleared("a", Trigger::Manual));
        assert_eq!(m.overall_level(), Level::Critical);
        assert_eq!(m.history().len(), 2);
        assert_eq!(&*m.history()[0].component, "b");
        assert_eq!(m.force_recovery_all(), 3);
        assert_eq!(m.statistics().total_recovered, 3);
    }

    #[test]
    fn shareable_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<DegradationManager>();
        send_sync::<crate::cache::ResponseCache<String>>();
    }

    #[test]
    fn trigger_filters_and_is_available_predicates() {
        let (_, m) = manager(DegradationConfig::default());
        let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = up.clone();
        m.register(
            StrategySpec::new("agent-b", StrategyKind::FallbackTarget, 1)
                .triggers(TriggerSet::of(&[Trigger::CircuitBreakerOpen]))
                .is_available(Arc::new(move || flag.load(Ordering::Relaxed))),
        );
        m.register(StrategySpec::new(
            "offline",
            StrategyKind::OfflineResponse,
            2,
        ));
        let open = FallbackContext::new("svc", Trigger::CircuitBreakerOpen);
        assert_eq!(&*m.choose(&open).unwrap().strategy, "offline");
        up.store(true, Ordering::Relaxed);
        assert_eq!(&*m.choose(&open).unwrap().strategy, "agent-b");
        let timeout = FallbackContext::new("svc", Trigger::Timeout);
        assert_eq!(&*m.choose(&timeout).unwrap().strategy, "offline");
        assert_eq!(
            m.strategy("agent-b").unwrap().kind,
            StrategyKind::FallbackTarget
        );
        assert_eq!(m.strategies().len(), 2);
    }

    #[test]
    fn predicates_may_call_back_into_the_manager() {
        let (_, m) = manager(DegradationConfig::default());
        let m = Arc::new(m);
        let weak = Arc::downgrade(&m);
        m.register(
            StrategySpec::new("user", StrategyKind::Custom, 1).can_handle(Arc::new(
                move |ctx: &FallbackContext| {
                    weak.upgrade()
                        .is_some_and(|m| m.level(&ctx.component) == Level::None)
                },
            )),
        );
        let ctx = FallbackContext::new("svc", Trigger::ErrorRate);
        assert!(m.select(&ctx).is_some());
        // Now degraded: the predicate (which reads the manager) refuses.
        assert!(m.select(&ctx).is_none());
    }
}
