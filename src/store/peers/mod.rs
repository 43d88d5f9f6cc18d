//! The peer store: what `announce_peer` stores and `get_peers` returns.
//!
//! This file holds the store, its caps and its eviction policy; `torrent` one
//! info-hash's entries; `answers` what a `get_peers` reply takes from them (a peer
//! sample, the BEP 33 scrape filters).

mod answers;
mod torrent;

pub use answers::Scrape;

use super::{advance, bloom::bloom_indices, bump, store_rng};
use crate::id::Id;
use crate::rng::Rng;
use crate::time::Instant;
use alloc::collections::btree_map::Entry as Slot;
use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;
use torrent::{Entry, Ip, Key, Torrent};

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
    /// Peers held in total (default 100 000: 1.6 MB of IPv4 entries at most, 6.8 MB with
    /// the info-hashes and per-IP counts around them, `benches/store.rs`).
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
/// the caller's buffer — size it with [`values_in_answer`](crate::krpc::budget::values_in_answer), at most
/// [`MAX_VALUES_V4`](crate::krpc::budget::MAX_VALUES_V4) = 43 or [`MAX_VALUES_V6`](crate::krpc::budget::MAX_VALUES_V6)
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
/// let mut values = [SocketAddr::from(([0, 0, 0, 0], 0)); btdht::krpc::budget::MAX_VALUES_V4];
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
            rng: store_rng(seed, b"peers"),
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
                addr: e.addr.socket(e.port()),
                seed: e.seed(),
                expires: e.expires(),
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
            if let Some(e) = list.iter_mut().find(|e| e.addr == addr && e.port() == port) {
                e.set_expires(expires);
                e.set_seed(seed);
                Self::touch(&mut self.by_activity, t, info_hash, now);
                return Ok(Announced::Refreshed);
            }
            let same_ip = list.iter().filter(|e| e.addr == addr).count();
            if same_ip >= self.config.max_ports_per_ip {
                let oldest = list
                    .iter_mut()
                    .filter(|e| e.addr == addr)
                    .min_by_key(|e| e.expires());
                let Some(e) = oldest else {
                    return Err(AnnounceError::IpLimit);
                };
                e.set_port(port);
                e.set_seed(seed);
                e.set_expires(expires);
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
        list.push(Entry::new(
            addr,
            port,
            expires,
            seed,
            bloom_indices(addr.ip()),
        ));
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
