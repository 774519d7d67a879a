//! Classification (contract section 4): the caller extracts facts from its error, the core maps
//! them to a category (and reads a Retry-After header), so C classifies like every language.

#![allow(non_camel_case_types)]

use std::ffi::c_char;

use breakwater_core::classify::{ErrorFacts, classify, parse_retry_after, parse_retry_after_ms};
use breakwater_core::{Category, Classification};

use crate::breaker::clock_of;
use crate::clock::bw_manual_clock;
use crate::ffi::{self, Out, boundary};
use crate::result::bw_result;
use crate::types::{CategoryArg, category_to_c, floor_ms, ms};

/// A string as pointer + length (UTF-8, not necessarily NUL-terminated). `ptr` NULL means
/// "absent" where a field says so.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_str {
    pub ptr: *const c_char,
    pub len: usize,
}

/// What the caller could extract from one failed call, for `bw_classify`. Zero-initialise it
/// (`bw_error_facts facts = {0};`) and fill in what you know; everything is optional.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_error_facts {
    /// Your own classifier's answer; wins over everything else.
    pub has_user_category: bool,
    pub user_category: CategoryArg,
    /// An HTTP status (408, 429, 5xx...); statuses below 400 are not failures.
    pub has_http_status: bool,
    pub http_status: u16,
    /// Error code strings, most specific first: errno names ("ECONNREFUSED"), SQLSTATEs
    /// ("08006"), driver codes ("SQLITE_BUSY"). `codes` may be NULL when `codes_len` is 0.
    pub codes: *const bw_str,
    pub codes_len: usize,
    /// Your own timeout fired (or the error says it was a timeout).
    pub timeout: bool,
    /// The connection was refused or the name did not resolve: the request was never sent.
    pub connection_refused: bool,
    /// The call was cancelled.
    pub cancelled: bool,
    /// The cancellation's reason is a timeout.
    pub abort_reason_timeout: bool,
    /// A `Retry-After` header value: seconds (integer or decimal) or an HTTP-date, read
    /// against the clock's wall time. `ptr` NULL when absent; unparsable means none.
    pub retry_after: bw_str,
    /// A `retry-after-ms` header value (milliseconds); wins over `retry_after`. `ptr` NULL when
    /// absent.
    pub retry_after_ms: bw_str,
}

/// A classified failure: what `bw_classify` writes, and what `bw_retry_decide` and
/// `bw_policy_record` take. You may also fill one in yourself (`bw_failure f = {0};
/// f.category = BW_CATEGORY_SERVER;`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_failure {
    pub category: CategoryArg,
    /// The request never reached the server, so retrying is safe even when not idempotent.
    pub not_sent: bool,
    /// A server-provided wait (Retry-After), whole ms rounded down.
    pub has_retry_after: bool,
    pub retry_after_ms: u64,
}

impl bw_failure {
    pub(crate) fn to_core(self, arg: &'static str) -> ffi::Result<Classification> {
        Ok(Classification {
            category: self.category.require(arg)?,
            not_sent: self.not_sent,
            retry_after: self.has_retry_after.then(|| ms(self.retry_after_ms)),
        })
    }

    pub(crate) fn from_core(c: &Classification) -> Self {
        bw_failure {
            category: CategoryArg(category_to_c(c.category) as u32),
            not_sent: c.not_sent,
            has_retry_after: c.retry_after.is_some(),
            retry_after_ms: c.retry_after.map_or(0, floor_ms),
        }
    }
}

/// Optional text: a NULL pointer is "absent".
///
/// # Safety
/// `s.ptr` is NULL or points to `s.len` readable bytes.
unsafe fn opt_str<'a>(s: bw_str, arg: &'static str) -> ffi::Result<Option<&'a str>> {
    if s.ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { ffi::arg_str(s.ptr, s.len, arg) }.map(Some)
    }
}

/// Classifies one failure from its facts (contract section 4): the user's category, then a
/// cancellation, the HTTP status, the refused / timeout flags, then the first recognised code;
/// otherwise `BW_CATEGORY_UNKNOWN`. Reads a Retry-After header against `clock`'s wall time (a
/// `bw_manual_clock`, or NULL for the system clock). Writes the result to `*out`.
/// `BW_RESULT_INVALID_ARGUMENT` for a string that is not UTF-8 or a category out of range.
/// Thread-safe.
///
/// # Safety
/// `facts` is NULL or readable, and every string in it points to its `len` readable bytes;
/// `clock` is NULL or a live clock; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_classify(
    facts: *const bw_error_facts,
    clock: *const bw_manual_clock,
    out: *mut bw_failure,
) -> bw_result {
    boundary("bw_classify", || {
        // SAFETY: documented requirements on the arguments.
        let f = unsafe { ffi::arg_ref(facts, "facts") }?;
        let out = Out::new(out, "out")?;
        let user_category: Option<Category> = if f.has_user_category {
            Some(f.user_category.require("facts.user_category")?)
        } else {
            None
        };
        // SAFETY: as above.
        let raw = unsafe { ffi::arg_slice(f.codes, f.codes_len, "facts.codes") }?;
        let mut codes = Vec::with_capacity(raw.len());
        for s in raw {
            // SAFETY: as above.
            codes.push(unsafe { ffi::arg_str(s.ptr, s.len, "facts.codes") }?);
        }
        // SAFETY: as above.
        let ra = unsafe { opt_str(f.retry_after, "facts.retry_after") }?;
        // SAFETY: as above.
        let ra_ms = unsafe { opt_str(f.retry_after_ms, "facts.retry_after_ms") }?;
        let retry_after = match (ra, ra_ms) {
            (_, Some(v)) => parse_retry_after_ms(v),
            (Some(v), None) => parse_retry_after(v, clock_of(clock).wall_ms()),
            (None, None) => None,
        };
        let c = classify(&ErrorFacts {
            user_category,
            http_status: f.has_http_status.then_some(f.http_status),
            codes: &codes,
            timeout: f.timeout,
            connection_refused: f.connection_refused,
            cancelled: f.cancelled,
            abort_reason_timeout: f.abort_reason_timeout,
            retry_after,
        });
        out.write(bw_failure::from_core(&c));
        Ok(())
    })
}
