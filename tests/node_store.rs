//! The node serving what it stores: announce_peer → get_peers values, BEP 33 scrape,
//! BEP 44 get/put with their error codes, BEP 51 samples; and a lookup finding a peer
//! another node announced.

mod common;

use btdht::Id;
use btdht::addr::Families;
use btdht::bencode::RawValue;
use btdht::krpc::{Body, ErrorCode, Message, MutablePut, Put, Query, QueryKind, Response};
use btdht::node::{AnnouncePort, Config, Dht, Event};
use btdht::store::{BloomFilter, SignatureVerifier, signed_buffer};
use btdht::time::Instant;
use common::net::{Net, addr, ask, config};
use std::net::SocketAddr;
use std::time::Duration;

const NOW: Instant = Instant::from_millis(10_000);

fn encode(t: &[u8], want: Option<Families>, kind: QueryKind<'_>) -> Vec<u8> {
    let m = Message {
        transaction_id: t,
        version: None,
        ip: None,
        read_only: false,
        body: Body::Query(Query {
            id: Id::from_bytes([3; 20]),
            want,
            kind,
        }),
    };
    let mut buf = vec![0u8; 2048];
    let n = m.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Sends one query and returns the single answer, raw.
fn one(dht: &mut Dht, from: SocketAddr, q: &[u8]) -> Vec<u8> {
    let mut out = ask(dht, NOW, from, q);
    assert_eq!(out.len(), 1, "one answer expected");
    out.remove(0)
}

fn response(bytes: &[u8]) -> Response<'_> {
    match Message::decode(bytes).unwrap().body {
        Body::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    }
}

fn error_code(bytes: &[u8]) -> ErrorCode {
    match Message::decode(bytes).unwrap().body {
        Body::Error(e) => e.code,
        other => panic!("not an error: {other:?}"),
    }
}

fn get_peers(info_hash: Id, noseed: bool, scrape: bool) -> QueryKind<'static> {
    QueryKind::GetPeers {
        info_hash,
        noseed,
        scrape,
    }
}

/// get_peers for the token, then announce_peer from the same address.
fn announce(dht: &mut Dht, from: SocketAddr, info_hash: Id, port: u16, seed: bool) -> Vec<u8> {
    let answer = one(
        dht,
        from,
        &encode(b"g", None, get_peers(info_hash, false, false)),
    );
    let token = response(&answer).token.unwrap().to_vec();
    let q = encode(
        b"a",
        None,
        QueryKind::AnnouncePeer {
            info_hash,
            port,
            implied_port: false,
            token: &token,
            seed,
        },
    );
    one(dht, from, &q)
}

fn ip(i: usize) -> SocketAddr {
    SocketAddr::from(([198, 51, (i >> 8) as u8, (i & 0xff) as u8], 40_000))
}

fn node() -> Dht {
    let mut c = config();
    c.rate_limit.burst = 1000;
    Dht::new(c, [5; 32], Instant::from_millis(0))
}

const IH: Id = Id::from_bytes([0x42; 20]);

#[test]
fn an_announced_peer_is_returned_in_get_peers_values() {
    let mut dht = node();
    let ok = announce(&mut dht, ip(1), IH, 7000, false);
    assert!(matches!(
        Message::decode(&ok).unwrap().body,
        Body::Response(_)
    ));
    let answer = one(
        &mut dht,
        ip(2),
        &encode(b"x", None, get_peers(IH, false, false)),
    );
    let values: Vec<_> = response(&answer).values.unwrap().iter().collect();
    assert_eq!(values, vec![SocketAddr::new(ip(1).ip(), 7000)]);
    assert_eq!(dht.stats().stored_peers, 1);
}

#[test]
fn implied_port_stores_the_udp_source_port() {
    let mut dht = node();
    let answer = one(
        &mut dht,
        ip(1),
        &encode(b"g", None, get_peers(IH, false, false)),
    );
    let token = response(&answer).token.unwrap().to_vec();
    let q = encode(
        b"a",
        None,
        QueryKind::AnnouncePeer {
            info_hash: IH,
            port: 1,
            implied_port: true,
            token: &token,
            seed: false,
        },
    );
    one(&mut dht, ip(1), &q);
    let peers: Vec<_> = dht.peer_store().peers(NOW, &IH).map(|p| p.addr).collect();
    assert_eq!(peers, vec![ip(1)]);
}

#[test]
fn a_get_peers_answer_carries_at_most_43_ipv4_peers_and_stays_within_1024_bytes() {
    let mut c = config();
    c.rate_limit.burst = 1000;
    c.families = Families::BOTH;
    let mut dht = Dht::new(c, [5; 32], Instant::from_millis(0));
    for i in 0..100 {
        announce(&mut dht, ip(i), IH, 6881, false);
    }
    let both = Some(Families::BOTH);
    let long_tid = [b't'; 64];
    let answer = one(
        &mut dht,
        ip(999),
        &encode(&long_tid, both, get_peers(IH, false, false)),
    );
    assert!(answer.len() <= 1024, "{} bytes", answer.len());
    let r = response(&answer);
    assert_eq!(
        r.values.unwrap().len(),
        38,
        "(349 - 44 extra tid bytes) / 8"
    );
    let answer = one(
        &mut dht,
        ip(999),
        &encode(b"tt", both, get_peers(IH, false, false)),
    );
    assert_eq!(response(&answer).values.unwrap().len(), 43);
}

#[test]
fn get_peers_with_scrape_returns_bep33_filters_of_seeds_and_downloaders() {
    let mut dht = node();
    for i in 0..30 {
        announce(&mut dht, ip(i), IH, 6881, i < 10);
    }
    let answer = one(
        &mut dht,
        ip(999),
        &encode(b"s", None, get_peers(IH, false, true)),
    );
    assert!(answer.len() <= 1024, "{} bytes", answer.len());
    let r = response(&answer);
    let seeds = BloomFilter::from_bytes(*r.bf_seeds.unwrap());
    let peers = BloomFilter::from_bytes(*r.bf_peers.unwrap());
    assert!(
        (seeds.estimate() - 10.0).abs() < 1.0,
        "{}",
        seeds.estimate()
    );
    assert!(
        (peers.estimate() - 20.0).abs() < 1.5,
        "{}",
        peers.estimate()
    );
    assert!(seeds.contains(ip(3).ip()) && peers.contains(ip(15).ip()));
    assert!(r.values.is_some());
    // Without scrape, no filters.
    let plain = one(
        &mut dht,
        ip(999),
        &encode(b"p", None, get_peers(IH, false, false)),
    );
    assert!(response(&plain).bf_seeds.is_none());
}

#[test]
fn get_peers_with_noseed_answers_downloaders_before_seeds() {
    let mut dht = node();
    for i in 0..60 {
        announce(&mut dht, ip(i), IH, 6881, i >= 5); // 5 downloaders, 55 seeds
    }
    let answer = one(
        &mut dht,
        ip(999),
        &encode(b"n", None, get_peers(IH, true, false)),
    );
    let values: Vec<_> = response(&answer).values.unwrap().iter().collect();
    assert_eq!(values.len(), 43);
    assert_eq!(
        values
            .iter()
            .filter(|a| (0..5).any(|i| ip(i).ip() == a.ip()))
            .count(),
        5
    );
}

#[test]
fn an_announce_the_full_store_refuses_gets_error_202() {
    let mut c = config();
    c.rate_limit.burst = 1000;
    c.peers.max_torrents = 1;
    let mut dht = Dht::new(c, [5; 32], Instant::from_millis(0));
    announce(&mut dht, ip(1), IH, 6881, false);
    let refused = announce(&mut dht, ip(2), Id::from_bytes([7; 20]), 6881, false);
    assert_eq!(error_code(&refused), ErrorCode::Server);
    assert_eq!(dht.stats().store_refused, 1);
}

// ---- BEP 44 --------------------------------------------------------------------------

fn get(target: Id, seq: Option<i64>) -> QueryKind<'static> {
    QueryKind::Get { target, seq }
}

fn token_for(dht: &mut Dht, from: SocketAddr, target: Id) -> Vec<u8> {
    let answer = one(dht, from, &encode(b"g", None, get(target, None)));
    response(&answer).token.unwrap().to_vec()
}

fn put(dht: &mut Dht, from: SocketAddr, value: &[u8], mutable: Option<MutablePut<'_>>) -> Vec<u8> {
    let value = RawValue::new(value).unwrap();
    let target = btdht::store::put_target(&Put {
        token: b"",
        value,
        mutable: mutable.clone(),
    });
    let token = token_for(dht, from, target);
    let q = encode(
        b"p",
        None,
        QueryKind::Put(Put {
            token: &token,
            value,
            mutable,
        }),
    );
    one(dht, from, &q)
}

#[test]
fn an_immutable_put_is_returned_by_get_from_another_address() {
    let mut dht = node();
    let ok = put(&mut dht, ip(1), b"12:Hello World!", None);
    assert!(matches!(
        Message::decode(&ok).unwrap().body,
        Body::Response(_)
    ));
    let target = btdht::store::immutable_target(RawValue::new(b"12:Hello World!").unwrap());
    let answer = one(&mut dht, ip(2), &encode(b"x", None, get(target, None)));
    let r = response(&answer);
    assert_eq!(r.value.unwrap().as_bytes(), b"12:Hello World!");
    assert!(r.token.is_some() && r.key.is_none() && r.seq.is_none());
}

#[test]
fn a_put_with_a_bad_token_gets_error_203() {
    let mut dht = node();
    let q = encode(
        b"p",
        None,
        QueryKind::Put(Put {
            token: b"nope",
            value: RawValue::new(b"1:x").unwrap(),
            mutable: None,
        }),
    );
    assert_eq!(error_code(&one(&mut dht, ip(1), &q)), ErrorCode::Protocol);
    assert!(dht.item_store().is_empty());
}

#[test]
fn an_oversized_value_gets_error_205() {
    let mut dht = node();
    let big = [b"998:".as_slice(), &[b'x'; 998]].concat();
    assert_eq!(
        error_code(&put(&mut dht, ip(1), &big, None)),
        ErrorCode::ValueTooBig
    );
}

#[test]
fn a_large_item_answer_drops_node_lists_to_stay_within_1024_bytes() {
    let mut net = Net::new(12, |_| config());
    let now = net.now;
    let seeds: Vec<_> = (1..12).map(addr).collect();
    net.dht(0).bootstrap(now, &seeds).unwrap();
    net.run(Duration::from_secs(5));
    let value = [b"900:".as_slice(), &[b'y'; 900]].concat();
    let dht = net.dht(0);
    put(dht, ip(1), &value, None);
    let target = btdht::store::immutable_target(RawValue::new(&value).unwrap());
    let answer = ask(
        dht,
        now + Duration::from_secs(5),
        ip(2),
        &encode(b"x", None, get(target, None)),
    );
    assert!(answer[0].len() <= 1024, "{} bytes", answer[0].len());
    let r = response(&answer[0]);
    assert!(r.value.is_some() && r.nodes.is_none());
    // A small item keeps its nodes.
    put(dht, ip(1), b"1:z", None);
    let small = btdht::store::immutable_target(RawValue::new(b"1:z").unwrap());
    let answer = ask(
        dht,
        now + Duration::from_secs(5),
        ip(2),
        &encode(b"x", None, get(small, None)),
    );
    assert!(response(&answer[0]).nodes.is_some_and(|n| !n.is_empty()));
}

const KEY: [u8; 32] = [9; 32];

/// A stand-in verifier: the "signature" is the signed buffer's SHA-1, repeated.
struct Fake;
fn fake_sign(message: &[u8]) -> [u8; 64] {
    let h = Id::sha1(message);
    std::array::from_fn(|i| h.as_bytes()[i % 20])
}
impl SignatureVerifier for Fake {
    fn verify(&self, _key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        fake_sign(message) == *signature
    }
}

fn mutable_put(dht: &mut Dht, value: &[u8], seq: i64, cas: Option<i64>) -> Vec<u8> {
    let sig = fake_sign(&signed_buffer(b"", seq, RawValue::new(value).unwrap()).unwrap());
    let m = MutablePut {
        key: &KEY,
        signature: &sig,
        seq,
        salt: None,
        cas,
    };
    put(dht, ip(1), value, Some(m))
}

#[test]
fn a_mutable_put_without_a_verifier_is_refused_with_201() {
    let mut dht = node();
    assert_eq!(
        error_code(&mutable_put(&mut dht, b"1:a", 1, None)),
        ErrorCode::Generic
    );
    assert!(dht.item_store().is_empty());
}

#[test]
fn mutable_items_follow_seq_and_cas_rules_through_the_node() {
    let mut dht = node();
    dht.set_signature_verifier(Box::new(Fake));
    let target = btdht::store::mutable_target(&KEY, b"");
    assert!(matches!(
        Message::decode(&mutable_put(&mut dht, b"1:a", 1, None))
            .unwrap()
            .body,
        Body::Response(_)
    ));
    assert!(matches!(
        Message::decode(&mutable_put(&mut dht, b"1:b", 2, Some(1)))
            .unwrap()
            .body,
        Body::Response(_)
    ));
    assert_eq!(
        error_code(&mutable_put(&mut dht, b"1:c", 3, Some(1))),
        ErrorCode::CasMismatch
    );
    assert_eq!(
        error_code(&mutable_put(&mut dht, b"1:c", 1, None)),
        ErrorCode::SeqTooLow
    );
    let answer = one(&mut dht, ip(2), &encode(b"x", None, get(target, None)));
    let r = response(&answer);
    assert_eq!((r.value.unwrap().as_bytes(), r.seq), (&b"1:b"[..], Some(2)));
    assert_eq!(r.key, Some(&KEY));
    // Asking with seq >= the stored one: only seq comes back.
    let answer = one(&mut dht, ip(2), &encode(b"x", None, get(target, Some(2))));
    let r = response(&answer);
    assert_eq!(
        (r.value, r.key, r.signature, r.seq),
        (None, None, None, Some(2))
    );
    let answer = one(&mut dht, ip(2), &encode(b"x", None, get(target, Some(1))));
    assert!(response(&answer).value.is_some());
}

#[test]
fn a_mutable_put_with_a_bad_signature_gets_206_and_a_salt_over_64_bytes_207() {
    let mut dht = node();
    dht.set_signature_verifier(Box::new(Fake));
    let v = RawValue::new(b"1:a").unwrap();
    let signed_for_seq_1 = fake_sign(&signed_buffer(b"", 1, v).unwrap());
    let bad = MutablePut {
        key: &KEY,
        signature: &signed_for_seq_1,
        seq: 2,
        salt: None,
        cas: None,
    };
    assert_eq!(
        error_code(&put(&mut dht, ip(1), b"1:a", Some(bad))),
        ErrorCode::InvalidSignature
    );
    let salt = [b's'; 65];
    let sig = [0u8; 64];
    let salty = MutablePut {
        key: &KEY,
        signature: &sig,
        seq: 1,
        salt: Some(&salt),
        cas: None,
    };
    assert_eq!(
        error_code(&put(&mut dht, ip(1), b"1:a", Some(salty))),
        ErrorCode::SaltTooBig
    );
    assert!(dht.item_store().is_empty());
}

// ---- BEP 51 --------------------------------------------------------------------------

#[test]
fn sample_infohashes_answers_samples_num_and_interval() {
    let mut dht = node();
    for i in 0..30u8 {
        announce(
            &mut dht,
            ip(usize::from(i)),
            Id::from_bytes([i; 20]),
            6881,
            false,
        );
    }
    let q = encode(
        b"s",
        None,
        QueryKind::SampleInfohashes {
            target: Id::from_bytes([1; 20]),
        },
    );
    let answer = one(&mut dht, ip(999), &q);
    assert!(answer.len() <= 1024);
    let r = response(&answer);
    let samples: Vec<Id> = r.samples.unwrap().iter().collect();
    assert_eq!(samples.len(), 20);
    assert!(
        samples
            .iter()
            .all(|s| s.as_bytes()[0] < 30 && s.as_bytes().iter().all(|&b| b == s.as_bytes()[0]))
    );
    assert_eq!((r.num, r.interval), (Some(30), Some(21_600)));
    assert!(r.nodes.is_some());
}

#[test]
fn sample_infohashes_on_an_empty_store_still_sends_samples() {
    let mut dht = node();
    let q = encode(
        b"s",
        None,
        QueryKind::SampleInfohashes {
            target: Id::from_bytes([1; 20]),
        },
    );
    let r_bytes = one(&mut dht, ip(1), &q);
    let r = response(&r_bytes);
    assert_eq!(r.samples.map(|s| s.len()), Some(0));
    assert_eq!(r.num, Some(0));
}

// ---- end to end ----------------------------------------------------------------------

#[test]
fn a_peer_announced_by_one_node_is_found_by_another_nodes_lookup() {
    let mut net = Net::new(30, |_| config());
    let now = net.now;
    let seeds = [addr(0)];
    for i in 1..30 {
        net.dht(i).bootstrap(now, &seeds).unwrap();
    }
    net.run(Duration::from_secs(20));
    let info_hash = Id::from_bytes([0x5a; 20]);
    let now = net.now;
    let a = net
        .dht(3)
        .announce(now, info_hash, AnnouncePort::Port(7777), false)
        .unwrap();
    net.run(Duration::from_secs(10));
    let accepted = net.events[3].iter().find_map(|e| match e {
        Event::Announced {
            query, accepted, ..
        } if *query == a => Some(*accepted),
        _ => None,
    });
    assert!(accepted.is_some_and(|n| n >= 3), "{accepted:?}");
    let now = net.now;
    let q = net.dht(17).get_peers(now, info_hash).unwrap();
    net.run(Duration::from_secs(10));
    let found: Vec<_> = net.events[17]
        .iter()
        .filter_map(|e| match e {
            Event::Peer { query, peer, .. } if *query == q => Some(*peer),
            _ => None,
        })
        .collect();
    assert!(
        found.contains(&SocketAddr::new(addr(3).ip(), 7777)),
        "{found:?}"
    );
}

#[test]
fn a_get_peers_search_reports_at_most_max_search_peers_distinct_peers() {
    let mut c = config();
    c.rate_limit.burst = 1000;
    c.max_search_peers = 3;
    let mut dht = Dht::new(c, [5; 32], Instant::from_millis(0));
    // Five peers announced to this node itself: a get_peers reports them at its start.
    for i in 1..=5 {
        announce(&mut dht, ip(i), IH, 7000, false);
    }
    let q = dht.get_peers(NOW, IH).unwrap();
    let mut peers = Vec::new();
    while let Some(e) = dht.poll_event() {
        if let Event::Peer { query, peer, .. } = e {
            assert_eq!(query, q);
            peers.push(peer);
        }
    }
    assert_eq!(peers.len(), 3, "{peers:?}");
}

#[test]
fn the_store_config_caps_reach_the_node() {
    let mut c = Config::default();
    c.peers.max_torrents = 3;
    let dht = Dht::new(c, [1; 32], NOW);
    assert_eq!(dht.peer_store().config().max_torrents, 3);
}
