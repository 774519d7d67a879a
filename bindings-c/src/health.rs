//! Health checks (contract section 1, "HealthCheck"): the caller runs its checks on its own
//! timers and reports each result; the health registry keeps results and history per check and
//! computes each check's status and the overall, liveness, readiness and startup status, with
//! breaker dependencies and degraded components counted in. No timers: staleness and
//! dependencies are read from the clock and the breakers whenever the registry is evaluated.

#![allow(non_camel_case_types)]

use std::ffi::{CString, c_char, c_void};
use std::sync::{Arc, Mutex};

use breakwater_core::health::{CheckView, HealthResult};
use breakwater_core::{
    AlertManager, CheckKind, CheckResult, HealthCheckConfig, HealthRegistry, HealthReport,
    HealthSettings, HealthStatus,
};

use crate::alerts::bw_alerts;
use crate::breaker::{bw_breaker, clock_of, parse_json};
use crate::classify::bw_str;
use crate::clock::bw_manual_clock;
use crate::degradation::bw_degradation;
use crate::events::{self, bw_event_callback};
use crate::ffi::{self, Error, OptOut, Out, boundary, boundary_value};
use crate::result::bw_result;
use crate::text::bw_string_list;
use crate::types::{EventKindArg, bw_state, floor_ms, lookup, ms, name_of, state_to_c};

/// A check's (or the whole's) health. `bw_health_status_name` gives "healthy", "degraded",
/// "unhealthy", "critical", "unknown".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_health_status {
    BW_HEALTH_HEALTHY = 0,
    /// Working, with reduced quality; still ready.
    BW_HEALTH_DEGRADED = 1,
    BW_HEALTH_UNHEALTHY = 2,
    BW_HEALTH_CRITICAL = 3,
    /// Never reported, or stale.
    BW_HEALTH_UNKNOWN = 4,
}

/// What a check tells: the process is alive, ready for traffic, or done starting.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_check_kind {
    BW_CHECK_LIVENESS = 0,
    /// The default.
    BW_CHECK_READINESS = 1,
    BW_CHECK_STARTUP = 2,
}

/// A `bw_health_status` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct HealthStatusArg(pub u32);
/// A `bw_check_kind` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct CheckKindArg(pub u32);

impl HealthStatusArg {
    pub(crate) fn require(self, arg: &'static str) -> ffi::Result<HealthStatus> {
        HealthStatus::ALL
            .get(self.0 as usize)
            .copied()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "argument `{arg}`: {} is not a bw_health_status (0..=4)",
                    self.0
                ))
            })
    }
}

impl CheckKindArg {
    fn require(self, arg: &'static str) -> ffi::Result<CheckKind> {
        CheckKind::ALL.get(self.0 as usize).copied().ok_or_else(|| {
            Error::invalid(format!(
                "argument `{arg}`: {} is not a bw_check_kind (0..=2)",
                self.0
            ))
        })
    }
}

pub(crate) fn status_to_c(s: HealthStatus) -> bw_health_status {
    use bw_health_status::*;
    match s {
        HealthStatus::Healthy => BW_HEALTH_HEALTHY,
        HealthStatus::Degraded => BW_HEALTH_DEGRADED,
        HealthStatus::Unhealthy => BW_HEALTH_UNHEALTHY,
        HealthStatus::Critical => BW_HEALTH_CRITICAL,
        HealthStatus::Unknown => BW_HEALTH_UNKNOWN,
    }
}

fn kind_to_c(k: CheckKind) -> bw_check_kind {
    match k {
        CheckKind::Liveness => bw_check_kind::BW_CHECK_LIVENESS,
        CheckKind::Readiness => bw_check_kind::BW_CHECK_READINESS,
        CheckKind::Startup => bw_check_kind::BW_CHECK_STARTUP,
    }
}

const STATUS_NAMES: [&std::ffi::CStr; 5] = [
    c"healthy",
    c"degraded",
    c"unhealthy",
    c"critical",
    c"unknown",
];
const KIND_NAMES: [&std::ffi::CStr; 3] = [c"liveness", c"readiness", c"startup"];

/// The name of a health status ("healthy", "degraded", "unhealthy", "critical", "unknown");
/// NULL for a value that is not a `bw_health_status`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_health_status_name(status: HealthStatusArg) -> *const c_char {
    boundary_value("bw_health_status_name", std::ptr::null(), || {
        name_of(&STATUS_NAMES, status.0)
    })
}

/// The name of a check kind ("liveness", "readiness", "startup"); NULL for a value that is not
/// a `bw_check_kind`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_check_kind_name(kind: CheckKindArg) -> *const c_char {
    boundary_value("bw_check_kind_name", std::ptr::null(), || {
        name_of(&KIND_NAMES, kind.0)
    })
}

/// Parses a health status name (`len` bytes of UTF-8) into `*out`;
/// `BW_RESULT_INVALID_ARGUMENT` for an unknown name. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_status_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_health_status,
) -> bw_result {
    boundary("bw_health_status_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: documented requirement on `name`.
        let i = unsafe { lookup(&STATUS_NAMES, "health status", name, len) }?;
        out.write(status_to_c(HealthStatus::ALL[i]));
        Ok(())
    })
}

/// Parses a check kind name into `*out`, like `bw_health_status_from_name`. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_check_kind_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_check_kind,
) -> bw_result {
    boundary("bw_check_kind_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: documented requirement on `name`.
        let i = unsafe { lookup(&KIND_NAMES, "check kind", name, len) }?;
        out.write(kind_to_c(CheckKind::ALL[i]));
        Ok(())
    })
}

/// One check's settings, for `bw_health_register`. Start from `bw_health_check_config_default`
/// (kind readiness, interval 30000 ms, timeout 5000 ms, failure_threshold 3, critical) and
/// change what you need. Checked by `bw_health_register`: "interval_ms" and "timeout_ms"
/// 1..=86400000, "failure_threshold" 1..=1000.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_health_check_config {
    pub kind: CheckKindArg,
    /// How often the caller runs the check (staleness: no report within 2 intervals plus the
    /// timeout makes it unknown).
    pub interval_ms: u64,
    /// How long one run may take; a result reported with a longer latency is a failed report.
    pub timeout_ms: u64,
    /// Consecutive failed reports before the check counts as failing.
    pub failure_threshold: u32,
    /// A failing critical check makes the whole unhealthy (not ready); a failing non-critical
    /// one, degraded.
    pub critical: bool,
}

/// What the caller reports after running a check once. Zero-initialise it and set the status.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_check_result {
    /// As the check saw it; `BW_HEALTH_UNKNOWN` (it could not tell) counts as a failed report.
    pub status: HealthStatusArg,
    /// How long the run took, as the caller measured it.
    pub latency_ms: u64,
    /// A message (`ptr` NULL: none), UTF-8.
    pub message: bw_str,
}

/// One entry of a health overview: a registered check, or a dependency without a check of its
/// name (`is_check` false).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_check_view {
    /// NUL-terminated, and its length; valid as long as the overview (for `bw_health_report`:
    /// the `name` argument itself, not NUL-terminated).
    pub name: *const c_char,
    pub name_len: usize,
    pub is_check: bool,
    pub kind: bw_check_kind,
    pub critical: bool,
    pub status: bw_health_status,
    /// failure_threshold failed reports in a row, or a failing dependency.
    pub failing: bool,
    /// Reported once, but not within 2 intervals plus the timeout.
    pub stale: bool,
    pub consecutive_failures: u32,
    pub reports_total: u64,
    pub failures_total: u64,
    /// Whether the entry is (or includes) a dependency, and what it says.
    pub has_dependency: bool,
    pub dependency_critical: bool,
    pub has_breaker_state: bool,
    pub breaker_state: bw_state,
    /// The degraded probe says the component is degraded.
    pub degraded: bool,
    /// The latest report, when there is one.
    pub has_last: bool,
    pub last_status: bw_health_status,
    pub last_latency_ms: u64,
    /// Wall time of the report, ms since the Unix epoch.
    pub last_at_ms: u64,
    /// It counted as failed (a failure status, unknown, or above the timeout).
    pub last_failed: bool,
    pub last_timed_out: bool,
}

/// The aggregate of a health overview.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_health_summary {
    /// Over every check and dependency (worst first: critical, unhealthy, unknown, degraded,
    /// healthy).
    pub status: bw_health_status,
    /// Over liveness checks.
    pub liveness: bw_health_status,
    /// Over liveness and readiness checks and dependencies.
    pub readiness: bw_health_status,
    /// Over startup checks.
    pub startup: bw_health_status,
    /// Liveness is neither unhealthy nor critical.
    pub live: bool,
    /// Readiness is neither unhealthy nor critical (degraded is still ready).
    pub ready: bool,
    /// Startup is healthy or degraded.
    pub started: bool,
    /// Entries (checks and dependencies) in the overview.
    pub checks: u64,
    /// When it was computed, wall time (ms since the Unix epoch).
    pub at_ms: u64,
}

/// One stored report (`bw_health_history`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_health_result {
    pub status: bw_health_status,
    pub latency_ms: u64,
    /// Wall time, ms since the Unix epoch.
    pub at_ms: u64,
    pub failed: bool,
    pub timed_out: bool,
}

/// Answers "is this component degraded right now" for dependencies. Runs with no breakwater
/// lock held, on the thread that evaluates; `name` is valid only during the call.
pub type bw_degraded_callback = Option<
    unsafe extern "C" fn(userdata: *mut c_void, name: *const c_char, name_len: usize) -> bool,
>;

/// Health checks, their dependencies and their aggregate. Made by `bw_health_new` /
/// `bw_health_from_json` (or `bw_registry_health`), destroyed by `bw_health_free`.
/// Thread-safe: one handle may be used from any number of threads at once (except `_free`,
/// which must come last).
pub struct bw_health {
    pub(crate) inner: Arc<HealthRegistry>,
    /// Keeps the alert manager alive (the registry holds it weakly).
    alerts: Mutex<Option<Arc<AlertManager>>>,
}

pub(crate) fn new_handle(inner: HealthRegistry) -> *mut bw_health {
    ffi::into_handle(bw_health {
        inner: Arc::new(inner),
        alerts: Mutex::new(None),
    })
}

fn on_health(
    func: &'static str,
    health: *const bw_health,
    body: impl FnOnce(&bw_health) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `health` is NULL or a live handle.
        let h = unsafe { ffi::arg_ref(health, "health") }?;
        body(h)
    })
}

/// # Safety
/// `name` is NULL or points to `len` readable bytes.
unsafe fn name_arg<'a>(name: *const c_char, len: usize) -> ffi::Result<&'a str> {
    // SAFETY: forwarded.
    unsafe { ffi::arg_str(name, len, "name") }
}

fn config_from_c(c: &bw_health_check_config) -> ffi::Result<HealthCheckConfig> {
    let cfg = HealthCheckConfig {
        kind: c.kind.require("config.kind")?,
        interval: ms(c.interval_ms),
        timeout: ms(c.timeout_ms),
        failure_threshold: c.failure_threshold,
        critical: c.critical,
    };
    // The core names `interval` and `timeout`; C's fields carry `_ms`.
    cfg.validate().map_err(|mut e| {
        for err in &mut e.0 {
            if err.key == "interval" || err.key == "timeout" {
                let key = format!("{}_ms", err.key);
                ffi::respell_key(err, &key);
            }
        }
        Error::config(e)
    })?;
    Ok(cfg)
}

fn config_to_c(c: &HealthCheckConfig) -> bw_health_check_config {
    bw_health_check_config {
        kind: CheckKindArg(kind_to_c(c.kind) as u32),
        interval_ms: floor_ms(c.interval),
        timeout_ms: floor_ms(c.timeout),
        failure_threshold: c.failure_threshold,
        critical: c.critical,
    }
}

fn view_to_c(v: &CheckView, name: *const c_char, name_len: usize) -> bw_check_view {
    let d = v.dependency;
    let last = v.last.as_ref();
    bw_check_view {
        name,
        name_len,
        is_check: v.is_check,
        kind: kind_to_c(v.kind),
        critical: v.critical,
        status: status_to_c(v.status),
        failing: v.failing,
        stale: v.stale,
        consecutive_failures: v.consecutive_failures,
        reports_total: v.reports_total,
        failures_total: v.failures_total,
        has_dependency: d.is_some(),
        dependency_critical: d.is_some_and(|d| d.critical),
        has_breaker_state: d.and_then(|d| d.breaker_state).is_some(),
        breaker_state: state_to_c(
            d.and_then(|d| d.breaker_state)
                .unwrap_or(breakwater_core::State::Closed),
        ),
        degraded: d.is_some_and(|d| d.degraded),
        has_last: last.is_some(),
        last_status: status_to_c(last.map_or(HealthStatus::Unknown, |l| l.result.status)),
        last_latency_ms: last.map_or(0, |l| floor_ms(l.result.latency)),
        last_at_ms: last.map_or(0, |l| l.at_ms),
        last_failed: last.is_some_and(|l| l.failed),
        last_timed_out: last.is_some_and(|l| l.timed_out),
    }
}

/// Writes the contract's defaults for one check to `*out`: readiness, interval 30000 ms,
/// timeout 5000 ms, failure_threshold 3, critical. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_check_config_default(
    out: *mut bw_health_check_config,
) -> bw_result {
    boundary("bw_health_check_config_default", || {
        Out::new(out, "out")?.write(config_to_c(&HealthCheckConfig::default()));
        Ok(())
    })
}

/// A new health registry (named "health": the component of its overall `health_changed`
/// events) with the default settings, reading time from `clock` (NULL: the system clock).
/// Thread-safe.
///
/// # Safety
/// `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_new(
    clock: *const bw_manual_clock,
    out: *mut *mut bw_health,
) -> bw_result {
    boundary("bw_health_new", || {
        let out = Out::new(out, "out")?;
        out.write(new_handle(HealthRegistry::new(clock_of(clock))));
        Ok(())
    })
}

/// A new health registry from a config document's `healthChecks` section, as JSON:
/// `{"enabled", "interval", "timeout", "failureThreshold", "critical", "kind", "max_history",
/// "agentSpecific": {name: {...}}}` (camelCase in ms, or snake_case with `_ms`); the check
/// defaults and per-check settings apply to `bw_health_register` with a NULL config.
/// `BW_RESULT_CONFIG_INVALID` names the key as written. Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_from_json(
    json: *const c_char,
    len: usize,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_health,
) -> bw_result {
    boundary("bw_health_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let settings = HealthSettings::from_json(&parse_json(text)?)?;
        out.write(new_handle(HealthRegistry::with_settings(
            "health",
            settings,
            clock_of(clock),
        )));
        Ok(())
    })
}

/// Registers check `name` (or reconfigures it, keeping its results) with `config`; NULL: the
/// settings' config for that name (its `agentSpecific` entry, else the section's defaults).
/// `BW_RESULT_CONFIG_INVALID` names the field ("interval_ms", "timeout_ms",
/// "failure_threshold"). Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `name` points to `len` readable bytes; `config` is NULL or
/// readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_register(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    config: *const bw_health_check_config,
) -> bw_result {
    on_health("bw_health_register", health, |h| {
        // SAFETY: documented requirements on the arguments.
        let name = unsafe { name_arg(name, len) }?;
        // SAFETY: as above.
        match unsafe { config.as_ref() } {
            None => Ok(h.inner.register_default(name)?),
            Some(c) => {
                let cfg = config_from_c(c)?;
                Ok(h.inner.register(name, cfg)?)
            }
        }
    })
}

/// Registers check `name` with a JSON object of per-check keys (`kind`, `interval` /
/// `interval_ms`, `timeout` / `timeout_ms`, `failureThreshold` / `failure_threshold`,
/// `critical`) layered over the settings' config for that name. `BW_RESULT_CONFIG_INVALID`
/// names the key as written. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `name` points to `len` readable bytes, `json` to `json_len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_register_json(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    json: *const c_char,
    json_len: usize,
) -> bw_result {
    on_health("bw_health_register_json", health, |h| {
        // SAFETY: documented requirements on the arguments.
        let name = unsafe { name_arg(name, len) }?;
        // SAFETY: as above.
        let text = unsafe { ffi::arg_str(json, json_len, "json") }?;
        let base = h.inner.settings().config_for(name);
        let cfg = HealthCheckConfig::from_json_over(&base, &parse_json(text)?)?;
        Ok(h.inner.register(name, cfg)?)
    })
}

/// Removes check `name`; `*out_removed` (may be NULL) says whether there was one.
/// Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `name` points to `len` readable bytes; `out_removed` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_unregister(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    out_removed: *mut bool,
) -> bw_result {
    on_health("bw_health_unregister", health, |h| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { name_arg(name, len) }?;
        OptOut::new(out_removed).write(h.inner.unregister(name));
        Ok(())
    })
}

/// Writes a new list of the registered checks' names, in registration order, to
/// `*out_names`. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `out_names` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_check_names(
    health: *const bw_health,
    out_names: *mut *mut bw_string_list,
) -> bw_result {
    on_health("bw_health_check_names", health, |h| {
        let out = Out::new(out_names, "out_names")?;
        out.write(ffi::into_handle(bw_string_list::from_iter(
            h.inner.check_names(),
        )));
        Ok(())
    })
}

/// Writes the settings' config for a check named `name` (its `agentSpecific` entry, else the
/// section's defaults: what `bw_health_register` with a NULL config uses) to `*out`.
/// Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `name` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_default_config(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    out: *mut bw_health_check_config,
) -> bw_result {
    on_health("bw_health_default_config", health, |h| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { name_arg(name, len) }?;
        let out = Out::new(out, "out")?;
        out.write(config_to_c(&h.inner.settings().config_for(name)));
        Ok(())
    })
}

/// Marks component `name` as a dependency with no breaker of its own: it fails while the
/// degraded probe says it is degraded. A check of the same name takes the failure; otherwise
/// it is a readiness entry of its own with this `critical`. Replaces an earlier dependency of
/// that name. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `name` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_add_dependency(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    critical: bool,
) -> bw_result {
    on_health("bw_health_add_dependency", health, |h| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { name_arg(name, len) }?;
        h.inner.add_dependency(name, critical, None);
        Ok(())
    })
}

/// Marks `breaker` as a dependency under its own name: while it is open (or forced open) it
/// counts as a failing check of that name (a critical one makes the registry not ready). The
/// registry reads the breaker without keeping it alive (a freed breaker reads as closed).
/// Thread-safe.
///
/// # Safety
/// `health` and `breaker` are NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_add_breaker_dependency(
    health: *const bw_health,
    breaker: *const bw_breaker,
    critical: bool,
) -> bw_result {
    on_health("bw_health_add_breaker_dependency", health, |h| {
        // SAFETY: documented requirement on `breaker`.
        let b = unsafe { ffi::arg_ref(breaker, "breaker") }?;
        h.inner.add_breaker_dependency(&b.inner, critical);
        Ok(())
    })
}

/// Removes the dependency `name`; `*out_removed` (may be NULL) says whether there was one.
/// Thread-safe.
///
/// # Safety
/// As `bw_health_unregister`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_remove_dependency(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    out_removed: *mut bool,
) -> bw_result {
    on_health("bw_health_remove_dependency", health, |h| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { name_arg(name, len) }?;
        OptOut::new(out_removed).write(h.inner.remove_dependency(name));
        Ok(())
    })
}

/// A C callback and its userdata; the caller promises they may be used from any thread.
struct CDegraded {
    f: unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> bool,
    userdata: *mut c_void,
}
// SAFETY: `bw_health_set_degraded_callback` documents that the callback and userdata must be
// usable from any thread.
unsafe impl Send for CDegraded {}
// SAFETY: as above.
unsafe impl Sync for CDegraded {}

/// Sets the predicate that tells whether a dependency's component is degraded (NULL
/// `callback`: none). `callback` and `userdata` must stay usable from any thread until
/// replaced or the registry is freed. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `callback` is NULL or valid as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_set_degraded_callback(
    health: *const bw_health,
    callback: bw_degraded_callback,
    userdata: *mut c_void,
) -> bw_result {
    on_health("bw_health_set_degraded_callback", health, |h| {
        let probe = callback.map(|f| {
            let c = CDegraded { f, userdata };
            let probe: breakwater_core::health::DegradedProbe = Arc::new(move |name: &str| {
                let c = &c; // the whole wrapper (Send + Sync), not its fields
                // SAFETY: the caller promised a valid callback; `name` lives during the call.
                unsafe { (c.f)(c.userdata, name.as_ptr().cast(), name.len()) }
            });
            probe
        });
        h.inner.set_degraded_probe(probe);
        Ok(())
    })
}

/// Uses `manager` as the degraded probe: a dependency whose component the manager has
/// degraded (any level above none) fails. NULL `manager`: no probe. The registry keeps the
/// manager alive. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `manager` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_use_degradation(
    health: *const bw_health,
    manager: *const bw_degradation,
) -> bw_result {
    on_health("bw_health_use_degradation", health, |h| {
        // SAFETY: documented requirement on `manager`.
        let probe = unsafe { manager.as_ref() }.map(|m| {
            let m = m.inner.clone();
            let probe: breakwater_core::health::DegradedProbe =
                Arc::new(move |name: &str| m.level(name) != breakwater_core::Level::None);
            probe
        });
        h.inner.set_degraded_probe(probe);
        Ok(())
    })
}

/// Hands every report to `alerts` (for its health-check rules), after the registry's lock is
/// released; NULL detaches. The registry keeps the alert manager alive. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `alerts` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_set_alerts(
    health: *const bw_health,
    alerts: *const bw_alerts,
) -> bw_result {
    on_health("bw_health_set_alerts", health, |h| {
        // SAFETY: documented requirement on `alerts`.
        let a = unsafe { alerts.as_ref() }.map(|a| a.inner.clone());
        h.inner.set_alerts(a.as_ref());
        *h.alerts.lock().unwrap_or_else(|e| e.into_inner()) = a;
        Ok(())
    })
}

/// Records one result of check `name`, then evaluates (emitting `health_changed` for what
/// changed) and writes the check as it now stands to `*out_view` (may be NULL; its `name` is
/// your `name` argument). `BW_RESULT_INVALID_ARGUMENT` for a check that is not registered (or
/// a status out of range, a message that is not UTF-8). Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `name` points to `len` readable bytes; `result` is NULL or
/// readable (its message readable for its length); `out_view` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_report(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    result: *const bw_check_result,
    out_view: *mut bw_check_view,
) -> bw_result {
    on_health("bw_health_report", health, |h| {
        // SAFETY: documented requirements on the arguments.
        let name_s = unsafe { name_arg(name, len) }?;
        // SAFETY: as above.
        let r = unsafe { ffi::arg_ref(result, "result") }?;
        let status = r.status.require("result.status")?;
        let mut res = CheckResult::new(status).with_latency(ms(r.latency_ms));
        if !r.message.ptr.is_null() {
            // SAFETY: as above.
            let m = unsafe { ffi::arg_str(r.message.ptr, r.message.len, "result.message") }?;
            res = res.with_message(m);
        }
        let view = h
            .inner
            .report(name_s, res)
            .map_err(|e| Error::invalid(e.to_string()))?;
        OptOut::new(out_view).write(view_to_c(&view, name, len));
        Ok(())
    })
}

/// A health report read from a registry: its summary and its entries (checks, then
/// dependencies without a check of their name). Made by `bw_health_evaluate` /
/// `bw_health_snapshot`, destroyed by `bw_health_overview_free`. Immutable: safe to read from
/// several threads at once.
pub struct bw_health_overview {
    report: HealthReport,
    names: Vec<CString>,
}

fn summary_of(r: &HealthReport) -> bw_health_summary {
    bw_health_summary {
        status: status_to_c(r.status),
        liveness: status_to_c(r.liveness),
        readiness: status_to_c(r.readiness),
        startup: status_to_c(r.startup),
        live: r.live,
        ready: r.ready,
        started: r.started,
        checks: r.checks.len() as u64,
        at_ms: r.at_ms,
    }
}

fn write_report(
    report: HealthReport,
    out_summary: *mut bw_health_summary,
    out_overview: *mut *mut bw_health_overview,
) {
    OptOut::new(out_summary).write(summary_of(&report));
    if !out_overview.is_null() {
        let names = report
            .checks
            .iter()
            .map(|c| ffi::cstring(&c.name))
            .collect();
        OptOut::new(out_overview).write(ffi::into_handle(bw_health_overview { report, names }));
    }
}

/// Computes the health report and emits `health_changed` for every entry whose status changed
/// since the last evaluation (and for the overall status, under the registry's name "health").
/// Writes the summary to `*out_summary` and a new overview to `*out_overview`; either may be
/// NULL. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; the outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_evaluate(
    health: *const bw_health,
    out_summary: *mut bw_health_summary,
    out_overview: *mut *mut bw_health_overview,
) -> bw_result {
    on_health("bw_health_evaluate", health, |h| {
        write_report(h.inner.evaluate(), out_summary, out_overview);
        Ok(())
    })
}

/// Like `bw_health_evaluate`, without announcing anything (a pure read). Thread-safe.
///
/// # Safety
/// As `bw_health_evaluate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_snapshot(
    health: *const bw_health,
    out_summary: *mut bw_health_summary,
    out_overview: *mut *mut bw_health_overview,
) -> bw_result {
    on_health("bw_health_snapshot", health, |h| {
        write_report(h.inner.snapshot(), out_summary, out_overview);
        Ok(())
    })
}

/// Writes the overview's summary to `*out`. Thread-safe.
///
/// # Safety
/// `overview` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_overview_summary(
    overview: *const bw_health_overview,
    out: *mut bw_health_summary,
) -> bw_result {
    boundary("bw_health_overview_summary", || {
        // SAFETY: documented requirement on `overview`.
        let o = unsafe { ffi::arg_ref(overview, "overview") }?;
        Out::new(out, "out")?.write(summary_of(&o.report));
        Ok(())
    })
}

/// Writes entry number `index` (from 0; `summary.checks` entries) to `*out`.
/// `BW_RESULT_INVALID_ARGUMENT` for an index out of range. Thread-safe.
///
/// # Safety
/// `overview` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_overview_check(
    overview: *const bw_health_overview,
    index: usize,
    out: *mut bw_check_view,
) -> bw_result {
    boundary("bw_health_overview_check", || {
        // SAFETY: documented requirement on `overview`.
        let o = unsafe { ffi::arg_ref(overview, "overview") }?;
        let out = Out::new(out, "out")?;
        let v = o.report.checks.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "argument `index`: {index} is out of range (the overview has {})",
                o.report.checks.len()
            ))
        })?;
        let n = &o.names[index];
        out.write(view_to_c(v, n.as_ptr(), n.as_bytes().len()));
        Ok(())
    })
}

/// Writes the entry named `name` to `*out` and whether there is one to `*out_found`
/// (`*out` is left alone when there is none). Thread-safe.
///
/// # Safety
/// `overview` is NULL or live; `name` points to `len` readable bytes; the outputs are NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_overview_find(
    overview: *const bw_health_overview,
    name: *const c_char,
    len: usize,
    out: *mut bw_check_view,
    out_found: *mut bool,
) -> bw_result {
    boundary("bw_health_overview_find", || {
        // SAFETY: documented requirement on `overview`.
        let o = unsafe { ffi::arg_ref(overview, "overview") }?;
        // SAFETY: documented requirement on `name`.
        let name = unsafe { name_arg(name, len) }?;
        let out = Out::new(out, "out")?;
        let found = Out::new(out_found, "out_found")?;
        let i = o.report.checks.iter().position(|c| &*c.name == name);
        found.write(i.is_some());
        if let Some(i) = i {
            let n = &o.names[i];
            out.write(view_to_c(
                &o.report.checks[i],
                n.as_ptr(),
                n.as_bytes().len(),
            ));
        }
        Ok(())
    })
}

/// Destroys an overview; NULL is a no-op.
///
/// # Safety
/// `overview` is NULL or live, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_overview_free(overview: *mut bw_health_overview) {
    // SAFETY: documented requirement on `overview`.
    unsafe { ffi::free_handle("bw_health_overview_free", overview) }
}

fn result_to_c(r: &HealthResult) -> bw_health_result {
    bw_health_result {
        status: status_to_c(r.result.status),
        latency_ms: floor_ms(r.result.latency),
        at_ms: r.at_ms,
        failed: r.failed,
        timed_out: r.timed_out,
    }
}

/// Writes check `name`'s stored reports, newest first, into `out[0..cap]` and how many it
/// wrote to `*out_len` (0 for a check with no reports or no such check). `out` may be NULL
/// when `cap` is 0. The registry keeps `max_history` reports per check (20 unless
/// configured). Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `name` points to `len` readable bytes; `out` points to `cap`
/// writable `bw_health_result`s; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_history(
    health: *const bw_health,
    name: *const c_char,
    len: usize,
    out: *mut bw_health_result,
    cap: usize,
    out_len: *mut usize,
) -> bw_result {
    on_health("bw_health_history", health, |h| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { name_arg(name, len) }?;
        if out.is_null() && cap > 0 {
            return Err(Error::null("out"));
        }
        let out_len = Out::new(out_len, "out_len")?;
        let list = h.inner.history(name, cap);
        for (i, r) in list.iter().enumerate() {
            // SAFETY: i < cap (history takes at most `cap`), and `out` has `cap` slots.
            unsafe { out.add(i).write(result_to_c(r)) };
        }
        out_len.write(list.len());
        Ok(())
    })
}

/// Writes whether the registry is ready (no critical check failing, no critical dependency's
/// breaker open) to `*out`; a pure read. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_is_ready(health: *const bw_health, out: *mut bool) -> bw_result {
    on_health("bw_health_is_ready", health, |h| {
        Out::new(out, "out")?.write(h.inner.is_ready());
        Ok(())
    })
}

/// Writes whether the process is live (no liveness check unhealthy or critical) to `*out`; a
/// pure read. Thread-safe.
///
/// # Safety
/// `health` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_is_live(health: *const bw_health, out: *mut bool) -> bw_result {
    on_health("bw_health_is_live", health, |h| {
        Out::new(out, "out")?.write(h.inner.is_live());
        Ok(())
    })
}

/// Calls `callback(userdata, event)` for the registry's `health_changed` events
/// (`BW_EVENT_KIND_HEALTH_CHANGED` or `BW_EVENT_KIND_ALL`): `component` is the check (or
/// "health" for the overall status), `reason` the new status, `attempt` the check's
/// consecutive failed reports. Writes the subscription id to `*out_id` (may be NULL).
/// Thread-safe; see `bw_event_callback`.
///
/// # Safety
/// As `bw_breaker_on`, with `health` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_on(
    health: *const bw_health,
    kind: EventKindArg,
    callback: bw_event_callback,
    userdata: *mut c_void,
    out_id: *mut u64,
) -> bw_result {
    on_health("bw_health_on", health, |h| {
        events::on(kind, callback, userdata, out_id, |k, l| {
            h.inner.subscribe(k, l)
        })
    })
}

/// Removes the subscription `id` made by `bw_health_on`. `BW_RESULT_INVALID_ARGUMENT` when
/// there is none. Thread-safe.
///
/// # Safety
/// `health` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_off(health: *const bw_health, id: u64) -> bw_result {
    on_health("bw_health_off", health, |h| {
        events::off(id, |i| h.inner.unsubscribe(i))
    })
}

/// Destroys a health registry handle; NULL is a no-op. Free it exactly once, after every other
/// thread has stopped using the handle.
///
/// # Safety
/// `health` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_health_free(health: *mut bw_health) {
    // SAFETY: documented requirement on `health`.
    unsafe { ffi::free_handle("bw_health_free", health) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_core() {
        for (i, s) in HealthStatus::ALL.iter().enumerate() {
            assert_eq!(STATUS_NAMES[i].to_str().unwrap(), s.as_str());
            assert_eq!(status_to_c(*s) as usize, i);
        }
        for (i, k) in CheckKind::ALL.iter().enumerate() {
            assert_eq!(KIND_NAMES[i].to_str().unwrap(), k.as_str());
            assert_eq!(kind_to_c(*k) as usize, i);
        }
    }
}
