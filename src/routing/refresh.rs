//! Keeping the table fresh: buckets quiet for too long and a random target inside each
//! to look up, and the questionable entries to ping.

use super::{Node, RoutingTable, Status};
use crate::id::Id;
use crate::time::Instant;
use core::time::Duration;

/// An entry handed out by [`RoutingTable::next_to_ping`] or in
/// [`Insert::PingFirst`](super::Insert::PingFirst) is not handed out again for this long.
pub const PING_BACKOFF: Duration = Duration::from_secs(60);

impl RoutingTable {
    /// Buckets not changed for
    /// [`RoutingConfig::quiet_period`](super::RoutingConfig::quiet_period): refresh each
    /// with a lookup of a random id in it ([`RoutingTable::refresh_target`]), then mark it
    /// ([`RoutingTable::mark_refreshed`]).
    pub fn buckets_to_refresh(&self, now: Instant) -> impl Iterator<Item = usize> + '_ {
        let quiet = self.config.quiet_period;
        self.buckets
            .iter()
            .enumerate()
            .filter(move |(_, b)| now.saturating_duration_since(b.last_changed) >= quiet)
            .map(|(i, _)| i)
    }

    /// When the next bucket will need refreshing, if ever.
    pub fn next_refresh(&self) -> Option<Instant> {
        let quiet = self.config.quiet_period;
        self.buckets.iter().map(|b| b.last_changed + quiet).min()
    }

    /// Marks bucket `index` as refreshed at `now`.
    pub fn mark_refreshed(&mut self, now: Instant, index: usize) {
        if let Some(b) = self.buckets.get_mut(index) {
            b.last_changed = b.last_changed.max(now);
        }
    }

    /// A random id inside bucket `index`'s range, from 20 bytes of caller entropy.
    pub fn refresh_target(&self, index: usize, entropy: [u8; 20]) -> Id {
        let mut bytes = entropy;
        let own = self.own.as_bytes();
        let index = index.min(self.last());
        let fixed = if index == self.last() {
            index
        } else {
            index + 1
        };
        for i in 0..fixed.min(160) {
            let own_bit = own.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
            let want = if i == index && index != self.last() {
                !own_bit
            } else {
                own_bit
            };
            if let Some(byte) = bytes.get_mut(i / 8) {
                let mask = 0x80u8 >> (i % 8);
                if want {
                    *byte |= mask;
                } else {
                    *byte &= !mask;
                }
            }
        }
        Id::from_bytes(bytes)
    }

    /// We sent a ping (or other query) to `id` for maintenance; it is not suggested for
    /// pinging again for [`PING_BACKOFF`].
    pub fn on_ping_sent(&mut self, now: Instant, id: &Id) {
        if let Some(at) = self.locate(id) {
            if let Some(e) = self.entry_mut(at) {
                e.last_ping = Some(now);
            }
        }
    }

    /// The questionable entry heard from longest ago that was not pinged in the last
    /// [`PING_BACKOFF`]: ping it next to keep the table fresh.
    pub fn next_to_ping(&self, now: Instant) -> Option<Node> {
        self.iter()
            .filter(|e| self.status(e, now) == Status::Questionable)
            .filter(|e| {
                e.last_ping
                    .is_none_or(|t| now.saturating_duration_since(t) >= PING_BACKOFF)
            })
            .min_by_key(|e| e.last_response)
            .map(|e| e.node)
    }
}

impl RoutingTable {
    /// Entries that answered within [`RoutingConfig::quiet_period`](super::RoutingConfig::quiet_period)
    /// and have not failed since: the nodes the table can count on. Fewer than `k` of
    /// them means the node has lost touch (an outage, a sleep, an address change).
    pub fn answering_len(&self, now: Instant) -> usize {
        let quiet = self.config.quiet_period;
        self.iter()
            .filter(|e| e.failures == 0 && now.saturating_duration_since(e.last_response) < quiet)
            .count()
    }

    /// The entry to ping next to get back in touch (after an outage, a sleep): a bad or
    /// questionable one (a good one needs no ping) not pinged since `pinged_before`, the
    /// one that failed least, then the one heard from most recently (the likeliest to be
    /// back). Mark it with [`RoutingTable::on_ping_sent`].
    pub fn next_to_revive(&self, now: Instant, pinged_before: Instant) -> Option<Node> {
        self.iter()
            .filter(|e| self.status(e, now) != Status::Good)
            .filter(|e| e.last_ping.is_none_or(|t| t < pinged_before))
            .min_by_key(|e| (e.failures, core::cmp::Reverse(e.last_response)))
            .map(|e| e.node)
    }
}
