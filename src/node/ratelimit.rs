//! Per-source-IP token buckets in a fixed-size table.
//!
//! The table is an array indexed by a keyed hash of the IP (the key comes from the node's
//! seed, so a sender cannot aim for a slot). A new IP takes over its slot, so memory is
//! fixed whatever the number of senders; an attacker churning through many addresses can
//! only reset buckets, never grow state.

use crate::node::config::RateLimit;
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::IpAddr;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// The keyed hash of the IP this bucket is for, with the low bit set; 0 when empty.
    /// 64 bits stand for the address (a collision needs the secret key to aim) and keep
    /// the slot at 24 bytes.
    tag: u64,
    /// Tokens, in thousandths.
    milli_tokens: u64,
    last: Instant,
}

impl Bucket {
    const EMPTY: Bucket = Bucket {
        tag: 0,
        milli_tokens: 0,
        last: Instant::ZERO,
    };
}

#[derive(Clone, Debug)]
pub(crate) struct RateLimiter {
    /// Empty until the first query, then `tracked` buckets.
    slots: Vec<Bucket>,
    tracked: usize,
    key: u64,
    per_second: u64,
    burst_milli: u64,
}

impl RateLimiter {
    pub(crate) fn new(cfg: RateLimit, key: u64) -> Self {
        RateLimiter {
            slots: Vec::new(),
            tracked: cfg.tracked_ips.max(1),
            key,
            per_second: u64::from(cfg.per_second),
            burst_milli: u64::from(cfg.burst).saturating_mul(1000),
        }
    }

    /// The slot for `ip` and its tag: FNV-1a over the key and the address bytes.
    fn slot(&self, ip: &IpAddr) -> (usize, u64) {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ self.key;
        let mut eat = |b: u8| {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        };
        match ip {
            IpAddr::V4(v4) => v4.octets().into_iter().for_each(&mut eat),
            IpAddr::V6(v6) => v6.octets().into_iter().for_each(&mut eat),
        }
        let len = u64::try_from(self.tracked).unwrap_or(1).max(1);
        (usize::try_from(h % len).unwrap_or(0), h | 1)
    }

    /// Whether a query from `ip` at `now` is within the limit (and takes a token).
    pub(crate) fn allow(&mut self, now: Instant, ip: IpAddr) -> bool {
        let (i, tag) = self.slot(&ip);
        let (per_second, burst) = (self.per_second, self.burst_milli);
        if self.slots.is_empty() {
            // Allocated at the first query, once: a node that is never queried (a client
            // behind a NAT, a read-only node) never pays for the table.
            self.slots = alloc::vec![Bucket::EMPTY; self.tracked];
        }
        let Some(b) = self.slots.get_mut(i) else {
            return true;
        };
        if b.tag != tag {
            *b = Bucket {
                tag,
                milli_tokens: burst,
                last: now,
            };
        } else {
            let elapsed = now.saturating_duration_since(b.last).as_millis();
            let refill = u64::try_from(elapsed)
                .unwrap_or(u64::MAX)
                .saturating_mul(per_second);
            b.milli_tokens = b.milli_tokens.saturating_add(refill).min(burst);
            b.last = b.last.max(now);
        }
        if b.milli_tokens >= 1000 {
            b.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}
