//! Drives one circuit breaker through a simulated outage of an LLM API and its recovery, on a
//! ManualClock (so a two-minute story runs in milliseconds), and prints what happened.
//!
//! Run: `make demo` (or `cargo run -p breakwater-examples --bin outage-demo`).

use std::sync::Arc;
use std::time::Duration;

use breakwater_core::{
    BreakerConfig, Category, CircuitBreaker, Clock, ClockRef, Event, EventKind, ManualClock,
    Outcome, WindowConfig,
};

/// The simulated upstream: healthy, then down from 20 s to 75 s, then healthy again.
fn upstream_fails(t: Duration) -> bool {
    (20..75).contains(&t.as_secs())
}

fn main() {
    let clock = Arc::new(ManualClock::new());
    let config = BreakerConfig {
        failure_threshold: 5,
        minimum_calls: 10,
        window: WindowConfig::Count { size: 20 },
        recovery_timeout: Duration::from_secs(10),
        success_threshold: 2,
        ..BreakerConfig::default()
    };
    let breaker = CircuitBreaker::new("openai", config, ClockRef::Manual(clock.clone()))
        .expect("valid config");

    let start = clock.wall_ms();
    breaker.subscribe(
        Some(EventKind::StateChange),
        Arc::new(move |e: &Event| {
            println!(
                "  t={:>6.1}s  {} -> {}  ({})",
                (e.at_ms - start) as f64 / 1000.0,
                e.from.unwrap(),
                e.to.unwrap(),
                e.reason.unwrap_or("")
            );
        }),
    );

    println!("breakwater outage demo: one call every 250 ms for 120 s; upstream down 20 s..75 s\n");
    println!("state changes:");
    let (mut ok, mut failed, mut rejected) = (0u32, 0u32, 0u32);
    let step = Duration::from_millis(250);
    while clock.elapsed() < Duration::from_secs(120) {
        match breaker.try_acquire() {
            Ok(permit) => {
                clock.advance(Duration::from_millis(40)); // the call takes 40 ms
                if upstream_fails(clock.elapsed()) {
                    failed += 1;
                    breaker.record(permit, Outcome::Failure(Category::Server));
                } else {
                    ok += 1;
                    breaker.record(permit, Outcome::Success);
                }
                clock.advance(step - Duration::from_millis(40));
            }
            Err(rejection) => {
                rejected += 1;
                clock.advance(step);
                let _ = rejection.retry_after;
            }
        }
    }

    let s = breaker.snapshot();
    println!("\ncalls that reached the upstream: {ok} succeeded, {failed} failed");
    println!("calls rejected fast while the circuit was open: {rejected}");
    println!(
        "final state {}; opened {} times; lifetime: {} successes, {} failures, {} rejected",
        s.state, s.times_opened, s.successes_total, s.failures_total, s.rejected_total
    );
    let wasted = failed;
    println!(
        "without a breaker every call in the outage would have hit the failing upstream ({} calls); \
         with it only {wasted} did.",
        55 * 4
    );
}
