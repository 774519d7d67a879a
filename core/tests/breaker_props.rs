//! Property tests of the breaker under random interleavings of acquire, record, release and
//! time: it never admits more probes than allowed, its rates stay in [0, 1], and its lifetime
//! totals add up.

#![cfg(not(loom))]

use std::sync::Arc;
use std::time::Duration;

use breakwater_core::{
    BreakerConfig, Category, CircuitBreaker, ClockRef, ManualClock, Outcome, Permit, State,
    WindowConfig,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    Succeed(usize),
    Fail(usize),
    Ignore(usize),
    Release(usize),
    Advance(u64),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(Op::Acquire),
            2 => any::<usize>().prop_map(Op::Succeed),
            3 => any::<usize>().prop_map(Op::Fail),
            1 => any::<usize>().prop_map(Op::Ignore),
            1 => any::<usize>().prop_map(Op::Release),
            2 => (0u64..400).prop_map(Op::Advance),
        ],
        0..400,
    )
}

fn config() -> impl Strategy<Value = BreakerConfig> {
    (1u32..4, 1u32..5, 1u32..4, 0u32..4, any::<bool>(), 1u64..300).prop_map(
        |(half_open_max_calls, success_threshold, minimum_calls, failure_threshold, count, rt)| {
            BreakerConfig {
                half_open_max_calls,
                success_threshold,
                minimum_calls,
                failure_threshold,
                window: if count {
                    WindowConfig::Count { size: 5 }
                } else {
                    WindowConfig::Time {
                        duration: Duration::from_millis(500),
                        buckets: 5,
                    }
                },
                recovery_timeout: Duration::from_millis(rt),
                max_half_open: Some(Duration::from_millis(700)),
                ..BreakerConfig::default()
            }
        },
    )
}

proptest! {
    #[test]
    fn invariants_hold(cfg in config(), ops in ops()) {
        let max_probes = cfg.half_open_max_calls as usize;
        let clock = Arc::new(ManualClock::new());
        let b = CircuitBreaker::new("prop", cfg, ClockRef::Manual(clock.clone())).unwrap();
        let mut held: Vec<Permit> = Vec::new();
        for op in ops {
            let pick = |i: usize, held: &mut Vec<Permit>| (!held.is_empty()).then(|| held.swap_remove(i % held.len()));
            match op {
                Op::Acquire => {
                    if let Ok(p) = b.try_acquire() {
                        held.push(p);
                    }
                }
                Op::Succeed(i) => if let Some(p) = pick(i, &mut held) { b.record(p, Outcome::Success) },
                Op::Fail(i) => if let Some(p) = pick(i, &mut held) { b.record(p, Outcome::Failure(Category::Server)) },
                Op::Ignore(i) => if let Some(p) = pick(i, &mut held) { b.record(p, Outcome::Failure(Category::Client)) },
                Op::Release(i) => if let Some(p) = pick(i, &mut held) { b.release(p) },
                Op::Advance(ms) => clock.advance(Duration::from_millis(ms)),
            }
            let s = b.snapshot();
            if s.state == State::HalfOpen {
                let gen_now = held.iter().map(|p| p.generation()).max().unwrap_or(0);
                let probes = held.iter().filter(|p| p.is_probe() && p.generation() == gen_now).count();
                prop_assert!(probes <= max_probes, "{probes} probes in flight, max {max_probes}");
            }
            prop_assert!((0.0..=1.0).contains(&s.failure_rate));
            prop_assert!((0.0..=1.0).contains(&s.slow_call_rate));
            prop_assert!(s.failures <= s.calls);
            prop_assert_eq!(s.calls_total, s.successes_total + s.failures_total);
        }
    }
}
