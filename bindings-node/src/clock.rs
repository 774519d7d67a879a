//! `ManualClock`: the core's manual clock, shared (one `Arc`) with every breaker built on it.

use std::sync::Arc;
use std::time::Duration;

use breakwater_core::clock::{Clock, MANUAL_CLOCK_EPOCH_MS};
use breakwater_core::{ClockRef, ErrorCode, ManualClock};
use napi_derive::napi;

use crate::status::{Result, error, guard};

/// Milliseconds (a JS number, possibly fractional) to a duration, rejecting what is not one.
pub fn ms_to_duration(what: &str, ms: f64) -> Result<Duration> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(error(
            ErrorCode::InvalidArgument,
            format!("{what} must be a finite number of milliseconds >= 0, got {ms}"),
        ));
    }
    Ok(Duration::from_nanos(
        (ms * 1e6).round().min(u64::MAX as f64) as u64,
    ))
}

pub fn nanos_to_ms(n: u64) -> f64 {
    n as f64 / 1e6
}

/// A clock that moves only when told to. Times are milliseconds.
#[napi]
pub struct NativeManualClock {
    pub(crate) inner: Arc<ManualClock>,
}

#[napi]
impl NativeManualClock {
    /// Starts at monotonic 0; wall time `epochMs` (default 2026-01-01T00:00:00Z).
    #[napi(constructor)]
    pub fn new(epoch_ms: Option<f64>) -> Result<Self> {
        guard(|| {
            let epoch = match epoch_ms {
                None => MANUAL_CLOCK_EPOCH_MS,
                Some(e) => ms_to_duration("epoch", e)?.as_millis() as u64,
            };
            Ok(Self {
                inner: Arc::new(ManualClock::with_epoch_ms(epoch)),
            })
        })
    }

    #[napi]
    pub fn advance(&self, ms: f64) -> Result<()> {
        guard(|| {
            self.inner.advance(ms_to_duration("advance", ms)?);
            Ok(())
        })
    }

    /// Sets monotonic time; `false` (and no change) when it would go backwards.
    #[napi]
    pub fn set(&self, ms: f64) -> Result<bool> {
        guard(|| Ok(self.inner.set(ms_to_duration("set", ms)?)))
    }

    #[napi]
    pub fn now(&self) -> f64 {
        nanos_to_ms(self.inner.now())
    }

    #[napi]
    pub fn wall_ms(&self) -> f64 {
        self.inner.wall_ms() as f64
    }
}

impl NativeManualClock {
    pub fn clock_ref(&self) -> ClockRef {
        ClockRef::Manual(self.inner.clone())
    }
}
