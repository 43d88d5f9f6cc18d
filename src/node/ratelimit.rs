//! Per-source token buckets and temporary blocks in a fixed-size table.
//!
//! A source is the network a query comes from
//! ([`Prefix::per_family`](crate::addr::Prefix::per_family) with the configured lengths: an
//! IPv4 address, an IPv6 /64 by default). The table is an array indexed by a keyed hash of
//! the source (the key comes from the node's seed, so a sender cannot aim for a slot),
//! allocated at the first query: memory is fixed whatever the number of senders.
//!
//! A slot holds one source's bucket, its strikes (queries the limit dropped, fading as
//! tokens come back) and, once the strikes pass [`RateLimit::block_after`], the end of its
//! block. A new source takes over a slot whose source has no strikes; otherwise it is a
//! guest that draws from the slot's bucket and earns no strikes, so neither a block nor the
//! strikes leading to one can be wiped by sending from other addresses. The rules are
//! documented for users on [`RateLimit`].

use crate::node::config::RateLimit;
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::IpAddr;
use core::time::Duration;

/// What the limiter says about a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the limit: answer it.
    Allow,
    /// Dropped by the limit: its bucket is empty.
    Limit,
    /// Dropped by the limit, and this drop got its source blocked.
    LimitAndBlock,
    /// Dropped because its source is blocked; its bucket was not touched.
    Blocked,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The keyed hash of the source this slot is for, with the low bit set; 0 when empty.
    /// 64 bits stand for the source (a collision needs the secret key to aim).
    tag: u64,
    /// Tokens, in thousandths. While the slot is blocked, the guests' bucket.
    milli_tokens: u64,
    /// Strikes, in thousandths: one per query the limit dropped, fading at the rate
    /// tokens come back. Zero while the slot is blocked.
    milli_strikes: u64,
    /// When the bucket was last refilled (and the strikes faded).
    last: Instant,
    /// While the source is blocked, when the block ends; [`Instant::ZERO`] when it is not
    /// (a block always ends after the epoch: it lasts a nonzero time).
    blocked_until: Instant,
}

impl Slot {
    const EMPTY: Slot = Slot {
        tag: 0,
        milli_tokens: 0,
        milli_strikes: 0,
        last: Instant::ZERO,
        blocked_until: Instant::ZERO,
    };
}

#[derive(Clone, Debug)]
pub(crate) struct RateLimiter {
    /// Empty until the first query, then `tracked` slots.
    slots: Vec<Slot>,
    tracked: usize,
    key: u64,
    per_second: u64,
    burst_milli: u64,
    /// The bits of an IPv4 address that name its source, as a mask.
    v4_mask: u32,
    /// The bits of an IPv6 address that name its source, as a mask.
    v6_mask: u128,
    /// More strikes than this (in thousandths) block a source.
    block_after_milli: u64,
    /// Zero: never block.
    block_for: Duration,
}

impl RateLimiter {
    pub(crate) fn new(cfg: RateLimit, key: u64) -> Self {
        RateLimiter {
            slots: Vec::new(),
            tracked: cfg.tracked_ips.max(1),
            key,
            per_second: u64::from(cfg.per_second),
            burst_milli: u64::from(cfg.burst).saturating_mul(1000),
            v4_mask: u32::MAX
                .checked_shl(32 - u32::from(cfg.v4_prefix.min(32)))
                .unwrap_or(0),
            v6_mask: u128::MAX
                .checked_shl(128 - u32::from(cfg.v6_prefix.min(128)))
                .unwrap_or(0),
            block_after_milli: u64::from(cfg.block_after).saturating_mul(1000),
            block_for: cfg.block_for,
        }
    }

    /// The slot for the source of `ip` and its tag: the source's prefix (the address
    /// masked to its family's length, as
    /// [`Prefix::per_family`](crate::addr::Prefix::per_family) takes it) as one `u64`
    /// (IPv4) or two (IPv6), xored with the key and run through a multiply-xorshift
    /// mixer. Without the key, a sender cannot tell which slot (or tag) an address gets.
    /// The masks are computed once, so this costs what keying the address did.
    #[inline]
    fn slot(&self, ip: IpAddr) -> (usize, u64) {
        let h = match ip.to_canonical() {
            IpAddr::V4(v4) => mix(u64::from(v4.to_bits() & self.v4_mask) ^ self.key),
            IpAddr::V6(v6) => {
                let bits = v6.to_bits() & self.v6_mask;
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
        self.slots = alloc::vec![Slot::EMPTY; self.tracked];
    }

    /// What to do with a query from `ip` at `now` (a query within the limit takes a token).
    #[inline]
    pub(crate) fn allow(&mut self, now: Instant, ip: IpAddr) -> Verdict {
        if self.slots.is_empty() {
            self.allocate();
        }
        let (i, tag) = self.slot(ip);
        let (per_second, burst) = (self.per_second, self.burst_milli);
        let (block_after, block_for) = (self.block_after_milli, self.block_for);
        let Some(s) = self.slots.get_mut(i) else {
            return Verdict::Allow;
        };
        if s.blocked_until != Instant::ZERO {
            if let Some(v) = blocked(s, now, tag, per_second, burst) {
                return v;
            }
        }
        refill(s, now, per_second, burst);
        if s.tag != tag {
            if s.milli_strikes > 0 {
                // A guest of a source being limited: its bucket, no strikes.
                return take(s);
            }
            *s = Slot {
                tag,
                milli_tokens: burst,
                milli_strikes: 0,
                last: now,
                blocked_until: Instant::ZERO,
            };
        }
        match take(s) {
            Verdict::Allow => Verdict::Allow,
            _ => strike(s, now, block_after, block_for),
        }
    }
}

/// A slot that is (or was) blocked: `Some` verdict while the block lasts; `None` once it
/// has expired, the slot emptied for whoever asks (the blocked source starts afresh).
/// Out of line: the common query never gets here.
#[cold]
#[inline(never)]
fn blocked(s: &mut Slot, now: Instant, tag: u64, per_second: u64, burst: u64) -> Option<Verdict> {
    if now >= s.blocked_until {
        *s = Slot::EMPTY;
        return None;
    }
    if s.tag == tag {
        return Some(Verdict::Blocked);
    }
    // A guest: the slot's bucket, which the blocked source no longer drains, shared with
    // the other guests; a guest earns no strikes.
    refill(s, now, per_second, burst);
    Some(take(s))
}

/// Tokens come back and strikes fade at `per_second`, for the whole milliseconds since
/// the last refill.
#[inline]
fn refill(s: &mut Slot, now: Instant, per_second: u64, burst: u64) {
    let elapsed = now.as_millis().saturating_sub(s.last.as_millis());
    if elapsed > 0 {
        let d = elapsed.saturating_mul(per_second);
        s.milli_tokens = s.milli_tokens.saturating_add(d).min(burst);
        s.milli_strikes = s.milli_strikes.saturating_sub(d);
        s.last = now;
    }
}

/// Takes a token if there is one.
#[inline]
fn take(s: &mut Slot) -> Verdict {
    if s.milli_tokens >= 1000 {
        s.milli_tokens -= 1000;
        Verdict::Allow
    } else {
        Verdict::Limit
    }
}

/// A query the limit dropped: a strike, and a block once there are too many.
#[inline]
fn strike(s: &mut Slot, now: Instant, block_after: u64, block_for: Duration) -> Verdict {
    s.milli_strikes = s.milli_strikes.saturating_add(1000);
    if s.milli_strikes <= block_after || block_for.is_zero() {
        return Verdict::Limit;
    }
    s.milli_strikes = 0;
    // A block lasts at least a millisecond, so its end is never `Instant::ZERO`.
    s.blocked_until = now.saturating_add(block_for.max(Duration::from_millis(1)));
    Verdict::LimitAndBlock
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
    use super::{RateLimiter, Verdict};
    use crate::node::config::RateLimit;
    use crate::time::Instant;
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use core::time::Duration;

    fn v4(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | i))
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// A small limiter: 4 slots, 10 a second, burst 5, blocked after 10 strikes for 60 s.
    fn small() -> RateLimiter {
        let cfg = RateLimit {
            per_second: 10,
            burst: 5,
            tracked_ips: 4,
            block_after: 10,
            block_for: Duration::from_secs(60),
            ..RateLimit::default()
        };
        RateLimiter::new(cfg, 7)
    }

    /// An address whose source maps to the same slot as `ip`'s, but is another source.
    fn same_slot(r: &RateLimiter, ip: IpAddr) -> IpAddr {
        let (slot, tag) = r.slot(ip);
        (1000..)
            .map(v4)
            .find(|&other| {
                let (s, t) = r.slot(other);
                s == slot && t != tag
            })
            .unwrap()
    }

    /// Sends `n` queries from `ip` at `now` and counts each verdict.
    fn send(r: &mut RateLimiter, now: Instant, ip: IpAddr, n: usize) -> [usize; 4] {
        let mut counts = [0; 4];
        for _ in 0..n {
            let i = match r.allow(now, ip) {
                Verdict::Allow => 0,
                Verdict::Limit => 1,
                Verdict::LimitAndBlock => 2,
                Verdict::Blocked => 3,
            };
            counts[i] += 1;
        }
        counts
    }

    #[test]
    fn a_slot_is_40_bytes_as_the_config_says() {
        assert_eq!(core::mem::size_of::<super::Slot>(), 40);
    }

    #[test]
    fn slots_stay_in_range_and_depend_on_the_key() {
        let cfg = RateLimit {
            tracked_ips: 7,
            ..RateLimit::default()
        };
        let (a, b) = (RateLimiter::new(cfg, 1), RateLimiter::new(cfg, 2));
        let ips = (0u32..256)
            .map(v4)
            .chain((0u128..256).map(|i| IpAddr::V6(Ipv6Addr::from_bits(i << 64 | i))));
        let mut differ = 0;
        for ip in ips {
            let (sa, ta) = a.slot(ip);
            let (sb, tb) = b.slot(ip);
            assert!(sa < 7 && sb < 7);
            assert_eq!(ta & 1, 1);
            differ += usize::from(ta != tb);
        }
        assert_eq!(differ, 512);
    }

    #[test]
    fn the_key_is_the_source_prefix() {
        let r = RateLimiter::new(RateLimit::default(), 3);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            r.slot(ip("2001:db8:1:2::1")),
            r.slot(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            "one /64"
        );
        assert_ne!(
            r.slot(ip("2001:db8:1:2::1")).1,
            r.slot(ip("2001:db8:1:3::1")).1
        );
        assert_ne!(
            r.slot(ip("10.0.0.1")).1,
            r.slot(ip("10.0.0.2")).1,
            "per address"
        );
        assert_eq!(
            r.slot(ip("10.0.0.1")),
            r.slot(ip("::ffff:10.0.0.1")),
            "mapped"
        );
        assert_ne!(
            r.slot(ip("10.0.0.1")).1,
            r.slot(ip("a00:1::")).1,
            "the same bits in the other family"
        );
        let per_24 = RateLimiter::new(
            RateLimit {
                v4_prefix: 24,
                ..RateLimit::default()
            },
            3,
        );
        assert_eq!(per_24.slot(ip("10.0.0.1")), per_24.slot(ip("10.0.0.200")));
    }

    #[test]
    fn two_addresses_share_a_tag_exactly_when_they_share_a_prefix() {
        use crate::addr::Prefix;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (v4_prefix, v6_prefix) in [(32, 64), (0, 0), (24, 48), (8, 128), (200, 200)] {
            let cfg = RateLimit {
                v4_prefix,
                v6_prefix,
                ..RateLimit::default()
            };
            let r = RateLimiter::new(cfg, next());
            for _ in 0..2000 {
                let a = match next() % 3 {
                    0 => IpAddr::V4(Ipv4Addr::from_bits(next() as u32)),
                    1 => IpAddr::V6(Ipv4Addr::from_bits(next() as u32).to_ipv6_mapped()),
                    _ => IpAddr::V6(Ipv6Addr::from_bits(
                        u128::from(next()) << 64 | u128::from(next()),
                    )),
                };
                // Another address: `a` with a few low bits flipped, or with a high one.
                let flip = 1u128 << (next() % 128);
                let b = match a {
                    IpAddr::V4(v) => IpAddr::V4(Ipv4Addr::from_bits(v.to_bits() ^ flip as u32)),
                    IpAddr::V6(v) => IpAddr::V6(Ipv6Addr::from_bits(v.to_bits() ^ flip)),
                };
                let same = |p, q| {
                    Prefix::per_family(p, v4_prefix, v6_prefix)
                        == Prefix::per_family(q, v4_prefix, v6_prefix)
                };
                assert_eq!(
                    same(a, b),
                    r.slot(a) == r.slot(b),
                    "{a} {b} /{v4_prefix} /{v6_prefix}"
                );
                assert_eq!(r.slot(a).1 == r.slot(b).1, r.slot(a) == r.slot(b));
            }
        }
    }

    #[test]
    fn a_newcomer_takes_over_a_slot_whose_source_has_no_strikes() {
        let mut r = small();
        let a = v4(1);
        let b = same_slot(&r, a);
        assert_eq!(send(&mut r, at(0), a, 5), [5, 0, 0, 0], "a's burst");
        assert_eq!(
            send(&mut r, at(0), b, 5),
            [5, 0, 0, 0],
            "b's own, fresh burst"
        );
    }

    #[test]
    fn a_newcomer_is_the_guest_of_a_source_with_strikes_and_shares_its_bucket() {
        let mut r = small();
        let a = v4(1);
        let b = same_slot(&r, a);
        assert_eq!(send(&mut r, at(0), a, 7), [5, 2, 0, 0]);
        // 100 ms: one token back, one strike faded (one left).
        assert_eq!(
            send(&mut r, at(100), b, 20),
            [1, 19, 0, 0],
            "no strikes for b"
        );
        // a's strike has faded: the next newcomer takes over.
        assert_eq!(send(&mut r, at(200), b, 5), [5, 0, 0, 0]);
    }

    #[test]
    fn a_block_is_kept_whatever_other_sources_send_and_its_guests_are_limited_not_starved() {
        let mut r = small();
        let a = v4(1);
        let b = same_slot(&r, a);
        // 5 tokens, 10 strikes, the 11th strike blocks, the rest finds a blocked.
        assert_eq!(send(&mut r, at(0), a, 20), [5, 10, 1, 4]);
        // A flood from b neither lifts the block nor gets b blocked: b shares the slot's
        // bucket, refilled at the rate.
        for s in 1..=30 {
            assert_eq!(
                send(&mut r, at(s * 1000), b, 100),
                [5, 95, 0, 0],
                "second {s}"
            );
            assert_eq!(send(&mut r, at(s * 1000), a, 1), [0, 0, 0, 1], "second {s}");
        }
        assert_eq!(send(&mut r, at(59_999), a, 1), [0, 0, 0, 1]);
        // Expired: whoever comes first has the slot, with a full bucket.
        assert_eq!(send(&mut r, at(60_000), a, 5), [5, 0, 0, 0]);
    }

    #[test]
    fn a_zero_block_for_never_blocks() {
        let mut r = RateLimiter::new(
            RateLimit {
                block_for: Duration::ZERO,
                ..RateLimit::default()
            },
            1,
        );
        assert_eq!(send(&mut r, at(0), v4(1), 10_000), [40, 9_960, 0, 0]);
    }

    #[test]
    fn a_block_shorter_than_a_millisecond_lasts_one() {
        let mut r = RateLimiter::new(
            RateLimit {
                block_for: Duration::from_micros(10),
                ..RateLimit::default()
            },
            1,
        );
        assert_eq!(send(&mut r, at(0), v4(1), 300), [40, 200, 1, 59]);
        assert_eq!(send(&mut r, at(1), v4(1), 1), [1, 0, 0, 0], "a millisecond");
    }
}
