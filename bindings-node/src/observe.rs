//! `Slo`, `EventLog` and `AlertManager` (the core's `slo` and `eventlog` modules). The core
//! keeps the windows, the log and the rules (de-duplication, re-arming); the JS layer gives them
//! events and reads them back.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use breakwater_core::breaker::State;
use breakwater_core::event::Event;
use breakwater_core::eventlog::DEFAULT_LOG_CAPACITY;
use breakwater_core::{
    Alert, AlertManager, AlertsConfig, ClockRef, ErrorCode, EventKind, EventLog, EventQuery, Slo,
    SloConfig, SloStatus,
};
use napi_derive::napi;

use crate::breaker::{NativeConfigError, config_errors, invalid, parse_json};
use crate::clock::NativeManualClock;
use crate::events::{EventQueue, NativeEvent};
use crate::health::NativeHealthRegistry;
use crate::status::{Result, error, guard};

/// Checks an SLO config (config-file or camelCase keys); empty when valid.
#[napi]
pub fn check_slo_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => SloConfig::from_json(&v)
            .err()
            .map(config_errors)
            .unwrap_or_default(),
    }
}

/// Checks an alerts config (`rules`, `max_history`); empty when valid.
#[napi]
pub fn check_alerts_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => match AlertsConfig::from_json(&v) {
            Err(e) => config_errors(e),
            Ok(c) => c
                .rules
                .iter()
                .find_map(|r| r.validate().err())
                .map(config_errors)
                .unwrap_or_default(),
        },
    }
}

fn clock_of(clock: Option<&NativeManualClock>) -> ClockRef {
    clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref)
}

/// An SLO's status (window in ms).
#[napi(object)]
pub struct NativeSloStatus {
    pub target: f64,
    pub window: f64,
    pub total: f64,
    pub good: f64,
    pub bad: f64,
    pub availability: f64,
    pub allowed_failures: f64,
    pub error_budget_consumed: f64,
    pub error_budget_remaining: f64,
    pub burn_rate: f64,
    pub recommendation: String,
}

fn slo_status(s: SloStatus) -> NativeSloStatus {
    NativeSloStatus {
        target: s.target,
        window: s.window.as_secs_f64() * 1000.0,
        total: s.total as f64,
        good: s.good as f64,
        bad: s.bad as f64,
        availability: s.availability,
        allowed_failures: s.allowed_failures,
        error_budget_consumed: s.error_budget_consumed,
        error_budget_remaining: s.error_budget_remaining,
        burn_rate: s.burn_rate,
        recommendation: s.recommendation.as_str().to_string(),
    }
}

#[napi]
pub struct NativeSlo {
    core: Arc<Slo>,
}

#[napi]
impl NativeSlo {
    /// `config`: JSON (check it with `checkSloConfig` first).
    #[napi(constructor)]
    pub fn new(name: String, config: String, clock: Option<&NativeManualClock>) -> Result<Self> {
        guard(|| {
            let v = parse_json(&config).map_err(invalid)?;
            let cfg = SloConfig::from_json(&v).map_err(|e| invalid(config_errors(e)))?;
            let core =
                Slo::new(&name, cfg, clock_of(clock)).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self {
                core: Arc::new(core),
            })
        })
    }

    #[napi(getter)]
    pub fn name(&self) -> String {
        self.core.name().to_string()
    }

    #[napi]
    pub fn record(&self, good: bool) {
        self.core.record(good);
    }

    #[napi]
    pub fn record_counts(&self, good: f64, bad: f64) {
        self.core
            .record_counts(good.max(0.0) as u64, bad.max(0.0) as u64);
    }

    /// Counts an event of kind `kind` (success: good; failure, slow call: bad); whether counted.
    #[napi]
    pub fn observe(&self, kind: String) -> Result<bool> {
        let kind = EventKind::parse(&kind).ok_or_else(|| {
            error(
                ErrorCode::InvalidArgument,
                format!("unknown event kind '{kind}'"),
            )
        })?;
        Ok(self
            .core
            .observe(&Event::new(kind, &Arc::from(self.core.name()), 0)))
    }

    #[napi]
    pub fn status(&self) -> NativeSloStatus {
        slo_status(self.core.status())
    }
}

/// An event made in JS (to log or to show the alert manager).
#[napi(object)]
pub struct NativeEventInput {
    pub kind: String,
    pub component: String,
    pub at: Option<f64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    pub severity: Option<String>,
    pub attempt: Option<u32>,
}

/// `&'static str` for an event's `reason` / `severity`: names are interned (leaked) once each,
/// at most `MAX_INTERNED` of them.
fn static_name(s: &str) -> Result<&'static str> {
    const MAX_INTERNED: usize = 4096;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut g = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(x) = set.get(s) {
        return Ok(x);
    }
    if set.len() >= MAX_INTERNED {
        return Err(error(
            ErrorCode::InvalidArgument,
            "too many distinct event reason / severity names",
        ));
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    set.insert(leaked);
    Ok(leaked)
}

fn state(s: &Option<String>) -> Result<Option<State>> {
    match s {
        None => Ok(None),
        Some(x) => x
            .parse::<State>()
            .map(Some)
            .map_err(|()| error(ErrorCode::InvalidArgument, format!("unknown state '{x}'"))),
    }
}

fn event_of(e: &NativeEventInput, clock: &ClockRef) -> Result<Event> {
    let kind = EventKind::parse(&e.kind).ok_or_else(|| {
        error(
            ErrorCode::InvalidArgument,
            format!("unknown event kind '{}'", e.kind),
        )
    })?;
    let at = e.at.map_or_else(|| clock.wall_ms(), |a| a.max(0.0) as u64);
    let mut ev = Event::new(kind, &Arc::from(e.component.as_str()), at);
    ev.from = state(&e.from)?;
    ev.to = state(&e.to)?;
    ev.reason = e.reason.as_deref().map(static_name).transpose()?;
    ev.severity = e.severity.as_deref().map(static_name).transpose()?;
    ev.attempt = e.attempt;
    Ok(ev)
}

/// One logged event: its sequence number (1 for the first) and the event.
#[napi(object)]
pub struct NativeLoggedEvent {
    pub seq: f64,
    pub event: NativeEvent,
}

#[napi]
pub struct NativeEventLog {
    core: Arc<EventLog>,
    clock: ClockRef,
}

#[napi]
impl NativeEventLog {
    /// Keeps the newest `capacity` events (1..=1_000_000, default 1000): problems are returned
    /// by `checkEventLogCapacity` first.
    #[napi(constructor)]
    pub fn new(capacity: Option<f64>, clock: Option<&NativeManualClock>) -> Result<Self> {
        guard(|| {
            let cap = capacity.map_or(DEFAULT_LOG_CAPACITY, |c| c.max(0.0) as usize);
            let core = EventLog::new(cap).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self {
                core: Arc::new(core),
                clock: clock_of(clock),
            })
        })
    }

    #[napi]
    pub fn capacity(&self) -> u32 {
        self.core.capacity() as u32
    }

    /// How many events it holds.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.core.len() as u32
    }

    #[napi]
    pub fn clear(&self) {
        self.core.clear();
    }

    #[napi]
    pub fn record(&self, event: NativeEventInput) -> Result<()> {
        let e = event_of(&event, &self.clock)?;
        self.core.record(&e);
        Ok(())
    }

    /// Matching events, newest first.
    #[napi]
    pub fn query(
        &self,
        component: Option<String>,
        kinds: Option<Vec<String>>,
        limit: Option<u32>,
        after_seq: Option<f64>,
    ) -> Result<Vec<NativeLoggedEvent>> {
        let mut ks = Vec::new();
        for k in kinds.unwrap_or_default() {
            ks.push(EventKind::parse(&k).ok_or_else(|| {
                error(
                    ErrorCode::InvalidArgument,
                    format!("unknown event kind '{k}'"),
                )
            })?);
        }
        let q = EventQuery {
            component: component.as_deref(),
            kinds: &ks,
            limit: limit.map(|l| l as usize),
            after_seq: after_seq.map(|s| s.max(0.0) as u64),
        };
        Ok(self
            .core
            .query(&q)
            .into_iter()
            .map(|l| NativeLoggedEvent {
                seq: l.seq as f64,
                event: NativeEvent::from(l.event),
            })
            .collect())
    }

    /// Logs every event `manager` emits (its alerts).
    #[napi]
    pub fn attach_alerts(&self, manager: &NativeAlertManager) {
        manager.core.subscribe(None, self.core.listener());
    }

    /// Logs every event `registry` emits (its health changes).
    #[napi]
    pub fn attach_health(&self, registry: &NativeHealthRegistry) {
        registry.core.subscribe(None, self.core.listener());
    }
}

/// Checks an event log capacity; empty when valid.
#[napi]
pub fn check_event_log_capacity(capacity: f64) -> Vec<NativeConfigError> {
    if !(capacity.is_finite() && capacity.fract() == 0.0 && capacity >= 0.0) {
        return vec![NativeConfigError {
            key: "capacity".into(),
            value: capacity.to_string(),
            allowed: "an integer 1..=1000000".into(),
            path: "capacity".into(),
        }];
    }
    EventLog::new(capacity as usize)
        .err()
        .map(config_errors)
        .unwrap_or_default()
}

/// One alert (wall times in ms since the Unix epoch).
#[napi(object)]
pub struct NativeAlert {
    pub id: f64,
    pub rule: String,
    pub condition: String,
    pub component: String,
    pub severity: String,
    pub raised_at: f64,
    pub resolved_at: Option<f64>,
    pub suppressed: f64,
    pub active: bool,
}

fn alert(a: Alert) -> NativeAlert {
    NativeAlert {
        id: a.id as f64,
        rule: a.rule.to_string(),
        condition: a.condition.to_string(),
        component: a.component.to_string(),
        severity: a.severity.as_str().to_string(),
        raised_at: a.raised_at_ms as f64,
        resolved_at: a.resolved_at_ms.map(|m| m as f64),
        suppressed: a.suppressed as f64,
        active: a.is_active(),
    }
}

/// Alert counts: totals, and raised / active by severity `[info, warning, critical]`.
#[napi(object)]
pub struct NativeAlertStats {
    pub raised_total: f64,
    pub suppressed_total: f64,
    pub raised_by_severity: Vec<f64>,
    pub active_by_severity: Vec<f64>,
}

#[napi]
pub struct NativeAlertManager {
    pub(crate) core: Arc<AlertManager>,
    clock: ClockRef,
    events: EventQueue,
}

#[napi]
impl NativeAlertManager {
    /// `config`: JSON (check it with `checkAlertsConfig` first); none: the default rules.
    #[napi(constructor)]
    pub fn new(config: Option<String>, clock: Option<&NativeManualClock>) -> Result<Self> {
        guard(|| {
            let clock = clock_of(clock);
            let cfg = match config {
                None => AlertsConfig::default(),
                Some(json) => {
                    let v = parse_json(&json).map_err(invalid)?;
                    AlertsConfig::from_json(&v).map_err(|e| invalid(config_errors(e)))?
                }
            };
            let core = AlertManager::with_config(cfg, clock.clone())
                .map_err(|e| invalid(config_errors(e)))?;
            Ok(Self {
                core: Arc::new(core),
                clock,
                events: EventQueue::default(),
            })
        })
    }

    /// The rules' names, in order.
    #[napi]
    pub fn rule_names(&self) -> Vec<String> {
        self.core
            .rules()
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    }

    /// Checks one event against the event rules.
    #[napi]
    pub fn observe(&self, event: NativeEventInput) -> Result<()> {
        let e = event_of(&event, &self.clock)?;
        guard(|| {
            self.core.observe(&e);
            Ok(())
        })
    }

    /// Checks an SLO's error budget against the budget rules.
    #[napi]
    pub fn observe_slo(&self, slo: &NativeSlo) -> Result<()> {
        guard(|| {
            self.core.observe_slo(&slo.core);
            Ok(())
        })
    }

    /// Feeds this manager every event `registry`'s checks cause (health rules).
    #[napi]
    pub fn watch_health(&self, registry: &NativeHealthRegistry) {
        registry.core.set_alerts(Some(&self.core));
    }

    #[napi]
    pub fn active(&self) -> Vec<NativeAlert> {
        self.core.active().into_iter().map(alert).collect()
    }

    /// The newest `limit` alerts, oldest first.
    #[napi]
    pub fn history(&self, limit: u32) -> Vec<NativeAlert> {
        self.core
            .history(limit as usize)
            .into_iter()
            .map(alert)
            .collect()
    }

    #[napi]
    pub fn stats(&self) -> NativeAlertStats {
        let s = self.core.stats();
        NativeAlertStats {
            raised_total: s.raised_total as f64,
            suppressed_total: s.suppressed_total as f64,
            raised_by_severity: s.raised_by_severity.iter().map(|x| *x as f64).collect(),
            active_by_severity: s.active_by_severity.iter().map(|x| *x as f64).collect(),
        }
    }

    #[napi(getter)]
    pub fn queue_id(&self) -> u32 {
        self.events.id()
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

impl Drop for NativeAlertManager {
    fn drop(&mut self) {
        self.events.clear(|id| self.core.unsubscribe(id));
    }
}
