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
//! table is at most [`MAX_BUCKETS`] buckets of `k` entries (fewer with
//! [`RoutingConfig::max_buckets`]). Each bucket also keeps a
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
//!   [`LocalAddresses::Allow`](crate::addr::LocalAddresses::Allow) (for tests and local
//!   swarms).
//!
//! # Cost
//!
//! [`RoutingTable::closest`] visits buckets in exact XOR-distance order and
//! insertion-sorts only the entries of the buckets it reads — usually one — into a
//! fixed-size buffer, comparing the first 64 bits of distances; it never allocates and
//! never sorts the whole table. Inserting touches one bucket, its replacement cache and
//! one hash index of addresses keyed by IP (which also counts entries per IP). Buckets,
//! caches and the index get their room when a split creates a bucket, so an insert that
//! does not split the table allocates nothing (with the default sizes; a `k` or cache
//! size over 256 grows as it fills).
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

mod bits;
mod closest;
mod config;
mod entry;
mod index;
mod insert;
mod refresh;

pub use config::{BucketSizing, QUIET_PERIOD, RoutingConfig, SecureIds};
pub use entry::{Entry, IdSecurity, Liveness, Node, Status};
pub use insert::{FailureOutcome, Insert, Rejection};
pub use refresh::PING_BACKOFF;

use crate::addr::{Family, canonical};
use crate::id::Id;
use crate::time::Instant;
use alloc::vec::Vec;
use bits::common_prefix;
use core::net::SocketAddr;
use index::AddrIndex;

/// Most buckets a table can have: one per possible shared-prefix length.
pub const MAX_BUCKETS: usize = 160;

#[derive(Debug)]
struct Bucket {
    entries: Vec<Entry>,
    cache: Vec<Entry>,
    last_changed: Instant,
}

/// Most entries a bucket or cache reserves room for up front; a larger configured size
/// grows as it fills.
const RESERVE_CAP: usize = 256;

impl Bucket {
    /// An empty bucket with room for `entries` entries and `cache` candidates, so that
    /// filling it never reallocates.
    fn with_room(entries: usize, cache: usize, last_changed: Instant) -> Self {
        Bucket {
            entries: Vec::with_capacity(entries.min(RESERVE_CAP)),
            cache: Vec::with_capacity(cache.min(RESERVE_CAP)),
            last_changed,
        }
    }
}

impl Clone for Bucket {
    /// Keeps the reserved room (a derived clone would not), so a cloned table fills
    /// without reallocating either.
    fn clone(&self) -> Self {
        let mut b = Bucket::with_room(
            self.entries.capacity(),
            self.cache.capacity(),
            self.last_changed,
        );
        b.entries.extend(self.entries.iter().cloned());
        b.cache.extend(self.cache.iter().cloned());
        b
    }
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
    /// Every node in a bucket or cache, by address and by IP.
    index: AddrIndex,
}

impl RoutingTable {
    /// An empty table around `own_id` for one address family.
    pub fn new(own_id: Id, family: Family, config: RoutingConfig) -> Self {
        let mut buckets = Vec::with_capacity(16);
        let mut table = RoutingTable {
            own: own_id,
            family,
            config,
            buckets: Vec::new(),
            index: AddrIndex::new(&own_id),
        };
        buckets.push(Bucket::with_room(
            table.capacity(0),
            config.replacement_cache,
            Instant::ZERO,
        ));
        table.buckets = buckets;
        table.reserve_index();
        table
    }

    /// The same table with its address index hashed with `key`, a secret (a [`Dht`]
    /// derives it from its seed). Without one the index is keyed by our own id, which
    /// every node we talk to learns, so addresses could be picked to collide in it. A
    /// collision only costs time, at worst a scan of the table; no decision depends on
    /// the key.
    ///
    /// [`Dht`]: crate::node::Dht
    #[must_use]
    pub fn with_index_key(mut self, key: u64) -> Self {
        self.index.rekey(key);
        self
    }

    /// Room in the index for everything the buckets and caches can hold now.
    fn reserve_index(&mut self) {
        let cache = self.config.replacement_cache;
        let most = (0..self.buckets.len())
            .map(|b| self.capacity(b).saturating_add(cache))
            .fold(0usize, usize::saturating_add);
        self.index.reserve(most);
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
        room || (b == self.last() && self.may_split())
    }

    /// Whether an address is in the table (bucket or cache).
    pub fn knows_addr(&self, addr: &SocketAddr) -> bool {
        self.index.get(&canonical(*addr)).is_some()
    }

    /// The entry for `id`, if it is in a bucket.
    pub fn get(&self, id: &Id) -> Option<&Entry> {
        let b = self.buckets.get(self.index_of(id))?;
        b.entries.iter().find(|e| e.node.id == *id)
    }

    /// Whether the home bucket may split again ([`RoutingConfig::max_buckets`]).
    fn may_split(&self) -> bool {
        self.buckets.len() < self.config.max_buckets.clamp(1, MAX_BUCKETS)
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
        self.index.add(*node);
    }

    fn index_remove(&mut self, node: &Node) {
        self.index.remove(node);
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
}
