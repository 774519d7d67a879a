//! Time, injected. Every duration and decision in breakwater reads a [`Clock`]; nothing else in
//! the core touches the system clock (enforced by `clippy.toml`'s `disallowed-methods`).
//!
//! Monotonic time is kept as [`Nanos`] since the clock's own origin, so the hot path works on
//! plain integers. Wall time (ms since the Unix epoch) is only for event stamps and HTTP dates.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Monotonic nanoseconds since a clock's origin.
pub type Nanos = u64;

/// Wall time of a fresh [`ManualClock`]: 2026-01-01T00:00:00Z in ms since the Unix epoch.
pub const MANUAL_CLOCK_EPOCH_MS: u64 = 1_767_225_600_000;

/// A source of monotonic time (for durations and deadlines) and wall time (for stamps).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic time since this clock's origin; never goes backwards.
    fn now(&self) -> Nanos;
    /// Wall time in milliseconds since the Unix epoch.
    fn wall_ms(&self) -> u64;
}

/// The process's monotonic clock (`Instant`) plus the system wall clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: std::time::Instant,
}

impl SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the system clock
    pub fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    #[inline]
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Nanos {
        std::time::Instant::now()
            .duration_since(self.origin)
            .as_nanos() as u64
    }

    #[allow(clippy::disallowed_methods)]
    fn wall_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that moves only when told to. Tests, scenarios and users' own tests drive time with
/// it instead of sleeping. Sleeping on it (a backoff, a limiter wait) advances it.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicU64,
    epoch_ms: u64,
}

impl ManualClock {
    /// Starts at monotonic 0 with wall time [`MANUAL_CLOCK_EPOCH_MS`].
    pub fn new() -> Self {
        Self::with_epoch_ms(MANUAL_CLOCK_EPOCH_MS)
    }

    /// Starts at monotonic 0 with the given wall time (ms since the Unix epoch).
    pub fn with_epoch_ms(epoch_ms: u64) -> Self {
        Self {
            now: AtomicU64::new(0),
            epoch_ms,
        }
    }

    /// Moves time forward by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        let d = duration_to_nanos(d);
        let _ = self
            .now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(d))
            });
    }

    /// Sets monotonic time to `t` since the origin. Time never goes backwards: an earlier `t`
    /// is ignored and `false` returned.
    pub fn set(&self, t: Duration) -> bool {
        let t = duration_to_nanos(t);
        self.now.fetch_max(t, Ordering::AcqRel) <= t
    }

    /// Monotonic time since the origin.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now.load(Ordering::Acquire))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> Nanos {
        self.now.load(Ordering::Acquire)
    }

    fn wall_ms(&self) -> u64 {
        self.epoch_ms + self.now.load(Ordering::Acquire) / 1_000_000
    }
}

/// The clock an object tree shares. An enum rather than `Arc<dyn Clock>` so the system clock,
/// the common case, is read without an indirect call.
#[derive(Debug, Clone)]
pub enum ClockRef {
    System(SystemClock),
    Manual(Arc<ManualClock>),
    Custom(Arc<dyn Clock>),
}

impl ClockRef {
    pub fn system() -> Self {
        ClockRef::System(SystemClock::new())
    }

    #[inline]
    pub fn now(&self) -> Nanos {
        match self {
            ClockRef::System(c) => c.now(),
            ClockRef::Manual(c) => c.now(),
            ClockRef::Custom(c) => c.now(),
        }
    }

    pub fn wall_ms(&self) -> u64 {
        match self {
            ClockRef::System(c) => c.wall_ms(),
            ClockRef::Manual(c) => c.wall_ms(),
            ClockRef::Custom(c) => c.wall_ms(),
        }
    }

    /// Whether two handles are the same clock (a Policy's parts must share one).
    pub fn same_as(&self, other: &ClockRef) -> bool {
        match (self, other) {
            (ClockRef::System(_), ClockRef::System(_)) => true,
            (ClockRef::Manual(a), ClockRef::Manual(b)) => Arc::ptr_eq(a, b),
            (ClockRef::Custom(a), ClockRef::Custom(b)) => {
                std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
            }
            _ => false,
        }
    }
}

impl Default for ClockRef {
    fn default() -> Self {
        ClockRef::system()
    }
}

impl From<Arc<ManualClock>> for ClockRef {
    fn from(c: Arc<ManualClock>) -> Self {
        ClockRef::Manual(c)
    }
}

/// Saturating conversion; durations beyond ~584 years clamp to `u64::MAX` ns.
#[inline]
pub fn duration_to_nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Whole milliseconds (floor) of a nanosecond span.
#[inline]
pub fn nanos_to_ms(n: Nanos) -> u64 {
    n / 1_000_000
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        assert_eq!(c.now(), 0);
        assert_eq!(c.wall_ms(), MANUAL_CLOCK_EPOCH_MS);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now(), 1_500_000_000);
        assert_eq!(c.wall_ms(), MANUAL_CLOCK_EPOCH_MS + 1500);
        assert!(
            !c.set(Duration::from_millis(10)),
            "time never goes backwards"
        );
        assert_eq!(c.now(), 1_500_000_000);
        assert!(c.set(Duration::from_secs(2)));
        assert_eq!(c.elapsed(), Duration::from_secs(2));
        c.advance(Duration::MAX);
        assert_eq!(c.now(), u64::MAX);
    }

    #[test]
    fn system_clock_is_monotonic() {
        let c = SystemClock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        assert!(c.wall_ms() > MANUAL_CLOCK_EPOCH_MS - 10 * 365 * 86_400_000);
    }

    #[test]
    fn clock_identity() {
        let m = Arc::new(ManualClock::new());
        let a = ClockRef::from(m.clone());
        assert!(a.same_as(&ClockRef::Manual(m)));
        assert!(!a.same_as(&ClockRef::Manual(Arc::new(ManualClock::new()))));
        assert!(!a.same_as(&ClockRef::system()));
    }
}
