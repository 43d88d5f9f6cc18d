//! When the node looks after itself: keeping the tables fresh, noticing that it has lost
//! touch with the network (an outage, a sleep, a new address) and getting back in,
//! bootstrapping again with backoff, and verifying the nodes of a saved state.
//!
//! [`Maintenance`] decides; the node acts. Once a second, [`Maintenance::tick`] looks at
//! the tables and returns the chores due: nodes to ping, buckets to refresh, whether to
//! bootstrap again.
//!
//! # Losing touch, and getting back
//!
//! A family's table has *lost touch* when fewer of its entries answer than it can count
//! on: fewer than `k` good entries with no failed query since (or, for a network that
//! never held `k`, fewer than the most it ever held; or none at all). Then, with no
//! command from the caller:
//!
//! - one entry that is not good is pinged per family and tick, the least failed and most
//!   recently heard first, each at most once a minute. Ticks start a second apart and
//!   slow down while nothing answers, to one every [`MAX_REVIVE_EVERY`], so a long
//!   outage costs little; an answer brings the next tick forward (a second after the
//!   last at most);
//! - the node bootstraps again from its bootstrap addresses (and the nodes of a saved
//!   state), backing off from 15 s to 5 minutes; the first answer after nothing did
//!   brings the next bootstrap forward to that tick;
//! - once back in touch, every entry that failed meanwhile is pinged again, up to
//!   eight per family a second, so that the live ones are good (and handed out) again;
//! - a bootstrap that gets no answer from any bootstrap address ends with
//!   [`Event::BootstrapFailed`](super::Event::BootstrapFailed): the driver resolves the
//!   router names again and calls [`Dht::set_bootstrap`](super::Dht::set_bootstrap);
//! - the tick that finds the node in touch after it was not, however it got there (a
//!   revival ping, a bootstrap), reports [`Event::Bootstrapped`](super::Event::Bootstrapped),
//!   unless the caller's bootstrap is still running (its end reports it).

use crate::addr::Family;
use crate::routing::{Node, PING_BACKOFF, RoutingTable};
use crate::time::Instant;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use arrayvec::ArrayVec;
use core::net::SocketAddr;
use core::time::Duration;

/// How often table maintenance runs (pinging questionable nodes, refreshing buckets).
pub(crate) const MAINTENANCE_EVERY: Duration = Duration::from_secs(1);

/// How often expired peers and items are swept out of the stores (they are also dropped
/// lazily when touched; the sweep gives their memory back).
const STORE_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Bootstrap addresses remembered at most.
pub(crate) const MAX_BOOTSTRAP_ADDRS: usize = 64;

/// Nodes of a saved state kept to seed bootstraps and to verify.
pub(crate) const MAX_RESTORED: usize = 512;

/// Restored nodes pinged per tick at most, to verify them before they are trusted.
const VERIFY_PER_TICK: usize = 8;

/// Entries of a family pinged per tick at most when the node is back in touch.
const REVIVE_PER_TICK: usize = 8;

/// The first wait before bootstrapping again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(15);

/// The longest wait between two bootstraps of a node that has lost touch.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The slowest pace of revival pings while nothing answers.
pub const MAX_REVIVE_EVERY: Duration = Duration::from_secs(30);

/// What a tick asks the node to do.
#[derive(Debug, Default)]
pub(crate) struct Chores {
    /// Nodes to ping (maintenance, revival, or verification of a restored node).
    pub(crate) pings: ArrayVec<Node, { 2 * REVIVE_PER_TICK + VERIFY_PER_TICK }>,
    /// Buckets to refresh with a lookup of a random id in them.
    pub(crate) refresh: ArrayVec<(Family, usize), 2>,
    /// The node, out of touch at the last tick, is in touch: say so (unless the
    /// caller's bootstrap, still running, will).
    pub(crate) back: bool,
}

/// The maintenance timers, the bootstrap addresses and the recovery state.
#[derive(Clone, Debug)]
pub(crate) struct Maintenance {
    pub(crate) next_tick: Instant,
    next_sweep: Instant,
    /// Addresses to bootstrap from (canonical, distinct), as the driver gave them.
    pub(crate) bootstrap_addrs: Vec<SocketAddr>,
    /// Nodes of a saved state: they seed bootstraps until the tables can do without.
    pub(crate) restored: Vec<Node>,
    /// Restored nodes not pinged yet.
    to_verify: VecDeque<Node>,
    /// When to bootstrap again, if scheduled.
    pub(crate) next_bootstrap: Option<Instant>,
    backoff: Duration,
    /// Per family (IPv4, IPv6): the most entries that ever answered at once, and how many
    /// did at the last tick.
    peak: [usize; 2],
    last: [usize; 2],
    /// The wait between two ticks while the node has lost touch (each tick sends a
    /// revival ping per family).
    revive_every: Duration,
    /// Whether the last tick found the node out of touch.
    lost: bool,
    /// When the last tick ran.
    last_tick: Instant,
    /// Whether to bootstrap at once (something answered while out of touch).
    soon: bool,
    /// Back in touch since this time: entries not pinged since are asked again.
    catching_up: Option<Instant>,
}

fn slot(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

impl Maintenance {
    pub(crate) fn new(now: Instant) -> Self {
        Maintenance {
            next_tick: now + MAINTENANCE_EVERY,
            next_sweep: now + STORE_SWEEP_EVERY,
            bootstrap_addrs: Vec::new(),
            restored: Vec::new(),
            to_verify: VecDeque::new(),
            next_bootstrap: None,
            backoff: FIRST_BACKOFF,
            peak: [0; 2],
            last: [0; 2],
            revive_every: MAINTENANCE_EVERY,
            lost: false,
            last_tick: now,
            soon: false,
            catching_up: None,
        }
    }

    /// Remembers bootstrap addresses (new ones, up to the cap) and resets the backoff.
    pub(crate) fn remember(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        for a in addrs {
            if !self.bootstrap_addrs.contains(&a)
                && self.bootstrap_addrs.len() < MAX_BOOTSTRAP_ADDRS
            {
                self.bootstrap_addrs.push(a);
            }
        }
        self.backoff = FIRST_BACKOFF;
    }

    /// Replaces the bootstrap addresses; if the node has lost touch (`lost`), the next
    /// bootstrap comes at the next tick, whether or not one was scheduled (a bootstrap
    /// that failed between two ticks leaves none scheduled until the next tick).
    pub(crate) fn replace(
        &mut self,
        now: Instant,
        addrs: impl IntoIterator<Item = SocketAddr>,
        lost: bool,
    ) {
        self.bootstrap_addrs.clear();
        self.remember(addrs);
        if lost {
            self.next_bootstrap = Some(now);
        }
    }

    /// The nodes of a saved state: pinged a few per tick, and seeds of bootstraps.
    pub(crate) fn restore(&mut self, nodes: impl IntoIterator<Item = Node>) {
        for n in nodes {
            if self.restored.len() >= MAX_RESTORED {
                break;
            }
            self.restored.push(n);
            self.to_verify.push_back(n);
        }
    }

    /// The addresses a bootstrap starts from: the driver's, then (at most 16) restored
    /// nodes.
    pub(crate) fn seeds(&self) -> Vec<SocketAddr> {
        let mut seeds = self.bootstrap_addrs.clone();
        for n in self.restored.iter().take(16) {
            if !seeds.contains(&n.addr) {
                seeds.push(n.addr);
            }
        }
        seeds
    }

    /// Whether a table has lost touch (see the [module docs](self)), updating its peak.
    fn lost(&mut self, table: &RoutingTable, k: usize, now: Instant) -> bool {
        let i = slot(table.family());
        let answering = table.answering_len(now);
        let (peak, last) = match (self.peak.get_mut(i), self.last.get_mut(i)) {
            (Some(p), Some(l)) => (p, l),
            _ => return false,
        };
        *peak = (*peak).max(answering);
        let rose = answering > *last;
        *last = answering;
        let lost = answering < k.min(*peak).max(1);
        if lost && rose {
            // Something answers again: bootstrap from it now, and ping faster.
            self.revive_every = MAINTENANCE_EVERY;
            self.backoff = FIRST_BACKOFF;
            self.soon = true;
        }
        lost
    }

    /// Whether any of `tables` has lost touch (without updating anything).
    pub(crate) fn is_lost<'t>(
        &self,
        tables: impl Iterator<Item = &'t RoutingTable>,
        k: usize,
        now: Instant,
    ) -> bool {
        tables.into_iter().any(|t| {
            let peak = self.peak.get(slot(t.family())).copied().unwrap_or(0);
            t.answering_len(now) < k.min(peak).max(1)
        })
    }

    /// An answer came in: while the node has lost touch, the next tick comes sooner (a
    /// second after the last one at most), so that recovery starts at once.
    pub(crate) fn on_answer(&mut self) {
        if self.lost {
            self.next_tick = self.next_tick.min(self.last_tick + MAINTENANCE_EVERY);
        }
    }

    /// The chores due at `now`, if a tick is due. `bootstrapping`: a bootstrap search is
    /// running; `refreshing`: a refresh is.
    pub(crate) fn tick<'t>(
        &mut self,
        now: Instant,
        tables: impl Iterator<Item = &'t mut RoutingTable>,
        k: usize,
        bootstrapping: bool,
        refreshing: bool,
    ) -> Option<Chores> {
        if now < self.next_tick {
            return None;
        }
        self.last_tick = now;
        let mut chores = Chores::default();
        let mut any_lost = false;
        let mut any_entries = false;
        let mut left_to_revive = false;
        for table in tables {
            any_entries |= !table.is_empty();
            let lost = self.lost(table, k, now);
            any_lost |= lost;
            if lost {
                // One at a time, each at most once a minute.
                let before = now.saturating_sub(PING_BACKOFF) + Duration::from_millis(1);
                if let Some(node) = table.next_to_revive(now, before) {
                    table.on_ping_sent(now, &node.id);
                    let _ = chores.pings.try_push(node);
                }
            } else if let Some(since) = self.catching_up {
                // Back in touch: every entry that failed meanwhile is asked again, a few
                // a second, so that the live ones are good (and handed out) again.
                for _ in 0..REVIVE_PER_TICK {
                    let Some(node) = table.next_to_revive(now, since) else {
                        break;
                    };
                    table.on_ping_sent(now, &node.id);
                    let _ = chores.pings.try_push(node);
                    left_to_revive = true;
                }
            } else if let Some(node) = table.next_to_ping(now) {
                table.on_ping_sent(now, &node.id);
                let _ = chores.pings.try_push(node);
            }
            if !refreshing && chores.refresh.is_empty() && !table.is_empty() {
                let stale = table.buckets_to_refresh(now).next();
                if let Some(bucket) = stale {
                    table.mark_refreshed(now, bucket);
                    let _ = chores.refresh.try_push((table.family(), bucket));
                }
            }
        }
        if any_lost {
            self.catching_up = None;
        } else if self.lost {
            // Just back in touch.
            self.catching_up = Some(now);
            chores.back = true;
        } else if !left_to_revive {
            self.catching_up = None;
        }
        self.lost = any_lost;
        if any_lost {
            // While nothing answers, ticks (and revival pings) slow down.
            self.next_tick = now + self.revive_every;
            self.revive_every = (self.revive_every * 2).min(MAX_REVIVE_EVERY);
            let has_seeds = !self.bootstrap_addrs.is_empty() || !self.restored.is_empty();
            if !bootstrapping && (has_seeds || any_entries) {
                if self.soon {
                    self.next_bootstrap = Some(now);
                } else if self.next_bootstrap.is_none() {
                    self.schedule_bootstrap(now);
                }
            }
        } else {
            self.next_tick = now + MAINTENANCE_EVERY;
            self.revive_every = MAINTENANCE_EVERY;
            self.backoff = FIRST_BACKOFF;
        }
        self.soon = false;
        for _ in 0..VERIFY_PER_TICK {
            if chores.pings.is_full() {
                break;
            }
            let Some(node) = self.to_verify.pop_front() else {
                break;
            };
            chores.pings.push(node);
        }
        if !self.to_verify.is_empty() {
            // Restored nodes wait for their pings a second at most.
            self.next_tick = self.next_tick.min(now + MAINTENANCE_EVERY);
        }
        Some(chores)
    }

    /// Whether a store sweep is due; if so, the next one is scheduled.
    pub(crate) fn sweep_due(&mut self, now: Instant) -> bool {
        let due = now >= self.next_sweep;
        if due {
            self.next_sweep = now + STORE_SWEEP_EVERY;
        }
        due
    }

    /// Whether a scheduled bootstrap is due; if so, it is no longer scheduled.
    pub(crate) fn bootstrap_due(&mut self, now: Instant) -> bool {
        let due = self.next_bootstrap.is_some_and(|t| t <= now);
        if due {
            self.next_bootstrap = None;
        }
        due
    }

    /// Schedules a bootstrap after the current backoff, which then doubles (capped).
    fn schedule_bootstrap(&mut self, now: Instant) {
        self.next_bootstrap = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}
