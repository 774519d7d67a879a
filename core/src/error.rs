//! Stable error codes, the same string in every language (contract section 3).

use std::fmt;

/// One code per situation. `as_str` is what Python's `.code`, JS's `err.code` and C's
/// `bw_result_code_str` return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    CircuitOpen,
    RateLimited,
    BulkheadFull,
    Timeout,
    RetryExhausted,
    ConfigInvalid,
    NullArgument,
    InvalidArgument,
    Panic,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::CircuitOpen,
        ErrorCode::RateLimited,
        ErrorCode::BulkheadFull,
        ErrorCode::Timeout,
        ErrorCode::RetryExhausted,
        ErrorCode::ConfigInvalid,
        ErrorCode::NullArgument,
        ErrorCode::InvalidArgument,
        ErrorCode::Panic,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::CircuitOpen => "CIRCUIT_OPEN",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::BulkheadFull => "BULKHEAD_FULL",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::RetryExhausted => "RETRY_EXHAUSTED",
            ErrorCode::ConfigInvalid => "CONFIG_INVALID",
            ErrorCode::NullArgument => "NULL_ARGUMENT",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::Panic => "PANIC",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
