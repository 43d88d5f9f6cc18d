//! The crate's one random generator and its one key derivation, seeded once by the
//! caller.
//!
//! Transaction ids, ids of refresh targets and token secrets go on the wire, and which
//! stored peers an answer samples should not be predictable either, so everything random
//! comes from here: [`Rng::derive`] gives each component its own key from the caller's
//! seed (`SHA-1("btdht derive" ‖ seed ‖ purpose ‖ i)`), and an [`Rng`] on a key produces
//! 20-byte blocks `SHA-1("btdht rng" ‖ key ‖ counter)`; the seed never leaves the node.
//! Where one call needs many cheap draws (sampling stored peers), [`Rng::stream`] seeds a
//! wyrand [`Stream`] with SipHash-1-3 under the key (a keyed PRF far cheaper than a
//! SHA-1 block): one short hash per answer, not one per peer.

use sha1::{Digest, Sha1};

#[derive(Clone)]
pub(crate) struct Rng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 20],
    used: usize,
    /// Streams handed out ([`Rng::stream`]).
    streams: u64,
}

/// The two 16-byte halves of a 32-byte key.
fn split_key(seed: &[u8; 32]) -> [&[u8; 16]; 2] {
    let (a, b) = seed.split_at(16);
    // Both halves are 16 bytes long: the conversions cannot fail.
    let a = <&[u8; 16]>::try_from(a).unwrap_or(&[0; 16]);
    let b = <&[u8; 16]>::try_from(b).unwrap_or(&[0; 16]);
    [a, b]
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
            streams: 0,
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

    /// A fast stream for one call's draws: seeded with SipHash-1-3 (the rounds of
    /// Rust's `HashMap`), under the second half of the generator's key, of a count of
    /// the streams handed out. A keyed PRF like the SHA-1 blocks (unpredictable without
    /// the key), at a fraction of the cost of one: a `get_peers` answer draws one
    /// stream.
    pub(crate) fn stream(&mut self) -> Stream {
        let [_, key] = split_key(&self.seed);
        let n = self.streams;
        self.streams = self.streams.wrapping_add(1);
        Stream(siphash::<1, 3>(key, &n.to_le_bytes()))
    }
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012) of `msg` under `key`.
pub(crate) fn siphash24(key: &[u8; 16], msg: &[u8]) -> u64 {
    siphash::<2, 4>(key, msg)
}

/// The two little-endian words of a 16-byte key.
#[inline]
fn split_key_words(key: &[u8; 16]) -> [u64; 2] {
    let [
        a0,
        a1,
        a2,
        a3,
        a4,
        a5,
        a6,
        a7,
        b0,
        b1,
        b2,
        b3,
        b4,
        b5,
        b6,
        b7,
    ] = *key;
    [
        u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
        u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
    ]
}

/// SipHash-c-d: `C` rounds a block, `D` to finish.
#[inline]
fn siphash<const C: usize, const D: usize>(key: &[u8; 16], msg: &[u8]) -> u64 {
    // Up to 8 bytes as a little-endian word, without a call to `memcpy` (the usual
    // pieces are whole words).
    let word = |b: &[u8]| match <[u8; 8]>::try_from(b) {
        Ok(w) => u64::from_le_bytes(w),
        Err(_) => b
            .iter()
            .rev()
            .fold(0u64, |w, &byte| (w << 8) | u64::from(byte)),
    };
    let [k0, k1] = split_key_words(key);
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let round = |v: &mut [u64; 4]| {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    };
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        for _ in 0..C {
            round(v);
        }
        v[0] ^= m;
    };
    let mut chunks = msg.chunks_exact(8);
    for c in &mut chunks {
        compress(&mut v, word(c));
    }
    compress(
        &mut v,
        word(chunks.remainder()) | ((msg.len() as u64) << 56),
    );
    v[2] ^= 0xff;
    for _ in 0..D {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// wyrand: cheap draws within one call, seeded by [`Rng::stream`]; one 64×64-bit
/// multiply a draw (a sampled peer costs two: the draw and the bound).
pub(crate) struct Stream(u64);

impl Stream {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0).wrapping_mul(u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db));
        // The two halves of the product, folded: truncations on purpose.
        ((t >> 64) as u64) ^ (t as u64)
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

    /// The reference vectors of the SipHash paper (appendix A) and of its reference
    /// implementation's table: key 00..0f, messages 00..0e and the empty one.
    #[test]
    fn siphash24_matches_the_reference_vectors() {
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        assert_eq!(siphash24(&key, &msg), 0xa129_ca61_49be_45e5);
        assert_eq!(
            siphash24(&key, &[]).to_le_bytes(),
            [0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72]
        );
    }

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
