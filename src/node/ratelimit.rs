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

    /// The slot for `ip` and its tag: the address as one `u32` (IPv4) or two `u64`s
    /// (IPv6), xored with the key and run through a multiply-xorshift mixer. Without the
    /// key, a sender cannot tell which slot (or tag) an address gets.
    fn slot(&self, ip: &IpAddr) -> (usize, u64) {
        let h = match ip {
            IpAddr::V4(v4) => mix(u64::from(v4.to_bits()) ^ self.key),
            IpAddr::V6(v6) => {
                let bits = v6.to_bits();
                let hi = u64::try_from(bits >> 64).unwrap_or(0);
                let lo = u64::try_from(bits & u128::from(u64::MAX)).unwrap_or(0);
                // A different starting point than IPv4 (the key turned), then both halves.
                mix(mix(hi ^ self.key.rotate_left(32)) ^ lo)
            }
        };
        // Multiply-shift range reduction: the high bits of `h` pick the slot.
        let len = u128::from(u64::try_from(self.tracked).unwrap_or(1).max(1));
        let i = usize::try_from(u128::from(h).wrapping_mul(len) >> 64).unwrap_or(0);
        (i, h | 1)
    }

    /// Allocates the table at the first query, once: a node that is never queried (a
    /// client behind a NAT, a read-only node) never pays for it. Out of line, so the hot
    /// path of [`RateLimiter::allow`] stays small.
    #[cold]
    #[inline(never)]
    fn allocate(&mut self) {
        self.slots = alloc::vec![Bucket::EMPTY; self.tracked];
    }

    /// Whether a query from `ip` at `now` is within the limit (and takes a token).
    #[inline]
    pub(crate) fn allow(&mut self, now: Instant, ip: IpAddr) -> bool {
        if self.slots.is_empty() {
            self.allocate();
        }
        let (i, tag) = self.slot(&ip);
        let (per_second, burst) = (self.per_second, self.burst_milli);
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
            // Whole milliseconds, as `Instant` counts them (no `Duration` round trip).
            let elapsed = now.as_millis().saturating_sub(b.last.as_millis());
            if elapsed > 0 {
                let refill = elapsed.saturating_mul(per_second);
                b.milli_tokens = b.milli_tokens.saturating_add(refill).min(burst);
                b.last = now;
            }
        }
        if b.milli_tokens >= 1000 {
            b.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// A bijective 64-bit mixer (Pelle Evensen's `moremur`):
/// every input bit reaches every output bit.
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 27)).wrapping_mul(0x3C79_AC49_2BA7_B653);
    let x = (x ^ (x >> 33)).wrapping_mul(0x1C69_B3F7_4AC4_AE35);
    x ^ (x >> 27)
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;
    use crate::node::config::RateLimit;
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn slots_stay_in_range_and_depend_on_the_key() {
        let cfg = RateLimit {
            tracked_ips: 7,
            ..RateLimit::default()
        };
        let (a, b) = (RateLimiter::new(cfg, 1), RateLimiter::new(cfg, 2));
        let ips = (0u32..256)
            .map(|i| IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | i)))
            .chain((0u128..256).map(|i| IpAddr::V6(Ipv6Addr::from_bits(i << 64 | i))));
        let mut differ = 0;
        for ip in ips {
            let (sa, ta) = a.slot(&ip);
            let (sb, tb) = b.slot(&ip);
            assert!(sa < 7 && sb < 7);
            assert_eq!(ta & 1, 1);
            differ += usize::from(ta != tb);
        }
        assert_eq!(differ, 512);
    }
}
