//! Scoring finished lookups against the oracle.

use super::run::Pending;
use super::{LookupRecord, Scenario};
use crate::Id;
use crate::addr::Family;
use crate::node::{Event, QueryId};
use crate::sim::{Behaviour, Sim, Stack};
use crate::time::Instant;
use alloc::vec::Vec;
use std::collections::{HashMap, HashSet};

impl Scenario {
    /// Consumes events, scoring finished lookups; returns how many finished.
    pub(super) fn drain_lookups(
        &self,
        sim: &mut Sim,
        pending: &mut HashMap<(usize, QueryId), Pending>,
        active: &mut HashSet<usize>,
        records: &mut [LookupRecord],
    ) -> usize {
        let mut n = 0;
        while let Some((at, node, event)) = sim.poll_timed_event() {
            match event {
                Event::Peer { query, peer, .. } => {
                    if let Some(p) = pending.get(&(node, query)) {
                        if p.peers.contains(&Some(peer)) {
                            if let Some(r) = records.get_mut(p.index) {
                                r.found_peer = true;
                                r.peer_time
                                    .get_or_insert(at.saturating_duration_since(p.started));
                            }
                        }
                    }
                }
                Event::LookupDone {
                    query,
                    target,
                    stats,
                    elapsed,
                } => {
                    let Some(p) = pending.remove(&(node, query)) else {
                        continue;
                    };
                    active.remove(&p.origin);
                    let closest: Vec<(Id, Family)> = sim
                        .dht(node)
                        .query(query)
                        .map(|q| {
                            q.closest()
                                .map(|(n, _)| (n.id, Family::of(&n.addr)))
                                .collect()
                        })
                        .unwrap_or_default();
                    let settled = (sim.now() - elapsed) - self.settle;
                    let origin_stack = sim.stack(p.origin).unwrap_or(Stack::V4);
                    // One score per family the lookup searched; in an IPv4-only network,
                    // against every node, as before dual stack.
                    let score = |family: Family| {
                        let found: Vec<Id> = closest
                            .iter()
                            .filter(|(_, f)| *f == family)
                            .map(|(id, _)| *id)
                            .take(self.k)
                            .collect();
                        let network = self.mixed().then_some(family);
                        self.score(sim, found, &target, network, p.origin, settled)
                    };
                    let v4 = (origin_stack != Stack::V6).then(|| score(Family::V4));
                    let v6 = (origin_stack != Stack::V4).then(|| score(Family::V6));
                    if let Some(r) = records.get_mut(p.index) {
                        r.finished = true;
                        let (correct, missed, first_missed) = v4.or(v6).unwrap_or((false, 0, None));
                        r.correct = correct;
                        r.correct_v6 = v6.map(|(c, _, _)| c);
                        r.missed = missed;
                        r.first_missed = first_missed;
                        r.queries = stats.queries;
                        r.responses = stats.responses;
                        r.failures = stats.failures;
                        r.timeouts = stats.soft_timeouts;
                        r.hops = stats.hops;
                        r.time = elapsed;
                    }
                    n += 1;
                }
                _ => {}
            }
        }
        n
    }

    /// A lookup's score in one network: whether it found every honest node of the truth,
    /// how many it missed, and the rank of the first it missed. The truth: the `k`
    /// closest reachable nodes of `network` (every node for `None`) that had time to
    /// settle in, and any node the lookup found: a newer one, or one that answered and
    /// then left before the lookup ended (it was live and among the closest when it
    /// answered; counting it as a miss would charge the lookup for churn it could not
    /// see).
    pub(super) fn score(
        &self,
        sim: &Sim,
        mut found: Vec<Id>,
        target: &Id,
        network: Option<Family>,
        origin: usize,
        settled: Instant,
    ) -> (bool, u8, Option<u8>) {
        found.sort_by_key(|id| id.distance(target));
        let mut truth = sim.closest_reachable_in(network, target, self.k, Some(origin), settled);
        truth.extend(found.iter().copied());
        truth.sort_by_key(|id| id.distance(target));
        truth.dedup();
        truth.truncate(self.k);
        // A hostile node may be among the closest, but it lies about its own address
        // half the time: only the honest ones must be found.
        let honest = |id: &&Id| sim.behaviour_of(id) != Some(Behaviour::Hostile);
        let missed = |id: &&Id| honest(id) && !found.contains(id);
        (
            !truth.iter().any(|id| missed(&id)),
            truth.iter().filter(missed).count() as u8,
            truth.iter().position(|id| missed(&id)).map(|p| p as u8),
        )
    }
}
