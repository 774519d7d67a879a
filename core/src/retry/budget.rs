//! A retry budget shared by every call of a policy (or of many policies): retries may be at most
//! `ratio` of first attempts, plus a floor of `min_per_second`, over a sliding `ttl`. It is what
//! stops a retry storm from multiplying load on a dependency that is already struggling.

use std::time::Duration;

use crate::clock::{Nanos, duration_to_nanos};
use crate::config::{ConfigErrors, Spelling};
use crate::sync::Mutex;

/// `RetryBudget(ratio=0.2, min_per_second=10, ttl=10 s)` by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Tokens each first attempt deposits; a retry costs one.
    pub ratio: f64,
    /// Retries per second always allowed, even with no deposits.
    pub min_per_second: u32,
    /// How long a deposit (and a withdrawal) counts.
    pub ttl: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            ratio: 0.2,
            min_per_second: 10,
            ttl: Duration::from_secs(10),
        }
    }
}

impl BudgetConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        self.validate_spelled(&Spelling::default())
    }

    /// Checks the ranges, naming fields as `sp` says the caller wrote them.
    pub fn validate_spelled(&self, sp: &Spelling) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        if !(self.ratio.is_finite() && (0.0..=1000.0).contains(&self.ratio)) {
            errs.push(sp.error(
                "budget.ratio",
                || self.ratio.to_string(),
                "a number in [0, 1000]",
            ));
        }
        if self.min_per_second > 1_000_000 {
            errs.push(sp.error(
                "budget.min_per_second",
                || self.min_per_second.to_string(),
                "integer 0..=1000000",
            ));
        }
        if self.ttl < Duration::from_millis(BUCKETS) || self.ttl > Duration::from_secs(86_400) {
            errs.push(sp.error(
                "budget.ttl",
                || crate::config::fmt_ms(self.ttl),
                "a duration >= 10 ms and <= 1 day",
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }
}

const BUCKETS: u64 = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    index: u64,
    deposits: u64,
    withdrawals: u64,
}

#[derive(Debug)]
struct Ledger {
    buckets: [Bucket; BUCKETS as usize],
}

/// The shared token bucket. Deposits and withdrawals are kept in 10 time buckets across `ttl`,
/// so old ones expire without timers.
#[derive(Debug)]
pub struct RetryBudget {
    config: BudgetConfig,
    bucket_nanos: u64,
    ledger: Mutex<Ledger>,
}

impl RetryBudget {
    pub fn new(config: BudgetConfig) -> Result<Self, ConfigErrors> {
        config.validate()?;
        Ok(Self {
            bucket_nanos: (duration_to_nanos(config.ttl) / BUCKETS).max(1),
            config,
            ledger: Mutex::new(Ledger {
                buckets: [Bucket::default(); BUCKETS as usize],
            }),
        })
    }

    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    fn bucket(&self, ledger: &mut Ledger, now: Nanos) -> usize {
        let index = now / self.bucket_nanos + 1; // +1: index 0 marks an unused bucket
        let slot = (index % BUCKETS) as usize;
        if ledger.buckets[slot].index != index {
            ledger.buckets[slot] = Bucket {
                index,
                deposits: 0,
                withdrawals: 0,
            };
        }
        slot
    }

    fn live(&self, ledger: &Ledger, now: Nanos) -> (u64, u64) {
        let current = now / self.bucket_nanos + 1;
        ledger
            .buckets
            .iter()
            .filter(|b| b.index != 0 && b.index + BUCKETS > current)
            .fold((0, 0), |(d, w), b| (d + b.deposits, w + b.withdrawals))
    }

    /// A first attempt started.
    pub fn deposit(&self, now: Nanos) {
        let mut l = self.ledger.lock();
        let slot = self.bucket(&mut l, now);
        l.buckets[slot].deposits += 1;
    }

    /// Takes one retry token if the balance allows it.
    pub fn try_withdraw(&self, now: Nanos) -> bool {
        let mut l = self.ledger.lock();
        if self.balance_locked(&l, now) < 1.0 {
            return false;
        }
        let slot = self.bucket(&mut l, now);
        l.buckets[slot].withdrawals += 1;
        true
    }

    /// Retry tokens available now.
    pub fn balance(&self, now: Nanos) -> f64 {
        let l = self.ledger.lock();
        self.balance_locked(&l, now)
    }

    fn balance_locked(&self, l: &Ledger, now: Nanos) -> f64 {
        let (deposits, withdrawals) = self.live(l, now);
        let reserve = self.config.min_per_second as f64 * self.config.ttl.as_secs_f64();
        reserve + self.config.ratio * deposits as f64 - withdrawals as f64
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn storm_is_capped_by_ratio_plus_floor() {
        let b = RetryBudget::new(BudgetConfig {
            ratio: 0.1,
            min_per_second: 1,
            ttl: Duration::from_secs(10),
        })
        .unwrap();
        for _ in 0..100 {
            b.deposit(0);
        }
        // 10 s x 1/s floor + 100 x 0.1 = 20 tokens
        let granted = (0..1000).filter(|_| b.try_withdraw(0)).count();
        assert_eq!(granted, 20);
        // everything expires after ttl: the floor is back
        assert_eq!(b.balance(10 * S), 10.0);
    }
}
