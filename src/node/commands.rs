//! The commands a caller gives the node, each returning a handle to its work, and the
//! view of a search's result.

use super::items::{self, ItemTarget, MutableItem};
use super::outgoing::OutBody;
use super::search::{ItemState, Kind, ScrapeState, Search};
use super::walk::{MAX_QUEUED, Walk, WalkConfig};
use super::{Dht, Purpose, QueryId};
#[cfg(doc)]
use super::{Event, Stats};
use crate::addr::{Family, canonical};
use crate::id::Id;
use crate::lookup::Lookup;
use crate::routing::{Liveness, Node};
use crate::store::{ItemError, SignatureVerifier};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::vec::Vec;
use arrayvec::ArrayVec;
use core::fmt;
use core::net::SocketAddr;

/// Most bootstrap addresses a lookup asks when the routing tables know too few nodes.
const BOOTSTRAP_SEEDS: usize = 8;

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
    /// [`Config::max_searches`](super::Config::max_searches) searches are already
    /// running.
    TooManySearches,
    /// The address's family is not enabled in
    /// [`Config::families`](super::Config::families).
    FamilyDisabled,
    /// The transaction table is full.
    TooManyTransactions,
    /// [`Config::max_kept`](super::Config::max_kept) announces and items are already
    /// kept going.
    TooManyKept,
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
            CommandError::TooManyKept => "too many announces and items kept going",
            CommandError::Item(e) => return write!(f, "item refused: {e}"),
        })
    }
}

impl core::error::Error for CommandError {}

impl Dht {
    pub(super) fn verifier(&self) -> Option<&dyn SignatureVerifier> {
        self.server.verifier.as_deref().map(|v| v as _)
    }

    /// `addr` as the node keeps it, if its family is enabled.
    fn enabled(&self, addr: SocketAddr) -> Result<SocketAddr, CommandError> {
        let addr = canonical(addr);
        if self.tables.has(Family::of(&addr)) {
            Ok(addr)
        } else {
            Err(CommandError::FamilyDisabled)
        }
    }

    /// Pings `addr` (e.g. learned from a PORT message); if it answers, it is offered to
    /// the routing table, and a [`Event::Pong`] or [`Event::PingTimeout`] follows.
    pub fn ping(&mut self, now: Instant, addr: SocketAddr) -> Result<QueryId, CommandError> {
        self.advance(now);
        let addr = self.enabled(addr)?;
        let query = self.new_query_id();
        let purpose = Purpose::Ping { query: Some(query) };
        if self.send_query(addr, None, OutBody::QueryPing, purpose) {
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
        let addr = self.enabled(addr)?;
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
    /// seeded by them, then bucket refreshes; ends with [`Event::Bootstrapped`], or
    /// [`Event::BootstrapFailed`] if none of them answered. The addresses are remembered
    /// (added to those given before, up to 64; [`Dht::set_bootstrap`] replaces them):
    /// if the node ever loses touch with the network (an outage, a sleep), it bootstraps
    /// again by itself, backing off up to 5 minutes between attempts; and a lookup
    /// started while the tables know fewer than `k` nodes (say, right after this call)
    /// asks up to 8 of them too.
    pub fn bootstrap(
        &mut self,
        now: Instant,
        addrs: &[SocketAddr],
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        self.maintenance
            .remember(addrs.iter().map(|a| canonical(*a)));
        let seeds = self.maintenance.seeds();
        // Its end is reported whatever it finds (even at once, inside the call).
        self.user_bootstrap = Some(QueryId(self.next_query_id));
        self.start_bootstrap(&seeds)
    }

    pub(super) fn start_bootstrap(
        &mut self,
        addrs: &[SocketAddr],
    ) -> Result<QueryId, CommandError> {
        let id = self.id;
        self.start_search(Kind::Bootstrap, id, addrs, None)
    }

    /// Looks up the nodes closest to `target`; ends with [`Event::LookupDone`].
    pub fn find_node(&mut self, now: Instant, target: Id) -> Result<QueryId, CommandError> {
        self.advance(now);
        self.start_search(Kind::FindNode, target, &[], None)
    }

    /// Looks up peers for `info_hash`: [`Event::Peer`] for each, then
    /// [`Event::LookupDone`].
    pub fn get_peers(&mut self, now: Instant, info_hash: Id) -> Result<QueryId, CommandError> {
        self.advance(now);
        self.start_search(Kind::GetPeers, info_hash, &[], None)
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
        self.start_search(Kind::Announce { port, seed }, info_hash, &[], None)
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
        let state = items::get_state(&item, self.verifier())?;
        self.start_search(Kind::GetItem, item.target(), &[], Some(Box::new(state)))
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
        let (target, state) = items::put_state(value, mutable.as_ref(), self.verifier())?;
        self.start_search(Kind::PutItem, target, &[], Some(Box::new(state)))
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
        self.start_search(Kind::Scrape, info_hash, &[], None)
    }

    /// Asks the node at `addr` for a sample of the info-hashes it stores (BEP 51):
    /// [`Event::Samples`] if it answers, then [`Event::WalkDone`] (with `answered` 0 if
    /// it did not).
    pub fn sample_infohashes(
        &mut self,
        now: Instant,
        addr: SocketAddr,
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        let addr = self.enabled(addr)?;
        self.start_walk(WalkConfig::SINGLE, &[addr])
    }

    /// Walks the keyspace for BEP 51 samples, as an indexer does: asks the nodes of the
    /// routing tables, then every node their answers list, each once, at most
    /// `config.rate` queries per second, until `config.max_nodes` were asked or no node
    /// is left. Each answer is an [`Event::Samples`]; the end is an [`Event::WalkDone`].
    /// Each query asks for a random target, so the answers' nodes spread over the
    /// keyspace. A walk counts against [`Config::max_searches`](super::Config).
    ///
    /// ```
    /// use btdht::node::{Config, Dht, Event, WalkConfig};
    /// use btdht::time::Instant;
    ///
    /// let mut dht = Dht::new(Config::default(), [7; 32], Instant::from_millis(0));
    /// let walk = dht.walk_samples(Instant::from_millis(0), WalkConfig::default())?;
    /// // An empty table: nothing to ask, the walk is over at once.
    /// assert!(matches!(dht.poll_event(), Some(Event::WalkDone { query, asked: 0, .. }) if query == walk));
    /// # Ok::<(), btdht::node::CommandError>(())
    /// ```
    pub fn walk_samples(
        &mut self,
        now: Instant,
        config: WalkConfig,
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        let start: Vec<SocketAddr> = self
            .tables
            .iter()
            .flat_map(|t| {
                t.iter()
                    .filter(|e| e.failures() == 0)
                    .map(|e| e.addr())
                    .take(MAX_QUEUED)
            })
            .collect();
        self.start_walk(config, &start)
    }

    fn start_walk(
        &mut self,
        config: WalkConfig,
        start: &[SocketAddr],
    ) -> Result<QueryId, CommandError> {
        if !self.may_search() {
            return Err(CommandError::TooManySearches);
        }
        let id = self.new_query_id();
        self.walks.reserve_exact(1);
        self.walks
            .push(Walk::new(id, config, start.iter().copied(), self.now));
        self.drive_walk(id);
        Ok(id)
    }

    /// Starts a search seeded from the routing tables and from `seeds` (addresses whose
    /// ids are unknown: they get a query for the target outside the lookup, and their
    /// answers seed it), with the item state of a BEP 44 get or put.
    pub(super) fn start_search(
        &mut self,
        kind: Kind,
        target: Id,
        seeds: &[SocketAddr],
        item: Option<Box<ItemState>>,
    ) -> Result<QueryId, CommandError> {
        if !self.may_search() {
            return Err(CommandError::TooManySearches);
        }
        let id = self.new_query_id();
        let now = self.now;
        let mut search = Search::new(id, kind, target, self.config.max_search_peers, now);
        search.item = item;
        if kind == Kind::Scrape {
            // This node's own filters count, as its own peers do for get_peers.
            let own = self.server.peers.scrape(now, &target);
            search.scrape = Some(Box::new(ScrapeState::new(own)));
        }
        let mut known = 0;
        for table in self.tables.iter() {
            let mut lookup = Lookup::new(target, self.config.routing.k, self.config.lookup, now);
            let closest = table.closest::<32>(&target, Liveness::NotBad, now);
            known += closest.len();
            lookup.add_candidates(closest.iter().map(|e| e.node()));
            search.add_lookup(table.family(), lookup);
        }
        // A node that knows fewer than `k` nodes (still bootstrapping, or cut off) also
        // asks its bootstrap addresses it does not know as nodes, as libtorrent does with
        // its routers: a lookup started right after `bootstrap` would otherwise have
        // nobody to ask.
        let fallback: ArrayVec<SocketAddr, BOOTSTRAP_SEEDS> =
            if seeds.is_empty() && kind != Kind::Refresh && known < self.config.routing.k {
                self.maintenance
                    .seeds()
                    .into_iter()
                    .filter(|a| !search.knows(a))
                    .take(BOOTSTRAP_SEEDS)
                    .collect()
            } else {
                ArrayVec::new()
            };
        let seeds = if fallback.is_empty() {
            seeds
        } else {
            &fallback[..]
        };
        let tables = &self.tables;
        search.add_seeds(seeds.iter().copied().filter(|a| tables.has(Family::of(a))));
        match kind {
            // This node may itself be among the closest to the info-hash: peers announced
            // to it count as found (a two-node network finds its own announces this way).
            Kind::GetPeers => search.start_with_peers(
                self.server.peers.peers(now, &target).map(|p| p.addr),
                &mut self.events,
            ),
            // Likewise an item put to this node.
            Kind::GetItem => {
                search.start_with_item(self.server.items.get(now, &target), &mut self.events)
            }
            _ => {}
        }
        // Grown one at a time: a search is 1 KB, and doubling would reserve room for
        // up to twice `max_searches` of them.
        self.searches.reserve_exact(1);
        self.searches.push(search);
        self.drive_search(id);
        Ok(id)
    }

    /// Stops a search or a walk; its queries in flight are forgotten, and a put's
    /// `put` queries not sent yet are dropped (counted in
    /// [`Stats::dropped_outgoing`](super::Stats::dropped_outgoing)).
    pub fn cancel(&mut self, query: QueryId) {
        self.searches.retain(|s| s.id != query);
        self.walks.retain(|w| w.id != query);
        self.transactions
            .retain(|p| p.purpose.query() != Some(query));
    }

    /// A search's progress or result: running, or among the last
    /// [`Config::max_finished`](super::Config::max_finished) finished ones.
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
