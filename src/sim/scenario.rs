//! Whole runs on the simulator: build a network, break some of it, announce, look up,
//! and score every lookup against the oracle.
//!
//! ```
//! use btdht::sim::scenario::Scenario;
//!
//! let report = Scenario { nodes: 200, lookups: 20, ..Scenario::default() }.run(|_| {});
//! let summary = report.summary();
//! assert!(summary.correct_rate > 0.9, "{summary:?}");
//! ```

use super::{Behaviour, LinkModel, Sim, Stack};
use crate::Id;
use crate::addr::Family;
use crate::node::{AnnouncePort, Config, Event, QueryId};
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;
use std::collections::{HashMap, HashSet};

/// A run's parameters. Fractions are of the node count.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Nodes in the network (default 1 000).
    pub nodes: usize,
    /// `get_peers` lookups, each of an info-hash announced by a random honest node
    /// (default 100).
    pub lookups: usize,
    /// The seed every chance derives from (default 1).
    pub seed: u64,
    /// Latency, loss, duplication.
    pub link: LinkModel,
    /// Fraction of the nodes replaced by new ones while the lookups run (default 0).
    pub churn: f64,
    /// Fraction of the nodes that go silent once the network is built (default 0).
    pub silent: f64,
    /// Fraction of the nodes that turn hostile once the network is built (default 0).
    pub hostile: f64,
    /// Fraction of the nodes that sit behind a NAT once the network is built (default 0).
    pub nat: f64,
    /// Fraction of the nodes on the IPv6 network only (default 0).
    pub ipv6: f64,
    /// Fraction of the nodes on both networks (default 0). The rest are IPv4 only. With
    /// dual-stack nodes, the lookups start from them, search both tables at once, and are
    /// scored per family.
    pub dual: f64,
    /// Every node's settings.
    pub config: Config,
    /// Virtual time between two joins while the network is built (default 10 ms).
    pub join_interval: Duration,
    /// Virtual time between two lookups, and between two announces (default 20 ms).
    pub lookup_interval: Duration,
    /// How many of the closest nodes a lookup must find to count as correct (default 8).
    pub k: usize,
    /// A node that joined less than this long before a lookup started is not expected
    /// to be found (it counts only if the lookup found it; default 10 s).
    pub settle: Duration,
    /// An outage once the network is built: every link drops for this long (default
    /// none). When the network comes back, no command is given for
    /// [`Scenario::recovery`]; then [`Report::recovered`] is measured, and the announces
    /// and lookups run.
    pub outage: Option<Duration>,
    /// Time left to the nodes, with no command, after an outage (default 120 s).
    pub recovery: Duration,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            nodes: 1000,
            lookups: 100,
            seed: 1,
            link: LinkModel::default(),
            churn: 0.0,
            silent: 0.0,
            hostile: 0.0,
            nat: 0.0,
            ipv6: 0.0,
            dual: 0.0,
            config: Config::default(),
            join_interval: Duration::from_millis(10),
            lookup_interval: Duration::from_millis(20),
            k: 8,
            settle: Duration::from_secs(10),
            outage: None,
            recovery: Duration::from_secs(120),
        }
    }
}

/// Where a run is, for progress lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nodes joining: `done` of `of`.
    Building {
        /// Joined so far.
        done: usize,
        /// To join.
        of: usize,
    },
    /// Announces finished: `done` of `of`.
    Announcing {
        /// Finished so far.
        done: usize,
        /// Started.
        of: usize,
    },
    /// Lookups finished: `done` of `of`.
    LookingUp {
        /// Finished so far.
        done: usize,
        /// To run.
        of: usize,
    },
}

/// What a progress callback is told.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The phase and how far it is.
    pub phase: Phase,
    /// Virtual time elapsed.
    pub virtual_time: Duration,
    /// Datagrams delivered so far.
    pub delivered: u64,
}

/// One lookup's outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookupRecord {
    /// Whether it finished before the run's end.
    pub finished: bool,
    /// Whether it found every honest node among the oracle's `k` closest (without hostile
    /// nodes: whether its closest answering nodes were exactly the oracle's), in the
    /// IPv4 network (or, for a lookup with no IPv4 part, the IPv6 one).
    pub correct: bool,
    /// The same in the IPv6 network, for a lookup with an IPv6 part.
    pub correct_v6: Option<bool>,
    /// Whether it found the announced peer.
    pub found_peer: bool,
    /// Queries sent.
    pub queries: u32,
    /// Answers received.
    pub responses: u32,
    /// Queries that failed.
    pub failures: u32,
    /// Queries that passed their soft timeout (each is resent or given up on).
    pub timeouts: u32,
    /// Hops: the longest chain of answers that led to one of the closest answered
    /// nodes (see [`LookupStats::hops`](crate::lookup::LookupStats::hops)).
    pub hops: u32,
    /// Virtual time from start to finish.
    pub time: Duration,
    /// Virtual time from start to the announced peer's arrival, if it came.
    pub peer_time: Option<Duration>,
    /// How many of the oracle's `k` closest it did not find.
    pub missed: u8,
    /// The oracle's rank (0 = closest) of the closest node it missed, if any.
    pub first_missed: Option<u8>,
}

/// A run's results.
#[derive(Clone, Debug)]
pub struct Report {
    /// Every lookup, in start order.
    pub lookups: Vec<LookupRecord>,
    /// Nodes that were ever in the network (churn adds some).
    pub nodes_ever: usize,
    /// Datagrams delivered.
    pub delivered: u64,
    /// Virtual time the run took.
    pub virtual_time: Duration,
    /// The simulator's trace hash at the end: equal for equal seeds.
    pub trace_hash: u64,
    /// After an outage ([`Scenario::outage`]): the fraction of live nodes whose tables
    /// again held, [`Scenario::recovery`] after the network came back, at least `k`
    /// entries that had answered since it came back.
    pub recovered: Option<f64>,
}

/// Aggregates of a [`Report`]: rates over all lookups, percentiles over finished ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Lookups run.
    pub lookups: usize,
    /// Fraction that found the true `k` closest (in the IPv4 network, for lookups on
    /// both).
    pub correct_rate: f64,
    /// Among lookups with an IPv6 part, the fraction that found the true `k` closest of
    /// the IPv6 network (0 when there is none).
    pub correct_rate_v6: f64,
    /// Virtual milliseconds per lookup with an IPv6 part: median.
    pub median_ms_v6: f64,
    /// Fraction that found the announced peer.
    pub found_rate: f64,
    /// Queries per lookup: median.
    pub median_queries: f64,
    /// Queries per lookup: 90th percentile.
    pub p90_queries: f64,
    /// Queries per lookup: 99th percentile.
    pub p99_queries: f64,
    /// Soft timeouts per lookup: median.
    pub median_timeouts: f64,
    /// Soft timeouts per lookup: 90th percentile.
    pub p90_timeouts: f64,
    /// Hops per lookup: median.
    pub median_hops: f64,
    /// Hops per lookup: 90th percentile.
    pub p90_hops: f64,
    /// Hops per lookup: 99th percentile.
    pub p99_hops: f64,
    /// Virtual milliseconds per lookup: median.
    pub median_ms: f64,
    /// Virtual milliseconds per lookup: 90th percentile.
    pub p90_ms: f64,
    /// Virtual milliseconds per lookup: 99th percentile.
    pub p99_ms: f64,
    /// Virtual milliseconds from a lookup's start to the announced peer, median over the
    /// lookups that found it: what a `get_peers` caller waits for its first peer.
    pub median_peer_ms: f64,
}

impl Report {
    /// Rates and percentiles.
    pub fn summary(&self) -> Summary {
        let n = self.lookups.len().max(1) as f64;
        let rate =
            |f: fn(&LookupRecord) -> bool| self.lookups.iter().filter(|l| f(l)).count() as f64 / n;
        let done: Vec<&LookupRecord> = self.lookups.iter().filter(|l| l.finished).collect();
        let of_done = |f: fn(&LookupRecord) -> f64| sorted(done.iter().map(|l| f(l)));
        let queries = of_done(|l| f64::from(l.queries));
        let timeouts = of_done(|l| f64::from(l.timeouts));
        let hops = of_done(|l| f64::from(l.hops));
        let ms = of_done(|l| millis(l.time));
        let peer_ms = sorted(self.lookups.iter().filter_map(|l| l.peer_time).map(millis));
        let v6: Vec<&LookupRecord> = self
            .lookups
            .iter()
            .filter(|l| l.correct_v6.is_some())
            .collect();
        let correct_v6 = v6.iter().filter(|l| l.correct_v6 == Some(true)).count();
        let ms_v6 = sorted(v6.iter().filter(|l| l.finished).map(|l| millis(l.time)));
        Summary {
            lookups: self.lookups.len(),
            correct_rate: rate(|l| l.correct),
            correct_rate_v6: correct_v6 as f64 / v6.len().max(1) as f64,
            median_ms_v6: percentile(&ms_v6, 0.5),
            found_rate: rate(|l| l.found_peer),
            median_queries: percentile(&queries, 0.5),
            p90_queries: percentile(&queries, 0.9),
            p99_queries: percentile(&queries, 0.99),
            median_timeouts: percentile(&timeouts, 0.5),
            p90_timeouts: percentile(&timeouts, 0.9),
            median_hops: percentile(&hops, 0.5),
            p90_hops: percentile(&hops, 0.9),
            p99_hops: percentile(&hops, 0.99),
            median_ms: percentile(&ms, 0.5),
            p90_ms: percentile(&ms, 0.9),
            p99_ms: percentile(&ms, 0.99),
            median_peer_ms: percentile(&peer_ms, 0.5),
        }
    }
}

/// The fraction of live nodes whose tables hold at least `k` entries that answered at
/// or after `since`.
fn recovered_fraction(sim: &Sim, since: Instant, k: usize) -> f64 {
    let (mut live, mut back) = (0usize, 0usize);
    for i in 0..sim.len() {
        if !sim.is_live(i) || sim.behaviour(i) != Some(Behaviour::Honest) {
            continue;
        }
        live += 1;
        let dht = sim.dht(i);
        let answered: usize = crate::addr::Family::ALL
            .iter()
            .filter_map(|f| dht.table(*f))
            .map(|t| t.iter().filter(|e| e.last_response() >= since).count())
            .sum();
        back += usize::from(answered >= k);
    }
    back as f64 / live.max(1) as f64
}

/// The values, in ascending order.
fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

/// A duration in (fractional) milliseconds.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e3
}

/// The `p` quantile of sorted values (nearest rank); 0 when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

/// A lookup or announce under way.
struct Pending {
    index: usize,
    origin: usize,
    /// The announced peer, at its address in each network its node is on.
    peers: [Option<SocketAddr>; 2],
    started: Instant,
}

impl Scenario {
    /// Runs the scenario, calling `progress` now and then.
    pub fn run(&self, mut progress: impl FnMut(&Progress)) -> Report {
        let mut sim = Sim::new(self.seed, self.link);
        let start = sim.now();
        let report = |sim: &Sim, phase| Progress {
            phase,
            virtual_time: sim.now().saturating_duration_since(start),
            delivered: sim.delivered(),
        };

        // Build: nodes join one by one, each through up to three earlier ones.
        let step = (self.nodes / 20).max(1);
        for i in 0..self.nodes {
            self.join(&mut sim);
            sim.run_for(self.join_interval);
            while sim.poll_event().is_some() {}
            if (i + 1) % step == 0 || i + 1 == self.nodes {
                let done = i + 1;
                progress(&report(
                    &sim,
                    Phase::Building {
                        done,
                        of: self.nodes,
                    },
                ));
            }
        }
        sim.run_for(Duration::from_secs(30));
        while sim.poll_event().is_some() {}

        // Faults, drawn once per node.
        for i in 0..sim.len() {
            let u = sim.rng().unit();
            let b = if u < self.silent {
                Behaviour::Silent
            } else if u < self.silent + self.hostile {
                Behaviour::Hostile
            } else if u < self.silent + self.hostile + self.nat {
                Behaviour::Nat
            } else {
                continue;
            };
            sim.set_behaviour(i, b);
        }

        let recovered = self.outage.map(|outage| {
            sim.set_network(false);
            sim.run_for(outage);
            sim.set_network(true);
            let back = sim.now();
            sim.run_for(self.recovery);
            while sim.poll_event().is_some() {}
            recovered_fraction(&sim, back, self.config.routing.k)
        });

        // Announce one info-hash per lookup, each from a random honest node.
        let mut hashes = Vec::with_capacity(self.lookups);
        let mut pending: HashMap<(usize, QueryId), Pending> = HashMap::new();
        let mut done = 0;
        for j in 0..self.lookups {
            let mut bytes = [0u8; 20];
            for chunk in bytes.chunks_mut(4) {
                chunk.copy_from_slice(&sim.rng().next_u64().to_be_bytes()[..4]);
            }
            let hash = Id::from_bytes(bytes);
            let origin = self.honest_node(&mut sim, |_, _| false);
            let port = 1000 + (j % 60_000) as u16;
            let peers = [Family::V4, Family::V6].map(|f| {
                sim.addr_in(origin, f)
                    .map(|a| SocketAddr::new(a.ip(), port))
            });
            hashes.push((hash, peers, origin));
            if let Ok(q) = sim.command(origin, |d, now| {
                d.announce(now, hash, AnnouncePort::Port(port), false)
            }) {
                pending.insert(
                    (origin, q),
                    Pending {
                        index: j,
                        origin,
                        peers,
                        started: sim.now(),
                    },
                );
            }
            sim.run_for(self.lookup_interval);
            done += self.drain_announces(&mut sim, &mut pending);
        }
        let deadline = sim.now() + Duration::from_secs(120);
        while !pending.is_empty() && sim.now() < deadline {
            sim.run_for(Duration::from_millis(500));
            done += self.drain_announces(&mut sim, &mut pending);
            progress(&report(
                &sim,
                Phase::Announcing {
                    done,
                    of: self.lookups,
                },
            ));
        }
        pending.clear();

        // Look up, with churn spread over the lookups.
        let mut records = alloc::vec![LookupRecord::default(); self.lookups];
        let replacements = (self.churn * self.nodes as f64).round() as usize;
        let mut replaced = 0;
        let mut active: HashSet<usize> = HashSet::new();
        let mut finished = 0;
        let step = (self.lookups / 20).max(1);
        // With dual-stack nodes, every lookup starts from one and searches both tables.
        let dual = self.dual > 0.0;
        for (j, &(hash, peers, announcer)) in hashes.iter().enumerate() {
            let origin = self.honest_node(&mut sim, |sim, i| {
                i == announcer || active.contains(&i) || (dual && sim.stack(i) != Some(Stack::Dual))
            });
            if let Ok(q) = sim.command(origin, |d, now| d.get_peers(now, hash)) {
                pending.insert(
                    (origin, q),
                    Pending {
                        index: j,
                        origin,
                        peers,
                        started: sim.now(),
                    },
                );
                active.insert(origin);
            }
            let due = (j + 1) * replacements / self.lookups.max(1);
            while replaced < due {
                self.replace_one(&mut sim, &active);
                replaced += 1;
            }
            sim.run_for(self.lookup_interval);
            finished += self.drain_lookups(&mut sim, &mut pending, &mut active, &mut records);
            if finished / step != (finished.saturating_sub(1)) / step || j + 1 == self.lookups {
                progress(&report(
                    &sim,
                    Phase::LookingUp {
                        done: finished,
                        of: self.lookups,
                    },
                ));
            }
        }
        let deadline = sim.now() + Duration::from_secs(120);
        while !pending.is_empty() && sim.now() < deadline {
            sim.run_for(Duration::from_millis(500));
            finished += self.drain_lookups(&mut sim, &mut pending, &mut active, &mut records);
        }
        progress(&report(
            &sim,
            Phase::LookingUp {
                done: finished,
                of: self.lookups,
            },
        ));

        Report {
            lookups: records,
            nodes_ever: sim.len(),
            delivered: sim.delivered(),
            virtual_time: sim.now().saturating_duration_since(start),
            trace_hash: sim.trace_hash(),
            recovered,
        }
    }

    /// Whether the network has IPv6 nodes.
    fn mixed(&self) -> bool {
        self.ipv6 > 0.0 || self.dual > 0.0
    }

    /// Adds a node that bootstraps through up to three random live nodes.
    fn join(&self, sim: &mut Sim) -> usize {
        if self.mixed() {
            return self.join_mixed(sim);
        }
        let live: usize = sim.len();
        let node = sim.add_node(self.config.clone());
        // Three distinct live honest nodes, as a real node's bootstrap routers would be
        // (drawing only three indices left about 1 in 40 joiners, with 20 % silent nodes
        // and churn, with nobody to bootstrap from: a node outside the network).
        let mut via = Vec::with_capacity(3);
        for _ in 0..100 {
            if live == 0 || via.len() == 3 {
                break;
            }
            let other = sim.rng().below(live);
            let addr = sim.addr(other);
            if sim.is_live(other)
                && sim.behaviour(other) == Some(Behaviour::Honest)
                && !via.contains(&addr)
            {
                via.push(addr);
            }
        }
        if !via.is_empty() {
            let _ = sim.command(node, |d, now| d.bootstrap(now, &via));
        }
        node
    }

    /// [`Scenario::join`] in a network with IPv6 nodes: the newcomer's networks are drawn
    /// from the fractions, and it bootstraps through up to three live honest nodes on each
    /// network it is on.
    fn join_mixed(&self, sim: &mut Sim) -> usize {
        let live: usize = sim.len();
        let u = sim.rng().unit();
        let stack = if u < self.ipv6 {
            Stack::V6
        } else if u < self.ipv6 + self.dual {
            Stack::Dual
        } else {
            Stack::V4
        };
        let node = sim.add_node_on(self.config.clone(), stack);
        let mut via = Vec::with_capacity(6);
        for family in stack.families().iter() {
            let mut found = 0;
            for _ in 0..100 {
                if live == 0 || found == 3 {
                    break;
                }
                let other = sim.rng().below(live);
                let Some(addr) = sim.addr_in(other, family) else {
                    continue;
                };
                if sim.is_live(other)
                    && sim.behaviour(other) == Some(Behaviour::Honest)
                    && !via.contains(&addr)
                {
                    via.push(addr);
                    found += 1;
                }
            }
        }
        if !via.is_empty() {
            let _ = sim.command(node, |d, now| d.bootstrap(now, &via));
        }
        node
    }

    /// Removes a random honest live node that runs no lookup, and adds a fresh one.
    fn replace_one(&self, sim: &mut Sim, active: &HashSet<usize>) {
        let leaving = self.honest_node(sim, |_, i| active.contains(&i));
        sim.remove_node(leaving);
        self.join(sim);
    }

    /// A random live honest node that `avoid` does not reject (node 0 if none is found
    /// quickly).
    fn honest_node(&self, sim: &mut Sim, avoid: impl Fn(&Sim, usize) -> bool) -> usize {
        for _ in 0..1000 {
            let n = sim.len();
            let i = sim.rng().below(n);
            if sim.is_live(i) && sim.behaviour(i) == Some(Behaviour::Honest) && !avoid(sim, i) {
                return i;
            }
        }
        0
    }

    /// Consumes events; returns how many announces finished.
    fn drain_announces(
        &self,
        sim: &mut Sim,
        pending: &mut HashMap<(usize, QueryId), Pending>,
    ) -> usize {
        let mut n = 0;
        while let Some((node, event)) = sim.poll_event() {
            if let Event::Announced { query, .. } = event {
                n += usize::from(pending.remove(&(node, query)).is_some());
            }
        }
        n
    }

    /// Consumes events, scoring finished lookups; returns how many finished.
    fn drain_lookups(
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
    fn score(
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
