//! The node's generator: SHA-1 in counter mode over the caller's seed.
//!
//! Transaction ids and ids of refresh targets go on the wire, so they must not be
//! predictable from observed traffic: each 20-byte block is `SHA-1(domain ‖ seed ‖
//! counter)`, and the seed never leaves the node.

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
    fn derived_seeds_differ_by_purpose() {
        let s = [9; 32];
        assert_ne!(Rng::derive(&s, b"token"), Rng::derive(&s, b"store"));
    }
}
