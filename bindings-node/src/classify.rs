//! Classification glue: the JS layer extracts facts from an error (status, code strings, a few
//! flags, Retry-After header text) and the core classifies them (contract section 4), so Node
//! classifies an error exactly as Python and C do.

use breakwater_core::classify::{ErrorFacts, classify, parse_retry_after, parse_retry_after_ms};
use napi_derive::napi;

/// Flag bits of `classifyFacts`.
pub const TIMEOUT: u32 = 1;
pub const CONNECTION_REFUSED: u32 = 2;
pub const CANCELLED: u32 = 4;
pub const ABORT_REASON_TIMEOUT: u32 = 8;

/// The category index (see `categoryNames()`) of an error's facts; bit 8 is set when the
/// request was never sent. `flags`: 1 timeout, 2 connection refused, 4 cancelled, 8 the
/// abort's reason is a timeout.
#[napi]
pub fn classify_facts(status: Option<f64>, codes: Vec<String>, flags: u32) -> u32 {
    let status = status
        .filter(|s| s.fract() == 0.0 && (0.0..=65535.0).contains(s))
        .map(|s| s as u16);
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let c = classify(&ErrorFacts {
        user_category: None,
        http_status: status,
        codes: &codes,
        timeout: flags & TIMEOUT != 0,
        connection_refused: flags & CONNECTION_REFUSED != 0,
        cancelled: flags & CANCELLED != 0,
        abort_reason_timeout: flags & ABORT_REASON_TIMEOUT != 0,
        retry_after: None,
    });
    c.category as u32 | (u32::from(c.not_sent) << 8)
}

/// A `Retry-After` header (seconds or an HTTP-date, read against `nowWallMs`) in ms; `null`
/// when unparsable.
#[napi]
pub fn parse_retry_after_header(value: String, now_wall_ms: f64) -> Option<f64> {
    parse_retry_after(&value, now_wall_ms.max(0.0) as u64).map(|d| d.as_secs_f64() * 1000.0)
}

/// A `retry-after-ms` header in ms; `null` when unparsable.
#[napi]
pub fn parse_retry_after_ms_header(value: String) -> Option<f64> {
    parse_retry_after_ms(&value).map(|d| d.as_secs_f64() * 1000.0)
}
