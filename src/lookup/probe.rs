//! The sibling probe of a lookup (see [`Lookup::next_probe`]): `find_node` queries, to
//! nodes that already answered, for targets next to the lookup's own, whose answers list
//! the live nodes that answers for the lookup's target leave out.
//!
//! The lookup's side comes first: where the boundary of the `k` closest lies, when it is
//! worth probing, and whom each probe query goes to. Then [`Probes`], the rounds and their
//! queries.

use super::{Candidate, Lookup, State as CandidateState, distance_key};
use crate::id::Id;
use crate::routing::Node;
use crate::time::Instant;
use core::time::Duration;
use smallvec::SmallVec;

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
        .filter(|c| c.state == CandidateState::Answered && !taken.contains(&c.node))
        .min_by_key(|c| distance_key(&c.node.id, probe));
    match best {
        Some(c) if inside(c) => Pick::Ask(c.node),
        _ if candidates
            .iter()
            .any(|c| matches!(c.state, CandidateState::Waiting { .. }) && inside(c)) =>
        {
            Pick::Wait
        }
        Some(c) => Pick::Ask(c.node),
        None => Pick::Nobody,
    }
}

impl Lookup {
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
    /// [`SiblingProbe::Rounds`](super::SiblingProbe::Rounds). Probe queries are resent
    /// after the soft timeout like the lookup's own.
    ///
    /// Returns the node to ask and the target to ask for. Answers and failures come back
    /// through [`Lookup::on_response`] and [`Lookup::on_failure`]; the lookup is
    /// finished only when the current round is over.
    pub fn next_probe(&mut self, now: Instant) -> Option<(Node, Id)> {
        self.expire(now);
        if let Boundary::At(bit, edge) = self.boundary() {
            if self.probes.wants(bit)
                && self
                    .candidates
                    .iter()
                    .any(|c| c.state == CandidateState::Answered)
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
                CandidateState::Failed | CandidateState::GaveUp => {
                    suspect = true;
                    continue;
                }
                CandidateState::Fresh | CandidateState::Slow { .. } => return Boundary::NotYet,
                CandidateState::Waiting { attempt, .. } => suspect |= attempt > SUSPECT_AFTER,
                CandidateState::Answered => answered += 1,
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
    pub(super) fn probe_over(&self) -> bool {
        if !self.probes.is_over() {
            return false;
        }
        // Over unless a round could start now (it is due and someone has answered).
        match self.boundary() {
            Boundary::At(bit, _) => {
                !(self.probes.wants(bit)
                    && self
                        .candidates
                        .iter()
                        .any(|c| c.state == CandidateState::Answered))
            }
            Boundary::NotYet | Boundary::Never => true,
        }
    }
}

/// How many queries one round holds: the boundary's subtree, the next one out, and the
/// boundary node's neighbourhood.
const PER_ROUND: usize = 3;

/// One probe query: for which target, to whom once chosen, and how far it got.
#[derive(Clone, Debug)]
struct Ask {
    target: Id,
    /// The bit where the nodes this query is after first differ from the lookup's target.
    subtree: usize,
    node: Option<Node>,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not in flight, after `sent` attempts (0: never sent).
    Idle { sent: u8 },
    /// Attempt `attempt` (1-based) was sent at `since`.
    Open { since: Instant, attempt: u8 },
    /// Answered, failed, every attempt passed its soft timeout, or nobody to ask.
    Closed,
}

/// Whom to ask a probe query, as the lookup sees it.
pub(super) enum Pick {
    /// This answered node.
    Ask(Node),
    /// Nobody yet: a better-placed node is still being queried.
    Wait,
    /// Nobody: no node answered.
    Nobody,
}

/// The probe rounds of one lookup.
#[derive(Clone, Debug)]
pub(super) struct Probes {
    rounds_left: u8,
    /// The farthest (lowest-numbered) bit asked about so far.
    farthest: Option<usize>,
    asks: SmallVec<[Ask; PER_ROUND]>,
}

impl Probes {
    /// Probes that may run `rounds` rounds.
    pub(super) fn new(rounds: u8) -> Self {
        Probes {
            rounds_left: rounds,
            farthest: None,
            asks: SmallVec::new(),
        }
    }

    /// Whether a round would start for a boundary at `bit` (the first bit where the
    /// `k`-th closest live candidate differs from the target): rounds are left, the last
    /// one is over, and the boundary lies farther out than any bit asked about.
    pub(super) fn wants(&self, bit: usize) -> bool {
        self.rounds_left > 0 && self.is_over() && self.farthest.is_none_or(|f| bit < f)
    }

    /// Starts a round for a boundary at `bit`, where `edge` is the `k`-th closest live
    /// candidate: asks for the subtrees at `bit` and `bit - 1` not asked about yet, and
    /// for `edge`'s neighbourhood. Whom to ask is chosen when the query is sent.
    pub(super) fn start(&mut self, bit: usize, target: &Id, edge: &Id) {
        let mut asks: SmallVec<[Ask; PER_ROUND]> = SmallVec::new();
        let mut ask = |target: Id, subtree: usize| {
            asks.push(Ask {
                target,
                subtree,
                node: None,
                state: State::Idle { sent: 0 },
            })
        };
        for b in [Some(bit), bit.checked_sub(1)].into_iter().flatten() {
            if self.farthest.is_none_or(|f| b < f) {
                ask(flip(target, b), b);
            }
        }
        ask(*edge, bit);
        self.rounds_left = self.rounds_left.saturating_sub(1);
        self.farthest = Some(bit.saturating_sub(1));
        self.asks = asks;
    }

    /// The next probe query to send, marking it sent at `now`. `pick(target, subtree,
    /// taken)` chooses whom to ask, other than the nodes `taken` by this round.
    pub(super) fn next(
        &mut self,
        now: Instant,
        mut pick: impl FnMut(&Id, usize, &[Node]) -> Pick,
    ) -> Option<(Node, Id)> {
        let mut taken: SmallVec<[Node; PER_ROUND]> =
            self.asks.iter().filter_map(|a| a.node).collect();
        for ask in &mut self.asks {
            let State::Idle { sent } = ask.state else {
                continue;
            };
            let node = match ask.node {
                Some(node) => node,
                None => match pick(&ask.target, ask.subtree, &taken) {
                    Pick::Ask(node) => {
                        taken.push(node);
                        ask.node = Some(node);
                        node
                    }
                    Pick::Wait => continue,
                    Pick::Nobody => {
                        ask.state = State::Closed;
                        continue;
                    }
                },
            };
            ask.state = State::Open {
                since: now,
                attempt: sent.saturating_add(1),
            };
            return Some((node, ask.target));
        }
        None
    }

    /// Moves queries past `soft` to a resend (or closes them after `attempts`); how
    /// many passed it.
    pub(super) fn expire(&mut self, now: Instant, soft: Duration, attempts: u8) -> u32 {
        let mut expired = 0;
        for ask in &mut self.asks {
            if let State::Open { since, attempt } = ask.state {
                if now.saturating_duration_since(since) >= soft {
                    ask.state = if attempt < attempts {
                        State::Idle { sent: attempt }
                    } else {
                        State::Closed
                    };
                    expired += 1;
                }
            }
        }
        expired
    }

    /// Closes the probe sent to `node`, if one is in flight or waiting for a resend;
    /// whether one was.
    pub(super) fn close(&mut self, node: &Node) -> bool {
        let ask = self.asks.iter_mut().find(|a| {
            a.node == Some(*node)
                && matches!(a.state, State::Open { .. } | State::Idle { sent: 1.. })
        });
        match ask {
            Some(ask) => {
                ask.state = State::Closed;
                true
            }
            None => false,
        }
    }

    /// Whether the current round (if any) is over.
    pub(super) fn is_over(&self) -> bool {
        self.asks.iter().all(|a| a.state == State::Closed)
    }

    /// When the next open probe query reaches `soft`.
    pub(super) fn next_deadline(&self, soft: Duration) -> Option<Instant> {
        self.asks
            .iter()
            .filter_map(|a| match a.state {
                State::Open { since, .. } => Some(since + soft),
                _ => None,
            })
            .min()
    }
}

/// `target` with bit `bit` (0 = most significant) flipped.
pub(super) fn flip(target: &Id, bit: usize) -> Id {
    let mut bytes = *target.as_bytes();
    if let Some(byte) = bytes.get_mut(bit / 8) {
        *byte ^= 0x80 >> (bit % 8);
    }
    Id::from_bytes(bytes)
}
