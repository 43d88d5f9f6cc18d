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
//!   routing table) or that two answers listed get more than one attempt: a made-up
//!   node handed out by one liar costs one soft timeout. When the last attempt passes its soft timeout
//!   the lookup gives up on the node; a late answer still counts until the lookup ends.
//!   The node layer's transaction timeout (the hard timeout) or an error answer reports
//!   a failure at once.
//! - **Sibling probe.** When the last wave is under way, up to two answered nodes are
//!   asked once for the target's sibling subtree ([`Lookup::next_probe`]): answers list
//!   only 8 nodes, and when some of those never answer, the live nodes just beyond them
//!   are listed by nobody else.
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
//! let mut lookup = Lookup::new(Id::from_bytes([0; 20]), LookupConfig::default(), now);
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

/// Lookup settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupConfig {
    /// Queries active at once (default 5; chosen in the simulator: see the README).
    pub alpha: usize,
    /// How many closest nodes must answer (default 8, BEP 5's K).
    pub k: usize,
    /// After this long without an answer a query stops holding its slot and is sent
    /// again, or the node is given up on after the last attempt (default 400 ms: four
    /// median DHT round trips; a slower node still counts if it answers before the
    /// lookup ends).
    pub soft_timeout: Duration,
    /// Queries sent to one node before the lookup gives up on it (default 3: with 10 %
    /// loss each way, a round trip fails 19 % of the time, three in a row 0.7 %).
    pub attempts: u8,
    /// Most candidates kept (default 64).
    pub max_candidates: usize,
    /// Whether the lookup also asks for the target's sibling subtree near its end
    /// (default [`SiblingProbe::Once`]; see [`Lookup::next_probe`]).
    pub sibling_probe: SiblingProbe,
}

/// Whether a lookup asks for the target's sibling subtree near its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiblingProbe {
    /// Plain Kademlia: only the target is asked for.
    Off,
    /// Once per lookup, when its last wave is under way (see [`Lookup::next_probe`]):
    /// up to two more queries, and the lookup ends when they are answered or pass the
    /// soft timeout.
    Once,
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            alpha: 5,
            k: 8,
            soft_timeout: Duration::from_millis(400),
            attempts: 3,
            max_candidates: 64,
            sibling_probe: SiblingProbe::Once,
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
    /// vouched for twice gets more than one attempt: a made-up node that one liar
    /// hands out costs one soft timeout, not `attempts` of them.
    vouches: u8,
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
}

/// One iterative lookup towards a target.
#[derive(Clone, Debug)]
pub struct Lookup {
    target: Id,
    config: LookupConfig,
    started: Instant,
    candidates: Vec<Candidate>,
    stats: LookupStats,
    probe: Probe,
}

/// How many answered nodes a probe asks.
const PROBE_FANOUT: usize = 2;

/// The probe (see [`Lookup::next_probe`]): not yet due, under way, or over.
#[derive(Clone, Debug)]
enum Probe {
    NotYet,
    Started {
        target: Id,
        to: SmallVec<[(Node, ProbeState); PROBE_FANOUT]>,
    },
    Done,
}

/// Whether a probe is due, and for which target.
enum Due {
    NotYet,
    Never,
    At(Id),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProbeState {
    Unsent,
    Open { since: Instant },
    Closed,
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

impl Lookup {
    /// A lookup for `target`, started at `now`, with no candidates yet.
    pub fn new(target: Id, config: LookupConfig, now: Instant) -> Self {
        Lookup {
            target,
            config,
            started: now,
            candidates: Vec::with_capacity(config.max_candidates.min(256)),
            stats: LookupStats::default(),
            probe: match config.sibling_probe {
                SiblingProbe::Once => Probe::NotYet,
                SiblingProbe::Off => Probe::Done,
            },
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
        self.stats
    }

    /// Adds nodes to consider (from the routing table, or from a `nodes` answer). Known
    /// ids and addresses are ignored; when full, farther unqueried candidates give way.
    pub fn add_candidates(&mut self, nodes: impl IntoIterator<Item = Node>) {
        for node in nodes {
            self.add(node, VOUCHED);
        }
    }

    /// Adds `node` as vouched for by `vouches` sources, or adds them to a known one.
    fn add(&mut self, node: Node, vouches: u8) {
        if let Some(c) = self
            .candidates
            .iter_mut()
            .find(|c| c.node.id == node.id || c.node.addr == node.addr)
        {
            if c.node == node {
                c.vouches = c.vouches.saturating_add(vouches);
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
                if now.saturating_duration_since(since) >= soft {
                    let allowed = if c.vouches >= VOUCHED { attempts } else { 1 };
                    c.state = if attempt < allowed {
                        State::Slow { attempt }
                    } else {
                        State::GaveUp
                    };
                    self.stats.soft_timeouts = self.stats.soft_timeouts.saturating_add(1);
                }
            }
        }
        if let Probe::Started { to, .. } = &mut self.probe {
            for (_, state) in to.iter_mut() {
                if let ProbeState::Open { since } = *state {
                    if now.saturating_duration_since(since) >= soft {
                        *state = ProbeState::Closed;
                        self.stats.soft_timeouts = self.stats.soft_timeouts.saturating_add(1);
                    }
                }
            }
        }
    }

    /// The sibling probe: a `find_node` to send to an answered node, for a target other
    /// than the lookup's, once per lookup, when the last wave is under way.
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
    /// Returns the node to ask and the target to ask for. Answers and failures come back
    /// through [`Lookup::on_response`] and [`Lookup::on_failure`]; a probe unanswered
    /// for the soft timeout is given up on, and the lookup is finished only when the
    /// probe is over.
    pub fn next_probe(&mut self, now: Instant) -> Option<(Node, Id)> {
        if matches!(self.probe, Probe::NotYet) {
            self.probe = self.start_probe();
        }
        let Probe::Started { target, to } = &mut self.probe else {
            return None;
        };
        let (node, state) = to.iter_mut().find(|(_, s)| *s == ProbeState::Unsent)?;
        *state = ProbeState::Open { since: now };
        self.stats.queries = self.stats.queries.saturating_add(1);
        Some((*node, *target))
    }

    /// The probe to start, if it is due: `NotYet` while the `k` closest live candidates
    /// are not all answered or waiting, `Done` when there is nothing to probe.
    fn start_probe(&self) -> Probe {
        let target = match self.probe_due() {
            Due::NotYet => return Probe::NotYet,
            Due::Never => return Probe::Done,
            Due::At(target) => target,
        };
        // The answered nodes closest to the probe's target, closest first.
        let mut to: SmallVec<[(Node, ProbeState); PROBE_FANOUT]> = SmallVec::new();
        let mut keys: SmallVec<[(u128, u32); PROBE_FANOUT]> = SmallVec::new();
        for c in self
            .candidates
            .iter()
            .filter(|c| c.state == State::Answered)
        {
            let key = distance_key(&c.node.id, &target);
            let at = keys.partition_point(|k| *k <= key);
            if at < PROBE_FANOUT {
                if keys.len() == PROBE_FANOUT {
                    keys.pop();
                    to.pop();
                }
                keys.insert(at, key);
                to.insert(at, (c.node, ProbeState::Unsent));
            }
        }
        if to.is_empty() {
            return Probe::NotYet;
        }
        Probe::Started { target, to }
    }

    /// Whether the probe is due: not while one of the `k` closest live candidates is
    /// unasked, never when there is no boundary bit to flip.
    fn probe_due(&self) -> Due {
        let mut live = 0;
        let mut boundary = None;
        for c in &self.candidates {
            match c.state {
                State::Failed | State::GaveUp => continue,
                State::Fresh | State::Slow { .. } => return Due::NotYet,
                State::Waiting { .. } | State::Answered => {}
            }
            live += 1;
            boundary = Some(c.node.id);
            if live >= self.config.k {
                break;
            }
        }
        if live < self.config.k {
            return Due::NotYet;
        }
        let Some(bit) = boundary.and_then(|b| first_difference(&self.target, &b)) else {
            return Due::Never;
        };
        let mut target = *self.target.as_bytes();
        if let Some(byte) = target.get_mut(bit / 8) {
            *byte ^= 0x80 >> (bit % 8);
        }
        Due::At(Id::from_bytes(target))
    }

    /// Closes the probe to `node`, if one is open; whether one was.
    fn close_probe(&mut self, node: &Node) -> bool {
        if let Probe::Started { to, .. } = &mut self.probe {
            if let Some((_, state)) = to
                .iter_mut()
                .find(|(n, s)| n == node && matches!(s, ProbeState::Open { .. }))
            {
                *state = ProbeState::Closed;
                return true;
            }
        }
        false
    }

    fn probe_over(&self) -> bool {
        match &self.probe {
            Probe::Done => true,
            Probe::Started { to, .. } => to.iter().all(|(_, s)| *s == ProbeState::Closed),
            // Over unless it could start now (it is due and someone has answered).
            Probe::NotYet => match self.probe_due() {
                Due::At(_) => !self.candidates.iter().any(|c| c.state == State::Answered),
                Due::NotYet | Due::Never => true,
            },
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
        let k = self.config.k;
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
        let answered = self
            .candidates
            .iter()
            .any(|c| c.node == *from && c.state == State::Answered);
        if answered && self.close_probe(from) {
            self.stats.responses = self.stats.responses.saturating_add(1);
            for node in closer {
                self.add(node, 1);
            }
            return;
        }
        let Some(c) = self.candidates.iter_mut().find(|c| c.node == *from) else {
            return;
        };
        if matches!(c.state, State::Answered | State::Failed) {
            return;
        }
        c.state = State::Answered;
        c.token = token
            .filter(|t| t.len() <= MAX_TOKEN_LEN)
            .map(StoredToken::from_slice);
        self.stats.responses = self.stats.responses.saturating_add(1);
        for node in closer {
            self.add(node, 1);
        }
    }

    /// The query to `node` failed (hard timeout or an error answer).
    pub fn on_failure(&mut self, node: &Node) {
        if self.close_probe(node) {
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
                    if answered >= self.config.k {
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
        let probes = match &self.probe {
            Probe::Started { to, .. } => to.as_slice(),
            _ => &[],
        };
        self.candidates
            .iter()
            .filter_map(|c| match c.state {
                State::Waiting { since, .. } => Some(since),
                _ => None,
            })
            .chain(probes.iter().filter_map(|(_, s)| match *s {
                ProbeState::Open { since } => Some(since),
                _ => None,
            }))
            .min()
            .map(|since| since + self.config.soft_timeout)
    }

    /// The closest nodes that answered, closest first, with the token each gave.
    pub fn closest_answered(&self) -> impl Iterator<Item = (Node, Option<&[u8]>)> + '_ {
        self.candidates
            .iter()
            .filter(|c| c.state == State::Answered)
            .take(self.config.k)
            .map(|c| (c.node, c.token.as_deref()))
    }
}
