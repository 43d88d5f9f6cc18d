//! The sibling probe of a lookup (see [`super::Lookup::next_probe`]): `find_node`
//! queries, to nodes that already answered, for targets next to the lookup's own, whose
//! answers list the live nodes that answers for the lookup's target leave out.

use crate::id::Id;
use crate::routing::Node;
use crate::time::Instant;
use core::time::Duration;
use smallvec::SmallVec;

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
