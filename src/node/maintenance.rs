//! When the node looks after itself: table maintenance, store sweeps, and bootstrapping
//! again after its tables emptied.

use crate::time::Instant;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

/// How often table maintenance runs (pinging questionable nodes, refreshing buckets).
pub(crate) const MAINTENANCE_EVERY: Duration = Duration::from_secs(1);

/// How often expired peers and items are swept out of the stores (they are also dropped
/// lazily when touched; the sweep gives their memory back).
const STORE_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Bootstrap addresses remembered at most.
const MAX_BOOTSTRAP_ADDRS: usize = 64;

/// The first wait before bootstrapping again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(15);

/// The longest wait between two bootstraps of a node whose tables stay empty.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The maintenance timers and the remembered bootstrap addresses.
#[derive(Clone, Debug)]
pub(crate) struct Maintenance {
    pub(crate) next_tick: Instant,
    next_sweep: Instant,
    /// Addresses to bootstrap from (canonical, distinct).
    pub(crate) bootstrap_addrs: Vec<SocketAddr>,
    /// When to bootstrap again, if scheduled.
    pub(crate) next_bootstrap: Option<Instant>,
    backoff: Duration,
}

impl Maintenance {
    pub(crate) fn new(now: Instant) -> Self {
        Maintenance {
            next_tick: now + MAINTENANCE_EVERY,
            next_sweep: now + STORE_SWEEP_EVERY,
            bootstrap_addrs: Vec::new(),
            next_bootstrap: None,
            backoff: FIRST_BACKOFF,
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

    /// Whether table maintenance is due; if so, the next one is scheduled.
    pub(crate) fn tick_due(&mut self, now: Instant) -> bool {
        let due = now >= self.next_tick;
        if due {
            self.next_tick = now + MAINTENANCE_EVERY;
        }
        due
    }

    /// Whether a store sweep is due; if so, the next one is scheduled.
    pub(crate) fn sweep_due(&mut self, now: Instant) -> bool {
        let due = now >= self.next_sweep;
        if due {
            self.next_sweep = now + STORE_SWEEP_EVERY;
        }
        due
    }

    /// Whether a scheduled re-bootstrap is due; if so, it is no longer scheduled.
    pub(crate) fn bootstrap_due(&mut self, now: Instant) -> bool {
        let due = self.next_bootstrap.is_some_and(|t| t <= now);
        if due {
            self.next_bootstrap = None;
        }
        due
    }

    /// Schedules a re-bootstrap after the current backoff, which then doubles (capped).
    pub(crate) fn schedule_bootstrap(&mut self, now: Instant) {
        self.next_bootstrap = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}
