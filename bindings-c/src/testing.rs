//! Hooks for breakwater's own tests.

use crate::ffi::boundary;
use crate::result::bw_result;

/// FOR TESTS ONLY: panics inside the library, so a test can check that panics are caught at
/// the boundary. Always returns `BW_RESULT_PANIC` (and sets `bw_last_error_message`).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_test_panic() -> bw_result {
    boundary("bw_test_panic", || {
        panic!("bw_test_panic: a deliberate panic, for tests");
    })
}

/// FOR BENCHMARKS ONLY: runs `iterations` of try_acquire + record(success) on `breaker`
/// directly in Rust, with no C boundary per call: the core's own figure, which
/// `bench/bench_breaker.c` times next to the same loop through the C ABI. Thread-safe.
///
/// # Safety
/// `breaker` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bench_core_acquire_record(
    breaker: *const crate::breaker::bw_breaker,
    iterations: u64,
) -> bw_result {
    boundary("bw_bench_core_acquire_record", || {
        // SAFETY: documented requirement on `breaker`.
        let b = unsafe { crate::ffi::arg_ref(breaker, "breaker") }?;
        for _ in 0..iterations {
            if let Ok(p) = b.inner.try_acquire() {
                b.inner
                    .record(std::hint::black_box(p), breakwater_core::Outcome::Success);
            }
        }
        Ok(())
    })
}
