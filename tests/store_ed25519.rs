//! BEP 44 signatures with the `ed25519` feature: the official vectors sign and verify,
//! the constructed `put` messages are stored by a node, and tampering is refused.
#![cfg(feature = "ed25519")]

mod common;

use btdht::bencode::RawValue;
use btdht::krpc::{Body, ErrorCode, Message, QueryKind};
use btdht::store::{
    Ed25519Signer, Ed25519Verifier, ItemError, ItemStore, ItemStoreConfig, SignatureSigner,
    SignatureVerifier, Stored, mutable_target, sign_item, signed_buffer,
};
use btdht::time::Instant;
use common::{unhex, vectors};

struct Case {
    name: String,
    value: Vec<u8>,
    salt: Vec<u8>,
    seq: i64,
    key: [u8; 32],
    expanded: [u8; 64],
    signature: [u8; 64],
}

fn mutable_cases() -> Vec<Case> {
    let doc = vectors("bep44_items.json");
    let hex = |c: &serde_json::Value, k: &str| unhex(c[k].as_str().unwrap());
    doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "mutable")
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            value: hex(c, "value_bencoded_hex"),
            salt: c["salt_ascii"].as_str().unwrap().as_bytes().to_vec(),
            seq: c["seq"].as_i64().unwrap(),
            key: hex(c, "public_key").try_into().unwrap(),
            expanded: hex(c, "private_key_expanded").try_into().unwrap(),
            signature: hex(c, "signature").try_into().unwrap(),
        })
        .collect()
}

#[test]
fn the_expanded_vector_key_gives_the_published_public_key() {
    let cases = mutable_cases();
    assert_eq!(cases.len(), 2);
    for c in &cases {
        assert_eq!(
            Ed25519Signer::from_expanded(&c.expanded).public_key(),
            c.key,
            "{}",
            c.name
        );
    }
}

#[test]
fn signing_the_vectors_signed_buffer_reproduces_the_published_signature() {
    for c in mutable_cases() {
        let signer = Ed25519Signer::from_expanded(&c.expanded);
        let v = RawValue::new(&c.value).unwrap();
        // The salt is bencoded into the signed buffer (`4:salt6:foobar...`), raw in the target.
        assert_eq!(
            sign_item(&signer, &c.salt, c.seq, v).unwrap(),
            c.signature,
            "{}",
            c.name
        );
    }
}

#[test]
fn the_published_signatures_verify_and_any_changed_byte_does_not() {
    for c in mutable_cases() {
        let v = RawValue::new(&c.value).unwrap();
        let buf = signed_buffer(&c.salt, c.seq, v).unwrap();
        assert!(
            Ed25519Verifier.verify(&c.key, &buf, &c.signature),
            "{}",
            c.name
        );
        let mut other_seq = signed_buffer(&c.salt, c.seq + 1, v).unwrap();
        assert!(!Ed25519Verifier.verify(&c.key, &other_seq, &c.signature));
        other_seq.clear();
        for i in [0, 31, 63] {
            let mut sig = c.signature;
            sig[i] ^= 1;
            assert!(!Ed25519Verifier.verify(&c.key, &buf, &sig), "sig byte {i}");
        }
        let mut key = c.key;
        key[5] ^= 0x10;
        assert!(!Ed25519Verifier.verify(&key, &buf, &c.signature));
    }
}

#[test]
fn a_signature_over_the_salt_hashed_raw_instead_of_bencoded_does_not_verify() {
    let c = mutable_cases()
        .into_iter()
        .find(|c| !c.salt.is_empty())
        .unwrap();
    let v = RawValue::new(&c.value).unwrap();
    // The wrong buffer: the salt without its `4:salt6:` prefix.
    let mut wrong = c.salt.clone();
    wrong.extend_from_slice(&signed_buffer(b"", c.seq, v).unwrap());
    assert!(!Ed25519Verifier.verify(&c.key, &wrong, &c.signature));
}

#[test]
fn a_key_from_a_32_byte_secret_signs_what_the_verifier_accepts() {
    let signer = Ed25519Signer::from_secret_key(&[7; 32]);
    let v = RawValue::new(b"d1:ai1ee").unwrap();
    let sig = sign_item(&signer, b"salt", 9, v).unwrap();
    let buf = signed_buffer(b"salt", 9, v).unwrap();
    assert!(Ed25519Verifier.verify(&signer.public_key(), &buf, &sig));
    // Deterministic (RFC 8032): the same item signs the same.
    assert_eq!(sign_item(&signer, b"salt", 9, v).unwrap(), sig);
    assert_ne!(
        Ed25519Signer::from_secret_key(&[8; 32]).public_key(),
        signer.public_key()
    );
}

#[test]
fn sign_item_refuses_what_no_node_stores() {
    let signer = Ed25519Signer::from_secret_key(&[7; 32]);
    let v = RawValue::new(b"1:x").unwrap();
    assert_eq!(
        sign_item(&signer, &[0; 65], 1, v),
        Err(ItemError::SaltTooBig)
    );
    assert_eq!(sign_item(&signer, b"", -1, v), Err(ItemError::InvalidSeq));
    let mut big = b"998:".to_vec();
    big.resize(1002, b'a');
    let big = RawValue::new(&big).unwrap();
    assert_eq!(sign_item(&signer, b"", 1, big), Err(ItemError::ValueTooBig));
}

#[test]
fn the_constructed_mutable_puts_are_stored_under_their_targets_with_the_ed25519_verifier() {
    let doc = vectors("bep44_items.json");
    let mut stored = 0;
    for m in doc["constructed_messages"].as_array().unwrap() {
        let bytes = unhex(m["hex"].as_str().unwrap());
        let msg = Message::decode(&bytes).unwrap();
        let Body::Query(q) = msg.body else { continue };
        let QueryKind::Put(put) = q.kind else {
            continue;
        };
        let Some(mp) = &put.mutable else { continue };
        let mut store = ItemStore::new(ItemStoreConfig::default());
        let from = "192.0.2.1".parse().unwrap();
        let now = Instant::from_millis(0);
        let (target, how) = store
            .put(now, from, &put, Some(Ed25519Verifier))
            .unwrap_or_else(|e| panic!("{}: {e}", m["name"]));
        assert_eq!(how, Stored::Added);
        assert_eq!(target, mutable_target(mp.key, mp.salt.unwrap_or_default()));
        // The same put with one value byte changed: 206.
        let mut tampered = bytes.clone();
        let at = tampered.windows(5).position(|w| w == b"World").unwrap();
        tampered[at] ^= 0x20; // "Hello world!"
        let msg = Message::decode(&tampered).unwrap();
        let Body::Query(q) = msg.body else {
            unreachable!()
        };
        let QueryKind::Put(put) = q.kind else {
            unreachable!()
        };
        let mut fresh = ItemStore::new(ItemStoreConfig::default());
        let err = fresh
            .put(now, from, &put, Some(Ed25519Verifier))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidSignature);
        stored += 1;
    }
    assert_eq!(stored, 2, "the two constructed mutable puts");
}
