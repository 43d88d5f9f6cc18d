//! BEP 44 signature costs: building the signed buffer, and (feature `ed25519`) signing
//! and verifying with `Ed25519Signer` / `Ed25519Verifier`, for a small value and the
//! 1000-byte maximum, plus a mutable `put` into the item store with real verification.
//! Run with `cargo bench --features ed25519 --bench items`.

use btdht::bencode::RawValue;
use btdht::store::signed_buffer;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn values() -> [(&'static str, Vec<u8>); 2] {
    let mut max = b"996:".to_vec();
    max.resize(1000, b'x');
    [("16B", b"12:Hello World!".to_vec()), ("1000B", max)]
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("items");
    for (name, value) in values() {
        let v = RawValue::new(&value).unwrap();
        g.bench_function(format!("signed_buffer/{name}"), |b| {
            b.iter(|| black_box(signed_buffer(black_box(b"foobar"), 7, v).unwrap().len()))
        });
    }
    #[cfg(feature = "ed25519")]
    ed25519(&mut g);
    g.finish();
}

#[cfg(feature = "ed25519")]
fn ed25519(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use btdht::krpc::{MutablePut, Put};
    use btdht::store::{
        Ed25519Signer, Ed25519Verifier, ItemStore, ItemStoreConfig, SignatureSigner,
        SignatureVerifier, sign_item,
    };
    use btdht::time::Instant;

    let signer = Ed25519Signer::from_secret_key(&[42; 32]);
    let key = signer.public_key();
    for (name, value) in values() {
        let v = RawValue::new(&value).unwrap();
        let buf = signed_buffer(b"foobar", 7, v).unwrap();
        let sig = signer.sign(&buf);
        g.bench_function(format!("ed25519_sign/{name}"), |b| {
            b.iter(|| black_box(sign_item(&signer, b"foobar", 7, black_box(v)).unwrap()))
        });
        g.bench_function(format!("ed25519_verify/{name}"), |b| {
            b.iter(|| black_box(Ed25519Verifier.verify(&key, black_box(&buf), &sig)))
        });
        // What a storing node pays per mutable put: checks, buffer, verification, store.
        let mut store = ItemStore::new(ItemStoreConfig::default());
        let put = Put {
            token: b"tok",
            value: v,
            mutable: Some(MutablePut {
                key: &key,
                signature: &sig,
                seq: 7,
                salt: Some(b"foobar"),
                cas: None,
            }),
        };
        let from = "203.0.113.9".parse().unwrap();
        let now = Instant::from_millis(1);
        store.put(now, from, &put, Some(Ed25519Verifier)).unwrap();
        g.bench_function(format!("item_put_mutable_ed25519/{name}"), |b| {
            b.iter(|| black_box(store.put(now, from, black_box(&put), Some(Ed25519Verifier))))
        });
    }
}

criterion_group!(items, benches);
criterion_main!(items);
