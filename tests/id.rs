//! Ids, distance and BEP 42 (tests/vectors/bep42_node_ids.json).

mod common;

use btdht::Id;
use btdht::id::{Distance, ParseIdError, SecureIdCheck, crc32c, is_bep42_exempt};
use common::{unhex, vectors};
use proptest::prelude::*;
use std::net::IpAddr;

fn id(hex: &str) -> Id {
    hex.parse().unwrap()
}

#[test]
fn crc32c_matches_the_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c(b""), 0);
}

#[test]
fn the_five_official_ipv4_examples_verify_and_are_reproduced() {
    let v = vectors("bep42_node_ids.json");
    let rows = v["official_ipv4"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let ip: IpAddr = row["ip"].as_str().unwrap().parse().unwrap();
        let example = id(row["example_node_id"].as_str().unwrap());
        let rand = row["rand"].as_u64().unwrap() as u8;
        let crc = u32::from_str_radix(row["crc32c"].as_str().unwrap(), 16).unwrap();
        assert_eq!(
            crc32c(&unhex(row["crc32c_input"].as_str().unwrap())),
            crc,
            "{ip}"
        );
        assert!(example.is_secure_for(ip), "{ip}");
        assert_eq!(example.check_secure(ip), SecureIdCheck::Secure);
        let mut entropy = [0x55u8; 20];
        entropy[19] = rand;
        let made = Id::secure(ip, entropy);
        assert_eq!(made.as_bytes()[..2], example.as_bytes()[..2], "{ip}");
        assert_eq!(
            made.as_bytes()[2] & 0xf8,
            example.as_bytes()[2] & 0xf8,
            "{ip}"
        );
        assert_eq!(made.as_bytes()[19], rand, "{ip}");
        assert!(made.is_secure_for(ip));
    }
}

#[test]
fn ipv4_secure_ids_hash_only_the_four_address_bytes() {
    let v = vectors("bep42_node_ids.json");
    assert_eq!(v["hash_input_length"]["ipv4"], 4);
    for row in v["computed_not_official"]["ipv4_all_r"].as_array().unwrap() {
        let input = unhex(row["crc32c_input"].as_str().unwrap());
        assert_eq!(input.len(), 4);
        assert_eq!(
            crc32c(&input),
            u32::from_str_radix(row["crc32c"].as_str().unwrap(), 16).unwrap()
        );
        let ip: IpAddr = row["ip"].as_str().unwrap().parse().unwrap();
        let r = row["r"].as_u64().unwrap() as u8;
        let mut entropy = [0u8; 20];
        entropy[19] = r;
        assert!(Id::secure(ip, entropy).is_secure_for(ip), "r = {r}");
    }
}

#[test]
fn ipv6_secure_ids_hash_the_first_eight_address_bytes() {
    let v = vectors("bep42_node_ids.json");
    for row in v["computed_not_official"]["ipv6"].as_array().unwrap() {
        let input = unhex(row["crc32c_input"].as_str().unwrap());
        assert_eq!(input.len(), 8);
        assert_eq!(
            crc32c(&input),
            u32::from_str_radix(row["crc32c"].as_str().unwrap(), 16).unwrap()
        );
        let ip: IpAddr = row["ip"].as_str().unwrap().parse().unwrap();
        let r = row["r"].as_u64().unwrap() as u8;
        let mut entropy = [0xaau8; 20];
        entropy[19] = r | 0x40;
        let made = Id::secure(ip, entropy);
        let crc = u32::from_str_radix(row["crc32c"].as_str().unwrap(), 16)
            .unwrap()
            .to_be_bytes();
        assert_eq!(made.as_bytes()[..2], crc[..2]);
        assert!(made.is_secure_for(ip));
    }
}

#[test]
fn libtorrents_valid_and_invalid_ids_are_judged_right() {
    let v = vectors("bep42_node_ids.json");
    for row in v["other_vectors"].as_array().unwrap() {
        let ip: IpAddr = row["ip"].as_str().unwrap().parse().unwrap();
        let node = id(row["node_id"].as_str().unwrap());
        assert_eq!(
            node.is_secure_for(ip),
            row["valid"].as_bool().unwrap(),
            "{node}"
        );
    }
}

#[test]
fn bep42_exempts_local_ranges_only() {
    for ip in [
        "10.1.2.3",
        "172.16.5.5",
        "192.168.1.1",
        "169.254.3.3",
        "127.0.0.1",
        "100.64.1.1",
        "::1",
        "fe80::1",
        "fec0::1",
        "fd00::1",
        "::ffff:10.0.0.1",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(is_bep42_exempt(ip), "{ip}");
        assert_eq!(Id::default().check_secure(ip), SecureIdCheck::Exempt);
    }
    for ip in [
        "124.31.75.21",
        "8.8.8.8",
        "172.32.0.1",
        "2001:db8::1",
        "2a00:1450::1",
    ] {
        assert!(!is_bep42_exempt(ip.parse().unwrap()), "{ip}");
    }
    assert_eq!(
        Id::default().check_secure("8.8.8.8".parse().unwrap()),
        SecureIdCheck::Insecure
    );
}

#[test]
fn distance_is_xor_ordered_as_a_big_endian_number() {
    let zero = Id::default();
    let one = id("0000000000000000000000000000000000000001");
    let top = id("8000000000000000000000000000000000000000");
    assert!(zero.distance(&one) < zero.distance(&top));
    assert_eq!(zero.distance(&zero), Distance::ZERO);
    assert_eq!(
        zero.distance(&id("ffffffffffffffffffffffffffffffffffffffff")),
        Distance::MAX
    );
    assert_eq!(zero.distance(&top).leading_zeros(), 0);
    assert_eq!(zero.distance(&one).leading_zeros(), 159);
    assert!(top.bit(0) && !top.bit(1) && one.bit(159) && !one.bit(160));
}

#[test]
fn random_with_prefix_keeps_exactly_the_prefix_bits() {
    let prefix = id("abcdef0123456789abcdef0123456789abcdef01");
    for len in [0u32, 1, 7, 8, 9, 13, 100, 159, 160] {
        let made = Id::random_with_prefix(&prefix, len, &[0x5a; 20]);
        assert!(made.common_prefix_len(&prefix) >= len, "len {len}");
        for i in len..160 {
            let entropy_bit = [0x5a; 20][(i / 8) as usize] & (0x80 >> (i % 8)) != 0;
            assert_eq!(made.bit(i), entropy_bit, "bit {i} of len {len}");
        }
    }
}

#[test]
fn hex_parsing_rejects_wrong_lengths_and_non_hex() {
    assert_eq!("abc".parse::<Id>(), Err(ParseIdError::Length));
    assert_eq!(
        "zz00000000000000000000000000000000000000".parse::<Id>(),
        Err(ParseIdError::NotHex)
    );
    assert_eq!(
        "é00000000000000000000000000000000000000"
            .parse::<Id>()
            .unwrap_err(),
        ParseIdError::NotHex
    );
    assert_eq!(
        id("ABCDEF0000000000000000000000000000000000").to_string(),
        "abcdef0000000000000000000000000000000000"
    );
}

proptest! {
    #[test]
    fn distance_is_symmetric_and_xor_composes(a in any::<[u8; 20]>(), b in any::<[u8; 20]>(), c in any::<[u8; 20]>()) {
        let (a, b, c) = (Id::from_bytes(a), Id::from_bytes(b), Id::from_bytes(c));
        prop_assert_eq!(a.distance(&b), b.distance(&a));
        prop_assert_eq!(a.distance(&a), Distance::ZERO);
        let ab = a.distance(&b);
        let bc = b.distance(&c);
        let composed: [u8; 20] = std::array::from_fn(|i| ab.as_bytes()[i] ^ bc.as_bytes()[i]);
        let ac = a.distance(&c);
        prop_assert_eq!(ac.as_bytes(), &composed);
        prop_assert_eq!(a.common_prefix_len(&b), ab.leading_zeros());
    }

    #[test]
    fn hex_round_trips(a in any::<[u8; 20]>()) {
        let a = Id::from_bytes(a);
        prop_assert_eq!(a.to_string().parse::<Id>(), Ok(a));
        prop_assert_eq!(a.to_string().to_uppercase().parse::<Id>(), Ok(a));
    }

    #[test]
    fn parsing_arbitrary_strings_never_panics(s in ".{0,60}") {
        let _ = s.parse::<Id>();
    }

    #[test]
    fn secure_ids_verify_for_their_address(ip in any::<[u8; 4]>(), ip6 in any::<[u8; 16]>(), entropy in any::<[u8; 20]>()) {
        let v4 = IpAddr::from(ip);
        let v6 = IpAddr::from(ip6);
        prop_assert!(Id::secure(v4, entropy).is_secure_for(v4));
        prop_assert!(Id::secure(v6, entropy).is_secure_for(v6));
    }
}
