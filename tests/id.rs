//! Identifiers (BEP 5 §distance) and BEP 42 secure node ids, against
//! tests/vectors/bep42_node_ids.json.

mod common;

use btdht::Id;
use btdht::id::{
    Distance, ID_BITS, ParseIdError, SecureIdCheck, bep42_crc, crc32c, is_bep42_exempt,
};
use common::{unhex, vectors};
use core::net::IpAddr;
use proptest::prelude::*;

fn id(hex: &str) -> Id {
    hex.parse().unwrap_or_else(|e| panic!("{hex}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn be32(hex: &str) -> u32 {
    u32::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("{hex}: {e}"))
}

fn s<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn u8_of(v: &serde_json::Value, key: &str) -> u8 {
    let n = v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"));
    u8::try_from(n).expect("fits a byte")
}

fn rows(key: &str) -> Vec<serde_json::Value> {
    let v = vectors("bep42_node_ids.json");
    v[key].as_array().expect("array").clone()
}

fn computed_rows(family: &str) -> Vec<serde_json::Value> {
    let v = vectors("bep42_node_ids.json");
    v["computed_not_official"][family]
        .as_array()
        .expect("array")
        .clone()
}

/// The 21 bits BEP 42 compares: id[0], id[1], id[2] & 0xf8.
fn top21(bytes: [u8; 4]) -> [u8; 3] {
    [bytes[0], bytes[1], bytes[2] & 0xf8]
}

// ---------------------------------------------------------------- CRC-32C

#[test]
fn crc32c_is_castagnoli_with_standard_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c(b""), 0);
    // RFC 3720 B.4: 32 zero bytes and 32 0xff bytes.
    assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
    assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
}

#[test]
fn crc32c_of_every_vector_input_matches_its_output() {
    let all = rows("official_ipv4")
        .into_iter()
        .chain(rows("other_vectors"))
        .chain(computed_rows("ipv4_all_r"))
        .chain(computed_rows("ipv6"));
    let mut n = 0;
    for row in all {
        let input = unhex(s(&row, "crc32c_input"));
        assert_eq!(crc32c(&input), be32(s(&row, "crc32c")), "{row}");
        n += 1;
    }
    assert_eq!(n, 5 + 3 + 8 + 16);
}

// ---------------------------------------------------------------- official IPv4 rows

#[test]
fn official_ipv4_example_ids_verify_as_secure_for_their_ip() {
    let rows = rows("official_ipv4");
    assert_eq!(rows.len(), 5);
    for row in &rows {
        let node = id(s(row, "example_node_id"));
        let addr = ip(s(row, "ip"));
        assert!(node.is_secure_for(addr), "{row}");
        assert_eq!(node.check_secure(addr), SecureIdCheck::Secure, "{row}");
        assert_eq!(node.as_bytes()[19], u8_of(row, "rand"), "{row}");
        assert_eq!(node.as_bytes()[19] & 7, u8_of(row, "r"), "{row}");
    }
}

#[test]
fn official_ipv4_example_ids_do_not_verify_for_the_other_rows_ips() {
    let rows = rows("official_ipv4");
    for a in &rows {
        for b in &rows {
            if s(a, "ip") != s(b, "ip") {
                let node = id(s(a, "example_node_id"));
                assert!(!node.is_secure_for(ip(s(b, "ip"))), "{a} at {b}");
            }
        }
    }
}

#[test]
fn secure_id_from_official_rand_reproduces_first_21_bits_and_last_byte() {
    for row in rows("official_ipv4") {
        let example = id(s(&row, "example_node_id"));
        let addr = ip(s(&row, "ip"));
        // Entropy of all 0xaa except the last byte, which supplies rand.
        let mut entropy = [0xaa; 20];
        entropy[19] = u8_of(&row, "rand");
        let made = Id::secure(addr, entropy);
        let (m, e) = (made.as_bytes(), example.as_bytes());
        assert_eq!(
            [m[0], m[1], m[2] & 0xf8],
            [e[0], e[1], e[2] & 0xf8],
            "{row}"
        );
        assert_eq!(m[19], e[19], "{row}");
        assert!(made.is_secure_for(addr), "{row}");
        let crc = be32(s(&row, "crc32c"));
        assert_eq!(
            top21([m[0], m[1], m[2], 0]),
            top21(crc.to_be_bytes()),
            "{row}"
        );
    }
}

#[test]
fn bep42_crc_of_official_rows_matches_the_table() {
    for row in rows("official_ipv4") {
        let crc = bep42_crc(ip(s(&row, "ip")), u8_of(&row, "rand"));
        assert_eq!(crc, be32(s(&row, "crc32c")), "{row}");
    }
}

#[test]
fn secure_id_takes_every_other_bit_from_entropy() {
    let entropy: [u8; 20] = core::array::from_fn(|i| 0x11 * (i as u8 % 15) + 3);
    let made = Id::secure(ip("124.31.75.21"), entropy);
    let m = made.as_bytes();
    assert_eq!(m[2] & 0x07, entropy[2] & 0x07);
    assert_eq!(&m[3..], &entropy[3..]);
}

// ---------------------------------------------------------------- masks and input lengths

#[test]
fn ipv4_secure_id_uses_only_four_address_bytes() {
    for row in computed_rows("ipv4_all_r") {
        let input = unhex(s(&row, "crc32c_input"));
        assert_eq!(input.len(), 4);
        let crc = bep42_crc(ip(s(&row, "ip")), u8_of(&row, "r"));
        assert_eq!(crc, crc32c(&input), "{row}");
        assert_eq!(crc, be32(s(&row, "crc32c")), "{row}");
    }
}

#[test]
fn ipv6_secure_id_uses_only_the_first_eight_address_bytes() {
    for row in computed_rows("ipv6") {
        let input = unhex(s(&row, "crc32c_input"));
        assert_eq!(input.len(), 8);
        let addr = ip(s(&row, "ip"));
        let crc = bep42_crc(addr, u8_of(&row, "r"));
        assert_eq!(crc, crc32c(&input), "{row}");
        assert_eq!(crc, be32(s(&row, "crc32c")), "{row}");
        // Changing the last 8 bytes of the address does not change the CRC.
        let IpAddr::V6(v6) = addr else {
            panic!("{row}")
        };
        let mut octets = v6.octets();
        octets[8..].copy_from_slice(&[0x5a; 8]);
        assert_eq!(bep42_crc(IpAddr::from(octets), u8_of(&row, "r")), crc);
    }
}

#[test]
fn ipv4_mask_ignores_the_masked_out_bits() {
    // Mask 03 0f 3f ff: only the low 2, 4 and 6 bits of the first three bytes count.
    let a = bep42_crc(ip("124.31.75.21"), 1);
    let b = bep42_crc(ip("252.223.139.21"), 1); // 124|0x80, 31|0xc0, 75|0xc0
    assert_eq!(a, b);
    assert_ne!(a, bep42_crc(ip("124.31.75.22"), 1));
}

#[test]
fn r_is_the_low_three_bits_of_the_last_id_byte() {
    let addr = ip("124.31.75.21");
    for rand in [1u8, 9, 0x81, 0xf9] {
        assert_eq!(bep42_crc(addr, rand), 0x5fbf_bdb2, "rand {rand}");
    }
    let row_1 = id("5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401");
    let mut bytes = *row_1.as_bytes();
    bytes[19] = 0x09; // same r = 1
    assert!(Id::from_bytes(bytes).is_secure_for(addr));
    bytes[19] = 0x02; // r = 2
    assert!(!Id::from_bytes(bytes).is_secure_for(addr));
}

#[test]
fn only_21_bits_are_compared() {
    let addr = ip("124.31.75.21");
    let mut bytes = *id("5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401").as_bytes();
    bytes[2] = (bytes[2] & 0xf8) | 0x07; // low 3 bits of id[2] are free
    assert!(Id::from_bytes(bytes).is_secure_for(addr));
    bytes[2] ^= 0x08; // the 21st bit is not
    assert!(!Id::from_bytes(bytes).is_secure_for(addr));
}

// ---------------------------------------------------------------- libtorrent rows

#[test]
fn libtorrent_valid_and_invalid_ids_are_judged_as_listed() {
    let rows = rows("other_vectors");
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let node = id(s(row, "node_id"));
        let addr = ip(s(row, "ip"));
        let valid = row["valid"].as_bool().expect("valid");
        assert_eq!(node.is_secure_for(addr), valid, "{row}");
        let expected = if valid {
            SecureIdCheck::Secure
        } else {
            SecureIdCheck::Insecure
        };
        assert_eq!(node.check_secure(addr), expected, "{row}");
        let r = node.as_bytes()[19];
        assert_eq!(bep42_crc(addr, r), be32(s(row, "crc32c")), "{row}");
    }
}

#[test]
fn ipv6_secure_id_round_trips_for_every_r() {
    let addr = ip("2001:b829:2123:be84:e16c:d6ae:5290:49f1");
    for rand in 0..=255u8 {
        let mut entropy = [0x33; 20];
        entropy[19] = rand;
        assert!(Id::secure(addr, entropy).is_secure_for(addr), "rand {rand}");
    }
}

#[test]
fn ipv4_mapped_ipv6_is_treated_as_ipv4() {
    let row_1 = id("5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401");
    assert!(row_1.is_secure_for(ip("::ffff:124.31.75.21")));
    assert_eq!(
        Id::secure(ip("::ffff:124.31.75.21"), [1; 20]),
        Id::secure(ip("124.31.75.21"), [1; 20])
    );
    assert!(is_bep42_exempt(ip("::ffff:10.0.0.1")));
    assert!(!is_bep42_exempt(ip("::ffff:8.8.8.8")));
}

// ---------------------------------------------------------------- exemptions

#[test]
fn bep42_listed_ipv4_ranges_are_exempt() {
    for a in [
        "10.0.0.0",
        "10.255.255.255",
        "172.16.0.0",
        "172.31.255.255",
        "192.168.0.0",
        "192.168.255.255",
        "169.254.0.0",
        "169.254.255.255",
        "127.0.0.1",
        "127.255.255.255",
    ] {
        assert!(is_bep42_exempt(ip(a)), "{a}");
    }
}

#[test]
fn libtorrent_local_ranges_are_exempt() {
    for a in [
        "100.64.0.0",
        "100.127.255.255",
        "::1",
        "fe80::1",
        "febf:ffff::1",
        "fec0::1",
        "feff::1",
        "fc00::1",
        "fdff:ffff::1",
        "ff02::1",
        "ff05::2",
    ] {
        assert!(is_bep42_exempt(ip(a)), "{a}");
    }
}

#[test]
fn global_and_neighbouring_addresses_are_not_exempt() {
    for a in [
        "8.8.8.8",
        "124.31.75.21",
        "9.255.255.255",
        "11.0.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.167.255.255",
        "192.169.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "2001:db8::1",
        "2a00:1450:4001:81c::200e",
        "fe7f::1",
        "fbff::1",
        "::2",
        "ff0e::1",
    ] {
        assert!(!is_bep42_exempt(ip(a)), "{a}");
    }
}

#[test]
fn exempt_addresses_accept_any_id() {
    let any = Id::from_bytes([0x42; 20]);
    assert_eq!(any.check_secure(ip("192.168.1.1")), SecureIdCheck::Exempt);
    assert!(any.check_secure(ip("192.168.1.1")).is_acceptable());
    assert!(!any.check_secure(ip("8.8.8.8")).is_acceptable());
}

// ---------------------------------------------------------------- distance

#[test]
fn distance_orders_as_a_big_endian_number() {
    let mut low_byte_max = [0u8; 20];
    low_byte_max[19] = 0xff;
    let mut high_bit = [0u8; 20];
    high_bit[0] = 0x01;
    assert!(Distance::from_bytes(low_byte_max) < Distance::from_bytes(high_bit));
    assert!(Distance::ZERO < Distance::from_bytes(low_byte_max));
    assert!(Distance::from_bytes(high_bit) < Distance::MAX);
}

#[test]
fn closer_ids_have_smaller_distance() {
    let target = Id::from_bytes([0; 20]);
    let mut ids: Vec<Id> = [0x80u8, 0x01, 0x40, 0x00, 0x02]
        .iter()
        .map(|&b| {
            let mut bytes = [0u8; 20];
            bytes[0] = b;
            bytes[19] = 1;
            Id::from_bytes(bytes)
        })
        .collect();
    ids.sort_by_key(|i| target.distance(i));
    let firsts: Vec<u8> = ids.iter().map(|i| i.as_bytes()[0]).collect();
    assert_eq!(firsts, [0x00, 0x01, 0x02, 0x40, 0x80]);
}

#[test]
fn leading_zeros_counts_across_the_u128_boundary() {
    for bit in 0..ID_BITS {
        let mut bytes = [0u8; 20];
        bytes[(bit / 8) as usize] = 0x80 >> (bit % 8);
        assert_eq!(Distance::from_bytes(bytes).leading_zeros(), bit);
        assert!(Id::from_bytes(bytes).bit(bit));
        assert_eq!(Id::from_bytes(bytes).common_prefix_len(&Id::default()), bit);
    }
    assert_eq!(Distance::ZERO.leading_zeros(), 160);
    assert_eq!(Distance::MAX.leading_zeros(), 0);
}

#[test]
fn bits_past_160_read_as_zero() {
    let ones = Id::from_bytes([0xff; 20]);
    assert!(ones.bit(159));
    assert!(!ones.bit(160));
    assert!(!ones.bit(u32::MAX));
}

#[test]
fn random_with_prefix_keeps_exactly_the_prefix_bits() {
    let prefix = Id::from_bytes([0xff; 20]);
    let entropy = [0u8; 20];
    for len in 0..=ID_BITS {
        let made = Id::random_with_prefix(&prefix, len, &entropy);
        let expected_zero_prefix = if len == 0 { ID_BITS } else { 0 };
        assert_eq!(made.common_prefix_len(&Id::default()), expected_zero_prefix);
        assert_eq!(made.common_prefix_len(&prefix), len, "len {len}");
    }
    assert_eq!(Id::random_with_prefix(&prefix, 1000, &entropy), prefix);
}

// ---------------------------------------------------------------- hex

#[test]
fn display_and_lower_hex_are_40_lowercase_digits() {
    let node = Id::from_bytes(core::array::from_fn(|i| (i as u8) * 13));
    let text = node.to_string();
    assert_eq!(text.len(), 40);
    assert!(
        text.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    );
    assert_eq!(format!("{node:x}"), text);
    assert_eq!(format!("{node:?}"), text);
    assert_eq!(format!("{node:#x}"), format!("0x{text}"));
    assert_eq!(format!("{:?}", node.distance(&Id::default())), text);
}

#[test]
fn hex_parses_either_case() {
    let lower = "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401";
    assert_eq!(id(&lower.to_uppercase()), id(lower));
    assert_eq!(id(lower).to_string(), lower);
}

#[test]
fn hex_of_wrong_length_is_rejected() {
    for bad in ["", "0", &"0".repeat(39), &"0".repeat(41), &"00".repeat(40)] {
        assert_eq!(bad.parse::<Id>(), Err(ParseIdError::Length), "{bad:?}");
    }
}

#[test]
fn non_hex_characters_are_rejected() {
    let good = "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401";
    for (i, c) in [(0, 'g'), (39, 'G'), (5, ' '), (20, '+'), (1, 'x')] {
        let mut bad: Vec<char> = good.chars().collect();
        bad[i] = c;
        let bad: String = bad.into_iter().collect();
        assert_eq!(bad.parse::<Id>(), Err(ParseIdError::NotHex), "{bad:?}");
    }
    // 20 two-byte characters are 40 bytes: wrong digits, not a panic.
    assert_eq!("é".repeat(20).parse::<Id>(), Err(ParseIdError::NotHex));
    assert_eq!("é".repeat(40).parse::<Id>(), Err(ParseIdError::Length));
    assert!(!ParseIdError::NotHex.to_string().is_empty());
}

// ---------------------------------------------------------------- properties

fn any_id() -> impl Strategy<Value = Id> {
    any::<[u8; 20]>().prop_map(Id::from_bytes)
}

proptest! {
    #[test]
    fn distance_is_symmetric(a in any_id(), b in any_id()) {
        prop_assert_eq!(a.distance(&b), b.distance(&a));
    }

    #[test]
    fn distance_to_self_is_zero_and_only_to_self(a in any_id(), b in any_id()) {
        prop_assert_eq!(a.distance(&a), Distance::ZERO);
        prop_assert_eq!(a.distance(&b) == Distance::ZERO, a == b);
    }

    #[test]
    fn distances_compose_by_xor(a in any_id(), b in any_id(), c in any_id()) {
        prop_assert_eq!(a.distance(&c), a.distance(&b) ^ b.distance(&c));
    }

    #[test]
    fn leading_zeros_equals_common_prefix_len(a in any_id(), b in any_id()) {
        let n = a.common_prefix_len(&b);
        prop_assert_eq!(a.distance(&b).leading_zeros(), n);
        for i in 0..n {
            prop_assert_eq!(a.bit(i), b.bit(i));
        }
        if n < ID_BITS {
            prop_assert_ne!(a.bit(n), b.bit(n));
        }
    }

    #[test]
    fn distance_order_matches_numeric_order(a in any_id(), b in any_id(), t in any_id()) {
        let (da, db) = (t.distance(&a), t.distance(&b));
        let num = |d: Distance| {
            let bytes = d.as_bytes();
            (u128::from_be_bytes(bytes[..16].try_into().unwrap()),
             u32::from_be_bytes(bytes[16..].try_into().unwrap()))
        };
        prop_assert_eq!(da.cmp(&db), num(da).cmp(&num(db)));
    }

    #[test]
    fn random_with_prefix_shares_the_prefix(
        prefix in any_id(), len in 0u32..=200, entropy in any::<[u8; 20]>()
    ) {
        let made = Id::random_with_prefix(&prefix, len, &entropy);
        prop_assert!(made.common_prefix_len(&prefix) >= len.min(ID_BITS));
        for i in len..ID_BITS {
            prop_assert_eq!(made.bit(i), Id::from_bytes(entropy).bit(i));
        }
    }

    #[test]
    fn hex_round_trips(a in any_id()) {
        prop_assert_eq!(a.to_string().parse::<Id>(), Ok(a));
        prop_assert_eq!(a.to_string().to_uppercase().parse::<Id>(), Ok(a));
    }

    #[test]
    fn from_str_never_panics(s in any::<String>()) {
        let _ = s.parse::<Id>();
    }

    #[test]
    fn from_str_never_panics_on_40_byte_strings(s in "[0-9a-fA-F\\PC]{1,40}") {
        if let Ok(parsed) = s.parse::<Id>() {
            prop_assert_eq!(parsed.to_string(), s.to_lowercase());
        }
    }

    #[test]
    fn secure_ids_verify_for_any_address(
        v4 in any::<[u8; 4]>(), v6 in any::<[u8; 16]>(), entropy in any::<[u8; 20]>()
    ) {
        for addr in [IpAddr::from(v4), IpAddr::from(v6)] {
            let made = Id::secure(addr, entropy);
            prop_assert!(made.is_secure_for(addr));
            prop_assert!(made.check_secure(addr).is_acceptable());
            prop_assert_eq!(made.as_bytes()[19], entropy[19]);
            prop_assert_eq!(&made.as_bytes()[3..], &entropy[3..]);
        }
    }
}
