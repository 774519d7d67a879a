//! The seedable random source of the contract: SplitMix64. The core never reads entropy itself;
//! an unseeded policy gets its seed from the binding (or the Rust caller).

/// SplitMix64 (Steele, Lea, Flood 2014): tiny state, good enough for jitter, identical in
/// every language that replays a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1) with 53 bits: `(x >> 11) * 2^-53`.
    #[inline]
    pub fn next_unit(&mut self) -> f64 {
        unit_from_u64(self.next_u64())
    }

    /// `a + (b - a) * u` for the next unit draw `u`.
    #[inline]
    pub fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next_unit()
    }
}

/// Maps a raw 64-bit draw to [0, 1) as the contract fixes.
#[inline]
pub fn unit_from_u64(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // Reference outputs of SplitMix64 seeded with 1234567 (from the published C code).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        assert_eq!(r.next_u64(), 9817491932198370423);
    }

    #[test]
    fn unit_draws_stay_in_range() {
        assert_eq!(unit_from_u64(0), 0.0);
        assert!(unit_from_u64(u64::MAX) < 1.0);
        let mut r = SplitMix64::new(0);
        for _ in 0..10_000 {
            let x = r.uniform(5.0, 10.0);
            assert!((5.0..10.0).contains(&x));
        }
    }
}
