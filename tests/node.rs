//! Several `Dht`s wired together in memory (a minimal loop; the simulator is its own
//! module): serving, bootstrapping, lookups and the node's defences.

mod common;

use btdht::Id;
use btdht::addr::Family;
use btdht::krpc::{Body, ErrorCode, Message, QueryKind};
use btdht::node::{Dht, Event, Mode};
use btdht::time::Instant;
use common::net::{Net, addr, ask, config};
use std::time::Duration;

#[test]
fn a_ping_is_answered_and_the_answerer_enters_the_table() {
    let mut net = Net::new(2, |_| config());
    let now = net.now;
    let q = net.dht(0).ping(now, addr(1)).unwrap();
    net.run(Duration::from_millis(100));
    assert!(
        net.events[0]
            .iter()
            .any(|e| matches!(e, Event::Pong { query, .. } if *query == q))
    );
    assert_eq!(net.dht(0).stats().nodes(), 1);
    // Node 1 verified its unknown querier with a ping of its own before adding it.
    assert_eq!(net.dht(1).stats().nodes(), 1);
}

#[test]
fn a_querier_that_does_not_answer_our_ping_never_enters_the_table() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let ping = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert_eq!(
        ask(&mut dht, Instant::from_millis(1), addr(5), ping).len(),
        1
    );
    dht.handle_timeout(Instant::from_millis(60_000));
    assert_eq!(dht.stats().nodes(), 0);
    assert_eq!(dht.stats().timeouts, 1, "the verification ping timed out");
}

#[test]
fn fifty_nodes_bootstrap_off_one_and_find_each_other() {
    let mut net = Net::new(50, |_| config());
    let now = net.now;
    for i in 1..50 {
        net.dht(i).bootstrap(now, &[addr(0)]).unwrap();
        net.run(Duration::from_millis(200));
    }
    net.run(Duration::from_secs(30));
    for i in 1..50 {
        assert!(
            net.events[i]
                .iter()
                .any(|e| matches!(e, Event::Bootstrapped { .. })),
            "node {i} bootstrapped"
        );
        assert!(
            net.dht(i).stats().nodes() >= 8,
            "node {i} knows {} nodes",
            net.dht(i).stats().nodes()
        );
    }
    // A lookup from a fresh corner finds the node closest to the target.
    let target = *net.nodes[17].1.id();
    let now = net.now;
    let q = net.dht(33).find_node(now, target).unwrap();
    net.run(Duration::from_secs(10));
    assert!(
        net.events[33]
            .iter()
            .any(|e| matches!(e, Event::LookupDone { query, .. } if *query == q))
    );
    let info = net.dht(33).query(q).unwrap();
    assert_eq!(info.closest().next().unwrap().0.id, target);
}

#[test]
fn an_announce_with_a_bad_token_gets_error_203() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let from = addr(9);
    let q = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token4:nopee1:q13:announce_peer1:t2:xx1:y1:qe";
    let out = ask(&mut dht, Instant::from_millis(1), from, q);
    let m = Message::decode(&out[0]).unwrap();
    assert_eq!(m.transaction_id, b"xx");
    assert!(matches!(m.body, Body::Error(e) if e.code == ErrorCode::Protocol));
}

#[test]
fn a_token_from_get_peers_is_accepted_by_announce() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let from = addr(9);
    let gp = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:g11:y1:qe";
    let out = ask(&mut dht, Instant::from_millis(1), from, gp);
    let m = Message::decode(&out[0]).unwrap();
    let Body::Response(r) = m.body else {
        panic!("{m:?}")
    };
    let token = r.token.unwrap().to_vec();
    let mut ann = b"d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti0e5:token".to_vec();
    ann.extend(format!("{}:", token.len()).as_bytes());
    ann.extend(&token);
    ann.extend(b"e1:q13:announce_peer1:t2:a11:y1:qe");
    let out = ask(&mut dht, Instant::from_millis(2), from, &ann);
    let m = Message::decode(&out[0]).unwrap();
    assert!(matches!(m.body, Body::Response(_)), "{m:?}");
    assert_eq!(
        m.ip,
        Some(from),
        "responses carry the requester's address (BEP 42)"
    );
}

#[test]
fn an_unknown_method_gets_error_204_and_a_malformed_query_203() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let out = ask(
        &mut dht,
        Instant::from_millis(1),
        addr(3),
        b"d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:zz1:y1:qe",
    );
    let m = Message::decode(&out[0]).unwrap();
    assert!(matches!(m.body, Body::Error(e) if e.code == ErrorCode::MethodUnknown));
    let out = ask(
        &mut dht,
        Instant::from_millis(1),
        addr(3),
        b"d1:ad2:id3:abce1:q4:ping1:t2:zz1:y1:qe",
    );
    let m = Message::decode(&out[0]).unwrap();
    assert_eq!(m.transaction_id, b"zz");
    assert!(matches!(m.body, Body::Error(e) if e.code == ErrorCode::Protocol));
    // Responses and errors are never answered.
    assert!(
        ask(
            &mut dht,
            Instant::from_millis(1),
            addr(3),
            b"d1:rd2:id20:abcdefghij0123456789e1:t2:zz1:y1:re"
        )
        .is_empty()
    );
    assert!(
        ask(
            &mut dht,
            Instant::from_millis(1),
            addr(3),
            b"d1:eli201e3:bade1:t2:zz1:y1:ee"
        )
        .is_empty()
    );
    assert!(ask(&mut dht, Instant::from_millis(1), addr(3), b"garbage").is_empty());
}

#[test]
fn every_transaction_id_length_is_echoed() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    for len in [1usize, 2, 4, 6, 20] {
        let t = vec![b'q'; len];
        let mut q = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t".to_vec();
        q.extend(format!("{len}:").as_bytes());
        q.extend(&t);
        q.extend(b"1:y1:qe");
        let out = ask(&mut dht, Instant::from_millis(1), addr(len), &q);
        let m = Message::decode(&out[0]).unwrap();
        assert_eq!(m.transaction_id, &t[..], "length {len}");
    }
}

#[test]
fn a_response_from_another_port_is_ignored() {
    let mut net = Net::new(2, |_| config());
    let now = net.now;
    net.dht(0).ping(now, addr(1)).unwrap();
    let mut buf = [0u8; 1500];
    let t = net.dht(0).poll_transmit(now, &mut buf).unwrap();
    let query = Message::decode(&buf[..t.len]).unwrap();
    let mut reply = b"d1:rd2:id20:abcdefghij0123456789e1:t4:".to_vec();
    reply.extend(query.transaction_id);
    reply.extend(b"1:y1:re");
    let mut wrong = addr(1);
    wrong.set_port(9999);
    net.dht(0).handle_datagram(now, wrong, &reply);
    assert_eq!(net.dht(0).stats().nodes(), 0);
    assert_eq!(net.dht(0).stats().unmatched, 1);
    net.dht(0).handle_datagram(now, addr(1), &reply);
    assert_eq!(
        net.dht(0).stats().nodes(),
        1,
        "the same answer from the right address counts"
    );
}

#[test]
fn a_read_only_node_answers_nothing_and_never_enters_a_table() {
    let mut net = Net::new(2, |i| {
        let mut c = config();
        if i == 1 {
            c.mode = Mode::ReadOnly;
        }
        c
    });
    let now = net.now;
    net.dht(1).ping(now, addr(0)).unwrap();
    net.dht(0).ping(now, addr(1)).unwrap();
    net.run(Duration::from_secs(10));
    assert_eq!(
        net.dht(0).stats().nodes(),
        0,
        "the read-only node is not added"
    );
    assert_eq!(
        net.dht(1).stats().nodes(),
        1,
        "the read-only node still learns"
    );
    assert!(
        net.events[0]
            .iter()
            .any(|e| matches!(e, Event::PingTimeout { .. }))
    );
    assert!(net.dht(1).stats().ignored_read_only >= 1);
}

#[test]
fn a_flooding_source_is_rate_limited() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let ping = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    let answered: usize = (0..200)
        .map(|_| ask(&mut dht, Instant::from_millis(5), addr(1), ping).len())
        .sum();
    assert_eq!(answered, 40, "the burst, then nothing");
    assert_eq!(dht.stats().rate_limited, 160);
    assert_eq!(
        ask(&mut dht, Instant::from_millis(5), addr(2), ping).len(),
        1,
        "others unaffected"
    );
}

#[test]
fn time_going_backwards_is_clamped() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(10_000));
    dht.ping(Instant::from_millis(10_000), addr(1)).unwrap();
    dht.handle_timeout(Instant::from_millis(0));
    assert!(dht.poll_timeout().unwrap() >= Instant::from_millis(10_000));
    dht.handle_timeout(Instant::from_millis(20_000));
    assert_eq!(dht.stats().timeouts, 1);
    let _ = Family::V4;
    let _ = Id::default();
}

#[test]
fn an_unanswered_ping_is_retried_once_with_a_new_transaction_id_then_times_out() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let silent = addr(7);
    let q = dht.ping(Instant::from_millis(0), silent).unwrap();
    let mut buf = [0u8; 1500];
    let mut tids = Vec::new();
    let mut now = Instant::from_millis(0);
    let mut timed_out_at = None;
    while now < Instant::from_millis(20_000) && timed_out_at.is_none() {
        while let Some(t) = dht.poll_transmit(now, &mut buf) {
            assert_eq!(t.to, silent);
            tids.push(
                Message::decode(&buf[..t.len])
                    .unwrap()
                    .transaction_id
                    .to_vec(),
            );
        }
        while let Some(e) = dht.poll_event() {
            if matches!(e, Event::PingTimeout { query, .. } if query == q) {
                timed_out_at = Some(now);
            }
        }
        now = now + Duration::from_millis(100);
        dht.handle_timeout(now);
    }
    assert_eq!(tids.len(), 2, "the first try and one retry");
    assert_ne!(tids[0], tids[1]);
    let at = timed_out_at.expect("a timeout after the retry").as_millis();
    assert!(
        (8_000..=8_300).contains(&at),
        "two 4 s timeouts, got {at} ms"
    );
    assert_eq!(dht.stats().retries, 1);
}

#[test]
fn retries_can_be_turned_off() {
    let mut c = config();
    c.query_retries = 0;
    let mut dht = Dht::new(c, [1; 32], Instant::from_millis(0));
    dht.ping(Instant::from_millis(0), addr(7)).unwrap();
    let mut buf = [0u8; 1500];
    let mut sent = 0;
    let mut now = Instant::from_millis(0);
    while now < Instant::from_millis(10_000) {
        while dht.poll_transmit(now, &mut buf).is_some() {
            sent += 1;
        }
        now = now + Duration::from_millis(100);
        dht.handle_timeout(now);
    }
    assert_eq!(sent, 1);
    assert_eq!(dht.stats().retries, 0);
}

/// A ping query from `from` with transaction id `t`.
fn ping_query(t: &[u8]) -> Vec<u8> {
    let mut q = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t".to_vec();
    q.extend(format!("{}:", t.len()).as_bytes());
    q.extend(t);
    q.extend(b"1:y1:qe");
    q
}

/// Every datagram waiting, in the order `poll_transmit` gives them: (to, message kind,
/// transaction id).
fn drain(
    dht: &mut Dht,
    now: Instant,
    buf: &mut [u8],
) -> Vec<(std::net::SocketAddr, bool, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(t) = dht.poll_transmit(now, buf) {
        let m = Message::decode(&buf[..t.len]).unwrap();
        out.push((
            t.to,
            matches!(m.body, Body::Query(_)),
            m.transaction_id.to_vec(),
        ));
    }
    out
}

#[test]
fn datagrams_leave_in_the_order_they_were_queued() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let now = Instant::from_millis(1);
    let mut buf = [0u8; 1500];
    // An unknown querier: our answer first (encoded at once), then the ping that
    // verifies it.
    dht.handle_datagram(now, addr(5), &ping_query(b"a1"));
    let sent = drain(&mut dht, now, &mut buf);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], (addr(5), false, b"a1".to_vec()));
    assert_eq!((sent[1].0, sent[1].1), (addr(5), true));
    // Several queries before the driver polls: answers in arrival order.
    for (i, t) in [b"b1", b"b2", b"b3"].iter().enumerate() {
        dht.handle_datagram(now, addr(10 + i), &ping_query(*t));
    }
    let answers: Vec<_> = drain(&mut dht, now, &mut buf)
        .into_iter()
        .filter(|(_, is_query, _)| !is_query)
        .collect();
    assert_eq!(
        answers,
        vec![
            (addr(10), false, b"b1".to_vec()),
            (addr(11), false, b"b2".to_vec()),
            (addr(12), false, b"b3".to_vec()),
        ]
    );
}

#[test]
fn at_most_max_outgoing_datagrams_wait_and_the_oldest_is_dropped_first() {
    let mut cfg = config();
    cfg.max_outgoing = 2;
    // No verification pings: they would take queue room.
    cfg.max_transactions = 0;
    let mut dht = Dht::new(cfg, [1; 32], Instant::from_millis(0));
    let now = Instant::from_millis(1);
    for (i, t) in [b"c1", b"c2", b"c3"].iter().enumerate() {
        dht.handle_datagram(now, addr(20 + i), &ping_query(*t));
    }
    let mut buf = [0u8; 1500];
    let sent = drain(&mut dht, now, &mut buf);
    assert_eq!(
        sent,
        vec![
            (addr(21), false, b"c2".to_vec()),
            (addr(22), false, b"c3".to_vec())
        ]
    );
    assert_eq!(dht.stats().dropped_outgoing, 1);
}

#[test]
fn an_answer_too_long_for_the_callers_buffer_is_dropped_and_counted() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let now = Instant::from_millis(1);
    dht.handle_datagram(now, addr(5), &ping_query(b"d1"));
    let mut small = [0u8; 20];
    // The answer does not fit; the verification ping (about 60 bytes) does not either.
    assert_eq!(dht.poll_transmit(now, &mut small), None);
    assert_eq!(dht.stats().dropped_outgoing, 2);
    assert_eq!(dht.stats().datagrams_out, 0);
}

/// Every datagram `dht` has queued, with its destination.
fn sent(dht: &mut Dht, now: Instant) -> Vec<(std::net::SocketAddr, Vec<u8>)> {
    let mut buf = [0u8; 1500];
    std::iter::from_fn(|| {
        let t = dht.poll_transmit(now, &mut buf)?;
        Some((t.to, buf[..t.len].to_vec()))
    })
    .collect()
}

#[test]
fn a_lookup_started_before_the_table_fills_also_asks_the_bootstrap_addresses() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], now);
    dht.bootstrap(now, &[addr(5)]).unwrap();
    assert_eq!(sent(&mut dht, now).len(), 1, "the bootstrap find_node");
    dht.get_peers(now, Id::from_bytes([7; 20])).unwrap();
    let out = sent(&mut dht, now);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, addr(5));
    let m = Message::decode(&out[0].1).unwrap();
    assert!(
        matches!(m.body, Body::Query(ref q) if matches!(q.kind, QueryKind::GetPeers { info_hash, .. } if info_hash == Id::from_bytes([7; 20]))),
        "{m:?}"
    );
}

#[test]
fn a_lookup_with_no_table_and_no_bootstrap_address_sends_nothing() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], now);
    dht.get_peers(now, Id::from_bytes([7; 20])).unwrap();
    assert!(sent(&mut dht, now).is_empty());
}
