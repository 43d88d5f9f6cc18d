//! The k-bucket routing table (BEP 5), one per address family (BEP 32).
//!
//! A pure data structure: time is passed in, nothing is sent. The node layer tells the
//! table what happened on the wire ([`RoutingTable::on_response`],
//! [`RoutingTable::on_query`], [`RoutingTable::on_failure`]) and acts on the decisions it
//! gets back ([`Insert`]): "added", "bucket full — ping this questionable node first",
//! "rejected, and why".
//!
//! # Shape
//!
//! Bucket `i` holds the nodes whose ids share exactly `i` leading bits with ours; the last
//! bucket (the *home* bucket) holds every id sharing at least as many. When the home
//! bucket is full it splits (BEP 5: only the bucket covering our own id splits), so the
//! table is at most [`MAX_BUCKETS`] buckets of `k` entries. Each bucket also keeps a
//! bounded *replacement cache* of nodes that answered while it was full; they take the
//! place of entries that go bad.
//!
//! # Defences
//!
//! - Entries come only from responses to our queries ([`RoutingTable::on_response`]);
//!   queries and `nodes` lists never add anything.
//! - At most [`RoutingConfig::max_per_ip`] entries per IP address (default 1).
//! - An address's id changes only with a fresh response from that address; a query
//!   claiming another id for a known address changes nothing, and an id already held by
//!   a good node at another address is refused.
//! - BEP 42: with [`SecureIds::Prefer`] (default) an id that does not match its address
//!   never displaces an entry whose id does, unless that entry has gone bad; with
//!   [`SecureIds::Require`] such ids are refused outright.
//! - Loopback, private and link-local addresses are refused unless
//!   [`LocalAddresses::Allow`] (for tests and local swarms).
//!
//! # Cost
//!
//! [`RoutingTable::closest`] visits buckets in exact XOR-distance order and
//! insertion-sorts only the entries of the buckets it reads — usually one — into a
//! fixed-size buffer, comparing the first 64 bits of distances; it never allocates and
//! never sorts the whole table. Inserting
//! touches one bucket plus two ordered indexes (per IP, per address).
//!
//! ```
//! use btdht::addr::Family;
//! use btdht::routing::{Insert, Liveness, Node, RoutingConfig, RoutingTable};
//! use btdht::time::Instant;
//! use btdht::Id;
//!
//! let mut table =
//!     RoutingTable::new(Id::from_bytes([0; 20]), Family::V4, RoutingConfig::default());
//! let now = Instant::from_millis(0);
//! let node = Node { id: Id::from_bytes([0x80; 20]), addr: "203.0.113.1:6881".parse().unwrap() };
//! assert_eq!(table.on_response(now, node, None), Insert::Added);
//!
//! let closest = table.closest::<8>(&Id::from_bytes([0xff; 20]), Liveness::NotBad, now);
//! assert_eq!(closest[0].node(), node);
//! ```

mod entry;

pub use entry::{Entry, IdSecurity, Liveness, Node, Status};

use crate::addr::{Family, LocalAddresses, canonical, is_global};
use crate::id::Id;
use crate::time::Instant;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use arrayvec::ArrayVec;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

/// Most buckets a table can have: one per possible shared-prefix length.
pub const MAX_BUCKETS: usize = 160;

/// BEP 5: a node is questionable after this long without news.
pub const QUIET_PERIOD: Duration = Duration::from_secs(15 * 60);

/// An entry handed out by [`RoutingTable::next_to_ping`] or in [`Insert::PingFirst`] is
/// not handed out again for this long.
pub const PING_BACKOFF: Duration = Duration::from_secs(60);

/// What to do with ids that do not follow BEP 42.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SecureIds {
    /// Accept them, but never let them displace a secure entry that is not bad.
    #[default]
    Prefer,
    /// Refuse them.
    Require,
    /// Treat all ids alike.
    Ignore,
}

/// Bucket capacities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BucketSizing {
    /// Every bucket holds `k`.
    #[default]
    Uniform,
    /// libtorrent's: the four farthest buckets hold 128, 64, 32 and 16 (at least `k`).
    WideFar,
}

/// Routing-table settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoutingConfig {
    /// Bucket size, BEP 5's K (default 8).
    pub k: usize,
    /// Replacement-cache size per bucket (default 8; 0 disables the cache).
    pub replacement_cache: usize,
    /// Failed queries in a row that make a node bad (default 3).
    pub max_failures: u8,
    /// Entries (including cached candidates) per IP address (default 1).
    pub max_per_ip: usize,
    /// Whether non-global addresses are accepted (default: refused).
    pub local_addresses: LocalAddresses,
    /// BEP 42 policy (default: prefer secure ids).
    pub secure_ids: SecureIds,
    /// Bucket capacities (default: uniform `k`).
    pub bucket_sizing: BucketSizing,
    /// Quiet time after which a node is questionable and a bucket needs refreshing
    /// (default [`QUIET_PERIOD`], 15 minutes).
    pub quiet_period: Duration,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            k: 8,
            replacement_cache: 8,
            max_failures: 3,
            max_per_ip: 1,
            local_addresses: LocalAddresses::Refuse,
            secure_ids: SecureIds::Prefer,
            bucket_sizing: BucketSizing::Uniform,
            quiet_period: QUIET_PERIOD,
        }
    }
}

/// What [`RoutingTable::on_response`] did with a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insert {
    /// Added to its bucket.
    Added,
    /// Already known (in a bucket or the replacement cache); liveness refreshed.
    Refreshed,
    /// Took the place of a bad entry, which is gone.
    ReplacedBad {
        /// The entry removed.
        evicted: Node,
    },
    /// The bucket is full: the node waits in the replacement cache; ping this
    /// questionable entry, and if it fails ([`RoutingTable::on_failure`]) a cached node
    /// replaces it.
    PingFirst {
        /// The entry to ping.
        questionable: Node,
    },
    /// The bucket is full of good nodes: the node waits in the replacement cache.
    Cached,
    /// Not added.
    Rejected(Rejection),
}

/// Why a node was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// It has our own id.
    OwnId,
    /// Its address belongs to the other family's table.
    WrongFamily,
    /// A loopback, private or link-local address, and [`LocalAddresses::Refuse`].
    LocalAddress,
    /// Its id breaks BEP 42 and [`SecureIds::Require`] is set.
    InsecureId,
    /// Its IP already has [`RoutingConfig::max_per_ip`] entries.
    IpLimit,
    /// A good entry at another address has this id.
    IdInUse,
    /// Bucket and replacement cache are full of nodes it may not displace.
    Full,
}

/// What [`RoutingTable::on_failure`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureOutcome {
    /// Not in the table.
    Unknown,
    /// Counted; the entry's status is now `status`.
    Counted {
        /// Its status after counting.
        status: Status,
    },
    /// The entry went bad and a cached node took its place.
    Replaced {
        /// The bad entry, removed.
        removed: Node,
        /// The cached node, now in the bucket.
        promoted: Node,
    },
}

#[derive(Clone, Debug)]
struct Bucket {
    entries: Vec<Entry>,
    cache: Vec<Entry>,
    last_changed: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Main,
    Cache,
}

/// The routing table of one address family.
#[derive(Clone, Debug)]
pub struct RoutingTable {
    own: Id,
    family: Family,
    config: RoutingConfig,
    buckets: Vec<Bucket>,
    per_ip: BTreeMap<IpAddr, usize>,
    by_addr: BTreeMap<SocketAddr, Id>,
}

/// Shared leading bits of two ids (160 when equal).
fn common_prefix(a: &Id, b: &Id) -> usize {
    // Eight bytes at a time: one xor and one leading_zeros per word.
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let word = |x: &[u8; 20], at: usize| {
        let mut w = [0u8; 8];
        if let Some(src) = x.get(at..at + 8) {
            w.copy_from_slice(src);
        }
        u64::from_be_bytes(w)
    };
    for at in [0, 8] {
        let diff = word(a, at) ^ word(b, at);
        if diff != 0 {
            return at * 8 + diff.leading_zeros() as usize;
        }
    }
    let tail = |x: &[u8; 20]| {
        let [.., p, q, r, s] = *x;
        u32::from_be_bytes([p, q, r, s])
    };
    128 + (tail(a) ^ tail(b)).leading_zeros() as usize
}

/// Bit `i` of an id, 0 = most significant; false past the end.
fn bit(id: &Id, i: usize) -> bool {
    id.as_bytes()
        .get(i / 8)
        .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
}

/// The first 64 bits of an id, big-endian: XOR-ing two of these gives the top of their
/// XOR distance, which orders almost every pair of distances on its own.
#[inline]
fn prefix(id: &Id) -> u64 {
    id.as_bytes()
        .first_chunk::<8>()
        .map_or(0, |h| u64::from_be_bytes(*h))
}

/// The last 96 bits of the XOR distance of `a` and `b`, big-endian: what decides between
/// two distances whose first 64 bits are equal.
#[inline]
fn distance_rest(a: &Id, b: &Id) -> (u64, u32) {
    let tail = |id: &Id| {
        let b = id.as_bytes();
        let mid = b.get(8..16).and_then(|m| m.first_chunk::<8>());
        let lo = b.last_chunk::<4>();
        (
            mid.map_or(0, |m| u64::from_be_bytes(*m)),
            lo.map_or(0, |l| u32::from_be_bytes(*l)),
        )
    };
    let ((am, al), (bm, bl)) = (tail(a), tail(b));
    (am ^ bm, al ^ bl)
}

fn bep42_security(id: &Id, ip: IpAddr) -> IdSecurity {
    match id.check_secure(ip) {
        crate::id::SecureIdCheck::Secure => IdSecurity::Secure,
        crate::id::SecureIdCheck::Exempt => IdSecurity::Exempt,
        crate::id::SecureIdCheck::Insecure => IdSecurity::Insecure,
    }
}

impl RoutingTable {
    /// An empty table around `own_id` for one address family.
    pub fn new(own_id: Id, family: Family, config: RoutingConfig) -> Self {
        let mut buckets = Vec::with_capacity(16);
        buckets.push(Bucket {
            entries: Vec::new(),
            cache: Vec::new(),
            last_changed: Instant::ZERO,
        });
        RoutingTable {
            own: own_id,
            family,
            config,
            buckets,
            per_ip: BTreeMap::new(),
            by_addr: BTreeMap::new(),
        }
    }

    /// Our own id.
    pub fn own_id(&self) -> &Id {
        &self.own
    }

    /// The address family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The settings.
    pub fn config(&self) -> &RoutingConfig {
        &self.config
    }

    /// Entries in buckets (not counting replacement caches).
    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.entries.len()).sum()
    }

    /// Whether no bucket holds an entry.
    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(|b| b.entries.is_empty())
    }

    /// Nodes waiting in replacement caches.
    pub fn cached_len(&self) -> usize {
        self.buckets.iter().map(|b| b.cache.len()).sum()
    }

    /// Number of buckets.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Per bucket, farthest first: (entries, cached candidates).
    pub fn bucket_sizes(&self) -> impl ExactSizeIterator<Item = (usize, usize)> + '_ {
        self.buckets
            .iter()
            .map(|b| (b.entries.len(), b.cache.len()))
    }

    /// Each bucket's entries, farthest bucket first (bucket `i` holds the ids sharing
    /// exactly `i` leading bits with ours; the last, at least as many).
    pub fn buckets(&self) -> impl ExactSizeIterator<Item = &[Entry]> + '_ {
        self.buckets.iter().map(|b| &b.entries[..])
    }

    /// Every entry, farthest bucket first.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.buckets.iter().flat_map(|b| b.entries.iter())
    }

    /// Whether a node with this id, if it answered, would go straight into a bucket
    /// (its bucket has room or can split) and is not known yet. The node layer pings
    /// unknown queriers only then.
    pub fn wants(&self, id: &Id) -> bool {
        if *id == self.own || self.locate(id).is_some() {
            return false;
        }
        let b = self.index_of(id);
        let room = self
            .buckets
            .get(b)
            .is_some_and(|x| x.entries.len() < self.capacity(b));
        room || (b == self.last() && self.buckets.len() < MAX_BUCKETS)
    }

    /// Whether an address is in the table (bucket or cache).
    pub fn knows_addr(&self, addr: &SocketAddr) -> bool {
        self.by_addr.contains_key(&canonical(*addr))
    }

    /// The entry for `id`, if it is in a bucket.
    pub fn get(&self, id: &Id) -> Option<&Entry> {
        let b = self.buckets.get(self.index_of(id))?;
        b.entries.iter().find(|e| e.node.id == *id)
    }

    fn last(&self) -> usize {
        self.buckets.len().saturating_sub(1)
    }

    fn index_of(&self, id: &Id) -> usize {
        common_prefix(&self.own, id).min(self.last())
    }

    fn capacity(&self, index: usize) -> usize {
        let wide = match self.config.bucket_sizing {
            BucketSizing::Uniform => 0,
            BucketSizing::WideFar => [128, 64, 32, 16].get(index).copied().unwrap_or(0),
        };
        self.config.k.max(wide).max(1)
    }

    fn status(&self, e: &Entry, now: Instant) -> Status {
        e.status(now, self.config.quiet_period, self.config.max_failures)
    }

    fn is_bad(&self, e: &Entry) -> bool {
        e.failures >= self.config.max_failures
    }

    fn security_of(&self, node: &Node) -> IdSecurity {
        if self.config.secure_ids == SecureIds::Ignore {
            return IdSecurity::Secure;
        }
        bep42_security(&node.id, node.addr.ip())
    }

    fn locate(&self, id: &Id) -> Option<(usize, Slot, usize)> {
        let b = self.index_of(id);
        let bucket = self.buckets.get(b)?;
        if let Some(i) = bucket.entries.iter().position(|e| e.node.id == *id) {
            return Some((b, Slot::Main, i));
        }
        let i = bucket.cache.iter().position(|e| e.node.id == *id)?;
        Some((b, Slot::Cache, i))
    }

    fn entry_mut(&mut self, (b, slot, i): (usize, Slot, usize)) -> Option<&mut Entry> {
        let bucket = self.buckets.get_mut(b)?;
        match slot {
            Slot::Main => bucket.entries.get_mut(i),
            Slot::Cache => bucket.cache.get_mut(i),
        }
    }

    fn index_add(&mut self, node: &Node) {
        *self.per_ip.entry(node.addr.ip()).or_insert(0) += 1;
        self.by_addr.insert(node.addr, node.id);
    }

    fn index_remove(&mut self, node: &Node) {
        if let Some(n) = self.per_ip.get_mut(&node.addr.ip()) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_ip.remove(&node.addr.ip());
            }
        }
        if self.by_addr.get(&node.addr) == Some(&node.id) {
            self.by_addr.remove(&node.addr);
        }
    }

    fn take(&mut self, (b, slot, i): (usize, Slot, usize)) -> Option<Entry> {
        let bucket = self.buckets.get_mut(b)?;
        let list = match slot {
            Slot::Main => &mut bucket.entries,
            Slot::Cache => &mut bucket.cache,
        };
        if i >= list.len() {
            return None;
        }
        let e = list.swap_remove(i);
        self.index_remove(&e.node);
        Some(e)
    }

    /// Removes a node from its bucket or replacement cache.
    pub fn remove(&mut self, id: &Id) -> Option<Entry> {
        let at = self.locate(id)?;
        self.take(at)
    }

    /// A node answered one of our queries (after `rtt`, if measured): the only way into
    /// the table.
    pub fn on_response(&mut self, now: Instant, node: Node, rtt: Option<Duration>) -> Insert {
        let node = Node {
            id: node.id,
            addr: canonical(node.addr),
        };
        if node.id == self.own {
            return Insert::Rejected(Rejection::OwnId);
        }
        if Family::of(&node.addr) != self.family {
            return Insert::Rejected(Rejection::WrongFamily);
        }
        if self.config.local_addresses == LocalAddresses::Refuse && !is_global(node.addr.ip()) {
            return Insert::Rejected(Rejection::LocalAddress);
        }
        let security = self.security_of(&node);
        if self.config.secure_ids == SecureIds::Require && security == IdSecurity::Insecure {
            return Insert::Rejected(Rejection::InsecureId);
        }
        if let Some(known) = self.by_addr.get(&node.addr).copied() {
            if known == node.id {
                if let Some(at) = self.locate(&known) {
                    if let Some(e) = self.entry_mut(at) {
                        e.responded(now, rtt);
                    }
                    if at.1 == Slot::Main {
                        if let Some(b) = self.buckets.get_mut(at.0) {
                            b.last_changed = b.last_changed.max(now);
                        }
                    }
                    return Insert::Refreshed;
                }
            } else {
                // A fresh response says this address now has another id.
                self.remove(&known);
            }
        }
        if let Some(at) = self.locate(&node.id) {
            let good_elsewhere = at.1 == Slot::Main
                && self
                    .entry_mut(at)
                    .map(|e| e.clone())
                    .is_some_and(|e| self.status(&e, now) == Status::Good);
            if good_elsewhere {
                return Insert::Rejected(Rejection::IdInUse);
            }
            self.take(at);
        }
        if self.per_ip.get(&node.addr.ip()).copied().unwrap_or(0) >= self.config.max_per_ip {
            return Insert::Rejected(Rejection::IpLimit);
        }
        self.insert_new(now, Entry::new(node, now, rtt, security))
    }

    fn insert_new(&mut self, now: Instant, entry: Entry) -> Insert {
        let mut b = self.index_of(&entry.node.id);
        while self.buckets.get(b).map_or(0, |x| x.entries.len()) >= self.capacity(b) {
            if b == self.last() && self.buckets.len() < MAX_BUCKETS {
                self.split(now);
                b = self.index_of(&entry.node.id);
            } else {
                return self.insert_into_full(now, b, entry);
            }
        }
        let node = entry.node;
        if let Some(bucket) = self.buckets.get_mut(b) {
            bucket.entries.push(entry);
            bucket.last_changed = bucket.last_changed.max(now);
        }
        self.index_add(&node);
        Insert::Added
    }

    fn may_displace(&self, candidate: IdSecurity, victim: &Entry) -> bool {
        self.config.secure_ids != SecureIds::Prefer
            || !candidate.is_trusted() <= !victim.security.is_trusted()
    }

    fn insert_into_full(&mut self, now: Instant, b: usize, entry: Entry) -> Insert {
        let Some(bucket) = self.buckets.get(b) else {
            return Insert::Rejected(Rejection::Full);
        };
        if let Some(i) = bucket.entries.iter().position(|e| self.is_bad(e)) {
            let node = entry.node;
            self.index_add(&node);
            let evicted = self.buckets.get_mut(b).and_then(|bk| {
                let slot = bk.entries.get_mut(i)?;
                bk.last_changed = bk.last_changed.max(now);
                Some(core::mem::replace(slot, entry).node)
            });
            if let Some(evicted) = evicted {
                self.index_remove(&evicted);
                return Insert::ReplacedBad { evicted };
            }
            return Insert::Rejected(Rejection::Full);
        }
        let ping = bucket
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| self.status(e, now) == Status::Questionable)
            .filter(|(_, e)| {
                e.last_ping
                    .is_none_or(|t| now.saturating_duration_since(t) >= PING_BACKOFF)
            })
            .filter(|(_, e)| self.may_displace(entry.security, e))
            .min_by_key(|(_, e)| e.last_response)
            .map(|(i, e)| (i, e.node));
        let cached = self.cache_push(b, entry);
        match (ping, cached) {
            (Some((i, node)), _) => {
                if let Some(e) = self.buckets.get_mut(b).and_then(|bk| bk.entries.get_mut(i)) {
                    e.last_ping = Some(now);
                }
                Insert::PingFirst { questionable: node }
            }
            (None, true) => Insert::Cached,
            (None, false) => Insert::Rejected(Rejection::Full),
        }
    }

    /// Puts a candidate in bucket `b`'s replacement cache, evicting the least valuable
    /// candidate if it is full; false if the candidate is worth less than all of them.
    fn cache_push(&mut self, b: usize, entry: Entry) -> bool {
        let cap = self.config.replacement_cache;
        let prefer = self.config.secure_ids == SecureIds::Prefer;
        let Some(bucket) = self.buckets.get_mut(b) else {
            return false;
        };
        if cap == 0 {
            return false;
        }
        let rank = |e: &Entry| (prefer && e.security.is_trusted(), e.last_response);
        if bucket.cache.len() >= cap {
            let Some((i, worst)) = bucket.cache.iter().enumerate().min_by_key(|(_, e)| rank(e))
            else {
                return false;
            };
            if rank(worst) > rank(&entry) {
                return false;
            }
            let old = bucket.cache.swap_remove(i).node;
            self.index_remove(&old);
        }
        let node = entry.node;
        if let Some(bucket) = self.buckets.get_mut(b) {
            bucket.cache.push(entry);
        }
        self.index_add(&node);
        true
    }

    /// Splits the home bucket in two.
    fn split(&mut self, now: Instant) {
        let last = self.last();
        let own = self.own;
        let Some(home) = self.buckets.get_mut(last) else {
            return;
        };
        let deeper = |e: &Entry| common_prefix(&own, &e.node.id) > last;
        let (go, stay): (Vec<Entry>, Vec<Entry>) = home.entries.drain(..).partition(deeper);
        home.entries = stay;
        let (cache_go, cache_stay): (Vec<Entry>, Vec<Entry>) =
            home.cache.drain(..).partition(deeper);
        home.cache = cache_stay;
        let last_changed = home.last_changed;
        self.buckets.push(Bucket {
            entries: go,
            cache: cache_go,
            last_changed,
        });
        for b in [last, last + 1] {
            self.settle(now, b);
        }
    }

    /// After a split: move overflow into the cache and fill free room from the cache.
    fn settle(&mut self, now: Instant, b: usize) {
        let cap = self.capacity(b);
        let Some(bucket) = self.buckets.get_mut(b) else {
            return;
        };
        bucket
            .entries
            .sort_by_key(|e| core::cmp::Reverse(e.last_response));
        let overflow: Vec<Entry> = bucket
            .entries
            .drain(cap.min(bucket.entries.len())..)
            .collect();
        while bucket.entries.len() < cap {
            let Some((i, _)) = bucket
                .cache
                .iter()
                .enumerate()
                .max_by_key(|(_, e)| e.last_response)
            else {
                break;
            };
            let e = bucket.cache.swap_remove(i);
            bucket.entries.push(e);
            bucket.last_changed = bucket.last_changed.max(now);
        }
        for e in overflow {
            let node = e.node;
            self.index_remove(&node);
            self.cache_push(b, e);
        }
    }

    /// A node sent us a query. Refreshes its entry if the table knows this id at this
    /// address; never adds anything. Returns whether it matched an entry.
    pub fn on_query(&mut self, now: Instant, node: Node) -> bool {
        // Entries hold canonical addresses; only an IPv6 address can need mapping.
        let addr = match node.addr {
            SocketAddr::V4(_) => node.addr,
            SocketAddr::V6(_) => canonical(node.addr),
        };
        // The id's entry (bucket, else cache), at this very address. Searched here
        // rather than through `locate`: this runs for every query served.
        let b = self.index_of(&node.id);
        let Some(bucket) = self.buckets.get_mut(b) else {
            return false;
        };
        let found = match bucket.entries.iter_mut().find(|e| e.node.id == node.id) {
            Some(e) => Some(e),
            None => bucket.cache.iter_mut().find(|e| e.node.id == node.id),
        };
        match found {
            Some(e) if e.node.addr == addr => {
                e.last_query = Some(e.last_query.map_or(now, |t| t.max(now)));
                true
            }
            _ => false,
        }
    }

    /// We sent a ping (or other query) to `id` for maintenance; it is not suggested for
    /// pinging again for [`PING_BACKOFF`].
    pub fn on_ping_sent(&mut self, now: Instant, id: &Id) {
        if let Some(at) = self.locate(id) {
            if let Some(e) = self.entry_mut(at) {
                e.last_ping = Some(now);
            }
        }
    }

    /// A query to `id` went unanswered. When the entry goes bad and its bucket has a
    /// cached candidate, the best candidate (BEP 42-valid first, then most recently
    /// heard from) takes its place.
    pub fn on_failure(&mut self, now: Instant, id: &Id) -> FailureOutcome {
        let Some(at) = self.locate(id) else {
            return FailureOutcome::Unknown;
        };
        let max = self.config.max_failures;
        let Some(e) = self.entry_mut(at) else {
            return FailureOutcome::Unknown;
        };
        e.failures = e.failures.saturating_add(1);
        let bad = e.failures >= max;
        if at.1 == Slot::Cache {
            if bad {
                self.take(at);
            }
            return FailureOutcome::Counted {
                status: if bad {
                    Status::Bad
                } else {
                    Status::Questionable
                },
            };
        }
        if !bad {
            let e = self.entry_mut(at).map(|e| e.clone());
            let status = e.map_or(Status::Questionable, |e| self.status(&e, now));
            return FailureOutcome::Counted { status };
        }
        let (b, _, i) = at;
        let prefer = self.config.secure_ids == SecureIds::Prefer;
        let Some(bucket) = self.buckets.get_mut(b) else {
            return FailureOutcome::Unknown;
        };
        let best = bucket
            .cache
            .iter()
            .enumerate()
            .filter(|(_, c)| c.failures < max)
            .max_by_key(|(_, c)| (prefer && c.security.is_trusted(), c.last_response))
            .map(|(j, _)| j);
        let Some(j) = best else {
            return FailureOutcome::Counted {
                status: Status::Bad,
            };
        };
        let candidate = bucket.cache.swap_remove(j);
        let promoted = candidate.node;
        let Some(slot) = bucket.entries.get_mut(i) else {
            bucket.cache.push(candidate);
            return FailureOutcome::Counted {
                status: Status::Bad,
            };
        };
        let removed = core::mem::replace(slot, candidate).node;
        bucket.last_changed = bucket.last_changed.max(now);
        self.index_remove(&removed);
        FailureOutcome::Replaced { removed, promoted }
    }

    /// The entries to hand out in a `nodes` answer: the `N` closest that have no query
    /// left unanswered since their last answer, topped up, when there are fewer, with the
    /// closest [`Liveness::NotBad`] ones; closest first.
    ///
    /// Answers list only 8 nodes, so every dead or silent entry in them hides a live
    /// node from the asker. In the simulator (10 000 nodes, 10 % loss, 20 % churn, 20 %
    /// silent), handing out entries that had just failed to answer left lookups 74.5 %
    /// correct; leaving them out, 87 %. libtorrent also leaves failed nodes out of its
    /// answers.
    #[inline]
    pub fn closest_to_hand_out<const N: usize>(
        &self,
        target: &Id,
        now: Instant,
    ) -> ArrayVec<&Entry, N> {
        let mut out = self.closest::<N>(target, Liveness::Answering, now);
        if out.len() < N {
            self.top_up(&mut out, target, now);
        }
        out
    }

    /// Fills `out` with the closest not-bad entries it lacks; keeps it closest first.
    #[cold]
    fn top_up<'a, const N: usize>(
        &'a self,
        out: &mut ArrayVec<&'a Entry, N>,
        target: &Id,
        now: Instant,
    ) {
        for e in self.closest::<N>(target, Liveness::NotBad, now) {
            if !out.iter().any(|x| x.id() == e.id()) && out.try_push(e).is_err() {
                break;
            }
        }
        out.sort_by_key(|e| e.id().distance(target));
    }

    /// Up to `N` entries closest to `target` by XOR distance, closest first, filtered by
    /// `liveness`. Reads buckets in distance order and stops once `N` are found.
    ///
    /// Never allocates: the candidates of the bucket being read are kept in a bounded,
    /// insertion-sorted buffer of at most `N`. Because buckets are read in an order such
    /// that every entry of a bucket is closer to `target` than every entry of any bucket
    /// after it, the entries taken from earlier buckets are final and a new one is only
    /// ever placed among those of its own bucket; once `N` are held no later bucket can
    /// hold a closer entry, so the walk stops. Ties (equal ids) keep bucket order.
    pub fn closest<const N: usize>(
        &self,
        target: &Id,
        liveness: Liveness,
        now: Instant,
    ) -> ArrayVec<&Entry, N> {
        // `out` is kept sorted by distance; `tops[i]` is the first 64 bits of `out[i]`'s
        // distance, so most comparisons never touch the ids.
        let mut tops: ArrayVec<u64, N> = ArrayVec::new();
        let mut out: ArrayVec<&Entry, N> = ArrayVec::new();
        if N == 0 {
            return out;
        }
        let (quiet, max) = (self.config.quiet_period, self.config.max_failures);
        let t = prefix(target);
        // Whether `a` (with distance top `a_top`) is strictly farther from the target.
        let farther = |a_top: u64, a: &Entry, b_top: u64, b: &Entry| {
            a_top > b_top
                || (a_top == b_top
                    && distance_rest(&a.node.id, target) > distance_rest(&b.node.id, target))
        };
        for b in BucketOrder::new(&self.own, target, self.last()) {
            let Some(bucket) = self.buckets.get(b) else {
                continue;
            };
            // `out[..base]` came from closer buckets and is final.
            let base = out.len();
            for e in &bucket.entries {
                if !e.matches(liveness, now, quiet, max) {
                    continue;
                }
                let top = prefix(&e.node.id) ^ t;
                // Make room at the end: a free slot, or the farthest held entry's. That one
                // is of this bucket (the buffer was not full when the bucket began), and
                // drops out only if the newcomer is closer.
                let mut i = out.len();
                if out.is_full() {
                    match (tops.last(), out.last()) {
                        (Some(&lt), Some(&l)) if farther(lt, l, top, e) => i -= 1,
                        _ => continue,
                    }
                } else if tops.try_push(top).is_err() || out.try_push(e).is_err() {
                    // Unreachable: neither is full, they always hold as many.
                    break;
                }
                // Insertion: shift this bucket's farther entries up one (stable: an
                // equal distance stays ahead).
                while i > base {
                    let (Some(&pt), Some(&p)) = (tops.get(i - 1), out.get(i - 1)) else {
                        break;
                    };
                    if !farther(pt, p, top, e) {
                        break;
                    }
                    if let (Some(st), Some(s)) = (tops.get_mut(i), out.get_mut(i)) {
                        (*st, *s) = (pt, p);
                    }
                    i -= 1;
                }
                if let (Some(st), Some(s)) = (tops.get_mut(i), out.get_mut(i)) {
                    (*st, *s) = (top, e);
                }
            }
            if out.is_full() {
                break;
            }
        }
        out
    }

    /// Buckets not changed for [`RoutingConfig::quiet_period`]: refresh each with a lookup of a
    /// random id in it ([`RoutingTable::refresh_target`]), then mark it
    /// ([`RoutingTable::mark_refreshed`]).
    pub fn buckets_to_refresh(&self, now: Instant) -> impl Iterator<Item = usize> + '_ {
        let quiet = self.config.quiet_period;
        self.buckets
            .iter()
            .enumerate()
            .filter(move |(_, b)| now.saturating_duration_since(b.last_changed) >= quiet)
            .map(|(i, _)| i)
    }

    /// When the next bucket will need refreshing, if ever.
    pub fn next_refresh(&self) -> Option<Instant> {
        let quiet = self.config.quiet_period;
        self.buckets.iter().map(|b| b.last_changed + quiet).min()
    }

    /// Marks bucket `index` as refreshed at `now`.
    pub fn mark_refreshed(&mut self, now: Instant, index: usize) {
        if let Some(b) = self.buckets.get_mut(index) {
            b.last_changed = b.last_changed.max(now);
        }
    }

    /// A random id inside bucket `index`'s range, from 20 bytes of caller entropy.
    pub fn refresh_target(&self, index: usize, entropy: [u8; 20]) -> Id {
        let mut bytes = entropy;
        let own = self.own.as_bytes();
        let index = index.min(self.last());
        let fixed = if index == self.last() {
            index
        } else {
            index + 1
        };
        for i in 0..fixed.min(160) {
            let own_bit = own.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
            let want = if i == index && index != self.last() {
                !own_bit
            } else {
                own_bit
            };
            if let Some(byte) = bytes.get_mut(i / 8) {
                let mask = 0x80u8 >> (i % 8);
                if want {
                    *byte |= mask;
                } else {
                    *byte &= !mask;
                }
            }
        }
        Id::from_bytes(bytes)
    }

    /// The questionable entry heard from longest ago that was not pinged in the last
    /// [`PING_BACKOFF`]: ping it next to keep the table fresh.
    pub fn next_to_ping(&self, now: Instant) -> Option<Node> {
        self.iter()
            .filter(|e| self.status(e, now) == Status::Questionable)
            .filter(|e| {
                e.last_ping
                    .is_none_or(|t| now.saturating_duration_since(t) >= PING_BACKOFF)
            })
            .min_by_key(|e| e.last_response)
            .map(|e| e.node)
    }
}

/// Bucket indices in increasing distance from `target`: the target's own bucket; then the
/// deeper buckets, ordered by the target's bits (a bucket whose distinguishing bit the
/// target does not share with our id comes before all deeper ones); then the shallower
/// buckets, deepest first. Every bucket's entries are all closer than the next bucket's.
///
/// Why. Write `o` for our id, `t` for the target, `x` for an entry's id, `D = o ^ t`,
/// `c` = the target's bucket (`common_prefix(o, t)`, capped at the home bucket `L`), and
/// bit 0 for the most significant. Bucket `i < L` holds the `x` that agree with `o` on
/// bits `0..i` and differ at bit `i`; the home bucket `L` holds the `x` that agree with
/// `o` on bits `0..L`. The distance `x ^ t` equals `(x ^ o) ^ D`, so on every bit where
/// `x` agrees with `o` it equals `D`.
///
/// - Shallower, `i < c`: `t` agrees with `o` at bit `i` and `x` does not, so `x ^ t` is
///   zero on bits `0..i` and one at bit `i`: its leading one is bit `i`. A deeper `i`
///   means a smaller distance, so these come last, deepest first, and each is entirely
///   closer than the next.
/// - The target's bucket `c` (when `c < L`): `x` differs from `o` at bit `c` and so does
///   `t`, so `x ^ t` is zero on bits `0..=c`, below `2^(159 - c)`.
/// - Deeper, `j > c` (including `L`): `x` agrees with `o` on bits `0..=c`, so `x ^ t`
///   has `D`'s bits there, zero before `c` and one at `c`: at least `2^(159 - c)`, so
///   all of these come after bucket `c` and before every shallower one. Between two of
///   them, `j < j'`, both distances equal `D` on bits `c..j`; at bit `j` bucket `j'`
///   (agreeing with `o`) has `D[j]` and bucket `j` (differing) has `!D[j]`. If
///   `D[j] = 1` bucket `j` is entirely closer than every deeper bucket, the home bucket
///   included (phase 1, ascending); if `D[j] = 0` it is entirely farther (phase 3, after
///   the home bucket, descending).
/// - When `c = L` the target falls in the home bucket: every `x` there agrees with `t`
///   on bits `0..L`, closer than any shallower bucket, which follow deepest first.
struct BucketOrder {
    phase: u8,
    next: usize,
    start: usize,
    last: usize,
    diff: Id,
}

impl BucketOrder {
    fn new(own: &Id, target: &Id, last: usize) -> Self {
        let start = common_prefix(own, target).min(last);
        let mut diff = [0u8; 20];
        for ((d, a), b) in diff.iter_mut().zip(own.as_bytes()).zip(target.as_bytes()) {
            *d = a ^ b;
        }
        BucketOrder {
            phase: 0,
            next: start,
            start,
            last,
            diff: Id::from_bytes(diff),
        }
    }
}

impl Iterator for BucketOrder {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        loop {
            match self.phase {
                // The target's bucket.
                0 => {
                    if self.start == self.last {
                        self.phase = 4;
                        self.next = self.start;
                    } else {
                        self.phase = 1;
                        self.next = self.start + 1;
                    }
                    return Some(self.start);
                }
                // Deeper buckets whose bit the target does not share with us, ascending.
                1 => {
                    while self.next < self.last {
                        let i = self.next;
                        self.next += 1;
                        if bit(&self.diff, i) {
                            return Some(i);
                        }
                    }
                    self.phase = 2;
                }
                // The home bucket.
                2 => {
                    self.phase = 3;
                    self.next = self.last;
                    return Some(self.last);
                }
                // Deeper buckets whose bit the target shares with us, descending.
                3 => {
                    while self.next > self.start + 1 {
                        self.next -= 1;
                        let i = self.next;
                        if !bit(&self.diff, i) {
                            return Some(i);
                        }
                    }
                    self.phase = 4;
                    self.next = self.start;
                }
                // Shallower buckets, deepest first.
                _ => {
                    if self.next == 0 {
                        return None;
                    }
                    self.next -= 1;
                    return Some(self.next);
                }
            }
        }
    }
}
