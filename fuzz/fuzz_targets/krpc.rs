//! Any bytes: `Message::decode` never panics; a decoded message encodes into exactly
//! `encoded_len` bytes, a smaller buffer is an error (not a panic), and the encoding
//! decodes to an equal message.
#![no_main]

use btdht::krpc::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::decode(data) else {
        return;
    };
    let len = msg.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(msg.encode(&mut out), Ok(len));
    assert!(msg.encode(&mut out[..len - 1]).is_err());
    let again = Message::decode(&out).expect("our encoding decodes");
    assert_eq!(again, msg);
});
