//! The seeded generator of the simulations: SplitMix64, small and the same
//! on every platform and with every version of every crate, so a seed
//! names one schedule.

use rand::RngCore;

/// A deterministic generator (SplitMix64) that remembers its seed.
#[derive(Clone, Debug)]
pub struct SimRng {
    seed: u64,
    state: u64,
}

impl SimRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> SimRng {
        SimRng { seed, state: seed }
    }

    /// The seed this generator started from (failure messages print it).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The next number of the stream.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0);
        self.next_u64() % bound
    }

    /// True with probability `probability` (never for 0).
    pub fn chance(&mut self, probability: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= probability && probability > 0.0
    }
}

/// So that `rand::Rng`'s helpers (`gen_range`, `gen_bool`) draw from it.
impl RngCore for SimRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        SimRng::next_u64(self)
    }

    fn fill_bytes(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, bytes: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_names_one_stream() {
        let (mut first, mut second) = (SimRng::new(7), SimRng::new(7));
        let drawn: Vec<u64> = (0..4).map(|_| first.next_u64()).collect();
        assert_eq!(drawn, (0..4).map(|_| second.next_u64()).collect::<Vec<_>>());
        assert_ne!(
            drawn,
            (0..4)
                .map(|_| SimRng::new(8).next_u64())
                .collect::<Vec<_>>()
        );
        assert!((0..100).all(|_| first.below(3) < 3));
        assert!(!first.chance(0.0) && first.chance(1.0));
    }
}
