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

/// Per-source-IP limit on incoming queries: a token bucket per IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Queries per second an IP may send on average (default 20).
    pub per_second: u32,
    /// Queries an IP may send in a burst (default 40).
    pub burst: u32,
    /// IPs tracked at once; the table is a fixed-size array indexed by a keyed hash,
    /// 24 bytes a slot, allocated at the first query, so its memory is bounded whatever
    /// the traffic (default 256: 6 KB; a flooder's bucket is reset only when another
    /// sender hashes to its slot, and libtorrent watches only its 20 busiest senders).
    pub tracked_ips: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 20,
            burst: 40,
            tracked_ips: 256,
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
