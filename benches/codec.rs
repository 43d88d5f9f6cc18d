//! Codec benchmarks on the five standard inputs (tests/common/inputs.rs): `Message::decode`
//! and `Message::encode` on the three KRPC datagrams, `Value::decode` and
//! `Value::encode` (of the owned tree) on all five. The Rust peers are measured on the same inputs by
//! `benches/compare/`.

#[path = "../tests/common/inputs.rs"]
mod inputs;

use btdht::bencode::Value;
use btdht::krpc::Message;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn codec(c: &mut Criterion) {
    let krpc = [
        ("ping_query", inputs::ping_query()),
        ("find_node_response", inputs::find_node_response()),
        ("get_peers_response", inputs::get_peers_response()),
    ];
    for (name, bytes) in &krpc {
        let msg = Message::decode(bytes).expect("standard input decodes");
        let mut out = vec![0u8; msg.encoded_len()];
        assert_eq!(msg.encode(&mut out), Ok(bytes.len()));
        let mut g = c.benchmark_group(format!("krpc/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("decode", |b| {
            b.iter(|| black_box(Message::decode(black_box(bytes)).is_ok()))
        });
        g.bench_function("encode", |b| {
            b.iter(|| black_box(black_box(&msg).encode(&mut out).is_ok()))
        });
        g.finish();
    }
    let torrent = inputs::torrent_like();
    let heavy = inputs::torrent_heavy();
    for (name, bytes) in krpc
        .iter()
        .map(|(n, b)| (*n, b))
        .chain([("torrent_like", &torrent), ("torrent_heavy", &heavy)])
    {
        // `Value::encode` of the owned tree, as before decoding returned a `Document`.
        let doc = Value::decode(bytes).expect("standard input decodes");
        let value = doc.to_value();
        let mut out = vec![0u8; value.encoded_len()];
        let mut g = c.benchmark_group(format!("value/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("decode", |b| {
            b.iter(|| black_box(Value::decode(black_box(bytes)).is_ok()))
        });
        g.bench_function("encode", |b| {
            b.iter(|| black_box(black_box(&value).encode(&mut out).is_ok()))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = codec
}
criterion_main!(benches);
