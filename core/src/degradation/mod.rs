//! Graceful degradation (contract section 6): levels, triggers, fallback strategies, the rules
//! that pick one, and the [`DegradationManager`] that tracks which components are degraded.
//!
//! The core decides, the host runs the call. When a guarded call ends in an error, the host
//! (or [`crate::Policy::choose_fallback`]) asks the manager which strategy serves; the manager
//! answers with the strategy's name and kind ([`FallbackChoice`]) and records the degradation.
//! The host then produces the value natively: a cached response from its
//! [`crate::ResponseCache`], a reduced or static answer, a call to another target, or a user
//! strategy's `execute`. A strategy in the core is therefore a descriptor ([`StrategySpec`]):
//! name, kind, priority, an availability flag the host can flip, and optional predicates.
//!
//! The behaviour is specified in `docs/semantics/degradation.md`.

mod manager;
mod rules;
mod strategy;

use std::fmt;
use std::str::FromStr;

pub use manager::{
    ActiveDegradation, ComponentTotals, DegradationManager, DegradationStats, HistoryEntry,
    Recovery,
};
pub use rules::{DegradationConfig, Rule};
pub use strategy::{
    AvailabilityPredicate, ContextPredicate, FallbackChoice, FallbackContext, StrategyInfo,
    StrategyKind, StrategySpec,
};

use crate::category::Category;
use crate::error::ErrorCode;
use crate::policy::Verdict;

/// How degraded a component is, ordered: `none < partial < significant < severe < critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum Level {
    #[default]
    None = 0,
    Partial = 1,
    Significant = 2,
    Severe = 3,
    Critical = 4,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::None,
        Level::Partial,
        Level::Significant,
        Level::Severe,
        Level::Critical,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Partial => "partial",
            Level::Significant => "significant",
            Level::Severe => "severe",
            Level::Critical => "critical",
        }
    }

    /// The level a failing health check implies, from its status (contract section 6):
    /// `healthy` none, `degraded` partial, `unhealthy` significant, `critical` severe.
    /// `None` for a status the core does not know (e.g. `unknown`).
    pub fn from_health_status(status: &str) -> Option<Level> {
        match status {
            "healthy" => Some(Level::None),
            "degraded" => Some(Level::Partial),
            "unhealthy" => Some(Level::Significant),
            "critical" => Some(Level::Severe),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Level::ALL.into_iter().find(|l| l.as_str() == s).ok_or(())
    }
}

/// Why a component is degraded (the `reason` of degradation events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Trigger {
    CircuitBreakerOpen = 0,
    Timeout = 1,
    RateLimited = 2,
    ErrorRate = 3,
    HealthCheckFailed = 4,
    Manual = 5,
}

impl Trigger {
    pub const ALL: [Trigger; 6] = [
        Trigger::CircuitBreakerOpen,
        Trigger::Timeout,
        Trigger::RateLimited,
        Trigger::ErrorRate,
        Trigger::HealthCheckFailed,
        Trigger::Manual,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Trigger::CircuitBreakerOpen => "circuit_breaker_open",
            Trigger::Timeout => "timeout",
            Trigger::RateLimited => "rate_limited",
            Trigger::ErrorRate => "error_rate",
            Trigger::HealthCheckFailed => "health_check_failed",
            Trigger::Manual => "manual",
        }
    }

    /// The severity the contract fixes for this trigger; `None` for `health_check_failed`
    /// (it comes from the check's status, [`Level::from_health_status`]) and `manual` (given).
    pub const fn default_level(self) -> Option<Level> {
        match self {
            Trigger::CircuitBreakerOpen => Some(Level::Significant),
            Trigger::Timeout | Trigger::RateLimited | Trigger::ErrorRate => Some(Level::Partial),
            Trigger::HealthCheckFailed | Trigger::Manual => None,
        }
    }

    /// The trigger behind a pipeline verdict: a circuit rejection is `circuit_breaker_open`;
    /// a rate-limiter or bulkhead rejection `rate_limited`; a user error or exhausted retries
    /// `timeout` when the last failure was a timeout, `rate_limited` when it was rate limited,
    /// else `error_rate`. `None` for a value or a cancellation (nothing to fall back from).
    pub fn from_verdict(verdict: &Verdict, last_category: Option<Category>) -> Option<Trigger> {
        match verdict {
            Verdict::Value | Verdict::Cancelled => None,
            Verdict::Rejected { code, .. } => Some(match code {
                ErrorCode::CircuitOpen => Trigger::CircuitBreakerOpen,
                ErrorCode::RateLimited | ErrorCode::BulkheadFull => Trigger::RateLimited,
                ErrorCode::Timeout => Trigger::Timeout,
                _ => Trigger::ErrorRate,
            }),
            Verdict::UserError | Verdict::RetryExhausted { .. } => Some(match last_category {
                Some(Category::Timeout) => Trigger::Timeout,
                Some(Category::RateLimited) => Trigger::RateLimited,
                _ => Trigger::ErrorRate,
            }),
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Trigger {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// A set of triggers as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TriggerSet(u8);

impl TriggerSet {
    pub const EMPTY: TriggerSet = TriggerSet(0);
    pub const ALL: TriggerSet = TriggerSet::of(&Trigger::ALL);

    pub const fn of(triggers: &[Trigger]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < triggers.len() {
            bits |= triggers[i].bit();
            i += 1;
        }
        TriggerSet(bits)
    }

    pub const fn contains(self, t: Trigger) -> bool {
        self.0 & t.bit() != 0
    }

    pub fn insert(&mut self, t: Trigger) {
        self.0 |= t.bit();
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Trigger> {
        Trigger::ALL.into_iter().filter(move |t| self.contains(*t))
    }
}

impl FromIterator<Trigger> for TriggerSet {
    fn from_iter<I: IntoIterator<Item = Trigger>>(iter: I) -> Self {
        let mut s = TriggerSet::EMPTY;
        for t in iter {
            s.insert(t);
        }
        s
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::retry::GiveUpReason;

    #[test]
    fn names_round_trip_and_levels_are_ordered() {
        for l in Level::ALL {
            assert_eq!(l.as_str().parse(), Ok(l));
        }
        for t in Trigger::ALL {
            assert_eq!(t.as_str().parse(), Ok(t));
        }
        assert!(Level::None < Level::Partial);
        assert!(Level::Severe < Level::Critical);
        assert_eq!(Level::from_health_status("critical"), Some(Level::Severe));
        assert_eq!(Level::from_health_status("unknown"), None);
    }

    #[test]
    fn verdict_to_trigger() {
        let rejected = |code| Verdict::Rejected {
            code,
            state: None,
            retry_after: None,
            attempts: 0,
        };
        assert_eq!(
            Trigger::from_verdict(&rejected(ErrorCode::CircuitOpen), None),
            Some(Trigger::CircuitBreakerOpen)
        );
        assert_eq!(
            Trigger::from_verdict(&rejected(ErrorCode::BulkheadFull), None),
            Some(Trigger::RateLimited)
        );
        let exhausted = Verdict::RetryExhausted {
            attempts: 3,
            reason: GiveUpReason::MaxAttempts,
        };
        assert_eq!(
            Trigger::from_verdict(&exhausted, Some(Category::Timeout)),
            Some(Trigger::Timeout)
        );
        assert_eq!(
            Trigger::from_verdict(&Verdict::UserError, Some(Category::Server)),
            Some(Trigger::ErrorRate)
        );
        assert_eq!(Trigger::from_verdict(&Verdict::Value, None), None);
        let set = TriggerSet::of(&[Trigger::Timeout, Trigger::Manual]);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Trigger::Timeout, Trigger::Manual]
        );
    }
}
