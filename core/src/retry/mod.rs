//! Retry decisions (contract section 1, "Retry"): after a failed attempt the core answers
//! "retry after D" or "give up because R"; the host sleeps on its own timer. Per-call state
//! lives in a [`RetryState`] owned by the call, so concurrent calls share nothing mutable except
//! the optional [`RetryBudget`].

mod budget;
mod config;

use std::time::Duration;

pub use budget::{BudgetConfig, RetryBudget};
pub use config::{Jitter, RetryConfig};

use crate::classify::Classification;
use crate::clock::{Nanos, duration_to_nanos};
use crate::config::ConfigErrors;
use crate::rng::SplitMix64;
use crate::sync::{AtomicU64, Ordering};

crate::names::named_enum! {
    /// Why a call stopped retrying; a closed set used in errors, events and metrics.
    pub enum GiveUpReason {
        MaxAttempts => "max_attempts",
        NotRetryable => "not_retryable",
        CircuitOpen => "circuit_open",
        RateLimited => "rate_limited",
        BulkheadFull => "bulkhead_full",
        MaxElapsed => "max_elapsed",
        RetryAfterExceedsMax => "retry_after_exceeds_max",
        BudgetExhausted => "budget_exhausted",
        Cancelled => "cancelled",
    }
}

impl GiveUpReason {
    /// Whether the caller gets a `RetryError` (retries ran out) rather than another error.
    pub const fn is_exhaustion(self) -> bool {
        matches!(
            self,
            GiveUpReason::MaxAttempts
                | GiveUpReason::MaxElapsed
                | GiveUpReason::RetryAfterExceedsMax
                | GiveUpReason::BudgetExhausted
        )
    }
}

/// The answer after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep `delay`, then make attempt number `attempt` (2 for the first retry).
    Retry {
        delay: Duration,
        attempt: u32,
    },
    GiveUp(GiveUpReason),
}

/// One call's retry state: its own random stream, attempts made, when it started.
#[derive(Debug, Clone, Copy)]
pub struct RetryState {
    rng: SplitMix64,
    attempts: u32,
    first_attempt_at: Nanos,
    /// The previous decorrelated delay in ms (`d(n-1)`).
    previous_ms: f64,
}

impl RetryState {
    /// Attempts made so far, the current one included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn first_attempt_at(&self) -> Nanos {
        self.first_attempt_at
    }
}

/// A retry policy shared by many calls. Each call takes its own random stream from the
/// policy's stream (call k is seeded with output k), lock-free.
#[derive(Debug)]
pub struct RetryPolicy {
    config: RetryConfig,
    /// SplitMix64 state of the policy's stream; advancing it is one atomic add.
    stream: AtomicU64,
    budget: Option<std::sync::Arc<RetryBudget>>,
    /// `false` for a pass-through (a config section with `enabled: false`): one attempt only.
    enabled: bool,
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl RetryPolicy {
    /// `entropy_seed` is used only when the config has no `seed`: bindings draw it from the OS
    /// (the core never reads entropy itself). `budget` shares a budget between policies;
    /// without it, a `config.budget` gets a budget of its own.
    pub fn new(
        config: RetryConfig,
        entropy_seed: u64,
        budget: Option<std::sync::Arc<RetryBudget>>,
    ) -> Result<Self, ConfigErrors> {
        config.validate()?;
        let seed = config.seed.unwrap_or(entropy_seed);
        let budget = match (budget, config.budget) {
            (Some(shared), _) => Some(shared),
            (None, Some(own)) => Some(std::sync::Arc::new(RetryBudget::new(own)?)),
            (None, None) => None,
        };
        Ok(Self {
            config,
            stream: AtomicU64::new(seed),
            budget,
            enabled: true,
        })
    }

    /// This policy as a pass-through: every failure is final and reaches the caller unchanged,
    /// as if no retry were configured.
    pub fn pass_through(mut self) -> Self {
        self.enabled = false;
        self
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    pub fn budget(&self) -> Option<&std::sync::Arc<RetryBudget>> {
        self.budget.as_ref()
    }

    /// Starts a call whose first attempt begins at `now`; deposits into the budget.
    pub fn begin(&self, now: Nanos) -> RetryState {
        let state = self.stream.fetch_add(GAMMA, Ordering::Relaxed);
        // SplitMix64 output k is mix(seed + (k + 1) * gamma): replay it from the claimed state.
        let call_seed = SplitMix64::new(state).next_u64();
        if let Some(b) = &self.budget
            && self.enabled
        {
            b.deposit(now);
        }
        RetryState {
            rng: SplitMix64::new(call_seed),
            attempts: 1,
            first_attempt_at: now,
            previous_ms: duration_ms(self.config.base_delay),
        }
    }

    /// Decides what follows the failed attempt `state.attempts()` at `now`.
    pub fn decide(&self, state: &mut RetryState, failure: &Classification, now: Nanos) -> Decision {
        let c = &self.config;
        if !self.enabled
            || !c.retry_on.contains(failure.category)
            || (!c.idempotent && !failure.not_sent)
        {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        }
        if state.attempts >= c.max_attempts {
            return Decision::GiveUp(GiveUpReason::MaxAttempts);
        }
        let mut delay = Duration::from_millis(self.backoff_ms(state, state.attempts) as u64);
        if let Some(ra) = failure.retry_after {
            if ra > c.max_retry_after {
                return Decision::GiveUp(GiveUpReason::RetryAfterExceedsMax);
            }
            // Whole milliseconds, like every delay (floor).
            delay = delay.max(Duration::from_millis(ra.as_millis() as u64));
        }
        if let Some(max) = c.max_elapsed {
            let elapsed = now.saturating_sub(state.first_attempt_at);
            if elapsed.saturating_add(duration_to_nanos(delay)) > duration_to_nanos(max) {
                return Decision::GiveUp(GiveUpReason::MaxElapsed);
            }
        }
        if let Some(b) = &self.budget
            && !b.try_withdraw(now)
        {
            return Decision::GiveUp(GiveUpReason::BudgetExhausted);
        }
        state.attempts += 1;
        Decision::Retry {
            delay,
            attempt: state.attempts,
        }
    }

    /// The jittered backoff before retry number `n` (n = 1 after the first failed attempt), in
    /// fractional ms; callers floor it to whole ms.
    fn backoff_ms(&self, state: &mut RetryState, n: u32) -> f64 {
        let c = &self.config;
        let base = duration_ms(c.base_delay);
        let max = duration_ms(c.max_delay);
        let exp = exponential_ms(base, max, c.multiplier, n);
        let ms = match c.jitter {
            Jitter::None => exp,
            Jitter::Full => state.rng.uniform(0.0, exp),
            Jitter::Equal => exp / 2.0 + state.rng.uniform(0.0, exp / 2.0),
            Jitter::Decorrelated => {
                let d = state.rng.uniform(base, 3.0 * state.previous_ms).min(max);
                state.previous_ms = d;
                d
            }
            Jitter::Proportional => {
                let f = c.jitter_factor;
                (exp * (1.0 + state.rng.uniform(-f, f))).min(max)
            }
        };
        ms.max(0.0).floor()
    }
}

/// `min(max, base x multiplier^(n-1))`, without overflow for any n.
pub fn exponential_ms(base: f64, max: f64, multiplier: f64, n: u32) -> f64 {
    if base <= 0.0 {
        return 0.0;
    }
    let exp = n.saturating_sub(1).min(i32::MAX as u32) as i32;
    let v = base * multiplier.powi(exp);
    if v.is_finite() { v.min(max) } else { max }
}

fn duration_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::category::Category;

    fn policy(config: RetryConfig) -> RetryPolicy {
        RetryPolicy::new(config, 0, None).unwrap()
    }

    fn server() -> Classification {
        Classification::of(Category::Server)
    }

    #[test]
    fn no_jitter_doubles_and_caps() {
        let p = policy(RetryConfig {
            jitter: Jitter::None,
            max_attempts: 100,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryConfig::default()
        });
        let mut s = p.begin(0);
        let delays: Vec<u64> = (0..6)
            .map(|_| match p.decide(&mut s, &server(), 0) {
                Decision::Retry { delay, .. } => delay.as_millis() as u64,
                d => panic!("{d:?}"),
            })
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        assert_eq!(exponential_ms(200.0, 8000.0, 2.0, 10_000), 8000.0);
        assert_eq!(exponential_ms(200.0, 8000.0, 2.0, u32::MAX), 8000.0);
        assert_eq!(exponential_ms(0.0, 8000.0, 2.0, u32::MAX), 0.0);
    }

    #[test]
    fn calls_get_distinct_reproducible_streams() {
        let cfg = RetryConfig {
            seed: Some(7),
            ..RetryConfig::default()
        };
        let (a, b) = (policy(cfg.clone()), policy(cfg));
        let mut reference = SplitMix64::new(7);
        for _ in 0..3 {
            let (sa, sb) = (a.begin(0), b.begin(0));
            assert_eq!(sa.rng, sb.rng);
            assert_eq!(sa.rng, SplitMix64::new(reference.next_u64()));
        }
    }

    #[test]
    fn give_up_reasons() {
        let p = policy(RetryConfig {
            max_attempts: 2,
            ..RetryConfig::default()
        });
        let mut s = p.begin(0);
        let client = Classification::of(Category::Client);
        assert_eq!(
            p.decide(&mut s, &client, 0),
            Decision::GiveUp(GiveUpReason::NotRetryable)
        );
        assert!(matches!(
            p.decide(&mut s, &server(), 0),
            Decision::Retry { attempt: 2, .. }
        ));
        assert_eq!(
            p.decide(&mut s, &server(), 0),
            Decision::GiveUp(GiveUpReason::MaxAttempts)
        );
    }
}
