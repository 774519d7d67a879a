//! Admission limits: a token-bucket [`RateLimiter`] (at most `max_requests` per `time_window`,
//! bursts up to `burst_limit`) and a [`Bulkhead`] (at most `max_concurrent` calls in flight,
//! with an optional bounded FIFO queue). Both decide; hosts wait on their own timers and are
//! told whom to wake, so nothing polls.

use std::collections::VecDeque;
use std::time::Duration;

use crate::clock::{Nanos, duration_to_nanos};
use crate::config::{ConfigError, ConfigErrors, IntRange, Spelling};
use crate::error::ErrorCode;
use crate::sync::Mutex;

/// `RateLimiter(max_requests=100, time_window=1 s, burst_limit=max_requests)` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimiterConfig {
    pub max_requests: u32,
    pub time_window: Duration,
    /// The bucket's capacity; `None` means `max_requests`.
    pub burst_limit: Option<u32>,
}

impl Default for RateLimiterConfig {
    fn default() -> Self {
        Self {
            max_requests: 100,
            time_window: Duration::from_secs(1),
            burst_limit: None,
        }
    }
}

pub const MAX_REQUESTS: IntRange = IntRange {
    min: 1,
    max: 1_000_000_000,
};

impl RateLimiterConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        self.validate_spelled(&Spelling::default())
    }

    /// Checks the ranges, naming fields as `sp` says the caller wrote them.
    pub fn validate_spelled(&self, sp: &Spelling) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        if !MAX_REQUESTS.contains(self.max_requests as u64) {
            errs.push(sp.error(
                "max_requests",
                || self.max_requests.to_string(),
                &MAX_REQUESTS.allowed(),
            ));
        }
        if self.time_window.is_zero() || self.time_window > Duration::from_secs(86_400) {
            errs.push(sp.error(
                "time_window",
                || crate::config::fmt_ms(self.time_window),
                "a duration > 0 and <= 1 day",
            ));
        }
        if let Some(b) = self.burst_limit
            && !MAX_REQUESTS.contains(b as u64)
        {
            errs.push(sp.error("burst_limit", || b.to_string(), &MAX_REQUESTS.allowed()));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }
}

/// A limiter's refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// When one token will be there.
    pub retry_after: Duration,
}

impl RateLimited {
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::RateLimited
    }
}

#[derive(Debug)]
struct Bucket {
    /// Tokens, scaled by `SCALE` so refill is exact integer arithmetic.
    tokens: u128,
    last: Nanos,
}

/// Token units per token: refill adds `max_requests * SCALE` units per `time_window` ns, exactly.
const SCALE: u128 = 1_000_000_000;

/// A token bucket. Starts full.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimiterConfig,
    capacity: u128,
    window_nanos: u128,
    bucket: Mutex<Bucket>,
    /// `false` for a pass-through (a config section with `enabled: false`): never limits.
    enabled: bool,
}

impl RateLimiter {
    pub fn new(config: RateLimiterConfig, now: Nanos) -> Result<Self, ConfigErrors> {
        config.validate()?;
        let capacity = config.burst_limit.unwrap_or(config.max_requests) as u128 * SCALE;
        Ok(Self {
            capacity,
            window_nanos: duration_to_nanos(config.time_window) as u128,
            config,
            bucket: Mutex::new(Bucket {
                tokens: capacity,
                last: now,
            }),
            enabled: true,
        })
    }

    pub fn config(&self) -> &RateLimiterConfig {
        &self.config
    }

    /// This limiter as a pass-through (a config section with `enabled: false`): never limits.
    pub fn pass_through(mut self) -> Self {
        self.enabled = false;
        self
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    fn refill(&self, b: &mut Bucket, now: Nanos) {
        if now > b.last {
            let elapsed = (now - b.last) as u128;
            let add = elapsed * self.config.max_requests as u128 * SCALE / self.window_nanos;
            b.tokens = (b.tokens + add).min(self.capacity);
            b.last = now;
        }
    }

    /// The wait until `missing` units have been refilled.
    fn wait_for(&self, missing: u128) -> Duration {
        let per = self.config.max_requests as u128 * SCALE;
        let nanos = (missing * self.window_nanos).div_ceil(per);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Takes a token now, or says how long until one is there.
    pub fn try_acquire(&self, now: Nanos) -> Result<(), RateLimited> {
        if !self.enabled {
            return Ok(());
        }
        let mut b = self.bucket.lock();
        self.refill(&mut b, now);
        if b.tokens >= SCALE {
            b.tokens -= SCALE;
            Ok(())
        } else {
            let ahead = Duration::from_nanos(b.last.saturating_sub(now));
            Err(RateLimited {
                retry_after: ahead + self.wait_for(SCALE - b.tokens),
            })
        }
    }

    /// Reserves a token and returns how long the caller must wait before using it (zero when
    /// one is there now). Reservations queue up: each one waits behind the previous.
    pub fn reserve(&self, now: Nanos) -> Duration {
        if !self.enabled {
            return Duration::ZERO;
        }
        let mut b = self.bucket.lock();
        self.refill(&mut b, now);
        if b.tokens >= SCALE {
            b.tokens -= SCALE;
            return Duration::ZERO;
        }
        // Earlier reservations already own the refill up to `b.last`.
        let ahead = Duration::from_nanos(b.last.saturating_sub(now));
        let wait = ahead + self.wait_for(SCALE - b.tokens);
        // Spend the token in the future: the bucket is empty until `now + wait`.
        b.tokens = 0;
        b.last = now.saturating_add(duration_to_nanos(wait));
        wait
    }

    /// Whole tokens available now.
    pub fn available(&self, now: Nanos) -> u64 {
        if !self.enabled {
            return u64::MAX;
        }
        let mut b = self.bucket.lock();
        self.refill(&mut b, now);
        (b.tokens / SCALE) as u64
    }
}

/// `Bulkhead(max_concurrent=25, max_queue=0, max_wait=0)` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkheadConfig {
    pub max_concurrent: u32,
    pub max_queue: u32,
    pub max_wait: Duration,
}

impl Default for BulkheadConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 25,
            max_queue: 0,
            max_wait: Duration::ZERO,
        }
    }
}

impl BulkheadConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        self.validate_spelled(&Spelling::default())
    }

    /// Checks the ranges, naming fields as `sp` says the caller wrote them.
    pub fn validate_spelled(&self, sp: &Spelling) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        let r = IntRange {
            min: 1,
            max: 1_000_000,
        };
        if !r.contains(self.max_concurrent as u64) {
            errs.push(sp.error(
                "max_concurrent",
                || self.max_concurrent.to_string(),
                &r.allowed(),
            ));
        }
        let q = IntRange {
            min: 0,
            max: 1_000_000,
        };
        if !q.contains(self.max_queue as u64) {
            errs.push(sp.error("max_queue", || self.max_queue.to_string(), &q.allowed()));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }
}

/// A queued caller's place in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(pub u64);

/// The answer to `try_enter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A slot is yours; call `leave` when done.
    Entered,
    /// Wait (natively) up to `max_wait` to be woken with this ticket; on timeout call `abandon`.
    Queued { ticket: Ticket, max_wait: Duration },
    /// No slot and no room (or no wait allowed) in the queue: `BULKHEAD_FULL`.
    Full,
}

#[derive(Debug, Default)]
struct Slots {
    in_flight: u32,
    queue: VecDeque<Ticket>,
    next_ticket: u64,
}

/// Concurrency isolation for one dependency.
#[derive(Debug)]
pub struct Bulkhead {
    config: BulkheadConfig,
    slots: Mutex<Slots>,
    /// `false` for a pass-through (a config section with `enabled: false`): admits everything.
    enabled: bool,
}

impl Bulkhead {
    pub fn new(config: BulkheadConfig) -> Result<Self, ConfigErrors> {
        config.validate()?;
        Ok(Self {
            config,
            slots: Mutex::new(Slots::default()),
            enabled: true,
        })
    }

    /// This bulkhead as a pass-through (a config section with `enabled: false`).
    pub fn pass_through(mut self) -> Self {
        self.enabled = false;
        self
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn config(&self) -> &BulkheadConfig {
        &self.config
    }

    /// Takes a slot, joins the queue, or is refused.
    pub fn try_enter(&self) -> Admission {
        if !self.enabled {
            return Admission::Entered;
        }
        let mut s = self.slots.lock();
        if s.in_flight < self.config.max_concurrent && s.queue.is_empty() {
            s.in_flight += 1;
            return Admission::Entered;
        }
        if (s.queue.len() as u32) < self.config.max_queue && !self.config.max_wait.is_zero() {
            let ticket = Ticket(s.next_ticket);
            s.next_ticket += 1;
            s.queue.push_back(ticket);
            return Admission::Queued {
                ticket,
                max_wait: self.config.max_wait,
            };
        }
        Admission::Full
    }

    /// Frees a slot. When callers are queued, the slot passes straight to the first of them:
    /// the returned ticket is the one the host must wake (it now holds a slot).
    pub fn leave(&self) -> Option<Ticket> {
        if !self.enabled {
            return None;
        }
        let mut s = self.slots.lock();
        match s.queue.pop_front() {
            Some(t) => Some(t), // the slot is handed over: in_flight unchanged
            None => {
                s.in_flight = s.in_flight.saturating_sub(1);
                None
            }
        }
    }

    /// A queued caller stopped waiting (timeout or cancellation). `true` means it was still
    /// queued and is now removed; `false` means it had already been handed a slot, which it
    /// must `leave`.
    pub fn abandon(&self, ticket: Ticket) -> bool {
        let mut s = self.slots.lock();
        match s.queue.iter().position(|t| *t == ticket) {
            Some(i) => {
                s.queue.remove(i);
                true
            }
            None => false,
        }
    }

    /// Calls in flight and callers queued.
    pub fn load(&self) -> (u32, u32) {
        let s = self.slots.lock();
        (s.in_flight, s.queue.len() as u32)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn limiter_refills_exactly_and_caps_bursts() {
        let cfg = RateLimiterConfig {
            max_requests: 10,
            time_window: Duration::from_secs(1),
            burst_limit: Some(2),
        };
        let l = RateLimiter::new(cfg, 0).unwrap();
        assert!(l.try_acquire(0).is_ok());
        assert!(l.try_acquire(0).is_ok());
        assert_eq!(
            l.try_acquire(0),
            Err(RateLimited {
                retry_after: Duration::from_millis(100)
            })
        );
        assert_eq!(
            l.try_acquire(40 * MS),
            Err(RateLimited {
                retry_after: Duration::from_millis(60)
            })
        );
        assert!(l.try_acquire(100 * MS).is_ok());
        assert_eq!(
            l.available(10_000 * MS),
            2,
            "never more than the burst limit"
        );
    }

    #[test]
    fn reservations_queue_up() {
        let cfg = RateLimiterConfig {
            max_requests: 1,
            time_window: Duration::from_secs(1),
            burst_limit: None,
        };
        let l = RateLimiter::new(cfg, 0).unwrap();
        assert_eq!(l.reserve(0), Duration::ZERO);
        assert_eq!(l.reserve(0), Duration::from_secs(1));
        assert_eq!(l.reserve(0), Duration::from_secs(2));
    }

    #[test]
    fn range_errors_name_keys_as_written() {
        let e = RateLimiterConfig::from_json(&serde_json::json!({"maxRequests": 0})).unwrap_err();
        assert_eq!(e.first().key, "maxRequests");
        let e = BulkheadConfig::from_json(&serde_json::json!({"maxConcurrent": 0})).unwrap_err();
        assert_eq!(e.first().key, "maxConcurrent");
    }

    #[test]
    fn bulkhead_hands_slots_to_the_queue_in_order() {
        let b = Bulkhead::new(BulkheadConfig {
            max_concurrent: 1,
            max_queue: 2,
            max_wait: Duration::from_secs(1),
        })
        .unwrap();
        assert_eq!(b.try_enter(), Admission::Entered);
        let Admission::Queued { ticket: t1, .. } = b.try_enter() else {
            panic!()
        };
        let Admission::Queued { ticket: t2, .. } = b.try_enter() else {
            panic!()
        };
        assert_eq!(b.try_enter(), Admission::Full);
        assert!(b.abandon(t1));
        assert_eq!(b.leave(), Some(t2));
        assert!(!b.abandon(t2), "t2 already holds the slot");
        assert_eq!(b.leave(), None);
        assert_eq!(b.load(), (0, 0));
    }
}

impl RateLimiterConfig {
    /// Parses a rate-limiter section (`max_requests`, `time_window_ms` / `timeWindow`,
    /// `burst_limit` / `burstLimit`, or the seed spellings `maxRequests`).
    pub fn from_json_over(base: &Self, value: &serde_json::Value) -> Result<Self, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(
                ConfigError::new("(rate limiter config)", value.to_string(), "an object").into(),
            );
        };
        let mut cfg = *base;
        let mut r = crate::config::ObjectReader::new(map, "");
        if let Some(v) = r.uint(
            "max_requests",
            &["max_requests", "maxRequests"],
            MAX_REQUESTS,
        ) {
            cfg.max_requests = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(d) = r.millis(
            "time_window",
            &["time_window_ms", "timeWindow"],
            "a duration > 0 and <= 1 day",
        ) {
            cfg.time_window = d;
        }
        if let Some(v) = r.uint("burst_limit", &["burst_limit", "burstLimit"], MAX_REQUESTS) {
            cfg.burst_limit = Some(u32::try_from(v).unwrap_or(u32::MAX));
        }
        let known = [
            "max_requests",
            "maxRequests",
            "time_window_ms",
            "timeWindow",
            "burst_limit",
            "burstLimit",
        ];
        finish(r, &known, cfg, |c, sp| c.validate_spelled(sp))
    }

    pub fn from_json(value: &serde_json::Value) -> Result<Self, ConfigErrors> {
        Self::from_json_over(&Self::default(), value)
    }
}

impl BulkheadConfig {
    /// Parses a bulkhead section (`max_concurrent`, `max_queue`, `max_wait_ms`, or camelCase).
    pub fn from_json_over(base: &Self, value: &serde_json::Value) -> Result<Self, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(
                ConfigError::new("(bulkhead config)", value.to_string(), "an object").into(),
            );
        };
        let mut cfg = *base;
        let mut r = crate::config::ObjectReader::new(map, "");
        let range = IntRange {
            min: 0,
            max: 1_000_000,
        };
        if let Some(v) = r.uint(
            "max_concurrent",
            &["max_concurrent", "maxConcurrent"],
            range,
        ) {
            cfg.max_concurrent = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = r.uint("max_queue", &["max_queue", "maxQueue"], range) {
            cfg.max_queue = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(d) = r.millis(
            "max_wait",
            &["max_wait_ms", "maxWait"],
            "a whole number of ms >= 0",
        ) {
            cfg.max_wait = d;
        }
        let known = [
            "max_concurrent",
            "maxConcurrent",
            "max_queue",
            "maxQueue",
            "max_wait_ms",
            "maxWait",
        ];
        finish(r, &known, cfg, |c, sp| c.validate_spelled(sp))
    }

    pub fn from_json(value: &serde_json::Value) -> Result<Self, ConfigErrors> {
        Self::from_json_over(&Self::default(), value)
    }
}

/// Unknown keys and type errors first, then range errors for keys not already reported.
fn finish<T>(
    r: crate::config::ObjectReader<'_>,
    known: &[&str],
    cfg: T,
    ranges: impl FnOnce(&T, &Spelling) -> Result<(), ConfigErrors>,
) -> Result<T, ConfigErrors> {
    let (mut errors, spelling) = r.finish(known);
    for e in ranges(&cfg, &spelling)
        .err()
        .map(|e| e.0)
        .unwrap_or_default()
    {
        if !errors.iter().any(|x| x.key == e.key) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}
