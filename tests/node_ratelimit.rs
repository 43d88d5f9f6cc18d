//! The inbound rate limit, driven through `handle_datagram` / `poll_transmit` on virtual
//! time: a token bucket per source network (an IPv4 address, an IPv6 /64), and a
//! temporary block for a source that keeps overflowing it. The defaults: 20 queries a
//! second, bursts of 40, blocked after more than 200 strikes (dropped queries, fading at
//! 20 a second) for 5 minutes.

mod common;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

use btdht::addr::Families;
use btdht::node::{Config, Dht};
use btdht::time::Instant;
use common::counting::allocations_during;
use common::net::{ask, config};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const PING: &[u8] = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
/// A query whose `id` is too short: answered with error 203 when the limit allows.
const MALFORMED: &[u8] = b"d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe";
const BURST: usize = 40;
const BLOCK_AFTER: usize = 200;
const BLOCK_FOR: u64 = 5 * 60 * 1000;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), 6881)
}

/// An address in 2001:db8::/32: `net` picks the /64, `host` the interface id.
fn v6(net: u32, host: u64) -> SocketAddr {
    let bits = (0x2001_0db8u128 << 96) | (u128::from(net) << 64) | u128::from(host);
    SocketAddr::new(IpAddr::V6(Ipv6Addr::from_bits(bits)), 6881)
}

fn node(c: Config) -> Dht {
    Dht::new(c, [1; 32], at(0))
}

fn dual_stack() -> Config {
    let mut c = config();
    c.families = Families::BOTH;
    c
}

/// Sends `n` pings from `from` at `now`; how many were answered.
fn pings(dht: &mut Dht, now: Instant, from: SocketAddr, n: usize) -> usize {
    (0..n).map(|_| ask(dht, now, from, PING).len()).sum()
}

/// Floods `from` with `BURST + BLOCK_AFTER + 1` pings at `now`: the last one blocks it.
fn get_blocked(dht: &mut Dht, now: Instant, from: SocketAddr) {
    let before = dht.stats().sources_blocked;
    assert_eq!(pings(dht, now, from, BURST + BLOCK_AFTER + 1), BURST);
    assert_eq!(dht.stats().sources_blocked, before + 1);
}

#[test]
fn a_single_ipv4_address_beyond_its_burst_is_limited() {
    let mut dht = node(config());
    assert_eq!(pings(&mut dht, at(0), v4(10, 0, 0, 1), 60), BURST);
    let s = dht.stats();
    assert_eq!((s.rate_limited, s.blocked, s.sources_blocked), (20, 0, 0));
    assert_eq!(
        pings(&mut dht, at(0), v4(10, 0, 0, 2), 1),
        1,
        "the next address is another source"
    );
    assert_eq!(
        pings(&mut dht, at(50), v4(10, 0, 0, 1), 2),
        1,
        "one token back after 50 ms"
    );
}

#[test]
fn a_thousand_ipv6_addresses_of_one_64_share_one_limit() {
    let mut dht = node(dual_stack());
    let mut rng = common::inputs::Rng(7);
    let answered: usize = (0..1000)
        .map(|_| pings(&mut dht, at(0), v6(1, rng.next()), 1))
        .sum();
    assert_eq!(answered, BURST);
    let s = dht.stats();
    assert_eq!(s.rate_limited + s.blocked, 1000 - BURST as u64);
    assert_eq!(s.sources_blocked, 1, "the /64 kept exceeding its limit");
}

#[test]
fn ipv6_addresses_in_different_64s_do_not_share_a_limit() {
    let mut dht = node(dual_stack());
    let answered: usize = (0..1000).map(|i| pings(&mut dht, at(0), v6(i, 1), 1)).sum();
    assert_eq!(answered, 1000);
    assert_eq!(dht.stats().rate_limited, 0);
}

#[test]
fn ipv4_addresses_share_a_limit_when_the_v4_prefix_is_shorter() {
    let mut c = config();
    c.rate_limit.v4_prefix = 24;
    let mut dht = node(c);
    let answered: usize = (1..=100)
        .map(|i| pings(&mut dht, at(0), v4(10, 0, 0, i), 1))
        .sum();
    assert_eq!(answered, BURST, "one /24");
    assert_eq!(pings(&mut dht, at(0), v4(10, 0, 1, 1), 1), 1, "another /24");
}

#[test]
fn a_source_that_keeps_exceeding_its_limit_is_blocked() {
    let mut dht = node(config());
    let flooder = v4(10, 0, 0, 1);
    // Ten times the rate: a ping every 5 ms for 3 s.
    let mut blocked_at = None;
    let mut answered = 0;
    for t in (0..3000).step_by(5) {
        let a = pings(&mut dht, at(t), flooder, 1);
        answered += a;
        if blocked_at.is_some() {
            assert_eq!(a, 0, "answered at {t} ms while blocked");
        }
        if blocked_at.is_none() && dht.stats().sources_blocked == 1 {
            blocked_at = Some(t);
        }
    }
    let blocked_at = blocked_at.expect("blocked");
    assert!(
        (1000..2000).contains(&blocked_at),
        "blocked after {blocked_at} ms"
    );
    // The burst, then the rate until the block.
    assert!(answered <= BURST + 20 * 2, "{answered} answered");
    // Quiet for 20 s: its bucket would be full again, but it is still blocked.
    let before = dht.stats();
    assert_eq!(pings(&mut dht, at(23_000), flooder, 5), 0);
    let after = dht.stats();
    assert_eq!(after.blocked, before.blocked + 5);
    assert_eq!(
        after.rate_limited, before.rate_limited,
        "its bucket untouched"
    );
    assert_eq!(after.sources_blocked, 1);
    assert_eq!(
        pings(&mut dht, at(23_000), v4(10, 0, 0, 2), 1),
        1,
        "others served"
    );
}

#[test]
fn a_blocked_source_gets_no_error_for_a_malformed_query_either() {
    let mut dht = node(config());
    let from = v4(10, 0, 0, 1);
    assert_eq!(ask(&mut dht, at(0), from, MALFORMED).len(), 1, "error 203");
    // 50 ms later, the token the malformed query took is back.
    get_blocked(&mut dht, at(50), from);
    let before = dht.stats().blocked;
    assert!(ask(&mut dht, at(10_000), from, MALFORMED).is_empty());
    assert_eq!(dht.stats().blocked, before + 1);
}

#[test]
fn the_block_expires_after_block_for() {
    let mut dht = node(config());
    let from = v4(10, 0, 0, 1);
    get_blocked(&mut dht, at(1_000), from);
    assert_eq!(pings(&mut dht, at(1_000 + BLOCK_FOR - 1), from, 1), 0);
    assert_eq!(
        pings(&mut dht, at(1_000 + BLOCK_FOR), from, BURST + 1),
        BURST,
        "afresh, with a full bucket"
    );
    assert_eq!(dht.stats().sources_blocked, 1);
}

#[test]
fn the_block_cannot_be_lifted_by_queries_from_other_addresses() {
    let mut dht = node(config());
    let flooder = v4(10, 0, 0, 1);
    get_blocked(&mut dht, at(0), flooder);
    // 2 000 other sources, some of them on the flooder's slot of the 256: each is
    // answered, none gets blocked, and the flooder stays blocked.
    for second in 1..=3 {
        let answered: usize = (0..2000u16)
            .map(|i| {
                let [hi, lo] = i.to_be_bytes();
                pings(&mut dht, at(second * 1000), v4(10, 1, hi, lo), 1)
            })
            .sum();
        assert_eq!(answered, 2000, "second {second}");
        assert_eq!(pings(&mut dht, at(second * 1000), flooder, 1), 0);
    }
    assert_eq!(dht.stats().sources_blocked, 1);
}

#[test]
fn an_honest_burst_within_burst_is_never_blocked() {
    let mut dht = node(config());
    let from = v4(10, 0, 0, 1);
    // A full burst every two seconds (the time the bucket takes to refill), for ten
    // minutes: twice the block's length.
    for round in 0..300 {
        assert_eq!(pings(&mut dht, at(round * 2000), from, BURST), BURST);
    }
    let s = dht.stats();
    assert_eq!((s.rate_limited, s.blocked, s.sources_blocked), (0, 0, 0));
}

#[test]
fn a_single_burst_is_limited_not_blocked_up_to_burst_plus_block_after() {
    let mut dht = node(config());
    let from = v4(10, 0, 0, 1);
    assert_eq!(pings(&mut dht, at(0), from, BURST + BLOCK_AFTER), BURST);
    assert_eq!(dht.stats().sources_blocked, 0);
    assert_eq!(pings(&mut dht, at(2_000), from, BURST), BURST, "refilled");
}

#[test]
fn a_sender_at_twice_the_rate_is_limited_not_blocked() {
    let mut dht = node(config());
    let from = v4(10, 0, 0, 1);
    // A ping every 25 ms for a minute: 2 400 pings.
    let answered: usize = (0..60_000)
        .step_by(25)
        .map(|t| pings(&mut dht, at(t), from, 1))
        .sum();
    let s = dht.stats();
    assert_eq!(s.sources_blocked, 0);
    assert!(
        answered >= 20 * 60,
        "{answered} answered: at least the rate"
    );
    assert_eq!(s.rate_limited, 2400 - answered as u64);
}

#[test]
fn memory_stays_bounded_whatever_the_number_of_sources() {
    let mut c = dual_stack();
    // No verification pings: only the limiter sees the sources.
    c.max_transactions = 0;
    let mut dht = node(c);
    let mut buf = [0u8; 1500];
    let source = |i: u32| match i % 2 {
        0 => SocketAddr::new(IpAddr::V4(Ipv4Addr::from_bits(0x0b00_0000 + i)), 6881),
        _ => v6(i, u64::from(i)),
    };
    let mut run = |dht: &mut Dht, sources: std::ops::Range<u32>, floods: bool| {
        for i in sources {
            // Every 100th source floods and gets blocked.
            let n = if floods && i % 100 == 0 { 300 } else { 1 };
            let now = at(u64::from(i));
            for _ in 0..n {
                dht.handle_datagram(now, source(i), PING);
                while dht.poll_transmit(now, &mut buf).is_some() {}
            }
        }
    };
    // Warm up: the table is allocated at the first query.
    run(&mut dht, 0..1_000, true);
    let ((), allocations) = allocations_during(|| run(&mut dht, 1_000..101_000, true));
    assert_eq!(
        allocations, 0,
        "100 000 new sources, 1 000 of them flooding"
    );
    let s = dht.stats();
    assert!(
        s.sources_blocked > 0 && s.blocked > 0,
        "blocks were imposed: {s:?}"
    );
    assert!(s.served.ping >= 100_000);
}
