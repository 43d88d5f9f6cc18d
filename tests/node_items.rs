//! BEP 44 from the client side, across nodes wired in memory: `put_item` then
//! `get_item` by another node, mutable updates, `cas`, and the checks a getter makes on
//! every answer.

mod common;

use btdht::Id;
use btdht::bencode::RawValue;
use btdht::krpc::{Body, CompactList, ErrorCode, Message, NodeV4, Response};
use btdht::node::{CommandError, Dht, Event, ItemTarget, MutableItem, QueryId};
use btdht::store::{
    ItemError, SignatureSigner, SignatureVerifier, immutable_target, mutable_target,
};
use btdht::time::Instant;
use common::net::{Net, addr, config};
use std::net::SocketAddr;
use std::time::Duration;

/// A stand-in for ed25519 (the tests run without the `ed25519` feature): the
/// "signature" is SHA-1 of key and message, repeated. Only the key's holder makes it in
/// these tests, and a wrong key or message does not verify.
struct FakeKey(u8);
fn fake_sig(key: &[u8; 32], message: &[u8]) -> [u8; 64] {
    let mut m = key.to_vec();
    m.extend_from_slice(message);
    let h = Id::sha1(&m);
    std::array::from_fn(|i| h.as_bytes()[i % 20])
}
impl SignatureSigner for FakeKey {
    fn public_key(&self) -> [u8; 32] {
        [self.0; 32]
    }
    fn sign(&self, message: &[u8]) -> [u8; 64] {
        fake_sig(&self.public_key(), message)
    }
}
struct FakeVerifier;
impl SignatureVerifier for FakeVerifier {
    fn verify(&self, key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        fake_sig(key, message) == *signature
    }
}

/// `n` nodes that bootstrapped off node 0 and know each other, all with the verifier.
fn network(n: usize) -> Net {
    let mut net = Net::new(n, |_| config());
    for i in 0..n {
        net.dht(i).set_signature_verifier(Box::new(FakeVerifier));
    }
    let now = net.now;
    for i in 1..n {
        net.dht(i).bootstrap(now, &[addr(0)]).unwrap();
        net.run(Duration::from_millis(200));
    }
    net.run(Duration::from_secs(20));
    net
}

fn put_done(net: &Net, node: usize, q: QueryId) -> (usize, usize, Option<ErrorCode>) {
    net.events[node]
        .iter()
        .find_map(|e| match e {
            Event::ItemPut {
                query,
                stored,
                refused,
                error,
                ..
            } if *query == q => Some((*stored, *refused, *error)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no ItemPut for {q:?}: {:?}", net.events[node]))
}

/// The `Item` events of a query: (value, seq) in the order they came.
fn items_found(net: &Net, node: usize, q: QueryId) -> Vec<(Vec<u8>, Option<i64>)> {
    net.events[node]
        .iter()
        .filter_map(|e| match e {
            Event::Item { query, item, .. } if *query == q => {
                Some((item.value().as_bytes().to_vec(), item.seq()))
            }
            _ => None,
        })
        .collect()
}

fn lookup_done(net: &Net, node: usize, q: QueryId) -> bool {
    net.events[node]
        .iter()
        .any(|e| matches!(e, Event::LookupDone { query, .. } if *query == q))
}

fn put_mutable(
    net: &mut Net,
    node: usize,
    key: &FakeKey,
    value: &[u8],
    seq: i64,
    cas: Option<i64>,
) -> QueryId {
    let v = RawValue::new(value).unwrap();
    let mut item = MutableItem::sign(key, b"salt", seq, v).unwrap();
    item.cas = cas;
    let now = net.now;
    let q = net.dht(node).put_item(now, v, Some(item)).unwrap();
    net.run(Duration::from_secs(10));
    q
}

#[test]
fn an_immutable_item_put_by_one_node_is_got_by_another() {
    let mut net = network(24);
    let value = RawValue::new(b"12:Hello World!").unwrap();
    let now = net.now;
    let put = net.dht(5).put_item(now, value, None).unwrap();
    net.run(Duration::from_secs(10));
    let (stored, refused, error) = put_done(&net, 5, put);
    assert!(stored >= 6, "stored by {stored} of the closest 8");
    assert_eq!((refused, error), (0, None));
    let target = immutable_target(value);
    assert_eq!(
        target.to_string(),
        "e5f96f6f38320f0f33959cb4d3d656452117aadb"
    );

    let now = net.now;
    let get = net
        .dht(19)
        .get_item(now, ItemTarget::Immutable(target))
        .unwrap();
    net.run(Duration::from_secs(10));
    assert_eq!(
        items_found(&net, 19, get),
        vec![(b"12:Hello World!".to_vec(), None)],
        "found once"
    );
    assert!(lookup_done(&net, 19, get));
    let info = net.dht(19).query(get).unwrap();
    assert_eq!(info.item().unwrap().value(), value);
}

/// Like `Net::run`, but the datagrams `drop` picks are lost.
fn run_dropping(net: &mut Net, duration: Duration, drop: impl Fn(SocketAddr, &[u8]) -> bool) {
    let end = net.now + duration;
    let mut buf = [0u8; 1500];
    while net.now < end {
        for (from, dht) in &mut net.nodes {
            while let Some(t) = dht.poll_transmit(net.now, &mut buf) {
                if !drop(t.to, &buf[..t.len]) {
                    net.wire.push_back((*from, t.to, buf[..t.len].to_vec()));
                }
            }
        }
        while let Some((from, to, bytes)) = net.wire.pop_front() {
            if let Some(i) = net.index(to) {
                net.nodes[i].1.handle_datagram(net.now, from, &bytes);
            }
        }
        for (i, (_, dht)) in net.nodes.iter_mut().enumerate() {
            while let Some(e) = dht.poll_event() {
                net.events[i].push(e);
            }
        }
        net.now = net.now + Duration::from_millis(10);
        let now = net.now;
        for (_, dht) in &mut net.nodes {
            dht.handle_timeout(now);
        }
    }
}

fn is_put(bytes: &[u8]) -> bool {
    matches!(
        Message::decode(bytes).map(|m| m.body),
        Ok(Body::Query(q)) if matches!(q.kind, btdht::krpc::QueryKind::Put(_))
    )
}

#[test]
fn a_mutable_update_with_a_higher_seq_wins() {
    let mut net = network(24);
    let key = FakeKey(3);
    let target = mutable_target(&key.public_key(), b"salt");
    let first = put_mutable(&mut net, 2, &key, b"5:first", 1, None);
    assert!(put_done(&net, 2, first).0 >= 6);
    let holders: Vec<SocketAddr> = (0..24)
        .filter(|&i| net.nodes[i].1.item_store().get(net.now, &target).is_some())
        .map(|i| net.nodes[i].0)
        .collect();
    // Node 7 publishes the next version (anyone holding the key may); three of the
    // holders never hear of it and keep version 1, so the getter sees both.
    let stale = &holders[..3];
    let v2 = RawValue::new(b"6:second").unwrap();
    let item = MutableItem::sign(&key, b"salt", 2, v2).unwrap().with_cas(1);
    let now = net.now;
    let second = net.dht(7).put_item(now, v2, Some(item)).unwrap();
    run_dropping(&mut net, Duration::from_secs(10), |to, bytes| {
        stale.contains(&to) && is_put(bytes)
    });
    let (stored, refused, _) = put_done(&net, 7, second);
    assert!(
        stored >= 3 && refused == 0,
        "{stored} stored, {refused} refused"
    );
    for a in stale {
        let i = net.index(*a).unwrap();
        assert_eq!(
            net.nodes[i]
                .1
                .item_store()
                .get(net.now, &target)
                .unwrap()
                .seq(),
            Some(1)
        );
    }

    let now = net.now;
    let get = net
        .dht(20)
        .get_item(
            now,
            ItemTarget::Mutable {
                key: &key.public_key(),
                salt: b"salt",
            },
        )
        .unwrap();
    net.run(Duration::from_secs(10));
    assert!(lookup_done(&net, 20, get));
    assert!(
        net.dht(20)
            .query(get)
            .unwrap()
            .closest()
            .any(|(n, _)| stale.contains(&n.addr)),
        "a node still holding seq 1 answered too"
    );
    let found = items_found(&net, 20, get);
    assert_eq!(
        found.last(),
        Some(&(b"6:second".to_vec(), Some(2))),
        "{found:?}"
    );
    assert!(
        found.windows(2).all(|w| w[0].1 < w[1].1),
        "only higher seqs are reported: {found:?}"
    );
    let best = net.dht(20).query(get).unwrap().item().unwrap().clone();
    assert_eq!(best.seq(), Some(2));
    assert_eq!(best.mutable().unwrap().salt[..], b"salt"[..]);
}

#[test]
fn a_put_whose_cas_no_longer_matches_is_refused_with_301() {
    let mut net = network(24);
    let key = FakeKey(4);
    let first = put_mutable(&mut net, 2, &key, b"1:a", 5, None);
    assert!(put_done(&net, 2, first).0 >= 6);
    // Written against seq 4, but 5 is stored: every holder answers 301.
    let stale = put_mutable(&mut net, 9, &key, b"1:b", 6, Some(4));
    let (stored, refused, error) = put_done(&net, 9, stale);
    assert_eq!(stored, 0);
    assert!(refused >= 6, "{refused}");
    assert_eq!(error, Some(ErrorCode::CasMismatch));
    // A lower seq than the stored one: 302.
    let old = put_mutable(&mut net, 9, &key, b"1:c", 4, None);
    let (stored, _, error) = put_done(&net, 9, old);
    assert_eq!((stored, error), (0, Some(ErrorCode::SeqTooLow)));
    // With the right cas it goes through.
    let right = put_mutable(&mut net, 9, &key, b"1:d", 6, Some(5));
    assert!(put_done(&net, 9, right).0 >= 6);
}

#[test]
fn an_oversized_value_is_refused_before_sending_as_every_node_would_answer_205() {
    let mut net = network(4);
    let mut big = b"998:".to_vec();
    big.resize(1002, b'x');
    let v = RawValue::new(&big).unwrap();
    let now = net.now;
    assert_eq!(
        net.dht(1).put_item(now, v, None),
        Err(CommandError::Item(ItemError::ValueTooBig))
    );
    assert_eq!(ItemError::ValueTooBig.code(), ErrorCode::ValueTooBig);
    // Exactly 1000 bytes is stored.
    let mut max = b"996:".to_vec();
    max.resize(1000, b'x');
    let v = RawValue::new(&max).unwrap();
    let q = net.dht(1).put_item(now, v, None).unwrap();
    net.run(Duration::from_secs(10));
    assert_eq!(put_done(&net, 1, q).0, 3, "the three other nodes");
}

#[test]
fn a_node_that_ignores_the_client_check_gets_205_from_the_storing_node() {
    // The server side of the rule, reached with a put crafted past the client check: a
    // token from a `get`, then a value over 1000 bytes.
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let from = addr(9);
    // `999:` and 999 bytes: a 1003-byte value, the token asked for its target.
    let mut value = b"999:".to_vec();
    value.resize(1003, b'x');
    let target = Id::sha1(&value);
    let mut q = b"d1:ad2:id20:abcdefghij01234567896:target20:".to_vec();
    q.extend(target.as_bytes());
    q.extend(b"e1:q3:get1:t2:g11:y1:qe");
    let out = common::net::ask(&mut dht, Instant::from_millis(1), from, &q);
    let Body::Response(r) = Message::decode(&out[0]).unwrap().body else {
        panic!()
    };
    let token = r.token.unwrap().to_vec();
    let mut put = b"d1:ad2:id20:abcdefghij01234567895:token".to_vec();
    put.extend(format!("{}:", token.len()).as_bytes());
    put.extend(&token);
    put.extend(b"1:v");
    put.extend(&value);
    put.extend(b"e1:q3:put1:t2:p11:y1:qe");
    let out = common::net::ask(&mut dht, Instant::from_millis(2), from, &put);
    let m = Message::decode(&out[0]).unwrap();
    assert!(
        matches!(&m.body, Body::Error(e) if e.code == ErrorCode::ValueTooBig),
        "{m:?}"
    );
    assert!(dht.item_store().is_empty());
}

#[test]
fn a_mutable_get_without_a_verifier_is_refused_as_no_answer_could_be_checked() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let key = [1; 32];
    let r = dht.get_item(
        Instant::from_millis(0),
        ItemTarget::Mutable {
            key: &key,
            salt: b"",
        },
    );
    assert_eq!(r, Err(CommandError::Item(ItemError::NoVerifier)));
    // An immutable get needs none: the target checks the value.
    assert!(
        dht.get_item(
            Instant::from_millis(0),
            ItemTarget::Immutable(Id::from_bytes([1; 20]))
        )
        .is_ok()
    );
}

#[test]
fn put_item_refuses_what_no_node_stores() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    dht.set_signature_verifier(Box::new(FakeVerifier));
    let now = Instant::from_millis(0);
    let v = RawValue::new(b"1:x").unwrap();
    let unsorted = RawValue::new(b"d1:bi1e1:ai2ee").unwrap();
    assert_eq!(
        dht.put_item(now, unsorted, None),
        Err(CommandError::Item(ItemError::NotCanonical))
    );
    let mut item = MutableItem::sign(&FakeKey(1), b"", 1, v).unwrap();
    item.seq = 2; // the signature covers seq 1
    assert_eq!(
        dht.put_item(now, v, Some(item)),
        Err(CommandError::Item(ItemError::InvalidSignature))
    );
    item.seq = -1;
    assert_eq!(
        dht.put_item(now, v, Some(item)),
        Err(CommandError::Item(ItemError::InvalidSeq))
    );
    let long = [0u8; 65];
    item.seq = 1;
    item.salt = &long;
    assert_eq!(
        dht.put_item(now, v, Some(item)),
        Err(CommandError::Item(ItemError::SaltTooBig))
    );
}

// ---- a getter checks every answer -----------------------------------------------------

const FAKE_ID: [u8; 20] = [0xee; 20];

/// A node whose only contact is a scripted one at `addr(1)`.
fn lonely_node() -> Dht {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    dht.set_signature_verifier(Box::new(FakeVerifier));
    let now = Instant::from_millis(1);
    dht.bootstrap(now, &[addr(1)]).unwrap();
    answer(&mut dht, now, |_| {});
    assert_eq!(dht.stats().nodes(), 1);
    dht
}

/// Answers every query `dht` sends to `addr(1)`, as `FAKE_ID`, with `fill`'s fields.
fn answer<'a>(dht: &mut Dht, now: Instant, fill: impl Fn(&mut Response<'a>)) -> usize {
    let mut buf = [0u8; 1500];
    let mut queries = Vec::new();
    while let Some(t) = dht.poll_transmit(now, &mut buf) {
        assert_eq!(t.to, addr(1));
        queries.push(buf[..t.len].to_vec());
    }
    for q in &queries {
        let m = Message::decode(q).unwrap();
        let mut r = Response::new(Id::from_bytes(FAKE_ID));
        r.token = Some(b"tok");
        const NONE: &[NodeV4] = &[];
        r.nodes = Some(CompactList::from_items(NONE));
        fill(&mut r);
        let reply = Message {
            transaction_id: m.transaction_id,
            version: None,
            ip: None,
            read_only: false,
            body: Body::Response(r),
        };
        let mut out = [0u8; 1500];
        let n = reply.encode(&mut out).unwrap();
        dht.handle_datagram(now, addr(1), &out[..n]);
    }
    queries.len()
}

fn found(dht: &mut Dht, q: QueryId) -> (Vec<Event>, bool) {
    let mut items = Vec::new();
    let mut done = false;
    while let Some(e) = dht.poll_event() {
        match e {
            Event::Item { query, .. } if query == q => items.push(e),
            Event::LookupDone { query, .. } if query == q => done = true,
            _ => {}
        }
    }
    (items, done)
}

#[test]
fn an_immutable_answer_whose_value_does_not_hash_to_the_target_is_ignored() {
    let mut dht = lonely_node();
    let now = Instant::from_millis(2);
    let target = immutable_target(RawValue::new(b"4:real").unwrap());
    let q = dht.get_item(now, ItemTarget::Immutable(target)).unwrap();
    let forged = RawValue::new(b"6:forged").unwrap();
    assert_eq!(answer(&mut dht, now, |r| r.value = Some(forged)), 1);
    let (items, done) = found(&mut dht, q);
    assert!(items.is_empty() && done, "{items:?}");
    assert!(dht.query(q).unwrap().item().is_none());
    assert_eq!(dht.stats().bad_items, 1, "counted");

    let q = dht.get_item(now, ItemTarget::Immutable(target)).unwrap();
    let real = RawValue::new(b"4:real").unwrap();
    answer(&mut dht, now, |r| r.value = Some(real));
    let (items, done) = found(&mut dht, q);
    assert_eq!((items.len(), done), (1, true));
}

#[test]
fn a_mutable_answer_with_a_bad_signature_or_another_key_is_ignored() {
    let key = FakeKey(5);
    let k = key.public_key();
    let v = RawValue::new(b"3:new").unwrap();
    let good = MutableItem::sign(&key, b"s", 9, v).unwrap().signature;
    let other = FakeKey(6);
    let other_k = other.public_key();
    let other_sig = MutableItem::sign(&other, b"s", 9, v).unwrap().signature;
    let unsalted = MutableItem::sign(&key, b"", 9, v).unwrap().signature;
    let cases: [(&[u8; 32], &[u8; 64], i64, bool); 5] = [
        (&k, &good, 9, true),
        (&k, &good, 10, false),           // seq not the signed one
        (&k, &unsalted, 9, false),        // signed without the salt
        (&other_k, &other_sig, 9, false), // valid, but not the key asked for
        (&k, &[0; 64], 9, false),
    ];
    for (i, (answer_key, sig, seq, valid)) in cases.into_iter().enumerate() {
        let mut dht = lonely_node();
        let now = Instant::from_millis(2);
        let q = dht
            .get_item(
                now,
                ItemTarget::Mutable {
                    key: &k,
                    salt: b"s",
                },
            )
            .unwrap();
        answer(&mut dht, now, |r| {
            r.value = Some(v);
            r.key = Some(answer_key);
            r.signature = Some(sig);
            r.seq = Some(seq);
        });
        let (items, done) = found(&mut dht, q);
        assert!(done, "case {i}");
        assert_eq!(items.len(), usize::from(valid), "case {i}");
        assert_eq!(dht.stats().bad_items, u64::from(!valid), "case {i}");
    }
}

#[test]
fn once_a_version_is_found_later_gets_ask_only_for_newer_ones_with_seq() {
    let key = FakeKey(5);
    let k = key.public_key();
    let v = RawValue::new(b"3:new").unwrap();
    let sig = MutableItem::sign(&key, b"s", 9, v).unwrap().signature;
    let mut dht = lonely_node();
    let now = Instant::from_millis(2);
    let q = dht
        .get_item(
            now,
            ItemTarget::Mutable {
                key: &k,
                salt: b"s",
            },
        )
        .unwrap();
    let mut buf = [0u8; 1500];
    let t = dht.poll_transmit(now, &mut buf).unwrap();
    let first = Message::decode(&buf[..t.len]).unwrap();
    let Body::Query(query) = &first.body else {
        panic!("{first:?}")
    };
    assert!(
        matches!(query.kind, btdht::krpc::QueryKind::Get { seq: None, .. }),
        "nothing known yet: no seq"
    );
    // The answer carries version 9 and one more node to ask.
    let other = NodeV4 {
        id: Id::from_bytes([0x77; 20]),
        addr: match addr(2) {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => unreachable!(),
        },
    };
    let mut r = Response::new(Id::from_bytes(FAKE_ID));
    let others = [other];
    r.nodes = Some(CompactList::from_items(&others));
    r.token = Some(b"tok");
    r.value = Some(v);
    r.key = Some(&k);
    r.signature = Some(&sig);
    r.seq = Some(9);
    let reply = Message {
        transaction_id: first.transaction_id,
        version: None,
        ip: None,
        read_only: false,
        body: Body::Response(r),
    };
    let mut out = [0u8; 1500];
    let n = reply.encode(&mut out).unwrap();
    dht.handle_datagram(now, addr(1), &out[..n]);
    let t = dht.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(t.to, addr(2));
    let second = Message::decode(&buf[..t.len]).unwrap();
    let Body::Query(query) = &second.body else {
        panic!("{second:?}")
    };
    assert!(
        matches!(query.kind, btdht::krpc::QueryKind::Get { seq: Some(9), .. }),
        "{second:?}"
    );
    assert_eq!(dht.query(q).unwrap().item().unwrap().seq(), Some(9));
}

#[test]
fn a_get_of_an_immutable_item_this_node_stores_ends_at_once_without_queries() {
    let mut net = network(3);
    let value = RawValue::new(b"5:local").unwrap();
    let now = net.now;
    let put = net.dht(1).put_item(now, value, None).unwrap();
    net.run(Duration::from_secs(5));
    assert!(put_done(&net, 1, put).0 >= 1);
    let holder = (0..3)
        .find(|&i| net.nodes[i].1.item_store().len() == 1)
        .unwrap();
    let target = immutable_target(value);
    let now = net.now;
    let sent = net.dht(holder).stats().datagrams_out;
    let q = net
        .dht(holder)
        .get_item(now, ItemTarget::Immutable(target))
        .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| net.dht(holder).poll_event()).collect();
    assert!(
        matches!(&events[..], [Event::Item { query: a, .. }, Event::LookupDone { query: b, .. }] if *a == q && *b == q),
        "{events:?}"
    );
    let mut buf = [0u8; 1500];
    while net.dht(holder).poll_transmit(now, &mut buf).is_some() {}
    assert_eq!(net.dht(holder).stats().datagrams_out, sent, "no query sent");
}

#[test]
fn a_put_of_a_1000_byte_mutable_item_fits_max_datagram_len() {
    // The largest put this node sends: a 1000-byte value, a 64-byte salt, 19-digit seq
    // and cas, its 4-byte transaction id and the storing node's token.
    let key = FakeKey(1);
    let mut value = b"996:".to_vec();
    value.resize(1000, b'x');
    let v = RawValue::new(&value).unwrap();
    let salt = [b's'; 64];
    let item = MutableItem::sign(&key, &salt, i64::MAX, v)
        .unwrap()
        .with_cas(i64::MAX - 1);
    let mut net = network(2);
    let now = net.now;
    net.dht(0).put_item(now, v, Some(item)).unwrap();
    net.run(Duration::from_secs(5));
    assert_eq!(net.dht(0).stats().dropped_outgoing, 0);
    assert_eq!(net.dht(1).item_store().len(), 1, "stored");
}

/// Node `i`'s waiting datagrams, as (destination, bytes).
fn take_sent(net: &mut Net, i: usize) -> Vec<(SocketAddr, Vec<u8>)> {
    let now = net.now;
    let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
    let mut out = Vec::new();
    while let Some(t) = net.dht(i).poll_transmit(now, &mut buf) {
        out.push((t.to, buf[..t.len].to_vec()));
    }
    out
}

/// Hands node `from`'s waiting datagrams to node `to`, but those `lose` picks; returns
/// how many were lost.
fn deliver(net: &mut Net, from: usize, to: usize, lose: impl Fn(&[u8]) -> bool) -> usize {
    let now = net.now;
    let mut lost = 0;
    for (_, bytes) in take_sent(net, from) {
        if lose(&bytes) {
            lost += 1;
        } else {
            net.dht(to).handle_datagram(now, addr(from), &bytes);
        }
    }
    lost
}

#[test]
fn a_lost_put_is_sent_again_with_its_whole_value() {
    let mut net = network(2);
    let now = net.now;
    let mut value = b"500:".to_vec();
    value.resize(504, b'v');
    let v = RawValue::new(&value).unwrap();
    let q = net.dht(0).put_item(now, v, None).unwrap();
    // The get for a token, its answer, then the put: lost.
    deliver(&mut net, 0, 1, |_| false);
    deliver(&mut net, 1, 0, |_| false);
    assert_eq!(
        deliver(&mut net, 0, 1, is_put),
        1,
        "the put went out, and was lost"
    );
    // After the query timeout, the put goes again, with the value.
    net.now = now + Duration::from_secs(5);
    let later = net.now;
    net.dht(0).handle_timeout(later);
    assert_eq!(deliver(&mut net, 0, 1, |_| false), 0);
    deliver(&mut net, 1, 0, |_| false);
    let stored = net.dht(1).item_store().get(later, &immutable_target(v));
    assert_eq!(stored.map(|i| i.value().as_bytes().to_vec()), Some(value));
    assert_eq!(net.dht(0).stats().retries, 1);
    while let Some(e) = net.dht(0).poll_event() {
        net.events[0].push(e);
    }
    assert_eq!(put_done(&net, 0, q).0, 1, "stored by the one other node");
}

#[test]
fn the_puts_of_a_cancelled_put_are_not_sent() {
    let mut net = network(2);
    let now = net.now;
    let v = RawValue::new(b"5:hello").unwrap();
    let q = net.dht(0).put_item(now, v, None).unwrap();
    deliver(&mut net, 0, 1, |_| false);
    deliver(&mut net, 1, 0, |_| false);
    // The put waits to be sent; the search is cancelled first.
    net.dht(0).cancel(q);
    let sent = take_sent(&mut net, 0);
    assert!(sent.iter().all(|(_, b)| !is_put(b)), "a put went out");
    assert_eq!(net.dht(0).stats().dropped_outgoing, 1);
}
