//! Property: no sequence of operations takes a store past its caps, and its counters
//! agree with its contents.

use btdht::Id;
use btdht::addr::Family;
use btdht::bencode::RawValue;
use btdht::krpc::Put;
use btdht::store::{ItemStore, ItemStoreConfig, PeerStore, PeerStoreConfig, SignatureVerifier};
use btdht::time::Instant;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Clone, Debug)]
enum PeerOp {
    Announce {
        torrent: u8,
        ip: u8,
        v6: bool,
        port: u16,
        seed: bool,
    },
    Advance(u16),
    Sample {
        torrent: u8,
        v6: bool,
        noseed: bool,
        n: u8,
    },
    Scrape(u8),
    Expire,
}

fn peer_op() -> impl Strategy<Value = PeerOp> {
    prop_oneof![
        6 => (any::<u8>(), any::<u8>(), any::<bool>(), 0u16..6, any::<bool>())
            .prop_map(|(torrent, ip, v6, port, seed)| PeerOp::Announce { torrent, ip, v6, port, seed }),
        2 => (0u16..1200).prop_map(PeerOp::Advance),
        1 => (any::<u8>(), any::<bool>(), any::<bool>(), 0u8..50)
            .prop_map(|(torrent, v6, noseed, n)| PeerOp::Sample { torrent, v6, noseed, n }),
        1 => any::<u8>().prop_map(PeerOp::Scrape),
        1 => Just(PeerOp::Expire),
    ]
}

fn small_peer_config() -> impl Strategy<Value = PeerStoreConfig> {
    (1usize..6, 1usize..10, 1usize..30, 0usize..4, 1usize..12).prop_map(
        |(t, per, total, ports, per_ip)| {
            let mut c = PeerStoreConfig::default();
            c.max_torrents = t;
            c.max_peers_per_torrent = per;
            c.max_peers = total;
            c.max_ports_per_ip = ports;
            c.max_entries_per_ip = per_ip;
            c
        },
    )
}

fn id(n: u8) -> Id {
    Id::from_bytes([n % 16; 20])
}

fn addr(ip: u8, v6: bool, port: u16) -> SocketAddr {
    let ip = ip % 24;
    let ip = if v6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(ip)))
    } else {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, ip))
    };
    SocketAddr::new(ip, port)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn peer_store_never_exceeds_its_caps(config in small_peer_config(), ops in prop::collection::vec(peer_op(), 1..200)) {
        let mut s = PeerStore::new(config, [5; 32]);
        let mut now = Instant::from_millis(0);
        for op in ops {
            match op {
                PeerOp::Announce { torrent, ip, v6, port, seed } => {
                    let _ = s.announce(now, id(torrent), addr(ip, v6, port), seed);
                }
                PeerOp::Advance(secs) => now = now + Duration::from_secs(u64::from(secs)),
                PeerOp::Sample { torrent, v6, noseed, n } => {
                    let mut out = vec![addr(0, false, 0); usize::from(n)];
                    let family = if v6 { Family::V6 } else { Family::V4 };
                    let k = s.sample_peers(now, &id(torrent), family, noseed, &mut out);
                    prop_assert!(k <= out.len());
                    let mut got = out[..k].to_vec();
                    got.sort();
                    got.dedup();
                    prop_assert_eq!(got.len(), k, "a sample holds each peer once");
                    prop_assert!(got.iter().all(|a| Family::of(a) == family));
                }
                PeerOp::Scrape(torrent) => { let _ = s.scrape(now, &id(torrent)); }
                PeerOp::Expire => { s.expire(now); }
            }
            // Instant::ZERO sees every held entry, expired or not.
            let zero = Instant::ZERO;
            prop_assert!(s.len() <= config.max_torrents);
            prop_assert!(s.peer_len() <= config.max_peers);
            let mut total = 0;
            let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
            for t in s.info_hashes(zero).collect::<Vec<_>>() {
                let peers: Vec<_> = s.peers(zero, &t).collect();
                prop_assert!(!peers.is_empty(), "no empty info-hash is held");
                prop_assert!(peers.len() <= config.max_peers_per_torrent);
                let mut in_torrent: HashMap<IpAddr, usize> = HashMap::new();
                for p in &peers {
                    *in_torrent.entry(p.addr.ip()).or_default() += 1;
                    *per_ip.entry(p.addr.ip()).or_default() += 1;
                }
                prop_assert!(in_torrent.values().all(|&n| n <= config.max_ports_per_ip));
                total += peers.len();
            }
            prop_assert_eq!(total, s.peer_len());
            prop_assert_eq!(s.info_hashes(zero).count(), s.len());
            prop_assert!(per_ip.values().all(|&n| n <= config.max_entries_per_ip));
        }
    }
}

struct AcceptAll;
impl SignatureVerifier for AcceptAll {
    fn verify(&self, _: &[u8; 32], _: &[u8], _: &[u8; 64]) -> bool {
        true
    }
}

#[derive(Clone, Debug)]
enum ItemOp {
    Put {
        value: u8,
        ip: u8,
        mutable: Option<(u8, i64, Option<i64>)>,
    },
    Advance(u16),
    Expire,
}

fn item_op() -> impl Strategy<Value = ItemOp> {
    prop_oneof![
        6 => (any::<u8>(), any::<u8>(), prop::option::of((0u8..4, -1i64..5, prop::option::of(0i64..5))))
            .prop_map(|(value, ip, mutable)| ItemOp::Put { value, ip, mutable }),
        2 => (0u16..4000).prop_map(ItemOp::Advance),
        1 => Just(ItemOp::Expire),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn item_store_never_exceeds_its_cap_and_never_lowers_a_seq(
        (max_items, max_per_ip) in (1usize..8, 1usize..4),
        ops in prop::collection::vec(item_op(), 1..200),
    ) {
        let mut c = ItemStoreConfig::default();
        c.max_items = max_items;
        c.max_items_per_ip = max_per_ip;
        let mut s = ItemStore::new(c);
        let mut now = Instant::from_millis(0);
        let values: Vec<Vec<u8>> = (0..=255u8).map(|n| format!("i{n}e").into_bytes()).collect();
        for op in ops {
            match op {
                ItemOp::Put { value, ip, mutable } => {
                    let v = RawValue::new(&values[usize::from(value)]).unwrap();
                    let key = [mutable.map_or(0, |m| m.0); 32];
                    let put = Put {
                        token: b"t",
                        value: v,
                        mutable: mutable.map(|(_, seq, cas)| btdht::krpc::MutablePut {
                            key: &key, signature: &[0; 64], seq, salt: None, cas,
                        }),
                    };
                    let target = btdht::store::put_target(&put);
                    let before = s.get(now, &target).and_then(|i| i.seq());
                    let from = IpAddr::V4(Ipv4Addr::new(198, 51, 100, ip % 6));
                    let r = s.put(now, from, &put, Some(AcceptAll));
                    let after = s.get(now, &target).and_then(|i| i.seq());
                    if let (Some(b), Some(a)) = (before, after) {
                        prop_assert!(a >= b, "seq went down: {b} -> {a}");
                    }
                    if r.is_ok() {
                        prop_assert!(s.get(now, &target).is_some());
                    }
                }
                ItemOp::Advance(secs) => now = now + Duration::from_secs(u64::from(secs)),
                ItemOp::Expire => { s.expire(now); }
            }
            prop_assert!(s.len() <= max_items);
        }
    }
}
