//! `bw_manual_clock`: time that moves only when told to, for tests (contract section 7).

use std::sync::Arc;
use std::time::Duration;

use breakwater_core::ManualClock;
use breakwater_core::clock::{Clock, nanos_to_ms};

use crate::ffi::{self, Error, Out, boundary, boundary_value};
use crate::result::bw_result;

/// A manual clock: monotonic time starts at 0 ms and moves only with
/// `bw_manual_clock_advance_ms` / `bw_manual_clock_set_ms`; its wall time (event stamps) is
/// a fixed epoch (2026-01-01T00:00:00Z unless given) plus its monotonic time. Pass it to
/// `bw_breaker_new` to drive a breaker's time in tests.
///
/// Made by `bw_manual_clock_new`, destroyed by `bw_manual_clock_free`. Objects made with it
/// keep their own reference, so it may be freed before them. Thread-safe: one clock may be
/// read and advanced from any number of threads at once.
pub struct bw_manual_clock {
    pub(crate) inner: Arc<ManualClock>,
}

/// A new manual clock at monotonic 0 ms, wall time 2026-01-01T00:00:00Z
/// (1767225600000 ms since the Unix epoch). Free it with `bw_manual_clock_free`. Returns
/// NULL only if breakwater panicked (see `bw_last_error_message`). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_manual_clock_new() -> *mut bw_manual_clock {
    boundary_value("bw_manual_clock_new", std::ptr::null_mut(), || {
        ffi::into_handle(bw_manual_clock {
            inner: Arc::new(ManualClock::new()),
        })
    })
}

/// A new manual clock at monotonic 0 ms whose wall time starts at `epoch_ms` (ms since the
/// Unix epoch). Free it with `bw_manual_clock_free`. NULL only on a panic. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_manual_clock_new_with_epoch_ms(epoch_ms: u64) -> *mut bw_manual_clock {
    boundary_value(
        "bw_manual_clock_new_with_epoch_ms",
        std::ptr::null_mut(),
        || {
            ffi::into_handle(bw_manual_clock {
                inner: Arc::new(ManualClock::with_epoch_ms(epoch_ms)),
            })
        },
    )
}

/// Moves the clock forward by `ms` milliseconds (saturating at the largest time). Thread-safe:
/// concurrent advances add up.
///
/// # Safety
/// `clock` is NULL or a live handle from `bw_manual_clock_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_manual_clock_advance_ms(
    clock: *const bw_manual_clock,
    ms: u64,
) -> bw_result {
    boundary("bw_manual_clock_advance_ms", || {
        // SAFETY: documented requirement on `clock`.
        let c = unsafe { ffi::arg_ref(clock, "clock") }?;
        c.inner.advance(Duration::from_millis(ms));
        Ok(())
    })
}

/// Sets the clock to `ms` milliseconds since its origin. Time never goes backwards: an `ms`
/// earlier than now is `BW_RESULT_INVALID_ARGUMENT` and the clock is unchanged; setting the
/// current time is `BW_OK`. Thread-safe.
///
/// # Safety
/// `clock` is NULL or a live handle from `bw_manual_clock_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_manual_clock_set_ms(
    clock: *const bw_manual_clock,
    ms: u64,
) -> bw_result {
    boundary("bw_manual_clock_set_ms", || {
        // SAFETY: documented requirement on `clock`.
        let c = unsafe { ffi::arg_ref(clock, "clock") }?;
        if c.inner.set(Duration::from_millis(ms)) {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "time never goes backwards: {ms} ms is before now ({} ms)",
                nanos_to_ms(c.inner.now())
            )))
        }
    })
}

/// Writes the clock's monotonic time in whole milliseconds since its origin (floor) to
/// `*out_ms`. Thread-safe.
///
/// # Safety
/// `clock` is NULL or a live handle; `out_ms` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_manual_clock_now_ms(
    clock: *const bw_manual_clock,
    out_ms: *mut u64,
) -> bw_result {
    boundary("bw_manual_clock_now_ms", || {
        // SAFETY: documented requirement on `clock`.
        let c = unsafe { ffi::arg_ref(clock, "clock") }?;
        let out = Out::new(out_ms, "out_ms")?;
        out.write(nanos_to_ms(c.inner.now()));
        Ok(())
    })
}

/// Writes the clock's wall time (ms since the Unix epoch: the epoch plus monotonic time) to
/// `*out_ms`. Thread-safe.
///
/// # Safety
/// `clock` is NULL or a live handle; `out_ms` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_manual_clock_wall_ms(
    clock: *const bw_manual_clock,
    out_ms: *mut u64,
) -> bw_result {
    boundary("bw_manual_clock_wall_ms", || {
        // SAFETY: documented requirement on `clock`.
        let c = unsafe { ffi::arg_ref(clock, "clock") }?;
        let out = Out::new(out_ms, "out_ms")?;
        out.write(c.inner.wall_ms());
        Ok(())
    })
}

/// Destroys a clock handle; NULL is a no-op. Objects made with the clock keep using it. Free
/// each handle exactly once, when no other thread is using this handle.
///
/// # Safety
/// `clock` is NULL or a live handle from `bw_manual_clock_new`, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_manual_clock_free(clock: *mut bw_manual_clock) {
    // SAFETY: documented requirement on `clock`.
    unsafe { ffi::free_handle("bw_manual_clock_free", clock) }
}
