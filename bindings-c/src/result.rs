//! `bw_result`: what every fallible function returns, with the contract's code strings, and the
//! thread-local details of the last failure.

use std::ffi::{CStr, c_char};

use breakwater_core::ErrorCode;

use crate::ffi::{self, boundary_value};

/// The result of every fallible breakwater function. The numbers are stable and grouped by
/// area, with room to grow in each group: `0` success, `1xx` rejections (a permit was
/// refused), `2xx` the outcome of a guarded call, `3xx` configuration, `4xx` bad arguments from
/// the caller, `9xx` internal. `bw_result_code_str` gives the contract's code string of each.
///
/// Outputs (out-parameters) are written only with `BW_OK`, except the documented
/// `bw_rejection` out-parameter, which is written with `BW_RESULT_CIRCUIT_OPEN`,
/// `BW_RESULT_RATE_LIMITED` and `BW_RESULT_BULKHEAD_FULL` (when it is not NULL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum bw_result {
    /// Success ("OK"). `BW_RESULT_OK` is a synonym.
    BW_OK = 0,
    /// The circuit breaker rejected the call ("CIRCUIT_OPEN").
    BW_RESULT_CIRCUIT_OPEN = 100,
    /// The rate limiter rejected the call ("RATE_LIMITED").
    BW_RESULT_RATE_LIMITED = 101,
    /// The bulkhead is full ("BULKHEAD_FULL").
    BW_RESULT_BULKHEAD_FULL = 102,
    /// The attempt timed out ("TIMEOUT").
    BW_RESULT_TIMEOUT = 200,
    /// Retries ran out ("RETRY_EXHAUSTED").
    BW_RESULT_RETRY_EXHAUSTED = 201,
    /// A config value is out of range, of the wrong type or unknown ("CONFIG_INVALID");
    /// `bw_last_error_key` / `_path` / `_value` / `_allowed` tell which.
    BW_RESULT_CONFIG_INVALID = 300,
    /// A pointer argument was NULL ("NULL_ARGUMENT").
    BW_RESULT_NULL_ARGUMENT = 400,
    /// An argument is invalid: a string that is not UTF-8, an enum value out of range, a
    /// length beyond PTRDIFF_MAX... ("INVALID_ARGUMENT").
    BW_RESULT_INVALID_ARGUMENT = 401,
    /// A caller buffer is too small for the text a function writes ("BUFFER_TOO_SMALL"):
    /// nothing was written to the buffer, and the size needed (NUL included) is in the
    /// function's `out_needed`. A C-only code, like NULL_ARGUMENT.
    BW_RESULT_BUFFER_TOO_SMALL = 402,
    /// A panic inside breakwater was caught at the boundary ("PANIC"). A bug: please report
    /// it with `bw_last_error_message()`.
    BW_RESULT_PANIC = 900,
}

impl bw_result {
    pub const ALL: [bw_result; 11] = [
        bw_result::BW_OK,
        bw_result::BW_RESULT_CIRCUIT_OPEN,
        bw_result::BW_RESULT_RATE_LIMITED,
        bw_result::BW_RESULT_BULKHEAD_FULL,
        bw_result::BW_RESULT_TIMEOUT,
        bw_result::BW_RESULT_RETRY_EXHAUSTED,
        bw_result::BW_RESULT_CONFIG_INVALID,
        bw_result::BW_RESULT_NULL_ARGUMENT,
        bw_result::BW_RESULT_INVALID_ARGUMENT,
        bw_result::BW_RESULT_BUFFER_TOO_SMALL,
        bw_result::BW_RESULT_PANIC,
    ];

    /// The core's error code (None for `BW_OK` and the C-only `BW_RESULT_BUFFER_TOO_SMALL`).
    pub const fn error_code(self) -> Option<ErrorCode> {
        Some(match self {
            bw_result::BW_OK | bw_result::BW_RESULT_BUFFER_TOO_SMALL => return None,
            bw_result::BW_RESULT_CIRCUIT_OPEN => ErrorCode::CircuitOpen,
            bw_result::BW_RESULT_RATE_LIMITED => ErrorCode::RateLimited,
            bw_result::BW_RESULT_BULKHEAD_FULL => ErrorCode::BulkheadFull,
            bw_result::BW_RESULT_TIMEOUT => ErrorCode::Timeout,
            bw_result::BW_RESULT_RETRY_EXHAUSTED => ErrorCode::RetryExhausted,
            bw_result::BW_RESULT_CONFIG_INVALID => ErrorCode::ConfigInvalid,
            bw_result::BW_RESULT_NULL_ARGUMENT => ErrorCode::NullArgument,
            bw_result::BW_RESULT_INVALID_ARGUMENT => ErrorCode::InvalidArgument,
            bw_result::BW_RESULT_PANIC => ErrorCode::Panic,
        })
    }

    /// The contract's code string, NUL-terminated.
    pub const fn code_cstr(self) -> &'static CStr {
        match self {
            bw_result::BW_OK => c"OK",
            bw_result::BW_RESULT_CIRCUIT_OPEN => c"CIRCUIT_OPEN",
            bw_result::BW_RESULT_RATE_LIMITED => c"RATE_LIMITED",
            bw_result::BW_RESULT_BULKHEAD_FULL => c"BULKHEAD_FULL",
            bw_result::BW_RESULT_TIMEOUT => c"TIMEOUT",
            bw_result::BW_RESULT_RETRY_EXHAUSTED => c"RETRY_EXHAUSTED",
            bw_result::BW_RESULT_CONFIG_INVALID => c"CONFIG_INVALID",
            bw_result::BW_RESULT_NULL_ARGUMENT => c"NULL_ARGUMENT",
            bw_result::BW_RESULT_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
            bw_result::BW_RESULT_BUFFER_TOO_SMALL => c"BUFFER_TOO_SMALL",
            bw_result::BW_RESULT_PANIC => c"PANIC",
        }
    }
}

/// A `bw_result` as C passed it: any integer (a C enum may hold values outside its list).
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct ResultArg(pub u32);

/// The contract's code string for `result`: "OK" for `BW_OK`, then "CIRCUIT_OPEN",
/// "RATE_LIMITED", "BULKHEAD_FULL", "TIMEOUT", "RETRY_EXHAUSTED", "CONFIG_INVALID",
/// "NULL_ARGUMENT", "INVALID_ARGUMENT", "BUFFER_TOO_SMALL", "PANIC". NULL for a value that is not a `bw_result`.
/// The string is static (never free it). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_result_code_str(result: ResultArg) -> *const c_char {
    boundary_value("bw_result_code_str", std::ptr::null(), || {
        bw_result::ALL
            .into_iter()
            .find(|r| *r as u32 == result.0)
            .map_or(std::ptr::null(), |r| r.code_cstr().as_ptr())
    })
}

/// A human-readable description of the last failure on the calling thread, naming the
/// function and the argument or config key at fault (for `BW_RESULT_CONFIG_INVALID`: every
/// problem found, as `invalid config: <key> = <value> (allowed: ...)`, joined by "; ").
/// "" before any failure. Calls that return `BW_OK` leave it as it was (like `errno`).
///
/// The string belongs to the thread and stays valid until the next failing breakwater call on
/// the same thread; copy it to keep it. Never NULL. Thread-local, so thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_message() -> *const c_char {
    boundary_value("bw_last_error_message", c"".as_ptr(), ffi::last_message)
}

/// The config key at fault in the last failure on the calling thread, as the caller wrote it
/// and relative to its component's config (a JSON key such as "recovery_timeout_ms",
/// "failureThreshold" or "window.size", or the setter's key for a config built with setters),
/// when that failure was `BW_RESULT_CONFIG_INVALID`; NULL otherwise. Where it is in a whole
/// config document is `bw_last_error_path`. When a config had several problems this is the
/// first one. Valid until the next failing call on the same thread. Thread-local, so
/// thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_key() -> *const c_char {
    boundary_value("bw_last_error_key", std::ptr::null(), || {
        ffi::last_config(0, |c| &c.key)
    })
}

/// Where the key of `bw_last_error_key` is in a whole config document
/// ("circuitBreakers.agentSpecific.architect.failureThreshold"); the same text as
/// `bw_last_error_key` for a config that is not part of a document. NULL when the last failure
/// on this thread was not `BW_RESULT_CONFIG_INVALID`. Same lifetime as `bw_last_error_key`.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_path() -> *const c_char {
    boundary_value("bw_last_error_path", std::ptr::null(), || {
        ffi::last_config(0, |c| &c.path)
    })
}

/// The offending value of `bw_last_error_key`, as the caller wrote it ("0", "\"fast\"", or
/// "(unknown key)" for a key breakwater does not know); NULL when the last failure on this
/// thread was not `BW_RESULT_CONFIG_INVALID`. Same lifetime as `bw_last_error_key`.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_value() -> *const c_char {
    boundary_value("bw_last_error_value", std::ptr::null(), || {
        ffi::last_config(0, |c| &c.value)
    })
}

/// What `bw_last_error_key` would have accepted (e.g. "integer 1..=1000"); NULL when the last
/// failure on this thread was not `BW_RESULT_CONFIG_INVALID`. Same lifetime as
/// `bw_last_error_key`.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_allowed() -> *const c_char {
    boundary_value("bw_last_error_allowed", std::ptr::null(), || {
        ffi::last_config(0, |c| &c.allowed)
    })
}

/// How many config problems the last failure on the calling thread had: 1 or more when it was
/// `BW_RESULT_CONFIG_INVALID` (every problem found, in order), 0 otherwise. Read each with
/// `bw_last_error_key_at` / `_path_at` / `_value_at` / `_allowed_at`. Thread-local, so
/// thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_count() -> usize {
    boundary_value("bw_last_error_count", 0, ffi::last_config_count)
}

/// The config key of problem number `index` (from 0) of the last failure on this thread, as
/// the caller wrote it; NULL when `index` >= `bw_last_error_count()`. Same lifetime as
/// `bw_last_error_key`.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_key_at(index: usize) -> *const c_char {
    boundary_value("bw_last_error_key_at", std::ptr::null(), || {
        ffi::last_config(index, |c| &c.key)
    })
}

/// Where the key of problem number `index` is in a whole config document (the key itself
/// outside one); NULL when `index` >= `bw_last_error_count()`. Same lifetime as
/// `bw_last_error_key`.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_path_at(index: usize) -> *const c_char {
    boundary_value("bw_last_error_path_at", std::ptr::null(), || {
        ffi::last_config(index, |c| &c.path)
    })
}

/// The offending value of problem number `index`, as the caller wrote it; NULL when out of
/// range. Same lifetime as `bw_last_error_key`.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_value_at(index: usize) -> *const c_char {
    boundary_value("bw_last_error_value_at", std::ptr::null(), || {
        ffi::last_config(index, |c| &c.value)
    })
}

/// What the key of problem number `index` would have accepted (with a "did you mean" hint for
/// an unknown key); NULL when out of range. Same lifetime as `bw_last_error_key`.
#[unsafe(no_mangle)]
pub extern "C" fn bw_last_error_allowed_at(index: usize) -> *const c_char {
    boundary_value("bw_last_error_allowed_at", std::ptr::null(), || {
        ffi::last_config(index, |c| &c.allowed)
    })
}

/// The library's version ("0.1.0"), a static NUL-terminated string. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_version() -> *const c_char {
    const V: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"",
        };
    V.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_strings_are_the_core_codes() {
        for r in bw_result::ALL {
            let s = r.code_cstr().to_str().unwrap();
            match r.error_code() {
                None if r == bw_result::BW_OK => assert_eq!(s, "OK"),
                None => assert_eq!(s, "BUFFER_TOO_SMALL"), // C only
                Some(c) => assert_eq!(s, c.as_str()),
            }
        }
        // Every core code, plus OK and the C-only BUFFER_TOO_SMALL.
        assert_eq!(ErrorCode::ALL.len() + 2, bw_result::ALL.len());
    }
}
