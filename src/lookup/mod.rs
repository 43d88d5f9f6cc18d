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
use probe::{Pick, Probes};

/// Lookup settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupConfig {
    /// Queries active at once (default 5; chosen in the simulator: see the README).
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

/// Soft timeouts a node may miss before the probe suspects that answers hold dead
/// entries: two, 400 ms at the default soft timeout, longer than 99 % of round trips in
/// the simulator's long-tailed latency, so healthy lookups rarely pay for a probe (in the
/// simulator, 551 ms and 24 queries at the median instead of 594 ms and 27), while a
/// silent node still sets it off well before it is given up on.
const SUSPECT_AFTER: u8 = 2;

/// Where the lookup's boundary lies: the first bit where its `k`-th closest live
/// candidate differs from the target.
enum Boundary {
    /// Some of the `k` closest live candidates are unasked, there are fewer than `k`,
    /// fewer than half of them answered, or nothing suggests a probe is needed.
    NotYet,
    /// The `k`-th closest is the target itself: there is nothing beyond to probe.
    Never,
    /// At this bit (0 = most significant).
    At(usize, Id),
}

/// The index (0 = most significant) of the first bit where `a` and `b` differ.
fn first_difference(a: &Id, b: &Id) -> Option<usize> {
    a.as_bytes()
        .iter()
        .zip(b.as_bytes())
        .position(|(x, y)| x != y)
        .and_then(|i| {
            let x = a.as_bytes().get(i)? ^ b.as_bytes().get(i)?;
            Some(i * 8 + x.leading_zeros() as usize)
        })
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

/// Whom to ask for `probe` (after the nodes in `subtree`, see [`Lookup::next_probe`]):
/// the answered node closest to it, unless that one lies outside the subtree while a
/// node inside is still being queried (a node inside knows the subtree best).
fn probe_node(
    target: &Id,
    candidates: &[Candidate],
    probe: &Id,
    subtree: usize,
    taken: &[Node],
) -> Pick {
    let inside = |c: &Candidate| first_difference(target, &c.node.id) == Some(subtree);
    let best = candidates
        .iter()
        .filter(|c| c.state == State::Answered && !taken.contains(&c.node))
        .min_by_key(|c| distance_key(&c.node.id, probe));
    match best {
        Some(c) if inside(c) => Pick::Ask(c.node),
        _ if candidates
            .iter()
            .any(|c| matches!(c.state, State::Waiting { .. }) && inside(c)) =>
        {
            Pick::Wait
        }
        Some(c) => Pick::Ask(c.node),
        None => Pick::Nobody,
    }
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

    /// The sibling probe: a `find_node` to send to an answered node, for a target next
    /// to the lookup's, when the last wave is under way.
    ///
    /// Every answer lists only the 8 nodes its sender knows closest to the target. When
    /// some of those never answer (silent, gone), the live nodes just beyond them are
    /// listed by nobody, and a lookup cannot find what nobody lists: in the simulator,
    /// that is why lookups missed their 7th and 8th closest nodes. Let `B` be the `k`-th
    /// closest live candidate and `c` the first bit where `B` differs from the target `T`.
    /// The nodes that differ from `T` first at bit `c` (the sibling subtree, where `B`
    /// and the nodes just beyond it live) are, by distance to `T' = T` with bit `c`
    /// flipped, in the same order as by distance to `T`, and ahead of every node closer
    /// to `T`. So a `find_node(T')` answer lists the next nodes past the ones every
    /// `find_node(T)` answer repeats. The answers' nodes become candidates as usual.
    ///
    /// A round starts only when a candidate up to `B` failed, was given up on, or missed
    /// two soft timeouts: a sign that answers list dead entries (a healthy lookup seldom
    /// shows one, and skips the probe's round trip). It starts while the last wave is
    /// still waiting (once `k` candidates are live and at least half of them answered),
    /// when some of the `k` closest may yet turn out silent and the true boundary lie
    /// farther out. So a round asks about the subtree at
    /// `c`, the next one out at `c - 1`, and `B`'s own id (whose answer lists `B`'s
    /// neighbours, the nodes next in line). Each goes to the answered node closest to
    /// its target, chosen when it is sent: while that node lies outside the subtree and
    /// one inside is still being queried, the probe waits for it. When give-ups move the
    /// boundary out past every subtree asked about, another round follows, up to
    /// [`SiblingProbe::Rounds`]. Probe queries are resent after the soft timeout like
    /// the lookup's own.
    ///
    /// Returns the node to ask and the target to ask for. Answers and failures come back
    /// through [`Lookup::on_response`] and [`Lookup::on_failure`]; the lookup is
    /// finished only when the current round is over.
    pub fn next_probe(&mut self, now: Instant) -> Option<(Node, Id)> {
        self.expire(now);
        if let Boundary::At(bit, edge) = self.boundary() {
            if self.probes.wants(bit) && self.candidates.iter().any(|c| c.state == State::Answered)
            {
                self.probes.start(bit, &self.target, &edge);
            }
        }
        let (target, candidates) = (&self.target, &self.candidates);
        let sent = self.probes.next(now, |probe, subtree, taken| {
            probe_node(target, candidates, probe, subtree, taken)
        })?;
        self.stats.queries = self.stats.queries.saturating_add(1);
        Some(sent)
    }

    /// The boundary of the `k` closest live candidates (answered or waiting), once a
    /// probe is worth it: some candidate up to there failed, was given up on, or missed
    /// [`SUSPECT_AFTER`] soft timeouts — a sign that answers listed dead entries, and
    /// so may have left out live nodes beyond them.
    fn boundary(&self) -> Boundary {
        let mut live = 0;
        let mut answered = 0;
        let mut suspect = false;
        let mut boundary = None;
        for c in &self.candidates {
            match c.state {
                State::Failed | State::GaveUp => {
                    suspect = true;
                    continue;
                }
                State::Fresh | State::Slow { .. } => return Boundary::NotYet,
                State::Waiting { attempt, .. } => suspect |= attempt > SUSPECT_AFTER,
                State::Answered => answered += 1,
            }
            live += 1;
            boundary = Some(c.node.id);
            if live >= self.k {
                break;
            }
        }
        if live < self.k || answered * 2 < self.k || !suspect {
            return Boundary::NotYet;
        }
        match boundary.and_then(|b| first_difference(&self.target, &b)) {
            Some(bit) => Boundary::At(bit, boundary.unwrap_or_default()),
            None => Boundary::Never,
        }
    }

    /// Whether no probe query is in flight or due.
    fn probe_over(&self) -> bool {
        if !self.probes.is_over() {
            return false;
        }
        // Over unless a round could start now (it is due and someone has answered).
        match self.boundary() {
            Boundary::At(bit, _) => {
                !(self.probes.wants(bit)
                    && self.candidates.iter().any(|c| c.state == State::Answered))
            }
            Boundary::NotYet | Boundary::Never => true,
        }
    }

    /// The next node to query, if a slot is free and a candidate among the `k` closest
    /// still needs asking. Marks it as queried at `now`.
    pub fn next_query(&mut self, now: Instant) -> Option<Node> {
        self.expire(now);
        if self.active() >= self.config.alpha {
            return None;
        }
        let mut answered = 0;
        let k = self.k;
        for c in &mut self.candidates {
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
