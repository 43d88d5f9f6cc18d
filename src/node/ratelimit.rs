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
    ip: Option<IpAddr>,
    /// Tokens, in thousandths.
    milli_tokens: u64,
    last: Instant,
}

#[derive(Clone, Debug)]
pub(crate) struct RateLimiter {
    slots: Vec<Bucket>,
    key: u64,
    per_second: u64,
    burst_milli: u64,
}

impl RateLimiter {
    pub(crate) fn new(cfg: RateLimit, key: u64) -> Self {
        let n = cfg.tracked_ips.max(1);
        RateLimiter {
            slots: alloc::vec![
                Bucket {
                    ip: None,
                    milli_tokens: 0,
                    last: Instant::ZERO
                };
                n
            ],
            key,
            per_second: u64::from(cfg.per_second),
            burst_milli: u64::from(cfg.burst).saturating_mul(1000),
        }
    }

    fn slot(&self, ip: &IpAddr) -> usize {
        // FNV-1a over the key and the address bytes.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ self.key;
        let mut eat = |b: u8| {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        };
        match ip {
            IpAddr::V4(v4) => v4.octets().into_iter().for_each(&mut eat),
            IpAddr::V6(v6) => v6.octets().into_iter().for_each(&mut eat),
        }
        let len = u64::try_from(self.slots.len()).unwrap_or(1).max(1);
        usize::try_from(h % len).unwrap_or(0)
    }

    /// Whether a query from `ip` at `now` is within the limit (and takes a token).
    pub(crate) fn allow(&mut self, now: Instant, ip: IpAddr) -> bool {
        let i = self.slot(&ip);
        let (per_second, burst) = (self.per_second, self.burst_milli);
        let Some(b) = self.slots.get_mut(i) else {
            return true;
        };
        if b.ip != Some(ip) {
            *b = Bucket {
                ip: Some(ip),
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
