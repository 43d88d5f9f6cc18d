//! BEP 51 client side: `sample_infohashes` to one node, and a paced walk of the keyspace
//! that asks every node it learns of, for indexers. A [`Walk`] is a sub-machine: told
//! its answers and failures, asked whom to query next and whether it is over.

use super::{Event, QueryId};
use crate::addr::Families;
use crate::addr::Family;
use crate::addr::LocalAddresses;
use crate::id::Id;
use crate::krpc::Response;
use crate::routing::Node;
use crate::time::Instant;
use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

/// Addresses waiting in a walk's queue at most; more learned ones are dropped.
pub(crate) const MAX_QUEUED: usize = 1024;

/// How a [`Dht::walk_samples`](super::Dht::walk_samples) walk runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalkConfig {
    /// `sample_infohashes` queries sent per second at most (default 10; at least 1).
    pub rate: u32,
    /// Nodes asked before the walk ends (default 1000).
    pub max_nodes: usize,
}

impl Default for WalkConfig {
    fn default() -> Self {
        WalkConfig {
            rate: 10,
            max_nodes: 1000,
        }
    }
}

impl WalkConfig {
    /// A single query: one node, once.
    pub(crate) const SINGLE: WalkConfig = WalkConfig {
        rate: 1,
        max_nodes: 1,
    };
}

/// Which learned nodes a walk may ask.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reach<'a> {
    /// This node's id (known by its id: the address others see is not known here).
    pub(crate) own_id: &'a Id,
    /// The families the node has a table for.
    pub(crate) families: Families,
    pub(crate) local: LocalAddresses,
}

#[derive(Clone, Debug)]
pub(crate) struct Walk {
    pub(crate) id: QueryId,
    config: WalkConfig,
    queue: VecDeque<SocketAddr>,
    /// Every address queued or asked (at most `max_nodes`).
    seen: BTreeSet<SocketAddr>,
    next_send: Instant,
    in_flight: usize,
    asked: usize,
    answered: usize,
    samples: u64,
    started: Instant,
}

impl Walk {
    /// A walk starting from `start`.
    pub(crate) fn new(
        id: QueryId,
        config: WalkConfig,
        start: impl IntoIterator<Item = SocketAddr>,
        now: Instant,
    ) -> Self {
        let mut walk = Walk {
            id,
            config,
            queue: VecDeque::new(),
            seen: BTreeSet::new(),
            next_send: now,
            in_flight: 0,
            asked: 0,
            answered: 0,
            samples: 0,
            started: now,
        };
        for a in start {
            walk.offer(a);
        }
        walk
    }

    /// When the next query may go out, if one is waiting.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        (!self.queue.is_empty() && self.asked < self.config.max_nodes).then_some(self.next_send)
    }

    fn offer(&mut self, addr: SocketAddr) {
        // A node queued beyond the `max_nodes` the walk will ask would never be asked:
        // not queued (a single `sample_infohashes` keeps no list of the answer's nodes).
        let wanted = self.config.max_nodes.saturating_sub(self.asked);
        if self.queue.len() < MAX_QUEUED.min(wanted)
            && self.seen.len() < self.config.max_nodes.saturating_add(MAX_QUEUED)
            && self.seen.insert(addr)
        {
            self.queue.push_back(addr);
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(1000 / u64::from(self.config.rate.max(1)))
    }

    /// The next node to ask now, if the pace allows one; the node sends it a
    /// `sample_infohashes` and reports [`Walk::on_sent`] if it went out.
    pub(crate) fn next_query(&mut self, now: Instant) -> Option<SocketAddr> {
        if self.next_send > now || self.asked >= self.config.max_nodes {
            return None;
        }
        let to = self.queue.pop_front()?;
        self.asked = self.asked.saturating_add(1);
        self.next_send = now + self.interval();
        Some(to)
    }

    /// The query from [`Walk::next_query`] is in flight.
    pub(crate) fn on_sent(&mut self) {
        self.in_flight = self.in_flight.saturating_add(1);
    }

    /// A query got no answer (or an error).
    pub(crate) fn on_failure(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// `node` answered with `r`: the nodes it lists join the queue (those `reach` allows),
    /// and the event that reports the samples.
    pub(crate) fn on_response(&mut self, node: Node, r: &Response<'_>, reach: &Reach<'_>) -> Event {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.answered = self.answered.saturating_add(1);
        let samples: Vec<Id> = r.samples.iter().flat_map(|s| s.iter()).collect();
        self.samples = self
            .samples
            .saturating_add(u64::try_from(samples.len()).unwrap_or(u64::MAX));
        let listed = r
            .nodes
            .iter()
            .flat_map(|l| l.iter())
            .filter(|n| n.id != *reach.own_id)
            .map(|n| SocketAddr::V4(n.addr))
            .chain(
                r.nodes6
                    .iter()
                    .flat_map(|l| l.iter())
                    .filter(|n| n.id != *reach.own_id)
                    .map(|n| SocketAddr::V6(n.addr)),
            );
        for a in listed {
            if reach.families.contains(Family::of(&a))
                && a.port() != 0
                && reach.local.accepts(a.ip())
            {
                self.offer(a);
            }
        }
        Event::Samples {
            query: self.id,
            node,
            num: r.num.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            interval: Duration::from_secs(
                r.interval.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            ),
            samples,
        }
    }

    /// If the walk is over (nothing in flight, and nobody left to ask or enough asked),
    /// the event that says so.
    pub(crate) fn poll_finished(&self, now: Instant) -> Option<Event> {
        let over =
            self.in_flight == 0 && (self.queue.is_empty() || self.asked >= self.config.max_nodes);
        over.then(|| Event::WalkDone {
            query: self.id,
            asked: self.asked,
            answered: self.answered,
            samples: self.samples,
            elapsed: now.saturating_duration_since(self.started),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_queues_no_more_nodes_than_it_will_ask() {
        let addrs = (1..=50u8).map(|i| SocketAddr::from(([192, 0, 2, i], 6881)));
        let config = WalkConfig {
            rate: 10,
            max_nodes: 3,
        };
        let mut walk = Walk::new(QueryId(1), config, addrs.clone(), Instant::ZERO);
        assert_eq!((walk.queue.len(), walk.seen.len()), (3, 3));
        assert!(walk.next_query(Instant::ZERO).is_some());
        // One asked, two queued: nothing more fits.
        for a in addrs {
            walk.offer(a);
        }
        assert_eq!((walk.queue.len(), walk.seen.len()), (2, 3));
    }
}
