//! Searches: lookups started by commands (and by maintenance), driven by answers and
//! timers, finished with an event.

use super::items::{Checked, ItemState};
use super::{AnnouncePort, CommandError, Dht, Event, OutBody, Purpose, QueryId};
use crate::addr::{Family, LocalAddresses, is_global};
use crate::id::Id;
use crate::krpc::Response;
use crate::lookup::{Lookup, LookupStats};
use crate::routing::{Liveness, Node};
use crate::store::{BloomFilter, Scrape};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use arrayvec::ArrayVec;
use core::net::IpAddr;
use core::net::SocketAddr;

/// Peers remembered per search to report each once.
const MAX_PEERS_SEEN: usize = 4096;

/// Most bootstrap addresses a lookup asks when the routing tables know too few nodes.
const BOOTSTRAP_SEEDS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bootstrap,
    Refresh,
    FindNode,
    GetPeers,
    Announce { port: AnnouncePort, seed: bool },
    GetItem,
    PutItem,
    Scrape,
}

impl Kind {
    /// What a lookup step asks; `seq`, for a mutable item's get, is the best version
    /// found so far (nodes then send the item only if theirs is newer).
    fn query(self, target: Id, seq: Option<i64>) -> OutBody {
        match self {
            Kind::GetPeers | Kind::Announce { .. } => OutBody::QueryGetPeers { info_hash: target },
            Kind::GetItem => OutBody::QueryGet { target, seq },
            Kind::PutItem => OutBody::QueryGet { target, seq: None },
            Kind::Scrape => OutBody::QueryScrape { info_hash: target },
            Kind::Bootstrap | Kind::Refresh | Kind::FindNode => OutBody::QueryFindNode { target },
        }
    }

    /// Whether the search's end is reported and kept for [`Dht::query`].
    fn is_command(self) -> bool {
        !matches!(self, Kind::Bootstrap | Kind::Refresh)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Lookup,
    Announcing { pending: usize, accepted: usize },
    Done,
}

#[derive(Clone, Debug)]
pub(crate) struct Search {
    pub(crate) id: QueryId,
    kind: Kind,
    pub(crate) target: Id,
    started: Instant,
    lookups: ArrayVec<(Family, Lookup), 2>,
    pub(crate) seeds_pending: usize,
    peers_seen: BTreeSet<SocketAddr>,
    phase: Phase,
    /// BEP 44 get and put searches: what is looked for, found, put.
    pub(crate) item: Option<Box<ItemState>>,
    /// A BEP 33 scrape's merged filters.
    pub(crate) scrape: Option<Box<ScrapeState>>,
}

/// Legacy peers remembered per scrape (see [`ScrapeState::legacy`]).
const MAX_LEGACY_PEERS: usize = 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct ScrapeState {
    /// The union of the filters received.
    pub(crate) filters: Scrape,
    /// Nodes whose answers carried filters.
    responses: usize,
    /// IPs from answers with `values` but no filters (nodes without BEP 33): counted as
    /// downloaders at the end unless a seed filter has them (BEP 33).
    legacy: BTreeSet<IpAddr>,
}

impl Search {
    pub(crate) fn is_refresh(&self) -> bool {
        self.kind == Kind::Refresh
    }

    pub(crate) fn is_bootstrap(&self) -> bool {
        self.kind == Kind::Bootstrap
    }

    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.phase != Phase::Lookup {
            return None;
        }
        self.lookups
            .iter()
            .filter_map(|(_, l)| l.next_deadline())
            .min()
    }

    pub(crate) fn on_failure(&mut self, family: Family, addr: SocketAddr, id: Option<Id>) {
        if let (Some(id), Some((_, l))) = (id, self.lookups.iter_mut().find(|(f, _)| *f == family))
        {
            l.on_failure(&Node { id, addr });
        }
    }

    pub(crate) fn announce_answered(&mut self, accepted: bool) {
        if let Phase::Announcing {
            pending,
            accepted: n,
        } = &mut self.phase
        {
            *pending = pending.saturating_sub(1);
            if accepted {
                *n += 1;
            }
        }
    }

    fn stats(&self) -> LookupStats {
        let mut s = LookupStats::default();
        for (_, l) in &self.lookups {
            let x = l.stats();
            s.queries += x.queries;
            s.responses += x.responses;
            s.failures += x.failures;
            s.soft_timeouts += x.soft_timeouts;
            s.hops = s.hops.max(x.hops);
        }
        s
    }

    pub(crate) fn closest(&self) -> impl Iterator<Item = (Node, Option<&[u8]>)> + '_ {
        self.lookups.iter().flat_map(|(_, l)| l.closest_answered())
    }

    fn lookups_finished(&self) -> bool {
        self.seeds_pending == 0 && self.lookups.iter().all(|(_, l)| l.is_finished())
            || self.found_immutable()
    }

    /// The `seq` of the best mutable item found so far.
    fn best_seq(&self) -> Option<i64> {
        self.item.as_ref()?.best.as_ref()?.seq()
    }

    /// An immutable item's get is over once one valid copy is found: every copy is the same.
    fn found_immutable(&self) -> bool {
        self.kind == Kind::GetItem
            && self
                .item
                .as_ref()
                .is_some_and(|i| i.is_immutable() && i.best.is_some())
    }
}

impl Dht {
    pub(crate) fn search_mut(&mut self, query: QueryId) -> Option<&mut Search> {
        self.searches.iter_mut().find(|s| s.id == query)
    }

    /// Starts a search seeded from the routing tables and from `seeds` (addresses whose
    /// ids are unknown: they get a find_node for the target outside the lookup, and their
    /// answers seed it).
    pub(crate) fn start_search(
        &mut self,
        kind: Kind,
        target: Id,
        seeds: &[SocketAddr],
    ) -> Result<QueryId, CommandError> {
        self.start_search_with(kind, target, seeds, None)
    }

    /// Lookups and BEP 51 walks running: both count against `Config::max_searches`.
    pub(crate) fn running_searches(&self) -> usize {
        self.searches.len().saturating_add(self.walks.len())
    }

    /// [`Dht::start_search`] with the item state of a BEP 44 get or put.
    pub(crate) fn start_search_with(
        &mut self,
        kind: Kind,
        target: Id,
        seeds: &[SocketAddr],
        item: Option<Box<ItemState>>,
    ) -> Result<QueryId, CommandError> {
        if self.running_searches() >= self.config.max_searches.max(1) {
            return Err(CommandError::TooManySearches);
        }
        let id = self.new_query_id();
        let now = self.now;
        let mut search = Search {
            id,
            kind,
            target,
            started: now,
            lookups: ArrayVec::new(),
            seeds_pending: 0,
            peers_seen: BTreeSet::new(),
            phase: Phase::Lookup,
            item,
            // This node's own filters count, as its own peers do for get_peers.
            scrape: (kind == Kind::Scrape).then(|| {
                let own = self.peers.scrape(now, &target);
                Box::new(ScrapeState {
                    responses: usize::from(own.is_some()),
                    filters: own.unwrap_or_default(),
                    legacy: BTreeSet::new(),
                })
            }),
        };
        let mut known = 0;
        for family in [Family::V4, Family::V6] {
            let Some(table) = self.table(family) else {
                continue;
            };
            let mut lookup = Lookup::new(target, self.config.routing.k, self.config.lookup, now);
            let seeds = table.closest::<32>(&target, Liveness::NotBad, now);
            known += seeds.len();
            lookup.add_candidates(seeds.iter().map(|e| e.node()));
            let _ = search.lookups.try_push((family, lookup));
        }
        // A node that knows fewer than `k` nodes (still bootstrapping, or cut off) also
        // asks its bootstrap addresses it does not know as nodes, as libtorrent does with
        // its routers: a lookup started right after `bootstrap` would otherwise have
        // nobody to ask.
        let fallback: ArrayVec<SocketAddr, BOOTSTRAP_SEEDS> =
            if seeds.is_empty() && kind != Kind::Refresh && known < self.config.routing.k {
                self.bootstrap_addrs
                    .iter()
                    .copied()
                    .filter(|a| !search.lookups.iter().any(|(_, l)| l.knows(a)))
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
        // This node may itself be among the closest to the info-hash: peers announced to
        // it count as found (a two-node network finds its own announces this way).
        let mut local: ArrayVec<SocketAddr, 128> = ArrayVec::new();
        if matches!(kind, Kind::GetPeers) {
            for p in self.peers.peers(now, &target) {
                if search.peers_seen.len() < MAX_PEERS_SEEN
                    && search.peers_seen.insert(p.addr)
                    && local.try_push(p.addr).is_err()
                {
                    break;
                }
            }
        }
        // Likewise an item put to this node.
        let local_item = match &search.item {
            Some(state) if kind == Kind::GetItem => self
                .items
                .get(now, &target)
                .filter(|i| state.is_better(i))
                .cloned(),
            _ => None,
        };
        if let (Some(item), Some(state)) = (&local_item, &mut search.item) {
            state.best = Some(item.clone());
        }
        self.searches.push(search);
        if let Some(item) = local_item {
            self.push_event(Event::Item {
                query: id,
                target,
                item: Box::new(item),
            });
        }
        for peer in local {
            self.push_event(Event::Peer {
                query: id,
                info_hash: target,
                peer,
            });
        }
        let best_seq = self.search_mut(id).and_then(|s| s.best_seq());
        let body = kind.query(target, best_seq);
        for addr in seeds {
            let family = Family::of(addr);
            if self.table(family).is_none() {
                continue;
            }
            if self.send_query(
                *addr,
                None,
                body.clone(),
                Purpose::Seed { query: id, family },
            ) {
                if let Some(s) = self.search_mut(id) {
                    s.seeds_pending += 1;
                }
            }
        }
        self.drive(id);
        Ok(id)
    }

    /// Whether a node from a `nodes` list may be queried.
    fn acceptable(&self, node: &Node) -> bool {
        node.id != self.id
            && node.addr.port() != 0
            && (self.config.routing.local_addresses == LocalAddresses::Allow
                || is_global(node.addr.ip()))
    }

    pub(crate) fn search_response(
        &mut self,
        query: QueryId,
        family: Family,
        from: Node,
        r: &Response<'_>,
        seed: bool,
    ) {
        let mut closer: ArrayVec<Node, 16> = ArrayVec::new();
        match family {
            Family::V4 => {
                for n in r.nodes.iter().flat_map(|l| l.iter()) {
                    let node = Node {
                        id: n.id,
                        addr: SocketAddr::V4(n.addr),
                    };
                    if self.acceptable(&node) && closer.try_push(node).is_err() {
                        break;
                    }
                }
            }
            Family::V6 => {
                for n in r.nodes6.iter().flat_map(|l| l.iter()) {
                    let node = Node {
                        id: n.id,
                        addr: SocketAddr::V6(n.addr),
                    };
                    if self.acceptable(&node) && closer.try_push(node).is_err() {
                        break;
                    }
                }
            }
        }
        let now = self.now;
        let checked = match self.searches.iter().find(|s| s.id == query) {
            Some(s) if s.kind == Kind::GetItem => {
                s.item.as_deref().map_or(Checked::Absent, |state| {
                    self.checked_item(state, &s.target, r)
                })
            }
            _ => Checked::Absent,
        };
        let found = match checked {
            Checked::Valid(item) => Some(item),
            Checked::Invalid => {
                self.stats.bad_items = self.stats.bad_items.saturating_add(1);
                None
            }
            Checked::Absent | Checked::Stale => None,
        };
        let mut peers: ArrayVec<SocketAddr, 128> = ArrayVec::new();
        let Some(s) = self.search_mut(query) else {
            return;
        };
        let found = match (found, &mut s.item) {
            (Some(item), Some(state)) if state.is_better(&item) => {
                state.best = Some(item.clone());
                Some(item)
            }
            _ => None,
        };
        let reports_peers = matches!(s.kind, Kind::GetPeers | Kind::Announce { .. });
        if let Some(values) = r.values.filter(|_| reports_peers) {
            for peer in values.iter() {
                if s.peers_seen.len() < MAX_PEERS_SEEN
                    && s.peers_seen.insert(peer)
                    && peers.try_push(peer).is_err()
                {
                    break;
                }
            }
        }
        if let Some(acc) = &mut s.scrape {
            if r.bf_seeds.is_some() || r.bf_peers.is_some() {
                if let Some(bf) = r.bf_seeds {
                    acc.filters.seeds.merge(&BloomFilter::from_bytes(*bf));
                }
                if let Some(bf) = r.bf_peers {
                    acc.filters.peers.merge(&BloomFilter::from_bytes(*bf));
                }
                acc.responses = acc.responses.saturating_add(1);
            } else if let Some(values) = r.values {
                for peer in values.iter() {
                    if acc.legacy.len() >= MAX_LEGACY_PEERS {
                        break;
                    }
                    acc.legacy.insert(peer.ip().to_canonical());
                }
            }
        }
        let info_hash = s.target;
        if let Some((_, lookup)) = s.lookups.iter_mut().find(|(f, _)| *f == family) {
            if seed {
                s.seeds_pending = s.seeds_pending.saturating_sub(1);
                lookup.add_candidates(closer);
            } else {
                lookup.on_response(now, &from, closer, r.token);
            }
        } else if seed {
            s.seeds_pending = s.seeds_pending.saturating_sub(1);
        }
        for peer in peers {
            self.push_event(Event::Peer {
                query,
                info_hash,
                peer,
            });
        }
        if let Some(item) = found {
            self.push_event(Event::Item {
                query,
                target: info_hash,
                item: Box::new(item),
            });
        }
    }

    /// Sends what every running search wants sent and finishes those that are done.
    pub(crate) fn drive_all(&mut self) {
        let ids: ArrayVec<QueryId, 64> = self.searches.iter().map(|s| s.id).take(64).collect();
        for id in ids {
            self.drive(id);
        }
    }

    fn drive(&mut self, id: QueryId) {
        let now = self.now;
        loop {
            let Some(s) = self.search_mut(id) else {
                return;
            };
            // An immutable item already found (maybe in this node's own store) needs no
            // more queries.
            if s.phase != Phase::Lookup || s.found_immutable() {
                break;
            }
            let mut next = None;
            for (family, l) in s.lookups.iter_mut() {
                if let Some(node) = l.next_query(now) {
                    next = Some((*family, node, None));
                    break;
                }
            }
            if next.is_none() {
                // The sibling probe (see `Lookup::next_probe`): a find_node for another
                // target, whose answer feeds the same lookup.
                for (family, l) in s.lookups.iter_mut() {
                    if let Some((node, probe)) = l.next_probe(now) {
                        next = Some((*family, node, Some(probe)));
                        break;
                    }
                }
            }
            let kind = s.kind;
            let target = s.target;
            let best_seq = s.best_seq();
            let Some((family, node, probe)) = next else {
                break;
            };
            let body = match probe {
                Some(probe) => OutBody::QueryFindNode { target: probe },
                None => kind.query(target, best_seq),
            };
            if !self.send_query(
                node.addr,
                Some(node.id),
                body,
                Purpose::Lookup { query: id, family },
            ) {
                if let Some(s) = self.search_mut(id) {
                    s.on_failure(family, node.addr, Some(node.id));
                }
                break;
            }
        }
        self.maybe_finish(id);
    }

    /// The second phase of an announce or a put: `body(token)` to each of the closest
    /// nodes that gave a token (16 at most), then the search waits for their answers.
    fn store_at_closest(
        &mut self,
        index: usize,
        id: QueryId,
        purpose: Purpose,
        body: impl Fn(crate::lookup::StoredToken) -> OutBody,
    ) {
        let Some(s) = self.searches.get(index) else {
            return;
        };
        let targets: ArrayVec<(Node, crate::lookup::StoredToken), 16> = s
            .closest()
            .filter_map(|(n, t)| Some((n, crate::lookup::StoredToken::from_slice(t?))))
            .take(16)
            .collect();
        let mut pending = 0;
        for (node, token) in targets {
            if self.send_query(node.addr, Some(node.id), body(token), purpose) {
                pending += 1;
            }
        }
        if let Some(s) = self.searches.get_mut(index) {
            s.phase = Phase::Announcing {
                pending,
                accepted: 0,
            };
        }
        self.maybe_finish(id);
    }

    fn maybe_finish(&mut self, id: QueryId) {
        let now = self.now;
        let Some(index) = self.searches.iter().position(|s| s.id == id) else {
            return;
        };
        let Some(s) = self.searches.get(index) else {
            return;
        };
        match s.phase {
            Phase::Lookup if s.lookups_finished() => {
                if let Kind::Announce { port, seed } = s.kind {
                    let info_hash = s.target;
                    self.store_at_closest(index, id, Purpose::Announce { query: id }, |token| {
                        OutBody::QueryAnnounce {
                            info_hash,
                            port,
                            seed,
                            token,
                        }
                    });
                } else if let (Kind::PutItem, Some(put)) =
                    (s.kind, s.item.as_ref().and_then(|i| i.put.clone()))
                {
                    self.store_at_closest(index, id, Purpose::Put { query: id }, |token| {
                        OutBody::QueryPut {
                            token,
                            item: put.clone(),
                        }
                    });
                } else {
                    self.finish(index, now);
                }
            }
            Phase::Announcing { pending: 0, .. } => self.finish(index, now),
            _ => {}
        }
    }

    fn finish(&mut self, index: usize, now: Instant) {
        if index >= self.searches.len() {
            return;
        }
        let mut s = self.searches.swap_remove(index);
        let elapsed = now.saturating_duration_since(s.started);
        let stats = s.stats();
        let event = match (s.kind, s.phase) {
            (Kind::Bootstrap, _) => {
                if self.nodes() > 0 {
                    Some(Event::Bootstrapped {
                        nodes: self.nodes(),
                    })
                } else {
                    None
                }
            }
            (Kind::Refresh, _) => None,
            (Kind::FindNode | Kind::GetPeers | Kind::GetItem, _) => Some(Event::LookupDone {
                query: s.id,
                target: s.target,
                stats,
                elapsed,
            }),
            (Kind::Announce { .. }, Phase::Announcing { accepted, .. }) => Some(Event::Announced {
                query: s.id,
                info_hash: s.target,
                accepted,
                stats,
                elapsed,
            }),
            (Kind::PutItem, Phase::Announcing { accepted, .. }) => {
                let (refused, error) = s.item.as_ref().map_or((0, None), |i| (i.refused, i.error));
                Some(Event::ItemPut {
                    query: s.id,
                    target: s.target,
                    stored: accepted,
                    refused,
                    error,
                    stats,
                    elapsed,
                })
            }
            (Kind::Scrape, _) => {
                if let Some(acc) = &mut s.scrape {
                    let legacy = core::mem::take(&mut acc.legacy);
                    for ip in legacy {
                        if !acc.filters.seeds.contains(ip) {
                            acc.filters.peers.insert(ip);
                        }
                    }
                }
                let (seeds, peers, responses) = s.scrape.as_deref().map_or((0, 0, 0), |a| {
                    (
                        count(&a.filters.seeds),
                        count(&a.filters.peers),
                        a.responses,
                    )
                });
                Some(Event::Scraped {
                    query: s.id,
                    info_hash: s.target,
                    seeds,
                    peers,
                    responses,
                    stats,
                    elapsed,
                })
            }
            (Kind::Announce { .. } | Kind::PutItem, _) => None,
        };
        s.phase = Phase::Done;
        s.peers_seen = BTreeSet::new();
        if let Some(e) = event {
            self.push_event(e);
        }
        if s.kind.is_command() {
            if self.finished.len() >= self.config.max_finished.max(1) {
                self.finished.pop_front();
            }
            self.finished.push_back(s);
        }
    }
}

/// A filter's estimate (BEP 33), rounded; 0 for an empty filter (whose formula gives 0.5).
fn count(filter: &BloomFilter) -> u32 {
    if filter.is_empty() {
        0
    } else {
        // `as` saturates; the estimate is at most about 7805.
        (filter.estimate() + 0.5) as u32
    }
}
