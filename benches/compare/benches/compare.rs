//! btdht and the Rust bencode peers on the standard inputs, in one criterion run.
//!
//! Groups are named `<input>/<operation>/<implementation>`; `report.py` reads the
//! results and prints the tables and goal ratios. Operations:
//! - `typed_decode`: the KRPC datagram into a typed struct that borrows from the input
//!   (serde with borrowed byte strings: the fastest way a peer decodes KRPC today);
//!   btdht: `Message::decode`.
//! - `encode` (a view copy): that struct back to bytes. The peers serialize the serde
//!   struct of borrowed byte strings into a fresh `Vec` per call; btdht re-encodes the
//!   decoded `Message` into a reused buffer, whose node and peer lists are borrowed views
//!   of the input: a copy of their bytes.
//! - `encode_typed`: the message built from typed values (peers from `SocketAddr`s,
//!   nodes from `NodeV4 { id, addr }` pairs, see `shared/typed.rs`) and encoded into a
//!   reused buffer (`btdht`), beside `floor`: a naive hand-written writer of the same
//!   values into a reused `Vec`, the floor any encoder should beat.
//! - `value_decode` / `value_encode`: each crate's generic value type; btdht: `Value`.
//!   `value_decode` also has `floor_walk`, not a peer: a hand-written walk that checks
//!   the input's structure and builds nothing, the floor under any value decode.

#[path = "../../../tests/common/inputs.rs"]
mod inputs;
#[path = "shared/typed.rs"]
mod typed;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::time::Duration;

type B<'a> = &'a serde_bytes::Bytes;

#[derive(Deserialize, Serialize, Debug)]
struct PingArgs<'a> {
    #[serde(borrow)]
    id: B<'a>,
}

#[derive(Deserialize, Serialize, Debug)]
struct PingQuery<'a> {
    #[serde(borrow)]
    a: PingArgs<'a>,
    #[serde(borrow)]
    q: B<'a>,
    #[serde(borrow)]
    t: B<'a>,
    #[serde(borrow)]
    v: B<'a>,
    #[serde(borrow)]
    y: B<'a>,
}

#[derive(Deserialize, Serialize, Debug)]
struct NodesReturn<'a> {
    #[serde(borrow)]
    id: B<'a>,
    #[serde(borrow)]
    nodes: B<'a>,
}

#[derive(Deserialize, Serialize, Debug)]
struct FindNodeResponse<'a> {
    #[serde(borrow)]
    ip: B<'a>,
    #[serde(borrow)]
    r: NodesReturn<'a>,
    #[serde(borrow)]
    t: B<'a>,
    #[serde(borrow)]
    v: B<'a>,
    #[serde(borrow)]
    y: B<'a>,
}

#[derive(Deserialize, Serialize, Debug)]
struct PeersReturn<'a> {
    #[serde(borrow)]
    id: B<'a>,
    #[serde(borrow)]
    nodes: B<'a>,
    #[serde(borrow)]
    token: B<'a>,
    #[serde(borrow)]
    values: Vec<B<'a>>,
}

#[derive(Deserialize, Serialize, Debug)]
struct GetPeersResponse<'a> {
    #[serde(borrow)]
    ip: B<'a>,
    #[serde(borrow)]
    r: PeersReturn<'a>,
    #[serde(borrow)]
    t: B<'a>,
    #[serde(borrow)]
    v: B<'a>,
    #[serde(borrow)]
    y: B<'a>,
}

/// Checks a typed decode read the right thing, so no benchmark measures a failure.
trait Check {
    fn check(&self);
}
impl Check for PingQuery<'_> {
    fn check(&self) {
        assert_eq!((self.a.id.len(), &self.q[..]), (20, &b"ping"[..]));
    }
}
impl Check for FindNodeResponse<'_> {
    fn check(&self) {
        assert_eq!(self.r.nodes.len(), 208);
    }
}
impl Check for GetPeersResponse<'_> {
    fn check(&self) {
        assert_eq!(self.r.values.len(), 50);
        assert!(self.r.values.iter().all(|v| v.len() == 6));
    }
}

type O = serde_bytes::ByteBuf;

#[derive(Deserialize, Serialize, Debug)]
struct PingArgsOwned {
    id: O,
}

#[derive(Deserialize, Serialize, Debug)]
struct PingQueryOwned {
    a: PingArgsOwned,
    q: O,
    t: O,
    v: O,
    y: O,
}

#[derive(Deserialize, Serialize, Debug)]
struct NodesReturnOwned {
    id: O,
    nodes: O,
}

#[derive(Deserialize, Serialize, Debug)]
struct FindNodeResponseOwned {
    ip: O,
    r: NodesReturnOwned,
    t: O,
    v: O,
    y: O,
}

#[derive(Deserialize, Serialize, Debug)]
struct PeersReturnOwned {
    id: O,
    nodes: O,
    token: O,
    values: Vec<O>,
}

#[derive(Deserialize, Serialize, Debug)]
struct GetPeersResponseOwned {
    ip: O,
    r: PeersReturnOwned,
    t: O,
    v: O,
    y: O,
}

impl Check for PingQueryOwned {
    fn check(&self) {
        assert_eq!((self.a.id.len(), &self.q[..]), (20, &b"ping"[..]));
    }
}
impl Check for FindNodeResponseOwned {
    fn check(&self) {
        assert_eq!(self.r.nodes.len(), 208);
    }
}
impl Check for GetPeersResponseOwned {
    fn check(&self) {
        assert_eq!(self.r.values.len(), 50);
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1200))
        .sample_size(20)
}

/// Benchmarks one peer's typed decode: borrowed if the peer can borrow byte strings,
/// else owned (named `<peer>_owned` in the results).
macro_rules! peer_typed {
    ($g:expr, $bytes:expr, $label:expr, $($f:ident)::+, $ty:ty, $owned:ty) => {{
        let bytes: &[u8] = $bytes;
        match $($f)::+::<$ty>(bytes) {
            Ok(v) => {
                v.check();
                $g.bench_function($label, |b| b.iter(|| black_box($($f)::+::<$ty>(black_box(bytes)).is_ok())));
            }
            Err(_) => {
                $($f)::+::<$owned>(bytes).expect($label).check();
                $g.bench_function(concat!($label, "_owned"), |b| {
                    b.iter(|| black_box($($f)::+::<$owned>(black_box(bytes)).is_ok()))
                });
            }
        }
    }};
}

macro_rules! typed {
    ($c:expr, $name:expr, $bytes:expr, $ty:ty, $owned:ty) => {{
        let bytes: &[u8] = $bytes;
        let mut g = $c.benchmark_group(format!("{}/typed_decode", $name));
        peer_typed!(
            g,
            bytes,
            "serde_bencode",
            serde_bencode::from_bytes,
            $ty,
            $owned
        );
        peer_typed!(g, bytes, "bendy", bendy::serde::from_bytes, $ty, $owned);
        peer_typed!(g, bytes, "bt_bencode", bt_bencode::from_slice, $ty, $owned);
        peer_typed!(
            g,
            bytes,
            "librqbit_bencode",
            librqbit_bencode::from_bytes,
            $ty,
            $owned
        );
        peer_typed!(
            g,
            bytes,
            "serde_bencoded",
            serde_bencoded::from_bytes,
            $ty,
            $owned
        );
        btdht::krpc::Message::decode(bytes).expect("btdht");
        g.bench_function("btdht", |b| {
            b.iter(|| black_box(btdht::krpc::Message::decode(black_box(bytes)).is_ok()))
        });
        g.finish();

        // Every peer serializes the same borrowed struct.
        let typed: $ty = bt_bencode::from_slice(bytes).expect("decodes");
        let msg = btdht::krpc::Message::decode(bytes).expect("decodes");
        let mut buf = vec![0u8; msg.encoded_len()];
        let mut g = $c.benchmark_group(format!("{}/encode", $name));
        g.bench_function("serde_bencode", |b| {
            b.iter(|| black_box(serde_bencode::to_bytes(black_box(&typed)).map(|v| v.len())))
        });
        g.bench_function("bendy", |b| {
            b.iter(|| black_box(bendy::serde::to_bytes(black_box(&typed)).map(|v| v.len())))
        });
        g.bench_function("bt_bencode", |b| {
            b.iter(|| black_box(bt_bencode::to_vec(black_box(&typed)).map(|v| v.len())))
        });
        g.bench_function("librqbit_bencode", |b| {
            b.iter(|| {
                let mut out = Vec::new();
                black_box(
                    librqbit_bencode::bencode_serialize_to_writer(black_box(&typed), &mut out)
                        .map(|_| out.len()),
                )
            })
        });
        g.bench_function("serde_bencoded", |b| {
            b.iter(|| black_box(serde_bencoded::to_vec(black_box(&typed)).map(|v| v.len())))
        });
        g.bench_function("btdht", |b| {
            b.iter(|| black_box(black_box(&msg).encode(&mut buf).is_ok()))
        });
        g.finish();

        // From typed values, into reused buffers: btdht and the hand-written floor.
        let built = typed::Typed::of(bytes);
        let mut out = Vec::with_capacity(bytes.len());
        let mut g = $c.benchmark_group(format!("{}/encode_typed", $name));
        g.bench_function("btdht", |b| {
            b.iter(|| black_box(black_box(&built).message().encode(&mut buf).is_ok()))
        });
        g.bench_function("floor", |b| {
            b.iter(|| {
                black_box(&built).floor(&mut out);
                black_box(out.len())
            })
        });
        g.finish();
        // The same two, paired: their times are close enough that criterion's separate
        // windows (the machine drifts between them) can flip the ratio.
        typed_paired(
            $name,
            || {
                black_box(black_box(&built).message().encode(&mut buf).is_ok());
            },
            || {
                black_box(&built).floor(&mut out);
                black_box(out.len());
            },
        );
    }};
}

/// Rounds of 20 000 calls of `ours` and of `floor`, alternating (which goes first
/// alternates too), one ratio ours/floor per round; prints and saves the median and
/// p10–p90 in `target/criterion/encode_paired/<input>.json` for `report.py`. A round the
/// scheduler interrupts is an outlier the median ignores.
fn typed_paired(name: &str, mut ours: impl FnMut(), mut floor: impl FnMut()) {
    const ROUNDS: usize = 301;
    const CALLS: usize = 20_000;
    // Generic, not `dyn`: each loop is compiled for its own closure, no indirect call.
    fn time(f: &mut impl FnMut()) -> f64 {
        let start = std::time::Instant::now();
        for _ in 0..CALLS {
            f();
        }
        start.elapsed().as_secs_f64()
    }
    time(&mut ours);
    time(&mut floor);
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|r| {
            let (a, b) = if r % 2 == 0 {
                let a = time(&mut ours);
                (a, time(&mut floor))
            } else {
                let b = time(&mut floor);
                (time(&mut ours), b)
            };
            a / b
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let (p10, median, p90) = (at(0.1), at(0.5), at(0.9));
    println!(
        "{name}/encode_typed: btdht/floor paired over {ROUNDS} rounds: median {median:.2}× (p10 {p10:.2}×, p90 {p90:.2}×)"
    );
    let dir = std::path::Path::new("target/criterion/encode_paired");
    let json =
        format!("{{\"rounds\": {ROUNDS}, \"median\": {median}, \"p10\": {p10}, \"p90\": {p90}}}\n");
    if let Err(e) = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join(format!("{name}.json")), json))
    {
        eprintln!("could not save the paired ratio of {name}: {e}");
    }
}

/// The floor: walks one value, checking lengths, integer digits, nesting and the end,
/// and counts the values without building anything (no key rules, no allocation).
fn floor_walk(input: &[u8]) -> Option<usize> {
    fn value(input: &[u8], pos: &mut usize, depth: usize, count: &mut usize) -> Option<()> {
        *count += 1;
        match *input.get(*pos)? {
            b'i' => {
                let mut p = *pos + 1;
                if input.get(p) == Some(&b'-') {
                    p += 1;
                }
                let digits = p;
                while input.get(p)?.is_ascii_digit() {
                    p += 1;
                }
                (p > digits && input.get(p) == Some(&b'e')).then_some(())?;
                *pos = p + 1;
            }
            b'0'..=b'9' => {
                let mut p = *pos;
                let mut len = 0usize;
                while let Some(d @ b'0'..=b'9') = input.get(p) {
                    len = len.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
                    p += 1;
                }
                (input.get(p) == Some(&b':')).then_some(())?;
                let end = (p + 1).checked_add(len)?;
                (end <= input.len()).then_some(())?;
                *pos = end;
            }
            b'l' | b'd' => {
                let depth = depth.checked_sub(1)?;
                *pos += 1;
                while *input.get(*pos)? != b'e' {
                    value(input, pos, depth, count)?;
                }
                *pos += 1;
            }
            _ => return None,
        }
        Some(())
    }
    let mut pos = 0;
    let mut count = 0;
    value(input, &mut pos, 32, &mut count)?;
    (pos == input.len()).then_some(count)
}

fn values(c: &mut Criterion, name: &str, bytes: &[u8]) {
    use bendy::decoding::FromBencode;
    let mut g = c.benchmark_group(format!("{name}/value_decode"));
    // Criterion records the input size with each result (report.py prints it, and GB/s).
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    floor_walk(bytes).expect("the floor walks every standard input");
    g.bench_function("floor_walk", |b| {
        b.iter(|| black_box(floor_walk(black_box(bytes)).is_some()))
    });
    serde_bencode::from_bytes::<serde_bencode::value::Value>(bytes).expect("serde_bencode value");
    g.bench_function("serde_bencode", |b| {
        b.iter(|| {
            black_box(
                serde_bencode::from_bytes::<serde_bencode::value::Value>(black_box(bytes)).is_ok(),
            )
        })
    });
    // bendy's `Value::from_bencode` caps nesting at its encoder's depth, which the torrent
    // input exceeds: decode through a decoder with a depth like the others'.
    let bendy_value =
        |bytes: &[u8]| -> Result<bendy::value::Value<'static>, bendy::decoding::Error> {
            let mut d = bendy::decoding::Decoder::new(bytes).with_max_depth(64);
            match d.next_object()? {
                Some(obj) => bendy::value::Value::decode_bencode_object(obj),
                None => Err(bendy::decoding::Error::missing_field("value")),
            }
        };
    bendy_value(bytes).expect("bendy value");
    g.bench_function("bendy", |b| {
        b.iter(|| black_box(bendy_value(black_box(bytes)).is_ok()))
    });
    bt_bencode::from_slice::<bt_bencode::Value>(bytes).expect("bt_bencode value");
    g.bench_function("bt_bencode", |b| {
        b.iter(|| black_box(bt_bencode::from_slice::<bt_bencode::Value>(black_box(bytes)).is_ok()))
    });
    librqbit_bencode::from_bytes::<librqbit_bencode::BencodeValueBorrowed<'_>>(bytes)
        .expect("librqbit value");
    g.bench_function("librqbit_bencode", |b| {
        b.iter(|| {
            black_box(
                librqbit_bencode::from_bytes::<librqbit_bencode::BencodeValueBorrowed<'_>>(
                    black_box(bytes),
                )
                .is_ok(),
            )
        })
    });
    bip_bencode::BencodeRef::decode(bytes, bip_bencode::BDecodeOpt::default())
        .expect("bip_bencode value");
    g.bench_function("bip_bencode", |b| {
        b.iter(|| {
            black_box(
                bip_bencode::BencodeRef::decode(
                    black_box(bytes),
                    bip_bencode::BDecodeOpt::default(),
                )
                .is_ok(),
            )
        })
    });
    g.bench_function("btdht", |b| {
        b.iter(|| black_box(btdht::bencode::Value::decode(black_box(bytes)).is_ok()))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{name}/value_encode"));
    let sv: serde_bencode::value::Value = serde_bencode::from_bytes(bytes).expect("decodes");
    g.bench_function("serde_bencode", |b| {
        b.iter(|| black_box(serde_bencode::to_bytes(black_box(&sv)).map(|v| v.len())))
    });
    let bv: bt_bencode::Value = bt_bencode::from_slice(bytes).expect("decodes");
    g.bench_function("bt_bencode", |b| {
        b.iter(|| black_box(bt_bencode::to_vec(black_box(&bv)).map(|v| v.len())))
    });
    // The owned tree, as before decoding returned a `Document`.
    let doc = btdht::bencode::Value::decode(bytes).expect("decodes");
    let v = doc.to_value();
    let mut buf = vec![0u8; v.encoded_len()];
    g.bench_function("btdht", |b| {
        b.iter(|| black_box(black_box(&v).encode(&mut buf).is_ok()))
    });
    g.finish();
}

fn compare(c: &mut Criterion) {
    let ping = inputs::ping_query();
    let find_node = inputs::find_node_response();
    let get_peers = inputs::get_peers_response();
    let torrent = inputs::torrent_like();
    let heavy = inputs::torrent_heavy();
    typed!(c, "ping_query", &ping, PingQuery<'_>, PingQueryOwned);
    typed!(
        c,
        "find_node_response",
        &find_node,
        FindNodeResponse<'_>,
        FindNodeResponseOwned
    );
    typed!(
        c,
        "get_peers_response",
        &get_peers,
        GetPeersResponse<'_>,
        GetPeersResponseOwned
    );
    for (name, bytes) in [
        ("ping_query", &ping),
        ("find_node_response", &find_node),
        ("get_peers_response", &get_peers),
        ("torrent_like", &torrent),
        ("torrent_heavy", &heavy),
    ] {
        values(c, name, bytes);
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = compare
}
criterion_main!(benches);
