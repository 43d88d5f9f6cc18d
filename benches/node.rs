//! Answering an incoming query end to end (decode, rate limit, table, token, closest
//! nodes, peers from the store, encode into the caller's buffer) on a table of 200+
//! nodes and a store of 1 000 info-hashes, next to a bare `Message::decode` of the same
//! query in the same run. `get_peers` asks for an info-hash the node does not store (an
//! answer with nodes), `get_peers_values` for one with 100 stored peers (43 sampled).

#[path = "../tests/common/populated.rs"]
mod populated;

use btdht::krpc::Message;
use btdht::time::Instant;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn with_id(template: &[u8], id: &[u8; 20]) -> Vec<u8> {
    let mut q = template.to_vec();
    let at = q
        .windows(20)
        .position(|w| w == b"abcdefghij0123456789")
        .unwrap();
    q[at..at + 20].copy_from_slice(id);
    q
}

fn serve(c: &mut Criterion) {
    let mut dht = populated::populated();
    let known = dht
        .table(btdht::addr::Family::V4)
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .node();
    let cases = [
        ("ping", with_id(b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", known.id.as_bytes())),
        (
            "find_node",
            with_id(
                b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
                known.id.as_bytes(),
            ),
        ),
        (
            "get_peers",
            with_id(
                b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe",
                known.id.as_bytes(),
            ),
        ),
        (
            "get_peers_values",
            with_id(
                &[
                    &b"d1:ad2:id20:abcdefghij01234567899:info_hash20:"[..],
                    populated::STORED,
                    b"e1:q9:get_peers1:t2:aa1:y1:qe",
                ]
                .concat(),
                known.id.as_bytes(),
            ),
        ),
    ];
    let mut buf = [0u8; 1500];
    let mut g = c.benchmark_group("serve");
    for (name, query) in &cases {
        g.bench_function(format!("{name}/decode_only"), |b| {
            b.iter(|| black_box(Message::decode(black_box(query)).is_ok()))
        });
        // Time stands still, so only the answer is measured (no timers firing).
        let now = Instant::from_millis(10);
        g.bench_function(format!("{name}/answer"), |b| {
            b.iter(|| {
                dht.handle_datagram(now, known.addr, black_box(query));
                black_box(dht.poll_transmit(now, &mut buf))
            })
        });
    }
    g.finish();
    paired_ratios(&mut dht, known.addr, &cases);
}

/// The goals are ratios (answer / bare decode), and this machine's speed drifts from
/// one criterion window to the next by more than the goals' margins. So the ratio is
/// also measured paired: short alternating rounds of decodes and answers, one ratio per
/// round, and the median of those ratios is printed. Drift then hits both sides of
/// every ratio alike.
fn paired_ratios(
    dht: &mut btdht::node::Dht,
    from: std::net::SocketAddr,
    cases: &[(&str, Vec<u8>)],
) {
    use std::time::Instant as Clock;
    const ROUNDS: usize = 301;
    const PER_ROUND: u32 = 2_000;
    let mut buf = [0u8; 1500];
    let now = Instant::from_millis(10);
    for (name, query) in cases {
        let mut ratios = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Clock::now();
            for _ in 0..PER_ROUND {
                black_box(Message::decode(black_box(query)).is_ok());
            }
            let decode = start.elapsed();
            let start = Clock::now();
            for _ in 0..PER_ROUND {
                dht.handle_datagram(now, from, black_box(query));
                black_box(dht.poll_transmit(now, &mut buf));
            }
            let answer = start.elapsed();
            ratios.push(answer.as_secs_f64() / decode.as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "serve/{name}/ratio answer/decode, paired: median {:.2}x (p10 {:.2}x, p90 {:.2}x; {ROUNDS} rounds of {PER_ROUND})",
            ratios[ROUNDS / 2],
            ratios[ROUNDS / 10],
            ratios[ROUNDS * 9 / 10],
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = serve
}
criterion_main!(benches);
