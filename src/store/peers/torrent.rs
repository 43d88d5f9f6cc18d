//! One info-hash's peers: the compact entries of both families, their expiry, and the
//! stalest entry to evict when the store is full.

use crate::addr::Family;
use crate::id::Id;
use crate::store::release;
use crate::time::Instant;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One stored peer of one family: 16 bytes for IPv4, 32 (28 on some 32-bit targets) for
/// IPv6.
///
/// Packed because a `get_peers` answer shuffles a list in place (a partial Fisher–Yates,
/// two entries written per peer sampled): at 16 bytes an IPv4 entry moves as one vector
/// register, where the plain layout's 24 bytes took three stores and a spill each
/// (benches/node.rs, `get_peers_values`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry<A> {
    /// The expiry's milliseconds in the high 48 bits ([`NEVER`] for one at or past
    /// that), the port in the low 16.
    stamp: u64,
    pub(super) addr: A,
    /// The BEP 33 bit indices of `addr` (hashed once at insertion, 11 bits each) in the
    /// low 22 bits, the seed flag in the top bit.
    tag: u32,
}

/// The stamp of an expiry 2^48 − 1 ms (8 900 years) or more after the epoch: never.
const NEVER: u64 = (1 << 48) - 1;
/// The port's bits in a stamp; the expiry sits above them.
const PORT_BITS: u32 = 16;
const PORT_MASK: u64 = (1 << PORT_BITS) - 1;
/// A BEP 33 bit index: 11 bits (the filters have 2 048).
const INDEX_MASK: u32 = 0x7ff;
const SEED_BIT: u32 = 1 << 31;

impl<A> Entry<A> {
    pub(super) fn new(addr: A, port: u16, expires: Instant, seed: bool, bloom: [u16; 2]) -> Self {
        let [b0, b1] = bloom.map(|b| u32::from(b) & INDEX_MASK);
        let mut e = Entry {
            stamp: u64::from(port),
            addr,
            tag: b0 | (b1 << 11),
        };
        e.set_expires(expires);
        e.set_seed(seed);
        e
    }

    pub(super) fn port(&self) -> u16 {
        // The low 16 bits: a truncation on purpose.
        self.stamp as u16
    }

    pub(super) fn set_port(&mut self, port: u16) {
        self.stamp = (self.stamp & !PORT_MASK) | u64::from(port);
    }

    /// When the entry expires; [`Instant::MAX`] for one announced so close to the end
    /// of time that its expiry does not fit in 48 bits.
    pub(super) fn expires(&self) -> Instant {
        match self.stamp >> PORT_BITS {
            NEVER => Instant::MAX,
            ms => Instant::from_millis(ms),
        }
    }

    pub(super) fn set_expires(&mut self, at: Instant) {
        let ms = at.as_millis().min(NEVER);
        self.stamp = (ms << PORT_BITS) | (self.stamp & PORT_MASK);
    }

    pub(super) fn seed(&self) -> bool {
        self.tag & SEED_BIT != 0
    }

    pub(super) fn set_seed(&mut self, seed: bool) {
        self.tag = if seed {
            self.tag | SEED_BIT
        } else {
            self.tag & !SEED_BIT
        };
    }

    /// The BEP 33 bit indices of the address.
    pub(super) fn bloom(&self) -> [u16; 2] {
        // Each index is masked to 11 bits: the casts keep every bit.
        [
            (self.tag & INDEX_MASK) as u16,
            ((self.tag >> 11) & INDEX_MASK) as u16,
        ]
    }
}

// 16 bytes on every target; an IPv6 entry is 28 where a `u64` aligns to 4, else 32.
const _: () = assert!(core::mem::size_of::<Entry<Ipv4Addr>>() == 16);
const _: () = assert!(core::mem::size_of::<Entry<Ipv6Addr>>() <= 32);

/// An info-hash as the store's map key: the 20 bytes as big-endian words, so a lookup
/// compares integers (no `memcmp` call per node) in the same order as [`Id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key(u64, u64, u32);

impl Key {
    pub(super) fn of(id: &Id) -> Key {
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
            c0,
            c1,
            c2,
            c3,
        ] = *id.as_bytes();
        Key(
            u64::from_be_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
            u64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
            u32::from_be_bytes([c0, c1, c2, c3]),
        )
    }

    pub(super) fn id(self) -> Id {
        let mut bytes = [0u8; 20];
        let parts = self
            .0
            .to_be_bytes()
            .into_iter()
            .chain(self.1.to_be_bytes())
            .chain(self.2.to_be_bytes());
        bytes.iter_mut().zip(parts).for_each(|(b, p)| *b = p);
        Id::from_bytes(bytes)
    }
}

#[derive(Debug)]
pub(super) struct Torrent {
    pub(super) v4: Vec<Entry<Ipv4Addr>>,
    pub(super) v6: Vec<Entry<Ipv6Addr>>,
    /// The latest announce: the key in `PeerStore::by_activity`.
    pub(super) last_announce: Instant,
    /// No entry expires before this (a lower bound; exact after a purge).
    pub(super) next_expiry: Instant,
}

/// The two address types, so one generic body serves both lists.
pub(super) trait Ip: Copy + Eq + fmt::Debug {
    fn ip(self) -> IpAddr;
    fn socket(self, port: u16) -> SocketAddr;
    fn list_mut(t: &mut Torrent) -> &mut Vec<Entry<Self>>;
}

impl Ip for Ipv4Addr {
    fn ip(self) -> IpAddr {
        IpAddr::V4(self)
    }
    fn socket(self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self), port)
    }
    fn list_mut(t: &mut Torrent) -> &mut Vec<Entry<Self>> {
        &mut t.v4
    }
}

impl Ip for Ipv6Addr {
    fn ip(self) -> IpAddr {
        IpAddr::V6(self)
    }
    fn socket(self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(self), port)
    }
    fn list_mut(t: &mut Torrent) -> &mut Vec<Entry<Self>> {
        &mut t.v6
    }
}

/// Drops the expired entries of `list`, lowering `next` to the earliest remaining expiry.
fn purge_list<A: Ip>(
    list: &mut Vec<Entry<A>>,
    now: Instant,
    per_ip: &mut BTreeMap<IpAddr, u32>,
    next: &mut Instant,
) {
    list.retain(|e| {
        if e.expires() <= now {
            release(per_ip, e.addr.ip());
            false
        } else {
            *next = (*next).min(e.expires());
            true
        }
    });
}

/// Index and expiry of the entry expiring first.
fn soonest<A>(list: &[Entry<A>]) -> Option<(usize, Instant)> {
    list.iter()
        .enumerate()
        .map(|(i, e)| (i, e.expires()))
        .min_by_key(|&(_, exp)| exp)
}

impl Torrent {
    pub(super) fn new(now: Instant) -> Self {
        Torrent {
            v4: Vec::new(),
            v6: Vec::new(),
            last_announce: now,
            next_expiry: Instant::MAX,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.v4.len().saturating_add(self.v6.len())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Drops expired entries; returns how many.
    pub(super) fn purge(&mut self, now: Instant, per_ip: &mut BTreeMap<IpAddr, u32>) -> usize {
        let before = self.len();
        let mut next = Instant::MAX;
        purge_list(&mut self.v4, now, per_ip, &mut next);
        purge_list(&mut self.v6, now, per_ip, &mut next);
        self.next_expiry = next;
        before.saturating_sub(self.len())
    }

    /// Removes the entry expiring first if it is stale; returns whether one was removed.
    pub(super) fn evict_stale(
        &mut self,
        stale: impl Fn(Instant) -> bool,
        per_ip: &mut BTreeMap<IpAddr, u32>,
    ) -> bool {
        let (family, i, expires) = match (soonest(&self.v4), soonest(&self.v6)) {
            (Some((i, a)), Some((_, b))) if a <= b => (Family::V4, i, a),
            (_, Some((j, b))) => (Family::V6, j, b),
            (Some((i, a)), None) => (Family::V4, i, a),
            (None, None) => return false,
        };
        if !stale(expires) {
            return false;
        }
        let ip = match family {
            Family::V4 => (i < self.v4.len()).then(|| self.v4.swap_remove(i).addr.ip()),
            Family::V6 => (i < self.v6.len()).then(|| self.v6.swap_remove(i).addr.ip()),
        };
        ip.map(|ip| release(per_ip, ip)).is_some()
    }

    pub(super) fn release_all(&self, per_ip: &mut BTreeMap<IpAddr, u32>) {
        self.v4.iter().for_each(|e| release(per_ip, e.addr.ip()));
        self.v6.iter().for_each(|e| release(per_ip, e.addr.ip()));
    }

    /// Gives back memory after many entries expired (never during an answer).
    pub(super) fn shrink(&mut self) {
        if self.v4.len().saturating_mul(4) < self.v4.capacity() {
            self.v4.shrink_to(self.v4.len().saturating_mul(2));
        }
        if self.v6.len().saturating_mul(4) < self.v6.capacity() {
            self.v6.shrink_to(self.v6.len().saturating_mul(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, Key};
    use crate::id::Id;
    use crate::time::Instant;
    use core::net::Ipv4Addr;

    #[test]
    fn an_entry_keeps_port_expiry_seed_and_filter_bits_apart() {
        let at = Instant::from_millis((1 << 48) - 2);
        let mut e = Entry::new(Ipv4Addr::LOCALHOST, 0xffff, at, true, [0x7ff, 0x7ff]);
        assert_eq!(
            (e.port(), e.expires(), e.seed(), e.bloom()),
            (0xffff, at, true, [0x7ff, 0x7ff])
        );
        e.set_port(1);
        e.set_seed(false);
        e.set_expires(Instant::from_millis(7));
        assert_eq!(
            (e.port(), e.expires(), e.seed(), e.bloom()),
            (1, Instant::from_millis(7), false, [0x7ff, 0x7ff])
        );
        let e = Entry::new(Ipv4Addr::LOCALHOST, 0, Instant::ZERO, false, [1, 0x400]);
        assert_eq!((e.port(), e.seed(), e.bloom()), (0, false, [1, 0x400]));
    }

    #[test]
    fn an_expiry_past_48_bits_of_milliseconds_never_comes() {
        for ms in [(1 << 48) - 1, 1 << 48, u64::MAX] {
            let e = Entry::new(
                Ipv4Addr::LOCALHOST,
                80,
                Instant::from_millis(ms),
                false,
                [0; 2],
            );
            assert_eq!(e.expires(), Instant::MAX);
            assert_eq!(e.port(), 80);
        }
    }

    #[test]
    fn keys_round_trip_and_sort_like_ids() {
        let mut edge = [0u8; 20];
        edge[7] = 1;
        edge[19] = 0xff;
        let ids: alloc::vec::Vec<Id> = (0u32..64)
            .map(|i| Id::from_entropy(&i.to_be_bytes()))
            .chain([Id::from_bytes([0; 20]), Id::from_bytes([0xff; 20])])
            .chain([Id::from_bytes(edge)])
            .collect();
        for a in &ids {
            assert_eq!(Key::of(a).id(), *a);
            for b in &ids {
                assert_eq!(Key::of(a).cmp(&Key::of(b)), a.cmp(b));
            }
        }
    }
}
