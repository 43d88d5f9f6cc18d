//! Node settings, every cap with a documented default.

use crate::addr::Families;
use crate::lookup::LookupConfig;
use crate::routing::RoutingConfig;
use crate::store::{ItemStoreConfig, PeerStoreConfig, SamplerConfig};
use core::time::Duration;

/// The most searches [`Config::max_searches`] may allow: a bigger value counts as this.
pub const MAX_SEARCHES: usize = 1024;

/// Whether the node answers queries (BEP 43).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// A full node: answers queries, and others may add it to their tables.
    #[default]
    Normal,
    /// Read-only: sends `ro=1`, answers nothing.
    ReadOnly,
}

/// What the node does with its own id once it knows its external address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OwnId {
    /// Takes a BEP 42 secure id for its external IPv4 address (for its IPv6 one, on an
    /// IPv6-only node) when its id is not one, so that nodes enforcing BEP 42 keep it in
    /// their tables; then rejoins with a lookup of the new id. Local and private
    /// addresses are exempt (BEP 42).
    #[default]
    SecureForExternalAddress,
    /// Keeps the id it was given (e.g. one id per address of a BEP 45 host, chosen by
    /// the caller).
    Keep,
}

/// The limit on incoming queries: a token bucket per source network, and a temporary
/// block for a source that keeps overflowing its bucket.
///
/// A *source* is the network a query comes from: the first [`v4_prefix`](Self::v4_prefix)
/// bits of an IPv4 address, the first [`v6_prefix`](Self::v6_prefix) bits of an IPv6 one
/// (an IPv4-mapped IPv6 address counts as IPv4). Every query a node would answer, even a
/// malformed one that gets an error, takes one token from its source's bucket; a query
/// that finds the bucket empty is dropped (counted in
/// [`Stats::rate_limited`](super::Stats::rate_limited)).
///
/// **Blocking.** Each query the limit drops gives its source a strike; strikes fade at
/// `per_second` a second, as tokens come back. A source with more than
/// [`block_after`](Self::block_after) strikes is blocked for [`block_for`](Self::block_for):
/// its queries are dropped without touching its bucket (counted in
/// [`Stats::blocked`](super::Stats::blocked)); the block is neither extended nor lifted
/// early, and when it expires the source starts afresh with a full bucket. In other words
/// a source is blocked once, over some stretch of `t` seconds, the limit dropped more than
/// `block_after + per_second × t` of its queries. With the defaults:
///
/// - a source that never sends more than `burst` queries at once, nor more than
///   `per_second` on average, has none dropped and is never blocked;
/// - a single burst is only limited, never blocked, up to `burst + block_after` queries
///   at once (240);
/// - a steady sender at up to twice the rate is only limited: it still gets
///   `per_second` answers;
/// - a flooder at ten times the rate (200 a second) is blocked about 1.5 s after it
///   starts (its tokens last 0.2 s; then its strikes grow by 160 a second), and then
///   gets no answer for 5 minutes instead of 20 a second. That matters most when the
///   source is spoofed: the answers would go to a victim.
///
/// **Memory.** The table is a fixed-size array of [`tracked_ips`](Self::tracked_ips)
/// slots, 40 bytes each, indexed by a hash of the source keyed with a secret drawn from
/// the node's seed (a sender cannot aim at a slot), and allocated at the first query:
/// its memory is bounded whatever the number of sources. A new source takes over its
/// slot, with a full bucket, when the source there has no strikes. When the source there
/// has strikes or is blocked, the newcomer becomes its guest: it draws from the slot's
/// bucket (while the slot is blocked, a bucket the blocked source no longer drains) and
/// earns no strikes. So a block cannot be lifted by sending from other addresses, at any
/// cost, and a source that shares a slot with a blocked one is limited (sharing one bucket
/// with the other guests), never starved, and has the slot to itself once the block
/// expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Queries per second a source may send on average (default 20).
    pub per_second: u32,
    /// Queries a source may send in a burst (default 40).
    pub burst: u32,
    /// Sources tracked at once: the slots of the fixed table (default 256: 10 KB; a
    /// flooder's bucket is reset only when another sender takes over its slot, which needs
    /// the flooder to have no strikes; libtorrent watches only its 20 busiest senders).
    pub tracked_ips: usize,
    /// Bits of an IPv4 address that name its source (default 32: each address is its own
    /// source, as home users behind one NAT address are usually one client). Capped at 32.
    pub v4_prefix: u8,
    /// Bits of an IPv6 address that name its source (default 64: a /64 is one network, and
    /// a single host may hold all of its addresses, so 1 000 addresses of one /64 share one
    /// bucket). Capped at 128.
    pub v6_prefix: u8,
    /// Strikes (queries dropped by the limit, fading at `per_second` a second) a source
    /// may have before it is blocked (default 200: ten seconds' worth of the rate, five
    /// bursts dropped at once, far more than an honest client that bursts once ever earns;
    /// and reached within about 1.5 s by a flooder at ten times the rate).
    pub block_after: u32,
    /// How long a blocked source stays blocked (default 5 minutes, libtorrent's
    /// `dht_block_timeout`). Zero never blocks.
    pub block_for: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 20,
            burst: 40,
            tracked_ips: 256,
            v4_prefix: 32,
            v6_prefix: 64,
            block_after: 200,
            block_for: Duration::from_secs(5 * 60),
        }
    }
}

/// Node settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Address families, a routing table each (default [`Families::V4`]; at least one:
    /// an empty set runs IPv4).
    pub families: Families,
    /// Normal or read-only (default normal).
    pub mode: Mode,
    /// The routing tables' settings, among them BEP 5's `k` (default 8), which is also
    /// how many closest nodes a lookup waits for.
    pub routing: RoutingConfig,
    /// Lookup settings: parallelism, soft timeout, attempts, probes (see
    /// [`LookupConfig`] for the defaults and why).
    pub lookup: LookupConfig,
    /// A query unanswered this long has failed (default 4 s).
    pub query_timeout: Duration,
    /// Times a ping, a bootstrap's query to an address, an `announce_peer` or a `put` is
    /// sent again, with a new transaction id, after timing out (default 1, as BEP 5
    /// suggests one retry before a node counts as failed). Lookup queries are never
    /// retried: the lookup asks other candidates instead.
    pub query_retries: u8,
    /// Queries in flight at once (default 512).
    pub max_transactions: usize,
    /// Lookups (searches) and BEP 51 walks running at once (default 32; at most
    /// [`MAX_SEARCHES`]).
    pub max_searches: usize,
    /// Announces and published items kept going by themselves
    /// ([`Dht::keep_announced`](super::Dht::keep_announced),
    /// [`Dht::keep_published`](super::Dht::keep_published)) at most (default 256).
    pub max_kept: usize,
    /// What the node does with its id once it knows its external address (default
    /// [`OwnId::SecureForExternalAddress`]).
    pub own_id: OwnId,
    /// Finished searches whose results stay readable (default 32).
    pub max_finished: usize,
    /// Distinct peers one `get_peers` or announce search reports at most (default
    /// 4096): it remembers each peer it reported, to report it once, and reports no more
    /// once it holds this many.
    pub max_search_peers: usize,
    /// Datagrams waiting for `poll_transmit` (default 256; oldest dropped and counted).
    pub max_outgoing: usize,
    /// Events waiting for `poll_event` (default 512; oldest dropped and counted).
    pub max_events: usize,
    /// Incoming query rate limit.
    pub rate_limit: RateLimit,
    /// The client version sent as `v` (default `b"BD\x00\x01"`), or none.
    pub version: Option<[u8; 4]>,
    /// Peers returned in one `get_peers` answer at most (default 43). Whatever this
    /// says, an answer carries no more than fit in BEP 32's 1024 bytes with the rest of
    /// it: 43 IPv4 or 16 IPv6 peers at most, fewer with BEP 33 filters (see
    /// [`krpc::budget`](crate::krpc::budget)).
    pub max_values: usize,
    /// The store of announced peers: caps, lifetime and eviction.
    pub peers: PeerStoreConfig,
    /// The store of BEP 44 items: caps, lifetime and eviction.
    pub items: ItemStoreConfig,
    /// BEP 51 `sample_infohashes` answers.
    pub samples: SamplerConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            families: Families::V4,
            mode: Mode::Normal,
            routing: RoutingConfig::default(),
            lookup: LookupConfig::default(),
            query_timeout: Duration::from_secs(4),
            query_retries: 1,
            max_transactions: 512,
            max_searches: 32,
            max_kept: 256,
            own_id: OwnId::SecureForExternalAddress,
            max_finished: 32,
            max_search_peers: super::search::MAX_PEERS_SEEN,
            max_outgoing: 256,
            max_events: 512,
            rate_limit: RateLimit::default(),
            version: Some(*b"BD\x00\x01"),
            max_values: crate::krpc::budget::MAX_VALUES_V4,
            peers: PeerStoreConfig::default(),
            items: ItemStoreConfig::default(),
            samples: SamplerConfig::default(),
        }
    }
}
