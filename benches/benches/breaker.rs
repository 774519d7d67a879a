//! The breaker's hot paths, each next to the cost of one clock read measured in the same run.

#![allow(clippy::disallowed_methods)] // a benchmark measures real time

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use breakwater_core::{
    AttemptOutcome, BreakerConfig, Category, CircuitBreaker, Classification, Clock, ClockRef,
    Jitter, Outcome, Policy, PolicyParts, RetryConfig, RetryPolicy, Step, SystemClock,
    WindowConfig,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn breaker(config: BreakerConfig) -> CircuitBreaker {
    CircuitBreaker::new("bench", config, ClockRef::system()).unwrap()
}

fn count(size: u32) -> BreakerConfig {
    BreakerConfig {
        window: WindowConfig::Count { size },
        ..BreakerConfig::default()
    }
}

fn clock_read(c: &mut Criterion) {
    let clock = SystemClock::new();
    c.bench_function("clock_read", |b| b.iter(|| black_box(clock.now())));
}

fn closed(c: &mut Criterion) {
    let mut g = c.benchmark_group("closed_acquire_record");
    for (name, cfg) in [
        ("count_100", count(100)),
        ("time_60s_10", BreakerConfig::default()),
    ] {
        let b = breaker(cfg);
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let p = b.try_acquire().unwrap();
                b.record(black_box(p), Outcome::Success);
            })
        });
    }
    g.finish();
}

fn open_rejection(c: &mut Criterion) {
    let b = breaker(BreakerConfig {
        recovery_timeout: Duration::from_secs(86_400),
        ..count(100)
    });
    for _ in 0..5 {
        let p = b.try_acquire().unwrap();
        b.record(p, Outcome::Failure(Category::Server));
    }
    c.bench_function("open_rejection", |bench| {
        bench.iter(|| black_box(b.try_acquire()).unwrap_err())
    });
}

fn half_open(c: &mut Criterion) {
    let cfg = BreakerConfig {
        failure_threshold: 1,
        recovery_timeout: Duration::from_nanos(1),
        half_open_max_calls: 1000,
        ..count(100)
    };
    let b = breaker(cfg);
    let p = b.try_acquire().unwrap();
    b.record(p, Outcome::Failure(Category::Server));
    std::hint::spin_loop();
    // Probes are released (not recorded) so the breaker stays half-open.
    c.bench_function("half_open_acquire_release", |bench| {
        bench.iter(|| {
            let p = b.try_acquire().unwrap();
            b.release(black_box(p));
        })
    });
}

/// The cost per record must not grow with the window's size.
fn window_sizes(c: &mut Criterion) {
    let mut g = c.benchmark_group("window_size");
    for size in [10u32, 1_000, 100_000] {
        let b = breaker(BreakerConfig {
            failure_threshold: 0,
            failure_rate_threshold: 1.0,
            ..count(size)
        });
        g.bench_with_input(BenchmarkId::new("count", size), &size, |bench, _| {
            bench.iter(|| {
                let p = b.try_acquire().unwrap();
                b.record(p, Outcome::Failure(Category::Server));
                let p = b.try_acquire().unwrap();
                b.record(p, Outcome::Success);
            })
        });
    }
    for buckets in [10u32, 100, 1_000] {
        let cfg = BreakerConfig {
            failure_rate_threshold: 1.0,
            failure_threshold: 0,
            window: WindowConfig::Time {
                duration: Duration::from_millis(buckets as u64 * 10),
                buckets,
            },
            ..BreakerConfig::default()
        };
        let b = breaker(cfg);
        g.bench_with_input(BenchmarkId::new("time", buckets), &buckets, |bench, _| {
            bench.iter(|| {
                let p = b.try_acquire().unwrap();
                b.record(p, Outcome::Failure(Category::Server));
                let p = b.try_acquire().unwrap();
                b.record(p, Outcome::Success);
            })
        });
    }
    g.finish();
}

/// Two threads on one breaker: time per acquire+record pair, all threads together.
fn two_threads(c: &mut Criterion) {
    let b = Arc::new(breaker(count(100)));
    c.bench_function("two_threads_acquire_record", |bench| {
        bench.iter_custom(|iters| {
            let per_thread = iters / 2 + 1;
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    let b = b.clone();
                    s.spawn(move || {
                        for _ in 0..per_thread {
                            let p = b.try_acquire().unwrap();
                            b.record(p, Outcome::Success);
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
}

/// One retry decision per jitter kind (a fresh call state each time, so the attempt is 1).
fn retry_decide(c: &mut Criterion) {
    let mut g = c.benchmark_group("retry_decide");
    let server = Classification::of(Category::Server);
    for jitter in Jitter::ALL {
        let cfg = RetryConfig {
            jitter,
            seed: Some(1),
            ..RetryConfig::default()
        };
        let p = RetryPolicy::new(cfg, 0, None).unwrap();
        g.bench_function(jitter.as_str(), |bench| {
            bench.iter(|| {
                let mut s = p.begin(0);
                black_box(p.decide(&mut s, black_box(&server), 0))
            })
        });
    }
    g.finish();
}

/// A policy (breaker + retry) whose first attempt succeeds: start, attempt, done. Compare with
/// `closed_acquire_record/count_100`.
fn policy_first_attempt_succeeds(c: &mut Criterion) {
    let breaker = Arc::new(breaker(count(100)));
    let retry = Arc::new(
        RetryPolicy::new(
            RetryConfig {
                seed: Some(1),
                ..RetryConfig::default()
            },
            0,
            None,
        )
        .unwrap(),
    );
    let parts = PolicyParts {
        breaker: Some(breaker),
        retry: Some(retry),
        ..PolicyParts::default()
    };
    let policy = Policy::new("bench", parts).unwrap();
    c.bench_function("policy_first_attempt_succeeds", |bench| {
        bench.iter(|| {
            let (mut call, step) = policy.start();
            debug_assert!(matches!(step, Step::Attempt { .. }));
            black_box(policy.on_outcome(&mut call, AttemptOutcome::Success))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = clock_read, closed, open_rejection, half_open, window_sizes, two_threads, retry_decide, policy_first_attempt_succeeds
}
criterion_main!(benches);
