//! Any bytes: `Message::decode` never panics; a decoded message encodes into exactly
//! `encoded_len` bytes, a smaller buffer is an error (not a panic), and the encoding
//! decodes to an equal message. And the fast path of `Message::decode` reads every input
//! exactly as the strict decoder does (same message, or same error at the same offset).
#![no_main]

use btdht::krpc::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = Message::decode(data);
    assert_eq!(decoded, btdht::krpc::decode_strict_for_fuzzing(data));
    let Ok(msg) = decoded else {
        return;
    };
    let len = msg.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(msg.encode(&mut out), Ok(len));
    assert!(msg.encode(&mut out[..len - 1]).is_err());
    let again = Message::decode(&out).expect("our encoding decodes");
    assert_eq!(again, msg);
});
