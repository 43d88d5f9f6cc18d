//! Routing table and token benchmarks.
//!
//! Tables are filled by 1 000, 10 000 and 100 000 random inserts (responses from random
//! nodes at distinct global addresses). `closest-8` is compared, in the same run, with one
//! `Message::decode` of a find_node response carrying 8 nodes. Memory per entry and per
//! table is measured with a counting allocator and printed before the benchmarks run.

use btdht::Id;
use btdht::addr::Family;
use btdht::krpc::Message;
use btdht::routing::{Entry, Liveness, Node, RoutingConfig, RoutingTable};
use btdht::time::Instant;
use btdht::token::Tokens;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

#[path = "../tests/common/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// xorshift64*: deterministic inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn id(&mut self) -> Id {
        let mut b = [0u8; 20];
        for chunk in b.chunks_mut(8) {
            let r = self.next().to_be_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        Id::from_bytes(b)
    }
}

fn addr(n: u32) -> SocketAddr {
    let [a, b, c, d] = (0x0100_0000u32.wrapping_add(n)).to_be_bytes();
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a.max(1), b, c, d)), 6881)
}

fn filled(inserts: u32, rng: &mut Rng) -> RoutingTable {
    let mut t = RoutingTable::new(rng.id(), Family::V4, RoutingConfig::default());
    let now = Instant::from_millis(0);
    for i in 0..inserts {
        t.on_response(
            now,
            Node {
                id: rng.id(),
                addr: addr(i),
            },
            Some(Duration::from_millis(50)),
        );
    }
    t
}

fn find_node_response() -> Vec<u8> {
    let mut v = b"d1:rd2:id20:abcdefghij01234567895:nodes208:".to_vec();
    let mut rng = Rng(7);
    for i in 0..8u32 {
        v.extend(rng.id().as_bytes());
        v.extend(
            addr(i)
                .ip()
                .to_string()
                .parse::<Ipv4Addr>()
                .unwrap()
                .octets(),
        );
        v.extend(6881u16.to_be_bytes());
    }
    v.extend(b"e1:t4:abcd1:v4:LT\x01\x201:y1:re");
    v
}

fn report_memory() {
    println!(
        "size_of::<Entry>() = {} bytes",
        std::mem::size_of::<Entry>()
    );
    for n in [1_000u32, 10_000, 100_000] {
        let mut rng = Rng(0x5eed ^ u64::from(n));
        let before = counting::live();
        let t = filled(n, &mut rng);
        let bytes = counting::live().saturating_sub(before);
        let entries = t.len() + t.cached_len();
        println!(
            "table after {n} inserts: {} entries + {} cached in {} buckets, {bytes} bytes live ({} bytes per entry incl. cache and indexes)",
            t.len(),
            t.cached_len(),
            t.bucket_count(),
            bytes / entries.max(1)
        );
        drop(t);
    }
}

fn benches(c: &mut Criterion) {
    report_memory();
    let datagram = find_node_response();
    assert!(Message::decode(&datagram).is_ok());
    let mut g = c.benchmark_group("routing");
    g.bench_function("baseline/decode_find_node_response", |b| {
        b.iter(|| black_box(Message::decode(black_box(&datagram)).is_ok()))
    });
    for n in [1_000u32, 10_000, 100_000] {
        let mut rng = Rng(0x5eed ^ u64::from(n));
        let table = filled(n, &mut rng);
        let targets: Vec<Id> = (0..1024).map(|_| rng.id()).collect();
        let now = Instant::from_millis(1);
        let mut i = 0usize;
        g.bench_function(format!("closest8/{n}"), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(table.closest::<8>(&targets[i], Liveness::NotBad, now).len())
            })
        });
        let mut j = 0u32;
        g.bench_function(format!("insert/{n}"), |b| {
            b.iter_batched_ref(
                || table.clone(),
                |t| {
                    j = j.wrapping_add(1);
                    let node = Node {
                        id: targets[(j & 1023) as usize],
                        addr: addr(10_000_000 + j),
                    };
                    black_box(t.on_response(now, node, None))
                },
                BatchSize::SmallInput,
            )
        });
        let later = Instant::from_millis(20 * 60 * 1000);
        g.bench_function(format!("refresh_scan/{n}"), |b| {
            b.iter(|| {
                black_box(table.buckets_to_refresh(later).count());
                black_box(table.next_to_ping(later))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("token");
    let mut tokens = Tokens::new([3; 32]);
    let ip: IpAddr = "203.0.113.9".parse().unwrap();
    let target = Id::from_bytes([5; 20]);
    let now = Instant::from_millis(1_000_000);
    let token = tokens.issue(now, ip, &target);
    g.bench_function("issue", |b| {
        b.iter(|| black_box(tokens.issue(now, black_box(ip), &target)))
    });
    g.bench_function("verify", |b| {
        b.iter(|| black_box(tokens.verify(now, black_box(ip), &target, black_box(&token))))
    });
    g.finish();
}

criterion_group! {
    name = routing;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = benches
}
criterion_main!(routing);
