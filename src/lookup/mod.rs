//! The iterative lookup as a pure sub-machine (Kademlia's node lookup, BEP 5's
//! "iterative find").
//!
//! A [`Lookup`] knows candidates sorted by XOR distance to a target and decides whom to
//! query next; the node layer sends the queries, matches the answers, and reports back
//! ([`Lookup::on_response`], [`Lookup::on_failure`]). Time is passed in.
//!
//! - **Parallelism.** At most [`LookupConfig::alpha`] queries are *active* at once.
//! - **Soft timeout and resends.** A query unanswered for [`LookupConfig::soft_timeout`]
//!   stops counting as active (its slot goes to the next candidate) and is sent again,
//!   up to [`LookupConfig::attempts`] in all: a datagram lost on the way costs one soft
//!   timeout, not the lookup's correctness. Only nodes that came from the caller (the
//!   routing table) or that two answers listed get more than two attempts (two, not one,
//!   because a real node listed once may lose a datagram too): a made-up node handed out
//!   by one liar costs two soft timeouts. When the last attempt passes its soft timeout
//!   the lookup gives up on the node; a late answer still counts until the lookup ends.
//!   The node layer's transaction timeout (the hard timeout) or an error answer reports
//!   a failure at once.
//! - **Sibling probe.** When the last wave is under way, answered nodes are asked for
//!   the subtrees at the boundary of the `k` closest ([`Lookup::next_probe`]), and again
//!   when give-ups move that boundary out: answers list only 8 nodes, and when some of
//!   those never answer, the live nodes just beyond them are listed by nobody else.
//! - **Termination.** The lookup is done when, walking candidates from the closest and
//!   skipping failed and given-up ones, the first `k` have all answered — nothing closer
//!   is unqueried or waiting — and the probe is answered or past its soft timeout.
//! - **Bounded.** At most [`LookupConfig::max_candidates`] candidates are kept; farther
//!   unqueried ones are dropped first.
//!
//! ```
//! use btdht::lookup::{Lookup, LookupConfig};
//! use btdht::routing::Node;
//! use btdht::time::Instant;
//! use btdht::Id;
//!
//! let now = Instant::from_millis(0);
//! let seed = Node { id: Id::from_bytes([1; 20]), addr: "203.0.113.1:6881".parse().unwrap() };
//! let mut lookup = Lookup::new(Id::from_bytes([0; 20]), 8, LookupConfig::default(), now);
//! lookup.add_candidates([seed]);
//! let to_query = lookup.next_query(now).unwrap();
//! assert_eq!(to_query, seed);
//! lookup.on_response(now, &seed, [], None);
//! assert!(lookup.is_finished());
//! ```

use crate::id::Id;
use crate::routing::Node;
use crate::time::Instant;
use alloc::vec::Vec;
use core::time::Duration;
use smallvec::SmallVec;

mod probe;
use probe::Probes;

/// Lookup settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupConfig {
    /// Queries active at once (default 5; chosen in the simulator: see docs/SIMULATOR.md).
    pub alpha: usize,
    /// After this long without an answer a query stops holding its slot and is sent
    /// again, or the node is given up on after the last attempt (default 200 ms: twice
    /// the median DHT round trip, longer than 87 % of them; a slower node still counts if
    /// it answers before the lookup ends).
    pub soft_timeout: Duration,
    /// Queries sent to one node before the lookup gives up on it (default 5: with 10 %
    /// loss each way a round trip fails 19 % of the time, five in a row 0.02 %; and the
    /// five soft timeouts, 1 s in all, outlast all but about 0.1 % of round trips, so a
    /// slow node is rarely given up on).
    pub attempts: u8,
    /// Most candidates kept (default 64).
    pub max_candidates: usize,
    /// Whether the lookup also asks for the subtrees at its boundary near its end, and
    /// how often (default [`SiblingProbe::Rounds`]`(3)`; see [`Lookup::next_probe`]).
    pub sibling_probe: SiblingProbe,
}

/// Whether a lookup asks for the subtrees at its boundary near its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SiblingProbe {
    /// Plain Kademlia: only the target is asked for.
    Off,
    /// At most this many rounds of up to three queries each (see [`Lookup::next_probe`]):
    /// the first when the last wave is under way, each further one when give-ups have
    /// moved the boundary out past every subtree asked about. The lookup ends when the
    /// current round is answered or past its soft timeouts.
    Rounds(u8),
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            alpha: 5,
            soft_timeout: Duration::from_millis(200),
            attempts: 5,
            max_candidates: 64,
            sibling_probe: SiblingProbe::Rounds(3),
        }
    }
}

/// Longest token kept per node; longer tokens are not stored (the node is treated as
/// having sent none).
pub const MAX_TOKEN_LEN: usize = 64;

/// A write token as received (BEP 5 `token`), kept to echo in `announce_peer`/`put`.
pub type StoredToken = SmallVec<[u8; 20]>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Fresh,
    /// Attempt `attempt` (1-based) was sent at `since`.
    Waiting {
        since: Instant,
        attempt: u8,
    },
    /// Attempt `attempt` passed its soft timeout; another may follow.
    Slow {
        attempt: u8,
    },
    /// Every attempt passed its soft timeout: skipped when deciding termination, but a
    /// late answer still counts.
    GaveUp,
    Answered,
    Failed,
}

#[derive(Clone, Debug)]
struct Candidate {
    node: Node,
    key: (u128, u32),
    state: State,
    token: Option<StoredToken>,
    /// How many answers listed it (given candidates count as [`VOUCHED`]). Only a node
    /// vouched for twice gets more than two attempts: a made-up node that one liar
    /// hands out costs two soft timeouts, not `attempts` of them.
    vouches: u8,
    /// How many answers lie between the lookup's start and this node: 0 for a given
    /// candidate, one more than the shallowest node whose answer listed it.
    depth: u8,
}

impl Candidate {
    fn allowed(&self, attempts: u8) -> u8 {
        if self.vouches >= VOUCHED {
            attempts
        } else {
            2.min(attempts)
        }
    }
}

/// What a candidate given through [`Lookup::add_candidates`] counts as: enough for
/// resends (it comes from a routing table or a bootstrap list).
const VOUCHED: u8 = 2;

/// Counters of one lookup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookupStats {
    /// Queries handed out by [`Lookup::next_query`].
    pub queries: u32,
    /// Answers received.
    pub responses: u32,
    /// Queries that failed (hard timeout or error).
    pub failures: u32,
    /// Queries that passed the soft timeout.
    pub soft_timeouts: u32,
    /// Hops: the longest chain of answers that led to one of the `k` closest answered
    /// nodes, counting that node's own answer (1 when the nodes the lookup started from
    /// were already the closest; 0 while none has answered).
    pub hops: u32,
}

/// One iterative lookup towards a target.
#[derive(Clone, Debug)]
pub struct Lookup {
    target: Id,
    /// How many closest candidates must answer.
    k: usize,
    config: LookupConfig,
    started: Instant,
    candidates: Vec<Candidate>,
    stats: LookupStats,
    probes: Probes,
}

fn distance_key(a: &Id, b: &Id) -> (u128, u32) {
    let mut d = [0u8; 20];
    for ((d, x), y) in d.iter_mut().zip(a.as_bytes()).zip(b.as_bytes()) {
        *d = x ^ y;
    }
    let (hi, lo) = d.split_at(16);
    (
        hi.try_into().map_or(0, u128::from_be_bytes),
        lo.try_into().map_or(0, u32::from_be_bytes),
    )
}

impl Lookup {
    /// A lookup for `target`, started at `now`, with no candidates yet, that ends when
    /// the `k` closest candidates have answered (BEP 5's K, the routing tables' bucket
    /// size: [`RoutingConfig::k`](crate::routing::RoutingConfig::k)).
    pub fn new(target: Id, k: usize, config: LookupConfig, now: Instant) -> Self {
        Lookup {
            target,
            k: k.max(1),
            config,
            started: now,
            candidates: Vec::with_capacity(config.max_candidates.min(256)),
            stats: LookupStats::default(),
            probes: Probes::new(match config.sibling_probe {
                SiblingProbe::Rounds(n) => n,
                SiblingProbe::Off => 0,
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &LookupConfig {
        &self.config
    }

    /// Changes how many queries may be active at once (at least 1), from now on.
    pub fn set_alpha(&mut self, alpha: usize) {
        self.config.alpha = alpha.max(1);
    }

    /// The target.
    pub fn target(&self) -> &Id {
        &self.target
    }

    /// When it started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Its counters.
    pub fn stats(&self) -> LookupStats {
        let hops = self
            .candidates
            .iter()
            .filter(|c| c.state == State::Answered)
            .take(self.k)
            .map(|c| u32::from(c.depth) + 1)
            .max()
            .unwrap_or(0);
        LookupStats { hops, ..self.stats }
    }

    /// Adds nodes to consider (from the routing table, or from a `nodes` answer). Known
    /// ids and addresses are ignored; when full, farther unqueried candidates give way.
    pub fn add_candidates(&mut self, nodes: impl IntoIterator<Item = Node>) {
        for node in nodes {
            self.add(node, VOUCHED, 0);
        }
    }

    /// Whether a candidate has this address.
    pub(crate) fn knows(&self, addr: &core::net::SocketAddr) -> bool {
        self.candidates.iter().any(|c| c.node.addr == *addr)
    }

    /// Adds `node`, `depth` answers deep, as vouched for by `vouches` sources, or adds
    /// them to a known one (which keeps the shallower depth).
    fn add(&mut self, node: Node, vouches: u8, depth: u8) {
        if let Some(c) = self
            .candidates
            .iter_mut()
            .find(|c| c.node.id == node.id || c.node.addr == node.addr)
        {
            if c.node == node {
                c.vouches = c.vouches.saturating_add(vouches);
                c.depth = c.depth.min(depth);
            }
            return;
        }
        let key = distance_key(&node.id, &self.target);
        let mut at = self.candidates.partition_point(|c| c.key < key);
        if self.candidates.len() >= self.config.max_candidates {
            // Make room by dropping the farthest unqueried candidate, if it is farther.
            // Failed and given-up candidates go first, wherever they are: a lookup fed
            // made-up nodes by liars would otherwise fill up with dead ones and turn
            // real nodes away. Then the farthest unqueried one, if it is farther.
            let dead = self
                .candidates
                .iter()
                .rposition(|c| matches!(c.state, State::Failed | State::GaveUp));
            let victim = match dead {
                Some(v) => v,
                None => match self
                    .candidates
                    .iter()
                    .rposition(|c| c.state == State::Fresh)
                {
                    Some(v) if v >= at => v,
                    _ => return,
                },
            };
            self.candidates.remove(victim);
            if victim < at {
                at = at.saturating_sub(1);
            }
        }
        self.candidates.insert(
            at.min(self.candidates.len()),
            Candidate {
                node,
                key,
                state: State::Fresh,
                token: None,
                vouches,
                depth,
            },
        );
    }

    fn active(&self) -> usize {
        self.candidates
            .iter()
            .filter(|c| matches!(c.state, State::Waiting { .. }))
            .count()
    }

    /// Marks queries older than the soft timeout as slow (freeing their slots), or gives
    /// up on their nodes after the last attempt.
    fn expire(&mut self, now: Instant) {
        let soft = self.config.soft_timeout;
        let attempts = self.config.attempts.max(1);
        for c in &mut self.candidates {
            if let State::Waiting { since, attempt } = c.state {
                let allowed = c.allowed(attempts);
                if now.saturating_duration_since(since) >= soft {
                    c.state = if attempt < allowed {
                        State::Slow { attempt }
                    } else {
                        State::GaveUp
                    };
                    self.stats.soft_timeouts = self.stats.soft_timeouts.saturating_add(1);
                }
            }
        }
        let expired = self.probes.expire(now, soft, attempts);
        self.stats.soft_timeouts = self.stats.soft_timeouts.saturating_add(expired);
    }

    /// The next node to query, if a slot is free and a candidate among the `k` closest
    /// still needs asking. Marks it as queried at `now`.
    pub fn next_query(&mut self, now: Instant) -> Option<Node> {
        self.next_query_except(now, |_| false)
    }

    /// [`Lookup::next_query`], passing over (without counting them) the candidates
    /// `elsewhere` says are being asked in another lookup of the same search: a
    /// dual-stack node asked over one family answers for both.
    pub fn next_query_except(
        &mut self,
        now: Instant,
        elsewhere: impl Fn(&Id) -> bool,
    ) -> Option<Node> {
        self.expire(now);
        if self.active() >= self.config.alpha {
            return None;
        }
        let mut answered = 0;
        let k = self.k;
        for c in &mut self.candidates {
            if c.state == State::Fresh && elsewhere(&c.node.id) {
                continue;
            }
            let attempt = match c.state {
                State::Failed | State::GaveUp | State::Waiting { .. } => None,
                State::Answered => {
                    answered += 1;
                    None
                }
                State::Fresh => Some(1),
                State::Slow { attempt } => Some(attempt.saturating_add(1)),
            };
            if let Some(attempt) = attempt {
                c.state = State::Waiting {
                    since: now,
                    attempt,
                };
                self.stats.queries = self.stats.queries.saturating_add(1);
                return Some(c.node);
            }
            if answered >= k {
                return None;
            }
        }
        None
    }

    /// `from` answered, listing `closer` nodes, with an optional write token.
    pub fn on_response(
        &mut self,
        _now: Instant,
        from: &Node,
        closer: impl IntoIterator<Item = Node>,
        token: Option<&[u8]>,
    ) {
        // One search finds the candidate: its state says whether this answers a probe
        // (an answered node asked again) or the lookup's own query.
        let Some(c) = self.candidates.iter_mut().find(|c| c.node == *from) else {
            return;
        };
        let depth = c.depth.saturating_add(1);
        let probe = c.state == State::Answered && self.probes.close(from);
        if !probe {
            if matches!(c.state, State::Answered | State::Failed) {
                return;
            }
            c.state = State::Answered;
            c.token = token
                .filter(|t| t.len() <= MAX_TOKEN_LEN)
                .map(StoredToken::from_slice);
        }
        self.stats.responses = self.stats.responses.saturating_add(1);
        for node in closer {
            self.add(node, 1, depth);
        }
    }

    /// Adds nodes listed by an answer outside this lookup (the other family's list of an
    /// answer to a dual-stack search, BEP 32 `want`): candidates as one listing vouches
    /// for them, one hop deep.
    pub fn add_listed(&mut self, nodes: impl IntoIterator<Item = Node>) {
        for node in nodes {
            self.add(node, 1, 1);
        }
    }

    /// The node with `id` answered the search in another lookup (a dual-stack node, over
    /// the other family): a candidate not asked yet counts as answered, without a token.
    pub fn answered_elsewhere(&mut self, id: &Id) {
        if let Some(c) = self.candidates.iter_mut().find(|c| c.node.id == *id) {
            if c.state == State::Fresh {
                c.state = State::Answered;
            }
        }
    }

    /// Ids of the candidates asked and not late yet (a query within its soft timeout):
    /// another lookup of the same search may wait for their answers.
    pub fn asking(&self) -> impl Iterator<Item = &Id> + '_ {
        self.candidates
            .iter()
            .filter(|c| matches!(c.state, State::Waiting { attempt: 1, .. }))
            .map(|c| &c.node.id)
    }

    /// The query to `node` failed (hard timeout or an error answer).
    pub fn on_failure(&mut self, node: &Node) {
        if self.probes.close(node) {
            self.stats.failures = self.stats.failures.saturating_add(1);
            return;
        }
        if let Some(c) = self.candidates.iter_mut().find(|c| c.node == *node) {
            if matches!(
                c.state,
                State::Waiting { .. } | State::Slow { .. } | State::GaveUp | State::Fresh
            ) {
                c.state = State::Failed;
                self.stats.failures = self.stats.failures.saturating_add(1);
            }
        }
    }

    /// Whether the `k` closest live candidates have all answered (or none is left) and
    /// the probe is over.
    pub fn is_finished(&self) -> bool {
        self.closest_answered_all() && self.probe_over()
    }

    fn closest_answered_all(&self) -> bool {
        let mut answered = 0;
        for c in &self.candidates {
            match c.state {
                State::Failed | State::GaveUp => {}
                State::Answered => {
                    answered += 1;
                    if answered >= self.k {
                        return true;
                    }
                }
                State::Fresh | State::Waiting { .. } | State::Slow { .. } => return false,
            }
        }
        true
    }

    /// Queries sent and not yet answered or failed (active or slow).
    pub fn pending(&self) -> usize {
        self.candidates
            .iter()
            .filter(|c| matches!(c.state, State::Waiting { .. } | State::Slow { .. }))
            .count()
    }

    /// When the next active query reaches its soft timeout, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let soft = self.config.soft_timeout;
        let queries = self
            .candidates
            .iter()
            .filter_map(|c| match c.state {
                State::Waiting { since, .. } => Some(since + soft),
                _ => None,
            })
            .min();
        match (queries, self.probes.next_deadline(soft)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The closest nodes that answered, closest first, with the token each gave.
    pub fn closest_answered(&self) -> impl Iterator<Item = (Node, Option<&[u8]>)> + '_ {
        self.candidates
            .iter()
            .filter(|c| c.state == State::Answered)
            .take(self.k)
            .map(|c| (c.node, c.token.as_deref()))
    }
}
