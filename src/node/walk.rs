//! BEP 51 client side: `sample_infohashes` to one node, and a paced walk of the keyspace
//! that asks every node it learns of, for indexers.

use super::{CommandError, Dht, Event, OutBody, Purpose, QueryId};
use crate::addr::Family;
use crate::id::Id;
use crate::krpc::Response;
use crate::routing::Node;
use crate::time::Instant;
use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

/// Addresses waiting in a walk's queue at most; more learned ones are dropped.
const MAX_QUEUED: usize = 1024;

/// How a [`Dht::walk_samples`] walk runs.
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

#[derive(Clone, Debug)]
pub(crate) struct Walk {
    pub(crate) id: QueryId,
    config: WalkConfig,
    queue: VecDeque<SocketAddr>,
    /// Every address queued or asked (at most `max_nodes` + [`MAX_QUEUED`]).
    seen: BTreeSet<SocketAddr>,
    next_send: Instant,
    in_flight: usize,
    asked: usize,
    answered: usize,
    samples: u64,
    started: Instant,
}

impl Walk {
    /// When the next query may go out, if one is waiting.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        (!self.queue.is_empty() && self.asked < self.config.max_nodes).then_some(self.next_send)
    }

    fn offer(&mut self, addr: SocketAddr) {
        if self.queue.len() < MAX_QUEUED
            && self.seen.len() < self.config.max_nodes.saturating_add(MAX_QUEUED)
            && self.seen.insert(addr)
        {
            self.queue.push_back(addr);
        }
    }

    fn is_over(&self) -> bool {
        self.in_flight == 0 && (self.queue.is_empty() || self.asked >= self.config.max_nodes)
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(1000 / u64::from(self.config.rate.max(1)))
    }
}

impl Dht {
    /// Asks the node at `addr` for a sample of the info-hashes it stores (BEP 51):
    /// [`Event::Samples`] if it answers, then [`Event::WalkDone`] (with `answered` 0 if
    /// it did not).
    pub fn sample_infohashes(
        &mut self,
        now: Instant,
        addr: SocketAddr,
    ) -> Result<QueryId, CommandError> {
        self.advance(now);
        let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
        if self.table(Family::of(&addr)).is_none() {
            return Err(CommandError::FamilyDisabled);
        }
        let config = WalkConfig {
            rate: 1,
            max_nodes: 1,
        };
        self.start_walk(config, &[addr])
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
        let mut start: Vec<SocketAddr> = Vec::new();
        for family in [Family::V4, Family::V6] {
            if let Some(t) = self.table(family) {
                start.extend(
                    t.iter()
                        .filter(|e| e.failures() == 0)
                        .map(|e| e.addr())
                        .take(MAX_QUEUED),
                );
            }
        }
        self.start_walk(config, &start)
    }

    fn start_walk(
        &mut self,
        config: WalkConfig,
        start: &[SocketAddr],
    ) -> Result<QueryId, CommandError> {
        if self.running_searches() >= self.config.max_searches.max(1) {
            return Err(CommandError::TooManySearches);
        }
        let id = self.new_query_id();
        let now = self.now;
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
            walk.offer(*a);
        }
        self.walks.push(walk);
        self.drive_walk(id);
        Ok(id)
    }

    /// Sends what a walk may send now, and ends it when it is over.
    pub(crate) fn drive_walk(&mut self, id: QueryId) {
        let now = self.now;
        loop {
            let Some(w) = self.walks.iter_mut().find(|w| w.id == id) else {
                return;
            };
            if w.next_send > now || w.asked >= w.config.max_nodes {
                break;
            }
            let Some(to) = w.queue.pop_front() else {
                break;
            };
            w.asked = w.asked.saturating_add(1);
            w.next_send = now + w.interval();
            let target = Id::from_bytes(self.rng.bytes());
            if self.send_query(
                to,
                None,
                OutBody::QuerySample { target },
                Purpose::Sample { query: id },
            ) {
                if let Some(w) = self.walks.iter_mut().find(|w| w.id == id) {
                    w.in_flight = w.in_flight.saturating_add(1);
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
        if self.walks.get(index).is_some_and(Walk::is_over) {
            let w = self.walks.swap_remove(index);
            self.push_event(Event::WalkDone {
                query: w.id,
                asked: w.asked,
                answered: w.answered,
                samples: w.samples,
                elapsed: now.saturating_duration_since(w.started),
            });
        }
    }

    pub(crate) fn drive_walks(&mut self) {
        let ids: Vec<QueryId> = self.walks.iter().map(|w| w.id).collect();
        for id in ids {
            self.drive_walk(id);
        }
    }

    /// A walk's query answered (`Some`) or failed (`None`).
    pub(crate) fn walk_answer(&mut self, query: QueryId, answer: Option<(Node, &Response<'_>)>) {
        let Some(w) = self.walks.iter_mut().find(|w| w.id == query) else {
            return;
        };
        w.in_flight = w.in_flight.saturating_sub(1);
        let Some((node, r)) = answer else {
            self.drive_walk(query);
            return;
        };
        w.answered = w.answered.saturating_add(1);
        let samples: Vec<Id> = r.samples.iter().flat_map(|s| s.iter()).collect();
        w.samples = w
            .samples
            .saturating_add(u64::try_from(samples.len()).unwrap_or(u64::MAX));
        // Nodes the answer lists, but never this node itself (known by its id: the
        // address others see is not known here).
        let me = self.id;
        let mut learned: Vec<SocketAddr> = Vec::new();
        learned.extend(
            r.nodes
                .iter()
                .flat_map(|l| l.iter())
                .filter(|n| n.id != me)
                .map(|n| SocketAddr::V4(n.addr)),
        );
        learned.extend(
            r.nodes6
                .iter()
                .flat_map(|l| l.iter())
                .filter(|n| n.id != me)
                .map(|n| SocketAddr::V6(n.addr)),
        );
        let event = Event::Samples {
            query,
            node,
            num: r.num.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            interval: Duration::from_secs(
                r.interval.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            ),
            samples,
        };
        let allow_local = self.config.routing.local_addresses == crate::addr::LocalAddresses::Allow;
        learned.retain(|a| {
            self.table(Family::of(a)).is_some()
                && a.port() != 0
                && (allow_local || crate::addr::is_global(a.ip()))
        });
        if let Some(w) = self.walks.iter_mut().find(|w| w.id == query) {
            for a in learned {
                w.offer(a);
            }
        }
        self.push_event(event);
        self.drive_walk(query);
    }
}
