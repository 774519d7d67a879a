//! Graceful degradation (contract section 6): the degradation manager, its fallback strategies
//! (descriptors: name, kind, priority, availability, optional C predicates), the rules that pick
//! one (`degradationRules` as the seed writes them), triggering and recovery, history and
//! statistics, and choosing a strategy for a failed call. The caller produces the fallback
//! value natively: a cached response (`bw_cache_on_error`), a reduced or static answer, another
//! target, or its own code for a custom strategy.

#![allow(non_camel_case_types)]

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use breakwater_core::config::ConfigError;
use breakwater_core::{
    DegradationConfig, DegradationManager, FallbackChoice, FallbackContext, HistoryEntry, Level,
    Recovery, Rule, StrategyKind, StrategySpec, Trigger, TriggerSet,
};

use crate::breaker::{clock_of, parse_json};
use crate::cache::CacheLookupArg;
use crate::classify::bw_str;
use crate::clock::bw_manual_clock;
use crate::events::{self, bw_event_callback};
use crate::ffi::{self, Error, OptOut, Out, boundary, boundary_value};
use crate::health::HealthStatusArg;
use crate::result::bw_result;
use crate::text::{Names, bw_string_list};
use crate::types::{CategoryArg, EventKindArg, StateArg, category_to_c, floor_ms, lookup, name_of};

// ----- enums --------------------------------------------------------------------------------

/// Why a component is degraded (the `reason` of degradation events). `bw_trigger_name` gives
/// the snake_case name. In a mask (`bw_strategy_spec.triggers`) use `BW_TRIGGER_BIT(t)`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_trigger {
    /// "circuit_breaker_open": severity significant.
    BW_TRIGGER_CIRCUIT_BREAKER_OPEN = 0,
    /// "timeout": severity partial.
    BW_TRIGGER_TIMEOUT = 1,
    /// "rate_limited": severity partial.
    BW_TRIGGER_RATE_LIMITED = 2,
    /// "error_rate": severity partial.
    BW_TRIGGER_ERROR_RATE = 3,
    /// "health_check_failed": severity from the check's status (`bw_level_from_health_status`).
    BW_TRIGGER_HEALTH_CHECK_FAILED = 4,
    /// "manual": severity as given; recovers only when forced.
    BW_TRIGGER_MANUAL = 5,
}

/// How degraded a component is, ordered: none < partial < significant < severe < critical.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_level {
    BW_LEVEL_NONE = 0,
    BW_LEVEL_PARTIAL = 1,
    BW_LEVEL_SIGNIFICANT = 2,
    BW_LEVEL_SEVERE = 3,
    BW_LEVEL_CRITICAL = 4,
}

/// What a strategy does; the caller carries it out.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_strategy_kind {
    /// "cached_response": the last good result for the call's cache key (`bw_cache_on_error`);
    /// it serves only when the context's `cached` is fresh or stale.
    BW_STRATEGY_CACHED_RESPONSE = 0,
    /// "simplified_response": a reduced answer.
    BW_STRATEGY_SIMPLIFIED_RESPONSE = 1,
    /// "fallback_target": call an alternative.
    BW_STRATEGY_FALLBACK_TARGET = 2,
    /// "offline_response": a static answer.
    BW_STRATEGY_OFFLINE_RESPONSE = 3,
    /// "custom": the caller's own code.
    BW_STRATEGY_CUSTOM = 4,
}

/// How a degradation ended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_recovery {
    /// "auto": its trigger cleared.
    BW_RECOVERY_AUTO = 0,
    /// "forced": `bw_degradation_force_recovery` / `_all`.
    BW_RECOVERY_FORCED = 1,
}

/// A `bw_trigger` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct TriggerArg(pub u32);
/// A `bw_level` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct LevelArg(pub u32);
/// A `bw_strategy_kind` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct StrategyKindArg(pub u32);
/// A `bw_recovery` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct RecoveryArg(pub u32);

impl TriggerArg {
    pub(crate) fn require(self, arg: &'static str) -> ffi::Result<Trigger> {
        Trigger::ALL.get(self.0 as usize).copied().ok_or_else(|| {
            Error::invalid(format!(
                "argument `{arg}`: {} is not a bw_trigger (0..=5)",
                self.0
            ))
        })
    }
}

impl LevelArg {
    pub(crate) fn require(self, arg: &'static str) -> ffi::Result<Level> {
        Level::ALL.get(self.0 as usize).copied().ok_or_else(|| {
            Error::invalid(format!(
                "argument `{arg}`: {} is not a bw_level (0..=4)",
                self.0
            ))
        })
    }
}

impl StrategyKindArg {
    fn require(self, arg: &'static str) -> ffi::Result<StrategyKind> {
        StrategyKind::ALL
            .get(self.0 as usize)
            .copied()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "argument `{arg}`: {} is not a bw_strategy_kind (0..=4)",
                    self.0
                ))
            })
    }
}

pub(crate) fn trigger_to_c(t: Trigger) -> bw_trigger {
    use bw_trigger::*;
    match t {
        Trigger::CircuitBreakerOpen => BW_TRIGGER_CIRCUIT_BREAKER_OPEN,
        Trigger::Timeout => BW_TRIGGER_TIMEOUT,
        Trigger::RateLimited => BW_TRIGGER_RATE_LIMITED,
        Trigger::ErrorRate => BW_TRIGGER_ERROR_RATE,
        Trigger::HealthCheckFailed => BW_TRIGGER_HEALTH_CHECK_FAILED,
        Trigger::Manual => BW_TRIGGER_MANUAL,
    }
}

pub(crate) fn level_to_c(l: Level) -> bw_level {
    use bw_level::*;
    match l {
        Level::None => BW_LEVEL_NONE,
        Level::Partial => BW_LEVEL_PARTIAL,
        Level::Significant => BW_LEVEL_SIGNIFICANT,
        Level::Severe => BW_LEVEL_SEVERE,
        Level::Critical => BW_LEVEL_CRITICAL,
    }
}

pub(crate) fn kind_to_c(k: StrategyKind) -> bw_strategy_kind {
    use bw_strategy_kind::*;
    match k {
        StrategyKind::CachedResponse => BW_STRATEGY_CACHED_RESPONSE,
        StrategyKind::SimplifiedResponse => BW_STRATEGY_SIMPLIFIED_RESPONSE,
        StrategyKind::FallbackTarget => BW_STRATEGY_FALLBACK_TARGET,
        StrategyKind::OfflineResponse => BW_STRATEGY_OFFLINE_RESPONSE,
        StrategyKind::Custom => BW_STRATEGY_CUSTOM,
    }
}

fn recovery_to_c(r: Recovery) -> bw_recovery {
    match r {
        Recovery::Auto => bw_recovery::BW_RECOVERY_AUTO,
        Recovery::Forced => bw_recovery::BW_RECOVERY_FORCED,
    }
}

const TRIGGER_NAMES: [&std::ffi::CStr; 6] = [
    c"circuit_breaker_open",
    c"timeout",
    c"rate_limited",
    c"error_rate",
    c"health_check_failed",
    c"manual",
];
const LEVEL_NAMES: [&std::ffi::CStr; 5] =
    [c"none", c"partial", c"significant", c"severe", c"critical"];
const KIND_NAMES: [&std::ffi::CStr; 5] = [
    c"cached_response",
    c"simplified_response",
    c"fallback_target",
    c"offline_response",
    c"custom",
];

/// The name of a trigger ("circuit_breaker_open", "timeout", "rate_limited", "error_rate",
/// "health_check_failed", "manual"); NULL for a value that is not a `bw_trigger`. Static;
/// thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_trigger_name(trigger: TriggerArg) -> *const c_char {
    boundary_value("bw_trigger_name", std::ptr::null(), || {
        name_of(&TRIGGER_NAMES, trigger.0)
    })
}

/// The name of a level ("none", "partial", "significant", "severe", "critical"); NULL for a
/// value that is not a `bw_level`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_level_name(level: LevelArg) -> *const c_char {
    boundary_value("bw_level_name", std::ptr::null(), || {
        name_of(&LEVEL_NAMES, level.0)
    })
}

/// The name of a strategy kind ("cached_response", "simplified_response", "fallback_target",
/// "offline_response", "custom"); NULL for a value that is not a `bw_strategy_kind`. Static;
/// thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_strategy_kind_name(kind: StrategyKindArg) -> *const c_char {
    boundary_value("bw_strategy_kind_name", std::ptr::null(), || {
        name_of(&KIND_NAMES, kind.0)
    })
}

/// The name of a recovery ("auto", "forced"); NULL for a value that is not a `bw_recovery`.
/// Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_recovery_name(recovery: RecoveryArg) -> *const c_char {
    boundary_value("bw_recovery_name", std::ptr::null(), || {
        name_of(&[c"auto", c"forced"], recovery.0)
    })
}

/// Parses a trigger name (`len` bytes of UTF-8) into `*out`; `BW_RESULT_INVALID_ARGUMENT`
/// for an unknown name. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_trigger_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_trigger,
) -> bw_result {
    boundary("bw_trigger_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: documented requirement on `name`.
        let i = unsafe { lookup(&TRIGGER_NAMES, "trigger", name, len) }?;
        out.write(trigger_to_c(Trigger::ALL[i]));
        Ok(())
    })
}

/// Parses a level name into `*out`, like `bw_trigger_from_name`. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_level_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_level,
) -> bw_result {
    boundary("bw_level_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: documented requirement on `name`.
        let i = unsafe { lookup(&LEVEL_NAMES, "level", name, len) }?;
        out.write(level_to_c(Level::ALL[i]));
        Ok(())
    })
}

/// Parses a strategy kind name into `*out`, like `bw_trigger_from_name`. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_strategy_kind_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_strategy_kind,
) -> bw_result {
    boundary("bw_strategy_kind_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: documented requirement on `name`.
        let i = unsafe { lookup(&KIND_NAMES, "strategy kind", name, len) }?;
        out.write(kind_to_c(StrategyKind::ALL[i]));
        Ok(())
    })
}

/// The level a trigger implies by itself (contract section 6): `circuit_breaker_open`
/// significant; `timeout`, `rate_limited`, `error_rate` partial. `BW_RESULT_INVALID_ARGUMENT`
/// for `health_check_failed` (its level comes from the check: `bw_level_from_health_status`)
/// and `manual` (given by the caller). Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_trigger_default_level(
    trigger: TriggerArg,
    out: *mut bw_level,
) -> bw_result {
    boundary("bw_trigger_default_level", || {
        let out = Out::new(out, "out")?;
        let t = trigger.require("trigger")?;
        let l = t.default_level().ok_or_else(|| {
            Error::invalid(format!("trigger {t} has no level of its own: pass one"))
        })?;
        out.write(level_to_c(l));
        Ok(())
    })
}

/// The level a failing health check implies: degraded partial, unhealthy significant,
/// critical severe, healthy none. `BW_RESULT_INVALID_ARGUMENT` for `BW_HEALTH_UNKNOWN` (it
/// implies nothing) or a value out of range. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_level_from_health_status(
    status: HealthStatusArg,
    out: *mut bw_level,
) -> bw_result {
    boundary("bw_level_from_health_status", || {
        let out = Out::new(out, "out")?;
        let s = status.require("status")?;
        let l = Level::from_health_status(s.as_str())
            .ok_or_else(|| Error::invalid(format!("health status {s} implies no level")))?;
        out.write(level_to_c(l));
        Ok(())
    })
}

// ----- strategies and contexts --------------------------------------------------------------

/// The context a fallback decision is made in, for `bw_degradation_choose` /
/// `bw_degradation_select`, and what a strategy's `can_handle` callback sees. Zero-initialise
/// it and set what you know.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_fallback_context {
    /// The component the call was for (required).
    pub component: bw_str,
    pub trigger: TriggerArg,
    /// The severity; when `has_severity` is false, the trigger's own level (partial for
    /// `health_check_failed` and `manual`, which should set one).
    pub has_severity: bool,
    pub severity: LevelArg,
    /// The category of the last failure, when there was one.
    pub has_category: bool,
    pub category: CategoryArg,
    /// Attempts the call made (0 when it was rejected before the first).
    pub attempts: u32,
    /// The call's cache key (`ptr` NULL: none).
    pub cache_key: bw_str,
    /// What the response cache would serve for the key now (`bw_cache_status`):
    /// `BW_CACHE_MISS` (0) means nothing, and a cached_response strategy cannot serve.
    pub cached: CacheLookupArg,
}

/// A strategy's `can_handle`: whether it serves the call in `context` (valid only during the
/// callback). Runs on the calling thread with no breakwater lock held (it may call back into
/// breakwater); with several threads it runs concurrently.
pub type bw_can_handle_callback = Option<
    unsafe extern "C" fn(userdata: *mut c_void, context: *const bw_fallback_context) -> bool,
>;

/// A strategy's `is_available`: whether it can serve right now (a dependency up, a file
/// loaded). Same rules as `bw_can_handle_callback`.
pub type bw_is_available_callback = Option<unsafe extern "C" fn(userdata: *mut c_void) -> bool>;

/// A strategy to register with `bw_degradation_register`. Zero-initialise it and set the name,
/// kind and priority; the rest is optional.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_strategy_spec {
    /// Its name, which rules name (required, UTF-8).
    pub name: bw_str,
    pub kind: StrategyKindArg,
    /// Lower numbers are tried first (among strategies no rule names).
    pub priority: u32,
    /// Register it unavailable (`bw_degradation_set_available` flips it later).
    pub unavailable: bool,
    /// The triggers it handles, as a mask of `BW_TRIGGER_BIT(t)`; 0 means every trigger.
    pub triggers: u32,
    /// A description (`ptr` NULL: none).
    pub description: bw_str,
    /// Optional predicates, called with `userdata`. They must stay callable until the strategy
    /// is unregistered or replaced and the manager (and every policy using it) is freed.
    pub can_handle: bw_can_handle_callback,
    pub is_available: bw_is_available_callback,
    pub userdata: *mut c_void,
}

/// Which strategy serves a failed call: written by `bw_degradation_choose` /
/// `bw_degradation_select`, and in `bw_step.fallback` of a `BW_STEP_FALLBACK`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_fallback_choice {
    /// False when no strategy serves (the caller runs its own fallback, if any, or gets the
    /// error); the other fields are then zero / NULL.
    pub has_strategy: bool,
    /// The strategy's name, NUL-terminated; valid as long as the manager (for a step: the
    /// call) lives.
    pub strategy: *const c_char,
    pub kind: bw_strategy_kind,
    /// The rule that named it; NULL when it was picked by priority. Same lifetime as
    /// `strategy`.
    pub rule: *const c_char,
    pub trigger: bw_trigger,
    pub severity: bw_level,
    /// A cached_response serving an expired entry (stale-if-error).
    pub stale: bool,
}

pub(crate) fn no_choice() -> bw_fallback_choice {
    bw_fallback_choice {
        has_strategy: false,
        strategy: std::ptr::null(),
        kind: bw_strategy_kind::BW_STRATEGY_CACHED_RESPONSE,
        rule: std::ptr::null(),
        trigger: bw_trigger::BW_TRIGGER_CIRCUIT_BREAKER_OPEN,
        severity: bw_level::BW_LEVEL_NONE,
        stale: false,
    }
}

pub(crate) fn choice_to_c(names: &Names, c: Option<&FallbackChoice>) -> bw_fallback_choice {
    match c {
        None => no_choice(),
        Some(c) => bw_fallback_choice {
            has_strategy: true,
            strategy: names.get(&c.strategy),
            kind: kind_to_c(c.kind),
            rule: names.opt(c.rule.as_deref()),
            trigger: trigger_to_c(c.trigger),
            severity: level_to_c(c.severity),
            stale: c.stale,
        },
    }
}

/// A C callback and its userdata; the C caller promises they may be used from any thread.
#[derive(Clone, Copy)]
struct CPredicate<F> {
    f: F,
    userdata: *mut c_void,
}
// SAFETY: `bw_strategy_spec` documents that the callbacks and userdata must be usable from any
// thread; breakwater only passes the pointer back.
unsafe impl<F> Send for CPredicate<F> {}
// SAFETY: as above.
unsafe impl<F> Sync for CPredicate<F> {}

fn str_of(s: &str) -> bw_str {
    bw_str {
        ptr: s.as_ptr().cast(),
        len: s.len(),
    }
}

fn context_for_c(ctx: &FallbackContext) -> bw_fallback_context {
    bw_fallback_context {
        component: str_of(&ctx.component),
        trigger: TriggerArg(ctx.trigger as u32),
        has_severity: true,
        severity: LevelArg(ctx.severity as u32),
        has_category: ctx.category.is_some(),
        category: CategoryArg(ctx.category.map_or(0, |c| category_to_c(c) as u32)),
        attempts: ctx.attempts,
        cache_key: ctx.cache_key.as_deref().map_or(
            bw_str {
                ptr: std::ptr::null(),
                len: 0,
            },
            str_of,
        ),
        cached: CacheLookupArg(crate::cache::lookup_to_c(ctx.cached) as u32),
    }
}

/// Reads a `bw_fallback_context`.
///
/// # Safety
/// The strings in `c` point to their lengths' readable bytes (or are NULL where allowed).
pub(crate) unsafe fn context_from_c(c: &bw_fallback_context) -> ffi::Result<FallbackContext> {
    // SAFETY: forwarded.
    let component = unsafe { ffi::arg_str(c.component.ptr, c.component.len, "context.component") }?;
    let trigger = c.trigger.require("context.trigger")?;
    let mut ctx = FallbackContext::new(component, trigger);
    if c.has_severity {
        ctx.severity = c.severity.require("context.severity")?;
    }
    if c.has_category {
        ctx.category = Some(c.category.require("context.category")?);
    }
    ctx.attempts = c.attempts;
    if !c.cache_key.ptr.is_null() {
        // SAFETY: forwarded.
        let k = unsafe { ffi::arg_str(c.cache_key.ptr, c.cache_key.len, "context.cache_key") }?;
        ctx.cache_key = Some(Arc::from(k));
    }
    ctx.cached = c.cached.get("context.cached")?;
    Ok(ctx)
}

fn spec_from_c(s: &bw_strategy_spec) -> ffi::Result<StrategySpec> {
    // SAFETY: `bw_degradation_register` documents that the spec's strings are readable.
    let name = unsafe { ffi::arg_str(s.name.ptr, s.name.len, "spec.name") }?;
    if name.is_empty() {
        return Err(Error::invalid("argument `spec.name` is empty"));
    }
    let kind = s.kind.require("spec.kind")?;
    let mut spec = StrategySpec::new(name, kind, s.priority).available(!s.unavailable);
    if !s.description.ptr.is_null() {
        // SAFETY: as above.
        let d = unsafe { ffi::arg_str(s.description.ptr, s.description.len, "spec.description") }?;
        spec = spec.description(d);
    }
    if s.triggers != 0 {
        if s.triggers >> Trigger::ALL.len() != 0 {
            return Err(Error::invalid(format!(
                "argument `spec.triggers`: {:#x} has bits beyond BW_TRIGGER_BIT(BW_TRIGGER_MANUAL)",
                s.triggers
            )));
        }
        let set: TriggerSet = Trigger::ALL
            .into_iter()
            .filter(|t| s.triggers & (1 << *t as u32) != 0)
            .collect();
        spec = spec.triggers(set);
    }
    if let Some(f) = s.can_handle {
        let p = CPredicate {
            f,
            userdata: s.userdata,
        };
        spec = spec.can_handle(Arc::new(move |ctx: &FallbackContext| {
            let p = p;
            let c = context_for_c(ctx);
            // SAFETY: the registrant promised a valid callback; `c` and the strings it points
            // to live until it returns.
            unsafe { (p.f)(p.userdata, &c) }
        }));
    }
    if let Some(f) = s.is_available {
        let p = CPredicate {
            f,
            userdata: s.userdata,
        };
        spec = spec.is_available(Arc::new(move || {
            let p = p;
            // SAFETY: the registrant promised a valid callback.
            unsafe { (p.f)(p.userdata) }
        }));
    }
    Ok(spec)
}

// ----- the manager --------------------------------------------------------------------------

/// A degradation manager: which components are degraded, why and how badly; which strategy
/// serves a failed call; recovery; history and statistics. Made by `bw_degradation_new` /
/// `bw_degradation_from_json` (or `bw_registry_degradation`), destroyed by
/// `bw_degradation_free`. Thread-safe: one handle may be used from any number of threads at
/// once (except `_free`, which must come last). Predicates and event callbacks run with no
/// breakwater lock held.
pub struct bw_degradation {
    pub(crate) inner: Arc<DegradationManager>,
    pub(crate) names: Arc<Names>,
}

/// The manager's settings, read back (`bw_degradation_get_settings`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_degradation_settings {
    /// False: the manager chooses nothing and records nothing.
    pub enabled: bool,
    /// Degradations kept in the history.
    pub max_history: u64,
    /// Recover a component when its trigger clears.
    pub auto_recovery: bool,
    /// Rules configured.
    pub rules: u64,
}

/// Lifetime statistics (`bw_degradation_statistics`); durations are whole ms, rounded down.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_degradation_stats {
    /// Components degraded now.
    pub active: u64,
    /// Degradations started.
    pub total_triggered: u64,
    /// Degradations ended (auto or forced).
    pub total_recovered: u64,
    /// Fallbacks served by a strategy.
    pub calls_served: u64,
    /// The trigger that started the most degradations (ties: the lower `bw_trigger`).
    pub has_most_frequent_reason: bool,
    pub most_frequent_reason: bw_trigger,
    /// Degradations started, indexed by `bw_trigger`.
    pub by_reason: [u64; 6],
    /// Mean and longest duration of the degradations that ended (none before the first).
    pub has_mean_duration: bool,
    pub mean_duration_ms: u64,
    pub has_max_duration: bool,
    pub max_duration_ms: u64,
}

pub(crate) fn new_handle(inner: DegradationManager) -> *mut bw_degradation {
    ffi::into_handle(bw_degradation {
        inner: Arc::new(inner),
        names: Arc::new(Names::default()),
    })
}

fn on_manager(
    func: &'static str,
    manager: *const bw_degradation,
    body: impl FnOnce(&bw_degradation) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `manager` is NULL or a live handle.
        let m = unsafe { ffi::arg_ref(manager, "manager") }?;
        body(m)
    })
}

/// The manager and a component name, checked.
///
/// # Safety
/// `component` is NULL or points to `len` readable bytes.
unsafe fn component_arg<'a>(component: *const c_char, len: usize) -> ffi::Result<&'a str> {
    // SAFETY: forwarded.
    unsafe { ffi::arg_str(component, len, "component") }
}

/// A new manager with the defaults (enabled, max_history 1000, auto_recovery on, no rules, no
/// strategies) reading time from `clock` (NULL: the system clock), written to `*out`.
/// Thread-safe.
///
/// # Safety
/// `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_new(
    clock: *const bw_manual_clock,
    out: *mut *mut bw_degradation,
) -> bw_result {
    boundary("bw_degradation_new", || {
        let out = Out::new(out, "out")?;
        let m = DegradationManager::new(DegradationConfig::default(), clock_of(clock))?;
        out.write(new_handle(m));
        Ok(())
    })
}

/// A new manager from a JSON object with the settings and, optionally, the rules:
/// `{"max_history": 100, "auto_recovery": false, "enabled": true, "degradationRules": [...]}`
/// (also `maxHistory`, `autoRecovery`, `degradation_rules`, `rules`); each rule as the seed
/// writes it: `{"name", "conditions": {"reasons": [...], "component"}, "severityThreshold",
/// "strategy", "priority", "enabled"}`. `BW_RESULT_CONFIG_INVALID` names the key as written
/// (`degradationRules[0].severityThreshold`). Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_from_json(
    json: *const c_char,
    len: usize,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_degradation,
) -> bw_result {
    boundary("bw_degradation_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let config = DegradationConfig::from_json(&parse_json(text)?)?;
        let m = DegradationManager::new(config, clock_of(clock))?;
        out.write(new_handle(m));
        Ok(())
    })
}

/// Applies a JSON object as for `bw_degradation_from_json` over the live settings (keys left
/// out keep their values; the rules change only when a rules key is given). Active
/// degradations, strategies and statistics stay; a smaller max_history drops the oldest
/// entries. Nothing changes on `BW_RESULT_CONFIG_INVALID`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `json` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_configure_json(
    manager: *const bw_degradation,
    json: *const c_char,
    len: usize,
) -> bw_result {
    on_manager("bw_degradation_configure_json", manager, |m| {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let config = DegradationConfig::from_json_over(&m.inner.config(), &parse_json(text)?)?;
        Ok(m.inner.configure(config)?)
    })
}

/// Replaces the rules with a JSON array as the seed's `degradationRules` (errors name
/// `rules[i]...`). Nothing changes on `BW_RESULT_CONFIG_INVALID`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `json` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_set_rules_json(
    manager: *const bw_degradation,
    json: *const c_char,
    len: usize,
) -> bw_result {
    on_manager("bw_degradation_set_rules_json", manager, |m| {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let value = parse_json(text)?;
        if !value.is_array() {
            return Err(Error::config(
                ConfigError::new("rules", value.to_string(), "a list of rules").into(),
            ));
        }
        let rules: Vec<Rule> = Rule::list_from_json(&value, "rules")?;
        Ok(m.inner.set_rules(rules)?)
    })
}

/// Turns auto-recovery on or off (off: only forced recovery ends a degradation). Thread-safe.
///
/// # Safety
/// `manager` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_set_auto_recovery(
    manager: *const bw_degradation,
    on: bool,
) -> bw_result {
    on_manager("bw_degradation_set_auto_recovery", manager, |m| {
        m.inner.set_auto_recovery(on);
        Ok(())
    })
}

/// Writes the live settings to `*out`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_get_settings(
    manager: *const bw_degradation,
    out: *mut bw_degradation_settings,
) -> bw_result {
    on_manager("bw_degradation_get_settings", manager, |m| {
        let out = Out::new(out, "out")?;
        let c = m.inner.config();
        out.write(bw_degradation_settings {
            enabled: c.enabled,
            max_history: c.max_history as u64,
            auto_recovery: c.auto_recovery,
            rules: c.rules.len() as u64,
        });
        Ok(())
    })
}

/// Registers a strategy under its name; one already registered under that name is replaced in
/// place (keeping its position). `*out_replaced` (may be NULL) says whether one was.
/// `BW_RESULT_INVALID_ARGUMENT` for an empty name, a kind out of range or a mask with unknown
/// bits. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `spec` is NULL or readable, its strings readable for their
/// lengths and its callbacks valid as documented; `out_replaced` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_register(
    manager: *const bw_degradation,
    spec: *const bw_strategy_spec,
    out_replaced: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_register", manager, |m| {
        // SAFETY: documented requirement on `spec`.
        let s = unsafe { ffi::arg_ref(spec, "spec") }?;
        let spec = spec_from_c(s)?;
        OptOut::new(out_replaced).write(m.inner.register(spec));
        Ok(())
    })
}

/// Removes the strategy named `name`; `*out_removed` (may be NULL) says whether there was
/// one. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `name` points to `len` readable bytes; `out_removed` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_unregister(
    manager: *const bw_degradation,
    name: *const c_char,
    len: usize,
    out_removed: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_unregister", manager, |m| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        OptOut::new(out_removed).write(m.inner.unregister(name));
        Ok(())
    })
}

/// Sets the availability flag of the strategy named `name`; `*out_found` (may be NULL) says
/// whether there is one. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `name` points to `len` readable bytes; `out_found` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_set_available(
    manager: *const bw_degradation,
    name: *const c_char,
    len: usize,
    available: bool,
    out_found: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_set_available", manager, |m| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        OptOut::new(out_found).write(m.inner.set_available(name, available));
        Ok(())
    })
}

/// A registered strategy, read back (`bw_degradation_strategy`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_strategy_info {
    /// NUL-terminated; valid as long as the manager.
    pub name: *const c_char,
    pub kind: bw_strategy_kind,
    pub priority: u32,
    /// The availability flag (a predicate, if any, is not consulted).
    pub available: bool,
    /// The trigger mask (`BW_TRIGGER_BIT`); 0 when it handles every trigger.
    pub triggers: u32,
    /// NUL-terminated ("" when none); valid as long as the manager.
    pub description: *const c_char,
}

/// Writes a new list of the registered strategies' names, in registration order, to
/// `*out_names`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `out_names` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_strategy_names(
    manager: *const bw_degradation,
    out_names: *mut *mut bw_string_list,
) -> bw_result {
    on_manager("bw_degradation_strategy_names", manager, |m| {
        let out = Out::new(out_names, "out_names")?;
        let names: Vec<Arc<str>> = m.inner.strategies().into_iter().map(|s| s.name).collect();
        out.write(ffi::into_handle(bw_string_list::from_iter(names)));
        Ok(())
    })
}

/// Writes the strategy named `name` to `*out_info` and whether there is one to `*out_found`
/// (`*out_info` is left alone when there is none). Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `name` points to `len` readable bytes; the outputs are NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_strategy(
    manager: *const bw_degradation,
    name: *const c_char,
    len: usize,
    out_info: *mut bw_strategy_info,
    out_found: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_strategy", manager, |m| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        let out_info = Out::new(out_info, "out_info")?;
        let out_found = Out::new(out_found, "out_found")?;
        let info = m.inner.strategy(name);
        out_found.write(info.is_some());
        if let Some(s) = info {
            out_info.write(bw_strategy_info {
                name: m.names.get(&s.name),
                kind: kind_to_c(s.kind),
                priority: s.priority,
                available: s.available,
                triggers: s
                    .triggers
                    .map_or(0, |t| t.iter().fold(0, |acc, t| acc | 1 << t as u32)),
                description: m.names.get(&s.description),
            });
        }
        Ok(())
    })
}

/// Degrades `component` for `trigger` at `*level` (NULL: the trigger's own level; required for
/// `BW_TRIGGER_MANUAL` and `BW_TRIGGER_HEALTH_CHECK_FAILED`). A component has one degradation
/// at a time: the same trigger again sets the level; another trigger takes over only with a
/// higher level; level none does nothing. `*out_changed` (may be NULL) says whether anything
/// changed. Emits `degradation_triggered`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `component` points to `len` readable bytes; `level` is NULL or
/// readable; `out_changed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_trigger(
    manager: *const bw_degradation,
    component: *const c_char,
    len: usize,
    trigger: TriggerArg,
    level: *const LevelArg,
    out_changed: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_trigger", manager, |m| {
        // SAFETY: documented requirements on the arguments.
        let component = unsafe { component_arg(component, len) }?;
        let t = trigger.require("trigger")?;
        // SAFETY: documented requirement on `level`.
        let l = match unsafe { level.as_ref() } {
            Some(l) => l.require("level")?,
            None => t.default_level().ok_or_else(|| {
                Error::invalid(format!(
                    "trigger {t} needs a level (argument `level` is NULL)"
                ))
            })?,
        };
        OptOut::new(out_changed).write(m.inner.trigger(component, t, l));
        Ok(())
    })
}

/// The condition behind `trigger` cleared for `component` (the breaker closed, the check
/// passes...): with auto-recovery on, a degradation whose trigger it is recovers (`manual`
/// never clears this way). `*out_recovered` (may be NULL) says whether it did. Emits
/// `degradation_recovered`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `component` points to `len` readable bytes; `out_recovered` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_clear(
    manager: *const bw_degradation,
    component: *const c_char,
    len: usize,
    trigger: TriggerArg,
    out_recovered: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_clear", manager, |m| {
        // SAFETY: documented requirement on `component`.
        let component = unsafe { component_arg(component, len) }?;
        let t = trigger.require("trigger")?;
        OptOut::new(out_recovered).write(m.inner.trigger_cleared(component, t));
        Ok(())
    })
}

/// A live call to `component` succeeded: clears `timeout`, `rate_limited` and `error_rate`
/// (as `bw_degradation_clear`). Thread-safe.
///
/// # Safety
/// As `bw_degradation_clear`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_report_success(
    manager: *const bw_degradation,
    component: *const c_char,
    len: usize,
    out_recovered: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_report_success", manager, |m| {
        // SAFETY: documented requirement on `component`.
        let component = unsafe { component_arg(component, len) }?;
        OptOut::new(out_recovered).write(m.inner.report_success(component));
        Ok(())
    })
}

/// Feeds a breaker state for `component`: open and forced_open trigger
/// `circuit_breaker_open`; closed, disabled and metrics_only clear it; half_open changes
/// nothing. `*out_changed` (may be NULL) says whether anything changed. Thread-safe.
///
/// # Safety
/// As `bw_degradation_clear`, with `out_changed`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_on_breaker_state(
    manager: *const bw_degradation,
    component: *const c_char,
    len: usize,
    state: StateArg,
    out_changed: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_on_breaker_state", manager, |m| {
        // SAFETY: documented requirement on `component`.
        let component = unsafe { component_arg(component, len) }?;
        let s = breakwater_core::State::ALL
            .get(state.0 as usize)
            .copied()
            .ok_or_else(|| {
                Error::invalid(format!("argument `state`: {} is not a bw_state", state.0))
            })?;
        OptOut::new(out_changed).write(m.inner.on_breaker_state(component, s));
        Ok(())
    })
}

/// Feeds a health check's status for `component`: healthy clears `health_check_failed`;
/// degraded, unhealthy and critical trigger it at their level; unknown changes nothing.
/// Thread-safe.
///
/// # Safety
/// As `bw_degradation_on_breaker_state`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_on_health_status(
    manager: *const bw_degradation,
    component: *const c_char,
    len: usize,
    status: HealthStatusArg,
    out_changed: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_on_health_status", manager, |m| {
        // SAFETY: documented requirement on `component`.
        let component = unsafe { component_arg(component, len) }?;
        let s = status.require("status")?;
        OptOut::new(out_changed).write(m.inner.on_health_status(component, s.as_str()));
        Ok(())
    })
}

/// Ends `component`'s degradation whatever its trigger, auto-recovery or not;
/// `*out_recovered` (may be NULL) says whether it was degraded. Thread-safe.
///
/// # Safety
/// As `bw_degradation_clear`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_force_recovery(
    manager: *const bw_degradation,
    component: *const c_char,
    len: usize,
    out_recovered: *mut bool,
) -> bw_result {
    on_manager("bw_degradation_force_recovery", manager, |m| {
        // SAFETY: documented requirement on `component`.
        let component = unsafe { component_arg(component, len) }?;
        OptOut::new(out_recovered).write(m.inner.force_recovery(component));
        Ok(())
    })
}

/// Ends every degradation (in component-name order); `*out_count` (may be NULL) says how many
/// there were. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_force_recovery_all(
    manager: *const bw_degradation,
    out_count: *mut u64,
) -> bw_result {
    on_manager("bw_degradation_force_recovery_all", manager, |m| {
        OptOut::new(out_count).write(m.inner.force_recovery_all() as u64);
        Ok(())
    })
}

fn choose_common(
    func: &'static str,
    manager: *const bw_degradation,
    context: *const bw_fallback_context,
    out: *mut bw_fallback_choice,
    record: bool,
) -> bw_result {
    on_manager(func, manager, |m| {
        // SAFETY: the exported callers document that `context` is NULL or readable.
        let c = unsafe { ffi::arg_ref(context, "context") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: as above, its strings readable for their lengths.
        let ctx = unsafe { context_from_c(c) }?;
        let choice = if record {
            m.inner.select(&ctx)
        } else {
            m.inner.choose(&ctx)
        };
        out.write(choice_to_c(&m.names, choice.as_ref()));
        Ok(())
    })
}

/// Which strategy would serve a call in `context`, recording nothing (pure, apart from the
/// strategies' predicates). Rules first (applicable ones by lowest priority number), then
/// every strategy by priority, skipping unavailable ones, those whose triggers or `can_handle`
/// refuse, and cached_response without a cached entry. `out->has_strategy` false when none
/// serves. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `context` is NULL or readable (its strings for their lengths);
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_choose(
    manager: *const bw_degradation,
    context: *const bw_fallback_context,
    out: *mut bw_fallback_choice,
) -> bw_result {
    choose_common("bw_degradation_choose", manager, context, out, false)
}

/// Like `bw_degradation_choose`, and records the fallback: the component's degradation starts
/// (or its level changes) and, when a strategy serves, it is counted and a `fallback` event
/// sent. Thread-safe.
///
/// # Safety
/// As `bw_degradation_choose`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_select(
    manager: *const bw_degradation,
    context: *const bw_fallback_context,
    out: *mut bw_fallback_choice,
) -> bw_result {
    choose_common("bw_degradation_select", manager, context, out, true)
}

/// Writes `component`'s level to `*out` (`BW_LEVEL_NONE` when it is not degraded).
/// Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `component` points to `len` readable bytes; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_level(
    manager: *const bw_degradation,
    component: *const c_char,
    len: usize,
    out: *mut bw_level,
) -> bw_result {
    on_manager("bw_degradation_level", manager, |m| {
        // SAFETY: documented requirement on `component`.
        let component = unsafe { component_arg(component, len) }?;
        Out::new(out, "out")?.write(level_to_c(m.inner.level(component)));
        Ok(())
    })
}

/// Writes the highest level over all components to `*out`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_overall_level(
    manager: *const bw_degradation,
    out: *mut bw_level,
) -> bw_result {
    on_manager("bw_degradation_overall_level", manager, |m| {
        Out::new(out, "out")?.write(level_to_c(m.inner.overall_level()));
        Ok(())
    })
}

/// One degradation, active or in the history (`bw_degradation_list_get`). Durations and times
/// are whole ms, rounded down.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_degradation_entry {
    /// NUL-terminated, and its length; valid as long as the list.
    pub component: *const c_char,
    pub component_len: usize,
    /// The trigger whose clearing recovers it (active) / that started it (history).
    pub trigger: bw_trigger,
    /// Its level (active) / the highest level it reached (history).
    pub level: bw_level,
    /// When it started, on the manager's clock (monotonic ms).
    pub since_ms: u64,
    /// When it started, wall time (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// How long it lasted; false while it is active.
    pub has_duration: bool,
    pub duration_ms: u64,
    /// The strategy that served its latest fallback; NULL when none did. Valid as long as the
    /// list.
    pub strategy: *const c_char,
    /// Fallbacks served during it.
    pub calls_served: u64,
    /// How it ended; false while it is active.
    pub has_recovery: bool,
    pub recovery: bw_recovery,
}

/// Degradations read from a manager (`bw_degradation_active_list`, `bw_degradation_history`).
/// Read with `bw_degradation_list_len` / `_get`, destroy with `bw_degradation_list_free`.
/// Immutable: safe to read from several threads at once.
pub struct bw_degradation_list {
    items: Vec<(HistoryEntry, CString, Option<CString>)>,
}

fn list_of(entries: Vec<HistoryEntry>) -> bw_degradation_list {
    bw_degradation_list {
        items: entries
            .into_iter()
            .map(|e| {
                let c = ffi::cstring(&e.component);
                let s = e.strategy.as_deref().map(ffi::cstring);
                (e, c, s)
            })
            .collect(),
    }
}

/// Writes a new list of the active degradations, by component name, to `*out_list`.
/// Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_active_list(
    manager: *const bw_degradation,
    out_list: *mut *mut bw_degradation_list,
) -> bw_result {
    on_manager("bw_degradation_active_list", manager, |m| {
        let out = Out::new(out_list, "out_list")?;
        let entries = m
            .inner
            .active_all()
            .into_iter()
            .map(|a| HistoryEntry {
                component: a.component,
                trigger: a.trigger,
                level: a.level,
                since: a.since,
                started_at_ms: a.started_at_ms,
                duration: None,
                strategy: a.strategy,
                calls_served: a.calls_served,
                recovery: None,
            })
            .collect();
        out.write(ffi::into_handle(list_of(entries)));
        Ok(())
    })
}

/// Writes a new list of the history (at most max_history degradations, oldest first, ongoing
/// ones included) to `*out_list`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_history(
    manager: *const bw_degradation,
    out_list: *mut *mut bw_degradation_list,
) -> bw_result {
    on_manager("bw_degradation_history", manager, |m| {
        let out = Out::new(out_list, "out_list")?;
        out.write(ffi::into_handle(list_of(m.inner.history())));
        Ok(())
    })
}

/// Writes the number of entries in `list` to `*out_len`. Thread-safe.
///
/// # Safety
/// `list` is NULL or live; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_list_len(
    list: *const bw_degradation_list,
    out_len: *mut usize,
) -> bw_result {
    boundary("bw_degradation_list_len", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        Out::new(out_len, "out_len")?.write(l.items.len());
        Ok(())
    })
}

/// Writes entry number `index` (from 0) to `*out`. `BW_RESULT_INVALID_ARGUMENT` for an index
/// out of range. Thread-safe.
///
/// # Safety
/// `list` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_list_get(
    list: *const bw_degradation_list,
    index: usize,
    out: *mut bw_degradation_entry,
) -> bw_result {
    boundary("bw_degradation_list_get", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        let out = Out::new(out, "out")?;
        let (e, c, s) = l.items.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "argument `index`: {index} is out of range (the list has {})",
                l.items.len()
            ))
        })?;
        out.write(bw_degradation_entry {
            component: c.as_ptr(),
            component_len: c.as_bytes().len(),
            trigger: trigger_to_c(e.trigger),
            level: level_to_c(e.level),
            since_ms: e.since / 1_000_000,
            started_at_ms: e.started_at_ms,
            has_duration: e.duration.is_some(),
            duration_ms: e.duration.map_or(0, floor_ms),
            strategy: s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            calls_served: e.calls_served,
            has_recovery: e.recovery.is_some(),
            recovery: recovery_to_c(e.recovery.unwrap_or(Recovery::Auto)),
        });
        Ok(())
    })
}

/// Destroys a list; NULL is a no-op.
///
/// # Safety
/// `list` is NULL or live, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_list_free(list: *mut bw_degradation_list) {
    // SAFETY: documented requirement on `list`.
    unsafe { ffi::free_handle("bw_degradation_list_free", list) }
}

/// Writes the lifetime statistics to `*out`. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_statistics(
    manager: *const bw_degradation,
    out: *mut bw_degradation_stats,
) -> bw_result {
    on_manager("bw_degradation_statistics", manager, |m| {
        let out = Out::new(out, "out")?;
        let s = m.inner.statistics();
        let mut by_reason = [0u64; 6];
        for (t, n) in &s.by_reason {
            by_reason[*t as usize] = *n;
        }
        out.write(bw_degradation_stats {
            active: s.active as u64,
            total_triggered: s.total_triggered,
            total_recovered: s.total_recovered,
            calls_served: s.calls_served,
            has_most_frequent_reason: s.most_frequent_reason.is_some(),
            most_frequent_reason: trigger_to_c(
                s.most_frequent_reason
                    .unwrap_or(Trigger::CircuitBreakerOpen),
            ),
            by_reason,
            has_mean_duration: s.mean_duration.is_some(),
            mean_duration_ms: s.mean_duration.map_or(0, floor_ms),
            has_max_duration: s.max_duration.is_some(),
            max_duration_ms: s.max_duration.map_or(0, floor_ms),
        });
        Ok(())
    })
}

/// Calls `callback(userdata, event)` for the manager's events of `kind`
/// (`BW_EVENT_KIND_DEGRADATION_TRIGGERED`, `_DEGRADATION_RECOVERED`, `_FALLBACK`, or
/// `BW_EVENT_KIND_ALL`): `reason` is the trigger, `severity` the level, `strategy` the strategy
/// (when one served), `duration_ms` how long a recovered degradation lasted. Writes the
/// subscription id to `*out_id` (may be NULL). Thread-safe; see `bw_event_callback`.
///
/// # Safety
/// As `bw_breaker_on`, with `manager` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_on(
    manager: *const bw_degradation,
    kind: EventKindArg,
    callback: bw_event_callback,
    userdata: *mut c_void,
    out_id: *mut u64,
) -> bw_result {
    on_manager("bw_degradation_on", manager, |m| {
        events::on(kind, callback, userdata, out_id, |k, l| {
            m.inner.subscribe(k, l)
        })
    })
}

/// Removes the subscription `id` made by `bw_degradation_on`. `BW_RESULT_INVALID_ARGUMENT`
/// when there is none. Thread-safe.
///
/// # Safety
/// `manager` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_off(manager: *const bw_degradation, id: u64) -> bw_result {
    on_manager("bw_degradation_off", manager, |m| {
        events::off(id, |i| m.inner.unsubscribe(i))
    })
}

/// Destroys a manager handle; NULL is a no-op. Policies made with it keep it alive. Free it
/// exactly once, after every other thread has stopped using the handle.
///
/// # Safety
/// `manager` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_degradation_free(manager: *mut bw_degradation) {
    // SAFETY: documented requirement on `manager`.
    unsafe { ffi::free_handle("bw_degradation_free", manager) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_core() {
        for (i, t) in Trigger::ALL.iter().enumerate() {
            assert_eq!(TRIGGER_NAMES[i].to_str().unwrap(), t.as_str());
            assert_eq!(trigger_to_c(*t) as usize, i);
        }
        for (i, l) in Level::ALL.iter().enumerate() {
            assert_eq!(LEVEL_NAMES[i].to_str().unwrap(), l.as_str());
            assert_eq!(level_to_c(*l) as usize, i);
        }
        for (i, k) in StrategyKind::ALL.iter().enumerate() {
            assert_eq!(KIND_NAMES[i].to_str().unwrap(), k.as_str());
            assert_eq!(kind_to_c(*k) as usize, i);
        }
    }
}
