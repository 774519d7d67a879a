//! breakwater for C: `libbreakwater` (static and shared) and `include/breakwater.h`.
//!
//! Conventions (see `bindings-c/README.md`): every name starts with `bw_`; long-lived objects
//! are opaque handles made by `_new` and destroyed exactly once by `_free` (which accepts
//! NULL); per-call values (`bw_permit`, `bw_rejection`, `bw_snapshot`) are plain structs
//! written through out-parameters, so the hot path allocates nothing; every fallible function
//! returns `bw_result` and writes its outputs only on `BW_OK` (except the documented
//! `bw_rejection`); every pointer is checked for NULL and every function catches panics
//! (`BW_RESULT_PANIC`); strings are pointer + length and must be UTF-8. Durations are
//! milliseconds as `uint64_t`.
//!
//! Every exported function runs through the boundary helpers in `ffi.rs`.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // each exported fn has a `# Safety` section in its docs

// In header order (cbindgen follows the declarations): results, enums, text and lists, clock,
// events, breaker, classification, retry, limits, policy, registry, documents, config read-back,
// cache, degradation, health, SLOs, alerts and the event log, Prometheus text, test hooks.
mod result;

mod types;

mod text;

mod clock;

mod events;

mod breaker;

mod classify;

mod retry;

mod limits;

mod policy;

mod registry;

mod document;

mod configs;

mod cache;

mod degradation;

mod health;

mod slo;

mod alerts;

mod metrics;

mod testing;

mod ffi;

pub use alerts::*;
pub use breaker::*;
pub use cache::*;
pub use classify::*;
pub use clock::*;
pub use configs::*;
pub use degradation::*;
pub use document::*;
pub use events::*;
pub use health::*;
pub use limits::*;
pub use metrics::*;
pub use policy::*;
pub use registry::*;
pub use result::*;
pub use retry::*;
pub use slo::*;
pub use testing::*;
pub use text::*;
pub use types::*;

#[cfg(all(test, feature = "header"))]
mod header_check;

#[cfg(test)]
mod tests {
    /// `breakwater.pc` announces the crate's version.
    #[test]
    fn pkg_config_version_matches_the_crate() {
        let pc = include_str!("../breakwater.pc");
        let version = pc
            .lines()
            .find_map(|l| l.strip_prefix("Version: "))
            .expect("a Version line");
        assert_eq!(version.trim(), env!("CARGO_PKG_VERSION"));
    }
}
