//! Nodes joining and leaving the network, and picking a random honest one.

use super::Scenario;
use crate::sim::{Behaviour, Sim, Stack};
use alloc::vec::Vec;
use std::collections::HashSet;

impl Scenario {
    /// Adds a node that bootstraps through up to three random live nodes.
    pub(super) fn join(&self, sim: &mut Sim) -> usize {
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
    pub(super) fn join_mixed(&self, sim: &mut Sim) -> usize {
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
    pub(super) fn replace_one(&self, sim: &mut Sim, active: &HashSet<usize>) {
        let leaving = self.honest_node(sim, |_, i| active.contains(&i));
        sim.remove_node(leaving);
        self.join(sim);
    }

    /// A random live honest node that `avoid` does not reject (node 0 if none is found
    /// quickly).
    pub(super) fn honest_node(&self, sim: &mut Sim, avoid: impl Fn(&Sim, usize) -> bool) -> usize {
        for _ in 0..1000 {
            let n = sim.len();
            let i = sim.rng().below(n);
            if sim.is_live(i) && sim.behaviour(i) == Some(Behaviour::Honest) && !avoid(sim, i) {
                return i;
            }
        }
        0
    }
}
