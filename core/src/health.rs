//! Health checks (contract section 1, "HealthCheck"): hosts run their checks on their own timers
//! and report each result here; the core keeps the latest results and a bounded history per
//! check, and computes each check's status and the overall, liveness, readiness and startup
//! status. The registry has no timers: staleness and dependency states are read from the clock
//! and the breakers whenever the registry is evaluated.
//!
//! The rules are in `docs/semantics/health.md`; the scenarios in `conformance/scenarios/health/`
//! pin them.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};

use crate::breaker::{CircuitBreaker, State};
use crate::clock::{ClockRef, Nanos, duration_to_nanos};
use crate::config::{ConfigError, ConfigErrors, IntRange, ObjectReader, Spelling, fmt_ms};
use crate::error::ErrorCode;
use crate::event::{Event, EventBus, EventKind, Listener, ListenerId};
use crate::eventlog::AlertManager;

/// A check's (or the whole's) health. `as_str` is the name used in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Unhealthy,
    Critical,
    /// Never reported, or stale.
    Unknown,
}

impl HealthStatus {
    pub const ALL: [HealthStatus; 5] = [
        HealthStatus::Healthy,
        HealthStatus::Degraded,
        HealthStatus::Unhealthy,
        HealthStatus::Critical,
        HealthStatus::Unknown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::Critical => "critical",
            HealthStatus::Unknown => "unknown",
        }
    }

    /// `unhealthy` and `critical`: a report with one of these is a failed report.
    pub const fn is_failure(self) -> bool {
        matches!(self, HealthStatus::Unhealthy | HealthStatus::Critical)
    }

    /// Aggregation order: healthy < degraded < unknown < unhealthy < critical.
    pub const fn rank(self) -> u8 {
        match self {
            HealthStatus::Healthy => 0,
            HealthStatus::Degraded => 1,
            HealthStatus::Unknown => 2,
            HealthStatus::Unhealthy => 3,
            HealthStatus::Critical => 4,
        }
    }

    fn worst(self, other: HealthStatus) -> HealthStatus {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HealthStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        HealthStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(())
    }
}

/// What a check tells: whether the process is alive, ready for traffic, or done starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    Liveness,
    Readiness,
    Startup,
}

impl CheckKind {
    pub const ALL: [CheckKind; 3] = [
        CheckKind::Liveness,
        CheckKind::Readiness,
        CheckKind::Startup,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CheckKind::Liveness => "liveness",
            CheckKind::Readiness => "readiness",
            CheckKind::Startup => "startup",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        CheckKind::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(())
    }
}

/// One check's settings. `Default` gives the contract's defaults: readiness, 30 s, 5 s, 3,
/// critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckConfig {
    pub kind: CheckKind,
    /// How often the host runs the check.
    pub interval: Duration,
    /// How long one run may take; a result reported with a longer latency is a failed report.
    pub timeout: Duration,
    /// Consecutive failed reports before the check counts as failing.
    pub failure_threshold: u32,
    /// A failing critical check makes the whole unhealthy; a failing non-critical one, degraded.
    pub critical: bool,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            kind: CheckKind::Readiness,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            failure_threshold: 3,
            critical: true,
        }
    }
}

pub const FAILURE_THRESHOLD: IntRange = IntRange { min: 1, max: 1000 };
const DURATION_ALLOWED: &str = "a whole number of ms > 0 and <= 1 day";
const KIND_ALLOWED: &str = "one of liveness, readiness, startup";
const ONE_DAY: Duration = Duration::from_secs(86_400);

const CHECK_KEYS: &[&str] = &[
    "kind",
    "interval_ms",
    "interval",
    "timeout_ms",
    "timeout",
    "failure_threshold",
    "failureThreshold",
    "critical",
];

impl HealthCheckConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        self.validate_spelled(&Spelling::default())
    }

    fn validate_spelled(&self, sp: &Spelling) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        let bad =
            |d: Duration| d.is_zero() || d > ONE_DAY || !d.subsec_nanos().is_multiple_of(1_000_000);
        if bad(self.interval) {
            errs.push(sp.error("interval", || fmt_ms(self.interval), DURATION_ALLOWED));
        }
        if bad(self.timeout) {
            errs.push(sp.error("timeout", || fmt_ms(self.timeout), DURATION_ALLOWED));
        }
        if !FAILURE_THRESHOLD.contains(self.failure_threshold as u64) {
            errs.push(sp.error(
                "failure_threshold",
                || self.failure_threshold.to_string(),
                &FAILURE_THRESHOLD.allowed(),
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// Reads a check's keys from `r` over `base`; range errors are spelled as written.
    fn read(base: &HealthCheckConfig, r: &mut ObjectReader<'_>) -> HealthCheckConfig {
        let mut cfg = *base;
        if let Some(k) = r.string("kind", &["kind"], KIND_ALLOWED) {
            match k.parse() {
                Ok(kind) => cfg.kind = kind,
                Err(()) => {
                    let e = r.spelling.error("kind", || k.clone(), KIND_ALLOWED);
                    r.errors.push(e);
                }
            }
        }
        if let Some(d) = r.millis("interval", &["interval_ms", "interval"], DURATION_ALLOWED) {
            cfg.interval = d;
        }
        if let Some(d) = r.millis("timeout", &["timeout_ms", "timeout"], DURATION_ALLOWED) {
            cfg.timeout = d;
        }
        if let Some(v) = r.uint(
            "failure_threshold",
            &["failure_threshold", "failureThreshold"],
            FAILURE_THRESHOLD,
        ) {
            cfg.failure_threshold = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(b) = r.boolean("critical", &["critical"]) {
            cfg.critical = b;
        }
        cfg
    }

    /// Parses one check's settings (`kind`, `interval_ms` / `interval`, `timeout_ms` /
    /// `timeout`, `failure_threshold` / `failureThreshold`, `critical`), layered over `base`.
    pub fn from_json_over(base: &HealthCheckConfig, value: &Value) -> Result<Self, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(
                ConfigError::new("(health check config)", value.to_string(), "an object").into(),
            );
        };
        let mut r = ObjectReader::new(map, "");
        let cfg = Self::read(base, &mut r);
        let (mut errors, spelling) = r.finish(CHECK_KEYS);
        if errors.is_empty()
            && let Err(ConfigErrors(more)) = cfg.validate_spelled(&spelling)
        {
            errors.extend(more);
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    pub fn from_json(value: &Value) -> Result<Self, ConfigErrors> {
        Self::from_json_over(&HealthCheckConfig::default(), value)
    }
}

/// The `healthChecks` / `health_checks` section of a config document:
/// `{enabled, interval, timeout, ...check defaults, agentSpecific: {name: {...}}, max_history}`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSettings {
    /// `false`: hosts run no checks (the registry still answers, with what it has).
    pub enabled: bool,
    pub defaults: HealthCheckConfig,
    /// Per-check settings, each layered over `defaults`.
    pub per_check: BTreeMap<String, HealthCheckConfig>,
    /// Results kept per check.
    pub max_history: usize,
}

/// Results kept per check unless configured.
pub const DEFAULT_MAX_HISTORY: usize = 20;
const MAX_HISTORY: IntRange = IntRange {
    min: 1,
    max: 10_000,
};

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            defaults: HealthCheckConfig::default(),
            per_check: BTreeMap::new(),
            max_history: DEFAULT_MAX_HISTORY,
        }
    }
}

impl HealthSettings {
    /// The settings for check `name`.
    pub fn config_for(&self, name: &str) -> HealthCheckConfig {
        self.per_check.get(name).copied().unwrap_or(self.defaults)
    }

    /// Parses the section. Keys are camelCase in ms (`interval`, `timeout`,
    /// `failureThreshold`) or snake_case with `_ms`; every problem is reported.
    pub fn from_json(value: &Value) -> Result<Self, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(ConfigError::new("(health checks)", value.to_string(), "an object").into());
        };
        let mut out = HealthSettings::default();
        let mut r = ObjectReader::new(map, "");
        if let Some(b) = r.boolean("enabled", &["enabled"]) {
            out.enabled = b;
        }
        if let Some(n) = r.uint("max_history", &["max_history", "maxHistory"], MAX_HISTORY) {
            if MAX_HISTORY.contains(n) {
                out.max_history = n as usize;
            } else {
                let e = r
                    .spelling
                    .error("max_history", || n.to_string(), &MAX_HISTORY.allowed());
                r.errors.push(e);
            }
        }
        out.defaults = HealthCheckConfig::read(&HealthCheckConfig::default(), &mut r);
        let per = r.object(&["agentSpecific", "agent_specific", "checks"]);
        let mut known: Vec<&str> = CHECK_KEYS.to_vec();
        known.extend([
            "enabled",
            "max_history",
            "maxHistory",
            "agentSpecific",
            "agent_specific",
            "checks",
        ]);
        let (mut errors, spelling) = r.finish(&known);
        if let Err(ConfigErrors(more)) = out.defaults.validate_spelled(&spelling) {
            errors.extend(more);
        }
        if let Some((key, names)) = per {
            for (name, v) in names {
                let path = format!("{key}.{name}");
                let Some(m) = v.as_object() else {
                    errors.push(ConfigError::new(path, v.to_string(), "an object"));
                    continue;
                };
                let mut cr = ObjectReader::new(m, &path);
                let cfg = HealthCheckConfig::read(&out.defaults, &mut cr);
                let (errs, sp) = cr.finish(CHECK_KEYS);
                let ok = errs.is_empty();
                errors.extend(errs);
                if ok {
                    match cfg.validate_spelled(&sp) {
                        Ok(()) => {
                            out.per_check.insert(name.clone(), cfg);
                        }
                        Err(ConfigErrors(more)) => errors.extend(more),
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// What a host reports after running a check once.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// As the check saw it. `unknown` (the check could not tell) counts as a failed report.
    pub status: HealthStatus,
    pub message: Option<String>,
    /// How long the run took, as the host measured it.
    pub latency: Duration,
    pub metadata: Map<String, Value>,
}

impl CheckResult {
    pub fn new(status: HealthStatus) -> Self {
        Self {
            status,
            message: None,
            latency: Duration::ZERO,
            metadata: Map::new(),
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// One stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthResult {
    pub result: CheckResult,
    /// When it was reported: the clock's wall time, ms since the Unix epoch.
    pub at_ms: u64,
    /// Whether it counted as a failed report (a failure status, `unknown`, or a latency above
    /// the check's timeout).
    pub failed: bool,
    /// The latency was above the check's timeout.
    pub timed_out: bool,
}

/// A reported check's name was never registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCheck(pub String);

impl UnknownCheck {
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

impl fmt::Display for UnknownCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no health check named {:?} is registered", self.0)
    }
}

impl std::error::Error for UnknownCheck {}

/// Reads a dependency's breaker state (see [`breaker_probe`]).
pub type BreakerProbe = Arc<dyn Fn() -> State + Send + Sync>;
/// Answers "is this component degraded right now" (the degradation manager's view).
pub type DegradedProbe = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A probe that reads `breaker`'s state without keeping it alive (a dropped breaker reads as
/// closed).
pub fn breaker_probe(breaker: &Arc<CircuitBreaker>) -> BreakerProbe {
    let weak: Weak<CircuitBreaker> = Arc::downgrade(breaker);
    Arc::new(move || weak.upgrade().map_or(State::Closed, |b| b.state()))
}

/// What a dependency's breaker and degradation say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependencyView {
    pub critical: bool,
    pub breaker_state: Option<State>,
    pub degraded: bool,
    /// The breaker is open or forced open, or the component is degraded.
    pub failing: bool,
}

/// One entry of a health report: a check, or a dependency without a check of its name.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckView {
    pub name: Arc<str>,
    pub kind: CheckKind,
    pub critical: bool,
    pub status: HealthStatus,
    /// Counts as failing: failure_threshold failed reports in a row, or a failing dependency.
    pub failing: bool,
    /// Reported once, but not within 2 intervals plus the timeout.
    pub stale: bool,
    pub consecutive_failures: u32,
    pub reports_total: u64,
    pub failures_total: u64,
    pub last: Option<HealthResult>,
    /// Set when the entry is (or includes) a dependency.
    pub dependency: Option<DependencyView>,
    /// Whether the entry is a registered check (false: a dependency alone).
    pub is_check: bool,
}

/// The registry's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    /// Over every check and dependency.
    pub status: HealthStatus,
    /// Over liveness checks.
    pub liveness: HealthStatus,
    /// Over liveness and readiness checks and dependencies.
    pub readiness: HealthStatus,
    /// Over startup checks.
    pub startup: HealthStatus,
    /// Liveness is neither unhealthy nor critical.
    pub live: bool,
    /// Readiness is neither unhealthy nor critical: no critical check failing and no critical
    /// dependency's breaker open. Degraded is still ready.
    pub ready: bool,
    /// Startup is healthy or degraded.
    pub started: bool,
    pub checks: Vec<CheckView>,
    /// When it was computed (wall time, ms).
    pub at_ms: u64,
}

impl HealthReport {
    pub fn check(&self, name: &str) -> Option<&CheckView> {
        self.checks.iter().find(|c| &*c.name == name)
    }
}

#[derive(Debug)]
struct Check {
    name: Arc<str>,
    config: HealthCheckConfig,
    history: VecDeque<HealthResult>,
    last_at: Option<Nanos>,
    consecutive_failures: u32,
    /// The status of the latest failed report (unhealthy or critical).
    fail_status: HealthStatus,
    /// The status of the latest passing report.
    last_pass: Option<HealthStatus>,
    reports_total: u64,
    failures_total: u64,
    /// The status last announced (health_changed).
    seen: HealthStatus,
}

struct Dependency {
    name: Arc<str>,
    critical: bool,
    breaker: Option<BreakerProbe>,
    seen: HealthStatus,
}

impl fmt::Debug for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dependency")
            .field("name", &self.name)
            .field("critical", &self.critical)
            .finish()
    }
}

#[derive(Default)]
struct Inner {
    checks: Vec<Check>,
    deps: Vec<Dependency>,
    degraded: Option<DegradedProbe>,
    overall_seen: Option<HealthStatus>,
}

/// Health checks, their dependencies and their aggregate. Share it with `Arc`; every method
/// takes `&self`.
pub struct HealthRegistry {
    name: Arc<str>,
    clock: ClockRef,
    settings: RwLock<HealthSettings>,
    inner: Mutex<Inner>,
    events: EventBus,
    alerts: RwLock<Option<Weak<AlertManager>>>,
}

impl fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthRegistry")
            .field("name", &self.name)
            .field("checks", &self.inner.lock().checks.len())
            .finish()
    }
}

/// Dependency states read outside the lock: (name, breaker state, degraded).
type DepReadings = Vec<(Arc<str>, Option<State>, bool)>;

impl HealthRegistry {
    /// A registry named `"health"` (the component of its overall `health_changed` events) with
    /// the default settings.
    pub fn new(clock: ClockRef) -> Self {
        Self::with_settings("health", HealthSettings::default(), clock)
    }

    pub fn with_settings(name: &str, settings: HealthSettings, clock: ClockRef) -> Self {
        Self {
            name: Arc::from(name),
            clock,
            settings: RwLock::new(settings),
            inner: Mutex::new(Inner::default()),
            events: EventBus::default(),
            alerts: RwLock::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn clock(&self) -> &ClockRef {
        &self.clock
    }

    pub fn settings(&self) -> HealthSettings {
        self.settings.read().clone()
    }

    /// Registers (or reconfigures, keeping its results) check `name`.
    pub fn register(&self, name: &str, config: HealthCheckConfig) -> Result<(), ConfigErrors> {
        config.validate()?;
        let max = self.settings.read().max_history;
        let mut g = self.inner.lock();
        if let Some(c) = g.checks.iter_mut().find(|c| &*c.name == name) {
            c.config = config;
            return Ok(());
        }
        g.checks.push(Check {
            name: Arc::from(name),
            config,
            history: VecDeque::with_capacity(max.min(64)),
            last_at: None,
            consecutive_failures: 0,
            fail_status: HealthStatus::Unhealthy,
            last_pass: None,
            reports_total: 0,
            failures_total: 0,
            seen: HealthStatus::Unknown,
        });
        Ok(())
    }

    /// Registers check `name` with the settings' config for it (its `agentSpecific` entry, else
    /// the defaults).
    pub fn register_default(&self, name: &str) -> Result<(), ConfigErrors> {
        let cfg = self.settings.read().config_for(name);
        self.register(name, cfg)
    }

    /// Removes a check; `false` when there was none.
    pub fn unregister(&self, name: &str) -> bool {
        let mut g = self.inner.lock();
        let before = g.checks.len();
        g.checks.retain(|c| &*c.name != name);
        g.checks.len() != before
    }

    /// The names of the registered checks, in registration order.
    pub fn check_names(&self) -> Vec<Arc<str>> {
        self.inner
            .lock()
            .checks
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// Marks component `name` as a dependency: while its breaker is open (or forced open), or
    /// the degraded probe says it is degraded, it counts as a failing check of that name. A
    /// check registered under the same name takes the failure (its kind and `critical` apply);
    /// otherwise the dependency is a readiness entry of its own with this `critical`.
    /// Replaces an earlier dependency of the same name.
    pub fn add_dependency(&self, name: &str, critical: bool, breaker: Option<BreakerProbe>) {
        let mut g = self.inner.lock();
        if let Some(d) = g.deps.iter_mut().find(|d| &*d.name == name) {
            d.critical = critical;
            d.breaker = breaker;
            return;
        }
        g.deps.push(Dependency {
            name: Arc::from(name),
            critical,
            breaker,
            seen: HealthStatus::Unknown,
        });
    }

    /// [`add_dependency`](Self::add_dependency) under the breaker's own name.
    pub fn add_breaker_dependency(&self, breaker: &Arc<CircuitBreaker>, critical: bool) {
        self.add_dependency(breaker.name(), critical, Some(breaker_probe(breaker)));
    }

    pub fn remove_dependency(&self, name: &str) -> bool {
        let mut g = self.inner.lock();
        let before = g.deps.len();
        g.deps.retain(|d| &*d.name != name);
        g.deps.len() != before
    }

    /// Sets (or clears) the predicate that tells whether a dependency's component is degraded.
    pub fn set_degraded_probe(&self, probe: Option<DegradedProbe>) {
        self.inner.lock().degraded = probe;
    }

    /// Hands every report to `alerts` (for its health-check rules), after the registry's lock
    /// is released. Held weakly.
    pub fn set_alerts(&self, alerts: Option<&Arc<AlertManager>>) {
        *self.alerts.write() = alerts.map(Arc::downgrade);
    }

    /// Records one result of check `name`, then evaluates (emitting `health_changed` for what
    /// changed). Returns the check as it now stands.
    pub fn report(&self, name: &str, result: CheckResult) -> Result<CheckView, UnknownCheck> {
        let now = self.clock.now();
        let at_ms = self.clock.wall_ms();
        let max = self.settings.read().max_history.max(1);
        {
            let mut g = self.inner.lock();
            let Some(c) = g.checks.iter_mut().find(|c| &*c.name == name) else {
                return Err(UnknownCheck(name.to_string()));
            };
            let timed_out = result.latency > c.config.timeout;
            let failed =
                result.status.is_failure() || result.status == HealthStatus::Unknown || timed_out;
            c.reports_total += 1;
            c.last_at = Some(now);
            if failed {
                c.failures_total += 1;
                c.consecutive_failures = c.consecutive_failures.saturating_add(1);
                c.fail_status = if result.status == HealthStatus::Critical {
                    HealthStatus::Critical
                } else {
                    HealthStatus::Unhealthy
                };
            } else {
                c.consecutive_failures = 0;
                c.last_pass = Some(result.status);
            }
            while c.history.len() >= max {
                c.history.pop_front();
            }
            c.history.push_back(HealthResult {
                result,
                at_ms,
                failed,
                timed_out,
            });
        }
        let report = self.evaluate();
        let view = report
            .checks
            .into_iter()
            .find(|c| c.is_check && &*c.name == name)
            .ok_or_else(|| UnknownCheck(name.to_string()))?;
        let alerts = self.alerts.read().as_ref().and_then(Weak::upgrade);
        if let Some(a) = alerts {
            a.observe_check(&view);
        }
        Ok(view)
    }

    /// Computes the report and emits `health_changed` for every entry whose status changed
    /// since the last evaluation (and for the overall status, under the registry's name).
    pub fn evaluate(&self) -> HealthReport {
        let readings = self.read_dependencies();
        let (report, events) = {
            let mut g = self.inner.lock();
            let report = self.compute(&g, &readings);
            let events = Self::diff(&mut g, &report, &self.name, self.events.is_active());
            (report, events)
        };
        for e in &events {
            self.events.emit(e);
        }
        report
    }

    /// The report, without announcing anything (a pure read).
    pub fn snapshot(&self) -> HealthReport {
        let readings = self.read_dependencies();
        let g = self.inner.lock();
        self.compute(&g, &readings)
    }

    /// One entry of [`snapshot`](Self::snapshot).
    pub fn check(&self, name: &str) -> Option<CheckView> {
        self.snapshot()
            .checks
            .into_iter()
            .find(|c| &*c.name == name)
    }

    /// Stored results of check `name`, newest first, at most `limit`.
    pub fn history(&self, name: &str, limit: usize) -> Vec<HealthResult> {
        let g = self.inner.lock();
        g.checks
            .iter()
            .find(|c| &*c.name == name)
            .map(|c| c.history.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default()
    }

    pub fn is_ready(&self) -> bool {
        self.snapshot().ready
    }

    pub fn is_live(&self) -> bool {
        self.snapshot().live
    }

    /// Listens to `health_changed` events.
    pub fn subscribe(&self, kind: Option<EventKind>, listener: Listener) -> ListenerId {
        self.events.subscribe(kind, listener)
    }

    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        self.events.unsubscribe(id)
    }

    /// Calls the dependency probes with no lock held (a probe may take other locks).
    fn read_dependencies(&self) -> DepReadings {
        let (probes, degraded): (Vec<_>, _) = {
            let g = self.inner.lock();
            (
                g.deps
                    .iter()
                    .map(|d| (d.name.clone(), d.breaker.clone()))
                    .collect(),
                g.degraded.clone(),
            )
        };
        probes
            .into_iter()
            .map(|(name, probe)| {
                let state = probe.map(|p| p());
                let degraded = degraded.as_ref().is_some_and(|d| d(&name));
                (name, state, degraded)
            })
            .collect()
    }

    fn compute(&self, g: &Inner, readings: &DepReadings) -> HealthReport {
        let now = self.clock.now();
        let dep_view = |d: &Dependency| -> DependencyView {
            let (state, degraded) = readings
                .iter()
                .find(|(n, _, _)| *n == d.name)
                .map_or((None, false), |(_, s, deg)| (*s, *deg));
            let open = matches!(state, Some(State::Open | State::ForcedOpen));
            DependencyView {
                critical: d.critical,
                breaker_state: state,
                degraded,
                failing: open || degraded,
            }
        };
        let mut checks = Vec::with_capacity(g.checks.len() + g.deps.len());
        for c in &g.checks {
            let mut view = check_view(c, now);
            if let Some(d) = g.deps.iter().find(|d| d.name == c.name) {
                let dv = dep_view(d);
                apply_dependency(&mut view, &dv);
                view.dependency = Some(dv);
            }
            checks.push(view);
        }
        for d in &g.deps {
            if g.checks.iter().any(|c| c.name == d.name) {
                continue;
            }
            let dv = dep_view(d);
            let mut view = CheckView {
                name: d.name.clone(),
                kind: CheckKind::Readiness,
                critical: d.critical,
                status: HealthStatus::Healthy,
                failing: false,
                stale: false,
                consecutive_failures: 0,
                reports_total: 0,
                failures_total: 0,
                last: None,
                dependency: None,
                is_check: false,
            };
            apply_dependency(&mut view, &dv);
            view.dependency = Some(dv);
            checks.push(view);
        }
        let agg = |pick: &dyn Fn(CheckKind) -> bool| {
            checks
                .iter()
                .filter(|c| pick(c.kind))
                .map(contribution)
                .fold(HealthStatus::Healthy, HealthStatus::worst)
        };
        let status = agg(&|_| true);
        let liveness = agg(&|k| k == CheckKind::Liveness);
        let readiness = agg(&|k| k != CheckKind::Startup);
        let startup = agg(&|k| k == CheckKind::Startup);
        HealthReport {
            status,
            liveness,
            readiness,
            startup,
            live: !liveness.is_failure(),
            ready: !readiness.is_failure(),
            started: matches!(startup, HealthStatus::Healthy | HealthStatus::Degraded),
            checks,
            at_ms: self.clock.wall_ms(),
        }
    }

    /// Updates the announced statuses and returns the `health_changed` events (built only when
    /// someone listens).
    fn diff(g: &mut Inner, report: &HealthReport, name: &Arc<str>, build: bool) -> Vec<Event> {
        let mut events = Vec::new();
        let mut announce = |component: &Arc<str>, to: HealthStatus, attempt: Option<u32>| {
            if build {
                let mut e = Event::new(EventKind::HealthChanged, component, report.at_ms);
                e.reason = Some(to.as_str());
                e.attempt = attempt;
                events.push(e);
            }
        };
        for view in &report.checks {
            let seen = if view.is_check {
                g.checks
                    .iter_mut()
                    .find(|c| c.name == view.name)
                    .map(|c| &mut c.seen)
            } else {
                g.deps
                    .iter_mut()
                    .find(|d| d.name == view.name)
                    .map(|d| &mut d.seen)
            };
            if let Some(seen) = seen
                && *seen != view.status
            {
                *seen = view.status;
                announce(
                    &view.name,
                    view.status,
                    view.is_check.then_some(view.consecutive_failures),
                );
            }
        }
        let before = g.overall_seen.unwrap_or(HealthStatus::Healthy);
        g.overall_seen = Some(report.status);
        if before != report.status {
            announce(name, report.status, None);
        }
        events
    }
}

/// A check's own status from its reports and the clock.
fn check_view(c: &Check, now: Nanos) -> CheckView {
    let passed_startup = c.config.kind == CheckKind::Startup && c.last_pass.is_some();
    let stale_after = duration_to_nanos(c.config.interval)
        .saturating_mul(2)
        .saturating_add(duration_to_nanos(c.config.timeout));
    let stale = !passed_startup
        && c.last_at
            .is_some_and(|t| now.saturating_sub(t) > stale_after);
    let failing = !stale && c.consecutive_failures >= c.config.failure_threshold;
    let status = if c.last_at.is_none() || stale {
        HealthStatus::Unknown
    } else if passed_startup {
        c.last_pass.unwrap_or(HealthStatus::Healthy)
    } else if failing {
        c.fail_status
    } else {
        c.last_pass.unwrap_or(HealthStatus::Unknown)
    };
    CheckView {
        name: c.name.clone(),
        kind: c.config.kind,
        critical: c.config.critical,
        status,
        failing: failing && !passed_startup,
        stale,
        consecutive_failures: c.consecutive_failures,
        reports_total: c.reports_total,
        failures_total: c.failures_total,
        last: c.history.back().cloned(),
        dependency: None,
        is_check: true,
    }
}

/// A failing dependency makes the entry failing (at least unhealthy); a half-open breaker
/// makes a healthy entry degraded.
fn apply_dependency(view: &mut CheckView, dep: &DependencyView) {
    if dep.failing {
        view.failing = true;
        if !view.status.is_failure() {
            view.status = HealthStatus::Unhealthy;
        }
    } else if dep.breaker_state == Some(State::HalfOpen) && view.status == HealthStatus::Healthy {
        view.status = HealthStatus::Degraded;
    }
}

/// What one entry contributes to an aggregate.
fn contribution(c: &CheckView) -> HealthStatus {
    match (c.failing, c.critical, c.status) {
        (true, true, s) if s.is_failure() => s,
        (true, true, _) => HealthStatus::Unhealthy,
        (true, false, _) => HealthStatus::Degraded,
        (false, true, HealthStatus::Unknown) => HealthStatus::Unknown,
        (false, false, HealthStatus::Unknown) => HealthStatus::Degraded,
        (false, _, HealthStatus::Degraded) => HealthStatus::Degraded,
        _ => HealthStatus::Healthy,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::breaker::BreakerConfig;
    use crate::clock::ManualClock;
    use serde_json::json;

    fn setup() -> (Arc<ManualClock>, HealthRegistry) {
        let clock = Arc::new(ManualClock::new());
        let reg = HealthRegistry::new(ClockRef::Manual(clock.clone()));
        (clock, reg)
    }

    fn cfg(threshold: u32, critical: bool) -> HealthCheckConfig {
        HealthCheckConfig {
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            failure_threshold: threshold,
            critical,
            ..HealthCheckConfig::default()
        }
    }

    #[test]
    fn threshold_staleness_and_aggregation() {
        let (clock, reg) = setup();
        reg.register("db", cfg(2, true)).unwrap();
        reg.register("cache", cfg(1, false)).unwrap();
        let r = reg.evaluate();
        assert_eq!(r.status, HealthStatus::Unknown);
        assert!(r.ready);
        reg.report("db", CheckResult::new(HealthStatus::Healthy))
            .unwrap();
        reg.report("cache", CheckResult::new(HealthStatus::Unhealthy))
            .unwrap();
        let r = reg.evaluate();
        assert_eq!(r.status, HealthStatus::Degraded);
        assert!(r.ready);
        let v = reg
            .report("db", CheckResult::new(HealthStatus::Unhealthy))
            .unwrap();
        assert_eq!((v.status, v.failing), (HealthStatus::Healthy, false));
        let v = reg
            .report("db", CheckResult::new(HealthStatus::Critical))
            .unwrap();
        assert_eq!((v.status, v.failing), (HealthStatus::Critical, true));
        let r = reg.snapshot();
        assert_eq!(r.status, HealthStatus::Critical);
        assert!(!r.ready);
        clock.advance(Duration::from_millis(2501));
        let r = reg.snapshot();
        assert_eq!(r.check("db").unwrap().status, HealthStatus::Unknown);
        assert!(r.check("db").unwrap().stale);
        assert!(r.ready);
    }

    #[test]
    fn breaker_dependency_makes_not_ready() {
        let (clock, reg) = setup();
        let b = Arc::new(
            CircuitBreaker::new(
                "payments",
                BreakerConfig::default(),
                ClockRef::Manual(clock.clone()),
            )
            .unwrap(),
        );
        reg.add_breaker_dependency(&b, true);
        assert!(reg.is_ready());
        b.force_open();
        let r = reg.snapshot();
        assert!(!r.ready);
        assert_eq!(r.readiness, HealthStatus::Unhealthy);
        b.force_close();
        assert!(reg.is_ready());
        reg.set_degraded_probe(Some(Arc::new(|n: &str| n == "payments")));
        assert!(!reg.is_ready());
    }

    #[test]
    fn events_after_changes() {
        let (_, reg) = setup();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        reg.subscribe(
            None,
            Arc::new(move |e: &Event| {
                s.lock()
                    .push((e.component.to_string(), e.reason.unwrap_or("")))
            }),
        );
        reg.register("db", cfg(1, true)).unwrap();
        reg.report("db", CheckResult::new(HealthStatus::Healthy))
            .unwrap();
        reg.report("db", CheckResult::new(HealthStatus::Healthy))
            .unwrap();
        reg.report("db", CheckResult::new(HealthStatus::Unhealthy))
            .unwrap();
        assert_eq!(
            *seen.lock(),
            vec![
                ("db".to_string(), "healthy"),
                ("db".to_string(), "unhealthy"),
                ("health".to_string(), "unhealthy"),
            ]
        );
    }

    #[test]
    fn settings_parse_both_spellings() {
        let s = HealthSettings::from_json(&json!({
            "enabled": true, "interval": 10000, "timeout": 2000,
            "agentSpecific": { "db": { "failureThreshold": 5, "critical": false } }
        }))
        .unwrap();
        assert_eq!(s.defaults.interval, Duration::from_secs(10));
        assert_eq!(s.config_for("db").failure_threshold, 5);
        assert_eq!(s.config_for("db").timeout, Duration::from_secs(2));
        let e = HealthSettings::from_json(&json!({"interval_ms": 0, "timeuot": 1})).unwrap_err();
        let keys: Vec<_> = e.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["timeuot", "interval_ms"]);
        let e = HealthSettings::from_json(&json!({"checks": {"db": {"kind": "sometimes"}}}))
            .unwrap_err();
        assert_eq!(e.first().key, "checks.db.kind");
    }
}
