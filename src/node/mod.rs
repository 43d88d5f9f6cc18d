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

mod config;
mod event;
mod items;
mod ratelimit;
mod rng;
mod search;
mod serve;
mod transactions;
mod walk;

pub use config::{Config, Mode, RateLimit};
pub use event::{Event, QueryId, Served, Stats};
pub use items::{ItemTarget, MutableItem};
pub use transactions::TRANSACTION_ID_LEN;
pub use walk::WalkConfig;

use crate::addr::{Families, Family};
use crate::id::Id;
use crate::krpc::{Body, Message, MessageKind};
use crate::lookup::StoredToken;
use crate::routing::{Insert, Node, RoutingTable};
use crate::store::{InfoHashSampler, ItemError, ItemStore, PeerStore, SignatureVerifier};
use crate::time::Instant;
use crate::token::Tokens;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use arrayvec::ArrayVec;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;
use ratelimit::RateLimiter;
use rng::Rng;
use search::Search;
use transactions::{Pending, Transactions};

/// Longest transaction id echoed in answers; queries with longer ids are dropped and
/// counted as bad datagrams.
pub const MAX_ECHOED_TRANSACTION_ID: usize = 64;

/// How often expired peers and items are swept out of the stores (they are also dropped
/// lazily when touched; the sweep gives their memory back).
const STORE_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How often table maintenance runs (pinging questionable nodes, refreshing buckets).
const MAINTENANCE_EVERY: Duration = Duration::from_secs(1);

/// A datagram to send: `buf[..len]` goes to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the datagram is in the buffer: send it"]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
}

/// Where peers reach an announced torrent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnnouncePort {
    /// This TCP (or uTP) port.
    Port(u16),
    /// The port the DHT's datagrams leave from (`implied_port=1`): the one storing
    /// nodes see, which is right behind a NAT that maps the DHT's socket and the
    /// peer-wire listener to the same port.
    Implied,
}

/// Why a command was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandError {
    /// [`Config::max_searches`] searches are already running.
    TooManySearches,
    /// The address's family is not enabled in [`Config::families`].
    FamilyDisabled,
    /// The transaction table is full.
    TooManyTransactions,
    /// A BEP 44 item no node would store, or a mutable item's lookup without a
    /// [`SignatureVerifier`] to check the answers.
    Item(ItemError),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommandError::TooManySearches => "too many searches running",
            CommandError::FamilyDisabled => "address family not enabled",
            CommandError::TooManyTransactions => "too many queries in flight",
            CommandError::Item(e) => return write!(f, "item refused: {e}"),
        })
    }
}

impl core::error::Error for CommandError {}

/// Why a query is in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A lookup step of a search.
    Lookup { query: QueryId, family: Family },
    /// A seed query of a search to an address whose id is unknown.
    Seed { query: QueryId, family: Family },
    /// An announce_peer after a lookup.
    Announce { query: QueryId },
    /// A BEP 44 put after a lookup.
    Put { query: QueryId },
    /// A BEP 51 sample_infohashes of a walk.
    Sample { query: QueryId },
    /// A ping: the caller's (with its query id), or table maintenance.
    Ping { query: Option<QueryId> },
}

pub(crate) type Tid = ArrayVec<u8, MAX_ECHOED_TRANSACTION_ID>;

/// A datagram waiting in structured form; encoded only in `poll_transmit`.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) to: SocketAddr,
    pub(crate) tid: Tid,
    pub(crate) body: OutBody,
}

/// A transaction id of up to 8 bytes (BEP 5's are 2; most clients use 2 to 8), held in
/// one word: cheaper to fill and move than an array with a length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShortTid {
    bytes: [u8; 8],
    len: u8,
}

impl ShortTid {
    fn new(tid: &[u8]) -> Option<Self> {
        let len = u8::try_from(tid.len()).ok().filter(|n| *n <= 8)?;
        // Little-endian assembly: no loop the compiler turns into a call to `memcpy`.
        let word = tid.iter().rev().fold(0u64, |w, b| (w << 8) | u64::from(*b));
        Some(ShortTid {
            bytes: word.to_le_bytes(),
            len,
        })
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// An answer in the slot ahead of the outgoing queue: like [`Outgoing`], with room for
/// a short transaction id only, so it is cheaper to move.
#[derive(Clone, Debug)]
pub(crate) struct Ready {
    to: SocketAddr,
    tid: ShortTid,
    body: OutBody,
}

impl Outgoing {
    pub(crate) fn view(&self) -> Out<'_> {
        Out {
            to: self.to,
            tid: &self.tid,
            body: &self.body,
        }
    }
}

/// A datagram to encode, borrowed: from the queue, or an answer encoded at once.
#[derive(Clone, Copy)]
pub(crate) struct Out<'a> {
    pub(crate) to: SocketAddr,
    pub(crate) tid: &'a [u8],
    pub(crate) body: &'a OutBody,
}

#[derive(Clone, Debug)]
pub(crate) enum OutBody {
    QueryPing,
    QueryFindNode {
        target: Id,
    },
    QueryGetPeers {
        info_hash: Id,
    },
    QueryAnnounce {
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
        token: StoredToken,
    },
    QueryGet {
        target: Id,
        seq: Option<i64>,
    },
    QuerySample {
        target: Id,
    },
    /// A get_peers with `scrape=1` (BEP 33).
    QueryScrape {
        info_hash: Id,
    },
    QueryPut {
        token: StoredToken,
        item: Box<items::PutRequest>,
    },
    ReplyNodes {
        target: Id,
        v4: bool,
        v6: bool,
    },
    ReplyPeers {
        info_hash: Id,
        v4: bool,
        v6: bool,
        noseed: bool,
        scrape: bool,
    },
    ReplyItem {
        target: Id,
        v4: bool,
        v6: bool,
        seq: Option<i64>,
    },
    ReplySamples {
        target: Id,
        v4: bool,
        v6: bool,
    },
    /// An answer with only `id`: ping, announce_peer, put.
    ReplyEmpty,
    Error {
        code: crate::krpc::ErrorCode,
        message: &'static str,
    },
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
    table4: Option<RoutingTable>,
    table6: Option<RoutingTable>,
    tokens: Tokens,
    transactions: Transactions<Purpose>,
    searches: Vec<Search>,
    finished: VecDeque<Search>,
    walks: Vec<walk::Walk>,
    outgoing: VecDeque<Outgoing>,
    /// An answer waiting ahead of `outgoing` (older than anything in it): see
    /// [`Dht::queue_reply`].
    ready: Option<Ready>,
    events: VecDeque<Event>,
    stats: Stats,
    rate: RateLimiter,
    next_query_id: u64,
    next_maintenance: Instant,
    pub(crate) bootstrap_addrs: Vec<SocketAddr>,
    next_bootstrap: Option<Instant>,
    bootstrap_backoff: Duration,
    expired: Vec<Pending<Purpose>>,
    /// No timer is due before this (a lower bound, so checking it costs nothing).
    timer_hint: Instant,
    peers: PeerStore,
    items: ItemStore,
    sampler: InfoHashSampler,
    verifier: Option<Box<dyn SignatureVerifier + Send + Sync>>,
    next_store_sweep: Instant,
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
        let table = |family| RoutingTable::new(id, family, config.routing);
        let families = match config.families {
            Families::NONE => Families::V4,
            f => f,
        };
        let table4 = families.contains(Family::V4).then(|| table(Family::V4));
        let table6 = families.contains(Family::V6).then(|| table(Family::V6));
        let rate_key = u64::from_be_bytes(Rng::new(Rng::derive(&seed, b"rate")).bytes());
        let (peers, items, samples) = (config.peers, config.items, config.samples);
        Dht {
            rate: RateLimiter::new(config.rate_limit, rate_key),
            transactions: Transactions::new(config.max_transactions),
            tokens: Tokens::new(Rng::derive(&seed, b"token")),
            rng: Rng::new(Rng::derive(&seed, b"rng")),
            config,
            id,
            now,
            table4,
            table6,
            searches: Vec::new(),
            finished: VecDeque::new(),
            walks: Vec::new(),
            // Queues grow to the most they ever held (at most their caps) and keep that
            // capacity: memory is bounded by `Config`, a node pays only for the traffic
            // it has seen, and once warm, answering a query never allocates.
            outgoing: VecDeque::new(),
            ready: None,
            events: VecDeque::new(),
            stats: Stats::default(),
            next_query_id: 1,
            next_maintenance: now + MAINTENANCE_EVERY,
            bootstrap_addrs: Vec::new(),
            next_bootstrap: None,
            bootstrap_backoff: Duration::from_secs(15),
            expired: Vec::new(),
            timer_hint: now,
            peers: PeerStore::new(peers, Rng::derive(&seed, b"peer store")),
            items: ItemStore::new(items),
            sampler: InfoHashSampler::new(samples, Rng::derive(&seed, b"samples")),
            verifier: None,
            next_store_sweep: now + STORE_SWEEP_EVERY,
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
        match family {
            Family::V4 => self.table4.as_ref(),
            Family::V6 => self.table6.as_ref(),
        }
    }

    pub(crate) fn table_mut(&mut self, family: Family) -> Option<&mut RoutingTable> {
        match family {
            Family::V4 => self.table4.as_mut(),
            Family::V6 => self.table6.as_mut(),
        }
    }

    /// The peers announced to this node.
    pub fn peer_store(&self) -> &PeerStore {
        &self.peers
    }

    /// The BEP 44 items put to this node.
    pub fn item_store(&self) -> &ItemStore {
        &self.items
    }

    /// Sets the ed25519 verifier for BEP 44 mutable items. Without one, the node refuses
    /// every mutable `put` (error 201, "mutable items not supported") and never stores one
    /// unchecked.
    pub fn set_signature_verifier(&mut self, verifier: Box<dyn SignatureVerifier + Send + Sync>) {
        self.verifier = Some(verifier);
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.stored_peers = self.peers.peer_len();
        s.stored_torrents = self.peers.len();
        s.stored_items = self.items.len();
        s.nodes_v4 = self.table4.as_ref().map_or(0, RoutingTable::len);
        s.nodes_v6 = self.table6.as_ref().map_or(0, RoutingTable::len);
        s.in_flight = self.transactions.len();
        s.searches = self.running_searches();
        s.queued_outgoing = self.outgoing.len() + usize::from(self.ready.is_some());
        s.queued_events = self.events.len();
        s
    }

    /// Entries in all routing tables.
    fn nodes(&self) -> usize {
        self.table4.as_ref().map_or(0, RoutingTable::len)
            + self.table6.as_ref().map_or(0, RoutingTable::len)
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

    pub(crate) fn push_event(&mut self, event: Event) {
        if self.events.len() >= self.config.max_events.max(1) {
            self.events.pop_front();
            self.stats.dropped_events = self.stats.dropped_events.saturating_add(1);
        }
        self.events.push_back(event);
    }

    pub(crate) fn push_outgoing(&mut self, out: Outgoing) {
        let waiting = self.outgoing.len() + usize::from(self.ready.is_some());
        if waiting >= self.config.max_outgoing.max(1) {
            // The ready answer, when there is one, is the oldest datagram.
            if self.ready.take().is_none() {
                self.outgoing.pop_front();
            }
            self.stats.dropped_outgoing = self.stats.dropped_outgoing.saturating_add(1);
        }
        self.outgoing.push_back(out);
    }

    /// Queues an answer. When nothing else waits (a driver that polls after every
    /// datagram) and the transaction id is short, the answer waits in a slot of its
    /// own ahead of the queue, which costs less than a trip through it; otherwise it
    /// joins the queue. Either way it waits in structured form, datagrams leave in the
    /// order they were queued, and at most [`Config::max_outgoing`] wait.
    pub(crate) fn queue_reply(&mut self, to: SocketAddr, tid: &[u8], body: OutBody) {
        if self.ready.is_none() && self.outgoing.is_empty() {
            if let Some(tid) = ShortTid::new(tid) {
                self.ready = Some(Ready { to, tid, body });
                return;
            }
        }
        let mut t = Tid::new();
        if t.try_extend_from_slice(tid).is_err() {
            self.stats.dropped_outgoing = self.stats.dropped_outgoing.saturating_add(1);
            return;
        }
        self.push_outgoing(Outgoing { to, tid: t, body });
    }

    /// Registers and queues a query. False if the transaction table is full.
    pub(crate) fn send_query(
        &mut self,
        to: SocketAddr,
        expect: Option<Id>,
        body: OutBody,
        purpose: Purpose,
    ) -> bool {
        // Pings, seed queries, announce_peer and put are sent again on timeout; lookup
        // queries are not (the lookup moves on to other candidates after its soft
        // timeout). A seed query has no such fallback: it goes to a bootstrap address,
        // often the only one, and a lost datagram would leave the node alone until the
        // re-bootstrap backoff.
        let retries = match purpose {
            Purpose::Ping { .. }
            | Purpose::Seed { .. }
            | Purpose::Announce { .. }
            | Purpose::Put { .. } => self.config.query_retries,
            Purpose::Lookup { .. } | Purpose::Sample { .. } => 0,
        };
        self.send_query_with(to, expect, body, purpose, retries)
    }

    fn send_query_with(
        &mut self,
        to: SocketAddr,
        expect: Option<Id>,
        body: OutBody,
        purpose: Purpose,
        retries: u8,
    ) -> bool {
        let now = self.now;
        let pending = Pending {
            to,
            expect,
            sent: now,
            deadline: now + self.config.query_timeout,
            purpose,
            resend: (retries > 0).then(|| (retries, body.clone())),
        };
        let soonest = now
            + self
                .config
                .query_timeout
                .min(self.config.lookup.soft_timeout);
        self.timer_hint = self.timer_hint.min(soonest);
        let Some(tid) = self.transactions.insert(&mut self.rng, pending) else {
            self.stats.transactions_full = self.stats.transactions_full.saturating_add(1);
            return false;
        };
        let mut t = Tid::new();
        let _ = t.try_extend_from_slice(&tid);
        self.push_outgoing(Outgoing { to, tid: t, body });
        true
    }

    /// The next event, if any.
    #[must_use = "an event not read is lost"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest time [`Dht::handle_timeout`] has work to do, or `None` when idle.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.transactions.next_deadline();
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        for s in &self.searches {
            consider(s.next_deadline());
        }
        for w in &self.walks {
            consider(w.next_deadline());
        }
        if self.nodes() > 0 {
            consider(Some(self.next_maintenance));
        }
        consider(self.next_bootstrap);
        t
    }

    /// Runs the timers due at `now`: query timeouts, lookup soft timeouts, table
    /// maintenance, re-bootstrap.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        self.run_timers(now);
    }

    fn run_timers(&mut self, now: Instant) {
        let mut expired = core::mem::take(&mut self.expired);
        self.transactions.expire(now, &mut expired);
        for p in expired.drain(..) {
            self.stats.timeouts = self.stats.timeouts.saturating_add(1);
            self.on_failed(p, true);
        }
        self.expired = expired;
        self.drive_all();
        if !self.walks.is_empty() {
            self.drive_walks();
        }
        if now >= self.next_maintenance {
            self.next_maintenance = now + MAINTENANCE_EVERY;
            self.maintain(now);
        }
        if now >= self.next_store_sweep {
            self.next_store_sweep = now + STORE_SWEEP_EVERY;
            self.peers.expire(now);
            self.items.expire(now);
        }
        if self.next_bootstrap.is_some_and(|t| t <= now) {
            self.next_bootstrap = None;
            if self.nodes() == 0 && !self.bootstrap_addrs.is_empty() {
                let addrs = self.bootstrap_addrs.clone();
                let _ = self.start_bootstrap(&addrs);
            }
        }
        self.timer_hint = self.poll_timeout().unwrap_or(Instant::MAX);
    }

    /// Keeps the tables fresh: pings the stalest questionable node, refreshes one quiet
    /// bucket, and schedules a re-bootstrap when the tables have emptied.
    fn maintain(&mut self, now: Instant) {
        for family in [Family::V4, Family::V6] {
            let Some(table) = self.table(family) else {
                continue;
            };
            if let Some(node) = table.next_to_ping(now) {
                if let Some(t) = self.table_mut(family) {
                    t.on_ping_sent(now, &node.id);
                }
                self.send_query(
                    node.addr,
                    Some(node.id),
                    OutBody::QueryPing,
                    Purpose::Ping { query: None },
                );
            }
            let refresh_running = self.searches.iter().any(|s| s.is_refresh());
            let entropy = self.rng.bytes();
            let Some(table) = self.table_mut(family) else {
                continue;
            };
            let stale = if refresh_running || table.is_empty() {
                None
            } else {
                table.buckets_to_refresh(now).next()
            };
            if let Some(bucket) = stale {
                let target = table.refresh_target(bucket, entropy);
                table.mark_refreshed(now, bucket);
                let _ = self.start_search(search::Kind::Refresh, target, &[]);
            }
        }
        if self.nodes() == 0
            && !self.bootstrap_addrs.is_empty()
            && self.next_bootstrap.is_none()
            && !self.searches.iter().any(|s| s.is_bootstrap())
        {
            self.next_bootstrap = Some(now + self.bootstrap_backoff);
            self.bootstrap_backoff = (self.bootstrap_backoff * 2).min(Duration::from_secs(300));
        }
    }

    /// Handles one received datagram. Never panics; bad input is counted in
    /// [`Dht::stats`].
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let now = self.advance(now);
        // Only an IPv6 address can be a mapped IPv4 one.
        let from = match from {
            SocketAddr::V4(_) => from,
            SocketAddr::V6(a) => SocketAddr::new(a.ip().to_canonical(), a.port()),
        };
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
            Body::Error(e) => {
                match self.transactions.take(msg.transaction_id, from) {
                    // The node is alive but refused: the step failed, the node did not.
                    Some(p) => {
                        if let Purpose::Put { query } = p.purpose {
                            if let Some(i) = self.search_mut(query).and_then(|s| s.item.as_mut()) {
                                i.record_refusal(e.code);
                            }
                        }
                        self.on_failed(p, false)
                    }
                    None => self.stats.unmatched = self.stats.unmatched.saturating_add(1),
                }
                self.drive_all();
            }
        }
    }

    /// A query failed: timed out (`timed_out`) or answered with an error.
    fn on_failed(&mut self, mut p: Pending<Purpose>, timed_out: bool) {
        let now = self.now;
        if timed_out {
            if let Some((left, body)) = p.resend.take() {
                // A fresh transaction id: a late answer to the first try is unmatched.
                self.stats.retries = self.stats.retries.saturating_add(1);
                let retries = left.saturating_sub(1);
                if self.send_query_with(p.to, p.expect, body, p.purpose, retries) {
                    return;
                }
            }
        }
        if timed_out {
            if let Some(id) = p.expect {
                if let Some(t) = self.table_mut(Family::of(&p.to)) {
                    t.on_failure(now, &id);
                }
            }
        }
        match p.purpose {
            Purpose::Lookup { query, family } => {
                if let Some(s) = self.search_mut(query) {
                    s.on_failure(family, p.to, p.expect);
                }
            }
            Purpose::Seed { query, .. } => {
                if let Some(s) = self.search_mut(query) {
                    s.seeds_pending = s.seeds_pending.saturating_sub(1);
                }
            }
            Purpose::Announce { query } | Purpose::Put { query } => {
                if let Some(s) = self.search_mut(query) {
                    s.announce_answered(false);
                }
            }
            Purpose::Sample { query } => self.walk_answer(query, None),
            Purpose::Ping { query: Some(query) } => {
                self.push_event(Event::PingTimeout { query, addr: p.to })
            }
            Purpose::Ping { query: None } => {}
        }
    }

    fn on_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        msg: &Message<'_>,
        r: &crate::krpc::Response<'_>,
    ) {
        let Some(p) = self.transactions.take(msg.transaction_id, from) else {
            self.stats.unmatched = self.stats.unmatched.saturating_add(1);
            return;
        };
        if p.expect.is_some_and(|e| e != r.id) {
            // Someone else answers at that address: the expected node failed.
            self.on_failed(p, true);
            self.drive_all();
            return;
        }
        let node = Node {
            id: r.id,
            addr: from,
        };
        let rtt = now.saturating_duration_since(p.sent);
        if !msg.read_only {
            self.learn(now, node, Some(rtt));
        }
        match p.purpose {
            Purpose::Lookup { query, family } | Purpose::Seed { query, family } => {
                let seed = matches!(p.purpose, Purpose::Seed { .. });
                self.search_response(query, family, node, r, seed);
            }
            Purpose::Announce { query } | Purpose::Put { query } => {
                if let Some(s) = self.search_mut(query) {
                    s.announce_answered(true);
                }
            }
            Purpose::Sample { query } => self.walk_answer(query, Some((node, r))),
            Purpose::Ping { query: Some(query) } => {
                self.push_event(Event::Pong { query, node, rtt })
            }
            Purpose::Ping { query: None } => {}
        }
        self.drive_all();
    }

    /// Offers a node that answered us to its routing table, acting on the decision.
    fn learn(&mut self, now: Instant, node: Node, rtt: Option<Duration>) {
        let family = Family::of(&node.addr);
        let decision = match self.table_mut(family) {
            Some(t) => t.on_response(now, node, rtt),
            None => return,
        };
        // A table that was empty now needs maintenance.
        self.timer_hint = self.timer_hint.min(self.next_maintenance);
        if let Insert::PingFirst { questionable } = decision {
            self.send_query(
                questionable.addr,
                Some(questionable.id),
                OutBody::QueryPing,
                Purpose::Ping { query: None },
            );
        }
    }

    /// Encodes the next waiting datagram into `buf`.
    #[must_use = "a datagram not sent is lost"]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let now = self.advance(now);
        if let Some(r) = &self.ready {
            if let OutBody::ReplyEmpty = r.body {
                // Written from the slot in place: moving the answer out first costs more
                // than the writing (stores of one width read back at another).
                let written = crate::krpc::AnswerWriter::begin(buf, &r.to, None, &self.id)
                    .and_then(|w| w.finish(r.tid.as_bytes(), self.config.version));
                let to = r.to;
                self.ready = None;
                match written {
                    Some(len) => {
                        self.stats.datagrams_out = self.stats.datagrams_out.saturating_add(1);
                        return Some(Transmit { to, len });
                    }
                    None => {
                        self.stats.dropped_outgoing = self.stats.dropped_outgoing.saturating_add(1)
                    }
                }
            }
        }
        if let Some(r) = self.ready.take() {
            let out = Out {
                to: r.to,
                tid: r.tid.as_bytes(),
                body: &r.body,
            };
            match self.encode(now, out, buf) {
                Some(len) => {
                    self.stats.datagrams_out = self.stats.datagrams_out.saturating_add(1);
                    return Some(Transmit { to: r.to, len });
                }
                None => self.stats.dropped_outgoing = self.stats.dropped_outgoing.saturating_add(1),
            }
        }
        while let Some(out) = self.outgoing.pop_front() {
            match self.encode(now, out.view(), buf) {
                Some(len) => {
                    self.stats.datagrams_out = self.stats.datagrams_out.saturating_add(1);
                    return Some(Transmit { to: out.to, len });
                }
                None => self.stats.dropped_outgoing = self.stats.dropped_outgoing.saturating_add(1),
            }
        }
        None
    }

    /// Pings `addr` (e.g. learned from a PORT message); if it answers, it is offered to
    /// the routing table, and a [`Event::Pong`] or [`Event::PingTimeout`] follows.
    pub fn ping(&mut self, now: Instant, addr: SocketAddr) -> Result<QueryId, CommandError> {
        self.advance(now);
        let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
        if self.table(Family::of(&addr)).is_none() {
            return Err(CommandError::FamilyDisabled);
        }
        let query = self.new_query_id();
        if self.send_query(
            addr,
            None,
            OutBody::QueryPing,
            Purpose::Ping { query: Some(query) },
        ) {
            Ok(query)
        } else {
            Err(CommandError::TooManyTransactions)
        }
    }

    /// Adds a node known only by address (a PORT message, a saved table): pings it and
    /// offers it to its routing table if it answers. Unlike [`Dht::ping`], no event
    /// follows either way.
    pub fn add_node(&mut self, now: Instant, addr: SocketAddr) -> Result<(), CommandError> {
        self.advance(now);
        let addr = crate::addr::canonical(addr);
        if self.table(Family::of(&addr)).is_none() {
            return Err(CommandError::FamilyDisabled);
        }
        if self.send_query(
            addr,
            None,
            OutBody::QueryPing,
            Purpose::Ping { query: None },
        ) {
            Ok(())
        } else {
            Err(CommandError::TooManyTransactions)
        }
    }

    /// Joins the DHT through `addrs` (resolved by the caller): a lookup of our own id
    /// seeded by them, then bucket refreshes. The addresses are remembered: if the tables
    /// ever empty (a network loss), the node bootstraps again by itself, backing off up
    /// to 5 minutes between attempts; and a lookup started while the tables know fewer
    /// than `k` nodes (say, right after this call) asks up to 8 of them too.
    pub fn bootstrap(
        &mut self,
        now: Instant,
        addrs: &[SocketAddr],
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        for a in addrs {
            let a = SocketAddr::new(a.ip().to_canonical(), a.port());
            if !self.bootstrap_addrs.contains(&a) && self.bootstrap_addrs.len() < 64 {
                self.bootstrap_addrs.push(a);
            }
        }
        let addrs = self.bootstrap_addrs.clone();
        self.bootstrap_backoff = Duration::from_secs(15);
        self.start_bootstrap(&addrs)
    }

    fn start_bootstrap(&mut self, addrs: &[SocketAddr]) -> Result<QueryId, CommandError> {
        let id = self.id;
        self.start_search(search::Kind::Bootstrap, id, addrs)
    }

    /// Looks up the nodes closest to `target`; ends with [`Event::LookupDone`].
    pub fn find_node(&mut self, now: Instant, target: Id) -> Result<QueryId, CommandError> {
        self.advance(now);
        self.start_search(search::Kind::FindNode, target, &[])
    }

    /// Looks up peers for `info_hash`: [`Event::Peer`] for each, then
    /// [`Event::LookupDone`].
    pub fn get_peers(&mut self, now: Instant, info_hash: Id) -> Result<QueryId, CommandError> {
        self.advance(now);
        self.start_search(search::Kind::GetPeers, info_hash, &[])
    }

    /// Announces that we have `info_hash` on `port` (a TCP port, or the DHT's own UDP
    /// port with [`AnnouncePort::Implied`]), as a seed (BEP 33 `seed=1`) or not: a
    /// get_peers lookup, then announce_peer to the closest nodes that gave tokens; ends
    /// with [`Event::Announced`].
    ///
    /// ```
    /// use btdht::node::{AnnouncePort, Config, Dht};
    /// use btdht::time::Instant;
    ///
    /// let mut dht = Dht::new(Config::default(), [7; 32], Instant::from_millis(0));
    /// let info_hash = btdht::Id::from_bytes([1; 20]);
    /// let q = dht.announce(Instant::from_millis(0), info_hash, AnnouncePort::Port(6881), false)?;
    /// assert_eq!(dht.query(q).unwrap().target(), info_hash);
    /// # Ok::<(), btdht::node::CommandError>(())
    /// ```
    pub fn announce(
        &mut self,
        now: Instant,
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        self.start_search(search::Kind::Announce { port, seed }, info_hash, &[])
    }

    /// Looks up a BEP 44 item: [`Event::Item`] for each valid item found (an immutable
    /// one once; a mutable one each time a higher `seq` is found), then
    /// [`Event::LookupDone`]; the best item stays readable through
    /// [`QueryInfo::item`]. An immutable item's lookup ends at its first valid copy.
    ///
    /// A mutable item needs a [`SignatureVerifier`] ([`Dht::set_signature_verifier`]):
    /// without one the command is refused with [`ItemError::NoVerifier`], as no answer
    /// could be checked.
    ///
    /// ```
    /// use btdht::node::{Config, Dht, ItemTarget};
    /// use btdht::time::Instant;
    ///
    /// let mut dht = Dht::new(Config::default(), [7; 32], Instant::from_millis(0));
    /// let target = "e5f96f6f38320f0f33959cb4d3d656452117aadb".parse().unwrap();
    /// let query = dht.get_item(Instant::from_millis(0), ItemTarget::Immutable(target))?;
    /// assert!(dht.query(query).unwrap().item().is_none());
    /// # Ok::<(), btdht::node::CommandError>(())
    /// ```
    pub fn get_item(
        &mut self,
        now: Instant,
        item: ItemTarget<'_>,
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        let state = self.item_get_state(&item)?;
        self.start_search_with(
            search::Kind::GetItem,
            item.target(),
            &[],
            Some(Box::new(state)),
        )
    }

    /// Stores a BEP 44 item in the DHT: a `get` lookup of its target for write tokens,
    /// then `put` to the closest nodes that gave one; ends with [`Event::ItemPut`], which
    /// says how many stored it. `mutable` is `None` for an immutable item (stored under
    /// the SHA-1 of `value`), else its signed fields ([`MutableItem::sign`]).
    ///
    /// Nodes may drop an item 2 hours after its last put (BEP 44): a publisher puts it
    /// again every hour.
    ///
    /// A `put` carrying a value near 1000 bytes is larger than BEP 32's 1024 bytes: it
    /// needs a [`Dht::poll_transmit`] buffer of
    /// [`MAX_DATAGRAM_LEN`](crate::krpc::MAX_DATAGRAM_LEN) (a smaller buffer drops it and
    /// counts it in [`Stats::dropped_outgoing`]).
    ///
    /// Refused with [`CommandError::Item`] when no node would store it: a value over
    /// 1000 bytes or not canonical bencode, a salt over 64 bytes, a negative `seq`, or
    /// (with a verifier set) a signature that does not verify.
    ///
    /// ```
    /// use btdht::bencode::RawValue;
    /// use btdht::node::{Config, Dht};
    /// use btdht::time::Instant;
    ///
    /// let mut dht = Dht::new(Config::default(), [7; 32], Instant::from_millis(0));
    /// let value = RawValue::new(b"12:Hello World!").unwrap();
    /// let query = dht.put_item(Instant::from_millis(0), value, None)?;
    /// assert_eq!(
    ///     dht.query(query).unwrap().target(),
    ///     btdht::store::immutable_target(value)
    /// );
    /// # Ok::<(), btdht::node::CommandError>(())
    /// ```
    pub fn put_item(
        &mut self,
        now: Instant,
        value: crate::bencode::RawValue<'_>,
        mutable: Option<MutableItem<'_>>,
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        let (target, state) = self.item_put_state(value, mutable.as_ref())?;
        self.start_search_with(search::Kind::PutItem, target, &[], Some(Box::new(state)))
    }

    /// Estimates how many seeds and downloaders `info_hash` has (BEP 33): a `get_peers`
    /// lookup with `scrape=1` whose answers' `BFsd` and `BFpe` bloom filters (and this
    /// node's own) are merged; ends with [`Event::Scraped`]. Answers from nodes without
    /// BEP 33 (`values`, no filters) count their peers as downloaders, unless a seed
    /// filter already has them. The merged filters stay
    /// readable through [`QueryInfo::scrape`].
    ///
    /// ```
    /// use btdht::node::{Config, Dht};
    /// use btdht::time::Instant;
    ///
    /// let mut dht = Dht::new(Config::default(), [7; 32], Instant::from_millis(0));
    /// let q = dht.scrape(Instant::from_millis(0), btdht::Id::from_bytes([1; 20]))?;
    /// assert!(dht.query(q).unwrap().scrape().unwrap().seeds.is_empty());
    /// # Ok::<(), btdht::node::CommandError>(())
    /// ```
    pub fn scrape(&mut self, now: Instant, info_hash: Id) -> Result<QueryId, CommandError> {
        self.advance(now);
        self.start_search(search::Kind::Scrape, info_hash, &[])
    }

    /// Stops a search; its queries in flight are forgotten.
    pub fn cancel(&mut self, query: QueryId) {
        self.searches.retain(|s| s.id != query);
        self.walks.retain(|w| w.id != query);
        self.transactions.retain(|p| match p.purpose {
            Purpose::Lookup { query: q, .. }
            | Purpose::Seed { query: q, .. }
            | Purpose::Announce { query: q }
            | Purpose::Put { query: q }
            | Purpose::Sample { query: q } => q != query,
            Purpose::Ping { query: q } => q != Some(query),
        });
    }

    /// A search's progress or result: running, or among the last
    /// [`Config::max_finished`] finished ones.
    pub fn query(&self, query: QueryId) -> Option<QueryInfo<'_>> {
        self.searches
            .iter()
            .chain(self.finished.iter())
            .find(|s| s.id == query)
            .map(|search| QueryInfo { search })
    }
}

/// A borrowed view of a search (see [`Dht::query`]).
#[derive(Debug, Clone, Copy)]
pub struct QueryInfo<'a> {
    search: &'a Search,
}

impl<'a> QueryInfo<'a> {
    /// The lookup target.
    pub fn target(&self) -> Id {
        self.search.target
    }

    /// Whether it has finished.
    pub fn is_finished(&self) -> bool {
        self.search.is_done()
    }

    /// The closest nodes that answered, closest first, with the token each gave.
    pub fn closest(&self) -> impl Iterator<Item = (Node, Option<&'a [u8]>)> + 'a {
        self.search.closest()
    }

    /// For a [`Dht::get_item`] lookup: the best valid item found so far (for a mutable
    /// item, the highest `seq`).
    pub fn item(&self) -> Option<&'a crate::store::Item> {
        self.search.item.as_ref()?.best.as_ref()
    }

    /// For a [`Dht::scrape`]: the union of the BEP 33 filters received so far (the
    /// peers of answers without filters join the downloader filter when it finishes)
    /// ([`BloomFilter::estimate`](crate::store::BloomFilter::estimate) gives the
    /// unrounded counts).
    pub fn scrape(&self) -> Option<&'a crate::store::Scrape> {
        self.search.scrape.as_deref().map(|a| &a.filters)
    }
}
