//! The deterministic generator of the property tests (xorshift64): the
//! same seed gives the same cases on every machine, so a failure replays.

/// xorshift64 state; any nonzero seed.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next raw value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next value below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
