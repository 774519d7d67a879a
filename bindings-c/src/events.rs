//! Events for C: `bw_event`, the callback type, and subscription helpers shared by every
//! component that emits events (breaker, policy).

#![allow(non_camel_case_types)]

use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::Arc;

use breakwater_core::event::Listener;
use breakwater_core::{
    AlertCondition, AlertSeverity, Category, Event, EventKind, GiveUpReason, HealthStatus, Level,
    ListenerId, State, Trigger,
};

use crate::ffi::{self, Error, OptOut};
use crate::types::{
    CategoryArg, EventKindArg, bw_category, bw_event_kind, bw_state, category_to_c,
    event_kind_to_c, floor_ms, ms, state_to_c,
};

/// One event, handed to a `bw_event_callback` (or read from a `bw_event_list`). Everything it
/// points to is valid only during the callback (or as long as the list): copy what you keep.
/// Fields a kind does not have are zero / NULL with their `has_` flag false. It is also what
/// `bw_event_log_record`, `bw_alerts_observe` and `bw_slo_observe` take: pass one a callback
/// received as it is, or fill one in (zero-initialised; `component` is `component_len` bytes,
/// `reason` / `strategy` / `severity` NUL-terminated or NULL).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_event {
    pub kind: bw_event_kind,
    /// The component's name (NUL-terminated) and its length in bytes.
    pub component: *const c_char,
    pub component_len: usize,
    /// The clock's wall time, ms since the Unix epoch.
    pub at_ms: u64,
    pub has_from: bool,
    pub from: bw_state,
    pub has_to: bool,
    pub to: bw_state,
    /// Why (a transition reason such as "consecutive_failures"), NUL-terminated; NULL when
    /// absent.
    pub reason: *const c_char,
    pub has_category: bool,
    pub category: bw_category,
    /// The call's duration, whole ms rounded down.
    pub has_duration: bool,
    pub duration_ms: u64,
    pub has_attempt: bool,
    pub attempt: u32,
    pub has_delay: bool,
    pub delay_ms: u64,
    /// NUL-terminated; NULL when absent.
    pub strategy: *const c_char,
    /// NUL-terminated; NULL when absent.
    pub severity: *const c_char,
}

/// A listener: called with the `userdata` given to `bw_breaker_on` and the event. It runs
/// synchronously on the thread whose call caused the event, after breakwater's locks are
/// released, so it may call back into breakwater (even `bw_breaker_off`). With several
/// threads using one breaker it runs on several threads at once: `userdata` must be safe for
/// that.
pub type bw_event_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const bw_event)>;

/// A C callback and its userdata; the C caller promises they may be used from any thread.
struct CListener {
    callback: unsafe extern "C" fn(*mut c_void, *const bw_event),
    userdata: *mut c_void,
}

// SAFETY: `bw_breaker_on` documents that the callback and userdata must be usable from any
// thread; breakwater only passes the pointer back.
unsafe impl Send for CListener {}
// SAFETY: as above.
unsafe impl Sync for CListener {}

/// A `bw_event` with the strings it points to, owned: valid as long as this value.
pub(crate) struct CEvent {
    ev: bw_event,
    _strings: [Option<CString>; 4],
}

impl CEvent {
    pub(crate) fn new(e: &Event) -> Self {
        let cs = |s: &str| ffi::cstring(s);
        let component = cs(&e.component);
        let reason = e.reason.map(cs);
        let strategy = e.strategy.as_deref().map(cs);
        let severity = e.severity.map(cs);
        let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        let ev = bw_event {
            kind: event_kind_to_c(e.kind),
            component: component.as_ptr(),
            component_len: component.as_bytes().len(),
            at_ms: e.at_ms,
            has_from: e.from.is_some(),
            from: state_to_c(e.from.unwrap_or(State::Closed)),
            has_to: e.to.is_some(),
            to: state_to_c(e.to.unwrap_or(State::Closed)),
            reason: ptr(&reason),
            has_category: e.category.is_some(),
            category: category_to_c(e.category.unwrap_or(Category::Unknown)),
            has_duration: e.duration.is_some(),
            duration_ms: e.duration.map_or(0, floor_ms),
            has_attempt: e.attempt.is_some(),
            attempt: e.attempt.unwrap_or(0),
            has_delay: e.delay.is_some(),
            delay_ms: e.delay.map_or(0, floor_ms),
            strategy: ptr(&strategy),
            severity: ptr(&severity),
        };
        CEvent {
            ev,
            _strings: [Some(component), reason, strategy, severity],
        }
    }

    pub(crate) fn get(&self) -> &bw_event {
        &self.ev
    }
}

impl CListener {
    fn deliver(&self, e: &Event) {
        let ev = CEvent::new(e);
        // SAFETY: the caller of `bw_breaker_on` provided a valid callback; `ev` and the
        // strings it points to live until it returns.
        unsafe { (self.callback)(self.userdata, ev.get()) }
    }
}

impl CListener {
    pub(crate) fn into_listener(self) -> Listener {
        Arc::new(move |e: &Event| self.deliver(e))
    }
}

/// Checks `bw_*_on` arguments and subscribes through `subscribe`; writes the id.
pub(crate) fn on(
    kind: EventKindArg,
    callback: bw_event_callback,
    userdata: *mut c_void,
    out_id: *mut u64,
    subscribe: impl FnOnce(Option<EventKind>, Listener) -> ListenerId,
) -> ffi::Result<()> {
    let callback = callback.ok_or_else(|| Error::null("callback"))?;
    let kind = kind.get().ok_or_else(|| {
        Error::invalid(format!(
            "argument `kind`: {} is not a bw_event_kind",
            kind.0
        ))
    })?;
    let id = subscribe(kind, CListener { callback, userdata }.into_listener());
    OptOut::new(out_id).write(id.0);
    Ok(())
}

/// `bw_*_off`: removes a subscription or says there was none.
pub(crate) fn off(id: u64, unsubscribe: impl FnOnce(ListenerId) -> bool) -> ffi::Result<()> {
    if unsubscribe(ListenerId(id)) {
        Ok(())
    } else {
        Err(Error::invalid(format!("no subscription with id {id}")))
    }
}

// ----- events from C ------------------------------------------------------------------------

/// Every `reason` an event can carry (closed sets, contract section 5): transition reasons,
/// give-up reasons, degradation triggers, health statuses, alert conditions.
fn static_reason(s: &str) -> Option<&'static str> {
    const TRANSITIONS: [&str; 8] = [
        "consecutive_failures",
        "failure_rate",
        "slow_call_rate",
        "recovery_timeout",
        "probes_succeeded",
        "probe_failed",
        "half_open_timeout",
        "manual",
    ];
    TRANSITIONS
        .into_iter()
        .chain(GiveUpReason::ALL.map(GiveUpReason::as_str))
        .chain(Trigger::ALL.map(Trigger::as_str))
        .chain(HealthStatus::ALL.map(HealthStatus::as_str))
        .chain(AlertCondition::NAMES)
        .find(|r| *r == s)
}

/// Every `severity`: degradation levels and alert severities.
fn static_severity(s: &str) -> Option<&'static str> {
    Level::ALL
        .map(Level::as_str)
        .into_iter()
        .chain(AlertSeverity::ALL.map(AlertSeverity::as_str))
        .find(|r| *r == s)
}

/// Reads a C `bool` without assuming it holds 0 or 1.
///
/// # Safety
/// `p` points to a readable byte.
unsafe fn read_bool(p: *const bool) -> bool {
    // SAFETY: forwarded; read as a byte so any value is defined.
    unsafe { p.cast::<u8>().read() != 0 }
}

/// Reads a C enum field as the integer it holds (a C enum may hold any value).
///
/// # Safety
/// `p` points to a readable enum field (an `int`-sized value).
unsafe fn read_enum<T>(p: *const T) -> u32 {
    debug_assert_eq!(std::mem::size_of::<T>(), 4);
    // SAFETY: forwarded; read as the integer C stored.
    unsafe { p.cast::<u32>().read() }
}

/// A NUL-terminated optional string field, as a closed-set name.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn read_name(
    p: *const c_char,
    field: &'static str,
    known: fn(&str) -> Option<&'static str>,
) -> ffi::Result<Option<&'static str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded.
    let s = unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| Error::invalid(format!("event.{field} is not valid UTF-8 ({e})")))?;
    known(s)
        .map(Some)
        .ok_or_else(|| Error::invalid(format!("event.{field}: \"{s}\" is not a known {field}")))
}

/// An event a C caller hands in (to an event log, an alert manager, an SLO): the `bw_event`
/// fields read defensively (enums out of range, a reason or severity outside their closed sets
/// and invalid UTF-8 are `BW_RESULT_INVALID_ARGUMENT`). `component` is `component_len` bytes
/// (not necessarily NUL-terminated); `reason`, `strategy` and `severity` are NUL-terminated or
/// NULL.
///
/// # Safety
/// `p` is NULL or points to a readable `bw_event` whose pointers are valid as documented.
pub(crate) unsafe fn event_from_c(p: *const bw_event, arg: &'static str) -> ffi::Result<Event> {
    if p.is_null() {
        return Err(Error::null(arg));
    }
    // SAFETY (whole block): `p` is a readable bw_event (documented); each field is read
    // through a raw pointer as the integer or byte C stored.
    unsafe {
        let kind_raw = read_enum(&raw const (*p).kind);
        let kind = EventKind::ALL
            .get(kind_raw as usize)
            .copied()
            .ok_or_else(|| Error::invalid(format!("event.kind: {kind_raw} is not a kind")))?;
        let component = ffi::arg_str(
            (&raw const (*p).component).read(),
            (&raw const (*p).component_len).read(),
            "event.component",
        )?;
        let mut e = Event::new(kind, &Arc::from(component), (&raw const (*p).at_ms).read());
        let state = |has: *const bool, v: *const bw_state, f: &str| -> ffi::Result<_> {
            if !read_bool(has) {
                return Ok(None);
            }
            let raw = read_enum(v);
            State::ALL
                .get(raw as usize)
                .copied()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("event.{f}: {raw} is not a bw_state")))
        };
        e.from = state(&raw const (*p).has_from, &raw const (*p).from, "from")?;
        e.to = state(&raw const (*p).has_to, &raw const (*p).to, "to")?;
        e.reason = read_name((&raw const (*p).reason).read(), "reason", static_reason)?;
        e.severity = read_name(
            (&raw const (*p).severity).read(),
            "severity",
            static_severity,
        )?;
        if read_bool(&raw const (*p).has_category) {
            let raw = read_enum(&raw const (*p).category);
            e.category = Some(CategoryArg(raw).require("event.category")?);
        }
        if read_bool(&raw const (*p).has_duration) {
            e.duration = Some(ms((&raw const (*p).duration_ms).read()));
        }
        if read_bool(&raw const (*p).has_attempt) {
            e.attempt = Some((&raw const (*p).attempt).read());
        }
        if read_bool(&raw const (*p).has_delay) {
            e.delay = Some(ms((&raw const (*p).delay_ms).read()));
        }
        let strategy = (&raw const (*p).strategy).read();
        if !strategy.is_null() {
            let s = CStr::from_ptr(strategy)
                .to_str()
                .map_err(|err| Error::invalid(format!("event.strategy is not UTF-8 ({err})")))?;
            e.strategy = Some(Arc::from(s));
        }
        Ok(e)
    }
}
