//! `DegradationManager` and `ResponseCache` (contract section 6). The core picks the strategy
//! that serves a failed call, tracks degraded components and owns the cache's keys, expiry and
//! eviction; the JS layer keeps the strategies' implementations and the cached values, and
//! answers the user predicates (`canHandle`, `isAvailable`) when the core asks, with no core
//! lock held.

use std::sync::Arc;
use std::time::Duration;

use breakwater_core::cache::{CacheConfig, Freshness, ResponseCache};
use breakwater_core::degradation::{
    ActiveDegradation, DegradationConfig, DegradationManager, FallbackChoice, FallbackContext,
    HistoryEntry, Level, StrategyInfo, StrategyKind, StrategySpec, Trigger, TriggerSet,
};
use breakwater_core::{Category, ClockRef, ErrorCode, State};
use napi::bindgen_prelude::{FnArgs, Function};
use napi_derive::napi;

use crate::breaker::{NativeConfigError, config_errors, invalid, parse_json};
use crate::clock::{NativeManualClock, ms_to_duration, nanos_to_ms};
use crate::events::{EventQueue, NativeEvent};
use crate::status::{Result, error, guard};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bad(what: &str, v: &str) -> napi::Error<crate::status::Code> {
    error(ErrorCode::InvalidArgument, format!("unknown {what} '{v}'"))
}

pub(crate) fn trigger(s: &str) -> Result<Trigger> {
    s.parse().map_err(|()| bad("trigger", s))
}

fn level(s: &str) -> Result<Level> {
    s.parse().map_err(|()| bad("level", s))
}

fn freshness(s: Option<&str>) -> Result<Option<Freshness>> {
    match s {
        None => Ok(None),
        Some("fresh") => Ok(Some(Freshness::Fresh)),
        Some("stale") => Ok(Some(Freshness::Stale)),
        Some(other) => Err(bad("cache status", other)),
    }
}

/// What a fallback decision is made on (JS spelling; levels and triggers snake_case).
#[napi(object)]
pub struct NativeFallbackContext {
    pub component: String,
    pub trigger: String,
    /// Default: the trigger's own severity.
    pub severity: Option<String>,
    pub category: Option<String>,
    pub attempts: Option<u32>,
    pub cache_key: Option<String>,
    /// What the response cache would serve: `fresh`, `stale`, or none.
    pub cached: Option<String>,
}

impl NativeFallbackContext {
    fn to_core(&self) -> Result<FallbackContext> {
        let mut ctx = FallbackContext::new(&self.component, trigger(&self.trigger)?);
        if let Some(s) = &self.severity {
            ctx.severity = level(s)?;
        }
        ctx.category = match &self.category {
            None => None,
            Some(c) => Some(
                Category::ALL
                    .into_iter()
                    .find(|x| x.as_str() == c)
                    .ok_or_else(|| bad("category", c))?,
            ),
        };
        ctx.attempts = self.attempts.unwrap_or(0);
        ctx.cache_key = self.cache_key.as_deref().map(Arc::from);
        ctx.cached = freshness(self.cached.as_deref())?;
        Ok(ctx)
    }
}

/// The strategy that serves, and why.
#[napi(object)]
pub struct NativeChoice {
    pub strategy: String,
    pub kind: String,
    /// The rule that named it; none when picked by priority.
    pub rule: Option<String>,
    pub trigger: String,
    pub severity: String,
    pub stale: bool,
}

pub(crate) fn choice(c: FallbackChoice) -> NativeChoice {
    NativeChoice {
        strategy: c.strategy.to_string(),
        kind: c.kind.as_str().to_string(),
        rule: c.rule.map(|r| r.to_string()),
        trigger: c.trigger.as_str().to_string(),
        severity: c.severity.as_str().to_string(),
        stale: c.stale,
    }
}

#[napi(object)]
pub struct NativeStrategyInfo {
    pub name: String,
    pub kind: String,
    pub priority: u32,
    pub description: String,
    pub available: bool,
    pub handles: Option<Vec<String>>,
}

fn strategy_info(s: StrategyInfo) -> NativeStrategyInfo {
    NativeStrategyInfo {
        name: s.name.to_string(),
        kind: s.kind.as_str().to_string(),
        priority: s.priority,
        description: s.description.to_string(),
        available: s.available,
        handles: s
            .triggers
            .map(|t| t.iter().map(|x| x.as_str().to_string()).collect()),
    }
}

#[napi(object)]
pub struct NativeActive {
    pub component: String,
    pub level: String,
    pub trigger: String,
    /// Ms on the manager's clock when it started.
    pub since: f64,
    /// Wall time when it started (ms since the Unix epoch).
    pub started_at: f64,
    pub strategy: Option<String>,
    pub calls_served: f64,
}

fn active(a: ActiveDegradation) -> NativeActive {
    NativeActive {
        component: a.component.to_string(),
        level: a.level.as_str().to_string(),
        trigger: a.trigger.as_str().to_string(),
        since: nanos_to_ms(a.since),
        started_at: a.started_at_ms as f64,
        strategy: a.strategy.map(|s| s.to_string()),
        calls_served: a.calls_served as f64,
    }
}

#[napi(object)]
pub struct NativeHistoryEntry {
    pub component: String,
    pub trigger: String,
    pub level: String,
    pub since: f64,
    pub started_at: f64,
    /// Ms; none while active.
    pub duration: Option<f64>,
    pub strategy: Option<String>,
    pub calls_served: f64,
    /// `auto` or `forced`; none while active.
    pub recovery: Option<String>,
}

fn history(h: HistoryEntry) -> NativeHistoryEntry {
    NativeHistoryEntry {
        component: h.component.to_string(),
        trigger: h.trigger.as_str().to_string(),
        level: h.level.as_str().to_string(),
        since: nanos_to_ms(h.since),
        started_at: h.started_at_ms as f64,
        duration: h.duration.map(ms),
        strategy: h.strategy.map(|s| s.to_string()),
        calls_served: h.calls_served as f64,
        recovery: h.recovery.map(|r| r.as_str().to_string()),
    }
}

#[napi(object)]
pub struct NativeDegradationStats {
    pub active: u32,
    pub total_triggered: f64,
    pub total_recovered: f64,
    pub calls_served: f64,
    pub most_frequent_reason: Option<String>,
    pub mean_duration: Option<f64>,
    pub max_duration: Option<f64>,
}

/// The JS `accept(strategyName, trigger, severity)`: a strategy's own `canHandle` /
/// `isAvailable`.
pub(crate) type Accept<'a> = Function<'a, FnArgs<(String, String, String)>, bool>;

/// Calls the JS `accept` for each candidate the core would pick (no core lock held); a JS
/// exception counts as "no".
pub(crate) fn acceptor<'a>(
    accept: &'a Option<Accept<'a>>,
) -> impl FnMut(&StrategyInfo, &FallbackContext) -> bool + 'a {
    move |info, ctx| match accept {
        None => true,
        Some(f) => f
            .call(
                (
                    info.name.to_string(),
                    ctx.trigger.as_str().to_string(),
                    ctx.severity.as_str().to_string(),
                )
                    .into(),
            )
            .unwrap_or(false),
    }
}

#[napi]
pub struct NativeDegradationManager {
    pub(crate) core: Arc<DegradationManager>,
    events: EventQueue,
}

#[napi]
impl NativeDegradationManager {
    /// `json`: settings and rules in config-file spelling (`maxHistory`, `autoRecovery`,
    /// `enabled`, `degradationRules`); check it with `checkDegradationConfig` first.
    #[napi(constructor)]
    pub fn new(json: String, clock: Option<&NativeManualClock>) -> Result<Self> {
        guard(|| {
            let value = parse_json(&json).map_err(invalid)?;
            let cfg =
                DegradationConfig::from_json(&value).map_err(|e| invalid(config_errors(e)))?;
            let clock = clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref);
            let core =
                DegradationManager::new(cfg, clock).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self {
                core: Arc::new(core),
                events: EventQueue::default(),
            })
        })
    }

    /// Applies settings (and rules, when given) over the live ones; the problems, empty when
    /// applied.
    #[napi]
    pub fn configure(&self, json: String) -> Vec<NativeConfigError> {
        let value = match parse_json(&json) {
            Ok(v) => v,
            Err(e) => return e,
        };
        match DegradationConfig::from_json_over(&self.core.config(), &value)
            .and_then(|c| self.core.configure(c))
        {
            Ok(()) => Vec::new(),
            Err(e) => config_errors(e),
        }
    }

    /// Registers (or replaces in place) a strategy; whether one was replaced. `handles`: the
    /// triggers it serves (all when absent).
    #[napi]
    pub fn register(
        &self,
        name: String,
        kind: String,
        priority: u32,
        description: String,
        available: bool,
        handles: Option<Vec<String>>,
    ) -> Result<bool> {
        guard(|| {
            let kind: StrategyKind = kind.parse().map_err(|()| bad("strategy kind", &kind))?;
            let mut spec = StrategySpec::new(name, kind, priority)
                .description(description)
                .available(available);
            if let Some(h) = handles {
                let set = h
                    .iter()
                    .map(|t| trigger(t))
                    .collect::<Result<TriggerSet>>()?;
                spec = spec.triggers(set);
            }
            Ok(self.core.register(spec))
        })
    }

    #[napi]
    pub fn unregister(&self, name: String) -> bool {
        self.core.unregister(&name)
    }

    #[napi]
    pub fn set_available(&self, name: String, available: bool) -> bool {
        self.core.set_available(&name, available)
    }

    #[napi]
    pub fn strategies(&self) -> Vec<NativeStrategyInfo> {
        self.core
            .strategies()
            .into_iter()
            .map(strategy_info)
            .collect()
    }

    /// The decision for `ctx`, recording nothing.
    #[napi]
    pub fn choose(
        &self,
        ctx: NativeFallbackContext,
        accept: Option<Accept<'_>>,
    ) -> Result<Option<NativeChoice>> {
        let ctx = ctx.to_core()?;
        let mut f = acceptor(&accept);
        Ok(self.core.choose_with(&ctx, &mut f).map(choice))
    }

    /// The decision for `ctx`, recorded: the component is degraded and the fallback counted.
    #[napi]
    pub fn select(
        &self,
        ctx: NativeFallbackContext,
        accept: Option<Accept<'_>>,
    ) -> Result<Option<NativeChoice>> {
        let ctx = ctx.to_core()?;
        let mut f = acceptor(&accept);
        Ok(self.core.select_with(&ctx, &mut f).map(choice))
    }

    /// Degrades `component`: at `severity`, or at the level a health `status` implies, or at
    /// the trigger's own level.
    #[napi]
    pub fn trigger(
        &self,
        component: String,
        trigger_name: String,
        severity: Option<String>,
        status: Option<String>,
    ) -> Result<bool> {
        guard(|| {
            let t = trigger(&trigger_name)?;
            let l = match (severity, status) {
                (Some(s), _) => level(&s)?,
                (None, Some(st)) => Level::from_health_status(&st).ok_or_else(|| {
                    error(ErrorCode::InvalidArgument, format!("unknown status '{st}'"))
                })?,
                (None, None) => t.default_level().ok_or_else(|| {
                    error(
                        ErrorCode::InvalidArgument,
                        format!("trigger '{trigger_name}' needs a severity"),
                    )
                })?,
            };
            Ok(self.core.trigger(&component, t, l))
        })
    }

    #[napi]
    pub fn trigger_cleared(&self, component: String, trigger_name: String) -> Result<bool> {
        Ok(self
            .core
            .trigger_cleared(&component, trigger(&trigger_name)?))
    }

    #[napi]
    pub fn report_success(&self, component: String) -> bool {
        self.core.report_success(&component)
    }

    #[napi]
    pub fn on_breaker_state(&self, component: String, state: String) -> Result<bool> {
        let s = State::ALL
            .into_iter()
            .find(|s| s.as_str() == state)
            .ok_or_else(|| bad("state", &state))?;
        Ok(self.core.on_breaker_state(&component, s))
    }

    #[napi]
    pub fn on_health_status(&self, component: String, status: String) -> bool {
        self.core.on_health_status(&component, &status)
    }

    #[napi]
    pub fn force_recovery(&self, component: String) -> bool {
        self.core.force_recovery(&component)
    }

    #[napi]
    pub fn force_recovery_all(&self) -> u32 {
        self.core.force_recovery_all() as u32
    }

    #[napi]
    pub fn auto_recovery(&self) -> bool {
        self.core.auto_recovery()
    }

    #[napi]
    pub fn set_auto_recovery(&self, on: bool) {
        self.core.set_auto_recovery(on)
    }

    #[napi]
    pub fn level(&self, component: String) -> String {
        self.core.level(&component).as_str().to_string()
    }

    #[napi]
    pub fn overall_level(&self) -> String {
        self.core.overall_level().as_str().to_string()
    }

    #[napi]
    pub fn active(&self, component: String) -> Option<NativeActive> {
        self.core.active(&component).map(active)
    }

    #[napi]
    pub fn active_all(&self) -> Vec<NativeActive> {
        self.core.active_all().into_iter().map(active).collect()
    }

    #[napi]
    pub fn history(&self) -> Vec<NativeHistoryEntry> {
        self.core.history().into_iter().map(history).collect()
    }

    #[napi]
    pub fn statistics(&self) -> NativeDegradationStats {
        let s = self.core.statistics();
        NativeDegradationStats {
            active: s.active as u32,
            total_triggered: s.total_triggered as f64,
            total_recovered: s.total_recovered as f64,
            calls_served: s.calls_served as f64,
            most_frequent_reason: s.most_frequent_reason.map(|t| t.as_str().to_string()),
            mean_duration: s.mean_duration.map(ms),
            max_duration: s.max_duration.map(ms),
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

impl Drop for NativeDegradationManager {
    fn drop(&mut self) {
        self.events.clear(|id| self.core.unsubscribe(id));
    }
}

/// Checks degradation settings and rules; empty when valid.
#[napi]
pub fn check_degradation_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => DegradationConfig::from_json(&v)
            .err()
            .map(config_errors)
            .unwrap_or_default(),
    }
}

/// Checks cache options; empty when valid.
#[napi]
pub fn check_cache_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => CacheConfig::from_json(&v)
            .err()
            .map(config_errors)
            .unwrap_or_default(),
    }
}

/// What a `put` displaced.
#[napi(object)]
pub struct NativePut {
    pub replaced: bool,
    pub evicted: Option<String>,
}

#[napi(object)]
pub struct NativeCacheStats {
    pub entries: f64,
    pub hits: f64,
    pub stale_hits: f64,
    pub misses: f64,
    pub evictions: f64,
}

/// The response cache's keys, expiry and eviction; the JS layer keeps the values under the
/// same keys and drops the ones reported evicted or removed.
#[napi]
pub struct NativeResponseCache {
    pub(crate) core: Arc<ResponseCache<(), String>>,
}

fn keys(v: Vec<(String, ())>) -> Vec<String> {
    v.into_iter().map(|(k, ())| k).collect()
}

#[napi]
impl NativeResponseCache {
    #[napi(constructor)]
    pub fn new(json: String, clock: Option<&NativeManualClock>) -> Result<Self> {
        guard(|| {
            let value = parse_json(&json).map_err(invalid)?;
            let cfg = CacheConfig::from_json(&value).map_err(|e| invalid(config_errors(e)))?;
            let clock = clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref);
            let core = ResponseCache::new(cfg, clock).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self {
                core: Arc::new(core),
            })
        })
    }

    /// Stores `key` (with its own TTL in ms when given).
    #[napi]
    pub fn put(&self, key: String, ttl_ms: Option<f64>) -> Result<NativePut> {
        guard(|| {
            let r = match ttl_ms {
                Some(t) => self.core.put_with_ttl(key, (), ms_to_duration("ttl", t)?),
                None => self.core.put(key, ()),
            };
            Ok(NativePut {
                replaced: r.replaced.is_some(),
                evicted: r.evicted.map(|(k, ())| k),
            })
        })
    }

    /// A fresh lookup (marks the entry used).
    #[napi]
    pub fn get(&self, key: String) -> bool {
        self.core.get(&key).is_some()
    }

    /// The live call failed: `fresh`, `stale` (served under stale-if-error) or none.
    #[napi]
    pub fn on_error(&self, key: String) -> Option<String> {
        self.core
            .on_error(&key)
            .map(|h| h.freshness.as_str().to_string())
    }

    /// What `onError` would serve, without serving (pure).
    #[napi]
    pub fn status(&self, key: String) -> Option<String> {
        self.core.status(&key).map(|f| f.as_str().to_string())
    }

    #[napi]
    pub fn remove(&self, key: String) -> bool {
        self.core.remove(&key).is_some()
    }

    /// Removes everything; the removed keys, least recently used first.
    #[napi]
    pub fn clear(&self) -> Vec<String> {
        keys(self.core.clear())
    }

    #[napi]
    pub fn purge_expired(&self) -> Vec<String> {
        keys(self.core.purge_expired())
    }

    /// Least to most recently used.
    #[napi]
    pub fn keys(&self) -> Vec<String> {
        self.core.keys()
    }

    #[napi]
    pub fn size(&self) -> u32 {
        self.core.len() as u32
    }

    #[napi]
    pub fn stats(&self) -> NativeCacheStats {
        let s = self.core.stats();
        NativeCacheStats {
            entries: s.entries as f64,
            hits: s.hits as f64,
            stale_hits: s.stale_hits as f64,
            misses: s.misses as f64,
            evictions: s.evictions as f64,
        }
    }

    /// Applies options over the live config; `[removed keys]` or the problems.
    #[napi]
    pub fn configure(&self, json: String) -> napi::Either<Vec<String>, Vec<NativeConfigError>> {
        let value = match parse_json(&json) {
            Ok(v) => v,
            Err(e) => return napi::Either::B(e),
        };
        match CacheConfig::from_json_over(&self.core.config(), &value)
            .and_then(|c| self.core.configure(c))
        {
            Ok(removed) => napi::Either::A(keys(removed)),
            Err(e) => napi::Either::B(config_errors(e)),
        }
    }

    /// `[ttl ms, max entries, stale-if-error (1/0)]`.
    #[napi]
    pub fn config(&self) -> Vec<f64> {
        let c = self.core.config();
        vec![
            ms(c.ttl),
            c.max_entries as f64,
            if c.stale_if_error { 1.0 } else { 0.0 },
        ]
    }
}
