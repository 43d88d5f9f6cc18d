//! Store benchmarks: announce into a full-sized peer store, the `get_peers` sample, the
//! BEP 33 scrape filters, BEP 44 item put/get, and the BEP 51 sample.
//!
//! The peer store is filled like a busy node's: up to 2 000 info-hashes × 50 peers, until
//! the default total cap of 100 000 entries refuses more. One torrent holds 500 peers (the
//! per-torrent cap) for the sample and scrape benchmarks. Memory is printed first, from a counting allocator.

use btdht::Id;
use btdht::addr::Family;
use btdht::bencode::RawValue;
use btdht::krpc::Put;
use btdht::krpc::budget::MAX_VALUES_V4;
use btdht::store::{
    InfoHashSampler, ItemStore, ItemStoreConfig, PeerStore, PeerStoreConfig, SamplerConfig,
    SignatureVerifier,
};
use btdht::time::Instant;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};

#[path = "../tests/common/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn ih(n: u32) -> Id {
    Id::sha1(&n.to_be_bytes())
}

fn peer(n: u32) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::from(0x0b00_0000u32.wrapping_add(n)), 6881))
}

fn filled(now: Instant) -> PeerStore {
    let mut s = PeerStore::new(PeerStoreConfig::default(), [1; 32]);
    for t in 0..2000u32 {
        let n = if t == 0 { 500 } else { 50 };
        for p in 0..n {
            let _ = s.announce(now, ih(t), peer(t * 1000 + p), p % 3 == 0);
        }
    }
    s
}

struct AcceptAll;
impl SignatureVerifier for AcceptAll {
    fn verify(&self, _: &[u8; 32], _: &[u8], _: &[u8; 64]) -> bool {
        true
    }
}

fn benches(c: &mut Criterion) {
    let now = Instant::from_millis(1_000);
    let before = counting::live();
    let mut store = filled(now);
    let bytes = counting::live().saturating_sub(before);
    println!(
        "peer store: {} info-hashes, {} peers, {} bytes ({} bytes per peer)",
        store.len(),
        store.peer_len(),
        bytes,
        bytes / store.peer_len().max(1)
    );

    let mut g = c.benchmark_group("store");
    // Re-announce (the common case: a known peer refreshing itself).
    let mut i = 0u32;
    g.bench_function("announce_refresh/100k", |b| {
        b.iter(|| {
            i = (i + 1) % 50;
            black_box(store.announce(now, ih(7), peer(7000 + i), false))
        })
    });
    // A new peer replacing its IP's own entry in a full store (no growth, no refusal).
    let mut port = 1u16;
    g.bench_function("announce_new_port/100k", |b| {
        b.iter(|| {
            port = port.wrapping_add(1).max(1);
            black_box(store.announce(now, ih(9), SocketAddr::new(peer(9000).ip(), port), false))
        })
    });
    let mut out = [peer(0); MAX_VALUES_V4];
    g.bench_function("sample_43_of_500", |b| {
        b.iter(|| black_box(store.sample_peers(now, &ih(0), Family::V4, false, &mut out)))
    });
    g.bench_function("sample_43_of_500_noseed", |b| {
        b.iter(|| black_box(store.sample_peers(now, &ih(0), Family::V4, true, &mut out)))
    });
    g.bench_function("scrape_500", |b| {
        b.iter(|| black_box(store.scrape(now, &ih(0))))
    });

    let mut sampler = InfoHashSampler::new(SamplerConfig::default(), [2; 32]);
    g.bench_function("sample_infohashes_cached", |b| {
        b.iter(|| black_box(sampler.sample(now, &store).samples.len()))
    });
    g.bench_function("sample_infohashes_rebuild_2000", |b| {
        b.iter(|| {
            let mut fresh = InfoHashSampler::new(SamplerConfig::default(), [2; 32]);
            black_box(fresh.sample(now, &store).samples.len())
        })
    });

    let mut items = ItemStore::new(ItemStoreConfig::default());
    let values: Vec<Vec<u8>> = (0..700u32)
        .map(|n| format!("{n:0>100}").into_bytes())
        .collect();
    let encoded: Vec<Vec<u8>> = values
        .iter()
        .map(|v| [format!("{}:", v.len()).into_bytes(), v.clone()].concat())
        .collect();
    for (n, v) in encoded.iter().enumerate() {
        let put = Put {
            token: b"t",
            value: RawValue::new(v).unwrap(),
            mutable: None,
        };
        let from = std::net::IpAddr::from([198, 51, 100, (n % 200) as u8]);
        items.put(now, from, &put, Some(AcceptAll)).unwrap();
    }
    let mut k = 0usize;
    g.bench_function("item_put_refresh_immutable/700", |b| {
        b.iter(|| {
            k = (k + 1) % encoded.len();
            let put = Put {
                token: b"t",
                value: RawValue::new(&encoded[k]).unwrap(),
                mutable: None,
            };
            let from = std::net::IpAddr::from([198, 51, 100, (k % 200) as u8]);
            black_box(items.put(now, from, &put, Some(AcceptAll)))
        })
    });
    let target = btdht::store::immutable_target(RawValue::new(&encoded[3]).unwrap());
    g.bench_function("item_get/700", |b| {
        b.iter(|| black_box(items.get(now, &target).is_some()))
    });
    g.finish();
}

criterion_group! {
    name = store;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = benches
}
criterion_main!(store);
