//! The node: one sans-IO state machine that serves, searches, announces and keeps its
//! routing tables.
//!
//! # Driving it
//!
//! ```
//! use btdht::node::{Config, Dht};
//! use btdht::time::Instant;
//!
//! let mut dht = Dht::new(Config::default(), [7; 32], Instant::from_millis(0));
//! let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
//! dht.bootstrap(Instant::from_millis(0), &["203.0.113.1:6881".parse().unwrap()]);
//! // The driving loop, with a socket instead of these comments:
//! let now = Instant::from_millis(1);
//! while let Some(t) = dht.poll_transmit(now, &mut buf) {
//!     // socket.send_to(&buf[..t.len], t.to)
//!     assert!(t.len > 0);
//! }
//! // on a datagram:   dht.handle_datagram(now, from, &bytes);
//! // at the deadline: if let Some(at) = dht.poll_timeout() { /* sleep until at */ dht.handle_timeout(at) }
//! while let Some(event) = dht.poll_event() {
//!     println!("{event:?}");
//! }
//! ```
//!
//! Every call that takes `now` first runs the timers already due, so a driver whose
//! socket never goes quiet cannot starve them; an earlier `now` than one seen before is
//! treated as the latest seen (time never goes backwards).
//!
//! # Buffers
//!
//! [`Dht::poll_transmit`] encodes into the caller's buffer. A buffer of
//! [`MAX_DATAGRAM_LEN`](crate::krpc::MAX_DATAGRAM_LEN) bytes always suffices; a datagram
//! that does not fit a smaller buffer is dropped and counted in
//! [`Stats::dropped_outgoing`], and the next one is tried.
//!
//! # Several addresses (BEP 45)
//!
//! A host with several addresses runs one `Dht` per bound socket address: BEP 45 asks
//! that each address look like an independent node, with its own node id, its own
//! routing table (or a shared one with several home buckets), tokens sent only from the
//! socket that received them, and answers from the socket a query arrived on. A `Dht`
//! is exactly that unit: its id, tables, tokens, stores and transactions are its own,
//! and the driver keeps the pairing by feeding each socket's datagrams to that socket's
//! `Dht` and sending its transmits from that socket. Ids should be far apart: give
//! each node its own seed (random ids), or derive them with [`Dht::with_id`] by flipping
//! high bits. A `put_item` or `announce` on one of them suffices (BEP 45); an announce
//! from several needs one lookup each, as tokens are per address.
//!
//! ```
//! use btdht::Id;
//! use btdht::node::{Config, Dht};
//! use btdht::time::Instant;
//! use core::net::SocketAddr;
//!
//! let now = Instant::from_millis(0);
//! let id = Id::from_bytes([0x11; 20]);
//! let mut far = *id.as_bytes();
//! far[0] ^= 0x80; // the farthest possible: the first bit differs
//! let far = Id::from_bytes(far);
//! // One node per bound address (each driven with its own socket).
//! let mut nodes: [(SocketAddr, Dht); 2] = [
//!     ("192.0.2.1:6881".parse().unwrap(), Dht::with_id(Config::default(), [1; 32], id, now)),
//!     ("198.51.100.7:6881".parse().unwrap(), Dht::with_id(Config::default(), [2; 32], far, now)),
//! ];
//! // A ping that arrived on the second socket goes to the second node, which answers
//! // with its own id; the answer leaves from that socket.
//! let (_, dht) = &mut nodes[1];
//! let from: SocketAddr = "203.0.113.9:4000".parse().unwrap();
//! dht.handle_datagram(now, from, b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe");
//! let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
//! let t = dht.poll_transmit(now, &mut buf).unwrap();
//! assert_eq!(t.to, from);
//! let answer = btdht::krpc::Message::decode(&buf[..t.len]).unwrap();
//! let btdht::krpc::Body::Response(r) = answer.body else { unreachable!() };
//! assert_eq!(r.id, far);
//! assert!(nodes[0].1.poll_transmit(now, &mut buf).is_none(), "the first node saw nothing");
//! ```
//!
//! # Inside
//!
//! [`Dht`] is a dispatcher: it owns the routing tables, the transactions, the outgoing
//! queue and the events, and hands each datagram and timer to the one owner of the work:
//! the server (`server.rs`, answering queries), the search an answer belongs to
//! (`search/`, sub-machines like [`Lookup`](crate::lookup::Lookup)), a BEP 51 walk
//! (`walk.rs`), or maintenance (`maintenance.rs`). Datagrams wait in structured form
//! (`outgoing.rs`) and are written only when they leave (`encode.rs`, through
//! [`krpc`](crate::krpc)). The public commands are in `commands.rs`.

mod commands;
mod config;
mod dispatch;
mod encode;
mod event;
mod external;
mod items;
mod lifetime;
mod maintenance;
mod outgoing;
mod ratelimit;
mod search;
mod server;
mod standing;
mod state;
mod tables;
mod transactions;
mod upkeep;
mod walk;

pub use commands::{AnnouncePort, CommandError, QueryInfo};
pub use config::{Config, MAX_SEARCHES, Mode, OwnId, RateLimit};
pub use event::{Event, QueryId, Served, Stats};
pub use items::{ItemTarget, MutableItem};
pub use outgoing::{MAX_ECHOED_TRANSACTION_ID, Transmit};
pub use standing::{REANNOUNCE_EVERY, REPUBLISH_EVERY};
pub use state::{MAX_SAVED_NODES, STATE_VERSION, StateError};
pub use transactions::TRANSACTION_ID_LEN;
pub use walk::WalkConfig;

use crate::addr::{Family, canonical};
use crate::id::Id;
use crate::krpc::{Body, Message, MessageKind};
use crate::rng::Rng;
use crate::routing::RoutingTable;
use crate::store::{InfoHashSampler, ItemStore, PeerStore, SignatureVerifier};
use crate::time::Instant;
use crate::token::Tokens;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use encode::Wire;
use event::EventQueue;
use external::External;
use maintenance::Maintenance;
use outgoing::{OutBody, Outbox};
use ratelimit::RateLimiter;
use search::{Role, Search};
use server::Server;
use standing::Standing;
use tables::Tables;
use transactions::{Pending, Transactions};
use walk::Walk;

/// Why a query is in flight: whose it is, so its answer goes to that owner alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A query of a search, in the part `role`.
    Search { query: QueryId, role: Role },
    /// A BEP 51 sample_infohashes of a walk.
    Walk { query: QueryId },
    /// A ping: the caller's (with its query id), or the node's own (maintenance, an
    /// unknown querier, a node added by address).
    Ping { query: Option<QueryId> },
}

impl Purpose {
    /// The command it serves, if any.
    fn query(self) -> Option<QueryId> {
        match self {
            Purpose::Search { query, .. } | Purpose::Walk { query } => Some(query),
            Purpose::Ping { query } => query,
        }
    }
}

// A driver may move the node into a spawned task or another thread: it stays `Send`
// (the verifier is `Send + Sync`).
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Dht>();
};

/// The DHT node.
pub struct Dht {
    config: Config,
    id: Id,
    rng: Rng,
    now: Instant,
    tables: Tables,
    transactions: Transactions<Purpose>,
    searches: Vec<Search>,
    finished: VecDeque<Search>,
    walks: Vec<Walk>,
    outbox: Outbox,
    events: EventQueue,
    stats: Stats,
    server: Server,
    next_query_id: u64,
    maintenance: Maintenance,
    /// The bootstrap search the caller started, if running: its end is always reported.
    user_bootstrap: Option<QueryId>,
    external: External,
    standing: Standing,
    /// Scratch space for the transactions that time out together.
    expired: Vec<Pending<Purpose>>,
    /// No timer is due before this (a lower bound, so checking it costs nothing).
    timer_hint: Instant,
}

impl fmt::Debug for Dht {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dht")
            .field("id", &self.id)
            .field("now", &self.now)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Dht {
    /// A node with settings `config`, randomness from `seed` (32 bytes of good entropy,
    /// given once), starting at `now`. Its id is derived from the seed.
    pub fn new(config: Config, seed: [u8; 32], now: Instant) -> Self {
        let id = Id::from_bytes(Rng::new(Rng::derive(&seed, b"node id")).bytes());
        Self::with_id(config, seed, id, now)
    }

    /// Like [`Dht::new`] with a chosen node id (e.g. a BEP 42 id for a known external IP).
    pub fn with_id(config: Config, seed: [u8; 32], id: Id, now: Instant) -> Self {
        let rate_key = u64::from_be_bytes(Rng::new(Rng::derive(&seed, b"rate")).bytes());
        let index_key = u64::from_be_bytes(Rng::new(Rng::derive(&seed, b"table index")).bytes());
        let server = Server {
            tokens: Tokens::new(Rng::derive(&seed, b"token")),
            peers: PeerStore::new(config.peers, Rng::derive(&seed, b"peer store")),
            items: ItemStore::new(config.items),
            sampler: InfoHashSampler::new(config.samples, Rng::derive(&seed, b"samples")),
            rate: RateLimiter::new(config.rate_limit, rate_key),
            verifier: None,
        };
        Dht {
            tables: Tables::new(id, config.families, config.routing, index_key),
            transactions: Transactions::new(config.max_transactions),
            rng: Rng::new(Rng::derive(&seed, b"rng")),
            id,
            now,
            searches: Vec::new(),
            finished: VecDeque::new(),
            walks: Vec::new(),
            outbox: Outbox::new(config.max_outgoing),
            events: EventQueue::new(config.max_events),
            stats: Stats::default(),
            server,
            next_query_id: 1,
            maintenance: Maintenance::new(now),
            user_bootstrap: None,
            external: External::default(),
            standing: Standing::new(config.max_kept),
            expired: Vec::new(),
            timer_hint: now,
            config,
        }
    }

    /// This node's id.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The routing table of a family, if enabled.
    pub fn table(&self, family: Family) -> Option<&RoutingTable> {
        self.tables.get(family)
    }

    /// The peers announced to this node.
    pub fn peer_store(&self) -> &PeerStore {
        &self.server.peers
    }

    /// The BEP 44 items put to this node.
    pub fn item_store(&self) -> &ItemStore {
        &self.server.items
    }

    /// Sets the ed25519 verifier for BEP 44 mutable items. Without one, the node refuses
    /// every mutable `put` (error 201, "mutable items not supported") and never stores one
    /// unchecked.
    pub fn set_signature_verifier(&mut self, verifier: Box<dyn SignatureVerifier + Send + Sync>) {
        self.server.verifier = Some(verifier);
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.stored_peers = self.server.peers.peer_len();
        s.stored_torrents = self.server.peers.len();
        s.stored_items = self.server.items.len();
        s.nodes_v4 = self.tables.len_of(Family::V4);
        s.nodes_v6 = self.tables.len_of(Family::V6);
        s.in_flight = self.transactions.len();
        s.searches = self.running_searches();
        s.queued_outgoing = self.outbox.len();
        s.queued_events = self.events.len();
        s.dropped_outgoing = self.outbox.dropped;
        s.dropped_events = self.events.dropped();
        s.restored_nodes = self.maintenance.restored.len();
        s
    }

    /// Lookups and BEP 51 walks running: both count against `Config::max_searches`.
    fn running_searches(&self) -> usize {
        self.searches.len().saturating_add(self.walks.len())
    }

    /// Whether another search may start ([`Config::max_searches`], at most
    /// [`MAX_SEARCHES`]).
    fn may_search(&self) -> bool {
        self.running_searches() < self.config.max_searches.clamp(1, MAX_SEARCHES)
    }

    /// Clamps `now` to never go backwards and runs timers already due.
    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        let now = self.now;
        if now >= self.timer_hint {
            self.run_timers(now);
        }
        now
    }

    fn new_query_id(&mut self) -> QueryId {
        let id = QueryId(self.next_query_id);
        self.next_query_id = self.next_query_id.saturating_add(1);
        id
    }

    /// Encodes the next waiting datagram into `buf`.
    #[must_use = "a datagram not sent is lost"]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let now = self.advance(now);
        if let Some(r) = &self.outbox.ready {
            let written = match r.body {
                // Written from the slot in place: moving the answer out first costs more
                // than the writing.
                OutBody::ReplyEmpty => encode::empty_answer(
                    buf,
                    &r.to,
                    r.tid.as_bytes(),
                    &self.id,
                    self.config.version,
                ),
                _ => Wire {
                    id: &self.id,
                    config: &self.config,
                    tables: &self.tables,
                    server: &mut self.server,
                    searches: &self.searches,
                }
                .encode(now, r.view(), buf),
            };
            let to = r.to;
            self.outbox.ready = None;
            match written {
                Some(len) => return Some(self.sent(to, len)),
                None => self.outbox.count_drop(),
            }
        }
        while let Some(out) = self.outbox.pop() {
            let mut wire = Wire {
                id: &self.id,
                config: &self.config,
                tables: &self.tables,
                server: &mut self.server,
                searches: &self.searches,
            };
            match wire.encode(now, out.view(), buf) {
                Some(len) => return Some(self.sent(out.to, len)),
                None => self.outbox.count_drop(),
            }
        }
        None
    }

    /// Counts a datagram handed to the caller.
    fn sent(&mut self, to: SocketAddr, len: usize) -> Transmit {
        self.stats.datagrams_out = self.stats.datagrams_out.saturating_add(1);
        Transmit { to, len }
    }

    /// The next event, if any.
    #[must_use = "an event not read is lost"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// The earliest time [`Dht::handle_timeout`] has work to do, or `None` when idle.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadlines = self
            .searches
            .iter()
            .map(Search::next_deadline)
            .chain(self.walks.iter().map(Walk::next_deadline))
            .chain([
                // Maintenance ticks while there is a table to keep or somewhere to
                // bootstrap from: an empty table with bootstrap addresses is a node out
                // of touch, whose ticks schedule its next bootstrap.
                (self.tables.len() > 0
                    || !self.maintenance.restored.is_empty()
                    || !self.maintenance.bootstrap_addrs.is_empty())
                .then_some(self.maintenance.next_tick),
                self.maintenance.next_bootstrap,
                self.standing.next_due(),
                self.transactions.next_deadline(),
            ]);
        deadlines.flatten().min()
    }

    /// Runs the timers due at `now`: query timeouts, lookup soft timeouts, table
    /// maintenance, re-bootstrap.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        self.run_timers(now);
    }

    /// Handles one received datagram. Never panics; bad input is counted in
    /// [`Dht::stats`].
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let now = self.advance(now);
        let from = canonical(from);
        self.stats.datagrams_in = self.stats.datagrams_in.saturating_add(1);
        // Matched by reference: moving the decoded message out costs a copy.
        let decoded = Message::decode(bytes);
        let msg = match &decoded {
            Ok(m) => m,
            Err(e) => {
                self.stats.bad_datagrams = self.stats.bad_datagrams.saturating_add(1);
                if e.message_kind() == Some(MessageKind::Query) {
                    if let Some(t) = e.transaction_id() {
                        self.reply_malformed(now, from, t);
                    }
                }
                return;
            }
        };
        match &msg.body {
            Body::Query(q) => self.on_query(now, from, msg, q),
            Body::Response(r) => self.on_response(now, from, msg, r),
            Body::Error(e) => self.on_error(now, from, msg, e),
        }
    }
}
