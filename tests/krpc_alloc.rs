//! `Message::decode` makes zero heap allocations on the standard benchmark inputs,
//! counted for the calling thread only by the common counting allocator.

mod common;

use btdht::krpc::{Body, CompactList, Message, NodeV4, Response, Values};
use common::counting::allocations_during;
use common::inputs;
use std::net::SocketAddr;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = allocations_during(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert_eq!(
        n, 1,
        "the counting allocator must count, or the other tests prove nothing"
    );
}

#[test]
fn decoding_each_standard_krpc_input_allocates_nothing() {
    for (name, bytes) in [
        ("ping_query", inputs::ping_query()),
        ("find_node_response", inputs::find_node_response()),
        ("get_peers_response", inputs::get_peers_response()),
    ] {
        let (msg, n) = allocations_during(|| Message::decode(&bytes));
        let msg = msg.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 0, "{name}: Message::decode allocated {n} times");
        // Walking the lazy lists allocates nothing either.
        let (count, n) = allocations_during(|| match &msg.body {
            Body::Response(r) => {
                r.nodes.map_or(0, |l| l.iter().count()) + r.values.map_or(0, |v| v.iter().count())
            }
            _ => 0,
        });
        assert_eq!(n, 0, "{name}: iterating allocated");
        if name == "get_peers_response" {
            assert!(count >= 50, "{name}: {count} entries");
        }
    }
}

#[test]
fn encoding_into_a_caller_buffer_allocates_nothing() {
    let bytes = inputs::get_peers_response();
    let msg = Message::decode(&bytes).unwrap();
    let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
    let (written, n) = allocations_during(|| msg.encode(&mut buf));
    assert_eq!(written, Ok(bytes.len()));
    assert_eq!(n, 0);
}

#[test]
fn encoding_a_message_built_from_typed_values_allocates_nothing() {
    let bytes = inputs::get_peers_response();
    let Body::Response(r) = Message::decode(&bytes).unwrap().body else {
        panic!("a response")
    };
    let nodes: Vec<NodeV4> = r.nodes.unwrap().iter().collect();
    let peers: Vec<SocketAddr> = r.values.unwrap().iter().collect();
    let token = r.token.unwrap().to_vec();
    let decoded = Message::decode(&bytes).unwrap();
    let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
    let (written, n) = allocations_during(|| {
        let mut typed = Response::new(r.id);
        typed.nodes = Some(CompactList::from_items(&nodes));
        typed.token = Some(&token);
        typed.values = Some(Values::from_peers(&peers));
        let msg = Message {
            body: Body::Response(typed),
            ..decoded
        };
        msg.encode(&mut buf)
    });
    assert_eq!(written, Ok(bytes.len()));
    assert_eq!(&buf[..bytes.len()], &bytes[..]);
    assert_eq!(n, 0);
}

#[test]
fn malformed_input_is_rejected_without_allocating() {
    let mut bytes = inputs::find_node_response();
    let last = bytes.len() - 1;
    bytes.truncate(last);
    let (r, n) = allocations_during(|| Message::decode(&bytes).is_err());
    assert!(r);
    assert_eq!(n, 0);
}
