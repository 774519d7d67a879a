//! Stable error codes, the same string in every language (contract section 3).

crate::names::named_enum! {
    /// One code per situation. `as_str` is what Python's `.code`, JS's `err.code` and C's
    /// `bw_result_code_str` return.
    pub enum ErrorCode {
        CircuitOpen => "CIRCUIT_OPEN",
        RateLimited => "RATE_LIMITED",
        BulkheadFull => "BULKHEAD_FULL",
        Timeout => "TIMEOUT",
        RetryExhausted => "RETRY_EXHAUSTED",
        ConfigInvalid => "CONFIG_INVALID",
        NullArgument => "NULL_ARGUMENT",
        InvalidArgument => "INVALID_ARGUMENT",
        Panic => "PANIC",
    }
}
