//! A node whose routing table holds 200+ entries, filled through real ping responses;
//! shared by the zero-allocation test (as `common::populated`) and the serving benchmark
//! (which includes this file with `#[path]`).
#![allow(dead_code)]

use btdht::Id;
use btdht::addr::LocalAddresses;
use btdht::node::{Config, Dht};
use btdht::time::Instant;
use std::net::SocketAddr;

/// A node with a table of 200+ entries (filled through real responses).
pub fn populated() -> Dht {
    let mut cfg = Config::default();
    cfg.routing.local_addresses = LocalAddresses::Allow;
    cfg.rate_limit.per_second = u32::MAX;
    cfg.rate_limit.burst = u32::MAX;
    let mut dht = Dht::new(cfg, [9; 32], Instant::from_millis(0));
    let mut buf = [0u8; 1500];
    let own = *dht.id();
    for i in 0..400u32 {
        let addr = SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 6881));
        // 10 ids per bucket depth: own id with bit `depth` flipped, random below it.
        let depth = i / 10;
        let mut bytes = *Id::from_entropy(&i.to_be_bytes()).as_bytes();
        for b in 0..depth {
            let (byte, mask) = ((b / 8) as usize, 0x80u8 >> (b % 8));
            bytes[byte] = (bytes[byte] & !mask) | (own.as_bytes()[byte] & mask);
        }
        let (byte, mask) = ((depth / 8) as usize, 0x80u8 >> (depth % 8));
        bytes[byte] = (bytes[byte] & !mask) | (!own.as_bytes()[byte] & mask);
        let _ = dht.ping(Instant::from_millis(1), addr);
        while let Some(t) = dht.poll_transmit(Instant::from_millis(1), &mut buf) {
            let q = btdht::krpc::Message::decode(&buf[..t.len]).unwrap();
            let id = Id::from_bytes(bytes);
            let mut r = b"d1:rd2:id20:".to_vec();
            r.extend(id.as_bytes());
            r.extend(b"e1:t4:");
            r.extend(q.transaction_id);
            r.extend(b"1:y1:re");
            dht.handle_datagram(Instant::from_millis(2), t.to, &r);
        }
        while dht.poll_event().is_some() {}
    }
    assert!(
        dht.stats().nodes() >= 200,
        "table holds {}",
        dht.stats().nodes()
    );
    fill_store(&mut dht);
    dht
}

/// The info-hash the benchmarks' `get_peers_values` asks for: 100 peers are stored.
pub const STORED: &[u8; 20] = b"storedinfohash000000";

/// Announces 1 000 info-hashes (one peer each) and 100 peers for [`STORED`], each through
/// a real get_peers (for the token) and announce_peer.
fn fill_store(dht: &mut Dht) {
    let mut buf = [0u8; 1500];
    let now = Instant::from_millis(3);
    let mut announce = |dht: &mut Dht, from: SocketAddr, info_hash: &[u8; 20]| {
        let mut gp = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:".to_vec();
        gp.extend(info_hash);
        gp.extend(b"e1:q9:get_peers1:t2:gp1:y1:qe");
        dht.handle_datagram(now, from, &gp);
        let mut token = Vec::new();
        while let Some(t) = dht.poll_transmit(now, &mut buf) {
            if let Ok(m) = btdht::krpc::Message::decode(&buf[..t.len]) {
                if let btdht::krpc::Body::Response(r) = m.body {
                    token = r.token.unwrap_or_default().to_vec();
                }
            }
        }
        let mut ann = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:".to_vec();
        ann.extend(info_hash);
        ann.extend(b"4:porti6881e5:token");
        ann.extend(format!("{}:", token.len()).as_bytes());
        ann.extend(&token);
        ann.extend(b"e1:q13:announce_peer1:t2:ap1:y1:qe");
        dht.handle_datagram(now, from, &ann);
        while dht.poll_transmit(now, &mut buf).is_some() {}
    };
    for i in 0..1000u32 {
        let from = SocketAddr::from(([11, 0, (i >> 8) as u8, i as u8], 6881));
        announce(dht, from, Id::from_entropy(&i.to_be_bytes()).as_bytes());
    }
    for i in 0..100u32 {
        let from = SocketAddr::from(([12, 0, (i >> 8) as u8, i as u8], 6881));
        announce(dht, from, STORED);
    }
    while dht.poll_event().is_some() {}
    assert_eq!(
        dht.peer_store().len(),
        1001,
        "store holds 1 000 + 1 info-hashes"
    );
}
