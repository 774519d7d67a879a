//! `bw.ManualClock`: time that moves only when told to, shared with every object it is given to
//! (the breakers read the same core `ManualClock` through `ClockRef::Manual`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use breakwater_core::clock::MANUAL_CLOCK_EPOCH_MS;
use breakwater_core::{Clock, ClockRef, ManualClock, SystemClock};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::config::{as_number, secs_to_duration};

/// The system clock of every object made without a ManualClock: one origin for all of them
/// (each `ClockRef::system()` starts its own, so readings taken through two of them do not
/// compare).
pub fn system() -> ClockRef {
    static SYSTEM: OnceLock<SystemClock> = OnceLock::new();
    ClockRef::System(*SYSTEM.get_or_init(SystemClock::new))
}

fn to_duration(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    as_number(v).and_then(secs_to_duration).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{what} must be a finite number of seconds >= 0, got {}",
            v.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })
}

/// A clock for tests and simulations. `now()` is monotonic seconds since the clock's origin;
/// its wall time is `epoch` (seconds since the Unix epoch, default 2026-01-01T00:00:00Z) plus
/// `now()`.
#[pyclass(frozen, module = "breakwater", name = "ManualClock")]
pub struct PyManualClock {
    pub inner: Arc<ManualClock>,
}

#[pymethods]
impl PyManualClock {
    #[new]
    #[pyo3(signature = (start = 0.0, *, epoch = None))]
    fn new(start: f64, epoch: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let epoch_ms = match epoch {
            None => MANUAL_CLOCK_EPOCH_MS,
            Some(e) => to_duration(e, "epoch")?.as_millis() as u64,
        };
        let clock = ManualClock::with_epoch_ms(epoch_ms);
        let start = secs_to_duration(start).ok_or_else(|| {
            PyValueError::new_err(format!(
                "start must be a finite number of seconds >= 0, got {start}"
            ))
        })?;
        clock.advance(start);
        Ok(Self {
            inner: Arc::new(clock),
        })
    }

    /// Moves time forward by `seconds`.
    #[pyo3(signature = (seconds))]
    fn advance(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.advance(to_duration(seconds, "advance")?);
        Ok(())
    }

    /// Sets the time to `seconds` since the origin. Time never goes backwards: an earlier time
    /// is ignored and False returned.
    #[pyo3(signature = (seconds))]
    fn set(&self, seconds: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.inner.set(to_duration(seconds, "set")?))
    }

    /// Monotonic seconds since the clock's origin.
    fn now(&self) -> f64 {
        self.inner.now() as f64 / 1e9
    }

    /// Wall time in ms since the Unix epoch (what events carry as `at`).
    fn wall_ms(&self) -> u64 {
        self.inner.wall_ms()
    }

    /// Sleeping on a ManualClock advances it by `seconds` and returns at once.
    #[pyo3(signature = (seconds))]
    fn sleep(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        self.advance(seconds)
    }

    fn __repr__(&self) -> String {
        format!("ManualClock(now={})", crate::fmt_secs(self.now()))
    }
}
