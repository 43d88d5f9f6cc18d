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

use crate::rng::{Rng, Stream};
use crate::time::Instant;
use alloc::collections::BTreeMap;
use core::net::IpAddr;

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

/// The store's generator for `seed` and `purpose`: its own key, derived from the seed.
fn store_rng(seed: [u8; 32], purpose: &[u8]) -> Rng {
    Rng::new(Rng::derive(&seed, purpose))
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
        let mut rng = store_rng([1; 32], b"test").stream();
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
        let mut rng = store_rng([2; 32], b"test").stream();
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
}
