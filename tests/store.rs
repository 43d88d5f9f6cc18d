//! The storage rules: peer store caps, expiry and eviction, datagram-sized
//! samples, BEP 33 filters (official vectors), BEP 44 items (official vectors and every
//! error code), BEP 51 sampling.

mod common;

use btdht::Id;
use btdht::addr::Family;
use btdht::bencode::RawValue;
use btdht::krpc::budget::MAX_VALUES_V4;
use btdht::krpc::{ErrorCode, MutablePut, Put};
use btdht::store::{
    AnnounceError, Announced, BloomFilter, InfoHashSampler, ItemError, ItemStore, ItemStoreConfig,
    MAX_VALUE_LEN, PeerStore, PeerStoreConfig, SamplerConfig, SignatureVerifier, Stored,
    immutable_target, mutable_target, signed_buffer,
};
use btdht::time::Instant;
use common::{unhex, vectors};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::collections::HashSet;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);

fn t(minutes: u64) -> Instant {
    Instant::from_millis(1_000 + minutes * 60_000)
}

fn ih(n: u32) -> Id {
    let mut b = [0u8; 20];
    b[..4].copy_from_slice(&n.to_be_bytes());
    Id::from_bytes(b)
}

fn v4(n: u32, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::from(0xcb00_7100u32.wrapping_add(n)), port))
}

fn store() -> PeerStore {
    PeerStore::new(PeerStoreConfig::default(), [9; 32])
}

fn config(f: impl FnOnce(&mut PeerStoreConfig)) -> PeerStoreConfig {
    let mut c = PeerStoreConfig::default();
    f(&mut c);
    c
}

fn sample(
    s: &mut PeerStore,
    now: Instant,
    id: &Id,
    family: Family,
    noseed: bool,
    n: usize,
) -> Vec<SocketAddr> {
    let mut out = vec![SocketAddr::from(([0, 0, 0, 0], 0)); n];
    let k = s.sample_peers(now, id, family, noseed, &mut out);
    out.truncate(k);
    out
}

// ---- peer store ----------------------------------------------------------------------

#[test]
fn announced_peer_is_returned_by_get_peers_sample() {
    let mut s = store();
    assert_eq!(
        s.announce(t(0), ih(1), v4(1, 6881), false),
        Ok(Announced::Added)
    );
    assert_eq!(
        sample(&mut s, t(1), &ih(1), Family::V4, false, 8),
        vec![v4(1, 6881)]
    );
    assert!(sample(&mut s, t(1), &ih(2), Family::V4, false, 8).is_empty());
}

#[test]
fn peers_expire_after_the_default_30_minutes() {
    let mut s = store();
    s.announce(t(0), ih(1), v4(1, 6881), false).unwrap();
    assert_eq!(sample(&mut s, t(29), &ih(1), Family::V4, false, 8).len(), 1);
    assert!(sample(&mut s, t(30), &ih(1), Family::V4, false, 8).is_empty());
    assert_eq!(
        s.len(),
        0,
        "an info-hash whose peers all expired is dropped"
    );
    assert_eq!(s.peer_len(), 0);
}

#[test]
fn reannounce_refreshes_expiry_and_seed_flag() {
    let mut s = store();
    s.announce(t(0), ih(1), v4(1, 6881), false).unwrap();
    assert_eq!(
        s.announce(t(20), ih(1), v4(1, 6881), true),
        Ok(Announced::Refreshed)
    );
    let p: Vec<_> = s.peers(t(40), &ih(1)).collect();
    assert_eq!(p.len(), 1);
    assert!(p[0].seed);
    assert_eq!(s.peer_len(), 1);
}

#[test]
fn ipv4_and_ipv6_peers_are_answered_to_their_own_family() {
    let mut s = store();
    let six: SocketAddr = "[2001:db8::1]:6881".parse().unwrap();
    s.announce(t(0), ih(1), v4(1, 6881), false).unwrap();
    s.announce(t(0), ih(1), six, false).unwrap();
    assert_eq!(
        sample(&mut s, t(0), &ih(1), Family::V4, false, 8),
        vec![v4(1, 6881)]
    );
    assert_eq!(
        sample(&mut s, t(0), &ih(1), Family::V6, false, 8),
        vec![six]
    );
}

#[test]
fn ipv4_mapped_ipv6_announce_is_stored_as_ipv4() {
    let mut s = store();
    let mapped: SocketAddr = "[::ffff:203.0.113.1]:6881".parse().unwrap();
    s.announce(t(0), ih(1), mapped, false).unwrap();
    assert_eq!(
        sample(&mut s, t(0), &ih(1), Family::V4, false, 8),
        vec![v4(1, 6881)]
    );
}

#[test]
fn unreachable_peer_addresses_are_refused() {
    let mut s = store();
    for bad in [
        "203.0.113.1:0",
        "0.0.0.0:6881",
        "224.0.0.1:6881",
        "255.255.255.255:1",
        "[::]:1",
    ] {
        let a: SocketAddr = bad.parse().unwrap();
        assert_eq!(
            s.announce(t(0), ih(1), a, false),
            Err(AnnounceError::InvalidAddress),
            "{bad}"
        );
    }
}

#[test]
fn sample_fits_the_buffer_without_duplicates_and_varies() {
    let mut s = PeerStore::new(config(|c| c.max_entries_per_ip = 1000), [3; 32]);
    for i in 0..200 {
        s.announce(t(0), ih(1), v4(i, 6881), false).unwrap();
    }
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let got = sample(&mut s, t(0), &ih(1), Family::V4, false, MAX_VALUES_V4);
        assert_eq!(got.len(), MAX_VALUES_V4);
        let distinct: HashSet<_> = got.iter().collect();
        assert_eq!(distinct.len(), got.len());
        seen.extend(got);
    }
    assert!(
        seen.len() > 150,
        "20 samples of 43 reach most of 200 peers, got {}",
        seen.len()
    );
}

#[test]
fn noseed_fills_the_answer_with_downloaders_before_seeds() {
    let mut s = store();
    for i in 0..10 {
        s.announce(t(0), ih(1), v4(i, 6881), i < 7).unwrap(); // 7 seeds, 3 downloaders
    }
    let got = sample(&mut s, t(0), &ih(1), Family::V4, true, 4);
    let downloaders: HashSet<_> = (7..10).map(|i| v4(i, 6881)).collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got.iter().filter(|a| downloaders.contains(a)).count(), 3);
}

#[test]
fn one_ip_holds_at_most_max_ports_per_ip_in_a_torrent_replacing_its_own_oldest() {
    let mut s = store();
    for port in 1..=4 {
        s.announce(t(u64::from(port)), ih(1), v4(1, port), false)
            .unwrap();
    }
    assert_eq!(
        s.announce(t(5), ih(1), v4(1, 5), false),
        Ok(Announced::ReplacedSameIp)
    );
    let ports: HashSet<u16> = s.peers(t(5), &ih(1)).map(|p| p.addr.port()).collect();
    assert_eq!(ports, HashSet::from([2, 3, 4, 5]));
}

#[test]
fn one_ip_holds_at_most_max_entries_per_ip_in_the_store() {
    let mut s = PeerStore::new(config(|c| c.max_entries_per_ip = 3), [0; 32]);
    for i in 0..3 {
        s.announce(t(0), ih(i), v4(1, 6881), false).unwrap();
    }
    assert_eq!(
        s.announce(t(0), ih(9), v4(1, 6881), false),
        Err(AnnounceError::IpLimit)
    );
    assert_eq!(
        s.announce(t(0), ih(9), v4(2, 6881), false),
        Ok(Announced::Added)
    );
}

#[test]
fn full_torrent_refuses_newcomers_while_every_entry_is_fresh() {
    let mut s = PeerStore::new(config(|c| c.max_peers_per_torrent = 3), [0; 32]);
    for i in 0..3 {
        s.announce(t(0), ih(1), v4(i, 1), false).unwrap();
    }
    assert_eq!(
        s.announce(t(14), ih(1), v4(9, 1), false),
        Err(AnnounceError::TorrentFull)
    );
    // After 15 minutes without a re-announce, the stalest entry makes room.
    s.announce(t(10), ih(1), v4(0, 1), false).unwrap();
    assert_eq!(
        s.announce(t(15), ih(1), v4(9, 1), false),
        Ok(Announced::AddedByEviction)
    );
    let left: HashSet<_> = s.peers(t(15), &ih(1)).map(|p| p.addr).collect();
    assert!(left.contains(&v4(9, 1)));
    assert!(left.contains(&v4(0, 1)), "the re-announced entry stays");
    assert_eq!(left.len(), 3);
}

#[test]
fn full_table_refuses_new_info_hashes_while_every_torrent_is_fresh() {
    let mut s = PeerStore::new(config(|c| c.max_torrents = 2), [0; 32]);
    s.announce(t(0), ih(1), v4(1, 1), false).unwrap();
    s.announce(t(1), ih(2), v4(2, 1), false).unwrap();
    assert_eq!(
        s.announce(t(14), ih(3), v4(3, 1), false),
        Err(AnnounceError::TableFull)
    );
    assert_eq!(
        s.announce(t(15), ih(3), v4(3, 1), false),
        Ok(Announced::AddedByEviction)
    );
    assert!(
        !s.contains(t(15), &ih(1)),
        "the least recently announced info-hash went"
    );
    assert!(s.contains(t(15), &ih(2)));
}

#[test]
fn total_peer_cap_holds_and_evicts_only_stale_entries() {
    let mut s = PeerStore::new(config(|c| c.max_peers = 4), [0; 32]);
    for i in 0..4 {
        s.announce(t(0), ih(i), v4(i, 1), false).unwrap();
    }
    assert_eq!(
        s.announce(t(1), ih(9), v4(9, 1), false),
        Err(AnnounceError::StoreFull)
    );
    assert_eq!(s.peer_len(), 4);
    assert_eq!(
        s.announce(t(16), ih(9), v4(9, 1), false),
        Ok(Announced::AddedByEviction)
    );
    assert_eq!(s.peer_len(), 4);
}

#[test]
fn an_announce_flood_cannot_flush_fresh_entries() {
    let mut s = PeerStore::new(config(|c| c.max_torrents = 100), [0; 32]);
    for i in 0..100 {
        s.announce(t(0), ih(i), v4(i, 1), false).unwrap();
    }
    // 1000 attacker addresses, each announcing 100 000 info-hashes over 10 minutes.
    let mut refused = 0;
    for n in 0..100_000u32 {
        let minute = u64::from(n) / 10_000;
        if s.announce(t(minute), ih(1_000 + n), v4(10_000 + n % 1000, 1), false)
            .is_err()
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 100_000);
    assert!((0..100).all(|i| s.contains(t(10), &ih(i))));
}

#[test]
fn expire_drops_every_expired_peer_and_reports_the_count() {
    let mut s = store();
    for i in 0..5 {
        s.announce(t(0), ih(i), v4(i, 1), false).unwrap();
    }
    s.announce(t(20), ih(9), v4(9, 1), false).unwrap();
    assert_eq!(s.expire(t(31)), 5);
    assert_eq!((s.len(), s.peer_len()), (1, 1));
    assert_eq!(s.live_len(t(31)), 1);
}

#[test]
fn time_running_backwards_is_treated_as_the_latest_time_seen() {
    let mut s = store();
    s.announce(t(40), ih(1), v4(1, 1), false).unwrap();
    // An earlier clock reading must not make the entry live longer.
    s.announce(t(0), ih(2), v4(2, 1), false).unwrap();
    assert!(s.peers(t(69), &ih(2)).count() == 1);
    assert!(sample(&mut s, t(71), &ih(2), Family::V4, false, 4).is_empty());
}

// ---- BEP 33 --------------------------------------------------------------------------

fn range(first: &str, last: &str) -> Vec<IpAddr> {
    let (a, b): (IpAddr, IpAddr) = (first.parse().unwrap(), last.parse().unwrap());
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a)..=u32::from(b))
            .map(|n| IpAddr::V4(n.into()))
            .collect(),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a)..=u128::from(b))
            .map(|n| IpAddr::V6(Ipv6Addr::from(n)))
            .collect(),
        _ => panic!("mixed range"),
    }
}

#[test]
fn bep33_bloom_vectors_give_the_official_filters_and_estimates() {
    let doc = vectors("bep33_bloom.json");
    let cases = doc["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let mut f = BloomFilter::new();
        let mut count = 0;
        for r in case["inputs"].as_array().unwrap() {
            for ip in range(r["first"].as_str().unwrap(), r["last"].as_str().unwrap()) {
                f.insert(ip);
                count += 1;
            }
        }
        assert_eq!(count, case["inserted_count"].as_u64().unwrap());
        assert_eq!(
            f.as_bytes().to_vec(),
            unhex(case["filter_hex"].as_str().unwrap()),
            "{}",
            case["name"]
        );
        assert_eq!(
            u64::from(f.zero_bits()),
            case["zero_bits"].as_u64().unwrap()
        );
        let want = case["estimate"].as_f64().unwrap();
        let tol = case["estimate_tolerance"].as_f64().unwrap();
        assert!(
            (f.estimate() - want).abs() <= tol,
            "{} vs {want}",
            f.estimate()
        );
    }
    assert_eq!(
        BloomFilter::new().estimate(),
        doc["estimate_of_empty_filter"].as_f64().unwrap()
    );
}

#[test]
fn scrape_puts_seeds_in_bfsd_and_downloaders_in_bfpe_matching_the_bep33_vector() {
    let doc = vectors("bep33_bloom.json");
    let case = &doc["vectors"][0];
    let mut s = PeerStore::new(
        config(|c| {
            c.max_peers_per_torrent = 2000;
        }),
        [0; 32],
    );
    let mut seeds = Vec::new();
    for r in case["inputs"].as_array().unwrap() {
        for ip in range(r["first"].as_str().unwrap(), r["last"].as_str().unwrap()) {
            s.announce(t(0), ih(1), SocketAddr::new(ip, 6881), true)
                .unwrap();
            seeds.push(ip);
        }
    }
    s.announce(t(0), ih(1), v4(77, 6881), false).unwrap();
    let scrape = s.scrape(t(0), &ih(1)).unwrap();
    assert_eq!(
        scrape.seeds.as_bytes().to_vec(),
        unhex(case["filter_hex"].as_str().unwrap())
    );
    assert!(scrape.peers.contains(v4(77, 1).ip()));
    assert!((scrape.peers.estimate() - 1.0).abs() < 0.01);
    assert!(s.scrape(t(0), &ih(2)).is_none());
}

// ---- BEP 44 --------------------------------------------------------------------------

/// A stand-in for ed25519 in these tests: the "signature" is SHA-1(key ‖ message)
/// repeated. The store's rules are what is tested; real signatures are in tests/store_ed25519.rs.
struct FakeVerifier;

fn fake_sign(key: &[u8; 32], message: &[u8]) -> [u8; 64] {
    let mut data = key.to_vec();
    data.extend_from_slice(message);
    let h = Id::sha1(&data);
    let mut sig = [0u8; 64];
    for (i, b) in sig.iter_mut().enumerate() {
        *b = h.as_bytes()[i % 20];
    }
    sig
}

impl SignatureVerifier for FakeVerifier {
    fn verify(&self, key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        fake_sign(key, message) == *signature
    }
}

const KEY: [u8; 32] = [7; 32];

struct MutableArgs {
    seq: i64,
    salt: &'static [u8],
    cas: Option<i64>,
}

fn put_mutable(
    store: &mut ItemStore,
    now: Instant,
    value: &'static [u8],
    args: MutableArgs,
    sig: Option<[u8; 64]>,
) -> Result<(Id, Stored), ItemError> {
    let v = RawValue::new(value).unwrap();
    let sig =
        sig.unwrap_or_else(|| fake_sign(&KEY, &signed_buffer(args.salt, args.seq, v).unwrap()));
    let put = Put {
        token: b"t",
        value: v,
        mutable: Some(MutablePut {
            key: &KEY,
            signature: &sig,
            seq: args.seq,
            salt: Some(args.salt),
            cas: args.cas,
        }),
    };
    store.put(
        now,
        "203.0.113.9".parse().unwrap(),
        &put,
        Some(FakeVerifier),
    )
}

fn seq(seq: i64) -> MutableArgs {
    MutableArgs {
        seq,
        salt: b"",
        cas: None,
    }
}

fn put_immutable(
    store: &mut ItemStore,
    now: Instant,
    from: u32,
    value: &[u8],
) -> Result<(Id, Stored), ItemError> {
    let put = Put {
        token: b"t",
        value: RawValue::new(value).unwrap(),
        mutable: None,
    };
    store.put(now, v4(from, 1).ip(), &put, None::<FakeVerifier>)
}

#[test]
fn bep44_vectors_give_the_official_targets_and_signed_buffers() {
    let doc = vectors("bep44_items.json");
    for case in doc["tests"].as_array().unwrap() {
        let value = unhex(case["value_bencoded_hex"].as_str().unwrap());
        let v = RawValue::new(&value).unwrap();
        let target = Id::from_slice(&unhex(case["target"].as_str().unwrap())).unwrap();
        if case["type"] == "immutable" {
            assert_eq!(immutable_target(v), target);
            continue;
        }
        let key: [u8; 32] = unhex(case["public_key"].as_str().unwrap())
            .try_into()
            .unwrap();
        let salt = case["salt_ascii"].as_str().unwrap().as_bytes();
        assert_eq!(mutable_target(&key, salt), target, "{}", case["name"]);
        let seq = case["seq"].as_i64().unwrap();
        let buf = signed_buffer(salt, seq, v).unwrap();
        assert_eq!(
            buf.to_vec(),
            unhex(case["signed_buffer_hex"].as_str().unwrap())
        );
    }
}

#[test]
fn immutable_item_put_is_returned_by_get_under_the_sha1_of_its_value() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let (target, stored) = put_immutable(&mut s, t(0), 1, b"12:Hello World!").unwrap();
    assert_eq!(stored, Stored::Added);
    assert_eq!(
        target.to_string(),
        "e5f96f6f38320f0f33959cb4d3d656452117aadb"
    );
    assert_eq!(
        s.get(t(1), &target).unwrap().value().as_bytes(),
        b"12:Hello World!"
    );
    assert_eq!(
        put_immutable(&mut s, t(2), 1, b"12:Hello World!")
            .unwrap()
            .1,
        Stored::Refreshed
    );
}

#[test]
fn value_over_1000_bytes_is_refused_with_205_and_1000_bytes_accepted() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let ok = [b"996:".as_slice(), &[b'x'; 996]].concat();
    assert_eq!(ok.len(), MAX_VALUE_LEN);
    assert!(put_immutable(&mut s, t(0), 1, &ok).is_ok());
    let big = [b"997:".as_slice(), &[b'x'; 997]].concat();
    let e = put_immutable(&mut s, t(0), 1, &big).unwrap_err();
    assert_eq!(
        (e, e.code()),
        (ItemError::ValueTooBig, ErrorCode::ValueTooBig)
    );
}

#[test]
fn non_canonical_value_is_refused_with_203() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let e = put_immutable(&mut s, t(0), 1, b"d1:bi1e1:ai2ee").unwrap_err();
    assert_eq!(
        (e, e.code()),
        (ItemError::NotCanonical, ErrorCode::Protocol)
    );
}

#[test]
fn salt_over_64_bytes_is_refused_with_207() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let salt: &'static [u8] = &[b's'; 65];
    let e = put_mutable(
        &mut s,
        t(0),
        b"1:x",
        MutableArgs {
            seq: 1,
            salt,
            cas: None,
        },
        Some([0; 64]),
    )
    .unwrap_err();
    assert_eq!(
        (e, e.code()),
        (ItemError::SaltTooBig, ErrorCode::SaltTooBig)
    );
}

#[test]
fn mutable_item_without_a_verifier_is_refused_never_stored_unchecked() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let put = Put {
        token: b"t",
        value: RawValue::new(b"1:x").unwrap(),
        mutable: Some(MutablePut {
            key: &KEY,
            signature: &[0; 64],
            seq: 1,
            salt: None,
            cas: None,
        }),
    };
    let e = s
        .put(t(0), v4(1, 1).ip(), &put, None::<FakeVerifier>)
        .unwrap_err();
    assert_eq!(e, ItemError::NoVerifier);
    assert!(s.is_empty());
}

#[test]
fn bad_signature_is_refused_with_206() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let e = put_mutable(&mut s, t(0), b"1:x", seq(1), Some([1; 64])).unwrap_err();
    assert_eq!(
        (e, e.code()),
        (ItemError::InvalidSignature, ErrorCode::InvalidSignature)
    );
    assert!(s.is_empty());
}

#[test]
fn mutable_item_with_a_higher_seq_replaces_the_stored_one() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let (target, _) = put_mutable(&mut s, t(0), b"1:a", seq(1), None).unwrap();
    assert_eq!(target, mutable_target(&KEY, b""));
    assert_eq!(
        put_mutable(&mut s, t(1), b"1:b", seq(2), None).unwrap().1,
        Stored::Updated
    );
    let item = s.get(t(1), &target).unwrap();
    assert_eq!(
        (item.value().as_bytes(), item.seq()),
        (&b"1:b"[..], Some(2))
    );
}

#[test]
fn lower_seq_is_refused_with_302_and_equal_seq_refreshes() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    put_mutable(&mut s, t(0), b"1:a", seq(5), None).unwrap();
    let e = put_mutable(&mut s, t(1), b"1:b", seq(4), None).unwrap_err();
    assert_eq!((e, e.code()), (ItemError::SeqTooLow, ErrorCode::SeqTooLow));
    assert_eq!(
        put_mutable(&mut s, t(100), b"1:a", seq(5), None).unwrap().1,
        Stored::Refreshed
    );
    // Refreshed at minute 100, so alive at 100 + 119.
    assert!(s.get(t(219), &mutable_target(&KEY, b"")).is_some());
}

#[test]
fn cas_mismatch_is_refused_with_301_and_cas_is_ignored_when_nothing_is_stored() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    put_mutable(
        &mut s,
        t(0),
        b"1:a",
        MutableArgs {
            seq: 1,
            salt: b"",
            cas: Some(9),
        },
        None,
    )
    .unwrap();
    let e = put_mutable(
        &mut s,
        t(0),
        b"1:b",
        MutableArgs {
            seq: 2,
            salt: b"",
            cas: Some(7),
        },
        None,
    )
    .unwrap_err();
    assert_eq!(
        (e, e.code()),
        (ItemError::CasMismatch, ErrorCode::CasMismatch)
    );
    let ok = put_mutable(
        &mut s,
        t(0),
        b"1:b",
        MutableArgs {
            seq: 2,
            salt: b"",
            cas: Some(1),
        },
        None,
    );
    assert_eq!(ok.unwrap().1, Stored::Updated);
}

#[test]
fn salted_items_of_one_key_are_stored_apart() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let (a, _) = put_mutable(
        &mut s,
        t(0),
        b"1:a",
        MutableArgs {
            seq: 1,
            salt: b"one",
            cas: None,
        },
        None,
    )
    .unwrap();
    let (b, _) = put_mutable(
        &mut s,
        t(0),
        b"1:b",
        MutableArgs {
            seq: 1,
            salt: b"two",
            cas: None,
        },
        None,
    )
    .unwrap();
    assert_ne!(a, b);
    assert_eq!(s.len(), 2);
    assert_eq!(&*s.get(t(0), &a).unwrap().mutable().unwrap().salt, b"one");
}

#[test]
fn negative_seq_is_refused_with_203() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let e = put_mutable(&mut s, t(0), b"1:a", seq(-1), Some([0; 64])).unwrap_err();
    assert_eq!((e, e.code()), (ItemError::InvalidSeq, ErrorCode::Protocol));
}

#[test]
fn items_expire_after_two_hours_without_a_put() {
    let mut s = ItemStore::new(ItemStoreConfig::default());
    let (target, _) = put_immutable(&mut s, t(0), 1, b"1:x").unwrap();
    assert!(s.get(t(119), &target).is_some());
    assert!(s.get(t(120), &target).is_none());
    assert_eq!(s.expire(t(120)), 1);
    assert!(s.is_empty());
}

#[test]
fn full_item_store_refuses_while_fresh_and_evicts_the_stalest_after_an_hour() {
    let mut c = ItemStoreConfig::default();
    c.max_items = 2;
    let mut s = ItemStore::new(c);
    let (first, _) = put_immutable(&mut s, t(0), 1, b"1:a").unwrap();
    put_immutable(&mut s, t(10), 2, b"1:b").unwrap();
    assert_eq!(
        put_immutable(&mut s, t(59), 3, b"1:c"),
        Err(ItemError::StoreFull)
    );
    assert_eq!(
        put_immutable(&mut s, t(60), 3, b"1:c").unwrap().1,
        Stored::AddedByEviction
    );
    assert!(s.get(t(60), &first).is_none());
    assert_eq!(s.len(), 2);
}

#[test]
fn one_ip_owns_at_most_max_items_per_ip() {
    let mut c = ItemStoreConfig::default();
    c.max_items_per_ip = 2;
    let mut s = ItemStore::new(c);
    put_immutable(&mut s, t(0), 1, b"1:a").unwrap();
    put_immutable(&mut s, t(0), 1, b"1:b").unwrap();
    assert_eq!(
        put_immutable(&mut s, t(0), 1, b"1:c"),
        Err(ItemError::IpLimit)
    );
    assert!(put_immutable(&mut s, t(0), 2, b"1:c").is_ok());
}

// ---- BEP 51 --------------------------------------------------------------------------

#[test]
fn sample_infohashes_holds_at_most_20_distinct_live_info_hashes_and_counts_them_all() {
    let mut peers = PeerStore::new(config(|c| c.max_entries_per_ip = 1000), [0; 32]);
    for i in 0..50 {
        peers
            .announce(t(0), ih(i), v4(1, 1 + i as u16), false)
            .unwrap();
    }
    let mut sampler = InfoHashSampler::new(SamplerConfig::default(), [1; 32]);
    let a = sampler.sample(t(0), &peers).clone();
    assert_eq!((a.samples.len(), a.num), (20, 50));
    assert_eq!(a.samples.iter().collect::<HashSet<_>>().len(), 20);
    assert!(a.samples.iter().all(|id| peers.contains(t(0), id)));
}

#[test]
fn sample_is_reused_within_its_interval_and_rebuilt_after_it() {
    let mut peers = PeerStore::new(config(|c| c.max_entries_per_ip = 1000), [0; 32]);
    for i in 0..100 {
        peers
            .announce(t(0), ih(i), v4(1, 1 + i as u16), false)
            .unwrap();
    }
    let mut c = SamplerConfig::default();
    c.interval = 10 * MIN;
    let mut sampler = InfoHashSampler::new(c, [1; 32]);
    let a = sampler.sample(t(0), &peers).clone();
    let b = sampler.sample(t(5), &peers).clone();
    assert_eq!(a.samples, b.samples);
    assert_eq!(
        b.interval,
        5 * MIN,
        "interval counts down to the next sample"
    );
    for i in 0..100 {
        peers
            .announce(t(9), ih(i), v4(1, 1 + i as u16), false)
            .unwrap();
    }
    let c2 = sampler.sample(t(10), &peers).clone();
    assert_ne!(a.samples, c2.samples);
    assert_eq!(c2.interval, 10 * MIN);
}

#[test]
fn a_sample_that_is_not_full_is_rebuilt_once_the_store_grows() {
    let mut peers = store();
    let mut sampler = InfoHashSampler::new(SamplerConfig::default(), [1; 32]);
    assert_eq!(sampler.sample(t(0), &peers).num, 0);
    peers.announce(t(0), ih(1), v4(1, 1), false).unwrap();
    assert_eq!(sampler.sample(t(0), &peers).num, 0, "not before a minute");
    let s = sampler.sample(t(1), &peers);
    assert_eq!((s.num, s.samples.len()), (1, 1));
}
