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
//! - `routing_fill/<impl>/10000`: one insert while filling a fresh table: each timed run
//!   builds a table from empty with the 10 000 inserts of `inputs(10_000)` and reports
//!   the time per insert (the fill's time over 10 000). Most of these inserts meet a full
//!   bucket (btdht adds ~90, mainline ~190).
//! - `routing_insert/<impl>/10000`: one insert of a fresh node (new random id, new
//!   address) into the table built from 10 000 attempted inserts, that is a table
//!   already full at every distance those ids reach. Each timed run clones the table
//!   (untimed) and inserts up to 256 distinct fresh nodes into the clone, so the table
//!   stays within 10 000–10 256 attempted inserts. mainline's `Node`s (an `Arc` holding a
//!   clock reading) are built beforehand, untimed, in both groups.
//!
//! The machine's speed drifts between criterion's measurement windows, so before the
//! groups run the bench also measures the two insert ratios paired: short rounds that
//! alternate btdht and mainline on the same work (201 rounds of one whole fill each;
//! 1 024 rounds of the same 256 fresh nodes into a clone of each table), one ratio
//! mainline/btdht per round. It prints the median and p10–p90 and writes them to
//! `target/criterion/routing_paired/<group>.json` for `report.py`.
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

/// Fills a fresh btdht table with every node of `nodes`; returns the time the inserts
/// took.
fn btdht_fill(own: Id, nodes: &[Node]) -> Duration {
    let now = Instant::from_millis(0);
    let mut t = RoutingTable::new(own, Family::V4, RoutingConfig::default());
    let start = std::time::Instant::now();
    for node in nodes {
        black_box(t.on_response(now, *node, Some(Duration::from_millis(50))));
    }
    let elapsed = start.elapsed();
    drop(black_box(t));
    elapsed
}

/// Fills a fresh mainline table with `nodes` (cloned beforehand, untimed).
fn mainline_fill(own: mainline::Id, nodes: &[mainline::Node]) -> Duration {
    let mut t = mainline::RoutingTable::new(own);
    let batch = nodes.to_vec();
    let start = std::time::Instant::now();
    for node in batch {
        black_box(t.add(node));
    }
    let elapsed = start.elapsed();
    drop(black_box(t));
    elapsed
}

/// `m` fresh nodes from `fresh[off..]` into a clone of `table`; the inserts' time.
fn btdht_batch(table: &RoutingTable, fresh: &[Node], off: usize, m: usize) -> Duration {
    let now = Instant::from_millis(1);
    let mut t = table.clone();
    let batch = &fresh[off..off + m];
    let start = std::time::Instant::now();
    for node in batch {
        black_box(t.on_response(now, *node, None));
    }
    start.elapsed()
}

/// The same for mainline (the batch's `Node`s cloned beforehand, untimed).
fn mainline_batch(
    table: &mainline::RoutingTable,
    fresh: &[mainline::Node],
    off: usize,
    m: usize,
) -> Duration {
    let mut t = table.clone();
    let batch: Vec<mainline::Node> = fresh[off..off + m].to_vec();
    let start = std::time::Instant::now();
    for node in batch {
        black_box(t.add(node));
    }
    start.elapsed()
}

/// Runs `rounds` rounds alternating `ours` and `theirs` on the same work (which goes
/// first alternates too; round `r` is passed to both), one ratio theirs/ours per round;
/// prints and saves median and p10–p90. Short rounds: a round the scheduler interrupts
/// is an outlier the median ignores.
fn paired(
    group: &str,
    rounds: usize,
    mut ours: impl FnMut(usize) -> Duration,
    mut theirs: impl FnMut(usize) -> Duration,
) {
    // Warm both up once.
    ours(0);
    theirs(0);
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|r| {
            let (a, b) = if r % 2 == 0 {
                let a = ours(r);
                (a, theirs(r))
            } else {
                let b = theirs(r);
                (ours(r), b)
            };
            b.as_secs_f64() / a.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let (p10, median, p90) = (at(0.1), at(0.5), at(0.9));
    println!(
        "{group}: mainline/btdht paired over {rounds} rounds: median {median:.2}× (p10 {p10:.2}×, p90 {p90:.2}×)"
    );
    let dir = std::path::Path::new("target/criterion/routing_paired");
    let json =
        format!("{{\"rounds\": {rounds}, \"median\": {median}, \"p10\": {p10}, \"p90\": {p90}}}\n");
    if let Err(e) = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join(format!("{group}.json")), json))
    {
        eprintln!("could not save the paired ratio of {group}: {e}");
    }
}

fn insert(c: &mut Criterion) {
    let inp = inputs(INSERT_BASE);
    let (bt, _) = btdht_table(&inp);
    let (ml, _) = mainline_table(&inp);
    let bt_own = Id::from_bytes(inp.own);
    let ml_own = mainline::Id::from(inp.own);
    let bt_nodes: Vec<Node> = inp.nodes.iter().map(|&n| btdht_node(n)).collect();
    let ml_nodes: Vec<mainline::Node> = inp.nodes.iter().map(|&n| mainline_node(n)).collect();
    let bt_fresh: Vec<Node> = inp.fresh.iter().map(|&f| btdht_node(f)).collect();
    let ml_fresh: Vec<mainline::Node> = inp.fresh.iter().map(|&f| mainline_node(f)).collect();

    paired(
        "routing_fill",
        201,
        |_| btdht_fill(bt_own, &bt_nodes),
        |_| mainline_fill(ml_own, &ml_nodes),
    );
    // One round: the same 256 fresh nodes into a clone of each table.
    let chunk = |r: usize| (r % (FRESH / CHUNK)) * CHUNK;
    paired(
        "routing_insert",
        1024,
        |r| btdht_batch(&bt, &bt_fresh, chunk(r), CHUNK),
        |r| mainline_batch(&ml, &ml_fresh, chunk(r), CHUNK),
    );

    let inserts = bt_nodes.len() as u32;
    let mut g = c.benchmark_group("routing_fill");
    g.bench_function(BenchmarkId::new("btdht", INSERT_BASE), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| btdht_fill(bt_own, &bt_nodes))
                .sum::<Duration>()
                / inserts
        })
    });
    g.bench_function(BenchmarkId::new("mainline", INSERT_BASE), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| mainline_fill(ml_own, &ml_nodes))
                .sum::<Duration>()
                / inserts
        })
    });
    g.finish();

    let mut g = c.benchmark_group("routing_insert");
    let mut off = 0usize;
    g.bench_function(BenchmarkId::new("btdht", INSERT_BASE), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let m = left.min(CHUNK as u64) as usize;
                total += btdht_batch(&bt, &bt_fresh, off, m);
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
                total += mainline_batch(&ml, &ml_fresh, off, m);
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
