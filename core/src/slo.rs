//! Service-level objectives and error budgets (contract section 1, "SLO"): the share of good
//! requests of one component over a rolling window, against a target.
//!
//! The window is kept as a ring of coarse time buckets (720 by default: one hour each over 30
//! days), so memory is fixed at construction whatever the traffic. The arithmetic is in
//! `docs/semantics/slo.md`; thresholds are compared in integers so a budget consumed exactly
//! is `exhausted`, not one rounding error short of it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;

use crate::clock::{ClockRef, Nanos, duration_to_nanos};
use crate::config::{ConfigError, ConfigErrors, IntRange, ObjectReader, Spelling, fmt_ms};
use crate::event::{Event, EventKind, Listener};

/// An SLO's settings. `Default` gives target 0.999 over 30 days in 720 buckets, burn rate
/// over the last hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SloConfig {
    /// The share of good requests promised, in (0, 1): 0.999 is 99.9 %.
    pub target: f64,
    /// The rolling window.
    pub window: Duration,
    /// Buckets the window is kept in; `window` must be a whole multiple of `buckets` ms.
    pub buckets: u32,
    /// The short look-back the burn rate is measured over, rounded up to whole buckets.
    pub burn_rate_window: Duration,
}

impl Default for SloConfig {
    fn default() -> Self {
        Self {
            target: 0.999,
            window: Duration::from_secs(30 * 86_400),
            buckets: 720,
            burn_rate_window: Duration::from_secs(3600),
        }
    }
}

const BUCKETS: IntRange = IntRange {
    min: 1,
    max: 10_000,
};
const TARGET_ALLOWED: &str = "a fraction in (0, 1), e.g. 0.999 for 99.9 %";
const WINDOW_ALLOWED: &str = "a whole number of ms > 0 and <= 366 days";
const MAX_WINDOW: Duration = Duration::from_secs(366 * 86_400);
const KEYS: &[&str] = &[
    "target",
    "window_ms",
    "window",
    "buckets",
    "burn_rate_window_ms",
    "burnRateWindow",
];

/// Parts per billion: thresholds are compared exactly in integers of these.
const PPB: u128 = 1_000_000_000;

impl SloConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        self.validate_spelled(&Spelling::default())
    }

    fn validate_spelled(&self, sp: &Spelling) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        if !(self.target > 0.0 && self.target < 1.0) || budget_ppb(self.target) == 0 {
            errs.push(sp.error("target", || self.target.to_string(), TARGET_ALLOWED));
        }
        let whole_ms = |d: Duration| d.subsec_nanos().is_multiple_of(1_000_000);
        let window_ok =
            !self.window.is_zero() && self.window <= MAX_WINDOW && whole_ms(self.window);
        if !window_ok {
            errs.push(sp.error("window", || fmt_ms(self.window), WINDOW_ALLOWED));
        }
        if !BUCKETS.contains(self.buckets as u64) {
            errs.push(sp.error("buckets", || self.buckets.to_string(), &BUCKETS.allowed()));
        } else if window_ok && !(self.window.as_millis() as u64).is_multiple_of(self.buckets as u64)
        {
            errs.push(sp.error(
                "buckets",
                || self.buckets.to_string(),
                &format!(
                    "a divisor of the window ({} ms) in {}",
                    fmt_ms(self.window),
                    BUCKETS.allowed()
                ),
            ));
        }
        if self.burn_rate_window.is_zero() || !whole_ms(self.burn_rate_window) {
            errs.push(sp.error(
                "burn_rate_window",
                || fmt_ms(self.burn_rate_window),
                "a whole number of ms > 0",
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// Parses `{target, window_ms / window, buckets, burn_rate_window_ms / burnRateWindow}`
    /// (camelCase durations in ms), layered over `base`.
    pub fn from_json_over(base: &SloConfig, value: &Value) -> Result<SloConfig, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(ConfigError::new("(slo config)", value.to_string(), "an object").into());
        };
        let mut cfg = *base;
        let mut r = ObjectReader::new(map, "");
        if let Some(t) = r.number("target", &["target"], TARGET_ALLOWED, |_| 1.0) {
            cfg.target = t;
        }
        if let Some(d) = r.millis("window", &["window_ms", "window"], WINDOW_ALLOWED) {
            cfg.window = d;
        }
        if let Some(b) = r.uint("buckets", &["buckets"], BUCKETS) {
            cfg.buckets = u32::try_from(b).unwrap_or(u32::MAX);
        }
        if let Some(d) = r.millis(
            "burn_rate_window",
            &["burn_rate_window_ms", "burnRateWindow"],
            "a whole number of ms > 0",
        ) {
            cfg.burn_rate_window = d;
        }
        let (mut errors, spelling) = r.finish(KEYS);
        if errors.is_empty()
            && let Err(ConfigErrors(more)) = cfg.validate_spelled(&spelling)
        {
            errors.extend(more);
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    pub fn from_json(value: &Value) -> Result<SloConfig, ConfigErrors> {
        Self::from_json_over(&SloConfig::default(), value)
    }
}

/// The allowed failure share in parts per billion (0.999 -> 1_000_000).
fn budget_ppb(target: f64) -> u64 {
    let b = ((1.0 - target) * 1e9).round();
    if b.is_finite() && b >= 0.0 {
        b as u64
    } else {
        0
    }
}

/// What to do about the budget: healthy below 50 % consumed, moderate below 80 %, critical
/// below 100 %, exhausted at 100 % or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recommendation {
    Healthy,
    Moderate,
    Critical,
    Exhausted,
}

impl Recommendation {
    pub const ALL: [Recommendation; 4] = [
        Recommendation::Healthy,
        Recommendation::Moderate,
        Recommendation::Critical,
        Recommendation::Exhausted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Recommendation::Healthy => "healthy",
            Recommendation::Moderate => "moderate",
            Recommendation::Critical => "critical",
            Recommendation::Exhausted => "exhausted",
        }
    }

    /// What the level advises, for dashboards.
    pub const fn advice(self) -> &'static str {
        match self {
            Recommendation::Healthy => "budget healthy: ship as usual",
            Recommendation::Moderate => "budget half spent: review risky changes",
            Recommendation::Critical => {
                "budget nearly spent: freeze risky changes, favour reliability work"
            }
            Recommendation::Exhausted => {
                "budget exhausted: stop feature releases until it recovers"
            }
        }
    }
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An SLO's figures at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SloStatus {
    pub target: f64,
    pub window: Duration,
    /// Requests in the window.
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    /// good / total; 1 when there were no requests.
    pub availability: f64,
    /// The failures the target allows for this traffic: (1 - target) x total.
    pub allowed_failures: f64,
    /// bad / allowed_failures: 0.5 is half the budget spent; above 1 when overspent.
    pub error_budget_consumed: f64,
    /// 1 - consumed, floored at 0.
    pub error_budget_remaining: f64,
    /// The failure share over the burn-rate look-back divided by (1 - target): 1 spends the
    /// budget exactly over the window, 14.4 spends a 30-day budget in about 2 days.
    pub burn_rate: f64,
    pub recommendation: Recommendation,
}

#[derive(Debug)]
struct Ring {
    good: Box<[u64]>,
    bad: Box<[u64]>,
    /// The newest bucket number reached.
    head: u64,
    total_good: u64,
    total_bad: u64,
}

impl Ring {
    fn advance(&mut self, index: u64) -> usize {
        let len = self.good.len() as u64;
        if index > self.head {
            if index - self.head >= len {
                self.good.fill(0);
                self.bad.fill(0);
                self.total_good = 0;
                self.total_bad = 0;
            } else {
                for i in self.head + 1..=index {
                    let slot = (i % len) as usize;
                    self.total_good -= self.good[slot];
                    self.total_bad -= self.bad[slot];
                    self.good[slot] = 0;
                    self.bad[slot] = 0;
                }
            }
            self.head = index;
        }
        (self.head % len) as usize
    }

    /// (good, bad) in the newest `n` buckets.
    fn recent(&self, n: usize) -> (u64, u64) {
        let len = self.good.len() as u64;
        let n = (n as u64).min(len).min(self.head + 1);
        (0..n).fold((0, 0), |(g, b), k| {
            let slot = ((self.head - k) % len) as usize;
            (g + self.good[slot], b + self.bad[slot])
        })
    }
}

/// One component's SLO. Share it with `Arc`; every method takes `&self`.
pub struct Slo {
    name: Arc<str>,
    config: SloConfig,
    clock: ClockRef,
    budget_ppb: u64,
    bucket_nanos: u64,
    burn_buckets: usize,
    ring: Mutex<Ring>,
}

impl fmt::Debug for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slo")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish()
    }
}

impl Slo {
    /// The SLO of component `name`.
    pub fn new(name: &str, config: SloConfig, clock: ClockRef) -> Result<Self, ConfigErrors> {
        config.validate()?;
        let buckets = config.buckets as usize;
        let bucket_ms = config.window.as_millis() as u64 / config.buckets as u64;
        let bucket_nanos = bucket_ms.saturating_mul(1_000_000);
        let burn = duration_to_nanos(config.burn_rate_window);
        let burn_buckets = (burn.div_ceil(bucket_nanos) as usize).clamp(1, buckets);
        let head = clock.now() / bucket_nanos;
        Ok(Self {
            name: Arc::from(name),
            budget_ppb: budget_ppb(config.target),
            config,
            bucket_nanos,
            burn_buckets,
            ring: Mutex::new(Ring {
                good: vec![0; buckets].into_boxed_slice(),
                bad: vec![0; buckets].into_boxed_slice(),
                head,
                total_good: 0,
                total_bad: 0,
            }),
            clock,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    pub fn config(&self) -> &SloConfig {
        &self.config
    }

    pub fn clock(&self) -> &ClockRef {
        &self.clock
    }

    /// Counts one request, good or bad, now.
    pub fn record(&self, good: bool) {
        self.record_counts(good as u64, !good as u64);
    }

    /// Counts `good` good and `bad` bad requests now.
    pub fn record_counts(&self, good: u64, bad: u64) {
        let index = self.clock.now() / self.bucket_nanos;
        let mut r = self.ring.lock();
        let slot = r.advance(index);
        r.good[slot] = r.good[slot].saturating_add(good);
        r.bad[slot] = r.bad[slot].saturating_add(bad);
        r.total_good = r.total_good.saturating_add(good);
        r.total_bad = r.total_bad.saturating_add(bad);
    }

    /// Counts what an event says about a request: `success` is good; `failure` and
    /// `call_rejected` are bad; every other kind counts nothing. Returns whether it counted.
    pub fn observe(&self, event: &Event) -> bool {
        match event.kind {
            EventKind::Success => self.record(true),
            EventKind::Failure | EventKind::CallRejected => self.record(false),
            _ => return false,
        }
        true
    }

    /// A listener that feeds this SLO (subscribe it to the component's breaker).
    pub fn listener(self: &Arc<Self>) -> Listener {
        let weak = Arc::downgrade(self);
        Arc::new(move |e: &Event| {
            if let Some(s) = weak.upgrade() {
                s.observe(e);
            }
        })
    }

    /// The figures now (old buckets expire as the clock moves).
    pub fn status(&self) -> SloStatus {
        let now: Nanos = self.clock.now();
        let (good, bad, recent_good, recent_bad) = {
            let mut r = self.ring.lock();
            r.advance(now / self.bucket_nanos);
            let (rg, rb) = r.recent(self.burn_buckets);
            (r.total_good, r.total_bad, rg, rb)
        };
        let total = good.saturating_add(bad);
        let ppb = self.budget_ppb;
        // consumed = bad / ((1 - target) x total) = bad x 1e9 / (ppb x total)
        let consumed = ratio(bad, total, ppb);
        // consumed >= k/10  <=>  bad x 1e9 x 10 >= k x ppb x total
        let at_least = |tenths: u128| {
            total > 0 && bad as u128 * PPB * 10 >= tenths * ppb as u128 * total as u128
        };
        let recommendation = if at_least(10) {
            Recommendation::Exhausted
        } else if at_least(8) {
            Recommendation::Critical
        } else if at_least(5) {
            Recommendation::Moderate
        } else {
            Recommendation::Healthy
        };
        SloStatus {
            target: self.config.target,
            window: self.config.window,
            total,
            good,
            bad,
            availability: if total == 0 {
                1.0
            } else {
                good as f64 / total as f64
            },
            allowed_failures: ppb as f64 * total as f64 / 1e9,
            error_budget_consumed: consumed,
            error_budget_remaining: if recommendation == Recommendation::Exhausted {
                0.0
            } else {
                (1.0 - consumed).max(0.0)
            },
            burn_rate: ratio(recent_bad, recent_good.saturating_add(recent_bad), ppb),
            recommendation,
        }
    }
}

/// bad x 1e9 / (ppb x total), 0 when total is 0.
fn ratio(bad: u64, total: u64, ppb: u64) -> f64 {
    if total == 0 || ppb == 0 {
        0.0
    } else {
        (bad as f64 * 1e9) / (ppb as f64 * total as f64)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use serde_json::json;

    fn slo(cfg: SloConfig) -> (Arc<ManualClock>, Slo) {
        let clock = Arc::new(ManualClock::new());
        let s = Slo::new("api", cfg, ClockRef::Manual(clock.clone())).unwrap();
        (clock, s)
    }

    #[test]
    fn budget_arithmetic_is_exact_at_the_edges() {
        let (_, s) = slo(SloConfig::default());
        s.record_counts(999, 1);
        let st = s.status();
        assert_eq!(st.total, 1000);
        assert_eq!(st.error_budget_consumed, 1.0);
        assert_eq!(st.recommendation, Recommendation::Exhausted);
        assert_eq!(st.error_budget_remaining, 0.0);
        assert!((st.availability - 0.999).abs() < 1e-12);
        assert_eq!(st.burn_rate, 1.0);
    }

    #[test]
    fn levels_and_window_expiry() {
        let cfg = SloConfig {
            target: 0.9,
            window: Duration::from_secs(100),
            buckets: 10,
            burn_rate_window: Duration::from_secs(10),
        };
        let (clock, s) = slo(cfg);
        s.record_counts(100, 6);
        assert_eq!(s.status().recommendation, Recommendation::Moderate);
        clock.advance(Duration::from_secs(50));
        s.record_counts(0, 3);
        let st = s.status();
        assert_eq!(st.recommendation, Recommendation::Critical);
        assert!((st.burn_rate - 10.0).abs() < 1e-12);
        clock.advance(Duration::from_secs(55));
        let st = s.status();
        assert_eq!((st.good, st.bad), (0, 3), "the first bucket has expired");
        clock.advance(Duration::from_secs(1000));
        assert_eq!(s.status().total, 0);
        assert_eq!(s.status().availability, 1.0);
    }

    #[test]
    fn config_parsing() {
        let c = SloConfig::from_json(&json!({"target": 0.99, "window": 3_600_000, "buckets": 60}))
            .unwrap();
        assert_eq!(c.window, Duration::from_secs(3600));
        let e = SloConfig::from_json(&json!({"target": 99.9})).unwrap_err();
        assert_eq!(e.first().key, "target");
        let e = SloConfig::from_json(&json!({"window_ms": 1000, "buckets": 7})).unwrap_err();
        assert_eq!(e.first().key, "buckets");
    }
}
