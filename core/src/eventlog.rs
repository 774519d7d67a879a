//! The event log and alert rules.
//!
//! [`EventLog`] keeps the newest events of any number of components (breakers, policies, the
//! health registry, the degradation manager, alerts), bounded, and answers queries newest first
//! with a limit and filters by component and kind. It subscribes to any component through
//! [`EventLog::listener`].
//!
//! [`AlertManager`] watches events (and health reports and SLO figures) against rules and raises
//! `alert` events with a severity. Each rule fires once per outage and component: while it is
//! firing, more of the same is folded into the alert (counted as suppressed) until the outage
//! ends and re-arms the rule. The rules are in `docs/semantics/alerts.md`.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use serde_json::Value;

use crate::breaker::State;
use crate::clock::ClockRef;
use crate::config::{ConfigError, ConfigErrors, IntRange, ObjectReader};
use crate::event::{Event, EventBus, EventKind, Listener, ListenerId};
use crate::health::CheckView;
use crate::slo::Slo;

/// Events kept unless configured.
pub const DEFAULT_LOG_CAPACITY: usize = 1000;
const LOG_CAPACITY: IntRange = IntRange {
    min: 1,
    max: 1_000_000,
};

/// One logged event with its sequence number (1 for the first event the log ever took).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub seq: u64,
    pub event: Event,
}

/// What to read from the log. `Default` reads everything, newest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventQuery<'a> {
    /// Only events of this component.
    pub component: Option<&'a str>,
    /// Only events of these kinds (every kind when empty).
    pub kinds: &'a [EventKind],
    /// At most this many (the newest).
    pub limit: Option<usize>,
    /// Only events with a sequence number above this (for polling).
    pub after_seq: Option<u64>,
}

#[derive(Debug, Default)]
struct LogInner {
    entries: VecDeque<LoggedEvent>,
    last_seq: u64,
}

/// A bounded log of events, oldest dropped first.
#[derive(Debug)]
pub struct EventLog {
    capacity: usize,
    inner: Mutex<LogInner>,
}

impl EventLog {
    /// A log keeping the newest `capacity` events (1..=1_000_000).
    pub fn new(capacity: usize) -> Result<Self, ConfigErrors> {
        if !LOG_CAPACITY.contains(capacity as u64) {
            return Err(
                ConfigError::new("capacity", capacity.to_string(), LOG_CAPACITY.allowed()).into(),
            );
        }
        Ok(Self {
            capacity,
            inner: Mutex::new(LogInner::default()),
        })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends one event, dropping the oldest when full.
    pub fn record(&self, event: &Event) {
        let mut g = self.inner.lock();
        if g.entries.len() >= self.capacity {
            g.entries.pop_front();
        }
        g.last_seq += 1;
        let seq = g.last_seq;
        g.entries.push_back(LoggedEvent {
            seq,
            event: event.clone(),
        });
    }

    /// A listener that records into this log; subscribe it to any component
    /// (`breaker.subscribe(None, log.listener())`). It holds the log weakly.
    pub fn listener(self: &Arc<Self>) -> Listener {
        let weak: Weak<EventLog> = Arc::downgrade(self);
        Arc::new(move |e: &Event| {
            if let Some(log) = weak.upgrade() {
                log.record(e);
            }
        })
    }

    /// Subscribes to a bus directly.
    pub fn attach(self: &Arc<Self>, bus: &EventBus) -> ListenerId {
        bus.subscribe(None, self.listener())
    }

    /// Matching events, newest first.
    pub fn query(&self, q: &EventQuery<'_>) -> Vec<LoggedEvent> {
        let g = self.inner.lock();
        g.entries
            .iter()
            .rev()
            .take_while(|e| q.after_seq.is_none_or(|s| e.seq > s))
            .filter(|e| q.component.is_none_or(|c| &*e.event.component == c))
            .filter(|e| q.kinds.is_empty() || q.kinds.contains(&e.event.kind))
            .take(q.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// The newest `limit` events, newest first.
    pub fn recent(&self, limit: usize) -> Vec<LoggedEvent> {
        self.query(&EventQuery {
            limit: Some(limit),
            ..EventQuery::default()
        })
    }

    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sequence number of the newest event ever recorded (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().last_seq
    }

    /// Forgets every event (sequence numbers keep counting).
    pub fn clear(&self) {
        self.inner.lock().entries.clear();
    }
}

/// How urgent an alert is; `as_str` is the event's `severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

impl AlertSeverity {
    pub const ALL: [AlertSeverity; 3] = [
        AlertSeverity::Info,
        AlertSeverity::Warning,
        AlertSeverity::Critical,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Info => "info",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Critical => "critical",
        }
    }
}

impl fmt::Display for AlertSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertSeverity {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        AlertSeverity::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(())
    }
}

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlertCondition {
    /// A breaker entered `open`. Re-armed when it reaches closed, disabled or metrics_only.
    BreakerOpened,
    /// A health check had `reports` failed reports in a row. Re-armed by a passing report.
    HealthCheckFailing { reports: u32 },
    /// A degradation began. Re-armed when the component's degradation is recovered.
    DegradationTriggered,
    /// A breaker closed after probing (`probes_succeeded`) or a degradation was recovered.
    /// Informational: raised resolved. Re-armed by the next opening or degradation.
    RecoveryCompleted,
    /// An SLO's error budget consumed reached `threshold` (a fraction: 0.8 is 80 %). Re-armed
    /// when it falls below again.
    ErrorBudget { threshold: f64 },
}

impl AlertCondition {
    pub const NAMES: [&'static str; 5] = [
        "breaker_opened",
        "health_check_failing",
        "degradation_triggered",
        "recovery_completed",
        "error_budget",
    ];

    /// The name used in config and as the `reason` of `alert` events.
    pub const fn as_str(&self) -> &'static str {
        match self {
            AlertCondition::BreakerOpened => "breaker_opened",
            AlertCondition::HealthCheckFailing { .. } => "health_check_failing",
            AlertCondition::DegradationTriggered => "degradation_triggered",
            AlertCondition::RecoveryCompleted => "recovery_completed",
            AlertCondition::ErrorBudget { .. } => "error_budget",
        }
    }

    const fn is_transient(&self) -> bool {
        matches!(self, AlertCondition::RecoveryCompleted)
    }
}

/// One rule: a condition, the severity of its alerts and, optionally, the one component it
/// watches.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub name: Arc<str>,
    pub condition: AlertCondition,
    pub severity: AlertSeverity,
    /// Only this component (every component when `None`).
    pub component: Option<Arc<str>>,
}

const RULE_KEYS: &[&str] = &[
    "name",
    "condition",
    "severity",
    "component",
    "reports",
    "threshold",
];
const REPORTS: IntRange = IntRange {
    min: 1,
    max: 1_000_000,
};
const THRESHOLD_ALLOWED: &str = "a number > 0 (a fraction of the budget: 0.8 is 80 %)";

impl AlertRule {
    pub fn new(name: &str, condition: AlertCondition, severity: AlertSeverity) -> Self {
        Self {
            name: Arc::from(name),
            condition,
            severity,
            component: None,
        }
    }

    pub fn for_component(mut self, component: &str) -> Self {
        self.component = Some(Arc::from(component));
        self
    }

    pub fn validate(&self) -> Result<(), ConfigErrors> {
        match self.condition {
            AlertCondition::HealthCheckFailing { reports } if !REPORTS.contains(reports as u64) => {
                Err(ConfigError::new("reports", reports.to_string(), REPORTS.allowed()).into())
            }
            AlertCondition::ErrorBudget { threshold }
                if !(threshold.is_finite() && threshold > 0.0) =>
            {
                Err(ConfigError::new("threshold", threshold.to_string(), THRESHOLD_ALLOWED).into())
            }
            _ => Ok(()),
        }
    }

    /// The rules an [`AlertManager`] starts with: breaker opened (warning), a health check
    /// failing 3 reports in a row (critical), degradation triggered (warning), recovery
    /// completed (info), error budget 80 % consumed (warning) and 100 % (critical).
    pub fn defaults() -> Vec<AlertRule> {
        vec![
            AlertRule::new(
                "breaker_opened",
                AlertCondition::BreakerOpened,
                AlertSeverity::Warning,
            ),
            AlertRule::new(
                "health_check_failing",
                AlertCondition::HealthCheckFailing { reports: 3 },
                AlertSeverity::Critical,
            ),
            AlertRule::new(
                "degradation_triggered",
                AlertCondition::DegradationTriggered,
                AlertSeverity::Warning,
            ),
            AlertRule::new(
                "recovery_completed",
                AlertCondition::RecoveryCompleted,
                AlertSeverity::Info,
            ),
            AlertRule::new(
                "error_budget_80",
                AlertCondition::ErrorBudget { threshold: 0.8 },
                AlertSeverity::Warning,
            ),
            AlertRule::new(
                "error_budget_exhausted",
                AlertCondition::ErrorBudget { threshold: 1.0 },
                AlertSeverity::Critical,
            ),
        ]
    }

    /// Parses `{name, condition, severity, component, reports, threshold}`; `name` defaults to
    /// the condition, `severity` to warning, `reports` to 3 and `threshold` to 0.8.
    pub fn from_json(value: &Value, path: &str) -> Result<AlertRule, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(ConfigError::new(path, value.to_string(), "an object").into());
        };
        let mut r = ObjectReader::new(map, path);
        let key = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        let conditions = format!("one of {}", AlertCondition::NAMES.join(", "));
        let name = r.string("name", &["name"], "a string");
        let condition = r.string("condition", &["condition"], &conditions);
        let severity = r.string("severity", &["severity"], "one of info, warning, critical");
        let component = r.string("component", &["component"], "a component name");
        let reports = r.uint("reports", &["reports"], REPORTS);
        let threshold = r.number("threshold", &["threshold"], THRESHOLD_ALLOWED, |_| 1.0);
        let (mut errors, _) = r.finish(RULE_KEYS);
        let condition = match condition.as_deref() {
            None => {
                errors.push(ConfigError::new(key("condition"), "(missing)", conditions));
                None
            }
            Some("breaker_opened") => Some(AlertCondition::BreakerOpened),
            Some("health_check_failing") => Some(AlertCondition::HealthCheckFailing {
                reports: reports.map_or(3, |r| u32::try_from(r).unwrap_or(u32::MAX)),
            }),
            Some("degradation_triggered") => Some(AlertCondition::DegradationTriggered),
            Some("recovery_completed") => Some(AlertCondition::RecoveryCompleted),
            Some("error_budget") => Some(AlertCondition::ErrorBudget {
                threshold: threshold.unwrap_or(0.8),
            }),
            Some(other) => {
                errors.push(ConfigError::new(
                    key("condition"),
                    format!("{other:?}"),
                    conditions,
                ));
                None
            }
        };
        let severity = match severity.as_deref().map(str::parse::<AlertSeverity>) {
            None => AlertSeverity::Warning,
            Some(Ok(s)) => s,
            Some(Err(())) => {
                errors.push(ConfigError::new(
                    key("severity"),
                    format!("{:?}", severity.unwrap_or_default()),
                    "one of info, warning, critical",
                ));
                AlertSeverity::Warning
            }
        };
        if let Some(c) = condition {
            if reports.is_some() && !matches!(c, AlertCondition::HealthCheckFailing { .. }) {
                errors.push(ConfigError::new(
                    key("reports"),
                    reports.unwrap_or_default().to_string(),
                    "absent: only health_check_failing takes reports",
                ));
            }
            if threshold.is_some() && !matches!(c, AlertCondition::ErrorBudget { .. }) {
                errors.push(ConfigError::new(
                    key("threshold"),
                    threshold.unwrap_or_default().to_string(),
                    "absent: only error_budget takes a threshold",
                ));
            }
        }
        let Some(condition) = condition else {
            return Err(ConfigErrors(errors));
        };
        let rule = AlertRule {
            name: Arc::from(name.as_deref().unwrap_or(condition.as_str())),
            condition,
            severity,
            component: component.map(Arc::from),
        };
        if let Err(ConfigErrors(more)) = rule.validate() {
            errors.extend(more.into_iter().map(|mut e| {
                e.key = key(&e.key);
                e
            }));
        }
        if errors.is_empty() {
            Ok(rule)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// An alert manager's settings: `{rules: [...], max_history}`. Without `rules` the defaults
/// apply; `rules: []` means no rules.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub rules: Vec<AlertRule>,
    /// Alerts kept in history.
    pub max_history: usize,
}

/// Alerts kept in history unless configured.
pub const DEFAULT_ALERT_HISTORY: usize = 1000;

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            rules: AlertRule::defaults(),
            max_history: DEFAULT_ALERT_HISTORY,
        }
    }
}

impl AlertsConfig {
    pub fn from_json(value: &Value) -> Result<Self, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(ConfigError::new("(alerts config)", value.to_string(), "an object").into());
        };
        let mut out = AlertsConfig::default();
        let mut errors = Vec::new();
        for (k, v) in map {
            match k.as_str() {
                "rules" => match v.as_array() {
                    None => {
                        errors.push(ConfigError::new("rules", v.to_string(), "a list of rules"))
                    }
                    Some(list) => {
                        out.rules.clear();
                        for (i, r) in list.iter().enumerate() {
                            match AlertRule::from_json(r, &format!("rules[{i}]")) {
                                Ok(rule) => out.rules.push(rule),
                                Err(ConfigErrors(e)) => errors.extend(e),
                            }
                        }
                    }
                },
                "max_history" | "maxHistory" => match v.as_u64() {
                    Some(n) if LOG_CAPACITY.contains(n) => out.max_history = n as usize,
                    _ => errors.push(ConfigError::new(
                        k.clone(),
                        v.to_string(),
                        LOG_CAPACITY.allowed(),
                    )),
                },
                other => errors.push(ConfigError::new(
                    other,
                    "(unknown key)",
                    "rules, max_history",
                )),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// One raised alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// 1 for the first alert the manager raised.
    pub id: u64,
    pub rule: Arc<str>,
    /// The rule's condition name (`breaker_opened`...).
    pub condition: &'static str,
    pub component: Arc<str>,
    pub severity: AlertSeverity,
    /// Wall time, ms since the Unix epoch.
    pub raised_at_ms: u64,
    /// When the outage ended (the rule re-armed); recovery alerts are raised resolved.
    pub resolved_at_ms: Option<u64>,
    /// Repeats of the same outage folded into this alert.
    pub suppressed: u64,
}

impl Alert {
    pub fn is_active(&self) -> bool {
        self.resolved_at_ms.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Armed {
    /// Raised; the alert with this id is active.
    Firing(u64),
    /// Raised (a transient alert); waiting to be re-armed.
    Latched,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Trigger,
    Rearm,
}

#[derive(Debug, Default)]
struct AlertInner {
    rules: Vec<AlertRule>,
    /// (rule index, component) -> state; absent means armed.
    armed: HashMap<(usize, Arc<str>), Armed>,
    /// Oldest first.
    history: VecDeque<Alert>,
    max_history: usize,
    next_id: u64,
    raised_total: u64,
    suppressed_total: u64,
    raised_by_severity: [u64; 3],
}

/// Counts for metrics and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertStats {
    pub raised_total: u64,
    pub suppressed_total: u64,
    /// Raised alerts by severity (info, warning, critical).
    pub raised_by_severity: [u64; 3],
    /// Active alerts by severity (info, warning, critical).
    pub active_by_severity: [u64; 3],
}

/// Watches events against rules and raises de-duplicated `alert` events.
pub struct AlertManager {
    name: Arc<str>,
    clock: ClockRef,
    inner: Mutex<AlertInner>,
    events: EventBus,
}

impl fmt::Debug for AlertManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertManager")
            .field("rules", &self.inner.lock().rules.len())
            .finish()
    }
}

impl AlertManager {
    /// A manager with the default rules.
    pub fn new(clock: ClockRef) -> Self {
        Self::with_config(AlertsConfig::default(), clock).expect("the default rules are valid")
    }

    pub fn with_config(config: AlertsConfig, clock: ClockRef) -> Result<Self, ConfigErrors> {
        for r in &config.rules {
            r.validate()?;
        }
        Ok(Self {
            name: Arc::from("alerts"),
            clock,
            inner: Mutex::new(AlertInner {
                rules: config.rules,
                max_history: config.max_history.max(1),
                ..AlertInner::default()
            }),
            events: EventBus::default(),
        })
    }

    pub fn add_rule(&self, rule: AlertRule) -> Result<(), ConfigErrors> {
        rule.validate()?;
        self.inner.lock().rules.push(rule);
        Ok(())
    }

    pub fn rules(&self) -> Vec<AlertRule> {
        self.inner.lock().rules.clone()
    }

    /// A listener that feeds this manager; subscribe it to breakers and the degradation
    /// manager. It holds the manager weakly.
    pub fn listener(self: &Arc<Self>) -> Listener {
        let weak: Weak<AlertManager> = Arc::downgrade(self);
        Arc::new(move |e: &Event| {
            if let Some(m) = weak.upgrade() {
                m.observe(e);
            }
        })
    }

    /// Checks one event against the event rules (breaker opened, degradation triggered,
    /// recovery completed).
    pub fn observe(&self, event: &Event) {
        self.apply(&event.component, None, |cond| signal_for_event(cond, event));
    }

    /// Checks one health check's state (after a report) against the health rules.
    pub fn observe_check(&self, check: &CheckView) {
        if !check.is_check {
            return;
        }
        let n = check.consecutive_failures;
        self.apply(&check.name, Some(n), |cond| match cond {
            AlertCondition::HealthCheckFailing { reports } if n >= *reports => {
                Some(Signal::Trigger)
            }
            AlertCondition::HealthCheckFailing { .. } if n == 0 => Some(Signal::Rearm),
            _ => None,
        });
    }

    /// Checks an SLO's error budget against the budget rules.
    pub fn observe_slo(&self, slo: &Slo) {
        let consumed = slo.status().error_budget_consumed;
        self.apply(slo.name_arc(), None, |cond| match cond {
            AlertCondition::ErrorBudget { threshold } if consumed >= *threshold - 1e-12 => {
                Some(Signal::Trigger)
            }
            AlertCondition::ErrorBudget { .. } => Some(Signal::Rearm),
            _ => None,
        });
    }

    /// Every rule against one signal source; raised alerts are announced after the lock is
    /// released.
    fn apply(
        &self,
        component: &Arc<str>,
        attempt: Option<u32>,
        signal: impl Fn(&AlertCondition) -> Option<Signal>,
    ) {
        let at_ms = self.clock.wall_ms();
        let mut raised: Vec<Alert> = Vec::new();
        {
            let mut g = self.inner.lock();
            let g = &mut *g;
            for i in 0..g.rules.len() {
                let rule = &g.rules[i];
                if rule.component.as_ref().is_some_and(|c| c != component) {
                    continue;
                }
                let Some(sig) = signal(&rule.condition) else {
                    continue;
                };
                let key = (i, component.clone());
                match (sig, g.armed.get(&key).copied()) {
                    (Signal::Trigger, None) => {
                        g.next_id += 1;
                        g.raised_total += 1;
                        g.raised_by_severity[rule.severity as usize] += 1;
                        let transient = rule.condition.is_transient();
                        let alert = Alert {
                            id: g.next_id,
                            rule: rule.name.clone(),
                            condition: rule.condition.as_str(),
                            component: component.clone(),
                            severity: rule.severity,
                            raised_at_ms: at_ms,
                            resolved_at_ms: transient.then_some(at_ms),
                            suppressed: 0,
                        };
                        g.armed.insert(
                            key,
                            if transient {
                                Armed::Latched
                            } else {
                                Armed::Firing(alert.id)
                            },
                        );
                        if g.history.len() >= g.max_history {
                            g.history.pop_front();
                        }
                        g.history.push_back(alert.clone());
                        raised.push(alert);
                    }
                    (Signal::Trigger, Some(state)) => {
                        g.suppressed_total += 1;
                        if let Armed::Firing(id) = state
                            && let Some(a) = g.history.iter_mut().rev().find(|a| a.id == id)
                        {
                            a.suppressed += 1;
                        }
                    }
                    (Signal::Rearm, Some(state)) => {
                        g.armed.remove(&key);
                        if let Armed::Firing(id) = state
                            && let Some(a) = g.history.iter_mut().rev().find(|a| a.id == id)
                        {
                            a.resolved_at_ms = Some(at_ms);
                        }
                    }
                    (Signal::Rearm, None) => {}
                }
            }
        }
        if self.events.is_active() {
            for a in &raised {
                let mut e = Event::new(EventKind::Alert, &a.component, at_ms);
                e.severity = Some(a.severity.as_str());
                e.reason = Some(a.condition);
                e.attempt = attempt;
                self.events.emit(&e);
            }
        }
    }

    /// Active alerts, newest first.
    pub fn active(&self) -> Vec<Alert> {
        let g = self.inner.lock();
        g.history
            .iter()
            .rev()
            .filter(|a| a.is_active())
            .cloned()
            .collect()
    }

    /// Raised alerts, newest first, at most `limit`.
    pub fn history(&self, limit: usize) -> Vec<Alert> {
        let g = self.inner.lock();
        g.history.iter().rev().take(limit).cloned().collect()
    }

    pub fn stats(&self) -> AlertStats {
        let g = self.inner.lock();
        let mut active = [0u64; 3];
        for a in g.history.iter().filter(|a| a.is_active()) {
            active[a.severity as usize] += 1;
        }
        AlertStats {
            raised_total: g.raised_total,
            suppressed_total: g.suppressed_total,
            raised_by_severity: g.raised_by_severity,
            active_by_severity: active,
        }
    }

    /// Listens to `alert` events.
    pub fn subscribe(&self, kind: Option<EventKind>, listener: Listener) -> ListenerId {
        self.events.subscribe(kind, listener)
    }

    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        self.events.unsubscribe(id)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

fn signal_for_event(cond: &AlertCondition, e: &Event) -> Option<Signal> {
    match (cond, e.kind) {
        (AlertCondition::BreakerOpened, EventKind::StateChange) => match e.to {
            Some(State::Open) => Some(Signal::Trigger),
            Some(State::Closed | State::Disabled | State::MetricsOnly) => Some(Signal::Rearm),
            _ => None,
        },
        (AlertCondition::DegradationTriggered, EventKind::DegradationTriggered) => {
            Some(Signal::Trigger)
        }
        (AlertCondition::DegradationTriggered, EventKind::DegradationRecovered) => {
            Some(Signal::Rearm)
        }
        (AlertCondition::RecoveryCompleted, EventKind::StateChange) => {
            if e.to == Some(State::Closed) && e.reason == Some("probes_succeeded") {
                Some(Signal::Trigger)
            } else if e.to == Some(State::Open) {
                Some(Signal::Rearm)
            } else {
                None
            }
        }
        (AlertCondition::RecoveryCompleted, EventKind::DegradationRecovered) => {
            Some(Signal::Trigger)
        }
        (AlertCondition::RecoveryCompleted, EventKind::DegradationTriggered) => Some(Signal::Rearm),
        _ => None,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn ev(kind: EventKind, component: &str) -> Event {
        Event::new(kind, &Arc::from(component), 0)
    }

    fn state_change(component: &str, from: State, to: State, reason: &'static str) -> Event {
        let mut e = ev(EventKind::StateChange, component);
        e.from = Some(from);
        e.to = Some(to);
        e.reason = Some(reason);
        e
    }

    #[test]
    fn log_is_bounded_newest_first_and_filtered() {
        let log = Arc::new(EventLog::new(3).unwrap());
        let l = log.listener();
        for (k, c) in [
            (EventKind::Success, "a"),
            (EventKind::Failure, "b"),
            (EventKind::Failure, "a"),
            (EventKind::Success, "b"),
        ] {
            l(&ev(k, c));
        }
        assert_eq!(log.len(), 3);
        let all = log.recent(10);
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 3, 2]);
        let only_a = log.query(&EventQuery {
            component: Some("a"),
            ..EventQuery::default()
        });
        assert_eq!(only_a.len(), 1);
        let failures = log.query(&EventQuery {
            kinds: &[EventKind::Failure],
            limit: Some(1),
            ..EventQuery::default()
        });
        assert_eq!(failures[0].seq, 3);
        assert!(EventLog::new(0).is_err());
    }

    #[test]
    fn one_outage_one_alert() {
        let m = Arc::new(AlertManager::new(ClockRef::Manual(Arc::new(
            ManualClock::new(),
        ))));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        m.subscribe(
            None,
            Arc::new(move |e: &Event| s.lock().push((e.reason, e.severity))),
        );
        let l = m.listener();
        l(&state_change(
            "db",
            State::Closed,
            State::Open,
            "failure_rate",
        ));
        l(&state_change(
            "db",
            State::Open,
            State::HalfOpen,
            "recovery_timeout",
        ));
        l(&state_change(
            "db",
            State::HalfOpen,
            State::Open,
            "probe_failed",
        ));
        assert_eq!(m.active().len(), 1);
        assert_eq!(m.active()[0].suppressed, 1);
        l(&state_change(
            "db",
            State::Open,
            State::HalfOpen,
            "recovery_timeout",
        ));
        l(&state_change(
            "db",
            State::HalfOpen,
            State::Closed,
            "probes_succeeded",
        ));
        assert!(m.active().is_empty());
        l(&state_change(
            "db",
            State::Closed,
            State::Open,
            "failure_rate",
        ));
        assert_eq!(
            *seen.lock(),
            vec![
                (Some("breaker_opened"), Some("warning")),
                (Some("recovery_completed"), Some("info")),
                (Some("breaker_opened"), Some("warning")),
            ]
        );
        assert_eq!(m.stats().raised_total, 3);
        assert_eq!(m.stats().suppressed_total, 1);
    }

    #[test]
    fn rules_parse() {
        let c = AlertsConfig::from_json(&serde_json::json!({"rules": [
            {"condition": "health_check_failing", "reports": 5, "severity": "critical"},
            {"name": "budget", "condition": "error_budget", "threshold": 0.5, "component": "x"}
        ]}))
        .unwrap();
        assert_eq!(
            c.rules[0].condition,
            AlertCondition::HealthCheckFailing { reports: 5 }
        );
        assert_eq!(&*c.rules[1].name, "budget");
        let e = AlertsConfig::from_json(&serde_json::json!({"rules": [
            {"condition": "breaker_opened", "threshold": 0.5}
        ]}))
        .unwrap_err();
        assert_eq!(e.first().key, "rules[0].threshold");
        let e = AlertsConfig::from_json(&serde_json::json!({"rules": [{"condition": "nope"}]}))
            .unwrap_err();
        assert_eq!(e.first().key, "rules[0].condition");
    }
}
