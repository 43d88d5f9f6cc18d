//! Searches: the lookups behind commands (and behind bootstrap and bucket refreshes), as
//! sub-machines like [`Lookup`].
//!
//! A [`Search`] never touches the node. It is told what happened — an answer
//! ([`Search::on_response`]), a failure or a query that could not be sent
//! ([`Search::on_failure`]) — and asked what to send next
//! ([`Search::next_lookup_query`], then [`Search::next_store_query`] for the second phase
//! of an announce or a put) and whether it is over ([`Search::poll_finished`]). The node
//! sends what it returns, routes each answer to the one search it belongs to, and keeps
//! finished searches readable through [`QueryInfo`](super::QueryInfo).

mod end;
mod item;
mod scrape;
mod store;

use store::Storing;

pub(crate) use item::{Checked, ItemState, PutRequest};
pub(crate) use scrape::ScrapeState;

use super::event::EventQueue;
use super::outgoing::OutBody;
use super::{AnnouncePort, Event, QueryId};
use crate::addr::{Family, LocalAddresses};
use crate::id::Id;
use crate::krpc::Response;
use crate::lookup::{Lookup, LookupStats};
use crate::routing::Node;
use crate::store::{Item, SignatureVerifier};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::collections::{BTreeSet, VecDeque};
use arrayvec::ArrayVec;
use core::net::SocketAddr;
use smallvec::SmallVec;

/// Peers remembered per search to report each once, by default
/// ([`Config::max_search_peers`](super::Config::max_search_peers)).
pub(crate) const MAX_PEERS_SEEN: usize = 4096;

/// Late queries (past their soft timeout, or failed) after which a search over both
/// families stops sharing its dual-stack nodes (see [`Search::sharing`]): a healthy
/// lookup has a few (slow nodes of a long-tailed latency); one under loss, churn or silent
/// nodes has dozens.
const LATE_BEFORE_UNSHARING: u32 = 6;

/// Nodes an announce or a put stores at, at most: the closest that gave a token.
const MAX_STORES: usize = 16;

/// What a search is for.
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

    /// Whether the search's end is reported and kept for [`Dht::query`](super::Dht::query).
    pub(crate) fn is_command(self) -> bool {
        !matches!(self, Kind::Bootstrap | Kind::Refresh)
    }
}

/// The part a query plays in its search, kept with its transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A lookup step, or a probe, to a node of this family's lookup.
    Lookup(Family),
    /// A first query to an address whose id is unknown (a bootstrap address): its answer
    /// seeds the lookup.
    Seed(Family),
    /// An announce_peer or a put of the second phase.
    Store,
}

/// A query a search wants sent.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) to: SocketAddr,
    /// The node id expected to answer (`None` for a seed).
    pub(crate) expect: Option<Id>,
    pub(crate) body: OutBody,
    pub(crate) role: Role,
}

/// What a search needs from the node to judge an answer.
#[derive(Clone, Copy)]
pub(crate) struct Judge<'a> {
    /// This node's id: never a candidate.
    pub(crate) own_id: &'a Id,
    /// Whether local addresses may be queried.
    pub(crate) local: LocalAddresses,
    /// Checks BEP 44 mutable items.
    pub(crate) verifier: Option<&'a dyn SignatureVerifier>,
}

impl Judge<'_> {
    /// Whether a node from a `nodes` list may be queried.
    fn accepts(&self, node: &Node) -> bool {
        node.id != *self.own_id && node.addr.port() != 0 && self.local.accepts(node.addr.ip())
    }
}

#[derive(Clone, Debug)]
enum Phase {
    Lookup,
    Storing(Box<Storing>),
    Done,
}

#[derive(Clone, Debug)]
pub(crate) struct Search {
    pub(crate) id: QueryId,
    kind: Kind,
    pub(crate) target: Id,
    started: Instant,
    /// One lookup per family: inline for one family (the common case), on the heap
    /// for both.
    lookups: SmallVec<[(Family, Lookup); 1]>,
    /// Addresses to send a seed query to, not yet sent, in order.
    seeds: VecDeque<SocketAddr>,
    /// Seed queries sent and not yet answered or failed.
    seeds_pending: usize,
    /// Seed queries sent, and answered (a bootstrap that got no answer has failed).
    seeds_sent: usize,
    seeds_answered: usize,
    peers_seen: BTreeSet<SocketAddr>,
    /// Distinct peers reported at most (the cap on `peers_seen`).
    max_peers: usize,
    phase: Phase,
    /// Whether a search over both families stopped sharing (see [`Search::sharing`]).
    unshared: bool,
    /// BEP 44 get and put searches: what is looked for, found, put.
    pub(crate) item: Option<Box<ItemState>>,
    /// A BEP 33 scrape's merged filters.
    pub(crate) scrape: Option<Box<ScrapeState>>,
}

impl Search {
    /// A search with no lookup yet ([`Search::add_lookup`]) that reports at most
    /// `max_peers` distinct peers.
    pub(crate) fn new(id: QueryId, kind: Kind, target: Id, max_peers: usize, now: Instant) -> Self {
        Search {
            id,
            kind,
            target,
            started: now,
            lookups: SmallVec::new(),
            seeds: VecDeque::new(),
            seeds_pending: 0,
            seeds_sent: 0,
            seeds_answered: 0,
            peers_seen: BTreeSet::new(),
            max_peers,
            phase: Phase::Lookup,
            unshared: false,
            item: None,
            scrape: None,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Adds the lookup of one family. A search over both families starts each lookup
    /// one query short of `alpha` (see [`Search::sharing`]).
    pub(crate) fn add_lookup(&mut self, family: Family, lookup: Lookup) {
        if self.lookups.len() < Family::ALL.len() {
            self.lookups.push((family, lookup));
        }
        if self.lookups.len() == 2 {
            for (_, l) in &mut self.lookups {
                l.set_alpha(l.config().alpha.saturating_sub(1));
            }
        }
    }

    /// Whether the lookups of a search over both families share their dual-stack
    /// nodes: a node being asked over one family is not asked over the other until that
    /// query is late, and its answer (with both node lists, BEP 32 `want`) counts for
    /// both lookups; each lookup runs one query short of `alpha`. In a healthy network
    /// this keeps a dual-stack lookup near 1.5 times the queries of a single-family one.
    /// Once [`LATE_BEFORE_UNSHARING`] queries of the search passed their soft timeout
    /// or failed (loss, silent nodes), the sharing stops for good and both lookups go
    /// back to the full `alpha`: waiting on the other family would then only add delay.
    fn sharing(&mut self) -> bool {
        if self.lookups.len() < 2 || self.unshared {
            return false;
        }
        let late: u32 = self
            .lookups
            .iter()
            .map(|(_, l)| l.stats().soft_timeouts.saturating_add(l.stats().failures))
            .sum();
        let late = late >= LATE_BEFORE_UNSHARING;
        if late {
            self.unshared = true;
            for (_, l) in &mut self.lookups {
                let full = l.config().alpha.saturating_add(1);
                l.set_alpha(full);
            }
            return false;
        }
        true
    }

    /// Whether some lookup already has a candidate at `addr`.
    pub(crate) fn knows(&self, addr: &SocketAddr) -> bool {
        self.lookups.iter().any(|(_, l)| l.knows(addr))
    }

    /// Addresses whose ids are unknown, asked first; their answers seed the lookup.
    pub(crate) fn add_seeds(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        self.seeds.extend(addrs);
    }

    /// Reports, at the start of a `get_peers`, the peers this node stores itself (it may
    /// be among the closest to the info-hash), each once.
    pub(crate) fn start_with_peers(
        &mut self,
        peers: impl IntoIterator<Item = SocketAddr>,
        events: &mut EventQueue,
    ) {
        let mut local: ArrayVec<SocketAddr, 128> = ArrayVec::new();
        for p in peers {
            if self.peers_seen.len() < self.max_peers
                && self.peers_seen.insert(p)
                && local.try_push(p).is_err()
            {
                break;
            }
        }
        for peer in local {
            events.push(Event::Peer {
                query: self.id,
                info_hash: self.target,
                peer,
            });
        }
    }

    /// Reports, at the start of a `get_item`, an item this node stores itself, if it
    /// beats nothing found so far.
    pub(crate) fn start_with_item(&mut self, item: Option<&Item>, events: &mut EventQueue) {
        let Some(state) = &mut self.item else { return };
        let Some(item) = item.filter(|i| state.is_better(i)) else {
            return;
        };
        state.best = Some(item.clone());
        events.push(Event::Item {
            query: self.id,
            target: self.target,
            item: Box::new(item.clone()),
        });
    }

    /// Seed queries sent (not counting resends, or sends that failed) and answered.
    pub(crate) fn seed_answers(&self) -> (usize, usize) {
        (self.seeds_sent, self.seeds_answered)
    }

    pub(crate) fn is_refresh(&self) -> bool {
        self.kind == Kind::Refresh
    }

    pub(crate) fn is_bootstrap(&self) -> bool {
        self.kind == Kind::Bootstrap
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// When a timer may give it something to do: a soft timeout of its lookups.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if !matches!(self.phase, Phase::Lookup) {
            return None;
        }
        self.lookups
            .iter()
            .filter_map(|(_, l)| l.next_deadline())
            .min()
    }

    fn lookup_mut(&mut self, family: Family) -> Option<&mut Lookup> {
        self.lookups
            .iter_mut()
            .find(|(f, _)| *f == family)
            .map(|(_, l)| l)
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

    /// The closest nodes that answered, closest first, with the token each gave.
    /// What a put search puts: the one copy its store queries are written from.
    pub(crate) fn put_request(&self) -> Option<&PutRequest> {
        self.item.as_ref()?.put.as_deref()
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

    /// The next seed query or lookup step to send now, if any. The node sends it, or
    /// reports [`Search::on_failure`] and, for a lookup step, stops asking for this round.
    pub(crate) fn next_lookup_query(&mut self, now: Instant) -> Option<Request> {
        if !matches!(self.phase, Phase::Lookup) {
            return None;
        }
        if let Some(to) = self.seeds.pop_front() {
            self.seeds_pending += 1;
            self.seeds_sent += 1;
            return Some(Request {
                to,
                expect: None,
                body: self.kind.query(self.target, self.best_seq()),
                role: Role::Seed(Family::of(&to)),
            });
        }
        // An immutable item already found (maybe in this node's own store) needs no
        // more queries.
        if self.found_immutable() {
            return None;
        }
        let mut next = None;
        let share = self.sharing();
        for i in 0..self.lookups.len() {
            let asked: ArrayVec<Id, 32> = if share {
                self.lookups
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, (_, l))| l.asking())
                    .take(32)
                    .copied()
                    .collect()
            } else {
                ArrayVec::new()
            };
            let Some((family, l)) = self.lookups.get_mut(i) else {
                break;
            };
            if let Some(node) = l.next_query_except(now, |id| asked.contains(id)) {
                next = Some((*family, node, None));
                break;
            }
        }
        if next.is_none() {
            // The sibling probe (see `Lookup::next_probe`): a find_node for another
            // target, whose answer feeds the same lookup.
            for (family, l) in self.lookups.iter_mut() {
                if let Some((node, probe)) = l.next_probe(now) {
                    next = Some((*family, node, Some(probe)));
                    break;
                }
            }
        }
        let (family, node, probe) = next?;
        let body = match probe {
            Some(probe) => OutBody::QueryFindNode { target: probe },
            None => self.kind.query(self.target, self.best_seq()),
        };
        Some(Request {
            to: node.addr,
            expect: Some(node.id),
            body,
            role: Role::Lookup(family),
        })
    }

    /// A query failed: no answer in time, an error answer, or it could not be sent (the
    /// transaction table is full).
    pub(crate) fn on_failure(&mut self, role: Role, to: SocketAddr, expect: Option<Id>) {
        match role {
            Role::Lookup(family) => {
                if let (Some(id), Some(l)) = (expect, self.lookup_mut(family)) {
                    l.on_failure(&Node { id, addr: to });
                }
            }
            Role::Seed(_) => self.seeds_pending = self.seeds_pending.saturating_sub(1),
            Role::Store => self.on_stored(false),
        }
    }

    /// An answer to one of its queries, from `from`. Peers and items found are reported
    /// as events at once; returns false if the answer carried a forged or corrupt item.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        role: Role,
        from: Node,
        r: &Response<'_>,
        judge: &Judge<'_>,
        events: &mut EventQueue,
    ) -> bool {
        let family = match role {
            Role::Store => {
                self.on_stored(true);
                return true;
            }
            Role::Lookup(f) | Role::Seed(f) => f,
        };
        let closer = listed(r, family, judge);
        // A search on both networks asks for both lists (BEP 32 `want`): the other
        // family's list feeds the other lookup.
        if self.lookups.len() > 1 {
            let other = match family {
                Family::V4 => Family::V6,
                Family::V6 => Family::V4,
            };
            let also = listed(r, other, judge);
            if let Some(l) = self.lookup_mut(other).filter(|_| !also.is_empty()) {
                l.add_listed(also);
                // The answer of a dual-stack node over one family counts for the other
                // lookup too, if that one had not asked it yet.
                l.answered_elsewhere(&from.id);
            }
        }
        let checked = match (&self.item, self.kind) {
            (Some(state), Kind::GetItem) => state.check(&self.target, r, judge.verifier),
            _ => Checked::Absent,
        };
        let valid = !matches!(checked, Checked::Invalid);
        let found = match (checked, &mut self.item) {
            (Checked::Valid(item), Some(state)) if state.is_better(&item) => {
                state.best = Some(item.clone());
                Some(item)
            }
            _ => None,
        };
        let mut peers: ArrayVec<SocketAddr, 128> = ArrayVec::new();
        let reports_peers = matches!(self.kind, Kind::GetPeers | Kind::Announce { .. });
        if let Some(values) = r.values.filter(|_| reports_peers) {
            for peer in values.iter() {
                if self.peers_seen.len() < self.max_peers
                    && self.peers_seen.insert(peer)
                    && peers.try_push(peer).is_err()
                {
                    break;
                }
            }
        }
        if let Some(acc) = &mut self.scrape {
            acc.on_response(r);
        }
        let seed = matches!(role, Role::Seed(_));
        if seed {
            self.seeds_pending = self.seeds_pending.saturating_sub(1);
            self.seeds_answered += 1;
        }
        if let Some(lookup) = self.lookup_mut(family) {
            if seed {
                lookup.add_candidates(closer);
            } else {
                lookup.on_response(now, &from, closer, r.token);
            }
        }
        for peer in peers {
            events.push(Event::Peer {
                query: self.id,
                info_hash: self.target,
                peer,
            });
        }
        if let Some(item) = found {
            events.push(Event::Item {
                query: self.id,
                target: self.target,
                item: Box::new(item),
            });
        }
        valid
    }
}

/// The nodes of `family`'s list in answer `r` that may be queried (16 at most).
fn listed(r: &Response<'_>, family: Family, judge: &Judge<'_>) -> ArrayVec<Node, 16> {
    let mut closer: ArrayVec<Node, 16> = ArrayVec::new();
    // Whether the list is full (the rest of the answer's nodes are left out).
    let mut offer = |node: Node| judge.accepts(&node) && closer.try_push(node).is_err();
    match family {
        Family::V4 => {
            for n in r.nodes.iter().flat_map(|l| l.iter()) {
                if offer(Node {
                    id: n.id,
                    addr: SocketAddr::V4(n.addr),
                }) {
                    break;
                }
            }
        }
        Family::V6 => {
            for n in r.nodes6.iter().flat_map(|l| l.iter()) {
                if offer(Node {
                    id: n.id,
                    addr: SocketAddr::V6(n.addr),
                }) {
                    break;
                }
            }
        }
    }
    closer
}
