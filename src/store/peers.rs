//! The peer store: what `announce_peer` stores and `get_peers` returns.

use super::{BloomFilter, Rng, Stream, advance, bloom::bloom_indices, bump, release, select};
use crate::addr::Family;
use crate::id::Id;
use crate::time::Instant;
use alloc::collections::btree_map::Entry as Slot;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use arrayvec::ArrayVec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

/// Caps and lifetimes of a [`PeerStore`]. Every field has a default; lower the caps for
/// small devices (a few torrents of a few peers work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerStoreConfig {
    /// Info-hashes held at once (default 2000, libtorrent's `dht_max_torrents`).
    pub max_torrents: usize,
    /// Peers held per info-hash, both families together (default 500, libtorrent's
    /// `dht_max_peers`; BEP 33 filters saturate near 8000, so stay well below 6000).
    pub max_peers_per_torrent: usize,
    /// Peers held in total (default 100 000: about 3 MB of entries at most).
    pub max_peers: usize,
    /// Entries (ports) one IP address may hold in one info-hash (default 4). A new port
    /// beyond this replaces that IP's own entry closest to expiry.
    pub max_ports_per_ip: usize,
    /// Entries one IP address may hold in the whole store (default 64; raise it for a
    /// private swarm where one host announces many torrents to few nodes).
    pub max_entries_per_ip: usize,
    /// How long an announce is kept without a re-announce (default 30 minutes).
    pub peer_ttl: Duration,
    /// An entry announced less than this long ago is never evicted to make room
    /// (default 15 minutes, the usual re-announce interval).
    pub protect_for: Duration,
}

impl Default for PeerStoreConfig {
    fn default() -> Self {
        PeerStoreConfig {
            max_torrents: 2000,
            max_peers_per_torrent: 500,
            max_peers: 100_000,
            max_ports_per_ip: 4,
            max_entries_per_ip: 64,
            peer_ttl: Duration::from_secs(30 * 60),
            protect_for: Duration::from_secs(15 * 60),
        }
    }
}

/// What [`PeerStore::announce`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Announced {
    /// A new entry, in free room.
    Added,
    /// A new entry, in room made by evicting a stale entry or a stale info-hash.
    AddedByEviction,
    /// The peer was already stored: its expiry and seed flag were refreshed.
    Refreshed,
    /// The peer's IP already held [`PeerStoreConfig::max_ports_per_ip`] entries for this
    /// info-hash: the one closest to expiry now holds the new port.
    ReplacedSameIp,
}

/// Why [`PeerStore::announce`] stored nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AnnounceError {
    /// Port 0, or an unspecified, multicast or broadcast IP: not a reachable peer.
    InvalidAddress,
    /// The IP holds [`PeerStoreConfig::max_entries_per_ip`] entries already (or
    /// `max_ports_per_ip` is 0).
    IpLimit,
    /// The info-hash holds its maximum of peers, all fresh.
    TorrentFull,
    /// The store holds its maximum of info-hashes, all fresh.
    TableFull,
    /// The store holds its maximum of peers and the stalest candidate is fresh.
    StoreFull,
}

impl fmt::Display for AnnounceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AnnounceError::InvalidAddress => "not a reachable peer address",
            AnnounceError::IpLimit => "too many entries for this IP address",
            AnnounceError::TorrentFull => "the info-hash's peer list is full",
            AnnounceError::TableFull => "the info-hash table is full",
            AnnounceError::StoreFull => "the peer store is full",
        })
    }
}

impl core::error::Error for AnnounceError {}

/// A stored peer, as [`PeerStore::peers`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerInfo {
    /// The peer's address (IP and TCP/uTP port).
    pub addr: SocketAddr,
    /// BEP 33: it announced itself as a seed.
    pub seed: bool,
    /// When it is dropped unless announced again.
    pub expires: Instant,
}

/// BEP 33 scrape filters of one info-hash, for `BFsd` and `BFpe`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scrape {
    /// `BFsd`: the IPs of the seeds.
    pub seeds: BloomFilter,
    /// `BFpe`: the IPs of the downloaders (peers that are not seeds).
    pub peers: BloomFilter,
}

/// One stored peer of one family: 24 bytes for IPv4, 32 for IPv6.
#[derive(Clone, Copy, Debug)]
struct Entry<A> {
    expires: Instant,
    addr: A,
    port: u16,
    /// BEP 33 bit indices of `addr`, hashed once at insertion.
    bloom: [u16; 2],
    seed: bool,
}

/// An info-hash as the store's map key: the 20 bytes as big-endian words, so a lookup
/// compares integers (no `memcmp` call per node) in the same order as [`Id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u64, u64, u32);

impl Key {
    fn of(id: &Id) -> Key {
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

    fn id(self) -> Id {
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
struct Torrent {
    v4: Vec<Entry<Ipv4Addr>>,
    v6: Vec<Entry<Ipv6Addr>>,
    /// The latest announce: the key in `PeerStore::by_activity`.
    last_announce: Instant,
    /// No entry expires before this (a lower bound; exact after a purge).
    next_expiry: Instant,
}

/// The two address types, so one generic body serves both lists.
trait Ip: Copy + Eq + fmt::Debug {
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
        if e.expires <= now {
            release(per_ip, e.addr.ip());
            false
        } else {
            *next = (*next).min(e.expires);
            true
        }
    });
}

/// Index and expiry of the entry expiring first.
fn soonest<A>(list: &[Entry<A>]) -> Option<(usize, Instant)> {
    list.iter()
        .enumerate()
        .map(|(i, e)| (i, e.expires))
        .min_by_key(|&(_, exp)| exp)
}

/// [`sample_list`] over the `family` peers of `t`.
fn sample_family(
    t: &mut Torrent,
    family: Family,
    noseed: bool,
    out: &mut [SocketAddr],
    rng: &mut Stream,
) -> usize {
    match family {
        Family::V4 => sample_list(Ipv4Addr::list_mut(t), noseed, out, rng),
        Family::V6 => sample_list(Ipv6Addr::list_mut(t), noseed, out, rng),
    }
}

/// Writes a sample of `list` into `out`; returns how many were written.
///
/// Without `noseed`, a partial Fisher–Yates shuffle of the list itself: O(`out.len()`),
/// whatever the list's length (the order of a peer list carries no meaning). With
/// `noseed`, selection sampling over downloaders, then over seeds: one pass.
fn sample_list<A: Ip>(
    list: &mut [Entry<A>],
    noseed: bool,
    out: &mut [SocketAddr],
    rng: &mut Stream,
) -> usize {
    let k = out.len().min(list.len());
    if !noseed {
        let n = list.len();
        for (i, slot) in out.iter_mut().take(k).enumerate() {
            let j = i.saturating_add(rng.below(n.saturating_sub(i)));
            // i < k <= n and j < n: both indices are in bounds.
            list.swap(i, j.min(n.saturating_sub(1)));
            if let Some(e) = list.get(i) {
                *slot = e.addr.socket(e.port);
            }
        }
        return k;
    }
    let mut written = 0;
    let mut emit = |e: &Entry<A>| {
        if let Some(slot) = out.get_mut(written) {
            *slot = e.addr.socket(e.port);
            written += 1;
        }
    };
    let downloaders = list.iter().filter(|e| !e.seed).count();
    let first = k.min(downloaders);
    select(
        list.iter().filter(|e| !e.seed),
        downloaders,
        first,
        rng,
        &mut emit,
    );
    let seeds = list.len().saturating_sub(downloaders);
    let rest = k.saturating_sub(first);
    select(list.iter().filter(|e| e.seed), seeds, rest, rng, &mut emit);
    written
}

/// [`PeerStore::live`] over the store's fields, so a caller can keep using the others.
fn live<'a>(
    torrents: &'a mut BTreeMap<Key, Torrent>,
    by_activity: &mut BTreeSet<(Instant, Key)>,
    per_ip: &mut BTreeMap<IpAddr, u32>,
    peers: &mut usize,
    now: Instant,
    key: Key,
) -> Option<&'a mut Torrent> {
    let Slot::Occupied(mut slot) = torrents.entry(key) else {
        return None;
    };
    let t = slot.get_mut();
    if t.next_expiry <= now {
        let removed = t.purge(now, per_ip);
        *peers = peers.saturating_sub(removed);
        if t.is_empty() {
            // Nothing left to release: every entry went through `purge`.
            let t = slot.remove();
            by_activity.remove(&(t.last_announce, key));
            return None;
        }
    }
    Some(slot.into_mut())
}

impl Torrent {
    fn new(now: Instant) -> Self {
        Torrent {
            v4: Vec::new(),
            v6: Vec::new(),
            last_announce: now,
            next_expiry: Instant::MAX,
        }
    }

    fn len(&self) -> usize {
        self.v4.len().saturating_add(self.v6.len())
    }

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Drops expired entries; returns how many.
    fn purge(&mut self, now: Instant, per_ip: &mut BTreeMap<IpAddr, u32>) -> usize {
        let before = self.len();
        let mut next = Instant::MAX;
        purge_list(&mut self.v4, now, per_ip, &mut next);
        purge_list(&mut self.v6, now, per_ip, &mut next);
        self.next_expiry = next;
        before.saturating_sub(self.len())
    }

    /// Removes the entry expiring first if it is stale; returns whether one was removed.
    fn evict_stale(
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

    fn release_all(&self, per_ip: &mut BTreeMap<IpAddr, u32>) {
        self.v4.iter().for_each(|e| release(per_ip, e.addr.ip()));
        self.v6.iter().for_each(|e| release(per_ip, e.addr.ip()));
    }

    /// Gives back memory after many entries expired (never during an answer).
    fn shrink(&mut self) {
        if self.v4.len().saturating_mul(4) < self.v4.capacity() {
            self.v4.shrink_to(self.v4.len().saturating_mul(2));
        }
        if self.v6.len().saturating_mul(4) < self.v6.capacity() {
            self.v6.shrink_to(self.v6.len().saturating_mul(2));
        }
    }
}

/// Peers announced for info-hashes (`announce_peer`), and the answers built from them:
/// random samples for `get_peers` and BEP 33 scrape filters.
///
/// Each entry is an info-hash and a peer address (IP and port; IPv4-mapped IPv6 addresses
/// are stored as IPv4), with a BEP 33 seed flag and an expiry. A re-announce of the same
/// address refreshes the expiry and the seed flag. Expired entries are dropped lazily when
/// their info-hash is touched, and by [`PeerStore::expire`], which a node calls now and
/// then; memory never exceeds the caps of [`PeerStoreConfig`] either way.
///
/// IPv4 and IPv6 peers of an info-hash are kept apart (BEP 32): a query that came over
/// IPv4 gets IPv4 peers, one over IPv6 gets IPv6 peers. The caps count both together.
///
/// # Eviction
///
/// Tokens bind an announce to the IP the `get_peers` came from, so an attacker can only
/// announce from addresses it really has; a store full of fresh honest entries must not be
/// flushed by one such address announcing 100 000 random info-hashes or 100 000 ports.
///
/// - **Per IP:** an IP holds at most `max_ports_per_ip` entries in one info-hash — a new
///   port beyond that replaces the same IP's own entry closest to expiry — and at most
///   `max_entries_per_ip` in the whole store (refused beyond). Filling the 2000-torrent
///   table takes 32 addresses, filling one torrent's 500 slots 125.
/// - **Fresh entries are never evicted.** An entry announced less than `protect_for`
///   ago (15 minutes: the usual re-announce interval) is fresh; an info-hash is fresh
///   while its latest announce is. When a peer list is full, a new peer replaces the entry
///   closest to expiry if that entry is stale, else it is refused. When the table is full,
///   a new info-hash replaces the least recently announced info-hash if that one is
///   stale, else it is refused. When the total is reached, the new peer replaces the entry
///   closest to expiry of the least recently announced info-hash if it is stale, else it
///   is refused.
///
/// Honest peers re-announce every 15 to 30 minutes and so stay fresh; entries whose owner
/// left make room first; an attacker keeps its slots only by re-announcing them, with a
/// valid token each time, from a bounded number of entries per address.
///
/// # Answers
///
/// [`PeerStore::sample_peers`] writes a uniformly random sample of one family's peers into
/// the caller's buffer — size it with [`values_that_fit`](super::values_that_fit), at most
/// [`MAX_VALUES_V4`](super::MAX_VALUES_V4) = 43 or [`MAX_VALUES_V6`](super::MAX_VALUES_V6)
/// = 16 for the worst-case envelope — and allocates nothing. With `noseed` (BEP 33) it
/// fills the buffer with downloaders first, then seeds. Randomness comes from the seed
/// given to [`PeerStore::new`].
///
/// ```
/// use btdht::addr::Family;
/// use btdht::store::{Announced, PeerStore, PeerStoreConfig};
/// use btdht::time::Instant;
/// use btdht::Id;
/// use core::net::SocketAddr;
/// use core::time::Duration;
///
/// let mut store = PeerStore::new(PeerStoreConfig::default(), [7; 32]);
/// let info_hash = Id::from_bytes([1; 20]);
/// let t0 = Instant::from_millis(1_000);
/// let seed: SocketAddr = "203.0.113.1:6881".parse()?;
/// let leecher: SocketAddr = "203.0.113.2:6881".parse()?;
/// assert_eq!(store.announce(t0, info_hash, seed, true), Ok(Announced::Added));
/// assert_eq!(store.announce(t0, info_hash, leecher, false), Ok(Announced::Added));
///
/// let mut values = [SocketAddr::from(([0, 0, 0, 0], 0)); btdht::store::MAX_VALUES_V4];
/// let n = store.sample_peers(t0, &info_hash, Family::V4, true, &mut values[..1]);
/// assert_eq!(&values[..n], &[leecher]); // noseed: downloaders first
///
/// let later = t0 + Duration::from_secs(31 * 60);
/// assert_eq!(store.sample_peers(later, &info_hash, Family::V4, false, &mut values), 0);
/// # Ok::<(), core::net::AddrParseError>(())
/// ```
#[derive(Debug)]
pub struct PeerStore {
    config: PeerStoreConfig,
    torrents: BTreeMap<Key, Torrent>,
    /// Every torrent by its latest announce: the least recently announced first.
    by_activity: BTreeSet<(Instant, Key)>,
    /// Entries per IP address over the whole store.
    per_ip: BTreeMap<IpAddr, u32>,
    peers: usize,
    now: Instant,
    rng: Rng,
}

impl PeerStore {
    /// An empty store; `seed` (secret, e.g. derived from the node's seed) drives sampling.
    pub fn new(config: PeerStoreConfig, seed: [u8; 32]) -> Self {
        PeerStore {
            config,
            torrents: BTreeMap::new(),
            by_activity: BTreeSet::new(),
            per_ip: BTreeMap::new(),
            peers: 0,
            now: Instant::ZERO,
            rng: Rng::new(seed, b"peers"),
        }
    }

    /// The settings.
    pub fn config(&self) -> &PeerStoreConfig {
        &self.config
    }

    /// Info-hashes held, including any whose peers all expired since the last sweep.
    pub fn len(&self) -> usize {
        self.torrents.len()
    }

    /// Whether no info-hash is held.
    pub fn is_empty(&self) -> bool {
        self.torrents.is_empty()
    }

    /// Peers held over all info-hashes, including expired ones not yet swept.
    pub fn peer_len(&self) -> usize {
        self.peers
    }

    /// Info-hashes with at least one unexpired peer at `now` (BEP 51's `num`).
    pub fn live_len(&self, now: Instant) -> usize {
        let ttl = self.config.peer_ttl;
        let dead = self
            .by_activity
            .iter()
            .take_while(|(t, _)| *t + ttl <= now)
            .count();
        self.torrents.len().saturating_sub(dead)
    }

    /// Whether `info_hash` has an unexpired peer at `now`.
    pub fn contains(&self, now: Instant, info_hash: &Id) -> bool {
        let ttl = self.config.peer_ttl;
        self.torrents
            .get(&Key::of(info_hash))
            .is_some_and(|t| t.last_announce + ttl > now)
    }

    /// The info-hashes with an unexpired peer at `now`, in ascending order.
    pub fn info_hashes(&self, now: Instant) -> impl Iterator<Item = Id> + '_ {
        let ttl = self.config.peer_ttl;
        self.torrents
            .iter()
            .filter(move |(_, t)| t.last_announce + ttl > now)
            .map(|(key, _)| key.id())
    }

    /// The unexpired peers of `info_hash` at `now`, IPv4 first.
    pub fn peers(&self, now: Instant, info_hash: &Id) -> impl Iterator<Item = PeerInfo> + '_ {
        fn info<A: Ip>(e: &Entry<A>) -> PeerInfo {
            PeerInfo {
                addr: e.addr.socket(e.port),
                seed: e.seed,
                expires: e.expires,
            }
        }
        let t = self.torrents.get(&Key::of(info_hash));
        let v4 = t.into_iter().flat_map(|t| t.v4.iter().map(info));
        let v6 = t.into_iter().flat_map(|t| t.v6.iter().map(info));
        v4.chain(v6).filter(move |p| p.expires > now)
    }

    /// Stores (or refreshes) `peer` for `info_hash`, following the
    /// [eviction policy](PeerStore#eviction). The caller has checked the token.
    pub fn announce(
        &mut self,
        now: Instant,
        info_hash: Id,
        peer: SocketAddr,
        seed: bool,
    ) -> Result<Announced, AnnounceError> {
        let now = advance(&mut self.now, now);
        let ip = peer.ip().to_canonical();
        let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
        if peer.port() == 0 || ip.is_unspecified() || ip.is_multicast() || broadcast {
            return Err(AnnounceError::InvalidAddress);
        }
        let key = Key::of(&info_hash);
        self.live(now, key);
        match ip {
            IpAddr::V4(a) => self.announce_as(now, key, a, peer.port(), seed),
            IpAddr::V6(a) => self.announce_as(now, key, a, peer.port(), seed),
        }
    }

    fn touch(by_activity: &mut BTreeSet<(Instant, Key)>, t: &mut Torrent, id: Key, now: Instant) {
        if t.last_announce != now {
            by_activity.remove(&(t.last_announce, id));
            t.last_announce = now;
            by_activity.insert((now, id));
        }
    }

    fn announce_as<A: Ip>(
        &mut self,
        now: Instant,
        info_hash: Key,
        addr: A,
        port: u16,
        seed: bool,
    ) -> Result<Announced, AnnounceError> {
        let expires = now + self.config.peer_ttl;
        if let Some(t) = self.torrents.get_mut(&info_hash) {
            let list = A::list_mut(t);
            if let Some(e) = list.iter_mut().find(|e| e.addr == addr && e.port == port) {
                e.expires = expires;
                e.seed = seed;
                Self::touch(&mut self.by_activity, t, info_hash, now);
                return Ok(Announced::Refreshed);
            }
            let same_ip = list.iter().filter(|e| e.addr == addr).count();
            if same_ip >= self.config.max_ports_per_ip {
                let oldest = list
                    .iter_mut()
                    .filter(|e| e.addr == addr)
                    .min_by_key(|e| e.expires);
                let Some(e) = oldest else {
                    return Err(AnnounceError::IpLimit);
                };
                e.port = port;
                e.seed = seed;
                e.expires = expires;
                Self::touch(&mut self.by_activity, t, info_hash, now);
                return Ok(Announced::ReplacedSameIp);
            }
        } else if self.config.max_ports_per_ip == 0 {
            return Err(AnnounceError::IpLimit);
        }
        let held = self.per_ip.get(&addr.ip()).map_or(0, |&c| c as usize);
        if held >= self.config.max_entries_per_ip {
            return Err(AnnounceError::IpLimit);
        }

        let evicted = self.make_room(now, &info_hash)?;

        let t = match self.torrents.get_mut(&info_hash) {
            Some(t) => {
                Self::touch(&mut self.by_activity, t, info_hash, now);
                t
            }
            None => {
                self.by_activity.insert((now, info_hash));
                self.torrents
                    .entry(info_hash)
                    .or_insert_with(|| Torrent::new(now))
            }
        };
        let list = A::list_mut(t);
        if list.len() == list.capacity() {
            // Grow by doubling, but never past the per-torrent cap.
            let room = self.config.max_peers_per_torrent.saturating_sub(list.len());
            list.reserve_exact(list.len().max(4).min(room).max(1));
        }
        list.push(Entry {
            expires,
            addr,
            port,
            bloom: bloom_indices(addr.ip()),
            seed,
        });
        t.next_expiry = t.next_expiry.min(expires);
        bump(&mut self.per_ip, addr.ip());
        self.peers = self.peers.saturating_add(1);
        Ok(if evicted {
            Announced::AddedByEviction
        } else {
            Announced::Added
        })
    }

    /// Makes room for one new entry of `info_hash`, evicting at most one stale candidate;
    /// returns whether it evicted. Nothing is evicted when the answer is an error.
    fn make_room(&mut self, now: Instant, info_hash: &Key) -> Result<bool, AnnounceError> {
        let cfg = self.config;
        let ttl = cfg.peer_ttl;
        let stale = |expires: Instant| (expires - ttl) + cfg.protect_for <= now;
        let mut evicted = false;
        match self.torrents.get(info_hash).map(Torrent::len) {
            Some(len) if len >= cfg.max_peers_per_torrent => {
                let per_ip = &mut self.per_ip;
                let removed = self
                    .torrents
                    .get_mut(info_hash)
                    .is_some_and(|t| t.evict_stale(stale, per_ip));
                if !removed {
                    return Err(AnnounceError::TorrentFull);
                }
                self.peers = self.peers.saturating_sub(1);
                evicted = true;
            }
            Some(_) => {}
            None if cfg.max_peers_per_torrent == 0 => return Err(AnnounceError::TorrentFull),
            None if self.torrents.len() >= cfg.max_torrents => {
                match self.by_activity.first().copied() {
                    // Every held torrent has a peer, so this frees at least one.
                    Some((last, id)) if stale(last + ttl) => {
                        self.remove_torrent(&id);
                        evicted = true;
                    }
                    _ => return Err(AnnounceError::TableFull),
                }
            }
            None => {}
        }
        if self.peers >= cfg.max_peers {
            let victim = self.by_activity.first().map(|&(_, id)| id);
            let removed = victim.is_some_and(|id| {
                self.torrents
                    .get_mut(&id)
                    .is_some_and(|t| t.evict_stale(stale, &mut self.per_ip))
            });
            if !removed {
                return Err(AnnounceError::StoreFull);
            }
            self.peers = self.peers.saturating_sub(1);
            if let Some(id) = victim {
                if self.torrents.get(&id).is_some_and(Torrent::is_empty) {
                    self.remove_torrent(&id);
                }
            }
            evicted = true;
        }
        Ok(evicted)
    }

    fn remove_torrent(&mut self, id: &Key) {
        if let Some(t) = self.torrents.remove(id) {
            self.by_activity.remove(&(t.last_announce, *id));
            t.release_all(&mut self.per_ip);
            self.peers = self.peers.saturating_sub(t.len());
        }
    }

    /// Lazy expiry: drops the expired entries of one torrent (and the torrent if none is
    /// left), and returns the torrent if it still holds peers. One map search.
    fn live(&mut self, now: Instant, key: Key) -> Option<&mut Torrent> {
        let PeerStore {
            torrents,
            by_activity,
            per_ip,
            peers,
            ..
        } = self;
        live(torrents, by_activity, per_ip, peers, now, key)
    }

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
        let Some((t, mut rng)) = self.live_to_sample(now, info_hash) else {
            return 0;
        };
        sample_family(t, family, noseed, out, &mut rng)
    }

    /// [`PeerStore::sample_peers`] into `out` (emptied first), for at most `max` peers:
    /// only as many slots as are sampled get written, so a caller with a large array
    /// pays nothing for it when `info_hash` has no peers.
    pub(crate) fn sample_peers_into<const N: usize>(
        &mut self,
        now: Instant,
        info_hash: &Id,
        family: Family,
        noseed: bool,
        max: usize,
        out: &mut ArrayVec<SocketAddr, N>,
    ) {
        out.clear();
        let Some((t, mut rng)) = self.live_to_sample(now, info_hash) else {
            return;
        };
        let held = match family {
            Family::V4 => Ipv4Addr::list_mut(t).len(),
            Family::V6 => Ipv6Addr::list_mut(t).len(),
        };
        let placeholder = SocketAddr::from(([0, 0, 0, 0], 0));
        out.extend(core::iter::repeat_n(placeholder, held.min(max).min(N)));
        let written = sample_family(t, family, noseed, out, &mut rng);
        out.truncate(written);
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
        let bits = t.v4.iter().map(|e| (e.seed, e.bloom));
        for (seed, bloom) in bits.chain(t.v6.iter().map(|e| (e.seed, e.bloom))) {
            let filter = if seed { &mut s.seeds } else { &mut s.peers };
            filter.insert_indices(bloom);
        }
        Some(s)
    }

    /// Drops every expired entry (and empty info-hash), returns how many peers it dropped,
    /// and gives memory back to the allocator where lists shrank a lot.
    pub fn expire(&mut self, now: Instant) -> usize {
        let now = advance(&mut self.now, now);
        let PeerStore {
            torrents,
            by_activity,
            per_ip,
            ..
        } = self;
        let mut removed = 0usize;
        torrents.retain(|id, t| {
            if t.next_expiry <= now {
                removed = removed.saturating_add(t.purge(now, per_ip));
                t.shrink();
            }
            if t.is_empty() {
                by_activity.remove(&(t.last_announce, *id));
            }
            !t.is_empty()
        });
        self.peers = self.peers.saturating_sub(removed);
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::Key;
    use crate::id::Id;

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
