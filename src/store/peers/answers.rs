//! What a `get_peers` answer takes from the peer store: a random sample of one family's
//! peers for `values`, and the BEP 33 scrape filters `BFsd` and `BFpe`.

use super::torrent::{Entry, Ip, Key, Torrent};
use super::{PeerStore, live};
use crate::addr::Family;
use crate::id::Id;
use crate::rng::Stream;
use crate::store::{BloomFilter, advance, select};
use crate::time::Instant;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// BEP 33 scrape filters of one info-hash, for `BFsd` and `BFpe`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scrape {
    /// `BFsd`: the IPs of the seeds.
    pub seeds: BloomFilter,
    /// `BFpe`: the IPs of the downloaders (peers that are not seeds).
    pub peers: BloomFilter,
}

/// [`sample_list`] over the `family` peers of `t`.
#[inline]
fn sample_family(
    t: &mut Torrent,
    family: Family,
    noseed: bool,
    k: usize,
    rng: &mut Stream,
    emit: impl FnMut(SocketAddr),
) -> usize {
    match family {
        Family::V4 => sample_list(Ipv4Addr::list_mut(t), noseed, k, rng, emit),
        Family::V6 => sample_list(Ipv6Addr::list_mut(t), noseed, k, rng, emit),
    }
}

/// Hands `emit` a sample of up to `k` peers of `list`; returns how many it handed.
///
/// Without `noseed`, a partial Fisher–Yates shuffle of the list itself: O(`k`),
/// whatever the list's length (the order of a peer list carries no meaning). With
/// `noseed`, selection sampling over downloaders, then over seeds: one pass.
#[inline]
fn sample_list<A: Ip>(
    list: &mut [Entry<A>],
    noseed: bool,
    k: usize,
    rng: &mut Stream,
    mut emit: impl FnMut(SocketAddr),
) -> usize {
    let n = list.len();
    let k = k.min(n);
    if !noseed {
        for i in 0..k {
            // i < k <= n, so n - i >= 1 and i <= j < n: both indices are in bounds.
            let j = i.wrapping_add(rng.below(n.wrapping_sub(i)));
            let j = j.min(n.wrapping_sub(1));
            // The swap by hand: both entries in registers, two stores, and the drawn one
            // emitted from its register (`slice::swap` went through a stack temporary).
            let (Some(&drawn), Some(&held)) = (list.get(j), list.get(i)) else {
                break;
            };
            if let Some(slot) = list.get_mut(j) {
                *slot = held;
            }
            if let Some(slot) = list.get_mut(i) {
                *slot = drawn;
            }
            emit(drawn.addr.socket(drawn.port()));
        }
        return k;
    }
    let mut written = 0;
    let mut each = |e: &Entry<A>| {
        if written < k {
            emit(e.addr.socket(e.port()));
            written += 1;
        }
    };
    let downloaders = list.iter().filter(|e| !e.seed()).count();
    let first = k.min(downloaders);
    select(
        list.iter().filter(|e| !e.seed()),
        downloaders,
        first,
        rng,
        &mut each,
    );
    let seeds = n.saturating_sub(downloaders);
    let rest = k.saturating_sub(first);
    select(
        list.iter().filter(|e| e.seed()),
        seeds,
        rest,
        rng,
        &mut each,
    );
    written
}

impl PeerStore {
    /// Writes a random sample of the `family` peers of `info_hash` into `out` (as many as
    /// fit, each at most once) and returns how many were written. With `noseed`
    /// (BEP 33), downloaders fill the buffer before any seed. Allocates nothing.
    pub fn sample_peers(
        &mut self,
        now: Instant,
        info_hash: &Id,
        family: Family,
        noseed: bool,
        out: &mut [SocketAddr],
    ) -> usize {
        let mut slots = out.iter_mut();
        self.sample_peers_each(now, info_hash, family, noseed, slots.len(), |a| {
            if let Some(slot) = slots.next() {
                *slot = a;
            }
        })
    }

    /// [`PeerStore::sample_peers`] for at most `max` peers, each handed to `emit` as it
    /// is drawn (a `get_peers` answer writes them straight into the datagram); returns
    /// how many were handed. The same draws, so the same peers, as
    /// [`PeerStore::sample_peers`] with `max` slots.
    #[inline]
    pub(crate) fn sample_peers_each(
        &mut self,
        now: Instant,
        info_hash: &Id,
        family: Family,
        noseed: bool,
        max: usize,
        emit: impl FnMut(SocketAddr),
    ) -> usize {
        let Some((t, mut rng)) = self.live_to_sample(now, info_hash) else {
            return 0;
        };
        sample_family(t, family, noseed, max, &mut rng, emit)
    }

    /// The live torrent of `info_hash` at `now` and a random stream to sample it with.
    fn live_to_sample(&mut self, now: Instant, info_hash: &Id) -> Option<(&mut Torrent, Stream)> {
        let now = advance(&mut self.now, now);
        let PeerStore {
            torrents,
            by_activity,
            per_ip,
            peers,
            rng,
            ..
        } = self;
        let t = live(
            torrents,
            by_activity,
            per_ip,
            peers,
            now,
            Key::of(info_hash),
        )?;
        Some((t, rng.stream()))
    }

    /// BEP 33 `BFsd` and `BFpe` for `info_hash`, over the peers of both families; `None`
    /// when nothing is stored for it (the response then carries no filters).
    pub fn scrape(&mut self, now: Instant, info_hash: &Id) -> Option<Scrape> {
        let now = advance(&mut self.now, now);
        let t = self.live(now, Key::of(info_hash))?;
        let mut s = Scrape::default();
        let bits = t.v4.iter().map(|e| (e.seed(), e.bloom()));
        for (seed, bloom) in bits.chain(t.v6.iter().map(|e| (e.seed(), e.bloom()))) {
            let filter = if seed { &mut s.seeds } else { &mut s.peers };
            filter.insert_indices(bloom);
        }
        Some(s)
    }
}
