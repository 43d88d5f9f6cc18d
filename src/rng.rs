//! The crate's one random generator and its one key derivation, seeded once by the
//! caller.
//!
//! Transaction ids, ids of refresh targets and token secrets go on the wire, and which
//! stored peers an answer samples should not be predictable either, so everything random
//! comes from here: [`Rng::derive`] gives each component its own key from the caller's
//! seed (`SHA-1("btdht derive" ‖ seed ‖ purpose ‖ i)`), and an [`Rng`] on a key produces
//! 20-byte blocks `SHA-1("btdht rng" ‖ key ‖ counter)`; the seed never leaves the node.
//! Where one call needs many cheap draws (sampling stored peers), [`Rng::stream`] seeds a
//! SplitMix64 [`Stream`] from one block: one SHA-1 per answer, not one per peer.

use sha1::{Digest, Sha1};

#[derive(Clone)]
pub(crate) struct Rng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 20],
    used: usize,
}

impl core::fmt::Debug for Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rng { .. }")
    }
}

impl Rng {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Rng {
            seed,
            counter: 0,
            block: [0; 20],
            used: 20,
        }
    }

    /// A sub-seed for another component (token secrets, store sampling), so no two
    /// components share a key.
    pub(crate) fn derive(seed: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, chunk) in out.chunks_mut(20).enumerate() {
            let mut h = Sha1::new();
            h.update(b"btdht derive");
            h.update(seed);
            h.update(purpose);
            h.update([i as u8]);
            let d: [u8; 20] = h.finalize().into();
            for (o, b) in chunk.iter_mut().zip(d) {
                *o = b;
            }
        }
        out
    }

    fn refill(&mut self) {
        let mut h = Sha1::new();
        h.update(b"btdht rng");
        h.update(self.seed);
        h.update(self.counter.to_be_bytes());
        self.block = h.finalize().into();
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if self.used >= self.block.len() {
                self.refill();
            }
            *byte = self.block.get(self.used).copied().unwrap_or(0);
            self.used += 1;
        }
    }

    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.bytes())
    }

    /// A fast stream for one call's draws, seeded from the generator.
    pub(crate) fn stream(&mut self) -> Stream {
        Stream(u64::from_le_bytes(self.bytes()))
    }
}

/// SplitMix64: cheap draws within one call, seeded by [`Rng::stream`].
pub(crate) struct Stream(u64);

impl Stream {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0), by multiply-and-shift.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let wide = u128::from(self.next_u64()).wrapping_mul(n as u128) >> 64;
        usize::try_from(wide).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream_and_another_seed_another() {
        let a: [u8; 64] = Rng::new([1; 32]).bytes();
        let b: [u8; 64] = Rng::new([1; 32]).bytes();
        let c: [u8; 64] = Rng::new([2; 32]).bytes();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn streams_differ_per_call_and_per_seed() {
        let mut a = Rng::new([1; 32]);
        let mut b = Rng::new([2; 32]);
        let (x, y) = (a.stream().next_u64(), a.stream().next_u64());
        assert_ne!(x, y);
        assert_ne!(x, b.stream().next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut s = Rng::new([3; 32]).stream();
        assert_eq!(s.below(0), 0);
        assert!((0..1000).all(|_| s.below(7) < 7));
    }

    #[test]
    fn derived_seeds_differ_by_purpose() {
        let s = [9; 32];
        assert_ne!(Rng::derive(&s, b"token"), Rng::derive(&s, b"store"));
    }
}
