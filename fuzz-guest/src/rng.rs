//! A small deterministic PRNG (SplitMix64): the same seed gives the same case
//! on every machine and every run, with no dependency.

/// SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_7e2a_f022_0001)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `0..n` as usize (`n > 0`).
    pub fn index(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// A value with a bias towards the interesting edges: zero, small,
    /// all ones, sign bits, powers of two, or plain random bits.
    pub fn interesting(&mut self) -> u64 {
        match self.below(10) {
            0 => 0,
            1 => self.below(16),
            2 => u64::MAX - self.below(4),
            3 => 1u64 << self.below(64),
            4 => (1u64 << 63) | self.below(4),
            5 => 0x7fff_ffff_ffff_ffff - self.below(2),
            6 => 0x8000_0000 - self.below(2),
            7 => self.below(0x1_0000),
            _ => self.next_u64(),
        }
    }
}
