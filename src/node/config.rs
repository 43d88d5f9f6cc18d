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

impl Config {
    /// Settings for a small device: a node that serves and searches with its heap under
    /// 64 KiB, whatever the network sends it (`no_std` + `alloc`).
    ///
    /// The default settings suit a desktop or a server: thousands of stored peers, a
    /// table as deep as the network, hundreds of queries in flight, about a megabyte of
    /// heap under load. These keep every collection small and bounded by the settings
    /// alone, so the worst case can be added up. Everything else is as in
    /// [`Config::default`] (IPv4 only, BEP 5's `k` = 8, rate limit rules, lifetimes).
    ///
    /// | collection | setting | worst case, bytes |
    /// |---|---|---:|
    /// | routing table | [`routing`](Self::routing): `k` 8, [`max_buckets`](RoutingConfig::max_buckets) 4, `replacement_cache` 2: ≤ 32 nodes + 8 cached, with their per-IP and per-address indexes | 13 928 |
    /// | queries in flight | [`max_transactions`](Self::max_transactions) 16, and the scratch list of those timing out together | 5 536 |
    /// | running searches | [`max_searches`](Self::max_searches) 3, each with [`lookup`](Self::lookup)`.max_candidates` 16 candidates (`alpha` 3), [`max_search_peers`](Self::max_search_peers) 16 peers reported, `k` store targets | 15 792 |
    /// | finished searches | [`max_finished`](Self::max_finished) 1 | 2 944 |
    /// | outgoing queue | [`max_outgoing`](Self::max_outgoing) 16 | 2 688 |
    /// | event queue | [`max_events`](Self::max_events) 16 | 1 792 |
    /// | peer store | [`peers`](Self::peers): 8 info-hashes, 16 peers each, 32 in all, 4 per IP address (2 ports in one info-hash) | 6 256 |
    /// | item store | [`items`](Self::items): 2 BEP 44 items of up to 1000 bytes, 1 per IP address | 4 824 |
    /// | rate limit | [`rate_limit`](Self::rate_limit)`.tracked_ips` 32 | 1 280 |
    /// | standing work | [`max_kept`](Self::max_kept) 2 | 160 |
    /// | bootstrap addresses | up to 4 given | 128 |
    /// | **total** | | **55 328** (54.0 KiB) |
    ///
    /// Each row is its collections' allocations at their caps, with the slack of their
    /// growth (a `Vec`'s smallest allocation holds 4 elements) and B-tree nodes as empty
    /// as they get (5 of 11 keys). On top of that, while a call runs, a bucket split or
    /// the start of standing work holds up to about 3 KiB more, which leaves some 7 KiB
    /// for the allocator's own overhead and for what the caller brings:
    ///
    /// - its own BEP 44 items: each running or finished `get_item` or `put_item` holds
    ///   up to two copies of its item (about the value's length plus 200 bytes each),
    ///   each kept item ([`Dht::keep_published`](super::Dht::keep_published)) one, and
    ///   each [`Event::Item`](super::Event::Item) waiting one;
    /// - a write token longer than 20 bytes from another node (clients send 4 to 8):
    ///   64 bytes while it is held;
    /// - events waiting: the driving loop polls them after each call (an
    ///   [`Event::Samples`](super::Event::Samples) holds its samples);
    /// - a [`Dht::walk_samples`](super::Dht::walk_samples) walk holds up to
    ///   `max_nodes` addresses (it takes the place of a search);
    /// - a state restored with [`Dht::from_state`](super::Dht::from_state) holds its
    ///   nodes (about 100 bytes each) until they are verified: a state this node saved
    ///   holds at most its 32;
    /// - a second address family (`families`) adds a table: another 14 KiB.
    ///
    /// `tests/node_small_heap.rs` measures it: a node with these settings bootstraps
    /// into an in-memory network, serves 32 queries a second of every kind from a
    /// thousand addresses (announces and puts with valid tokens among them) and runs
    /// lookups, announces, puts, gets, scrapes and samples of its own for three hours of
    /// virtual time; its heap peaks near 36 KiB (the default settings: over 1 MiB).
    /// The [`Dht`](super::Dht) value itself, about 7 KB, is not heap: it lives wherever
    /// the caller puts it.
    ///
    /// What it costs: a table of at most 32 nodes (lookups for targets near this node's
    /// own id start a hop or two farther out), 3 searches at once (a fourth command gets
    /// [`CommandError::TooManySearches`](super::CommandError::TooManySearches) until one
    /// ends), a lookup reports at most 16 peers, and the node stores little for others.
    ///
    /// ```
    /// use btdht::node::{Config, Dht};
    /// use btdht::time::Instant;
    ///
    /// let config = Config::small();
    /// assert_eq!(config.max_searches, 3);
    /// let dht = Dht::new(config, [7; 32], Instant::from_millis(0));
    /// assert_eq!(dht.config().routing.max_buckets, 4);
    /// ```
    pub fn small() -> Self {
        Config {
            routing: RoutingConfig {
                replacement_cache: 2,
                max_buckets: 4,
                ..RoutingConfig::default()
            },
            lookup: LookupConfig {
                alpha: 3,
                max_candidates: 16,
                ..LookupConfig::default()
            },
            max_transactions: 16,
            max_searches: 3,
            max_kept: 2,
            max_finished: 1,
            max_search_peers: 16,
            max_outgoing: 16,
            max_events: 16,
            rate_limit: RateLimit {
                tracked_ips: 32,
                ..RateLimit::default()
            },
            peers: PeerStoreConfig {
                max_torrents: 8,
                max_peers_per_torrent: 16,
                max_peers: 32,
                max_ports_per_ip: 2,
                max_entries_per_ip: 4,
                ..PeerStoreConfig::default()
            },
            items: ItemStoreConfig {
                max_items: 2,
                max_items_per_ip: 1,
                ..ItemStoreConfig::default()
            },
            ..Config::default()
        }
    }
}
