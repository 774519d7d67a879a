//! The enums C sees (states, categories, outcomes, event kinds), their names, and parsing of
//! names. Enum arguments arrive as raw integers ([`StateArg`]...) because C may pass any value
//! in an enum; an out-of-range value is `BW_RESULT_INVALID_ARGUMENT`, never undefined
//! behaviour. The header shows them with their enum types.

#![allow(non_camel_case_types)]

use std::ffi::{CStr, c_char};
use std::time::Duration;

use breakwater_core::{Category, CategorySet, EventKind, State};

use crate::ffi::{self, Error, Out, boundary, boundary_value};
use crate::result::bw_result;

/// A circuit breaker's state (contract section 2). `bw_state_name` gives its name.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_state {
    /// "closed": normal operation.
    BW_STATE_CLOSED = 0,
    /// "open": rejecting until the open period ends.
    BW_STATE_OPEN = 1,
    /// "half_open": letting probes through.
    BW_STATE_HALF_OPEN = 2,
    /// "forced_open": rejecting everything until another manual state is chosen.
    BW_STATE_FORCED_OPEN = 3,
    /// "disabled": admitting everything, recording nothing.
    BW_STATE_DISABLED = 4,
    /// "metrics_only": admitting everything, recording, never tripping.
    BW_STATE_METRICS_ONLY = 5,
}

/// A failure category (contract section 4). `bw_category_name` gives its name.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_category {
    /// "network"
    BW_CATEGORY_NETWORK = 0,
    /// "timeout"
    BW_CATEGORY_TIMEOUT = 1,
    /// "rate_limited"
    BW_CATEGORY_RATE_LIMITED = 2,
    /// "server"
    BW_CATEGORY_SERVER = 3,
    /// "database"
    BW_CATEGORY_DATABASE = 4,
    /// "external_api"
    BW_CATEGORY_EXTERNAL_API = 5,
    /// "auth"
    BW_CATEGORY_AUTH = 6,
    /// "client" (ignored by breakers by default)
    BW_CATEGORY_CLIENT = 7,
    /// "cancelled" (ignored by breakers by default)
    BW_CATEGORY_CANCELLED = 8,
    /// "unknown"
    BW_CATEGORY_UNKNOWN = 9,
}

/// How a guarded call ended, as the caller classified it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_outcome {
    /// The call succeeded (the category argument is checked but not used).
    BW_OUTCOME_SUCCESS = 0,
    /// The call failed with the given category. A category the breaker ignores (client and
    /// cancelled by default) makes it an ignored outcome.
    BW_OUTCOME_FAILURE = 1,
    /// The call counts as neither success nor failure (e.g. the caller's own mistake).
    BW_OUTCOME_IGNORED = 2,
}

/// Event kinds (contract section 5). `bw_event_kind_name` gives the snake_case name.
/// `BW_EVENT_KIND_ALL` is not a kind: it subscribes to every kind in `bw_breaker_on`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_event_kind {
    /// "state_change": `from`, `to`, `reason` are set.
    BW_EVENT_KIND_STATE_CHANGE = 0,
    /// "call_rejected"
    BW_EVENT_KIND_CALL_REJECTED = 1,
    /// "success": `duration_ms` is set.
    BW_EVENT_KIND_SUCCESS = 2,
    /// "failure": `category`, `duration_ms` are set.
    BW_EVENT_KIND_FAILURE = 3,
    /// "slow_call": `duration_ms` is set.
    BW_EVENT_KIND_SLOW_CALL = 4,
    /// "ignored": `category`, `duration_ms` are set.
    BW_EVENT_KIND_IGNORED = 5,
    /// "retry"
    BW_EVENT_KIND_RETRY = 6,
    /// "give_up"
    BW_EVENT_KIND_GIVE_UP = 7,
    /// "fallback"
    BW_EVENT_KIND_FALLBACK = 8,
    /// "degradation_triggered"
    BW_EVENT_KIND_DEGRADATION_TRIGGERED = 9,
    /// "degradation_recovered"
    BW_EVENT_KIND_DEGRADATION_RECOVERED = 10,
    /// "health_changed"
    BW_EVENT_KIND_HEALTH_CHANGED = 11,
    /// "alert"
    BW_EVENT_KIND_ALERT = 12,
    /// Every kind (only as the `kind` argument of `bw_breaker_on`).
    BW_EVENT_KIND_ALL = 255,
}

/// A `bw_state` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct StateArg(pub u32);
/// A `bw_category` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct CategoryArg(pub u32);
/// A `bw_outcome` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct OutcomeArg(pub u32);
/// A `bw_event_kind` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct EventKindArg(pub u32);

pub(crate) fn state_to_c(s: State) -> bw_state {
    match s {
        State::Closed => bw_state::BW_STATE_CLOSED,
        State::Open => bw_state::BW_STATE_OPEN,
        State::HalfOpen => bw_state::BW_STATE_HALF_OPEN,
        State::ForcedOpen => bw_state::BW_STATE_FORCED_OPEN,
        State::Disabled => bw_state::BW_STATE_DISABLED,
        State::MetricsOnly => bw_state::BW_STATE_METRICS_ONLY,
    }
}

pub(crate) fn category_to_c(c: Category) -> bw_category {
    use bw_category::*;
    match c {
        Category::Network => BW_CATEGORY_NETWORK,
        Category::Timeout => BW_CATEGORY_TIMEOUT,
        Category::RateLimited => BW_CATEGORY_RATE_LIMITED,
        Category::Server => BW_CATEGORY_SERVER,
        Category::Database => BW_CATEGORY_DATABASE,
        Category::ExternalApi => BW_CATEGORY_EXTERNAL_API,
        Category::Auth => BW_CATEGORY_AUTH,
        Category::Client => BW_CATEGORY_CLIENT,
        Category::Cancelled => BW_CATEGORY_CANCELLED,
        Category::Unknown => BW_CATEGORY_UNKNOWN,
    }
}

pub(crate) fn event_kind_to_c(k: EventKind) -> bw_event_kind {
    use bw_event_kind::*;
    match k {
        EventKind::StateChange => BW_EVENT_KIND_STATE_CHANGE,
        EventKind::CallRejected => BW_EVENT_KIND_CALL_REJECTED,
        EventKind::Success => BW_EVENT_KIND_SUCCESS,
        EventKind::Failure => BW_EVENT_KIND_FAILURE,
        EventKind::SlowCall => BW_EVENT_KIND_SLOW_CALL,
        EventKind::Ignored => BW_EVENT_KIND_IGNORED,
        EventKind::Retry => BW_EVENT_KIND_RETRY,
        EventKind::GiveUp => BW_EVENT_KIND_GIVE_UP,
        EventKind::Fallback => BW_EVENT_KIND_FALLBACK,
        EventKind::DegradationTriggered => BW_EVENT_KIND_DEGRADATION_TRIGGERED,
        EventKind::DegradationRecovered => BW_EVENT_KIND_DEGRADATION_RECOVERED,
        EventKind::HealthChanged => BW_EVENT_KIND_HEALTH_CHANGED,
        EventKind::Alert => BW_EVENT_KIND_ALERT,
    }
}

impl CategoryArg {
    pub(crate) fn get(self) -> Option<Category> {
        u8::try_from(self.0).ok().and_then(Category::from_index)
    }

    pub(crate) fn require(self, arg: &'static str) -> ffi::Result<Category> {
        self.get().ok_or_else(|| {
            Error::invalid(format!(
                "argument `{arg}`: {} is not a bw_category (0..=9)",
                self.0
            ))
        })
    }
}

/// A set of categories from a C list; any value out of range is `INVALID_ARGUMENT`.
pub(crate) fn category_set(list: &[CategoryArg], arg: &'static str) -> ffi::Result<CategorySet> {
    let mut set = CategorySet::EMPTY;
    for a in list {
        set.insert(a.require(arg)?);
    }
    Ok(set)
}

impl EventKindArg {
    /// `Ok(None)` for `BW_EVENT_KIND_ALL`.
    pub(crate) fn get(self) -> Option<Option<EventKind>> {
        if self.0 == bw_event_kind::BW_EVENT_KIND_ALL as u32 {
            Some(None)
        } else {
            EventKind::ALL.get(self.0 as usize).copied().map(Some)
        }
    }
}

/// A duration from C's milliseconds.
pub(crate) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Whole ms, rounded up (a wait of this long always suffices).
pub(crate) fn ceil_ms(d: Duration) -> u64 {
    let n = d.as_nanos();
    u64::try_from(n.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// Whole ms, rounded down.
pub(crate) fn floor_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// NUL-terminated static names, index-aligned with the core's `ALL` arrays.
const STATE_NAMES: [&CStr; 6] = [
    c"closed",
    c"open",
    c"half_open",
    c"forced_open",
    c"disabled",
    c"metrics_only",
];
const CATEGORY_NAMES: [&CStr; 10] = [
    c"network",
    c"timeout",
    c"rate_limited",
    c"server",
    c"database",
    c"external_api",
    c"auth",
    c"client",
    c"cancelled",
    c"unknown",
];
const EVENT_KIND_NAMES: [&CStr; 13] = [
    c"state_change",
    c"call_rejected",
    c"success",
    c"failure",
    c"slow_call",
    c"ignored",
    c"retry",
    c"give_up",
    c"fallback",
    c"degradation_triggered",
    c"degradation_recovered",
    c"health_changed",
    c"alert",
];

pub(crate) fn name_of(names: &[&'static CStr], i: u32) -> *const c_char {
    names
        .get(i as usize)
        .map_or(std::ptr::null(), |n| n.as_ptr())
}

/// The index of `name` in `names`, or `INVALID_ARGUMENT`.
///
/// # Safety
/// `name` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn lookup(
    names: &[&'static CStr],
    what: &'static str,
    name: *const c_char,
    len: usize,
) -> ffi::Result<usize> {
    // SAFETY: forwarded from the caller.
    let s = unsafe { ffi::arg_str(name, len, "name") }?;
    names
        .iter()
        .position(|n| n.to_bytes() == s.as_bytes())
        .ok_or_else(|| Error::invalid(format!("\"{s}\" is not a {what} name")))
}

/// The name of a state ("closed", "open", "half_open", "forced_open", "disabled",
/// "metrics_only"); NULL for a value that is not a `bw_state`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_state_name(state: StateArg) -> *const c_char {
    boundary_value("bw_state_name", std::ptr::null(), || {
        name_of(&STATE_NAMES, state.0)
    })
}

/// The name of a category ("network", "timeout", "rate_limited", "server", "database",
/// "external_api", "auth", "client", "cancelled", "unknown"); NULL for a value that is not a
/// `bw_category`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_category_name(category: CategoryArg) -> *const c_char {
    boundary_value("bw_category_name", std::ptr::null(), || {
        name_of(&CATEGORY_NAMES, category.0)
    })
}

/// The snake_case name of an event kind ("state_change", "call_rejected", ...); NULL for
/// `BW_EVENT_KIND_ALL` or a value that is not a `bw_event_kind`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_event_kind_name(kind: EventKindArg) -> *const c_char {
    boundary_value("bw_event_kind_name", std::ptr::null(), || {
        name_of(&EVENT_KIND_NAMES, kind.0)
    })
}

/// Parses a state name (`name`: `len` bytes, UTF-8, not necessarily NUL-terminated) into
/// `*out`. `BW_RESULT_INVALID_ARGUMENT` for an unknown name or invalid UTF-8,
/// `BW_RESULT_NULL_ARGUMENT` for a NULL pointer. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` to a writable `bw_state`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_state_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_state,
) -> bw_result {
    boundary("bw_state_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller passes `len` readable bytes (documented).
        let i = unsafe { lookup(&STATE_NAMES, "state", name, len) }?;
        out.write(state_to_c(State::ALL[i]));
        Ok(())
    })
}

/// Parses a category name into `*out`, like `bw_state_from_name`. Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` to a writable `bw_category`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_category_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_category,
) -> bw_result {
    boundary("bw_category_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller passes `len` readable bytes (documented).
        let i = unsafe { lookup(&CATEGORY_NAMES, "category", name, len) }?;
        out.write(category_to_c(Category::ALL[i]));
        Ok(())
    })
}

/// Parses an event kind name (snake_case) into `*out`, like `bw_state_from_name`.
/// Thread-safe.
///
/// # Safety
/// `name` points to `len` readable bytes; `out` to a writable `bw_event_kind`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_event_kind_from_name(
    name: *const c_char,
    len: usize,
    out: *mut bw_event_kind,
) -> bw_result {
    boundary("bw_event_kind_from_name", || {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller passes `len` readable bytes (documented).
        let i = unsafe { lookup(&EVENT_KIND_NAMES, "event kind", name, len) }?;
        out.write(event_kind_to_c(EventKind::ALL[i]));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_core() {
        for (i, s) in State::ALL.iter().enumerate() {
            assert_eq!(STATE_NAMES[i].to_str().unwrap(), s.as_str());
            assert_eq!(state_to_c(*s) as usize, i);
        }
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(CATEGORY_NAMES[i].to_str().unwrap(), c.as_str());
            assert_eq!(category_to_c(*c) as usize, i);
        }
        for (i, k) in EventKind::ALL.iter().enumerate() {
            assert_eq!(EVENT_KIND_NAMES[i].to_str().unwrap(), k.as_str());
            assert_eq!(event_kind_to_c(*k) as usize, i);
        }
    }
}
