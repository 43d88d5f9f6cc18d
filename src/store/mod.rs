//! What a node stores for others: announced peers, BEP 44 items, and the views it serves
//! from them (peer samples, BEP 33 scrape filters, BEP 51 info-hash samples).
//!
//! Everything here is a plain data structure. Time comes in as an [`Instant`] argument
//! (an earlier `now` than one already seen is treated as the latest one seen, so time
//! never runs backwards), randomness comes from a seed given at construction, and there is
//! no node logic: token checks, rate limits and message encoding stay with the caller.
//!
//! | type | what it holds |
//! |---|---|
//! | [`PeerStore`] | `announce_peer` results: peers per info-hash, with BEP 33 seed flags |
//! | [`BloomFilter`] | a BEP 33 scrape filter (`BFsd`, `BFpe`) |
//! | [`ItemStore`] | BEP 44 immutable and mutable items |
//! | [`SignatureVerifier`], [`SignatureSigner`] | ed25519 for BEP 44 mutable items: the caller's, or (feature `ed25519`) `Ed25519Verifier`, `Ed25519Signer` |
//! | [`InfoHashSampler`] | the BEP 51 `sample_infohashes` answer, precomputed per interval |
//!
//! # Bounded memory, fair eviction
//!
//! Every collection has a cap in its config, with a documented default, and no operation
//! takes it past the cap. When a cap is reached, the rule is the same in every store:
//! **nothing fresh is ever displaced**. An entry is *fresh* while it was announced (or
//! put) less than `protect_for` ago — the usual re-announce interval, so an honest
//! publisher keeps its entries fresh by doing what it does anyway. A newcomer may take the
//! place of the stalest candidate only if that candidate is no longer fresh; otherwise the
//! newcomer is refused. Flooding a full store therefore evicts only entries whose owners
//! have stopped re-announcing, and holding space costs an attacker a steady stream of
//! re-announces, each needing a token bound to an IP address it really has. See
//! [`peers`](PeerStore#eviction) and [`items`](ItemStore#eviction) for the details.
//!
//! How many peers or samples fit in one answer is [`krpc::budget`](crate::krpc::budget)'s
//! business: the store fills the caller's buffer up to the count it is given.

mod bloom;
#[cfg(feature = "ed25519")]
mod ed25519;
mod items;
mod peers;
mod samples;

pub use bloom::{BloomFilter, bloom_indices};
#[cfg(feature = "ed25519")]
pub use ed25519::{Ed25519Signer, Ed25519Verifier};
pub use items::{
    Item, ItemError, ItemStore, ItemStoreConfig, MAX_SALT_LEN, MAX_SIGNED_BUFFER_LEN,
    MAX_VALUE_LEN, MutableFields, SignatureSigner, SignatureVerifier, Stored, immutable_target,
    is_valid_immutable, mutable_target, put_target, sign_item, signed_buffer,
};
pub use peers::{AnnounceError, Announced, PeerInfo, PeerStore, PeerStoreConfig, Scrape};
pub use samples::{InfoHashSample, InfoHashSampler, MAX_SAMPLES, SamplerConfig};

use crate::time::Instant;
use alloc::collections::BTreeMap;
use core::net::IpAddr;
use sha1::{Digest, Sha1};

/// One more entry for `ip` in a per-IP count.
fn bump(per_ip: &mut BTreeMap<IpAddr, u32>, ip: IpAddr) {
    let c = per_ip.entry(ip).or_insert(0);
    *c = c.saturating_add(1);
}

/// One fewer entry for `ip` in a per-IP count.
fn release(per_ip: &mut BTreeMap<IpAddr, u32>, ip: IpAddr) {
    if let Some(c) = per_ip.get_mut(&ip) {
        *c = c.saturating_sub(1);
        if *c == 0 {
            per_ip.remove(&ip);
        }
    }
}

/// Clamps the caller's clock so it never runs backwards.
fn advance(latest: &mut Instant, now: Instant) -> Instant {
    if now > *latest {
        *latest = now;
    }
    *latest
}

/// The stores' random source: one SHA-1 block per [`Rng::stream`] (keyed by the caller's
/// seed and a counter), stretched within one call by SplitMix64.
///
/// Sampling is not a secret, but a sample an observer could predict would let it aim
/// announces at the slots a query is about to return; hashing a secret seed per call keeps
/// that out of reach while costing one SHA-1 per answer, not one per peer.
#[derive(Clone)]
struct Rng {
    key: [u8; 32],
    counter: u64,
}

impl core::fmt::Debug for Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rng { .. }")
    }
}

impl Rng {
    fn new(seed: [u8; 32], purpose: &[u8]) -> Self {
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_mut(20).enumerate() {
            let mut h = Sha1::new();
            h.update(b"btdht store");
            h.update(purpose);
            h.update(seed);
            h.update([i as u8]);
            let d: [u8; 20] = h.finalize().into();
            for (k, b) in chunk.iter_mut().zip(d) {
                *k = b;
            }
        }
        Rng { key, counter: 0 }
    }

    /// A fresh generator for one call.
    fn stream(&mut self) -> Stream {
        let mut h = Sha1::new();
        h.update(self.key);
        h.update(self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        let d: [u8; 20] = h.finalize().into();
        let [a, b, c, d_, e, f, g, h_, ..] = d;
        Stream(u64::from_le_bytes([a, b, c, d_, e, f, g, h_]))
    }
}

/// SplitMix64.
struct Stream(u64);

impl Stream {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0), by multiply-and-shift.
    fn below(&mut self, n: usize) -> usize {
        let wide = u128::from(self.next_u64()).wrapping_mul(n as u128) >> 64;
        usize::try_from(wide).unwrap_or(0)
    }
}

/// Selection sampling (Knuth's Algorithm S): calls `emit` for `k` of the `n` items,
/// each subset equally likely, in one pass and without allocating. `n` must be the
/// number of items; with fewer, fewer are emitted.
fn select<T>(
    items: impl Iterator<Item = T>,
    mut n: usize,
    mut k: usize,
    rng: &mut Stream,
    mut emit: impl FnMut(T),
) {
    for item in items {
        if k == 0 {
            return;
        }
        if rng.below(n) < k {
            emit(item);
            k -= 1;
        }
        n = n.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn selection_sampling_returns_exactly_k_distinct_items() {
        let mut rng = Rng::new([1; 32], b"test").stream();
        for k in 0..=10 {
            let mut out = Vec::new();
            select(0..10, 10, k, &mut rng, |x| out.push(x));
            assert_eq!(out.len(), k);
            out.dedup();
            assert_eq!(out.len(), k);
        }
    }

    #[test]
    fn selection_sampling_reaches_every_item() {
        let mut rng = Rng::new([2; 32], b"test").stream();
        let mut seen = [0u32; 10];
        for _ in 0..1000 {
            select(0..10usize, 10, 3, &mut rng, |x| {
                if let Some(s) = seen.get_mut(x) {
                    *s += 1;
                }
            });
        }
        // Each item is expected 300 times.
        assert!(seen.iter().all(|&s| (200..400).contains(&s)), "{seen:?}");
    }

    #[test]
    fn streams_differ_per_call_and_per_seed() {
        let mut a = Rng::new([1; 32], b"x");
        let mut b = Rng::new([2; 32], b"x");
        let (x, y) = (a.stream().next_u64(), a.stream().next_u64());
        assert_ne!(x, y);
        assert_ne!(x, b.stream().next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut s = Rng::new([3; 32], b"x").stream();
        assert_eq!(s.below(0), 0);
        assert!((0..1000).all(|_| s.below(7) < 7));
    }
}
