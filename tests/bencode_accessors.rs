//! What users read and call around the codec: error messages name the problem and where
//! it is, and the `Value`/`Dict`/`RawValue` accessors return what they name.

use btdht::bencode::{DecodeOptions, Decoder, Dict, ErrorKind, KeyOrder, Kind, RawValue, Value};
use btdht::krpc::{DecodeErrorKind, Message};
use std::collections::HashSet;

/// One input per bencode error, with the error it must give.
const BAD_BENCODE: &[(&[u8], ErrorKind)] = &[
    (b"i12", ErrorKind::UnexpectedEof),
    (b"x", ErrorKind::InvalidByte),
    (b"e", ErrorKind::UnexpectedEnd),
    (b"i-0e", ErrorKind::NegativeZero),
    (b"i99999999999999999999e", ErrorKind::IntegerOverflow),
    (b"i1x2e", ErrorKind::InvalidInteger),
    (b"01:a", ErrorKind::LeadingZero),
    (b"1x", ErrorKind::InvalidLength),
    (b"9:abc", ErrorKind::LengthPastEnd),
    (b"di1ei2ee", ErrorKind::NonStringKey),
    (b"d1:ai1e1:ai2ee", ErrorKind::DuplicateKey),
    (b"d1:bi1e1:ai2ee", ErrorKind::UnsortedKey),
    (b"i1ei2e", ErrorKind::TrailingBytes),
];

#[test]
fn every_bencode_error_says_what_and_at_which_byte() {
    let sorted = DecodeOptions::new().key_order(KeyOrder::Sorted);
    let mut messages = HashSet::new();
    for (input, kind) in BAD_BENCODE {
        let err = Value::decode_with(input, sorted).expect_err("invalid input");
        assert_eq!(err.kind(), *kind, "{:?}", String::from_utf8_lossy(input));
        let text = err.to_string();
        assert!(text.starts_with("bencode: "), "{text}");
        assert!(
            text.ends_with(&format!("at byte {}", err.offset())),
            "{text}"
        );
        messages.insert(err.kind().to_string());
    }
    let depth = "l".repeat(40) + &"e".repeat(40);
    let err = Value::decode(depth.as_bytes()).expect_err("too deep");
    assert_eq!(err.kind(), ErrorKind::DepthExceeded);
    messages.insert(err.kind().to_string());
    // Each kind has its own message.
    assert_eq!(messages.len(), 14, "{messages:?}");
}

#[test]
fn a_typed_read_of_the_wrong_kind_names_the_kind_expected() {
    for (input, expected) in [
        (&b"i1e"[..], "a byte string"),
        (b"1:a", "an integer"),
        (b"1:a", "a list"),
        (b"1:a", "a dictionary"),
    ] {
        let mut d = Decoder::new(input);
        let err = match expected {
            "a byte string" => d.expect_bytes().map(|_| ()),
            "an integer" => d.expect_int().map(|_| ()),
            "a list" => d.expect_list(),
            _ => d.expect_dict().map(|_| ()),
        }
        .expect_err("wrong kind");
        assert!(matches!(err.kind(), ErrorKind::TypeMismatch { .. }));
        assert_eq!(err.kind().to_string(), format!("expected {expected}"));
    }
}

#[test]
fn krpc_errors_name_the_wire_key_at_fault() {
    let cases: &[(&[u8], &str)] = &[
        (b"d1:y1:qe", "missing key 't'"),
        (b"d1:t2:aa1:y1:qe", "missing key 'q'"),
        (b"d1:q4:ping1:t2:aa1:y1:qe", "missing key 'a'"),
        (
            b"d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe",
            "key 'id' has an invalid value",
        ),
        (
            b"d1:rd2:id20:abcdefghij01234567895:nodes3:abce1:t2:aa1:y1:re",
            "key 'nodes' has a length",
        ),
        (b"d1:t2:aa1:y1:xe", "'y' is not q, r or e"),
        (b"li1ee", "message is not a dictionary"),
        (b"d1:t2:aa1:yi1ee", "key 'y' has the wrong type"),
    ];
    for (input, want) in cases {
        let err = Message::decode(input).expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains(want), "{text:?} should say {want:?}");
        assert!(err.offset() <= input.len());
        if let DecodeErrorKind::MissingField(f)
        | DecodeErrorKind::InvalidValue(f)
        | DecodeErrorKind::WrongType(f)
        | DecodeErrorKind::CompactLength(f) = err.kind()
        {
            assert!(text.contains(&format!("'{}'", f.key())));
            assert_eq!(f.to_string(), f.key());
        }
    }
}

#[test]
fn value_accessors_return_only_the_variant_they_name() {
    let v = Value::decode(b"d1:ai7e1:b2:hi1:lli1eee").unwrap();
    let d = v.as_dict().expect("a dict");
    assert_eq!(d.get(b"a").and_then(|v| v.as_int()), Some(7));
    assert_eq!(d.get(b"b").and_then(|v| v.as_bytes()), Some(&b"hi"[..]));
    assert_eq!(
        d.get(b"l").and_then(|v| v.as_list()).map(|l| l.len()),
        Some(1)
    );
    assert_eq!(v.get(b"a"), d.get(b"a"));
    assert_eq!(d.get(b"a").and_then(|v| v.as_bytes()), None);
    assert_eq!(d.get(b"b").and_then(|v| v.as_int()), None);
    assert!(d.get(b"b").and_then(|v| v.as_list()).is_none());
    assert!(d.get(b"a").and_then(|v| v.as_dict()).is_none());
    assert_eq!(d.get(b"zz"), None);
    assert_eq!(v.as_int(), None);
    assert_eq!(v.as_bytes(), None);
    assert!(v.as_list().is_none());
    let kinds: Vec<Kind> = d.iter().map(|(_, v)| v.kind()).collect();
    assert_eq!(kinds, [Kind::Int, Kind::Bytes, Kind::List]);
    assert_eq!(v.kind(), Kind::Dict);
}

#[test]
fn a_document_reads_lists_and_dicts_by_index_key_and_iteration_in_both_directions() {
    let doc = Value::decode(b"d1:cli1ei2ei3ee1:ai0e1:bd1:xi9eee").unwrap();
    let d = doc.as_dict().expect("a dict");
    assert_eq!((d.len(), d.is_empty()), (3, false));
    assert!(d.contains_key(b"b") && !d.contains_key(b"z"));
    let keys: Vec<&[u8]> = d.keys().collect();
    assert_eq!(
        keys,
        [&b"a"[..], b"b", b"c"],
        "ascending, though unsorted in the input"
    );
    let rev: Vec<&[u8]> = d.iter().rev().map(|(k, _)| k).collect();
    assert_eq!(rev, [&b"c"[..], b"b", b"a"]);
    let l = d.get(b"c").and_then(|v| v.as_list()).expect("a list");
    assert_eq!((l.len(), l.is_empty()), (3, false));
    assert_eq!(l.get(1).and_then(|v| v.as_int()), Some(2));
    assert_eq!(l.get(3), None);
    let ints: Vec<i64> = l.into_iter().filter_map(|v| v.as_int()).collect();
    assert_eq!(ints, [1, 2, 3]);
    let back: Vec<i64> = l.iter().rev().filter_map(|v| v.as_int()).collect();
    assert_eq!(back, [3, 2, 1]);
    assert_eq!(l.iter().len(), 3);
    assert_eq!(
        doc.get(b"b")
            .and_then(|v| v.get(b"x"))
            .and_then(|v| v.as_int()),
        Some(9)
    );
    let pairs: Vec<(&[u8], i64)> = d
        .get(b"b")
        .and_then(|v| v.as_dict())
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, v.as_int()?)))
        .collect();
    assert_eq!(pairs, [(&b"x"[..], 9)]);
    let empty = Value::decode(b"le").unwrap();
    assert!(
        empty
            .as_list()
            .is_some_and(|l| l.is_empty() && l.iter().next().is_none())
    );
}

#[test]
fn a_document_converts_to_the_value_it_equals_and_prints_like_it() {
    let input = b"d1:ali1e2:xye1:bd1:ci-5eee";
    let doc = Value::decode(input).unwrap();
    let owned = doc.to_value();
    assert_eq!(doc, owned);
    assert_eq!(owned, doc);
    assert_eq!(owned.to_vec(), doc.to_vec());
    assert_eq!(doc.to_vec(), input);
    assert_eq!(doc.clone(), doc);
    assert_ne!(doc, Value::decode(b"d1:ali1e2:xye1:bd1:ci-6eee").unwrap());
    assert_ne!(doc, Value::Int(1));
    assert_eq!(
        format!("{doc:?}"),
        "{[97]: [Int(1), Bytes([120, 121])], [98]: {[99]: Int(-5)}}"
    );
}

#[test]
fn a_dict_keeps_its_keys_sorted_through_insert_and_remove() {
    let mut d = Dict::new();
    assert!(d.is_empty());
    assert_eq!(d.insert(b"b", Value::Int(2)), None);
    assert_eq!(d.insert(b"a", Value::Int(1)), None);
    assert_eq!(
        d.insert(b"b", Value::Int(3)),
        Some(Value::Int(2)),
        "replaced"
    );
    assert_eq!(d.len(), 2);
    let keys: Vec<&[u8]> = d.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [&b"a"[..], b"b"]);
    assert_eq!(Value::Dict(d.clone()).to_vec(), b"d1:ai1e1:bi3ee");
    assert_eq!(d.remove(b"a"), Some(Value::Int(1)));
    assert_eq!(d.remove(b"a"), None);
    assert_eq!(d.into_entries(), vec![(&b"b"[..], Value::Int(3))]);
    assert_eq!(Dict::default(), Dict::new());
}

#[test]
fn encode_buf_writes_what_encode_writes_and_refuses_a_short_buffer() {
    let v = Value::decode(b"d1:ali1e2:xye1:bi-5ee").unwrap();
    let mut out = bytes::BytesMut::new();
    assert_eq!(v.encode_buf(&mut out), Ok(v.encoded_len()));
    assert_eq!(&out[..], v.to_vec());
    let mut small = [0u8; 4];
    let mut short = &mut small[..];
    let err = v.encode_buf(&mut short).expect_err("4 bytes is too few");
    assert!(
        err.to_string().contains(&v.encoded_len().to_string()),
        "{err}"
    );
}

#[test]
fn a_raw_value_reads_back_as_a_value_and_debug_escapes_binary_bytes() {
    let raw = RawValue::new(b"3:a\x00b").unwrap();
    assert_eq!(
        raw.decode().map(|d| d.to_value()),
        Ok(Value::Bytes(b"a\x00b"))
    );
    assert_eq!(format!("{raw:?}"), "RawValue(3:a\\x00b)");
}
