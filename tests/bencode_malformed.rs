//! One test per bencode rule: each malformed input fails with the right error kind and
//! offset, through both the tree decoder and the KRPC decoder.

use btdht::bencode::{DecodeOptions, Decoder, ErrorKind, KeyOrder, Kind, MAX_UNSORTED_KEYS, Value};
use btdht::krpc::{DecodeErrorKind, Message};

fn err(input: &[u8]) -> (ErrorKind, usize) {
    let e = Value::decode(input).expect_err(&String::from_utf8_lossy(input));
    (e.kind(), e.offset())
}

#[track_caller]
fn krpc_err(input: &[u8]) -> DecodeErrorKind {
    Message::decode(input).expect_err("must fail").kind()
}

#[test]
fn integers_with_a_leading_zero_are_rejected() {
    assert_eq!(err(b"i03e"), (ErrorKind::LeadingZero, 1));
    assert_eq!(err(b"i-03e"), (ErrorKind::LeadingZero, 2));
    assert_eq!(err(b"i00e"), (ErrorKind::LeadingZero, 1));
    assert_eq!(Value::decode(b"i0e").map(|d| d.as_int()), Ok(Some(0)));
}

#[test]
fn string_lengths_with_a_leading_zero_are_rejected() {
    assert_eq!(err(b"03:abc"), (ErrorKind::LeadingZero, 0));
    assert_eq!(
        Value::decode(b"0:").map(|d| d.as_bytes()),
        Ok(Some(&b""[..]))
    );
}

#[test]
fn negative_zero_is_rejected() {
    assert_eq!(err(b"i-0e"), (ErrorKind::NegativeZero, 1));
}

#[test]
fn integers_outside_i64_are_rejected_and_its_limits_accepted() {
    assert_eq!(
        Value::decode(b"i9223372036854775807e").map(|d| d.as_int()),
        Ok(Some(i64::MAX))
    );
    assert_eq!(
        Value::decode(b"i-9223372036854775808e").map(|d| d.as_int()),
        Ok(Some(i64::MIN))
    );
    assert_eq!(
        err(b"i9223372036854775808e"),
        (ErrorKind::IntegerOverflow, 0)
    );
    assert_eq!(
        err(b"i-9223372036854775809e"),
        (ErrorKind::IntegerOverflow, 0)
    );
    assert_eq!(
        err(b"i99999999999999999999999e"),
        (ErrorKind::IntegerOverflow, 0)
    );
}

#[test]
fn malformed_integers_are_rejected() {
    assert_eq!(err(b"ie"), (ErrorKind::InvalidInteger, 1));
    assert_eq!(err(b"i-e"), (ErrorKind::InvalidInteger, 2));
    assert_eq!(err(b"i1x2e"), (ErrorKind::InvalidInteger, 2));
    assert_eq!(err(b"i+1e"), (ErrorKind::InvalidInteger, 1));
    assert_eq!(err(b"i 1e"), (ErrorKind::InvalidInteger, 1));
}

#[test]
fn string_lengths_must_be_digits_then_a_colon() {
    assert_eq!(err(b"3x:abc"), (ErrorKind::InvalidLength, 1));
    assert_eq!(
        err(b"99999999999999999999999:a"),
        (ErrorKind::InvalidLength, 0)
    );
}

#[test]
fn string_lengths_past_the_end_of_input_are_rejected() {
    assert_eq!(err(b"5:abc"), (ErrorKind::LengthPastEnd, 0));
    assert_eq!(
        err(b"d1:a18446744073709551615:xe"),
        (ErrorKind::LengthPastEnd, 4)
    );
}

#[test]
fn truncation_at_every_byte_of_a_valid_message_is_an_error() {
    let full: &[u8] = b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe";
    assert!(Message::decode(full).is_ok());
    for cut in 0..full.len() {
        let e = Value::decode(&full[..cut]).expect_err("truncated value");
        assert!(
            matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::LengthPastEnd
            ),
            "cut at {cut}: {e}"
        );
        assert!(Message::decode(&full[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_rejected() {
    let bomb = [b'l'; 100_000];
    assert_eq!(err(&bomb), (ErrorKind::DepthExceeded, 32));
    let mut ok = vec![b'l'; 32];
    ok.extend([b'e'; 32]);
    assert!(Value::decode(&ok).is_ok());
    let shallow = DecodeOptions::new().max_depth(2);
    assert_eq!(
        Value::decode_with(b"lllieeee", shallow).unwrap_err().kind(),
        ErrorKind::DepthExceeded
    );
    assert!(matches!(krpc_err(&bomb), DecodeErrorKind::NotADictionary));
    let mut deep_msg = b"d1:x".to_vec();
    deep_msg.extend([b'l'; 10_000]);
    assert_eq!(
        krpc_err(&deep_msg),
        DecodeErrorKind::Bencode(ErrorKind::DepthExceeded)
    );
}

#[test]
fn dictionary_keys_must_be_byte_strings() {
    assert_eq!(err(b"di1ei2ee"), (ErrorKind::NonStringKey, 1));
    assert_eq!(err(b"dlei2ee"), (ErrorKind::NonStringKey, 1));
}

#[test]
fn a_key_without_a_value_is_rejected() {
    assert_eq!(err(b"d1:ae"), (ErrorKind::UnexpectedEnd, 4));
}

#[test]
fn duplicate_keys_are_rejected_in_sorted_and_unsorted_dictionaries() {
    assert_eq!(err(b"d1:ai1e1:ai2ee"), (ErrorKind::DuplicateKey, 7));
    assert_eq!(err(b"d1:bi1e1:ai2e1:bi3ee").0, ErrorKind::DuplicateKey);
    // The non-allocating decoder finds it too, when the dictionary closes.
    let mut d = Decoder::new(b"d1:bi1e1:ai2e1:bi3ee");
    assert_eq!(d.skip_value().unwrap_err().kind(), ErrorKind::DuplicateKey);
    assert_eq!(
        krpc_err(b"d1:t2:aa1:y1:q1:t2:bb1:q4:ping1:ad2:id20:abcdefghij0123456789ee"),
        DecodeErrorKind::Bencode(ErrorKind::DuplicateKey)
    );
}

#[test]
fn unsorted_keys_are_accepted_by_default_and_rejected_when_canonical_order_is_required() {
    let unsorted = b"d1:bi1e1:ai2ee";
    let v = Value::decode(unsorted).expect("tolerated");
    assert_eq!(v.to_vec(), b"d1:ai2e1:bi1ee", "encoding sorts the keys");
    let canonical = DecodeOptions::new().key_order(KeyOrder::Sorted);
    let e = Value::decode_with(unsorted, canonical).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::UnsortedKey, 7));
}

#[test]
fn unsorted_krpc_messages_from_real_clients_are_accepted() {
    let m = Message::decode(b"d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:abcdefghij0123456789ee")
        .expect("unsorted but unique keys");
    assert_eq!(m.transaction_id, b"aa");
}

#[test]
fn unsorted_dictionaries_with_too_many_keys_are_refused_without_allocating() {
    let mut input = b"d".to_vec();
    for i in (0..=MAX_UNSORTED_KEYS).rev() {
        let k = format!("{i:03}");
        input.extend(format!("3:{k}i0e").as_bytes());
    }
    input.push(b'e');
    let mut d = Decoder::new(&input);
    assert_eq!(d.skip_value().unwrap_err().kind(), ErrorKind::TooManyKeys);
    assert!(
        Value::decode(&input).is_ok(),
        "the tree decoder has no such limit"
    );
}

#[test]
fn trailing_bytes_after_the_value_are_rejected() {
    assert_eq!(err(b"i1ei2e"), (ErrorKind::TrailingBytes, 3));
    assert_eq!(err(b"de "), (ErrorKind::TrailingBytes, 2));
    assert_eq!(
        krpc_err(b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:ree"),
        DecodeErrorKind::Bencode(ErrorKind::TrailingBytes)
    );
}

#[test]
fn bytes_that_cannot_start_a_value_are_rejected() {
    assert_eq!(err(b"x"), (ErrorKind::InvalidByte, 0));
    assert_eq!(err(b"e"), (ErrorKind::UnexpectedEnd, 0));
    assert_eq!(err(b""), (ErrorKind::UnexpectedEof, 0));
}

#[test]
fn typed_readers_report_a_type_mismatch_without_consuming() {
    let mut d = Decoder::new(b"i5e");
    let e = d.expect_bytes().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::TypeMismatch {
            expected: Kind::Bytes
        }
    );
    assert_eq!(d.position(), 0);
    assert_eq!(d.expect_int(), Ok(5));
}

#[test]
fn errors_display_what_and_where() {
    let e = Value::decode(b"i03e").unwrap_err();
    assert_eq!(
        e.to_string(),
        "bencode: number with a leading zero at byte 1"
    );
}
