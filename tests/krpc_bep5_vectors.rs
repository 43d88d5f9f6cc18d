//! The official BEP 5 example messages (tests/vectors/bep5_messages.json).

mod common;

use btdht::bencode::Value;
use btdht::krpc::{Body, DecodeErrorKind, ErrorCode, Field, Message, QueryKind};
use common::{unhex, vectors};

fn messages() -> Vec<(String, Vec<u8>)> {
    let v = vectors("bep5_messages.json");
    v["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| {
            let bytes = unhex(m["hex"].as_str().expect("hex"));
            assert_eq!(bytes.len() as u64, m["length"].as_u64().expect("length"));
            (m["name"].as_str().expect("name").to_owned(), bytes)
        })
        .collect()
}

fn has_placeholder_nodes(name: &str) -> bool {
    name == "find_node_response" || name == "get_peers_response_nodes"
}

#[test]
fn every_bep5_example_round_trips_through_value_byte_for_byte() {
    let msgs = messages();
    assert_eq!(msgs.len(), 10);
    for (name, bytes) in &msgs {
        let v = Value::decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&v.to_vec(), bytes, "{name}");
        let mut buf = vec![0u8; v.encoded_len()];
        assert_eq!(v.encode(&mut buf), Ok(bytes.len()), "{name}");
        assert_eq!(&buf, bytes, "{name}");
    }
}

#[test]
fn the_eight_valid_bep5_examples_decode_and_reencode_byte_for_byte() {
    let mut checked = 0;
    for (name, bytes) in messages() {
        if has_placeholder_nodes(&name) {
            continue;
        }
        let m = Message::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.transaction_id, b"aa", "{name}");
        assert_eq!(m.encoded_len(), bytes.len(), "{name}");
        let mut buf = [0u8; 256];
        let n = m.encode(&mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&buf[..n], &bytes[..], "{name}");
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn the_two_examples_with_placeholder_nodes_fail_with_the_compact_length_error() {
    for (name, bytes) in messages() {
        if !has_placeholder_nodes(&name) {
            continue;
        }
        let err = Message::decode(&bytes).expect_err(&name);
        assert_eq!(
            err.kind(),
            DecodeErrorKind::CompactLength(Field::Nodes),
            "{name}"
        );
        assert_eq!(err.transaction_id(), Some(&b"aa"[..]), "{name}");
    }
}

#[test]
fn bep5_examples_decode_to_the_documented_fields() {
    let all: std::collections::HashMap<_, _> = messages().into_iter().collect();
    let m = Message::decode(&all["error_generic"]).unwrap();
    match m.body {
        Body::Error(e) => {
            assert_eq!(e.code, ErrorCode::Generic);
            assert_eq!(e.message, b"A Generic Error Ocurred");
        }
        other => panic!("{other:?}"),
    }
    let m = Message::decode(&all["get_peers_response_values"]).unwrap();
    let Body::Response(r) = m.body else { panic!() };
    let peers: Vec<String> = r.values.unwrap().iter().map(|p| p.to_string()).collect();
    assert_eq!(peers, ["97.120.106.101:11893", "105.100.104.116:28269"]);
    assert_eq!(r.token, Some(&b"aoeusnth"[..]));
    let m = Message::decode(&all["announce_peer_query"]).unwrap();
    let Body::Query(q) = m.body else { panic!() };
    match q.kind {
        QueryKind::AnnouncePeer {
            port,
            implied_port,
            token,
            seed,
            info_hash,
        } => {
            assert_eq!(port, 6881);
            assert!(implied_port);
            assert!(!seed);
            assert_eq!(token, b"aoeusnth");
            assert_eq!(info_hash.as_bytes(), b"mnopqrstuvwxyz123456");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(q.id.as_bytes(), b"abcdefghij0123456789");
}
