//! btdht's routing table next to the `mainline` crate's, filled from the same inputs, in
//! one criterion run.
//!
//! Both tables get the same deterministic sequence of random ids at distinct global IPv4
//! addresses (one per IP) — 1 000, 10 000 and 100 000 inserts attempted, with the seeds of
//! `benches/routing.rs`, so btdht's tables are the ones that bench measures. btdht learns
//! each node through `on_response` (the only way into its table); mainline through
//! `RoutingTable::add`. Groups (`report.py` prints them with the ratio mainline/btdht):
//! - `routing_closest/<impl>/<inserts>`: the 8 closest entries to a target, cycling over
//!   1 024 precomputed random targets. btdht: `closest::<8>`; mainline has no count
//!   parameter: `closest` returns its K (20) closest, of which a caller keeps 8.
//! - `routing_insert/<impl>/10000`: one insert of a fresh node (new random id, new
//!   address) into the table built from 10 000 attempted inserts. Each timed run clones
//!   the table (untimed) and inserts up to 256 distinct fresh nodes into the clone, so
//!   the table stays within 10 000–10 256 attempted inserts. mainline's `Node`s (an `Arc`
//!   holding a clock reading) are built beforehand, untimed.
//!
//! Before the benchmarks run, it prints each table's size and how the fresh inserts fare,
//! since the two tables keep different nodes (K = 8 plus a replacement cache and bucket
//! splitting in btdht; K = 20, one bucket per distance, no cache in mainline).

use btdht::Id;
use btdht::addr::Family;
use btdht::routing::{Insert, Liveness, Node, RoutingConfig, RoutingTable};
use btdht::time::Instant;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::collections::HashSet;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

const SIZES: [u32; 3] = [1_000, 10_000, 100_000];
/// Attempted inserts in the table the insert benchmark inserts into.
const INSERT_BASE: u32 = 10_000;
/// Precomputed query targets (a power of two).
const TARGETS: usize = 1024;
/// Precomputed fresh nodes for the insert benchmark (a multiple of `CHUNK`).
const FRESH: usize = 4096;
/// Fresh nodes inserted into one clone of the table.
const CHUNK: usize = 256;

/// xorshift64*: deterministic inputs (the generator of `benches/routing.rs`).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn id(&mut self) -> [u8; 20] {
        let mut b = [0u8; 20];
        for chunk in b.chunks_mut(8) {
            let r = self.next().to_be_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        b
    }
}

/// The `n`th distinct global address (as in `benches/routing.rs`).
fn addr(n: u32) -> SocketAddrV4 {
    let [a, b, c, d] = (0x0100_0000u32.wrapping_add(n)).to_be_bytes();
    SocketAddrV4::new(Ipv4Addr::new(a.max(1), b, c, d), 6881)
}

/// One table's inputs: our id, the nodes inserted in order, query targets and fresh
/// nodes (ids not inserted yet, at addresses the table does not know).
struct Inputs {
    own: [u8; 20],
    nodes: Vec<([u8; 20], SocketAddrV4)>,
    targets: Vec<[u8; 20]>,
    fresh: Vec<([u8; 20], SocketAddrV4)>,
}

fn inputs(inserts: u32) -> Inputs {
    let mut rng = Rng(0x5eed ^ u64::from(inserts));
    let own = rng.id();
    let nodes = (0..inserts).map(|i| (rng.id(), addr(i))).collect();
    let targets = (0..TARGETS).map(|_| rng.id()).collect();
    let fresh = (0..FRESH as u32)
        .map(|j| (rng.id(), addr(10_000_000 + j)))
        .collect();
    Inputs {
        own,
        nodes,
        targets,
        fresh,
    }
}

fn btdht_node((id, a): ([u8; 20], SocketAddrV4)) -> Node {
    Node {
        id: Id::from_bytes(id),
        addr: SocketAddr::V4(a),
    }
}

fn mainline_node((id, a): ([u8; 20], SocketAddrV4)) -> mainline::Node {
    mainline::Node::new(mainline::Id::from(id), a)
}

/// btdht's table and how many nodes it added.
fn btdht_table(inp: &Inputs) -> (RoutingTable, usize) {
    let mut t = RoutingTable::new(
        Id::from_bytes(inp.own),
        Family::V4,
        RoutingConfig::default(),
    );
    let now = Instant::from_millis(0);
    let added = inp
        .nodes
        .iter()
        .filter(|&&n| {
            t.on_response(now, btdht_node(n), Some(Duration::from_millis(50))) == Insert::Added
        })
        .count();
    (t, added)
}

/// mainline's table and how many nodes it accepted.
fn mainline_table(inp: &Inputs) -> (mainline::RoutingTable, usize) {
    let mut t = mainline::RoutingTable::new(mainline::Id::from(inp.own));
    let added = inp
        .nodes
        .iter()
        .filter(|&&n| t.add(mainline_node(n)))
        .count();
    (t, added)
}

/// Table sizes, and how far the two closest-8 answers agree.
fn report_tables() {
    let now = Instant::from_millis(1);
    for n in SIZES {
        let inp = inputs(n);
        let (bt, bt_added) = btdht_table(&inp);
        let (ml, ml_added) = mainline_table(&inp);
        let mut overlap = 0usize;
        for t in &inp.targets {
            let ours: HashSet<[u8; 20]> = bt
                .closest::<8>(&Id::from_bytes(*t), Liveness::NotBad, now)
                .iter()
                .map(|e| *e.id().as_bytes())
                .collect();
            overlap += ml
                .closest(mainline::Id::from(*t))
                .iter()
                .take(8)
                .filter(|m| ours.contains(m.id().as_bytes()))
                .count();
        }
        println!(
            "after {n} inserts: btdht added {bt_added}, holds {} + {} cached in {} buckets; \
             mainline added {ml_added}, holds {}; closest-8 answers share {:.1} of 8 nodes on average",
            bt.len(),
            bt.cached_len(),
            bt.bucket_count(),
            ml.size(),
            overlap as f64 / TARGETS as f64
        );
    }
    let inp = inputs(INSERT_BASE);
    let (bt, _) = btdht_table(&inp);
    let (ml, _) = mainline_table(&inp);
    let mut outcomes: Vec<(String, usize)> = Vec::new();
    for &f in &inp.fresh {
        let label = match bt.clone().on_response(now, btdht_node(f), None) {
            Insert::Rejected(r) => format!("Rejected({r:?})"),
            Insert::PingFirst { .. } => "PingFirst".into(),
            Insert::ReplacedBad { .. } => "ReplacedBad".into(),
            other => format!("{other:?}"),
        };
        match outcomes.iter_mut().find(|(l, _)| *l == label) {
            Some((_, c)) => *c += 1,
            None => outcomes.push((label, 1)),
        }
    }
    let ml_accepted = inp
        .fresh
        .iter()
        .filter(|&&f| ml.clone().add(mainline_node(f)))
        .count();
    println!(
        "one fresh insert into the {INSERT_BASE}-insert tables ({FRESH} fresh nodes): btdht {outcomes:?}; \
         mainline accepts {ml_accepted}, refuses {}",
        FRESH - ml_accepted
    );
}

fn closest(c: &mut Criterion) {
    let now = Instant::from_millis(1);
    let mut g = c.benchmark_group("routing_closest");
    for n in SIZES {
        let inp = inputs(n);
        let (bt, _) = btdht_table(&inp);
        let (ml, _) = mainline_table(&inp);
        let bt_targets: Vec<Id> = inp.targets.iter().map(|t| Id::from_bytes(*t)).collect();
        let ml_targets: Vec<mainline::Id> =
            inp.targets.iter().map(|t| mainline::Id::from(*t)).collect();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("btdht", n), |b| {
            b.iter(|| {
                i = (i + 1) & (TARGETS - 1);
                black_box(bt.closest::<8>(&bt_targets[i], Liveness::NotBad, now).len())
            })
        });
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("mainline", n), |b| {
            b.iter(|| {
                i = (i + 1) & (TARGETS - 1);
                black_box(ml.closest(ml_targets[i]).len().min(8))
            })
        });
    }
    g.finish();
}

fn insert(c: &mut Criterion) {
    let now = Instant::from_millis(1);
    let inp = inputs(INSERT_BASE);
    let (bt, _) = btdht_table(&inp);
    let (ml, _) = mainline_table(&inp);
    let bt_fresh: Vec<Node> = inp.fresh.iter().map(|&f| btdht_node(f)).collect();
    let ml_fresh: Vec<mainline::Node> = inp.fresh.iter().map(|&f| mainline_node(f)).collect();
    let mut g = c.benchmark_group("routing_insert");
    let mut off = 0usize;
    g.bench_function(BenchmarkId::new("btdht", INSERT_BASE), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let m = left.min(CHUNK as u64) as usize;
                let mut t = bt.clone();
                let batch = &bt_fresh[off..off + m];
                let start = std::time::Instant::now();
                for node in batch {
                    black_box(t.on_response(now, *node, None));
                }
                total += start.elapsed();
                off = (off + CHUNK) % FRESH;
                left -= m as u64;
            }
            total
        })
    });
    let mut off = 0usize;
    g.bench_function(BenchmarkId::new("mainline", INSERT_BASE), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let m = left.min(CHUNK as u64) as usize;
                let mut t = ml.clone();
                let batch: Vec<mainline::Node> = ml_fresh[off..off + m].to_vec();
                let start = std::time::Instant::now();
                for node in batch {
                    black_box(t.add(node));
                }
                total += start.elapsed();
                off = (off + CHUNK) % FRESH;
                left -= m as u64;
            }
            total
        })
    });
    g.finish();
}

fn routing(c: &mut Criterion) {
    report_tables();
    closest(c);
    insert(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = routing
}
criterion_main!(benches);
