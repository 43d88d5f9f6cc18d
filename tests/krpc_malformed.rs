//! One test per KRPC decoding rule: every known key with the wrong type, wrong lengths,
//! missing required keys; and the transaction id stays readable for the 203 answer.

use btdht::bencode::{Dict, Value};
use btdht::krpc::{Body, DecodeErrorKind, Field, Message, MessageKind, QueryKind};

const ID: &[u8] = b"abcdefghij0123456789";

fn dict<'a>(entries: &[(&'a [u8], Value<'a>)]) -> Value<'a> {
    Value::Dict(entries.iter().cloned().collect::<Dict<'a>>())
}

/// A query whose `a` dict holds `args` (plus `id` unless overridden).
fn query(method: &[u8], args: &[(&[u8], Value<'_>)]) -> Vec<u8> {
    let mut a: Dict<'_> = [(&b"id"[..], Value::Bytes(ID))].into_iter().collect();
    for (k, v) in args {
        a.insert(k, v.clone());
    }
    dict(&[
        (b"a", Value::Dict(a)),
        (b"q", Value::Bytes(method)),
        (b"t", Value::Bytes(b"tx")),
        (b"y", Value::Bytes(b"q")),
    ])
    .to_vec()
}

fn response(ret: &[(&[u8], Value<'_>)]) -> Vec<u8> {
    let mut r: Dict<'_> = [(&b"id"[..], Value::Bytes(ID))].into_iter().collect();
    for (k, v) in ret {
        r.insert(k, v.clone());
    }
    dict(&[
        (b"r", Value::Dict(r)),
        (b"t", Value::Bytes(b"tx")),
        (b"y", Value::Bytes(b"r")),
    ])
    .to_vec()
}

#[track_caller]
fn fails_with(bytes: &[u8], kind: DecodeErrorKind) {
    let e = Message::decode(bytes).expect_err(&String::from_utf8_lossy(bytes));
    assert_eq!(e.kind(), kind, "{}", String::from_utf8_lossy(bytes));
    assert_eq!(e.transaction_id(), Some(&b"tx"[..]), "t must stay readable");
}

fn wrong_type_for(expected_bytes: bool) -> Value<'static> {
    if expected_bytes {
        Value::Int(1)
    } else {
        Value::Bytes(b"1")
    }
}

#[test]
fn each_known_query_argument_with_the_wrong_type_is_rejected() {
    let cases: &[(&[u8], Field, bool)] = &[
        (b"id", Field::Id, true),
        (b"target", Field::Target, true),
        (b"info_hash", Field::InfoHash, true),
        (b"token", Field::Token, true),
        (b"k", Field::Key, true),
        (b"sig", Field::Signature, true),
        (b"salt", Field::Salt, true),
        (b"port", Field::Port, false),
        (b"implied_port", Field::ImpliedPort, false),
        (b"seed", Field::Seed, false),
        (b"noseed", Field::Noseed, false),
        (b"scrape", Field::Scrape, false),
        (b"seq", Field::Seq, false),
        (b"cas", Field::Cas, false),
        (b"want", Field::Want, false),
    ];
    for (key, field, wants_bytes) in cases {
        let bytes = query(b"ping", &[(key, wrong_type_for(*wants_bytes))]);
        fails_with(&bytes, DecodeErrorKind::WrongType(*field));
    }
    let want_item = query(b"find_node", &[(b"want", Value::List(vec![Value::Int(4)]))]);
    fails_with(&want_item, DecodeErrorKind::WrongType(Field::Want));
}

#[test]
fn each_known_response_field_with_the_wrong_type_is_rejected() {
    let cases: &[(&[u8], Field, bool)] = &[
        (b"id", Field::Id, true),
        (b"nodes", Field::Nodes, true),
        (b"nodes6", Field::Nodes6, true),
        (b"token", Field::Token, true),
        (b"BFsd", Field::BloomSeeds, true),
        (b"BFpe", Field::BloomPeers, true),
        (b"samples", Field::Samples, true),
        (b"k", Field::Key, true),
        (b"sig", Field::Signature, true),
        (b"interval", Field::Interval, false),
        (b"num", Field::Num, false),
        (b"seq", Field::Seq, false),
        (b"values", Field::Values, false),
    ];
    for (key, field, wants_bytes) in cases {
        let bytes = response(&[(key, wrong_type_for(*wants_bytes))]);
        fails_with(&bytes, DecodeErrorKind::WrongType(*field));
    }
    let value_item = response(&[(b"values", Value::List(vec![Value::Int(4)]))]);
    fails_with(&value_item, DecodeErrorKind::WrongType(Field::Values));
}

#[test]
fn each_known_top_level_key_with_the_wrong_type_is_rejected() {
    let base = |k: &'static [u8], v: Value<'static>| {
        let mut d: Dict<'static> = [
            (&b"r"[..], dict(&[(b"id", Value::Bytes(ID))])),
            (b"t", Value::Bytes(b"tx")),
            (b"y", Value::Bytes(b"r")),
        ]
        .into_iter()
        .collect();
        d.insert(k, v);
        Value::Dict(d).to_vec()
    };
    fails_with(
        &base(b"v", Value::Int(1)),
        DecodeErrorKind::WrongType(Field::Version),
    );
    fails_with(
        &base(b"ip", Value::Int(1)),
        DecodeErrorKind::WrongType(Field::Ip),
    );
    fails_with(
        &base(b"ro", Value::Bytes(b"1")),
        DecodeErrorKind::WrongType(Field::ReadOnly),
    );
    fails_with(
        &base(b"r", Value::Int(1)),
        DecodeErrorKind::WrongType(Field::Return),
    );
    fails_with(
        &base(b"a", Value::Int(1)),
        DecodeErrorKind::WrongType(Field::Arguments),
    );
    fails_with(
        &base(b"e", Value::Int(1)),
        DecodeErrorKind::WrongType(Field::Error),
    );
    fails_with(
        &base(b"q", Value::Int(1)),
        DecodeErrorKind::WrongType(Field::Method),
    );
    fails_with(
        &base(b"y", Value::Int(1)),
        DecodeErrorKind::WrongType(Field::Kind),
    );
    let t_int = b"d1:rd2:id20:abcdefghij0123456789e1:ti1e1:y1:re";
    let e = Message::decode(t_int).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::WrongType(Field::TransactionId));
}

#[test]
fn fixed_length_fields_with_another_length_are_rejected() {
    let q = |k: &'static [u8], len: usize| query(b"ping", &[(k, Value::Bytes(&[7u8; 300][..len]))]);
    fails_with(&q(b"id", 19), DecodeErrorKind::InvalidValue(Field::Id));
    fails_with(&q(b"id", 21), DecodeErrorKind::InvalidValue(Field::Id));
    fails_with(
        &q(b"target", 0),
        DecodeErrorKind::InvalidValue(Field::Target),
    );
    fails_with(
        &q(b"info_hash", 40),
        DecodeErrorKind::InvalidValue(Field::InfoHash),
    );
    fails_with(&q(b"k", 31), DecodeErrorKind::InvalidValue(Field::Key));
    fails_with(
        &q(b"sig", 63),
        DecodeErrorKind::InvalidValue(Field::Signature),
    );
    let r = |k: &'static [u8], len: usize| response(&[(k, Value::Bytes(&[7u8; 300][..len]))]);
    fails_with(
        &r(b"BFsd", 255),
        DecodeErrorKind::InvalidValue(Field::BloomSeeds),
    );
    fails_with(
        &r(b"BFpe", 257),
        DecodeErrorKind::InvalidValue(Field::BloomPeers),
    );
    let ip = |len: usize| {
        dict(&[
            (b"ip", Value::Bytes(&[1u8; 20][..len])),
            (b"r", dict(&[(b"id", Value::Bytes(ID))])),
            (b"t", Value::Bytes(b"tx")),
            (b"y", Value::Bytes(b"r")),
        ])
        .to_vec()
    };
    fails_with(&ip(4), DecodeErrorKind::InvalidValue(Field::Ip));
    assert!(Message::decode(&ip(6)).is_ok());
    assert!(Message::decode(&ip(18)).is_ok());
}

#[test]
fn compact_lists_must_hold_whole_entries() {
    let r = |k: &'static [u8], len: usize| response(&[(k, Value::Bytes(&[7u8; 400][..len]))]);
    for (key, field, entry) in [
        (&b"nodes"[..], Field::Nodes, 26),
        (b"nodes6", Field::Nodes6, 38),
        (b"samples", Field::Samples, 20),
    ] {
        fails_with(&r(key, entry + 1), DecodeErrorKind::CompactLength(field));
        fails_with(&r(key, entry - 1), DecodeErrorKind::CompactLength(field));
        assert!(Message::decode(&r(key, entry * 3)).is_ok());
        assert!(Message::decode(&r(key, 0)).is_ok());
    }
    for bad in [0usize, 5, 7, 17, 19] {
        let list = Value::List(vec![Value::Bytes(&[1u8; 32][..bad])]);
        fails_with(
            &response(&[(b"values", list)]),
            DecodeErrorKind::CompactLength(Field::Values),
        );
    }
}

#[test]
fn values_may_mix_ipv4_and_ipv6_peers() {
    let list = Value::List(vec![Value::Bytes(&[1u8; 6]), Value::Bytes(&[2u8; 18])]);
    let bytes = response(&[(b"values", list)]);
    let m = Message::decode(&bytes).unwrap();
    let Body::Response(r) = m.body else { panic!() };
    let peers: Vec<_> = r.values.unwrap().iter().collect();
    assert!(peers[0].is_ipv4() && peers[1].is_ipv6());
}

#[test]
fn ports_outside_u16_are_rejected() {
    for bad in [-1i64, 65_536, i64::MAX] {
        let bytes = query(
            b"announce_peer",
            &[
                (b"info_hash", Value::Bytes(ID)),
                (b"port", Value::Int(bad)),
                (b"token", Value::Bytes(b"tok")),
            ],
        );
        fails_with(&bytes, DecodeErrorKind::InvalidValue(Field::Port));
    }
}

#[test]
fn each_method_requires_its_arguments() {
    let cases: &[(&[u8], Field)] = &[
        (b"find_node", Field::Target),
        (b"get_peers", Field::InfoHash),
        (b"announce_peer", Field::InfoHash),
        (b"get", Field::Target),
        (b"put", Field::Token),
        (b"sample_infohashes", Field::Target),
    ];
    for (method, field) in cases {
        fails_with(&query(method, &[]), DecodeErrorKind::MissingField(*field));
    }
    let announce_without_port = query(
        b"announce_peer",
        &[
            (b"info_hash", Value::Bytes(ID)),
            (b"token", Value::Bytes(b"t")),
        ],
    );
    fails_with(
        &announce_without_port,
        DecodeErrorKind::MissingField(Field::Port),
    );
    let put_without_v = query(b"put", &[(b"token", Value::Bytes(b"t"))]);
    fails_with(&put_without_v, DecodeErrorKind::MissingField(Field::Value));
    let mutable_without_sig = query(
        b"put",
        &[
            (b"token", Value::Bytes(b"t")),
            (b"v", Value::Int(1)),
            (b"k", Value::Bytes(&[1; 32])),
            (b"seq", Value::Int(1)),
        ],
    );
    fails_with(
        &mutable_without_sig,
        DecodeErrorKind::MissingField(Field::Signature),
    );
    let no_id = dict(&[
        (b"a", dict(&[])),
        (b"q", Value::Bytes(b"ping")),
        (b"t", Value::Bytes(b"tx")),
        (b"y", Value::Bytes(b"q")),
    ]);
    fails_with(&no_id.to_vec(), DecodeErrorKind::MissingField(Field::Id));
}

#[test]
fn envelopes_require_t_y_and_the_body_their_kind_names() {
    let e = Message::decode(b"d1:y1:re").unwrap_err();
    assert_eq!(
        e.kind(),
        DecodeErrorKind::MissingField(Field::TransactionId)
    );
    fails_with(b"d1:t2:txe", DecodeErrorKind::MissingField(Field::Kind));
    fails_with(
        b"d1:t2:tx1:y1:re",
        DecodeErrorKind::MissingField(Field::Return),
    );
    fails_with(
        b"d1:t2:tx1:y1:ee",
        DecodeErrorKind::MissingField(Field::Error),
    );
    fails_with(
        b"d1:ad2:id20:abcdefghij0123456789e1:t2:tx1:y1:qe",
        DecodeErrorKind::MissingField(Field::Method),
    );
    fails_with(
        b"d1:q4:ping1:t2:tx1:y1:qe",
        DecodeErrorKind::MissingField(Field::Arguments),
    );
    fails_with(b"d1:t2:tx1:y1:xe", DecodeErrorKind::UnknownKind);
    let e = Message::decode(b"li1ee").unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::NotADictionary);
}

#[test]
fn error_lists_need_a_code_and_a_message() {
    fails_with(
        b"d1:eli201ee1:t2:tx1:y1:ee",
        DecodeErrorKind::InvalidValue(Field::Error),
    );
    fails_with(
        b"d1:ele1:t2:tx1:y1:ee",
        DecodeErrorKind::InvalidValue(Field::Error),
    );
    fails_with(
        b"d1:el3:abc3:abce1:t2:tx1:y1:ee",
        DecodeErrorKind::WrongType(Field::Error),
    );
    let extra =
        Message::decode(b"d1:eli202e3:abci9ee1:t2:tx1:y1:ee").expect("extra items tolerated");
    assert!(matches!(extra.body, Body::Error(_)));
}

#[test]
fn unknown_keys_are_ignored_at_every_level() {
    let m = Message::decode(
        b"d1:ad2:id20:abcdefghij01234567891:nli1eee1:q4:ping1:t2:tx3:xyzd1:ali1eee1:y1:qe",
    )
    .expect("unknown keys ignored");
    assert_eq!(m.transaction_id, b"tx");
    let r = response(&[(b"p", Value::Int(6881)), (b"zz", Value::List(vec![]))]);
    assert!(Message::decode(&r).is_ok());
}

#[test]
fn unknown_methods_decode_with_their_target_for_the_node_to_answer() {
    let bytes = query(b"vote", &[(b"target", Value::Bytes(ID))]);
    let m = Message::decode(&bytes).unwrap();
    let Body::Query(q) = m.body else { panic!() };
    match q.kind {
        QueryKind::Unknown {
            method,
            target,
            info_hash,
        } => {
            assert_eq!(method, b"vote");
            assert_eq!(target.unwrap().as_bytes(), ID);
            assert_eq!(info_hash, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn transaction_ids_of_any_length_are_kept_verbatim() {
    for len in [0usize, 1, 2, 4, 6, 20, 100] {
        let t = vec![0xabu8; len];
        let bytes = dict(&[
            (b"a", dict(&[(b"id", Value::Bytes(ID))])),
            (b"q", Value::Bytes(b"ping")),
            (b"t", Value::Bytes(&t)),
            (b"y", Value::Bytes(b"q")),
        ])
        .to_vec();
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.transaction_id, &t[..]);
        let mut out = [0u8; 300];
        let n = m.encode(&mut out).unwrap();
        assert_eq!(&out[..n], &bytes[..]);
    }
}

#[test]
fn a_malformed_query_still_exposes_its_transaction_id_and_kind() {
    let bytes = query(b"get_peers", &[(b"info_hash", Value::Bytes(b"short"))]);
    let e = Message::decode(&bytes).unwrap_err();
    assert_eq!(e.transaction_id(), Some(&b"tx"[..]));
    assert_eq!(e.message_kind(), Some(MessageKind::Query));
    // When the bencode itself is broken before `t`, there is no id to expose.
    let e = Message::decode(b"d1:ad2:id3:abe1:t2:txe").unwrap_err();
    assert_eq!(e.transaction_id(), None);
}

#[test]
fn flags_read_as_set_only_for_their_documented_values() {
    let bytes = query(
        b"get_peers",
        &[
            (b"info_hash", Value::Bytes(ID)),
            (b"noseed", Value::Int(2)),
            (b"scrape", Value::Int(1)),
        ],
    );
    let m = Message::decode(&bytes).unwrap();
    let Body::Query(q) = m.body else { panic!() };
    assert!(matches!(
        q.kind,
        QueryKind::GetPeers {
            noseed: false,
            scrape: true,
            ..
        }
    ));
    let ro = b"d1:rd2:id20:abcdefghij0123456789e2:roi1e1:t2:tx1:y1:re";
    assert!(Message::decode(ro).unwrap().read_only);
    let ro0 = b"d1:rd2:id20:abcdefghij0123456789e2:roi0e1:t2:tx1:y1:re";
    assert!(!Message::decode(ro0).unwrap().read_only);
}

#[test]
fn encoding_into_a_too_small_buffer_is_an_error_not_a_panic() {
    let bytes = query(b"find_node", &[(b"target", Value::Bytes(ID))]);
    let m = Message::decode(&bytes).unwrap();
    let len = m.encoded_len();
    for size in 0..len {
        let mut out = vec![0u8; size];
        let e = m.encode(&mut out).unwrap_err();
        assert_eq!((e.needed(), e.available()), (len, size));
    }
    let mut v: Vec<u8> = Vec::new();
    assert_eq!(m.encode_buf(&mut v), Ok(len));
    assert_eq!(v, bytes);
}
