//! Alerts and the event log: an alert manager that watches events (breaker opened,
//! degradation triggered, recovery completed), health reports and SLO budgets against rules and
//! raises de-duplicated `alert` events; and a bounded log of events with queries.
//!
//! C has no event bus: forward what you want watched from the components' callbacks
//! (`bw_breaker_on`, `bw_degradation_on`, `bw_health_on`...) to `bw_alerts_observe` and
//! `bw_event_log_record`; `bw_health_set_alerts` hands health reports over directly.

#![allow(non_camel_case_types)]

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use breakwater_core::eventlog::{EventQuery, LoggedEvent};
use breakwater_core::{Alert, AlertManager, AlertSeverity, AlertsConfig, EventLog};

use crate::breaker::{clock_of, parse_json};
use crate::classify::bw_str;
use crate::clock::bw_manual_clock;
use crate::events::{self, CEvent, bw_event, bw_event_callback, event_from_c};
use crate::ffi::{self, Error, Out, boundary, boundary_value};
use crate::result::bw_result;
use crate::slo::bw_slo;
use crate::types::{EventKindArg, name_of};

/// How urgent an alert is (its events' `severity`). `bw_alert_severity_name` gives "info",
/// "warning", "critical".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_alert_severity {
    BW_ALERT_INFO = 0,
    BW_ALERT_WARNING = 1,
    BW_ALERT_CRITICAL = 2,
}

/// A `bw_alert_severity` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct AlertSeverityArg(pub u32);

fn severity_to_c(s: AlertSeverity) -> bw_alert_severity {
    match s {
        AlertSeverity::Info => bw_alert_severity::BW_ALERT_INFO,
        AlertSeverity::Warning => bw_alert_severity::BW_ALERT_WARNING,
        AlertSeverity::Critical => bw_alert_severity::BW_ALERT_CRITICAL,
    }
}

/// The name of an alert severity ("info", "warning", "critical"); NULL for a value that is not
/// a `bw_alert_severity`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_alert_severity_name(severity: AlertSeverityArg) -> *const c_char {
    boundary_value("bw_alert_severity_name", std::ptr::null(), || {
        name_of(&[c"info", c"warning", c"critical"], severity.0)
    })
}

// ----- the event log ------------------------------------------------------------------------

/// A bounded log of events, oldest dropped first, each with a sequence number (1 for the first
/// event the log ever took). Made by `bw_event_log_new`, destroyed by `bw_event_log_free`.
/// Thread-safe: one handle may be used from any number of threads at once (except `_free`).
pub struct bw_event_log {
    inner: Arc<EventLog>,
}

/// What to read from the log (`bw_event_log_query`). Zero-initialise it: that reads every
/// event, newest first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_event_query {
    /// Only events of this component (`ptr` NULL: every component).
    pub component: bw_str,
    /// Only events of these kinds (NULL with 0: every kind).
    pub kinds: *const EventKindArg,
    pub kinds_len: usize,
    /// At most this many (the newest).
    pub has_limit: bool,
    pub limit: u64,
    /// Only events with a sequence number above this (for polling).
    pub has_after_seq: bool,
    pub after_seq: u64,
}

/// Events read from a log (`bw_event_log_query`), newest first. Read with
/// `bw_event_list_len` / `_get`, destroy with `bw_event_list_free`. Immutable: safe to read
/// from several threads at once.
pub struct bw_event_list {
    items: Vec<(u64, CEvent)>,
}

/// Makes a log keeping the newest `capacity` events (1..=1000000; the other components'
/// default is 1000). `BW_RESULT_CONFIG_INVALID` (key "capacity") outside the range.
/// Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_log_new(capacity: u64, out: *mut *mut bw_event_log) -> bw_result {
    boundary("bw_event_log_new", || {
        let out = Out::new(out, "out")?;
        let log = EventLog::new(usize::try_from(capacity).unwrap_or(usize::MAX))?;
        out.write(ffi::into_handle(bw_event_log {
            inner: Arc::new(log),
        }));
        Ok(())
    })
}

fn on_log(
    func: &'static str,
    log: *const bw_event_log,
    body: impl FnOnce(&EventLog) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `log` is NULL or a live handle.
        let l = unsafe { ffi::arg_ref(log, "log") }?;
        body(&l.inner)
    })
}

/// Appends a copy of `event` (dropping the oldest when full). The event is read field by
/// field: `component` is `component_len` bytes of UTF-8; `reason`, `severity` and `strategy`
/// are NUL-terminated or NULL, and `reason` and `severity` must be names breakwater uses
/// (transition and give-up reasons, triggers, health statuses, alert conditions; levels and
/// alert severities); enums out of range or unknown names are `BW_RESULT_INVALID_ARGUMENT`.
/// An event from any `bw_*_on` callback can be passed as it is. Thread-safe.
///
/// # Safety
/// `log` is NULL or live; `event` is NULL or a readable `bw_event` whose strings are valid as
/// described.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_log_record(
    log: *const bw_event_log,
    event: *const bw_event,
) -> bw_result {
    on_log("bw_event_log_record", log, |l| {
        // SAFETY: documented requirement on `event`.
        let e = unsafe { event_from_c(event, "event") }?;
        l.record(&e);
        Ok(())
    })
}

/// Writes a new list of the matching events, newest first, to `*out_list` (`query` NULL:
/// every event). Thread-safe.
///
/// # Safety
/// `log` is NULL or live; `query` is NULL or readable (its component readable for its length,
/// its kinds for their count); `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_log_query(
    log: *const bw_event_log,
    query: *const bw_event_query,
    out_list: *mut *mut bw_event_list,
) -> bw_result {
    on_log("bw_event_log_query", log, |l| {
        let out = Out::new(out_list, "out_list")?;
        // SAFETY: documented requirement on `query`.
        let found: Vec<LoggedEvent> = match unsafe { query.as_ref() } {
            None => l.query(&EventQuery::default()),
            Some(q) => {
                let component = if q.component.ptr.is_null() {
                    None
                } else {
                    // SAFETY: documented requirement on `query`.
                    Some(unsafe {
                        ffi::arg_str(q.component.ptr, q.component.len, "query.component")
                    }?)
                };
                // SAFETY: as above.
                let raw = unsafe { ffi::arg_slice(q.kinds, q.kinds_len, "query.kinds") }?;
                let mut kinds = Vec::with_capacity(raw.len());
                for k in raw {
                    match k.get() {
                        Some(Some(kind)) => kinds.push(kind),
                        _ => {
                            return Err(Error::invalid(format!(
                                "argument `query.kinds`: {} is not an event kind",
                                k.0
                            )));
                        }
                    }
                }
                l.query(&EventQuery {
                    component,
                    kinds: &kinds,
                    limit: q
                        .has_limit
                        .then(|| usize::try_from(q.limit).unwrap_or(usize::MAX)),
                    after_seq: q.has_after_seq.then_some(q.after_seq),
                })
            }
        };
        let items = found
            .iter()
            .map(|e| (e.seq, CEvent::new(&e.event)))
            .collect();
        out.write(ffi::into_handle(bw_event_list { items }));
        Ok(())
    })
}

/// Writes the number of events in the log now to `*out_len` and the sequence number of the
/// newest event ever recorded (0 before any) to `*out_last_seq`; either may be NULL.
/// Thread-safe.
///
/// # Safety
/// `log` is NULL or live; the outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_log_len(
    log: *const bw_event_log,
    out_len: *mut usize,
    out_last_seq: *mut u64,
) -> bw_result {
    on_log("bw_event_log_len", log, |l| {
        ffi::OptOut::new(out_len).write(l.len());
        ffi::OptOut::new(out_last_seq).write(l.last_seq());
        Ok(())
    })
}

/// Forgets every event (sequence numbers keep counting). Thread-safe.
///
/// # Safety
/// `log` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_log_clear(log: *const bw_event_log) -> bw_result {
    on_log("bw_event_log_clear", log, |l| {
        l.clear();
        Ok(())
    })
}

/// Destroys a log; NULL is a no-op.
///
/// # Safety
/// `log` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_log_free(log: *mut bw_event_log) {
    // SAFETY: documented requirement on `log`.
    unsafe { ffi::free_handle("bw_event_log_free", log) }
}

/// Writes the number of events in `list` to `*out_len`. Thread-safe.
///
/// # Safety
/// `list` is NULL or live; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_list_len(
    list: *const bw_event_list,
    out_len: *mut usize,
) -> bw_result {
    boundary("bw_event_list_len", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        Out::new(out_len, "out_len")?.write(l.items.len());
        Ok(())
    })
}

/// Writes event number `index` (from 0, newest first) to `*out_event` (its strings valid as
/// long as the list) and its sequence number to `*out_seq` (may be NULL).
/// `BW_RESULT_INVALID_ARGUMENT` for an index out of range. Thread-safe.
///
/// # Safety
/// `list` is NULL or live; the outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_list_get(
    list: *const bw_event_list,
    index: usize,
    out_event: *mut bw_event,
    out_seq: *mut u64,
) -> bw_result {
    boundary("bw_event_list_get", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        let out = Out::new(out_event, "out_event")?;
        let (seq, e) = l.items.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "argument `index`: {index} is out of range (the list has {})",
                l.items.len()
            ))
        })?;
        out.write(*e.get());
        ffi::OptOut::new(out_seq).write(*seq);
        Ok(())
    })
}

/// Destroys a list; NULL is a no-op.
///
/// # Safety
/// `list` is NULL or live, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_list_free(list: *mut bw_event_list) {
    // SAFETY: documented requirement on `list`.
    unsafe { ffi::free_handle("bw_event_list_free", list) }
}

// ----- the alert manager --------------------------------------------------------------------

/// An alert manager. Made by `bw_alerts_new` / `bw_alerts_from_json`, destroyed by
/// `bw_alerts_free`. Thread-safe: one handle may be used from any number of threads at once
/// (except `_free`, which must come last).
pub struct bw_alerts {
    pub(crate) inner: Arc<AlertManager>,
}

/// One raised alert (`bw_alert_list_get`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_alert {
    /// 1 for the first alert the manager raised.
    pub id: u64,
    /// The rule's name, NUL-terminated; valid as long as the list.
    pub rule: *const c_char,
    /// The rule's condition ("breaker_opened", "health_check_failing",
    /// "degradation_triggered", "recovery_completed", "error_budget"); valid as long as the
    /// list.
    pub condition: *const c_char,
    /// The component, NUL-terminated, and its length; valid as long as the list.
    pub component: *const c_char,
    pub component_len: usize,
    pub severity: bw_alert_severity,
    /// Wall time, ms since the Unix epoch.
    pub raised_at_ms: u64,
    /// When the outage ended (the rule re-armed); recovery alerts are raised resolved.
    pub has_resolved: bool,
    pub resolved_at_ms: u64,
    /// Repeats of the same outage folded into this alert.
    pub suppressed: u64,
    /// Not resolved yet.
    pub active: bool,
}

/// Counts for dashboards (`bw_alerts_stats`); the arrays are indexed by `bw_alert_severity`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_alert_stats {
    pub raised_total: u64,
    pub suppressed_total: u64,
    pub raised_by_severity: [u64; 3],
    pub active_by_severity: [u64; 3],
}

/// Alerts read from a manager, newest first. Read with `bw_alert_list_len` / `_get`, destroy
/// with `bw_alert_list_free`. Immutable.
pub struct bw_alert_list {
    items: Vec<(Alert, CString, CString, CString)>,
}

fn alert_list(alerts: Vec<Alert>) -> *mut bw_alert_list {
    let items = alerts
        .into_iter()
        .map(|a| {
            let rule = ffi::cstring(&a.rule);
            let cond = ffi::cstring(a.condition);
            let comp = ffi::cstring(&a.component);
            (a, rule, cond, comp)
        })
        .collect();
    ffi::into_handle(bw_alert_list { items })
}

fn new_alerts(config: AlertsConfig, clock: *const bw_manual_clock) -> ffi::Result<*mut bw_alerts> {
    let m = AlertManager::with_config(config, clock_of(clock))?;
    Ok(ffi::into_handle(bw_alerts { inner: Arc::new(m) }))
}

fn on_alerts(
    func: &'static str,
    alerts: *const bw_alerts,
    body: impl FnOnce(&Arc<AlertManager>) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `alerts` is NULL or a live handle.
        let a = unsafe { ffi::arg_ref(alerts, "alerts") }?;
        body(&a.inner)
    })
}

/// A new alert manager with the default rules (breaker opened: warning; a health check failing
/// 3 reports in a row: critical; degradation triggered: warning; recovery completed: info;
/// error budget 80 % consumed: warning, 100 %: critical), reading wall time from `clock`
/// (NULL: the system clock). Thread-safe.
///
/// # Safety
/// `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_new(
    clock: *const bw_manual_clock,
    out: *mut *mut bw_alerts,
) -> bw_result {
    boundary("bw_alerts_new", || {
        let out = Out::new(out, "out")?;
        out.write(new_alerts(AlertsConfig::default(), clock)?);
        Ok(())
    })
}

/// A new alert manager from a JSON object `{"rules": [...], "max_history": n}` (without
/// `rules` the default rules apply; `"rules": []` means none). A rule is `{"name",
/// "condition", "severity", "component", "reports" (health_check_failing), "threshold"
/// (error_budget)}`. `BW_RESULT_CONFIG_INVALID` names the key (`rules[0].condition`).
/// Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_from_json(
    json: *const c_char,
    len: usize,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_alerts,
) -> bw_result {
    boundary("bw_alerts_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let config = AlertsConfig::from_json(&parse_json(text)?)?;
        out.write(new_alerts(config, clock)?);
        Ok(())
    })
}

/// Checks one event against the event rules (a breaker's `state_change` to open, a
/// `degradation_triggered`, a recovery), raising an `alert` event for a new outage and
/// folding repeats into it. Forward events from `bw_breaker_on` / `bw_degradation_on`
/// callbacks here. The event is read as for `bw_event_log_record`. Thread-safe.
///
/// # Safety
/// `alerts` is NULL or live; `event` is NULL or readable as for `bw_event_log_record`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_observe(
    alerts: *const bw_alerts,
    event: *const bw_event,
) -> bw_result {
    on_alerts("bw_alerts_observe", alerts, |a| {
        // SAFETY: documented requirement on `event`.
        let e = unsafe { event_from_c(event, "event") }?;
        a.observe(&e);
        Ok(())
    })
}

/// Checks an SLO's error budget against the budget rules. Thread-safe.
///
/// # Safety
/// `alerts` and `slo` are NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_observe_slo(
    alerts: *const bw_alerts,
    slo: *const bw_slo,
) -> bw_result {
    on_alerts("bw_alerts_observe_slo", alerts, |a| {
        // SAFETY: documented requirement on `slo`.
        let s = unsafe { ffi::arg_ref(slo, "slo") }?;
        a.observe_slo(&s.inner);
        Ok(())
    })
}

/// Writes a new list of the active alerts, newest first, to `*out_list`. Thread-safe.
///
/// # Safety
/// `alerts` is NULL or live; `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_active(
    alerts: *const bw_alerts,
    out_list: *mut *mut bw_alert_list,
) -> bw_result {
    on_alerts("bw_alerts_active", alerts, |a| {
        let out = Out::new(out_list, "out_list")?;
        out.write(alert_list(a.active()));
        Ok(())
    })
}

/// Writes a new list of the raised alerts (active and resolved), newest first, at most
/// `limit`, to `*out_list`. Thread-safe.
///
/// # Safety
/// `alerts` is NULL or live; `out_list` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_history(
    alerts: *const bw_alerts,
    limit: u64,
    out_list: *mut *mut bw_alert_list,
) -> bw_result {
    on_alerts("bw_alerts_history", alerts, |a| {
        let out = Out::new(out_list, "out_list")?;
        out.write(alert_list(
            a.history(usize::try_from(limit).unwrap_or(usize::MAX)),
        ));
        Ok(())
    })
}

/// Writes the counters to `*out`. Thread-safe.
///
/// # Safety
/// `alerts` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_stats(
    alerts: *const bw_alerts,
    out: *mut bw_alert_stats,
) -> bw_result {
    on_alerts("bw_alerts_stats", alerts, |a| {
        let out = Out::new(out, "out")?;
        let s = a.stats();
        out.write(bw_alert_stats {
            raised_total: s.raised_total,
            suppressed_total: s.suppressed_total,
            raised_by_severity: s.raised_by_severity,
            active_by_severity: s.active_by_severity,
        });
        Ok(())
    })
}

/// Calls `callback(userdata, event)` for the manager's `alert` events (`BW_EVENT_KIND_ALERT`
/// or `BW_EVENT_KIND_ALL`): `component` is what the alert is about, `reason` the condition,
/// `severity` the alert's severity, `attempt` the failed reports for a health alert. Writes
/// the subscription id to `*out_id` (may be NULL). Thread-safe; see `bw_event_callback`.
///
/// # Safety
/// As `bw_breaker_on`, with `alerts` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_on(
    alerts: *const bw_alerts,
    kind: EventKindArg,
    callback: bw_event_callback,
    userdata: *mut c_void,
    out_id: *mut u64,
) -> bw_result {
    on_alerts("bw_alerts_on", alerts, |a| {
        events::on(kind, callback, userdata, out_id, |k, l| a.subscribe(k, l))
    })
}

/// Removes the subscription `id` made by `bw_alerts_on`. `BW_RESULT_INVALID_ARGUMENT` when
/// there is none. Thread-safe.
///
/// # Safety
/// `alerts` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_off(alerts: *const bw_alerts, id: u64) -> bw_result {
    on_alerts("bw_alerts_off", alerts, |a| {
        events::off(id, |i| a.unsubscribe(i))
    })
}

/// Destroys an alert manager handle; NULL is a no-op. A health registry it was handed to keeps
/// it alive. Free it exactly once, after every other thread has stopped using the handle.
///
/// # Safety
/// `alerts` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alerts_free(alerts: *mut bw_alerts) {
    // SAFETY: documented requirement on `alerts`.
    unsafe { ffi::free_handle("bw_alerts_free", alerts) }
}

/// Writes the number of alerts in `list` to `*out_len`. Thread-safe.
///
/// # Safety
/// `list` is NULL or live; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alert_list_len(
    list: *const bw_alert_list,
    out_len: *mut usize,
) -> bw_result {
    boundary("bw_alert_list_len", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        Out::new(out_len, "out_len")?.write(l.items.len());
        Ok(())
    })
}

/// Writes alert number `index` (from 0, newest first) to `*out`. `BW_RESULT_INVALID_ARGUMENT`
/// for an index out of range. Thread-safe.
///
/// # Safety
/// `list` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alert_list_get(
    list: *const bw_alert_list,
    index: usize,
    out: *mut bw_alert,
) -> bw_result {
    boundary("bw_alert_list_get", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        let out = Out::new(out, "out")?;
        let (a, rule, cond, comp) = l.items.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "argument `index`: {index} is out of range (the list has {})",
                l.items.len()
            ))
        })?;
        out.write(bw_alert {
            id: a.id,
            rule: rule.as_ptr(),
            condition: cond.as_ptr(),
            component: comp.as_ptr(),
            component_len: comp.as_bytes().len(),
            severity: severity_to_c(a.severity),
            raised_at_ms: a.raised_at_ms,
            has_resolved: a.resolved_at_ms.is_some(),
            resolved_at_ms: a.resolved_at_ms.unwrap_or(0),
            suppressed: a.suppressed,
            active: a.is_active(),
        });
        Ok(())
    })
}

/// Destroys a list; NULL is a no-op.
///
/// # Safety
/// `list` is NULL or live, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_alert_list_free(list: *mut bw_alert_list) {
    // SAFETY: documented requirement on `list`.
    unsafe { ffi::free_handle("bw_alert_list_free", list) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::bw_event_kind;
    use breakwater_core::EventKind;

    #[test]
    fn severities_match_the_core() {
        for (i, s) in AlertSeverity::ALL.iter().enumerate() {
            assert_eq!(severity_to_c(*s) as usize, i);
        }
        let _ = bw_event_kind::BW_EVENT_KIND_ALERT;
        assert!(EventKind::ALL.contains(&EventKind::Alert));
    }
}
