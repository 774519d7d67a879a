//! Events for C: `bw_event`, the callback type, and subscription helpers shared by every
//! component that emits events (breaker, policy).

#![allow(non_camel_case_types)]

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use breakwater_core::event::Listener;
use breakwater_core::{Category, Event, EventKind, ListenerId, State};

use crate::ffi::{self, Error, OptOut};
use crate::types::{
    EventKindArg, bw_category, bw_event_kind, bw_state, category_to_c, event_kind_to_c, floor_ms,
    state_to_c,
};

/// One event, handed to a `bw_event_callback`. Everything it points to is valid only during
/// the callback: copy what you keep. Fields a kind does not have are zero / NULL with their
/// `has_` flag false.
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

impl CListener {
    fn deliver(&self, e: &Event) {
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
        // SAFETY: the caller of `bw_breaker_on` provided a valid callback; `ev` and the
        // strings it points to live until it returns.
        unsafe { (self.callback)(self.userdata, &ev) }
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
