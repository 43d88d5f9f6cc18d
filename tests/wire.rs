//! Peer-wire bits of BEP 5 (constructed vectors in tests/vectors/bep5_messages.json).

mod common;

use btdht::wire::{PORT_MESSAGE_LEN, PortMessage, PortMessageError, Reserved};
use common::{unhex, vectors};
use proptest::prelude::*;

fn constructed(kind: &str) -> serde_json::Value {
    let v = vectors("bep5_messages.json");
    v["constructed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap()
        .clone()
}

#[test]
fn the_dht_bit_is_the_last_bit_of_the_reserved_field() {
    let v = constructed("handshake_reserved");
    let bytes: [u8; 8] = unhex(v["hex"].as_str().unwrap()).try_into().unwrap();
    assert_eq!(Reserved::default().with_dht().bytes(), bytes);
    assert!(Reserved(bytes).supports_dht());
    assert!(!Reserved([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]).supports_dht());
    let fast_ext = Reserved([0, 0, 0, 0, 0, 0x10, 0, 0x04]).with_dht();
    assert_eq!(
        fast_ext.bytes(),
        [0, 0, 0, 0, 0, 0x10, 0, 0x05],
        "other bits kept"
    );
}

#[test]
fn port_6881_encodes_as_the_vector() {
    let v = constructed("port_message");
    let mut buf = [0u8; PORT_MESSAGE_LEN];
    PortMessage { port: 6881 }.encode(&mut buf);
    assert_eq!(buf.to_vec(), unhex(v["hex"].as_str().unwrap()));
}

#[test]
fn malformed_port_messages_are_rejected() {
    assert_eq!(
        PortMessage::decode(&[0, 0, 0, 3, 9, 1]),
        Err(PortMessageError::Length)
    );
    assert_eq!(
        PortMessage::decode(&[0, 0, 0, 3, 9, 1, 2, 3]),
        Err(PortMessageError::Length)
    );
    assert_eq!(
        PortMessage::decode(&[0, 0, 0, 4, 9, 1, 2]),
        Err(PortMessageError::LengthPrefix)
    );
    assert_eq!(
        PortMessage::decode(&[0, 0, 0, 3, 8, 1, 2]),
        Err(PortMessageError::WrongId)
    );
}

proptest! {
    #[test]
    fn every_port_round_trips(port in any::<u16>()) {
        let mut buf = [0u8; PORT_MESSAGE_LEN];
        PortMessage { port }.encode(&mut buf);
        prop_assert_eq!(PortMessage::decode(&buf), Ok(PortMessage { port }));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
        let _ = PortMessage::decode(&bytes);
    }
}
