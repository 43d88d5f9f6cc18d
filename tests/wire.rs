//! The BEP 5 peer-wire pieces: the handshake's DHT bit and the PORT message, against the
//! constructed examples in tests/vectors/bep5_messages.json.

mod common;

use btdht::wire::{
    DHT_BYTE, DHT_MASK, HANDSHAKE_PREFIX, PORT_MESSAGE_ID, PORT_MESSAGE_LEN, PortMessageError,
    Reserved, decode_port, encode_port, port_message,
};
use common::{unhex, vectors};
use proptest::prelude::*;

/// The constructed example of `kind` (exactly one).
fn constructed(kind: &str) -> serde_json::Value {
    let v = vectors("bep5_messages.json");
    let mut found = v["constructed"]
        .as_array()
        .expect("constructed array")
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(found.len(), 1, "{kind}");
    found.remove(0)
}

fn handshake(reserved: [u8; 8]) -> Vec<u8> {
    let mut h = HANDSHAKE_PREFIX.to_vec();
    h.extend_from_slice(&reserved);
    h.extend_from_slice(&[0xab; 20]); // info-hash
    h.extend_from_slice(&[0xcd; 20]); // peer id
    assert_eq!(h.len(), 68);
    h
}

// ---------------------------------------------------------------- reserved bits

#[test]
fn dht_bit_is_the_low_bit_of_reserved_byte_7() {
    let example = constructed("handshake_reserved");
    let bytes: [u8; 8] = unhex(example["hex"].as_str().expect("hex"))
        .try_into()
        .expect("8 bytes");
    assert_eq!(bytes, [0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!((DHT_BYTE, DHT_MASK), (7, 0x01));
    assert!(Reserved::from_bytes(bytes).supports_dht());
    assert_eq!(Reserved::DHT.as_bytes(), &bytes);
    assert_eq!(Reserved::NONE.with_dht(), Reserved::from_bytes(bytes));
}

#[test]
fn no_other_reserved_bit_means_dht() {
    for byte in 0..8 {
        for bit in 0..8 {
            let mut bytes = [0u8; 8];
            bytes[byte] = 1 << bit;
            let expected = byte == 7 && bit == 0;
            assert_eq!(Reserved::from_bytes(bytes).supports_dht(), expected);
        }
    }
}

#[test]
fn setting_the_dht_bit_keeps_the_other_bits() {
    // LTEP (reserved[5] & 0x10) and Fast (reserved[7] & 0x04) advertised.
    let mut r = Reserved::from_bytes([0, 0, 0, 0, 0, 0x10, 0, 0x04]);
    r.set_dht(true);
    assert_eq!(r.as_bytes(), &[0, 0, 0, 0, 0, 0x10, 0, 0x05]);
    r.set_dht(true);
    assert_eq!(r.as_bytes(), &[0, 0, 0, 0, 0, 0x10, 0, 0x05]);
    r.set_dht(false);
    assert_eq!(r.as_bytes(), &[0, 0, 0, 0, 0, 0x10, 0, 0x04]);
    assert_eq!(
        <[u8; 8]>::from(Reserved::from([0xff; 8]).with_dht()),
        [0xff; 8]
    );
}

#[test]
fn dht_bit_sits_at_handshake_offset_27() {
    let h = handshake(*Reserved::DHT.as_bytes());
    assert_eq!(h[27], 0x01);
    assert_eq!(Reserved::from_handshake(&h), Some(Reserved::DHT));
    assert_eq!(
        Reserved::from_handshake(&handshake([0; 8])),
        Some(Reserved::NONE)
    );
    // The reserved field alone suffices; the rest of the handshake is not needed.
    assert_eq!(Reserved::from_handshake(&h[..28]), Some(Reserved::DHT));
}

#[test]
fn reserved_field_needs_the_protocol_prefix_and_28_bytes() {
    let h = handshake(*Reserved::DHT.as_bytes());
    assert_eq!(Reserved::from_handshake(&h[..27]), None);
    assert_eq!(Reserved::from_handshake(&[]), None);
    let mut wrong = h.clone();
    wrong[0] = 18;
    assert_eq!(Reserved::from_handshake(&wrong), None);
    let mut wrong = h;
    wrong[1] = b'b';
    assert_eq!(Reserved::from_handshake(&wrong), None);
}

// ---------------------------------------------------------------- PORT message

#[test]
fn port_message_for_6881_is_00000003091ae1() {
    let example = constructed("port_message");
    assert_eq!(example["port"], 6881);
    let wire = unhex(example["hex"].as_str().expect("hex"));
    assert_eq!(wire, [0x00, 0x00, 0x00, 0x03, 0x09, 0x1a, 0xe1]);
    assert_eq!(port_message(6881).as_slice(), wire.as_slice());
    let mut buf = [0xee; 10];
    assert_eq!(encode_port(6881, &mut buf), Some(PORT_MESSAGE_LEN));
    assert_eq!(&buf[..PORT_MESSAGE_LEN], wire.as_slice());
    assert_eq!(
        &buf[PORT_MESSAGE_LEN..],
        &[0xee; 3],
        "writes nothing past 7 bytes"
    );
    assert_eq!(decode_port(&wire), Ok(6881));
}

#[test]
fn port_message_is_length_3_id_9_port_big_endian() {
    assert_eq!(PORT_MESSAGE_ID, 9);
    assert_eq!(port_message(0x0102), [0, 0, 0, 3, 9, 0x01, 0x02]);
    assert_eq!(port_message(0), [0, 0, 0, 3, 9, 0, 0]);
    assert_eq!(port_message(u16::MAX), [0, 0, 0, 3, 9, 0xff, 0xff]);
}

#[test]
fn encoding_into_a_short_buffer_writes_nothing() {
    for len in 0..PORT_MESSAGE_LEN {
        let mut buf = vec![0xee; len];
        assert_eq!(encode_port(6881, &mut buf), None, "len {len}");
        assert!(buf.iter().all(|&b| b == 0xee));
    }
}

#[test]
fn truncated_port_messages_are_too_short() {
    let wire = port_message(6881);
    for len in 0..PORT_MESSAGE_LEN {
        assert_eq!(
            decode_port(&wire[..len]),
            Err(PortMessageError::TooShort),
            "len {len}"
        );
    }
}

#[test]
fn a_length_prefix_other_than_3_is_wrong_length() {
    for len in [0u32, 1, 2, 4, 5, 0x0100_0003, u32::MAX] {
        let mut wire = port_message(6881);
        wire[..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            decode_port(&wire),
            Err(PortMessageError::WrongLength { len })
        );
    }
    // A keep-alive is four zero bytes.
    assert_eq!(
        decode_port(&[0, 0, 0, 0]),
        Err(PortMessageError::WrongLength { len: 0 })
    );
}

#[test]
fn a_message_id_other_than_9_is_wrong_id() {
    for id in (0..=255u8).filter(|&id| id != 9) {
        let mut wire = port_message(6881);
        wire[4] = id;
        assert_eq!(decode_port(&wire), Err(PortMessageError::WrongId { id }));
        // Reported even before the port bytes arrive.
        assert_eq!(
            decode_port(&wire[..5]),
            Err(PortMessageError::WrongId { id })
        );
    }
}

#[test]
fn bytes_after_the_port_are_trailing_bytes() {
    let mut wire = port_message(6881).to_vec();
    wire.push(0);
    assert_eq!(decode_port(&wire), Err(PortMessageError::TrailingBytes));
    // Two messages back to back: decode_port takes exactly one.
    let two = [port_message(1), port_message(2)].concat();
    assert_eq!(decode_port(&two), Err(PortMessageError::TrailingBytes));
    assert_eq!(decode_port(&two[..7]), Ok(1));
    assert_eq!(decode_port(&two[7..]), Ok(2));
}

#[test]
fn errors_display_and_are_errors() {
    let errors = [
        PortMessageError::TooShort,
        PortMessageError::WrongLength { len: 0 },
        PortMessageError::WrongId { id: 8 },
        PortMessageError::TrailingBytes,
    ];
    for e in errors {
        let as_error: &dyn core::error::Error = &e;
        assert!(!as_error.to_string().is_empty());
    }
    assert_eq!(
        PortMessageError::WrongId { id: 8 }.to_string(),
        "PORT message: message id 8, expected 9"
    );
}

#[test]
fn all_65536_ports_round_trip() {
    for port in 0..=u16::MAX {
        assert_eq!(decode_port(&port_message(port)), Ok(port));
    }
}

// ---------------------------------------------------------------- properties

proptest! {
    #[test]
    fn every_port_round_trips(port in any::<u16>()) {
        let wire = port_message(port);
        prop_assert_eq!(decode_port(&wire), Ok(port));
        let mut buf = [0u8; PORT_MESSAGE_LEN];
        prop_assert_eq!(encode_port(port, &mut buf), Some(PORT_MESSAGE_LEN));
        prop_assert_eq!(buf, wire);
    }

    #[test]
    fn decode_never_panics_and_accepts_only_exact_port_messages(
        bytes in proptest::collection::vec(any::<u8>(), 0..16)
    ) {
        if let Ok(port) = decode_port(&bytes) {
            prop_assert_eq!(bytes, port_message(port).to_vec());
        }
    }

    #[test]
    fn decode_of_near_port_messages_never_panics(
        port in any::<u16>(), cut in 0usize..=7, extra in proptest::collection::vec(any::<u8>(), 0..3),
        flip in 0usize..7, mask in any::<u8>()
    ) {
        let mut bytes = port_message(port)[..cut].to_vec();
        bytes.extend_from_slice(&extra);
        if let Some(b) = bytes.get_mut(flip) {
            *b ^= mask;
        }
        if let Ok(p) = decode_port(&bytes) {
            prop_assert_eq!(bytes, port_message(p).to_vec());
        }
    }

    #[test]
    fn from_handshake_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Some(r) = Reserved::from_handshake(&bytes) {
            prop_assert_eq!(&bytes[..20], HANDSHAKE_PREFIX.as_slice());
            prop_assert_eq!(&bytes[20..28], r.as_bytes().as_slice());
        }
    }

    #[test]
    fn dht_bit_toggles_only_itself(bytes in any::<[u8; 8]>(), on in any::<bool>()) {
        let mut r = Reserved::from_bytes(bytes);
        r.set_dht(on);
        prop_assert_eq!(r.supports_dht(), on);
        let mut expected = bytes;
        expected[7] = (bytes[7] & !0x01) | u8::from(on);
        prop_assert_eq!(r.as_bytes(), &expected);
    }
}
