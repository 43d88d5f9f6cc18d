//! The node's own upkeep, run by its timers and by what it hears: table maintenance and
//! recovery (decided by [`Maintenance`](super::maintenance::Maintenance)), the end of a
//! bootstrap, standing announces and items, and its external address and id.

use super::maintenance::MAINTENANCE_EVERY;
use super::outgoing::OutBody;
use super::search::{ItemState, Kind, Search};
use super::standing::Work;
use super::{Dht, Event, OwnId, Purpose};
use crate::addr::Family;
use crate::id::{Id, is_bep42_exempt};
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::IpAddr;

impl Dht {
    /// Table maintenance and recovery: the pings, refreshes and bootstraps due.
    pub(super) fn maintain(&mut self, now: Instant) {
        let k = self.config.routing.k;
        let bootstrapping = self.searches.iter().any(Search::is_bootstrap);
        let refreshing = self.searches.iter().any(Search::is_refresh);
        let Some(chores) =
            self.maintenance
                .tick(now, self.tables.iter_mut(), k, bootstrapping, refreshing)
        else {
            return;
        };
        if chores.back && self.user_bootstrap.is_none() {
            let nodes = self.tables.len();
            self.events.push(Event::Bootstrapped { nodes });
        }
        for node in chores.pings {
            let purpose = Purpose::Ping { query: None };
            self.send_query(node.addr, Some(node.id), OutBody::QueryPing, purpose);
        }
        for (family, bucket) in chores.refresh {
            let entropy = self.rng.bytes();
            let Some(table) = self.tables.get(family) else {
                continue;
            };
            let target = table.refresh_target(bucket, entropy);
            let _ = self.start_search(Kind::Refresh, target, &[], None);
        }
    }

    /// Whether the node has lost touch with the network (see
    /// [`maintenance`](super::maintenance)).
    pub(super) fn is_lost(&self, now: Instant) -> bool {
        self.maintenance
            .is_lost(self.tables.iter(), self.config.routing.k, now)
    }

    /// A bootstrap the node starts by itself, after losing touch.
    pub(super) fn rebootstrap(&mut self) {
        self.stats.rebootstraps = self.stats.rebootstraps.saturating_add(1);
        let seeds = self.maintenance.seeds();
        let _ = self.start_bootstrap(&seeds);
    }

    /// What the end of bootstrap `s` says: failed if no bootstrap address answered (and
    /// the node still needs them); bootstrapped if the caller asked for it or the node
    /// is back in touch; nothing for an attempt that changed nothing.
    pub(super) fn bootstrap_finished(&mut self, s: &Search, event: Option<Event>) -> Option<Event> {
        let asked_by_caller = self.user_bootstrap == Some(s.id);
        if asked_by_caller {
            self.user_bootstrap = None;
        }
        let lost = self.is_lost(self.now);
        let (asked, answered) = s.seed_answers();
        if asked > 0 && answered == 0 && (asked_by_caller || lost) {
            self.stats.bootstrap_failures = self.stats.bootstrap_failures.saturating_add(1);
            return Some(Event::BootstrapFailed { asked });
        }
        // The node's own bootstraps report success through the tick that finds it back
        // in touch (see `maintenance`), whatever brought it back.
        if asked_by_caller { event } else { None }
    }

    /// Starts the runs of standing work that are due.
    pub(super) fn run_standing(&mut self, now: Instant) {
        if self.standing.next_due().is_none_or(|t| t > now) {
            return;
        }
        let due: Vec<Work> = self.standing.due(now).cloned().collect();
        for work in due {
            if !self.may_search() {
                // Tried again at the next tick.
                self.standing.defer(now, now + MAINTENANCE_EVERY);
                break;
            }
            let target = work.target();
            let (started, announce) = match work {
                Work::Announce {
                    info_hash,
                    port,
                    seed,
                } => (
                    self.start_search(Kind::Announce { port, seed }, info_hash, &[], None),
                    true,
                ),
                Work::Publish { target, put } => {
                    let state = ItemState::putting(put);
                    (
                        self.start_search(
                            Kind::PutItem,
                            target,
                            &[],
                            Some(alloc::boxed::Box::new(state)),
                        ),
                        false,
                    )
                }
            };
            if started.is_ok() {
                self.standing.ran(now, &target, announce);
            }
        }
    }

    /// `voter` answered us and saw us at `seen` (BEP 42 `ip`).
    pub(super) fn on_vote(&mut self, now: Instant, voter: IpAddr, seen: IpAddr) {
        if let Some(addr) = self.external.vote(now, voter, seen) {
            self.external_changed(now, addr);
        }
    }

    /// The external address of a family is now `addr`: say so, and take a secure id for
    /// it if the policy says to.
    pub(super) fn external_changed(&mut self, now: Instant, addr: IpAddr) {
        self.events.push(Event::ExternalAddress { addr });
        if self.config.own_id != OwnId::SecureForExternalAddress
            || is_bep42_exempt(addr)
            || self.id.is_secure_for(addr)
        {
            return;
        }
        // An IPv6 address decides the id only for a node without IPv4.
        if Family::of_ip(addr) == Family::V6 && self.tables.has(Family::V4) {
            return;
        }
        let new = Id::secure(addr, self.rng.bytes());
        let old = self.id;
        self.id = new;
        self.tables = self.tables.with_own_id(new, now);
        self.events.push(Event::IdChanged { old, new });
        // Rejoin: a lookup of the new id tells the nodes near it.
        let seeds = self.maintenance.seeds();
        let _ = self.start_bootstrap(&seeds);
    }
}
