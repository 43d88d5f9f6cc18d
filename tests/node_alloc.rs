//! Answering ping, find_node and get_peers allocates nothing: decode, token, closest
//! nodes and encoding into the caller's buffer, counted for the calling thread only by
//! the common counting allocator.

mod common;

use btdht::time::Instant;
use common::counting::allocations_during;
use common::populated::populated;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

#[test]
fn answering_ping_find_node_get_peers_and_from_the_store_allocates_nothing() {
    let mut dht = populated();
    let known = dht
        .table(btdht::addr::Family::V4)
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .node();
    let from = known.addr;
    let with_id = |template: &[u8]| {
        let mut q = template.to_vec();
        let at = q
            .windows(20)
            .position(|w| w == b"abcdefghij0123456789")
            .unwrap();
        q[at..at + 20].copy_from_slice(known.id.as_bytes());
        q
    };
    let queries = [
        with_id(b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"),
        with_id(b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe"),
        with_id(b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe"),
    ];
    let mut buf = [0u8; 1500];
    let now = Instant::from_millis(3);
    // The querier is known to the table, so no verification ping is queued.
    for q in &queries {
        let ((), n) = allocations_during(|| dht.handle_datagram(now, from, q));
        assert_eq!(n, 0, "handling {}", String::from_utf8_lossy(q));
        let (t, n) = allocations_during(|| dht.poll_transmit(now, &mut buf));
        let t = t.expect("an answer");
        assert_eq!(n, 0, "answering {}", String::from_utf8_lossy(q));
        assert!(matches!(
            btdht::krpc::Message::decode(&buf[..t.len]).unwrap().body,
            btdht::krpc::Body::Response(_)
        ));
    }

    // Store a peer (allocating is allowed here), then answer from the store.
    let token = {
        dht.handle_datagram(now, from, &queries[2]);
        let t = dht.poll_transmit(now, &mut buf).unwrap();
        let m = btdht::krpc::Message::decode(&buf[..t.len]).unwrap();
        let btdht::krpc::Body::Response(r) = m.body else {
            panic!("{m:?}")
        };
        r.token.unwrap().to_vec()
    };
    let mut announce = with_id(
        b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti7000e5:token",
    );
    announce.extend(format!("{}:", token.len()).as_bytes());
    announce.extend(&token);
    announce.extend(b"e1:q13:announce_peer1:t2:aa1:y1:qe");
    let before = dht.stats().stored_peers;
    dht.handle_datagram(now, from, &announce);
    let _ = dht.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(dht.stats().stored_peers, before + 1);

    let from_store = [
        with_id(b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe"),
        with_id(b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234566:noseedi1e6:scrapei1ee1:q9:get_peers1:t2:aa1:y1:qe"),
        with_id(b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q17:sample_infohashes1:t2:aa1:y1:qe"),
    ];
    for q in &from_store {
        let ((), n) = allocations_during(|| dht.handle_datagram(now, from, q));
        assert_eq!(n, 0, "handling {}", String::from_utf8_lossy(q));
        let (t, n) = allocations_during(|| dht.poll_transmit(now, &mut buf));
        let t = t.expect("an answer");
        assert_eq!(n, 0, "answering {}", String::from_utf8_lossy(q));
        let m = btdht::krpc::Message::decode(&buf[..t.len]).unwrap();
        let btdht::krpc::Body::Response(r) = m.body else {
            panic!("{m:?}")
        };
        assert!(
            r.values.is_some() || r.samples.is_some_and(|s| !s.is_empty()),
            "{r:?}"
        );
    }
}
