//! The lookup sub-machine: parallelism, soft timeouts, termination, bounds; and an
//! in-memory network where it must find the true closest nodes.

use btdht::Id;
use btdht::lookup::{Lookup, LookupConfig, SiblingProbe};
use btdht::routing::Node;
use btdht::time::Instant;
use proptest::prelude::*;
use std::net::SocketAddr;
use std::time::Duration;

fn node(b: u8, n: u16) -> Node {
    let mut id = [0u8; 20];
    id[0] = b;
    Node {
        id: Id::from_bytes(id),
        addr: SocketAddr::from(([1, 2, 3, 4], 1000 + n)),
    }
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn xor(a: &Id, b: &Id) -> [u8; 20] {
    std::array::from_fn(|i| a.as_bytes()[i] ^ b.as_bytes()[i])
}

#[test]
fn at_most_alpha_queries_are_active_at_once() {
    let mut cfg = LookupConfig::default();
    cfg.alpha = 3;
    let mut l = Lookup::new(Id::default(), 8, cfg, t(0));
    l.add_candidates((1..=10).map(|i| node(i, i.into())));
    let sent: Vec<_> = std::iter::from_fn(|| l.next_query(t(0))).collect();
    assert_eq!(sent, [node(1, 1), node(2, 2), node(3, 3)], "closest first");
}

#[test]
fn a_soft_timeout_frees_the_slot_and_a_late_answer_still_counts() {
    let mut cfg = LookupConfig::default();
    (cfg.alpha, cfg.soft_timeout, cfg.attempts) = (3, Duration::from_secs(1), 1);
    let mut l = Lookup::new(Id::default(), 8, cfg, t(0));
    l.add_candidates((1..=5).map(|i| node(i, i.into())));
    for _ in 0..3 {
        l.next_query(t(0)).unwrap();
    }
    assert_eq!(l.next_query(t(999)), None);
    assert_eq!(l.next_deadline(), Some(t(1000)));
    assert_eq!(
        l.next_query(t(1000)),
        Some(node(4, 4)),
        "slots freed at the soft timeout"
    );
    assert_eq!(l.stats().soft_timeouts, 3);
    l.on_response(t(1500), &node(1, 1), [], None);
    assert_eq!(l.stats().responses, 1);
    assert_eq!(l.closest_answered().next().unwrap().0, node(1, 1));
}

#[test]
fn it_finishes_when_the_k_closest_have_answered() {
    let mut cfg = LookupConfig::default();
    cfg.sibling_probe = SiblingProbe::Off;
    let k = 2;
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates((1..=5).map(|i| node(i, i.into())));
    let a = l.next_query(t(0)).unwrap();
    let b = l.next_query(t(0)).unwrap();
    let c = l.next_query(t(0)).unwrap();
    l.on_response(t(1), &b, [], None);
    l.on_response(t(1), &c, [], None);
    assert!(!l.is_finished(), "a closer node is still pending");
    l.on_response(t(2), &a, [], None);
    assert!(l.is_finished());
    assert_eq!(l.next_query(t(2)), None, "nothing farther needs asking");
    assert_eq!(l.pending(), 0);
}

#[test]
fn failed_nodes_are_skipped_and_farther_ones_asked_instead() {
    let mut cfg = LookupConfig::default();
    cfg.sibling_probe = SiblingProbe::Off;
    let k = 2;
    cfg.alpha = 1;
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates((1..=4).map(|i| node(i, i.into())));
    let first = l.next_query(t(0)).unwrap();
    l.on_failure(&first);
    let second = l.next_query(t(0)).unwrap();
    assert_eq!(second, node(2, 2));
    l.on_response(t(1), &second, [], None);
    let third = l.next_query(t(1)).unwrap();
    l.on_response(t(2), &third, [], None);
    assert!(l.is_finished());
    assert_eq!(l.stats().failures, 1);
}

#[test]
fn answers_add_closer_nodes_and_duplicates_are_ignored() {
    let mut l = Lookup::new(Id::default(), 8, LookupConfig::default(), t(0));
    l.add_candidates([node(100, 1)]);
    let first = l.next_query(t(0)).unwrap();
    l.on_response(
        t(1),
        &first,
        [node(5, 2), node(5, 2), node(100, 1)],
        Some(b"tok"),
    );
    assert_eq!(l.next_query(t(1)), Some(node(5, 2)));
    assert_eq!(l.next_query(t(1)), None);
    let (n, token) = l.closest_answered().next().unwrap();
    assert_eq!((n, token), (node(100, 1), Some(&b"tok"[..])));
}

#[test]
fn candidates_are_bounded_and_farther_ones_give_way() {
    let mut cfg = LookupConfig::default();
    cfg.max_candidates = 4;
    cfg.alpha = 3;
    let mut l = Lookup::new(Id::default(), 8, cfg, t(0));
    l.add_candidates((10..=20).rev().map(|i| node(i, i.into())));
    l.add_candidates([node(1, 1)]);
    let sent: Vec<_> = std::iter::from_fn(|| l.next_query(t(0))).collect();
    assert_eq!(sent, [node(1, 1), node(10, 10), node(11, 11)]);
}

#[test]
fn overlong_tokens_are_not_stored() {
    let mut l = Lookup::new(Id::default(), 8, LookupConfig::default(), t(0));
    l.add_candidates([node(1, 1)]);
    let n = l.next_query(t(0)).unwrap();
    l.on_response(t(0), &n, [], Some(&[7u8; 65]));
    assert_eq!(l.closest_answered().next().unwrap().1, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every node knows the 8 nodes closest to any target among the nodes it "knows"
    /// (its own 8 closest neighbours plus a random sample): the lookup must converge on
    /// the true 8 closest of the whole network.
    #[test]
    fn a_lookup_in_a_full_knowledge_network_finds_the_true_closest(
        ids in proptest::collection::hash_set(any::<[u8; 20]>(), 40..300),
        target in any::<[u8; 20]>(),
        seed_count in 1usize..5,
        drop_every in 0usize..6,
    ) {
        let nodes: Vec<Node> = ids.iter().enumerate()
            .map(|(i, b)| Node { id: Id::from_bytes(*b), addr: SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 6881)) })
            .collect();
        let target = Id::from_bytes(target);
        let closest_to = |t: &Id, n: usize| {
            let mut v = nodes.clone();
            v.sort_by_key(|x| xor(&x.id, t));
            v.truncate(n);
            v
        };
        let mut l = Lookup::new(target, 8, LookupConfig::default(), t(0));
        l.add_candidates(nodes.iter().take(seed_count).copied());
        let mut now = 0;
        let mut guard = 0;
        while !l.is_finished() && guard < 10_000 {
            guard += 1;
            now += 10;
            let mut batch = Vec::new();
            while let Some(q) = l.next_query(t(now)) { batch.push(q); }
            // The sibling probe: answered with the nodes closest to its target.
            while let Some((q, probe)) = l.next_probe(t(now)) {
                l.on_response(t(now), &q, closest_to(&probe, 8), None);
            }
            if batch.is_empty() { now += 1000; continue; }
            for (i, q) in batch.into_iter().enumerate() {
                // Some nodes are dead (never answer; the hard timeout reports them),
                // but never the ones we must find.
                let dead = drop_every > 0 && i % drop_every == 1 && !closest_to(&target, 8).contains(&q);
                if dead { l.on_failure(&q); continue; }
                l.on_response(t(now), &q, closest_to(&target, 8).into_iter().chain(closest_to(&q.id, 8)), None);
            }
        }
        prop_assert!(l.is_finished());
        let found: Vec<Node> = l.closest_answered().map(|(n, _)| n).collect();
        prop_assert_eq!(found, closest_to(&target, 8));
    }
}

#[test]
fn time_going_backwards_does_not_break_soft_timeouts() {
    let cfg = LookupConfig::default();
    let mut l = Lookup::new(Id::default(), 8, cfg, t(5000));
    l.add_candidates([node(1, 1)]);
    l.next_query(t(5000)).unwrap();
    assert_eq!(l.next_query(t(0)), None);
    assert_eq!(l.next_deadline(), Some(t(5000) + cfg.soft_timeout));
}

#[test]
fn an_unanswered_query_is_resent_until_the_attempts_run_out_then_given_up() {
    let mut cfg = LookupConfig::default();
    cfg.sibling_probe = SiblingProbe::Off;
    let k = 1;
    (cfg.alpha, cfg.soft_timeout, cfg.attempts) = (1, Duration::from_millis(100), 3);
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates([node(1, 1), node(2, 2)]);
    assert_eq!(l.next_query(t(0)), Some(node(1, 1)));
    assert_eq!(
        l.next_query(t(99)),
        None,
        "the slot is held until the soft timeout"
    );
    assert_eq!(
        l.next_query(t(100)),
        Some(node(1, 1)),
        "second attempt, closest first"
    );
    assert_eq!(l.next_query(t(200)), Some(node(1, 1)), "third attempt");
    assert!(!l.is_finished(), "the closest node may still answer");
    assert_eq!(
        l.next_query(t(300)),
        Some(node(2, 2)),
        "given up: the next one is asked"
    );
    assert_eq!(l.stats().queries, 4);
    assert_eq!(l.stats().soft_timeouts, 3);
    l.on_response(t(310), &node(1, 1), [], None);
    assert!(
        l.is_finished(),
        "a late answer from a node given up on still counts"
    );
    assert_eq!(l.closest_answered().next().unwrap().0, node(1, 1));
}

#[test]
fn a_node_given_up_on_does_not_hold_the_lookup() {
    let mut cfg = LookupConfig::default();
    cfg.sibling_probe = SiblingProbe::Off;
    let k = 1;
    (cfg.alpha, cfg.soft_timeout, cfg.attempts) = (2, Duration::from_millis(100), 2);
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates([node(1, 1), node(2, 2)]);
    let silent = l.next_query(t(0)).unwrap();
    let other = l.next_query(t(0)).unwrap();
    l.on_response(t(50), &other, [], None);
    assert!(!l.is_finished());
    assert_eq!(l.next_query(t(100)), Some(silent));
    assert_eq!(l.next_query(t(200)), None);
    assert!(l.is_finished(), "both attempts passed their soft timeout");
    assert_eq!(l.closest_answered().next().unwrap().0, other);
}

#[test]
fn a_node_only_one_answer_vouched_for_gets_two_attempts_two_answers_get_all() {
    let mut cfg = LookupConfig::default();
    let k = 8;
    (cfg.alpha, cfg.soft_timeout, cfg.attempts) = (8, Duration::from_millis(100), 3);
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates([node(200, 1), node(201, 2)]);
    let (a, b) = (l.next_query(t(0)).unwrap(), l.next_query(t(0)).unwrap());
    // `a` lists two nodes; `b` lists one of them again.
    l.on_response(t(1), &a, [node(5, 10), node(6, 11)], None);
    l.on_response(t(1), &b, [node(5, 10)], None);
    assert_eq!(l.next_query(t(1)), Some(node(5, 10)));
    assert_eq!(l.next_query(t(1)), Some(node(6, 11)));
    // Both time out twice: only the node two answers listed gets a third attempt.
    assert_eq!(l.next_query(t(101)), Some(node(5, 10)));
    assert_eq!(l.next_query(t(101)), Some(node(6, 11)), "second attempt");
    assert_eq!(l.next_query(t(201)), Some(node(5, 10)), "third attempt");
    assert_eq!(
        l.next_query(t(201)),
        None,
        "node 6 was vouched for once: given up after two"
    );
}

/// A node closer to target 0 than any of `node(1..)`, that will never answer.
fn dead() -> Node {
    let mut id = [0u8; 20];
    id[1] = 0x80;
    Node {
        id: Id::from_bytes(id),
        addr: SocketAddr::from(([1, 2, 3, 6], 9)),
    }
}

/// Ten nodes at increasing distance from target 0 (first byte 1..=10), with `k` and
/// `rounds` probe rounds, after the closest candidate, [`dead`], failed: the sign that
/// answers list dead entries, which the probe waits for.
fn probed_lookup(k: usize, rounds: u8) -> Lookup {
    let mut cfg = LookupConfig::default();
    (cfg.alpha, cfg.soft_timeout, cfg.attempts) = (8, Duration::from_millis(100), 2);
    cfg.sibling_probe = SiblingProbe::Rounds(rounds);
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates([dead()]);
    l.add_candidates((1..=10).map(|i| node(i, i.into())));
    assert_eq!(l.next_query(t(0)), Some(dead()));
    l.on_failure(&dead());
    l
}

/// The id whose first byte is `b`, the rest zero.
fn id(b: u8) -> Id {
    node(b, 0).id
}

/// Every probe the lookup would send at `now`.
fn probes(l: &mut Lookup, now: Instant) -> Vec<(Node, Id)> {
    std::iter::from_fn(|| l.next_probe(now)).collect()
}

#[test]
fn the_probe_waits_until_k_candidates_are_asked_and_half_of_them_answered() {
    let mut l = probed_lookup(4, 1);
    assert_eq!(
        l.next_probe(t(0)),
        None,
        "not while the k closest are unasked"
    );
    let asked: Vec<Node> = (0..4).map(|_| l.next_query(t(0)).unwrap()).collect();
    l.on_response(t(1), &asked[0], [], None);
    assert_eq!(l.next_probe(t(1)), None, "one answer of four is not half");
    l.on_response(t(1), &asked[1], [], None);
    assert!(l.next_probe(t(1)).is_some(), "two of four answered");
}

#[test]
fn a_round_asks_for_the_boundary_subtree_the_next_one_out_and_the_kth_node() {
    let mut l = probed_lookup(4, 1);
    let asked: Vec<Node> = (0..4).map(|_| l.next_query(t(0)).unwrap()).collect();
    for n in &asked {
        l.on_response(t(1), n, [], None);
    }
    assert!(!l.is_finished(), "the probe round is due");
    // The 4th closest, 0x04…, differs from the target 0x00… first at bit 5: the round
    // asks for 0x04… (that subtree), 0x08… (bit 4, the next one out) and the 4th node's
    // own id, each of the answered node closest to it, no node twice.
    assert_eq!(
        probes(&mut l, t(1)),
        [
            (node(4, 4), id(0x04)),
            (node(1, 1), id(0x08)),
            (node(2, 2), id(0x04)),
        ]
    );
    assert!(!l.is_finished(), "the round is open");
    for (n, _) in [node(4, 4), node(1, 1), node(2, 2)].iter().zip(0..) {
        l.on_response(t(2), n, [], None);
    }
    assert!(l.is_finished(), "the round is answered and no other is due");
    assert_eq!(l.stats().queries, 8, "5 lookup queries and 3 probes");
}

#[test]
fn a_probe_waits_for_a_node_inside_its_subtree_that_is_still_being_queried() {
    let mut l = probed_lookup(2, 1);
    let (a, b) = (l.next_query(t(0)).unwrap(), l.next_query(t(0)).unwrap());
    assert_eq!((a, b), (node(1, 1), node(2, 2)));
    l.on_response(t(1), &a, [], None);
    // The boundary is 0x02… (bit 6). Node 2 lies in that subtree and has not answered:
    // the probe for it waits, the one for the subtree at bit 5 goes to node 1.
    assert_eq!(probes(&mut l, t(1)), [(a, id(0x04))]);
    l.on_response(t(2), &b, [], None);
    assert_eq!(
        probes(&mut l, t(2)),
        [(b, id(0x02))],
        "node 2 answered: asked"
    );
}

#[test]
fn the_lookup_waits_for_its_probe_and_queries_what_the_probe_answer_lists() {
    let mut l = probed_lookup(2, 1);
    let (a, b) = (l.next_query(t(0)).unwrap(), l.next_query(t(0)).unwrap());
    l.on_response(t(1), &a, [], None);
    l.on_response(t(1), &b, [], None);
    assert!(!l.is_finished(), "the probe has not been sent");
    assert_eq!(probes(&mut l, t(1)), [(b, id(0x02)), (a, id(0x04))]);
    // A node closer than the 2nd closest shows up only in a probe answer.
    let mut hidden_id = [0u8; 20];
    hidden_id[1] = 1;
    let hidden = Node {
        id: Id::from_bytes(hidden_id),
        addr: SocketAddr::from(([1, 2, 3, 5], 9)),
    };
    l.on_response(t(2), &b, [hidden], None);
    assert_eq!(l.next_query(t(2)), Some(hidden));
    l.on_response(t(3), &hidden, [], None);
    assert!(!l.is_finished(), "the other probe is still open");
    let found: Vec<Node> = l.closest_answered().map(|(n, _)| n).collect();
    assert_eq!(found, vec![hidden, a]);
}

#[test]
fn an_unanswered_probe_is_resent_after_the_soft_timeout_then_given_up() {
    let mut l = probed_lookup(1, 1);
    let a = l.next_query(t(0)).unwrap();
    l.on_response(t(1), &a, [], None);
    // k = 1: the boundary is node 1 itself (bit 7); only node 1 has answered, so only
    // one probe can go out.
    assert_eq!(probes(&mut l, t(1)), [(a, id(0x01))]);
    assert_eq!(l.next_deadline(), Some(t(101)));
    assert_eq!(probes(&mut l, t(100)), [], "held until the soft timeout");
    assert_eq!(probes(&mut l, t(101)), [(a, id(0x01))], "second attempt");
    assert!(!l.is_finished());
    assert_eq!(probes(&mut l, t(201)), [], "attempts are 2: given up");
    assert!(l.is_finished());
    assert_eq!(l.stats().soft_timeouts, 2);
}

#[test]
fn a_new_round_starts_when_give_ups_move_the_boundary_out_and_rounds_are_bounded() {
    for (rounds, expected) in [(1, 0), (2, 2)] {
        let mut cfg = LookupConfig::default();
        let k = 2;
        (cfg.alpha, cfg.soft_timeout, cfg.attempts) = (8, Duration::from_millis(100), 1);
        cfg.sibling_probe = SiblingProbe::Rounds(rounds);
        let mut l = Lookup::new(Id::default(), k, cfg, t(0));
        l.add_candidates([dead(), node(0x01, 1), node(0x02, 2), node(0x40, 3)]);
        l.next_query(t(0)).unwrap();
        l.on_failure(&dead());
        let (a, _silent) = (l.next_query(t(0)).unwrap(), l.next_query(t(0)).unwrap());
        l.on_response(t(1), &a, [], None);
        // Round 1: the boundary is 0x02… (bit 6); the probe for bit 6 waits for node 2.
        assert_eq!(probes(&mut l, t(1)), [(a, id(0x04))]);
        l.on_response(t(2), &a, [], None);
        // Node 2 never answers and is given up: the 2nd closest live one is now 0x40…,
        // whose subtree (bit 1) lies past every bit asked about.
        assert_eq!(l.next_query(t(100)), Some(node(0x40, 3)));
        l.on_response(t(101), &node(0x40, 3), [], None);
        // Round 1's waiting probe goes out now, to the answered node not yet asked.
        assert_eq!(probes(&mut l, t(101)), [(node(0x40, 3), id(0x02))]);
        l.on_response(t(102), &node(0x40, 3), [], None);
        let second = probes(&mut l, t(102));
        assert_eq!(second.len(), expected, "rounds: {rounds}: {second:?}");
        if expected > 0 {
            assert_eq!(
                second,
                [(node(0x40, 3), id(0x40)), (a, id(0x80))],
                "the new boundary's subtree (bit 1) and the next one out (bit 0)"
            );
        }
        assert_eq!(l.is_finished(), expected == 0);
    }
}

#[test]
fn a_lookup_where_nothing_failed_or_lagged_ends_without_a_probe() {
    let mut cfg = LookupConfig::default();
    let k = 2;
    (cfg.alpha, cfg.soft_timeout) = (8, Duration::from_millis(100));
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates((1..=4).map(|i| node(i, i.into())));
    let (a, b) = (l.next_query(t(0)).unwrap(), l.next_query(t(0)).unwrap());
    l.on_response(t(1), &a, [], None);
    assert_eq!(probes(&mut l, t(1)), []);
    // One missed soft timeout is the long tail of latency, not a sign of dead entries.
    assert_eq!(l.next_query(t(100)), Some(b));
    assert_eq!(probes(&mut l, t(100)), []);
    l.on_response(t(150), &b, [], None);
    assert!(l.is_finished());
    assert_eq!(l.stats().queries, 3);
}

#[test]
fn a_node_that_missed_two_soft_timeouts_sets_the_probe_off() {
    let mut cfg = LookupConfig::default();
    let k = 2;
    (cfg.alpha, cfg.soft_timeout) = (8, Duration::from_millis(100));
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates((1..=4).map(|i| node(i, i.into())));
    let (a, b) = (l.next_query(t(0)).unwrap(), l.next_query(t(0)).unwrap());
    l.on_response(t(1), &a, [], None);
    assert_eq!(l.next_query(t(100)), Some(b));
    assert_eq!(l.next_query(t(200)), Some(b), "third attempt");
    // Node 2 (bit 6) has not answered: the probe for its subtree waits for it.
    assert_eq!(probes(&mut l, t(200)), [(a, id(0x04))]);
}

#[test]
fn a_failed_probe_does_not_fail_the_node_that_answered_the_lookup() {
    let mut l = probed_lookup(1, 1);
    let a = l.next_query(t(0)).unwrap();
    l.on_response(t(1), &a, [], None);
    assert_eq!(probes(&mut l, t(1)), [(a, id(0x01))]);
    l.on_failure(&a);
    assert!(l.is_finished());
    assert_eq!(l.closest_answered().next().map(|(n, _)| n), Some(a));
}

#[test]
fn with_the_probe_off_a_lookup_never_probes() {
    let mut cfg = LookupConfig::default();
    let k = 1;
    cfg.sibling_probe = SiblingProbe::Off;
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates([node(1, 1)]);
    let a = l.next_query(t(0)).unwrap();
    l.on_response(t(1), &a, [], None);
    assert_eq!(l.next_probe(t(1)), None);
    assert!(l.is_finished());
}

#[test]
fn hops_count_the_longest_chain_of_answers_to_the_closest_answered_nodes() {
    let mut cfg = LookupConfig::default();
    let k = 2;
    (cfg.alpha, cfg.sibling_probe) = (1, SiblingProbe::Off);
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    assert_eq!(l.stats().hops, 0, "nothing answered yet");
    l.add_candidates([node(40, 1), node(50, 2)]);
    let a = l.next_query(t(0)).unwrap();
    assert_eq!(a, node(40, 1));
    // a (hop 1) lists b; b (hop 2) lists c; c (hop 3) lists nothing.
    l.on_response(t(1), &a, [node(20, 3)], None);
    assert_eq!(l.stats().hops, 1, "the starting node answered");
    let b = l.next_query(t(1)).unwrap();
    assert_eq!(b, node(20, 3));
    l.on_response(t(2), &b, [node(10, 4)], None);
    let c = l.next_query(t(2)).unwrap();
    assert_eq!(c, node(10, 4));
    l.on_response(t(3), &c, [], None);
    assert!(l.is_finished());
    assert_eq!(
        l.stats().hops,
        3,
        "c was found through a then b, and is among the 2 closest"
    );
}

#[test]
fn a_node_listed_again_by_a_shallower_answer_keeps_the_shorter_chain() {
    let mut cfg = LookupConfig::default();
    let k = 1;
    (cfg.alpha, cfg.sibling_probe) = (2, SiblingProbe::Off);
    let mut l = Lookup::new(Id::default(), k, cfg, t(0));
    l.add_candidates([node(40, 1), node(50, 2)]);
    let a = l.next_query(t(0)).unwrap();
    let b = l.next_query(t(0)).unwrap();
    // a lists c at depth 1; c, asked, lists d at depth 2; then b (depth 0) lists d too.
    l.on_response(t(1), &a, [node(30, 3)], None);
    let c = l.next_query(t(1)).unwrap();
    l.on_response(t(2), &c, [node(5, 4)], None);
    l.on_response(t(2), &b, [node(5, 4)], None);
    let d = l.next_query(t(2)).unwrap();
    assert_eq!(d, node(5, 4));
    l.on_response(t(3), &d, [], None);
    assert!(l.is_finished());
    assert_eq!(l.stats().hops, 2, "d was one answer away from the start");
}
