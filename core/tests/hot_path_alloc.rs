//! Recording into the metrics (the breaker's call-duration histogram, slow-call and transition
//! counters, the policy's relaxed counters, an SLO's buckets) adds no allocation to the hot
//! path. A counting global allocator counts the allocations this thread makes while calls are
//! guarded; the count must stay at zero.
//!
//! (The allocator needs `unsafe impl GlobalAlloc`; the core itself stays `forbid(unsafe_code)`.)

#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use breakwater_core::breaker::{BreakerConfig, CircuitBreaker, Outcome};
use breakwater_core::metrics::DurationHistogram;
use breakwater_core::policy::{AttemptOutcome, Policy, PolicyParts};
use breakwater_core::retry::{Jitter, RetryConfig, RetryPolicy};
use breakwater_core::slo::{Slo, SloConfig};
use breakwater_core::{Category, Classification, ClockRef, ManualClock};

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations this thread makes while running `f`.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    ON.with(|on| on.set(true));
    f();
    ON.with(|on| on.set(false));
    COUNT.with(|c| c.get())
}

#[test]
fn the_counter_counts() {
    let n = allocations(|| {
        let v: Vec<u64> = Vec::with_capacity(16);
        std::hint::black_box(v);
    });
    assert_eq!(n, 1);
}

#[test]
fn guarded_calls_allocate_nothing() {
    let clock = Arc::new(ManualClock::new());
    let cref = ClockRef::Manual(clock.clone());
    let breaker = Arc::new(
        CircuitBreaker::new(
            "db",
            BreakerConfig {
                failure_threshold: 0,
                failure_rate_threshold: 1.0,
                slow_call_duration: Some(Duration::from_millis(100)),
                ..BreakerConfig::default()
            },
            cref.clone(),
        )
        .unwrap(),
    );
    let retry = RetryPolicy::new(
        RetryConfig {
            max_attempts: 3,
            jitter: Jitter::None,
            ..RetryConfig::default()
        },
        1,
        None,
    )
    .unwrap();
    let policy = Policy::new(
        "db",
        PolicyParts {
            breaker: Some(breaker.clone()),
            retry: Some(Arc::new(retry)),
            ..PolicyParts::default()
        },
    )
    .unwrap();
    let slo = Slo::new("db", SloConfig::default(), cref).unwrap();
    // Durations across every histogram bucket, successes and failures, slow and not.
    let durations_ms = [0u64, 1, 3, 7, 20, 60, 150, 400, 900, 3_000, 20_000, 200_000];

    let n = allocations(|| {
        for round in 0..50 {
            for (i, &ms) in durations_ms.iter().enumerate() {
                let p = breaker
                    .try_acquire()
                    .expect("failure_threshold 0 keeps it closed");
                clock.advance(Duration::from_millis(ms));
                let outcome = if (i + round) % 3 == 0 {
                    Outcome::Failure(Category::Server)
                } else {
                    Outcome::Success
                };
                breaker.record(p, outcome);
                slo.record(matches!(outcome, Outcome::Success));
            }
            // The policy path: a retry, then a success (retry and attempt counters).
            let (mut call, _) = policy.start();
            let server = AttemptOutcome::Failure(Classification::of(Category::Server));
            let _ = policy.on_outcome(&mut call, server);
            let _ = policy.after_sleep(&mut call);
            let _ = policy.on_outcome(&mut call, AttemptOutcome::Success);
        }
    });
    assert_eq!(n, 0, "the hot path allocated {n} times");

    let m = breaker.metrics();
    assert_eq!(m.durations.count(), 50 * durations_ms.len() as u64 + 100);
    assert!(m.slow_calls_total > 0);
    assert_eq!(policy.stats().retries_total, 50);
    assert_eq!(slo.status().total, 50 * durations_ms.len() as u64);
}

#[test]
fn histogram_record_allocates_nothing() {
    let mut h = DurationHistogram::default();
    let n = allocations(|| {
        for i in 0..10_000u64 {
            h.record(i.wrapping_mul(7_919_000_003));
        }
    });
    assert_eq!(n, 0);
    assert_eq!(h.count(), 10_000);
}
