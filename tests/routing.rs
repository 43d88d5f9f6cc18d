//! Routing table rules (BEP 5, BEP 32, BEP 42 defences), one test per rule, and
//! proptests for the table's invariants.

use btdht::Id;
use btdht::addr::{Family, LocalAddresses};
use btdht::routing::{
    BucketSizing, FailureOutcome, Insert, Liveness, Node, Rejection, RoutingConfig, RoutingTable,
    Status,
};
use btdht::time::Instant;
use core::time::Duration;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const OWN: Id = Id::from_bytes([0; 20]);
const MIN: u64 = 60_000;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// A distinct global IPv4 address per `n`.
fn addr(n: u32) -> SocketAddr {
    let [a, b, c, d] = (0x0100_0000 + n).to_be_bytes();
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a.max(1), b, c, d)), 6881)
}

/// An id sharing exactly `prefix` leading bits with OWN (all zero), then `tail`.
fn id_at(prefix: usize, tail: u8) -> Id {
    let mut b = [0u8; 20];
    b[prefix / 8] |= 0x80 >> (prefix % 8);
    b[19] = b[19].wrapping_add(tail);
    if prefix / 8 == 19 {
        b[19] |= 0x80 >> (prefix % 8);
    }
    Id::from_bytes(b)
}

fn node(id: Id, n: u32) -> Node {
    Node { id, addr: addr(n) }
}

fn table() -> RoutingTable {
    RoutingTable::new(OWN, Family::V4, RoutingConfig::default())
}

/// Fills the farthest bucket (ids starting with bit 1) with k nodes, after splitting.
fn full_far_bucket(tbl: &mut RoutingTable, now: Instant) -> Vec<Node> {
    // Nodes near us force the first split so bucket 0 is no longer home.
    for i in 0..8 {
        tbl.on_response(now, node(id_at(100, i), 1000 + u32::from(i)), None);
    }
    let far: Vec<Node> = (0..8).map(|i| node(id_at(0, i), u32::from(i))).collect();
    for n in &far {
        assert!(matches!(tbl.on_response(now, *n, None), Insert::Added));
    }
    assert!(tbl.bucket_count() > 1);
    far
}

#[test]
fn nodes_enter_only_from_responses_never_from_queries() {
    let mut tbl = table();
    let n = node(id_at(0, 1), 1);
    assert!(!tbl.on_query(t(0), n), "an unknown querier is not added");
    assert!(tbl.is_empty());
    assert_eq!(tbl.on_response(t(0), n, None), Insert::Added);
    assert!(tbl.on_query(t(1), n), "a known querier refreshes its entry");
}

#[test]
fn our_own_id_is_refused() {
    assert_eq!(
        table().on_response(t(0), node(OWN, 1), None),
        Insert::Rejected(Rejection::OwnId)
    );
}

#[test]
fn local_addresses_are_refused_unless_allowed() {
    let local = Node {
        id: id_at(0, 0),
        addr: "127.0.0.1:6881".parse().unwrap(),
    };
    assert_eq!(
        table().on_response(t(0), local, None),
        Insert::Rejected(Rejection::LocalAddress)
    );
    let mut cfg = RoutingConfig::default();
    cfg.local_addresses = LocalAddresses::Allow;
    let mut tbl = RoutingTable::new(OWN, Family::V4, cfg);
    assert_eq!(tbl.on_response(t(0), local, None), Insert::Added);
}

#[test]
fn each_table_holds_one_address_family() {
    let v6 = Node {
        id: id_at(0, 0),
        addr: "[2001:db8::1]:6881".parse().unwrap(),
    };
    assert_eq!(
        table().on_response(t(0), v6, None),
        Insert::Rejected(Rejection::WrongFamily)
    );
    let mut t6 = RoutingTable::new(OWN, Family::V6, RoutingConfig::default());
    assert_eq!(t6.on_response(t(0), v6, None), Insert::Added);
    let mapped = Node {
        id: id_at(1, 0),
        addr: "[::ffff:1.2.3.4]:6881".parse().unwrap(),
    };
    assert_eq!(
        t6.on_response(t(0), mapped, None),
        Insert::Rejected(Rejection::WrongFamily)
    );
}

#[test]
fn at_most_one_entry_per_ip_by_default() {
    let mut tbl = table();
    let a = node(id_at(0, 1), 7);
    let mut b = node(id_at(1, 1), 7);
    b.addr.set_port(7000);
    assert_eq!(tbl.on_response(t(0), a, None), Insert::Added);
    assert_eq!(
        tbl.on_response(t(0), b, None),
        Insert::Rejected(Rejection::IpLimit)
    );
}

#[test]
fn the_home_bucket_splits_when_full_and_others_never_do() {
    let mut tbl = table();
    for i in 0..8 {
        assert_eq!(
            tbl.on_response(t(0), node(id_at(0, i), u32::from(i)), None),
            Insert::Added
        );
    }
    assert_eq!(tbl.bucket_count(), 1);
    // The 9th node splits the home bucket: ids starting with 1 stay in bucket 0.
    assert_eq!(
        tbl.on_response(t(0), node(id_at(5, 0), 100), None),
        Insert::Added
    );
    assert_eq!(tbl.bucket_count(), 2);
    // Bucket 0 (far from us) is full and is not home: it does not split.
    let r = tbl.on_response(t(0), node(id_at(0, 99), 200), None);
    assert_eq!(r, Insert::Cached);
    assert_eq!(tbl.bucket_count(), 2);
    assert_eq!(tbl.len(), 9);
}

#[test]
fn a_bad_entry_is_replaced_by_a_new_node() {
    let mut tbl = table();
    let far = full_far_bucket(&mut tbl, t(0));
    for _ in 0..3 {
        tbl.on_failure(t(1), &far[2].id);
    }
    assert_eq!(
        tbl.get(&far[2].id)
            .unwrap()
            .status(t(1), Duration::from_secs(900), 3),
        Status::Bad
    );
    let newcomer = node(id_at(0, 50), 500);
    assert_eq!(
        tbl.on_response(t(2), newcomer, None),
        Insert::ReplacedBad { evicted: far[2] }
    );
    assert!(tbl.get(&far[2].id).is_none());
    assert!(tbl.get(&newcomer.id).is_some());
}

#[test]
fn a_full_bucket_asks_to_ping_its_stalest_questionable_node_first() {
    let mut tbl = table();
    let far = full_far_bucket(&mut tbl, t(0));
    // Everyone answers again at 5 min except far[4]; 20 min later only far[4] is stale.
    for n in &far {
        if *n != far[4] {
            tbl.on_response(t(5 * MIN), *n, None);
        }
    }
    let now = t(16 * MIN);
    let candidate = node(id_at(0, 60), 600);
    assert_eq!(
        tbl.on_response(now, candidate, None),
        Insert::PingFirst {
            questionable: far[4]
        }
    );
    assert!(
        tbl.get(&candidate.id).is_none(),
        "the candidate waits in the cache"
    );
    // The ping fails max_failures times: the cached candidate takes the place.
    assert!(matches!(
        tbl.on_failure(now, &far[4].id),
        FailureOutcome::Counted { .. }
    ));
    assert!(matches!(
        tbl.on_failure(now, &far[4].id),
        FailureOutcome::Counted { .. }
    ));
    assert_eq!(
        tbl.on_failure(now, &far[4].id),
        FailureOutcome::Replaced {
            removed: far[4],
            promoted: candidate
        }
    );
    assert!(tbl.get(&candidate.id).is_some());
}

#[test]
fn a_questionable_node_being_pinged_is_not_handed_out_again_at_once() {
    let mut tbl = table();
    let far = full_far_bucket(&mut tbl, t(0));
    let now = t(20 * MIN);
    let first = tbl.on_response(now, node(id_at(0, 70), 700), None);
    let second = tbl.on_response(now, node(id_at(0, 71), 701), None);
    match (first, second) {
        (Insert::PingFirst { questionable: a }, Insert::PingFirst { questionable: b }) => {
            assert_ne!(a, b);
            assert!(far.contains(&a) && far.contains(&b));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bucket_of_good_nodes_keeps_them_and_caches_newcomers_in_a_bounded_cache() {
    let mut tbl = table();
    let far = full_far_bucket(&mut tbl, t(0));
    for i in 0..20u8 {
        let r = tbl.on_response(t(1), node(id_at(0, 100 + i), 800 + u32::from(i)), None);
        assert_eq!(r, Insert::Cached);
    }
    for n in &far {
        assert!(tbl.get(&n.id).is_some(), "good nodes are never displaced");
    }
    assert!(tbl.bucket_sizes().all(|(_, cached)| cached <= 8));
}

#[test]
fn status_follows_the_fifteen_minute_rules() {
    let mut tbl = table();
    let n = node(id_at(0, 1), 1);
    tbl.on_response(t(0), n, None);
    let quiet = Duration::from_secs(15 * 60);
    let status = |tbl: &RoutingTable, at| tbl.get(&n.id).unwrap().status(at, quiet, 3);
    assert_eq!(status(&tbl, t(14 * MIN)), Status::Good);
    assert_eq!(status(&tbl, t(15 * MIN)), Status::Questionable);
    // Having answered once, a query from it within 15 minutes keeps it good.
    tbl.on_query(t(20 * MIN), n);
    assert_eq!(status(&tbl, t(30 * MIN)), Status::Good);
    assert_eq!(status(&tbl, t(36 * MIN)), Status::Questionable);
    for _ in 0..3 {
        tbl.on_failure(t(36 * MIN), &n.id);
    }
    assert_eq!(status(&tbl, t(36 * MIN)), Status::Bad);
    tbl.on_response(t(37 * MIN), n, None);
    assert_eq!(
        status(&tbl, t(37 * MIN)),
        Status::Good,
        "an answer clears failures"
    );
}

#[test]
fn a_query_cannot_change_an_addresses_id_but_a_fresh_response_can() {
    let mut tbl = table();
    let n = node(id_at(0, 1), 1);
    tbl.on_response(t(0), n, None);
    let impostor = Node {
        id: id_at(3, 9),
        addr: n.addr,
    };
    assert!(!tbl.on_query(t(1), impostor));
    assert!(tbl.get(&n.id).is_some() && tbl.get(&impostor.id).is_none());
    assert_eq!(tbl.on_response(t(2), impostor, None), Insert::Added);
    assert!(tbl.get(&n.id).is_none(), "the address's old id is gone");
}

#[test]
fn an_id_held_by_a_good_node_elsewhere_is_refused() {
    let mut tbl = table();
    let n = node(id_at(0, 1), 1);
    tbl.on_response(t(0), n, None);
    let moved = node(n.id, 2);
    assert_eq!(
        tbl.on_response(t(1), moved, None),
        Insert::Rejected(Rejection::IdInUse)
    );
    // Once the original is questionable, the id may move.
    assert_eq!(tbl.on_response(t(20 * MIN), moved, None), Insert::Added);
    assert_eq!(tbl.get(&n.id).unwrap().addr(), moved.addr);
}

#[test]
fn rtt_is_smoothed_across_responses() {
    let mut tbl = table();
    let n = node(id_at(0, 1), 1);
    tbl.on_response(t(0), n, Some(Duration::from_millis(100)));
    tbl.on_response(t(1), n, Some(Duration::from_millis(900)));
    assert_eq!(
        tbl.get(&n.id).unwrap().rtt(),
        Some(Duration::from_millis(200))
    );
}

#[test]
fn quiet_buckets_need_refresh_with_a_target_inside_them() {
    let mut tbl = table();
    full_far_bucket(&mut tbl, t(0));
    assert_eq!(tbl.buckets_to_refresh(t(14 * MIN)).count(), 0);
    let stale: Vec<usize> = tbl.buckets_to_refresh(t(15 * MIN)).collect();
    assert_eq!(stale.len(), tbl.bucket_count());
    assert_eq!(tbl.next_refresh(), Some(t(15 * MIN)));
    for (i, entropy) in [(0usize, [0xffu8; 20]), (0, [0u8; 20]), (1, [0x55; 20])] {
        let target = tbl.refresh_target(i, entropy);
        let lands_in = tbl.closest::<1>(&target, Liveness::Any, t(0));
        assert!(!lands_in.is_empty());
        let prefix = target.as_bytes().iter().take_while(|b| **b == 0).count() * 8
            + target
                .as_bytes()
                .iter()
                .find(|b| **b != 0)
                .map_or(0, |b| b.leading_zeros() as usize);
        if i + 1 < tbl.bucket_count() {
            assert_eq!(prefix, i, "target {target:?} is in bucket {i}");
        } else {
            assert!(prefix >= i);
        }
    }
    tbl.mark_refreshed(t(15 * MIN), 0);
    assert!(!tbl.buckets_to_refresh(t(15 * MIN)).any(|b| b == 0));
}

#[test]
fn the_next_node_to_ping_is_the_stalest_questionable_one() {
    let mut tbl = table();
    tbl.on_response(t(0), node(id_at(0, 1), 1), None);
    tbl.on_response(t(MIN), node(id_at(1, 1), 2), None);
    assert_eq!(tbl.next_to_ping(t(10 * MIN)), None, "all good");
    let first = tbl.next_to_ping(t(17 * MIN)).unwrap();
    assert_eq!(first.id, id_at(0, 1));
    tbl.on_ping_sent(t(17 * MIN), &first.id);
    assert_eq!(tbl.next_to_ping(t(17 * MIN)).unwrap().id, id_at(1, 1));
}

#[test]
fn the_home_bucket_stops_splitting_at_max_buckets() {
    let mut cfg = RoutingConfig::default();
    cfg.max_buckets = 3;
    cfg.replacement_cache = 2;
    let mut tbl = RoutingTable::new(OWN, Family::V4, cfg);
    // Eight nodes at each depth 0..6: without the cap the table would split six times.
    let mut n = 0;
    for depth in 0..6 {
        for i in 0..8 {
            n += 1;
            tbl.on_response(t(0), node(id_at(depth, i), n), None);
        }
    }
    assert_eq!(tbl.bucket_count(), 3);
    // Buckets 0 and 1 hold the nodes at depths 0 and 1; the home bucket, all 32 deeper
    // ones: 8 entries and 2 cached.
    assert_eq!(tbl.len(), 3 * 8);
    assert_eq!(tbl.cached_len(), 2);
    assert!(
        !tbl.wants(&id_at(100, 0)),
        "a full home bucket at the cap wants no more"
    );
}

#[test]
fn wide_far_buckets_hold_more_nodes() {
    let mut cfg = RoutingConfig::default();
    cfg.bucket_sizing = BucketSizing::WideFar;
    let mut tbl = RoutingTable::new(OWN, Family::V4, cfg);
    for i in 0..200u32 {
        let mut b = [0u8; 20];
        b[0] = 0x80 | (i as u8 & 0x7f);
        b[1] = (i >> 7) as u8;
        tbl.on_response(t(0), node(Id::from_bytes(b), i), None);
    }
    assert_eq!(tbl.bucket_sizes().next().unwrap().0, 128);
}

fn common_prefix(a: &Id, b: &Id) -> usize {
    let mut n = 0;
    for (x, y) in a.as_bytes().iter().zip(b.as_bytes()) {
        if x != y {
            return n + (x ^ y).leading_zeros() as usize;
        }
        n += 8;
    }
    n
}

fn xor(a: &Id, b: &Id) -> [u8; 20] {
    std::array::from_fn(|i| a.as_bytes()[i] ^ b.as_bytes()[i])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn table_invariants_hold_under_random_operations(
        own in any::<[u8; 20]>(),
        ops in proptest::collection::vec((any::<[u8; 20]>(), 0u32..400, 0u8..4, 0u64..60), 1..600),
    ) {
        let own = Id::from_bytes(own);
        let mut tbl = RoutingTable::new(own, Family::V4, RoutingConfig::default());
        for (id, ip, op, minute) in ops {
            let n = node(Id::from_bytes(id), ip);
            let now = t(minute * MIN);
            match op {
                0 | 1 => { tbl.on_response(now, n, None); }
                2 => { tbl.on_failure(now, &n.id); }
                _ => { tbl.on_query(now, n); }
            }
        }
        let last = tbl.bucket_count() - 1;
        let mut ids = std::collections::HashSet::new();
        let mut ips = std::collections::HashSet::new();
        for (i, bucket) in tbl.buckets().enumerate() {
            prop_assert!(bucket.len() <= 8, "bucket {} over capacity", i);
            for e in bucket {
                let cpl = common_prefix(&own, e.id());
                // Bucket ranges partition the id space.
                if i == last { prop_assert!(cpl >= i) } else { prop_assert_eq!(cpl, i) }
                prop_assert!(ids.insert(*e.id()), "duplicate id");
                prop_assert!(ips.insert(e.addr().ip()), "duplicate ip");
            }
        }
        prop_assert!(tbl.bucket_sizes().all(|(_, c)| c <= 8));
    }

    #[test]
    fn closest_equals_a_brute_force_sort(
        own in any::<[u8; 20]>(),
        ids in proptest::collection::vec(any::<[u8; 20]>(), 0..300),
        targets in proptest::collection::vec(any::<[u8; 20]>(), 1..8),
    ) {
        let own = Id::from_bytes(own);
        let mut tbl = RoutingTable::new(own, Family::V4, RoutingConfig::default());
        for (i, id) in ids.iter().enumerate() {
            tbl.on_response(t(0), node(Id::from_bytes(*id), i as u32), None);
        }
        let mut targets: Vec<Id> = targets.into_iter().map(Id::from_bytes).collect();
        targets.push(own);
        targets.extend(ids.iter().take(3).map(|b| Id::from_bytes(*b)));
        for target in targets {
            let got: Vec<Id> = tbl.closest::<8>(&target, Liveness::Any, t(0)).iter().map(|e| *e.id()).collect();
            let mut all: Vec<Id> = tbl.iter().map(|e| *e.id()).collect();
            all.sort_by_key(|id| xor(id, &target));
            all.truncate(8);
            prop_assert_eq!(got, all);
        }
    }
}

/// Secure nodes (BEP 42 ids for their address) whose ids start with bit 1, i.e. fall in
/// bucket 0 seen from OWN.
fn secure_far_nodes(n: usize, skip: u32) -> Vec<Node> {
    (skip..)
        .map(|i| {
            let a = addr(i);
            let mut entropy = [0x11u8; 20];
            entropy[19] = i as u8;
            Node {
                id: Id::secure(a.ip(), entropy),
                addr: a,
            }
        })
        .filter(|n| n.id.bit(0))
        .take(n)
        .collect()
}

#[test]
fn an_insecure_id_never_displaces_a_secure_entry() {
    let mut tbl = table();
    for i in 0..8 {
        tbl.on_response(t(0), node(id_at(100, i), 1000 + u32::from(i)), None);
    }
    let secure = secure_far_nodes(8, 0);
    for n in &secure {
        assert_eq!(tbl.on_response(t(0), *n, None), Insert::Added);
    }
    // All questionable now; an insecure newcomer gets no ping of a secure entry.
    let later = t(20 * MIN);
    let insecure = node(id_at(0, 77), 5000);
    assert!(!insecure.id.is_secure_for(insecure.addr.ip()));
    assert_eq!(tbl.on_response(later, insecure, None), Insert::Cached);
    // A secure newcomer does.
    let newcomer = secure_far_nodes(1, 9000)[0];
    assert!(matches!(
        tbl.on_response(later, newcomer, None),
        Insert::PingFirst { .. }
    ));
}

#[test]
fn requiring_secure_ids_refuses_insecure_ones() {
    let mut cfg = RoutingConfig::default();
    cfg.secure_ids = btdht::routing::SecureIds::Require;
    let mut tbl = RoutingTable::new(OWN, Family::V4, cfg);
    assert_eq!(
        tbl.on_response(t(0), node(id_at(0, 1), 1), None),
        Insert::Rejected(Rejection::InsecureId)
    );
    let secure = secure_far_nodes(1, 0)[0];
    assert_eq!(tbl.on_response(t(0), secure, None), Insert::Added);
}

/// `id` moved into bucket `depth` seen from `own`: `own`'s first `depth` bits, then the
/// opposite of `own`'s bit `depth` (depth 160 leaves `own` itself).
fn at_depth(own: &Id, mut id: [u8; 20], depth: usize) -> [u8; 20] {
    for b in 0..depth.min(160) {
        let (byte, mask) = (b / 8, 0x80u8 >> (b % 8));
        id[byte] = (id[byte] & !mask) | (own.as_bytes()[byte] & mask);
    }
    if depth < 160 {
        let (byte, mask) = (depth / 8, 0x80u8 >> (depth % 8));
        id[byte] = (id[byte] & !mask) | (!own.as_bytes()[byte] & mask);
    }
    id
}

/// The reference for `closest`: every entry passing `liveness`, sorted by XOR distance.
fn brute_force(
    tbl: &RoutingTable,
    target: &Id,
    liveness: Liveness,
    now: Instant,
    n: usize,
) -> Vec<Id> {
    let cfg = tbl.config();
    let mut all: Vec<Id> = tbl
        .iter()
        .filter(|e| {
            let s = e.status(now, cfg.quiet_period, cfg.max_failures);
            match liveness {
                Liveness::Any => true,
                Liveness::NotBad => s != Status::Bad,
                Liveness::Good => s == Status::Good,
                Liveness::Answering => e.failures() == 0,
            }
        })
        .map(|e| *e.id())
        .collect();
    all.sort_by_key(|id| xor(id, target));
    all.truncate(n);
    all
}

fn check_closest<const N: usize>(
    tbl: &RoutingTable,
    target: &Id,
    liveness: Liveness,
    now: Instant,
) -> Result<(), TestCaseError> {
    let got: Vec<Id> = tbl
        .closest::<N>(target, liveness, now)
        .iter()
        .map(|e| *e.id())
        .collect();
    prop_assert_eq!(
        got,
        brute_force(tbl, target, liveness, now, N),
        "N = {}, {:?}",
        N,
        liveness
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Deep buckets, wide far buckets (more entries than asked for in one bucket), ids
    /// sharing their first 64 bits (ties on the fast comparison), mixed liveness, and
    /// targets equal to our id, to entries' ids and next to them.
    #[test]
    fn closest_equals_a_brute_force_sort_in_every_shape(
        own in any::<[u8; 20]>(),
        shared in any::<[u8; 8]>(),
        wide in any::<bool>(),
        ops in proptest::collection::vec(
            (any::<[u8; 20]>(), 0usize..=160, 0u8..8, 0u8..6, 0u64..40),
            0..400,
        ),
        targets in proptest::collection::vec(any::<[u8; 20]>(), 1..6),
        later in 0u64..40,
    ) {
        let own = Id::from_bytes(own);
        let mut cfg = RoutingConfig::default();
        if wide {
            cfg.bucket_sizing = BucketSizing::WideFar;
        }
        let mut tbl = RoutingTable::new(own, Family::V4, cfg);
        let mut ids = Vec::new();
        for (i, (bytes, depth, kind, op, minute)) in ops.into_iter().enumerate() {
            let mut bytes = bytes;
            if kind == 0 {
                bytes[..8].copy_from_slice(&shared);
            }
            // Most ids are shallow (as on the Internet), some deep.
            let depth = if kind < 4 { depth % 12 } else { depth };
            let id = Id::from_bytes(at_depth(&own, bytes, depth));
            let n = node(id, i as u32 % 300);
            let now = t(minute * MIN);
            match op {
                0..=2 => { tbl.on_response(now, n, None); }
                3 | 4 => { tbl.on_failure(now, &ids.get(usize::from(bytes[19]) % ids.len().max(1)).copied().unwrap_or(id)); }
                _ => { tbl.on_query(now, n); }
            }
            ids.push(id);
        }
        let mut targets: Vec<Id> = targets.into_iter().map(Id::from_bytes).collect();
        targets.push(own);
        let mut near_own = *own.as_bytes();
        near_own[19] ^= 1;
        targets.push(Id::from_bytes(near_own));
        let mut shared_target = [0u8; 20];
        shared_target[..8].copy_from_slice(&shared);
        targets.push(Id::from_bytes(shared_target));
        for e in tbl.iter().take(4) {
            targets.push(*e.id());
            let mut next = *e.id().as_bytes();
            next[19] ^= 0x55;
            targets.push(Id::from_bytes(next));
        }
        let now = t(later * MIN);
        for target in &targets {
            for liveness in [Liveness::Any, Liveness::NotBad, Liveness::Good, Liveness::Answering] {
                check_closest::<0>(&tbl, target, liveness, now)?;
                check_closest::<1>(&tbl, target, liveness, now)?;
                check_closest::<3>(&tbl, target, liveness, now)?;
                check_closest::<8>(&tbl, target, liveness, now)?;
                check_closest::<32>(&tbl, target, liveness, now)?;
                check_closest::<200>(&tbl, target, liveness, now)?;
            }
        }
    }
}

#[test]
fn entries_that_failed_to_answer_are_handed_out_only_to_fill_an_answer() {
    let mut tbl = table();
    let now = t(1);
    // Twelve nodes at increasing distance from target OWN.
    let nodes: Vec<Node> = (0..12).map(|i| node(id_at(150 - i, 0), i as u32)).collect();
    for n in &nodes {
        tbl.on_response(now, *n, None);
    }
    // The two closest just failed to answer once.
    tbl.on_failure(now, &nodes[0].id);
    tbl.on_failure(now, &nodes[1].id);
    let handed: Vec<Id> = tbl
        .closest_to_hand_out::<8>(&OWN, now)
        .iter()
        .map(|e| *e.id())
        .collect();
    let want: Vec<Id> = nodes[2..10].iter().map(|n| n.id).collect();
    assert_eq!(handed, want, "the 8 closest that answered, closest first");
    let few: Vec<Id> = tbl
        .closest_to_hand_out::<12>(&OWN, now)
        .iter()
        .map(|e| *e.id())
        .collect();
    let all: Vec<Id> = nodes.iter().map(|n| n.id).collect();
    assert_eq!(
        few, all,
        "too few answering ones: failed ones fill up, in distance order"
    );
    // An answer clears the failure.
    tbl.on_response(t(2), nodes[0], None);
    let handed = tbl.closest_to_hand_out::<8>(&OWN, t(2));
    assert_eq!(handed.first().map(|e| *e.id()), Some(nodes[0].id));
}

#[test]
fn the_index_key_changes_no_decision() {
    // Two tables whose address indexes hash differently see the same responses (some
    // from known addresses with new ids, some sharing an IP) and failures.
    let mut cfg = RoutingConfig::default();
    cfg.max_per_ip = 2;
    let mut a = RoutingTable::new(OWN, Family::V4, cfg).with_index_key(1);
    let mut b = RoutingTable::new(OWN, Family::V4, cfg).with_index_key(0x9e37_79b9_7f4a_7c15);
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for step in 0..5000u64 {
        let r = next();
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(&next().to_be_bytes());
        // Ids near ours now and then, so the table splits deep.
        if r % 4 == 0 {
            id[0] = 0;
            id[1] = 0;
        }
        let ip = addr((r >> 8) as u32 % 700);
        let port = 6881 + (r >> 40) as u16 % 3;
        let n = Node {
            id: Id::from_bytes(id),
            addr: SocketAddr::new(ip.ip(), port),
        };
        let now = t(step * 1000);
        if r % 7 == 0 {
            let pick = (r >> 20) as usize % a.len().max(1);
            let victim = a.iter().nth(pick).map(|e| *e.id());
            if let Some(victim) = victim {
                assert_eq!(a.on_failure(now, &victim), b.on_failure(now, &victim));
            }
        }
        assert_eq!(
            a.on_response(now, n, None),
            b.on_response(now, n, None),
            "step {step}"
        );
        assert_eq!(a.knows_addr(&n.addr), b.knows_addr(&n.addr));
    }
    assert!(a.bucket_count() > 3);
    let entries = |t: &RoutingTable| t.iter().map(|e| e.node()).collect::<Vec<_>>();
    assert_eq!(entries(&a), entries(&b));
    assert_eq!(
        a.bucket_sizes().collect::<Vec<_>>(),
        b.bucket_sizes().collect::<Vec<_>>()
    );
}
