//! One routing-table entry and its liveness.

use crate::id::Id;
use crate::time::Instant;
use core::net::SocketAddr;
use core::time::Duration;

/// A node: its id and UDP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    /// The node's id.
    pub id: Id,
    /// Its UDP address.
    pub addr: SocketAddr,
}

/// BEP 5 liveness of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Answered us within the last 15 minutes, or has answered us once and queried us
    /// within the last 15 minutes.
    Good,
    /// Neither good nor bad: quiet for 15 minutes.
    Questionable,
    /// Failed to answer [`RoutingConfig::max_failures`](super::RoutingConfig::max_failures) queries in
    /// a row.
    Bad,
}

/// Which entries a query wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Liveness {
    /// Every entry.
    Any,
    /// Good and questionable entries.
    #[default]
    NotBad,
    /// Good entries only.
    Good,
    /// Entries with no query left unanswered since their last answer (what a node hands
    /// out in `nodes` first: see [`RoutingTable::closest_to_hand_out`](super::RoutingTable::closest_to_hand_out)).
    Answering,
}

/// Whether an entry's id follows BEP 42 for its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdSecurity {
    /// The id is derived from the address as BEP 42 says.
    Secure,
    /// The address is exempt from BEP 42 (loopback, private, link-local).
    Exempt,
    /// The id does not match the address.
    Insecure,
}

impl IdSecurity {
    /// Secure or exempt: nothing to hold against the id.
    pub const fn is_trusted(self) -> bool {
        !matches!(self, IdSecurity::Insecure)
    }
}

/// A routing-table entry. Entries are only created from responses, so every entry has
/// answered at least once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub(super) node: Node,
    pub(super) last_response: Instant,
    pub(super) last_query: Option<Instant>,
    pub(super) last_ping: Option<Instant>,
    pub(super) failures: u8,
    pub(super) rtt_ms: Option<u32>,
    pub(super) security: IdSecurity,
}

impl Entry {
    pub(super) fn new(
        node: Node,
        now: Instant,
        rtt: Option<Duration>,
        security: IdSecurity,
    ) -> Self {
        Entry {
            node,
            last_response: now,
            last_query: None,
            last_ping: None,
            failures: 0,
            rtt_ms: rtt.map(millis),
            security,
        }
    }

    /// The node's id.
    pub fn id(&self) -> &Id {
        &self.node.id
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.node.addr
    }

    /// The node's address, borrowed (no copy on the answer-writing path).
    pub(crate) fn addr_ref(&self) -> &SocketAddr {
        &self.node.addr
    }

    /// Id and address.
    pub fn node(&self) -> Node {
        self.node
    }

    /// When it last answered one of our queries.
    pub fn last_response(&self) -> Instant {
        self.last_response
    }

    /// When it last sent us a query, if ever since it entered the table.
    pub fn last_query(&self) -> Option<Instant> {
        self.last_query
    }

    /// Queries in a row it failed to answer.
    pub fn failures(&self) -> u8 {
        self.failures
    }

    /// Smoothed round-trip time, if measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt_ms.map(|ms| Duration::from_millis(u64::from(ms)))
    }

    /// Whether its id follows BEP 42.
    pub fn security(&self) -> IdSecurity {
        self.security
    }

    /// Its BEP 5 status at `now`.
    pub fn status(&self, now: Instant, quiet: Duration, max_failures: u8) -> Status {
        if self.failures >= max_failures {
            return Status::Bad;
        }
        let recent = |t: Instant| now.saturating_duration_since(t) < quiet;
        if recent(self.last_response) || self.last_query.is_some_and(recent) {
            Status::Good
        } else {
            Status::Questionable
        }
    }

    /// Records an answer: liveness restored, RTT smoothed (7/8 old + 1/8 new).
    pub(super) fn responded(&mut self, now: Instant, rtt: Option<Duration>) {
        self.last_response = self.last_response.max(now);
        self.failures = 0;
        if let Some(sample) = rtt.map(millis) {
            self.rtt_ms = Some(match self.rtt_ms {
                None => sample,
                Some(old) => {
                    let smoothed = (u64::from(old) * 7 + u64::from(sample)) / 8;
                    u32::try_from(smoothed).unwrap_or(u32::MAX)
                }
            });
        }
    }

    #[inline]
    pub(super) fn matches(
        &self,
        liveness: Liveness,
        now: Instant,
        quiet: Duration,
        max_failures: u8,
    ) -> bool {
        match liveness {
            Liveness::Any => true,
            Liveness::NotBad => self.failures < max_failures,
            Liveness::Good => self.status(now, quiet, max_failures) == Status::Good,
            Liveness::Answering => self.failures == 0,
        }
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}
