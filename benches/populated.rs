//! A node whose routing table holds 200+ entries, filled through real ping responses;
//! shared by the serving benchmark and the zero-allocation test.
#![allow(dead_code)]

use btdht::Id;
use btdht::node::{Config, Dht};
use btdht::routing::LocalAddresses;
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
    assert!(dht.node_count() >= 200, "table holds {}", dht.node_count());
    dht
}
