//! What the node reports: events, query handles, counters.

use crate::id::Id;
use crate::krpc::ErrorCode;
use crate::lookup::LookupStats;
use crate::routing::Node;
use crate::store::Item;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

/// A handle to a command's work (a lookup, an announce, a ping). Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(pub(crate) u64);

impl QueryId {
    /// The handle's number (increasing from 1 over the node's life).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Something the caller should know. Read with [`Dht::poll_event`](super::Dht::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The caller's bootstrap ([`Dht::bootstrap`](super::Dht::bootstrap), or the one
    /// [`Dht::from_state`](super::Dht::from_state) starts) finished with nodes in the
    /// tables; or the node, which had lost touch with the network (an outage, a sleep),
    /// is back in touch, however it got there. The tables hold `nodes` entries.
    Bootstrapped {
        /// Entries in the routing tables.
        nodes: usize,
    },
    /// A bootstrap got no answer from any of the `asked` bootstrap addresses (the
    /// caller's, or saved nodes). The node keeps trying with backoff; a driver that
    /// gave router names should resolve them again and call
    /// [`Dht::set_bootstrap`](super::Dht::set_bootstrap).
    BootstrapFailed {
        /// Bootstrap addresses asked.
        asked: usize,
    },
    /// The node's external address, as a majority of the nodes that answered it see it
    /// (BEP 42 `ip` votes) or as the driver set it, is now `addr`.
    ExternalAddress {
        /// The address (IPv4 or IPv6: one external address per family).
        addr: IpAddr,
    },
    /// The node took a new id: a BEP 42 secure id for its external address
    /// ([`OwnId`](super::OwnId)). Its tables are kept; it looks its new id up to rejoin.
    IdChanged {
        /// The id it had.
        old: Id,
        /// The id it has now.
        new: Id,
    },
    /// A `get_peers` or announce lookup learned a peer (each peer is reported once per
    /// query). A `get_peers` lookup also reports, at its start, the peers announced to
    /// this node itself, which may be one of the closest to the info-hash.
    Peer {
        /// The query.
        query: QueryId,
        /// The info-hash looked up.
        info_hash: Id,
        /// The peer's address.
        peer: SocketAddr,
    },
    /// A `find_node`, `get_peers` or `get_item` lookup finished. Its closest nodes and their tokens
    /// stay readable through [`Dht::query`](super::Dht::query) for a while.
    LookupDone {
        /// The query.
        query: QueryId,
        /// Its target.
        target: Id,
        /// Counters.
        stats: LookupStats,
        /// Time from start to finish.
        elapsed: Duration,
    },
    /// An announce finished: the lookup, then `announce_peer` to the closest nodes that
    /// gave tokens.
    Announced {
        /// The query.
        query: QueryId,
        /// The info-hash announced.
        info_hash: Id,
        /// Nodes that accepted the announce.
        accepted: usize,
        /// Lookup counters.
        stats: LookupStats,
        /// Time from start to finish.
        elapsed: Duration,
    },
    /// A [`Dht::get_item`](super::Dht::get_item) lookup found a valid item: an
    /// immutable one (once), or a mutable one with a higher `seq` than any found before
    /// for the query. The item may be this node's own stored copy.
    Item {
        /// The query.
        query: QueryId,
        /// The item's target.
        target: Id,
        /// The item, checked: its value hashes to the target, or its signature verifies.
        /// (Boxed: it is the largest payload, and the event queue holds many events.)
        item: Box<Item>,
    },
    /// A [`Dht::put_item`](super::Dht::put_item) finished: the lookup, then `put` to the
    /// closest nodes that gave tokens.
    ItemPut {
        /// The query.
        query: QueryId,
        /// The item's target.
        target: Id,
        /// Nodes that stored the item.
        stored: usize,
        /// Nodes that answered with an error.
        refused: usize,
        /// The first error code answered, e.g. [`ErrorCode::CasMismatch`] (301): re-read
        /// the item and put again.
        error: Option<ErrorCode>,
        /// Lookup counters.
        stats: LookupStats,
        /// Time from start to finish.
        elapsed: Duration,
    },
    /// A [`Dht::scrape`](super::Dht::scrape) finished (BEP 33): the estimates from the
    /// union of the filters received, rounded (0 when no filter had a bit set).
    Scraped {
        /// The query.
        query: QueryId,
        /// The info-hash scraped.
        info_hash: Id,
        /// Estimated seeds (distinct IPs in the merged `BFsd`).
        seeds: u32,
        /// Estimated downloaders (distinct IPs in the merged `BFpe`).
        peers: u32,
        /// Nodes whose answers carried filters (this node's own store counts as one).
        responses: usize,
        /// Lookup counters.
        stats: LookupStats,
        /// Time from start to finish.
        elapsed: Duration,
    },
    /// A node answered a BEP 51 `sample_infohashes` of a
    /// [`Dht::walk_samples`](super::Dht::walk_samples) walk or a
    /// [`Dht::sample_infohashes`](super::Dht::sample_infohashes) query.
    Samples {
        /// The walk or query.
        query: QueryId,
        /// Who answered.
        node: Node,
        /// `num`: how many info-hashes the node says it stores (0 if absent or negative).
        num: u64,
        /// `interval`: how long before asking the node again.
        interval: Duration,
        /// `samples`: the info-hashes it sent.
        samples: Vec<Id>,
    },
    /// A BEP 51 walk or single query finished.
    WalkDone {
        /// The walk or query.
        query: QueryId,
        /// Nodes asked.
        asked: usize,
        /// Nodes that answered.
        answered: usize,
        /// Info-hashes received in all (repeats included).
        samples: u64,
        /// Time from start to finish.
        elapsed: Duration,
    },
    /// A ping from [`Dht::ping`](super::Dht::ping) was answered.
    Pong {
        /// The query.
        query: QueryId,
        /// Who answered.
        node: Node,
        /// Round-trip time.
        rtt: Duration,
    },
    /// A ping from [`Dht::ping`](super::Dht::ping) went unanswered.
    PingTimeout {
        /// The query.
        query: QueryId,
        /// Who was pinged.
        addr: SocketAddr,
    },
}

/// Counters of a node's life. Read with [`Dht::stats`](super::Dht::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams handed to `handle_datagram`.
    pub datagrams_in: u64,
    /// Datagrams returned by `poll_transmit`.
    pub datagrams_out: u64,
    /// Datagrams that were not valid KRPC.
    pub bad_datagrams: u64,
    /// Queries answered, by method.
    pub served: Served,
    /// Error messages sent.
    pub errors_sent: u64,
    /// Responses and errors that matched no transaction (unknown id or wrong address).
    pub unmatched: u64,
    /// Queries that timed out (each try counts).
    pub timeouts: u64,
    /// Queries sent again after a timeout ([`Config::query_retries`](super::Config)).
    pub retries: u64,
    /// Queries (well-formed or not) dropped by the rate limit because their source's
    /// bucket was empty ([`RateLimit`](super::RateLimit)). Includes the query that got
    /// its source blocked, not those dropped while it is blocked.
    pub rate_limited: u64,
    /// Bootstraps the node started by itself after losing touch with the network.
    pub rebootstraps: u64,
    /// Nodes read from the saved state the node started from
    /// ([`Dht::from_state`](super::Dht::from_state)); 0 for a node started fresh.
    pub restored_nodes: usize,
    /// Bootstraps no bootstrap address answered.
    pub bootstrap_failures: u64,
    /// Queries (well-formed or not) dropped, untouched by the limit, because their
    /// source is blocked ([`RateLimit::block_after`](super::RateLimit::block_after)).
    pub blocked: u64,
    /// Blocks imposed: a source blocked twice (the second time after its first block
    /// expired) counts twice.
    pub sources_blocked: u64,
    /// Queries dropped because the node is read-only.
    pub ignored_read_only: u64,
    /// Outgoing datagrams dropped because the queue was full or the caller's buffer
    /// too small.
    pub dropped_outgoing: u64,
    /// Events dropped because the queue was full.
    pub dropped_events: u64,
    /// Queries not sent because the transaction table was full.
    pub transactions_full: u64,
    /// Entries in the IPv4 routing table.
    pub nodes_v4: usize,
    /// Entries in the IPv6 routing table.
    pub nodes_v6: usize,
    /// Queries in flight (at most [`Config::max_transactions`](super::Config)).
    pub in_flight: usize,
    /// Lookups and BEP 51 walks running (at most [`Config::max_searches`](super::Config)).
    pub searches: usize,
    /// Datagrams waiting for `poll_transmit` (at most
    /// [`Config::max_outgoing`](super::Config)).
    pub queued_outgoing: usize,
    /// Events waiting for `poll_event` (at most [`Config::max_events`](super::Config)).
    pub queued_events: usize,
    /// Peers held in the peer store (all info-hashes).
    pub stored_peers: usize,
    /// Info-hashes held in the peer store.
    pub stored_torrents: usize,
    /// BEP 44 items held.
    pub stored_items: usize,
    /// Items in answers to [`Dht::get_item`](super::Dht::get_item) lookups that failed
    /// their check (a value that is not the target's, another key, a bad signature):
    /// forged or corrupt, and ignored.
    pub bad_items: u64,
    /// `announce_peer` and `put` queries with a valid token that the stores refused
    /// (full, per-IP limit, or a BEP 44 rule).
    pub store_refused: u64,
}

impl Stats {
    /// Entries in both routing tables.
    pub fn nodes(&self) -> usize {
        self.nodes_v4.saturating_add(self.nodes_v6)
    }
}

/// Queries answered (with an answer, not an error), by method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// `ping`
    pub ping: u64,
    /// `find_node`
    pub find_node: u64,
    /// `get_peers`
    pub get_peers: u64,
    /// `announce_peer`
    pub announce_peer: u64,
    /// `get` (BEP 44)
    pub get: u64,
    /// `put` (BEP 44)
    pub put: u64,
    /// `sample_infohashes` (BEP 51)
    pub sample_infohashes: u64,
}

impl Served {
    /// Counts one answer to a query of `kind` (unknown methods are not counted).
    pub(crate) fn count(&mut self, kind: &crate::krpc::QueryKind<'_>) {
        use crate::krpc::QueryKind;
        let n = match kind {
            QueryKind::Ping => &mut self.ping,
            QueryKind::FindNode { .. } => &mut self.find_node,
            QueryKind::GetPeers { .. } => &mut self.get_peers,
            QueryKind::AnnouncePeer { .. } => &mut self.announce_peer,
            QueryKind::Get { .. } => &mut self.get,
            QueryKind::Put(_) => &mut self.put,
            QueryKind::SampleInfohashes { .. } => &mut self.sample_infohashes,
            QueryKind::Unknown { .. } => return,
        };
        *n = n.saturating_add(1);
    }

    /// Answers of every method.
    pub fn total(&self) -> u64 {
        [
            self.ping,
            self.find_node,
            self.get_peers,
            self.announce_peer,
            self.get,
            self.put,
            self.sample_infohashes,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// The bounded queue of events waiting for [`Dht::poll_event`](super::Dht::poll_event):
/// when full, the oldest is dropped and counted.
#[derive(Debug)]
pub(crate) struct EventQueue {
    queue: VecDeque<Event>,
    cap: usize,
    dropped: u64,
}

impl EventQueue {
    pub(crate) fn new(cap: usize) -> Self {
        EventQueue {
            queue: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, event: Event) {
        if self.queue.len() >= self.cap {
            self.queue.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.queue.push_back(event);
    }

    pub(crate) fn pop(&mut self) -> Option<Event> {
        self.queue.pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Events dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}
