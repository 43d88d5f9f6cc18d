//! The node's own address, as the network sees it (BEP 42's `ip` field), learned by
//! votes or set by the driver.
//!
//! Every response to one of our queries may carry `ip`: the address its sender saw the
//! query come from. Each one is a vote, with these rules:
//!
//! - one vote per network of voters: per /24 for IPv4 senders, per /48 for IPv6 ones
//!   ([`VOTER_PREFIX_V4`], [`VOTER_PREFIX_V6`]); a newer vote from the same network
//!   replaces the older, so a host, or a subnet of hosts, cannot vote twice;
//! - only votes for an address of the voter's own family count;
//! - the last [`MAX_VOTERS`] voters' votes are kept, and a vote older than [`VOTE_TTL`]
//!   no longer counts;
//! - an address becomes the external address when it has at least [`MIN_VOTES`] votes
//!   and more than half of the votes that count: a lying minority changes nothing.
//!
//! An address the driver sets ([`Dht::set_external_address`](super::Dht::set_external_address),
//! from UPnP or configuration) wins over votes for its family.

use crate::addr::{Family, Prefix};
use crate::time::Instant;
use arrayvec::ArrayVec;
use core::net::IpAddr;
use core::time::Duration;

/// Voters are grouped per /24 (IPv4).
pub const VOTER_PREFIX_V4: u8 = 24;
/// Voters are grouped per /48 (IPv6).
pub const VOTER_PREFIX_V6: u8 = 48;
/// Voters whose votes are kept, per family.
pub const MAX_VOTERS: usize = 32;
/// A vote counts for this long.
pub const VOTE_TTL: Duration = Duration::from_secs(30 * 60);
/// Votes an address needs at least (and more than half of those that count).
pub const MIN_VOTES: usize = 4;

#[derive(Clone, Copy, Debug)]
struct Vote {
    voter: Prefix,
    addr: IpAddr,
    at: Instant,
}

/// The votes and the address of one family.
#[derive(Clone, Debug, Default)]
struct Ballot {
    votes: ArrayVec<Vote, MAX_VOTERS>,
    addr: Option<IpAddr>,
    /// Set by the driver: votes no longer change it.
    configured: bool,
}

impl Ballot {
    /// Counts a vote; the address, if it changed.
    fn vote(&mut self, now: Instant, voter: Prefix, addr: IpAddr) -> Option<IpAddr> {
        if let Some(v) = self.votes.iter_mut().find(|v| v.voter == voter) {
            *v = Vote {
                voter,
                addr,
                at: now,
            };
        } else {
            if self.votes.is_full() {
                // The oldest vote makes room.
                let oldest = self
                    .votes
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, v)| v.at)
                    .map(|(i, _)| i);
                if let Some(i) = oldest {
                    self.votes.swap_remove(i);
                }
            }
            let _ = self.votes.try_push(Vote {
                voter,
                addr,
                at: now,
            });
        }
        if self.configured {
            return None;
        }
        if self.addr == Some(addr) {
            return None;
        }
        // Only the address just voted for can have become the winner.
        let (mut counting, mut for_it) = (0, 0);
        for v in &self.votes {
            if now.saturating_duration_since(v.at) < VOTE_TTL {
                counting += 1;
                for_it += usize::from(v.addr == addr);
            }
        }
        if for_it < MIN_VOTES || for_it * 2 <= counting {
            return None;
        }
        self.addr = Some(addr);
        Some(addr)
    }
}

/// The external addresses of both families.
#[derive(Clone, Debug, Default)]
pub(crate) struct External {
    v4: Ballot,
    v6: Ballot,
}

impl External {
    fn ballot(&mut self, family: Family) -> &mut Ballot {
        match family {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        }
    }

    /// `voter` saw us at `seen`; the new external address, if this vote changed it.
    pub(crate) fn vote(&mut self, now: Instant, voter: IpAddr, seen: IpAddr) -> Option<IpAddr> {
        let (voter, seen) = (voter.to_canonical(), seen.to_canonical());
        let family = Family::of_ip(voter);
        if Family::of_ip(seen) != family {
            return None;
        }
        let prefix = Prefix::per_family(voter, VOTER_PREFIX_V4, VOTER_PREFIX_V6);
        self.ballot(family).vote(now, prefix, seen)
    }

    /// The driver's word: `ip` is the external address of its family from now on.
    /// Whether it changed.
    pub(crate) fn set(&mut self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let b = self.ballot(Family::of_ip(ip));
        b.configured = true;
        let changed = b.addr != Some(ip);
        b.addr = Some(ip);
        changed
    }

    /// The external address of `family`, if known.
    pub(crate) fn get(&self, family: Family) -> Option<IpAddr> {
        match family {
            Family::V4 => self.v4.addr,
            Family::V6 => self.v6.addr,
        }
    }

    /// An address known from a saved state: used until votes say otherwise.
    pub(crate) fn restore(&mut self, ip: IpAddr) {
        let ip = ip.to_canonical();
        self.ballot(Family::of_ip(ip)).addr = Some(ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn at(s: u64) -> Instant {
        Instant::from_millis(s * 1000)
    }

    #[test]
    fn an_address_wins_with_enough_votes_from_distinct_networks() {
        let mut e = External::default();
        let me = ip("203.0.113.7");
        for i in 1..MIN_VOTES {
            assert_eq!(e.vote(at(1), ip(&format!("198.51.{i}.1")), me), None);
        }
        let last = ip(&format!("198.51.{MIN_VOTES}.1"));
        assert_eq!(e.vote(at(1), last, me), Some(me));
        assert_eq!(e.get(Family::V4), Some(me));
        // Another vote for the same address changes nothing.
        assert_eq!(e.vote(at(2), ip("192.0.2.1"), me), None);
    }

    #[test]
    fn voters_of_one_network_have_one_vote() {
        let mut e = External::default();
        for i in 1..=20 {
            e.vote(at(1), ip(&format!("198.51.100.{i}")), ip("203.0.113.7"));
        }
        assert_eq!(e.get(Family::V4), None);
    }

    #[test]
    fn a_lying_minority_changes_nothing() {
        let mut e = External::default();
        let me = ip("203.0.113.7");
        for i in 1..=10 {
            e.vote(at(1), ip(&format!("198.51.{i}.1")), me);
        }
        for i in 1..=9 {
            assert_eq!(
                e.vote(at(2), ip(&format!("192.0.{i}.1")), ip("1.2.3.4")),
                None
            );
        }
        assert_eq!(e.get(Family::V4), Some(me));
    }

    #[test]
    fn votes_expire() {
        let mut e = External::default();
        for i in 1..MIN_VOTES {
            e.vote(at(0), ip(&format!("198.51.{i}.1")), ip("203.0.113.7"));
        }
        let late = at(VOTE_TTL.as_secs() + 1);
        assert_eq!(e.vote(late, ip("198.51.99.1"), ip("203.0.113.7")), None);
    }

    #[test]
    fn a_configured_address_wins_over_votes() {
        let mut e = External::default();
        assert!(e.set(ip("203.0.113.9")));
        for i in 1..=10 {
            assert_eq!(
                e.vote(at(1), ip(&format!("198.51.{i}.1")), ip("203.0.113.7")),
                None
            );
        }
        assert_eq!(e.get(Family::V4), Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_vote_for_the_other_family_does_not_count() {
        let mut e = External::default();
        for i in 1..=10 {
            e.vote(at(1), ip(&format!("198.51.{i}.1")), ip("2001:db8::1"));
        }
        assert_eq!(e.get(Family::V4), None);
        assert_eq!(e.get(Family::V6), None);
    }
}
