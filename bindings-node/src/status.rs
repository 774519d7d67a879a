//! Errors thrown across the boundary carry a breakwater code as their JS `err.code`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use breakwater_core::ErrorCode;

/// The `code` of an error the native layer throws (contract section 3).
#[derive(Debug, Clone, Copy)]
pub struct Code(pub ErrorCode);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

pub type Result<T> = napi::Result<T, Code>;

pub fn error(code: ErrorCode, msg: impl Into<String>) -> napi::Error<Code> {
    napi::Error::new(Code(code), msg.into())
}

/// Runs `f`, turning a panic into an error with code `PANIC` instead of unwinding into Node.
#[inline]
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(error(
                ErrorCode::Panic,
                format!("breakwater panicked: {msg}"),
            ))
        }
    }
}
