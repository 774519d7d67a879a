//! Sliding windows of call outcomes: the last N calls ([`CountWindow`]) or the last D of time in
//! B buckets ([`TimeWindow`]). Both keep running totals, so a record and a read are O(1)
//! (a time window's expiry is amortised O(1): each bucket is cleared at most once per lap).
//! Memory is allocated once, at construction.

use crate::clock::Nanos;

/// Counts in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub calls: u64,
    pub failures: u64,
    pub slow: u64,
}

impl Tally {
    #[inline]
    fn add(&mut self, failure: bool, slow: bool) {
        self.calls += 1;
        self.failures += failure as u64;
        self.slow += slow as u64;
    }

    #[inline]
    fn sub(&mut self, other: &Tally) {
        self.calls -= other.calls;
        self.failures -= other.failures;
        self.slow -= other.slow;
    }

    /// failures / calls, 0 when empty.
    pub fn failure_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.failures as f64 / self.calls as f64
        }
    }

    /// slow / calls, 0 when empty.
    pub fn slow_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.slow as f64 / self.calls as f64
        }
    }
}

/// What both windows offer; one test suite runs against both.
pub trait SlidingWindow {
    /// Adds one recorded call at monotonic time `now`.
    fn record(&mut self, now: Nanos, failure: bool, slow: bool);
    /// The totals of the calls still in the window at `now`.
    fn tally(&mut self, now: Nanos) -> Tally;
    /// Forgets every call.
    fn clear(&mut self);
}

/// The last `size` recorded calls, as a ring of outcome flags.
#[derive(Debug, Clone)]
pub struct CountWindow {
    ring: Box<[u8]>,
    next: usize,
    filled: usize,
    totals: Tally,
}

const FAILURE: u8 = 1;
const SLOW: u8 = 2;

impl CountWindow {
    /// `size` must be at least 1 (configs validate it).
    pub fn new(size: usize) -> Self {
        Self {
            ring: vec![0; size.max(1)].into_boxed_slice(),
            next: 0,
            filled: 0,
            totals: Tally::default(),
        }
    }

    pub fn size(&self) -> usize {
        self.ring.len()
    }
}

impl SlidingWindow for CountWindow {
    #[inline]
    fn record(&mut self, _now: Nanos, failure: bool, slow: bool) {
        let full = self.filled == self.ring.len();
        let slot = &mut self.ring[self.next];
        if full {
            let old = *slot;
            self.totals.calls -= 1;
            self.totals.failures -= (old & FAILURE != 0) as u64;
            self.totals.slow -= (old & SLOW != 0) as u64;
        } else {
            self.filled += 1;
        }
        *slot = (failure as u8 * FAILURE) | (slow as u8 * SLOW);
        self.totals.add(failure, slow);
        self.next += 1;
        if self.next == self.ring.len() {
            self.next = 0;
        }
    }

    #[inline]
    fn tally(&mut self, _now: Nanos) -> Tally {
        self.totals
    }

    fn clear(&mut self) {
        self.next = 0;
        self.filled = 0;
        self.totals = Tally::default();
    }
}

/// The calls of the last `duration`, in `buckets` buckets of `duration / buckets` each. A call
/// at time t lands in bucket number `floor(t / bucket_width)`; the window holds the current
/// bucket and the `buckets - 1` before it.
#[derive(Debug, Clone)]
pub struct TimeWindow {
    buckets: Box<[Tally]>,
    bucket_nanos: u64,
    /// The newest bucket number seen; buckets older than `head - (len - 1)` are empty.
    head: u64,
    totals: Tally,
}

impl TimeWindow {
    /// `duration_ms` must be a positive multiple of `buckets` (configs validate it).
    pub fn new(duration_ms: u64, buckets: u32) -> Self {
        let buckets = buckets.max(1) as u64;
        let bucket_ms = (duration_ms / buckets).max(1);
        Self {
            buckets: vec![Tally::default(); buckets as usize].into_boxed_slice(),
            bucket_nanos: bucket_ms.saturating_mul(1_000_000),
            head: 0,
            totals: Tally::default(),
        }
    }

    #[inline]
    fn advance(&mut self, now: Nanos) -> usize {
        let index = now / self.bucket_nanos;
        let len = self.buckets.len() as u64;
        if index > self.head {
            if index - self.head >= len {
                self.buckets.fill(Tally::default());
                self.totals = Tally::default();
            } else {
                for i in self.head + 1..=index {
                    let b = &mut self.buckets[(i % len) as usize];
                    self.totals.sub(b);
                    *b = Tally::default();
                }
            }
            self.head = index;
        }
        (self.head % len) as usize
    }
}

impl SlidingWindow for TimeWindow {
    #[inline]
    fn record(&mut self, now: Nanos, failure: bool, slow: bool) {
        let slot = self.advance(now);
        self.buckets[slot].add(failure, slow);
        self.totals.add(failure, slow);
    }

    #[inline]
    fn tally(&mut self, now: Nanos) -> Tally {
        self.advance(now);
        self.totals
    }

    fn clear(&mut self) {
        self.buckets.fill(Tally::default());
        self.totals = Tally::default();
    }
}

/// Either window, dispatched statically.
#[derive(Debug, Clone)]
pub enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    /// The totals as of the last record or read, expiring nothing (a frozen window's view).
    pub fn current(&self) -> Tally {
        match self {
            Window::Count(w) => w.totals,
            Window::Time(w) => w.totals,
        }
    }
}

impl SlidingWindow for Window {
    #[inline]
    fn record(&mut self, now: Nanos, failure: bool, slow: bool) {
        match self {
            Window::Count(w) => w.record(now, failure, slow),
            Window::Time(w) => w.record(now, failure, slow),
        }
    }

    #[inline]
    fn tally(&mut self, now: Nanos) -> Tally {
        match self {
            Window::Count(w) => w.tally(now),
            Window::Time(w) => w.tally(now),
        }
    }

    fn clear(&mut self) {
        match self {
            Window::Count(w) => w.clear(),
            Window::Time(w) => w.clear(),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;

    /// A naive model: every call kept with its time; a read filters by the rule.
    #[derive(Default)]
    struct Naive {
        calls: Vec<(u64, bool, bool)>,
    }

    impl Naive {
        fn tally_where(&self, keep: impl Fn(usize, u64) -> bool) -> Tally {
            let mut t = Tally::default();
            for (i, &(at, f, s)) in self.calls.iter().enumerate() {
                if keep(i, at) {
                    t.add(f, s);
                }
            }
            t
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Record { failure: bool, slow: bool },
        Advance(u64),
        Clear,
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                6 => (any::<bool>(), any::<bool>()).prop_map(|(failure, slow)| Op::Record { failure, slow }),
                3 => (0u64..3_000).prop_map(Op::Advance),
                1 => Just(Op::Clear),
            ],
            0..300,
        )
    }

    /// Runs the ops against a window and the naive model; `keep(index, at, now, len)` says
    /// which naive calls are still in the window.
    fn check<W: SlidingWindow>(
        mut w: W,
        ops: &[Op],
        keep: impl Fn(usize, u64, u64, usize) -> bool,
    ) -> Result<(), TestCaseError> {
        let mut naive = Naive::default();
        let mut now = 0u64;
        for op in ops {
            match *op {
                Op::Record { failure, slow } => {
                    w.record(now * MS, failure, slow);
                    naive.calls.push((now, failure, slow));
                }
                Op::Advance(ms) => now += ms,
                Op::Clear => {
                    w.clear();
                    naive.calls.clear();
                }
            }
            let len = naive.calls.len();
            let expected = naive.tally_where(|i, at| keep(i, at, now, len));
            let got = w.tally(now * MS);
            prop_assert_eq!(got, expected);
            prop_assert!((0.0..=1.0).contains(&got.failure_rate()));
            prop_assert!((0.0..=1.0).contains(&got.slow_rate()));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn count_window_matches_naive_model(size in 1usize..20, ops in ops()) {
            check(CountWindow::new(size), &ops, |i, _, _, len| i + size >= len)?;
        }

        #[test]
        fn time_window_matches_naive_model(buckets in 1u32..12, width in 1u64..500, ops in ops()) {
            let duration = width * buckets as u64;
            check(TimeWindow::new(duration, buckets), &ops, |_, at, now, _| {
                at / width + buckets as u64 > now / width
            })?;
        }
    }

    /// The same behaviour asked of both windows, where they agree by construction.
    fn shared_suite(mut w: impl SlidingWindow) {
        assert_eq!(w.tally(0), Tally::default());
        w.record(0, true, false);
        w.record(0, false, true);
        w.record(0, false, false);
        let t = w.tally(0);
        assert_eq!((t.calls, t.failures, t.slow), (3, 1, 1));
        assert!((t.failure_rate() - 1.0 / 3.0).abs() < 1e-12);
        w.clear();
        assert_eq!(w.tally(0), Tally::default());
        assert_eq!(w.tally(0).failure_rate(), 0.0);
    }

    #[test]
    fn both_windows_pass_the_shared_suite() {
        shared_suite(CountWindow::new(10));
        shared_suite(TimeWindow::new(1000, 10));
        shared_suite(Window::Count(CountWindow::new(3)));
        shared_suite(Window::Time(TimeWindow::new(10, 10)));
    }

    #[test]
    fn count_window_slides() {
        let mut w = CountWindow::new(2);
        w.record(0, true, false);
        w.record(0, true, false);
        w.record(0, false, false);
        assert_eq!(
            w.tally(0),
            Tally {
                calls: 2,
                failures: 1,
                slow: 0
            }
        );
    }

    #[test]
    fn time_window_rolls_buckets_and_expires() {
        let mut w = TimeWindow::new(1000, 10); // 100 ms buckets
        w.record(50 * MS, true, false); // bucket 0
        w.record(950 * MS, false, false); // bucket 9
        assert_eq!(w.tally(999 * MS).calls, 2);
        assert_eq!(
            w.tally(1000 * MS).calls,
            1,
            "bucket 0 expires when bucket 10 starts"
        );
        assert_eq!(w.tally(1999 * MS).calls, 0);
        w.record(u64::MAX, true, true); // far future: everything older is gone
        assert_eq!(
            w.tally(u64::MAX),
            Tally {
                calls: 1,
                failures: 1,
                slow: 1
            }
        );
    }
}
