//! The native half of the `breakwater` npm package: thin, synchronous N-API wrappers over
//! `breakwater-core`. Every decision stays in the core; Promises, AbortSignal and error classes
//! live in the JavaScript layer (`lib/*.js`), which calls these methods once or twice per guarded
//! call. Nothing here is public API: the classes are exported with a `Native` prefix and wrapped.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod breaker;
mod classify;
mod clock;
mod degradation;
mod events;
mod fast;
mod health;
mod host;
mod limits;
mod observe;
mod policy;
mod registry;
mod retry;
mod slab;
mod status;
mod waiters;

use breakwater_core::breaker::State;
use breakwater_core::{Category, EventKind};
use napi_derive::napi;

pub use breaker::NativeCircuitBreaker;
pub use clock::NativeManualClock;
pub use degradation::{NativeDegradationManager, NativeResponseCache};
pub use health::{NativeHealthRegistry, NativeMetrics};
pub use limits::{NativeBulkhead, NativeRateLimiter};
pub use observe::{NativeAlertManager, NativeEventLog, NativeSlo};
pub use policy::NativePolicy;
pub use registry::{NativeDocument, NativeRegistry};
pub use retry::{NativeRetry, NativeRetryBudget, NativeRetryCall};

/// The category names in the core's index order (index = the numbers the native calls use).
#[napi]
pub fn category_names() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.as_str()).collect()
}

/// The breaker state names in the core's index order.
#[napi]
pub fn state_names() -> Vec<&'static str> {
    State::ALL.iter().map(|s| s.as_str()).collect()
}

/// The event kinds (snake_case) in the core's index order.
#[napi]
pub fn event_kind_names() -> Vec<&'static str> {
    EventKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// The known key closest to `key`, for "did you mean" hints in config errors.
#[napi]
pub fn did_you_mean(key: String, known: Vec<String>) -> Option<String> {
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    breakwater_core::config::did_you_mean(&key, &known).map(str::to_string)
}
