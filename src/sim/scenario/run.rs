//! The run's phases: build the network, break some of it, announce, look up.

use super::{LookupRecord, Phase, Progress, Report, Scenario};
use crate::Id;
use crate::addr::Family;
use crate::node::{AnnouncePort, Event, QueryId};
use crate::sim::{Behaviour, Sim, Stack};
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;
use std::collections::{HashMap, HashSet};

/// A lookup or announce under way.
pub(super) struct Pending {
    pub(super) index: usize,
    pub(super) origin: usize,
    /// The announced peer, at its address in each network its node is on.
    pub(super) peers: [Option<SocketAddr>; 2],
    pub(super) started: Instant,
}

impl Scenario {
    /// Runs the scenario, calling `progress` now and then.
    pub fn run(&self, mut progress: impl FnMut(&Progress)) -> Report {
        let mut sim = Sim::new(self.seed, self.link);
        let start = sim.now();
        let report = |sim: &Sim, phase, milestone| Progress {
            phase,
            virtual_time: sim.now().saturating_duration_since(start),
            delivered: sim.delivered(),
            milestone,
        };

        // Build: nodes join one by one, each through up to three earlier ones.
        let step = (self.nodes / 20).max(1);
        let tick = (self.nodes / 400).max(1);
        for i in 0..self.nodes {
            self.join(&mut sim);
            sim.run_for(self.join_interval);
            while sim.poll_event().is_some() {}
            let done = i + 1;
            let milestone = done % step == 0 || done == self.nodes;
            if milestone || done % tick == 0 {
                let phase = Phase::Building {
                    done,
                    of: self.nodes,
                };
                progress(&report(&sim, phase, milestone));
            }
        }
        progress(&report(&sim, Phase::WarmingUp, false));
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
            let phase = Phase::Announcing {
                done,
                of: self.lookups,
            };
            progress(&report(&sim, phase, false));
        }
        let deadline = sim.now() + Duration::from_secs(120);
        while !pending.is_empty() && sim.now() < deadline {
            sim.run_for(Duration::from_millis(500));
            done += self.drain_announces(&mut sim, &mut pending);
            let phase = Phase::Announcing {
                done,
                of: self.lookups,
            };
            progress(&report(&sim, phase, true));
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
            let milestone =
                finished / step != (finished.saturating_sub(1)) / step || j + 1 == self.lookups;
            let phase = Phase::LookingUp {
                done: finished,
                of: self.lookups,
            };
            progress(&report(&sim, phase, milestone));
        }
        let deadline = sim.now() + Duration::from_secs(120);
        while !pending.is_empty() && sim.now() < deadline {
            sim.run_for(Duration::from_millis(500));
            finished += self.drain_lookups(&mut sim, &mut pending, &mut active, &mut records);
            let phase = Phase::LookingUp {
                done: finished,
                of: self.lookups,
            };
            progress(&report(&sim, phase, false));
        }
        let phase = Phase::LookingUp {
            done: finished,
            of: self.lookups,
        };
        progress(&report(&sim, phase, true));

        Report {
            lookups: records,
            nodes_ever: sim.len(),
            delivered: sim.delivered(),
            virtual_time: sim.now().saturating_duration_since(start),
            trace_hash: sim.trace_hash(),
            recovered,
        }
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
