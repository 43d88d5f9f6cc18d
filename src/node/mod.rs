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
mod encode;
mod event;
mod items;
mod maintenance;
mod outgoing;
mod ratelimit;
mod rng;
mod search;
mod server;
mod tables;
mod transactions;
mod walk;

pub use commands::{AnnouncePort, CommandError, QueryInfo};
pub use config::{Config, Mode, RateLimit};
pub use event::{Event, QueryId, Served, Stats};
pub use items::{ItemTarget, MutableItem};
pub use outgoing::{MAX_ECHOED_TRANSACTION_ID, Transmit};
pub use transactions::TRANSACTION_ID_LEN;
pub use walk::WalkConfig;

use crate::addr::{Family, canonical};
use crate::id::Id;
use crate::krpc::{Body, ErrorCode, Message, MessageKind, Query, QueryKind, Response};
use crate::routing::{Insert, Node, RoutingTable};
use crate::store::{InfoHashSampler, ItemStore, PeerStore, SignatureVerifier};
use crate::time::Instant;
use crate::token::Tokens;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;
use core::time::Duration;
use encode::Wire;
use event::EventQueue;
use maintenance::Maintenance;
use outgoing::{OutBody, Outbox, Outgoing, Tid};
use ratelimit::RateLimiter;
use rng::Rng;
use search::{Judge, Request, Role, Search};
use server::Server;
use tables::Tables;
use transactions::{Pending, Transactions};
use walk::{Reach, Walk};

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
        let server = Server {
            tokens: Tokens::new(Rng::derive(&seed, b"token")),
            peers: PeerStore::new(config.peers, Rng::derive(&seed, b"peer store")),
            items: ItemStore::new(config.items),
            sampler: InfoHashSampler::new(config.samples, Rng::derive(&seed, b"samples")),
            rate: RateLimiter::new(config.rate_limit, rate_key),
            verifier: None,
        };
        Dht {
            tables: Tables::new(id, config.families, config.routing),
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
        s
    }

    /// Lookups and BEP 51 walks running: both count against `Config::max_searches`.
    fn running_searches(&self) -> usize {
        self.searches.len().saturating_add(self.walks.len())
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

    /// Registers and queues a query. False if the transaction table is full.
    fn send_query(
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
            | Purpose::Search {
                role: Role::Seed(_) | Role::Store,
                ..
            } => self.config.query_retries,
            Purpose::Search {
                role: Role::Lookup(_),
                ..
            }
            | Purpose::Walk { .. } => 0,
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
        self.outbox.push(Outgoing { to, tid: t, body });
        true
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
                (self.tables.len() > 0).then_some(self.maintenance.next_tick),
                self.maintenance.next_bootstrap,
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

    fn run_timers(&mut self, now: Instant) {
        let mut expired = core::mem::take(&mut self.expired);
        self.transactions.expire(now, &mut expired);
        for p in expired.drain(..) {
            self.stats.timeouts = self.stats.timeouts.saturating_add(1);
            self.on_failed(p, true);
        }
        self.expired = expired;
        // Every search whose soft timeouts passed, or whose queries just failed, has
        // something to do; the others do nothing when driven.
        let ids: Vec<QueryId> = self.searches.iter().map(|s| s.id).collect();
        for id in ids {
            self.drive_search(id);
        }
        let ids: Vec<QueryId> = self.walks.iter().map(|w| w.id).collect();
        for id in ids {
            self.drive_walk(id);
        }
        if self.maintenance.tick_due(now) {
            self.maintain(now);
        }
        if self.maintenance.sweep_due(now) {
            self.server.sweep(now);
        }
        if self.maintenance.bootstrap_due(now)
            && self.tables.len() == 0
            && !self.maintenance.bootstrap_addrs.is_empty()
        {
            let addrs = self.maintenance.bootstrap_addrs.clone();
            let _ = self.start_bootstrap(&addrs);
        }
        self.timer_hint = self.poll_timeout().unwrap_or(Instant::MAX);
    }

    /// Keeps the tables fresh: pings the stalest questionable node, refreshes one quiet
    /// bucket, and schedules a re-bootstrap when the tables have emptied.
    fn maintain(&mut self, now: Instant) {
        for family in Family::ALL {
            let Some(table) = self.tables.get_mut(family) else {
                continue;
            };
            if let Some(node) = table.next_to_ping(now) {
                table.on_ping_sent(now, &node.id);
                self.send_query(
                    node.addr,
                    Some(node.id),
                    OutBody::QueryPing,
                    Purpose::Ping { query: None },
                );
            }
            let refresh_running = self.searches.iter().any(Search::is_refresh);
            let entropy = self.rng.bytes();
            let Some(table) = self.tables.get_mut(family) else {
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
                let _ = self.start_search(search::Kind::Refresh, target, &[], None);
            }
        }
        if self.tables.len() == 0
            && !self.maintenance.bootstrap_addrs.is_empty()
            && self.maintenance.next_bootstrap.is_none()
            && !self.searches.iter().any(Search::is_bootstrap)
        {
            self.maintenance.schedule_bootstrap(now);
        }
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
            Body::Error(e) => match self.transactions.take(msg.transaction_id, from) {
                // The node is alive but refused: the step failed, the node did not.
                Some(p) => {
                    if let Purpose::Search {
                        query,
                        role: Role::Store,
                    } = p.purpose
                    {
                        if let Some(s) = self.search_mut(query) {
                            s.on_refused(e.code);
                        }
                    }
                    let purpose = p.purpose;
                    self.on_failed(p, false);
                    if let Purpose::Search { query, .. } = purpose {
                        self.drive_search(query);
                    }
                }
                None => self.stats.unmatched = self.stats.unmatched.saturating_add(1),
            },
        }
    }

    /// Answers a query: the server decides the answer, the routing table hears of the
    /// querier.
    fn on_query(&mut self, now: Instant, from: SocketAddr, msg: &Message<'_>, q: &Query<'_>) {
        if self.config.mode == Mode::ReadOnly {
            self.stats.ignored_read_only = self.stats.ignored_read_only.saturating_add(1);
            return;
        }
        if !self.server.rate.allow(now, from.ip()) {
            self.stats.rate_limited = self.stats.rate_limited.saturating_add(1);
            return;
        }
        let tid = msg.transaction_id;
        if tid.len() > MAX_ECHOED_TRANSACTION_ID {
            self.stats.bad_datagrams = self.stats.bad_datagrams.saturating_add(1);
            return;
        }
        // A query refreshes a known node; it never adds one. An unknown querier the table
        // has room for is pinged (after the answer is queued), and enters only if it
        // answers.
        let verify = !msg.read_only
            && match self.tables.get_mut(Family::of(&from)) {
                Some(t) => {
                    let node = Node {
                        id: q.id,
                        addr: from,
                    };
                    !t.on_query(now, node) && !t.knows_addr(&from) && t.wants(&q.id)
                }
                None => false,
            };
        if let QueryKind::Ping = q.kind {
            // The most common query, answered without asking the server.
            self.stats.served.ping = self.stats.served.ping.saturating_add(1);
            self.outbox.push_answer(from, tid, OutBody::ReplyEmpty);
        } else {
            let families = self.tables.families();
            match self.server.answer(now, from, q, families, &mut self.stats) {
                Ok(body) => {
                    self.stats.served.count(&q.kind);
                    self.outbox.push_answer(from, tid, body);
                }
                Err((code, message)) => self.reply_error(from, tid, code, message),
            }
        }
        if verify && self.transactions.len() < self.config.max_transactions / 2 {
            self.send_query(
                from,
                Some(q.id),
                OutBody::QueryPing,
                Purpose::Ping { query: None },
            );
        }
    }

    fn reply_error(&mut self, to: SocketAddr, tid: &[u8], code: ErrorCode, message: &'static str) {
        let Ok(tid) = Tid::try_from(tid) else {
            self.stats.bad_datagrams = self.stats.bad_datagrams.saturating_add(1);
            return;
        };
        self.stats.errors_sent = self.stats.errors_sent.saturating_add(1);
        self.outbox.push(Outgoing {
            to,
            tid,
            body: OutBody::Error { code, message },
        });
    }

    /// A query we could not decode but whose `t` we read: error 203.
    fn reply_malformed(&mut self, now: Instant, from: SocketAddr, t: &[u8]) {
        if self.config.mode == Mode::ReadOnly || !self.server.rate.allow(now, from.ip()) {
            return;
        }
        self.reply_error(from, t, ErrorCode::Protocol, "malformed query");
    }

    /// A response: matched to its transaction, offered to the routing table, and handed
    /// to the one search, walk or ping it answers.
    fn on_response(&mut self, now: Instant, from: SocketAddr, msg: &Message<'_>, r: &Response<'_>) {
        let Some(p) = self.transactions.take(msg.transaction_id, from) else {
            self.stats.unmatched = self.stats.unmatched.saturating_add(1);
            return;
        };
        if p.expect.is_some_and(|e| e != r.id) {
            // Someone else answers at that address: the expected node failed.
            let purpose = p.purpose;
            self.on_failed(p, true);
            if let Purpose::Search { query, .. } = purpose {
                self.drive_search(query);
            }
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
            Purpose::Search { query, role } => {
                let judge = Judge {
                    own_id: &self.id,
                    local: self.config.routing.local_addresses,
                    verifier: self.server.verifier.as_deref().map(|v| v as _),
                };
                let Some(s) = self.searches.iter_mut().find(|s| s.id == query) else {
                    return;
                };
                if !s.on_response(now, role, node, r, &judge, &mut self.events) {
                    self.stats.bad_items = self.stats.bad_items.saturating_add(1);
                }
                self.drive_search(query);
            }
            Purpose::Walk { query } => {
                let reach = Reach {
                    own_id: &self.id,
                    families: self.tables.families(),
                    local: self.config.routing.local_addresses,
                };
                let Some(w) = self.walks.iter_mut().find(|w| w.id == query) else {
                    return;
                };
                let event = w.on_response(node, r, &reach);
                self.events.push(event);
                self.drive_walk(query);
            }
            Purpose::Ping { query: Some(query) } => {
                self.events.push(Event::Pong { query, node, rtt })
            }
            Purpose::Ping { query: None } => {}
        }
    }

    /// A query failed: timed out (`timed_out`) or answered with an error. A timed-out
    /// query with tries left is sent again instead.
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
            if let Some(id) = p.expect {
                if let Some(t) = self.tables.get_mut(Family::of(&p.to)) {
                    t.on_failure(now, &id);
                }
            }
        }
        match p.purpose {
            // The caller drives the search: at once for an error or a wrong answerer,
            // after every expired transaction for timeouts.
            Purpose::Search { query, role } => {
                if let Some(s) = self.search_mut(query) {
                    s.on_failure(role, p.to, p.expect);
                }
            }
            Purpose::Walk { query } => {
                if let Some(w) = self.walks.iter_mut().find(|w| w.id == query) {
                    w.on_failure();
                    self.drive_walk(query);
                }
            }
            Purpose::Ping { query: Some(query) } => {
                self.events.push(Event::PingTimeout { query, addr: p.to })
            }
            Purpose::Ping { query: None } => {}
        }
    }

    /// Offers a node that answered us to its routing table, acting on the decision.
    fn learn(&mut self, now: Instant, node: Node, rtt: Option<Duration>) {
        let decision = match self.tables.get_mut(Family::of(&node.addr)) {
            Some(t) => t.on_response(now, node, rtt),
            None => return,
        };
        // A table that was empty now needs maintenance.
        self.timer_hint = self.timer_hint.min(self.maintenance.next_tick);
        if let Insert::PingFirst { questionable } = decision {
            self.send_query(
                questionable.addr,
                Some(questionable.id),
                OutBody::QueryPing,
                Purpose::Ping { query: None },
            );
        }
    }

    fn search_mut(&mut self, query: QueryId) -> Option<&mut Search> {
        self.searches.iter_mut().find(|s| s.id == query)
    }

    /// Sends what search `id` wants sent now, and finishes it if it is over.
    fn drive_search(&mut self, id: QueryId) {
        let now = self.now;
        while let Some(req) = self.search_mut(id).and_then(|s| s.next_lookup_query(now)) {
            let step = matches!(req.role, Role::Lookup(_));
            if !self.send_request(id, req) && step {
                // The transaction table is full: the lookup waits for its next turn.
                break;
            }
        }
        while let Some(req) = self.search_mut(id).and_then(Search::next_store_query) {
            self.send_request(id, req);
        }
        let nodes = self.tables.len();
        let Some(index) = self.searches.iter().position(|s| s.id == id) else {
            return;
        };
        let Some(event) = self
            .searches
            .get_mut(index)
            .and_then(|s| s.poll_finished(now, nodes))
        else {
            return;
        };
        let s = self.searches.swap_remove(index);
        if let Some(e) = event {
            self.events.push(e);
        }
        if s.kind().is_command() {
            if self.finished.len() >= self.config.max_finished.max(1) {
                self.finished.pop_front();
            }
            self.finished.push_back(s);
        }
    }

    /// Sends a search's request; false (after telling the search) if it could not go.
    fn send_request(&mut self, id: QueryId, req: Request) -> bool {
        let (to, expect, role) = (req.to, req.expect, req.role);
        let purpose = Purpose::Search { query: id, role };
        if self.send_query(to, expect, req.body, purpose) {
            return true;
        }
        if let Some(s) = self.search_mut(id) {
            s.on_failure(role, to, expect);
        }
        false
    }

    /// Sends what walk `id` may send now, and ends it when it is over.
    fn drive_walk(&mut self, id: QueryId) {
        let now = self.now;
        while let Some(to) = self
            .walks
            .iter_mut()
            .find(|w| w.id == id)
            .and_then(|w| w.next_query(now))
        {
            let target = Id::from_bytes(self.rng.bytes());
            let purpose = Purpose::Walk { query: id };
            if self.send_query(to, None, OutBody::QuerySample { target }, purpose) {
                if let Some(w) = self.walks.iter_mut().find(|w| w.id == id) {
                    w.on_sent();
                }
            }
        }
        let Some(index) = self.walks.iter().position(|w| w.id == id) else {
            return;
        };
        if let Some(at) = self.walks.get(index).and_then(Walk::next_deadline) {
            // Queued nodes wait for their turn: the timers must run by then.
            self.timer_hint = self.timer_hint.min(at);
        }
        if let Some(event) = self.walks.get(index).and_then(|w| w.poll_finished(now)) {
            self.walks.swap_remove(index);
            self.events.push(event);
        }
    }
}
