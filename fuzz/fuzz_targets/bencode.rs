//! Any bytes: `Value::decode` never panics; what decodes re-encodes to bytes that decode
//! to the same value, as does its owned copy; canonical input re-encodes byte for byte.
#![no_main]

use btdht::bencode::{DecodeOptions, KeyOrder, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = Value::decode(data) else {
        return;
    };
    let len = value.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(value.encode(&mut out), Ok(len));
    assert!(value.encode(&mut out[..len.saturating_sub(1)]).is_err() || len == 0);
    let again = Value::decode(&out).expect("our encoding decodes");
    assert_eq!(again, value);
    let owned = value.to_value();
    assert_eq!(owned, value);
    assert_eq!(owned.to_vec(), out);
    let canonical = DecodeOptions::new().key_order(KeyOrder::Sorted);
    if Value::decode_with(data, canonical).is_ok() {
        assert_eq!(out, data, "canonical input re-encodes byte for byte");
    }
});
