//! Once the routing table has split, an insert that does not split it again allocates
//! nothing: buckets and replacement caches have their room from the split that made
//! them, and the address index its slots. Counted for the calling thread only by the
//! common counting allocator.

mod common;

use btdht::Id;
use btdht::addr::Family;
use btdht::routing::{FailureOutcome, Insert, Node, RoutingConfig, RoutingTable};
use btdht::time::Instant;
use common::counting::allocations_during;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

/// xorshift64*: deterministic ids.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn id(&mut self) -> Id {
        let mut b = [0u8; 20];
        for chunk in b.chunks_mut(8) {
            let r = self.next().to_be_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        Id::from_bytes(b)
    }
}

/// The `n`th distinct global address.
fn addr(n: u32) -> SocketAddr {
    let [a, b, c, d] = (0x0100_0000u32.wrapping_add(n)).to_be_bytes();
    SocketAddr::new(Ipv4Addr::new(a.max(1), b, c, d).into(), 6881)
}

fn filled(rng: &mut Rng, inserts: u32) -> RoutingTable {
    let mut t = RoutingTable::new(rng.id(), Family::V4, RoutingConfig::default());
    let now = Instant::from_millis(0);
    for i in 0..inserts {
        let node = Node {
            id: rng.id(),
            addr: addr(i),
        };
        t.on_response(now, node, Some(Duration::from_millis(50)));
    }
    assert!(t.bucket_count() > 1, "the table never split");
    t
}

/// Inserts `count` fresh nodes at `now`; returns the allocations of the inserts that
/// did not split the table, how many those were, and their outcomes.
fn insert_fresh(
    t: &mut RoutingTable,
    rng: &mut Rng,
    first_addr: u32,
    count: u32,
    now: Instant,
) -> (usize, usize, Vec<Insert>) {
    let (mut allocations, mut measured, mut outcomes) = (0, 0, Vec::new());
    for j in 0..count {
        let node = Node {
            id: rng.id(),
            addr: addr(first_addr + j),
        };
        let buckets = t.bucket_count();
        let (outcome, n) = allocations_during(|| t.on_response(now, node, None));
        if t.bucket_count() == buckets {
            allocations += n;
            measured += 1;
        }
        outcomes.push(outcome);
    }
    (allocations, measured, outcomes)
}

#[test]
fn inserts_into_a_split_table_that_do_not_split_it_allocate_nothing() {
    let mut rng = Rng(0x5eed);
    let mut t = filled(&mut rng, 10_000);
    let (allocations, measured, outcomes) =
        insert_fresh(&mut t, &mut rng, 10_000_000, 4096, Instant::from_millis(1));
    assert!(
        measured > 4000,
        "only {measured} inserts left the bucket count alone"
    );
    assert_eq!(allocations, 0, "over {measured} inserts");
    // The replacement cache was exercised: each fresh node is newer than every cached
    // one, so a full cache evicts its worst for it.
    assert!(outcomes.contains(&Insert::Cached));
    let cache = t.config().replacement_cache;
    assert!(t.bucket_sizes().any(|(_, cached)| cached == cache));
}

#[test]
fn a_cloned_table_inserts_without_allocating_too() {
    let mut rng = Rng(0x0c10);
    let t = filled(&mut rng, 10_000);
    let mut copy = t.clone();
    let (allocations, measured, _) = insert_fresh(
        &mut copy,
        &mut rng,
        10_000_000,
        1024,
        Instant::from_millis(1),
    );
    assert!(measured > 1000);
    assert_eq!(allocations, 0, "over {measured} inserts into the clone");
}

#[test]
fn ping_first_and_replacing_a_failed_entry_allocate_nothing() {
    let mut rng = Rng(0xfa11);
    let mut t = filled(&mut rng, 10_000);
    // Everything is questionable an hour later: a full bucket asks for a ping first.
    let later = Instant::from_millis(60 * 60 * 1000);
    let (allocations, measured, outcomes) = insert_fresh(&mut t, &mut rng, 10_000_000, 1024, later);
    assert_eq!(allocations, 0, "over {measured} inserts");
    let questionable: Vec<Node> = outcomes
        .iter()
        .filter_map(|o| match o {
            Insert::PingFirst { questionable } => Some(*questionable),
            _ => None,
        })
        .collect();
    assert!(!questionable.is_empty(), "no insert asked for a ping");
    let mut replaced = 0;
    for q in &questionable {
        for _ in 0..t.config().max_failures {
            let (outcome, n) = allocations_during(|| t.on_failure(later, &q.id));
            assert_eq!(n, 0, "on_failure allocated");
            replaced += usize::from(matches!(outcome, FailureOutcome::Replaced { .. }));
        }
    }
    assert!(replaced > 0, "no failed entry was replaced from the cache");
}
