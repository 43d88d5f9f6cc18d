//! Property tests: arbitrary messages and values round-trip; arbitrary bytes never panic.

use btdht::Id;
use btdht::addr::Families;
use btdht::bencode::{DecodeOptions, Dict, KeyOrder, Kind, RawValue, Value, ValueRef};
use btdht::krpc::{
    Body, CompactList, ErrorCode, ErrorMessage, Message, MutablePut, NodeV4, NodeV6, Put, Query,
    QueryKind, Response, Values,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

/// An owned bencode tree that proptest can generate; borrowed as a `Value` for each case.
#[derive(Clone, Debug)]
enum Tree {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Tree>),
    Dict(BTreeMap<Vec<u8>, Tree>),
}

impl Tree {
    fn value(&self) -> Value<'_> {
        match self {
            Tree::Int(n) => Value::Int(*n),
            Tree::Bytes(b) => Value::Bytes(b),
            Tree::List(items) => Value::List(items.iter().map(Tree::value).collect()),
            Tree::Dict(d) => Value::Dict(
                d.iter()
                    .map(|(k, v)| (&k[..], v.value()))
                    .collect::<Dict<'_>>(),
            ),
        }
    }
}

impl Tree {
    /// The encoding with every dictionary's keys in descending order (not canonical, as
    /// some DHT clients send).
    fn encode_reversed(&self, out: &mut Vec<u8>) {
        let bytes = |out: &mut Vec<u8>, b: &[u8]| {
            out.extend(b.len().to_string().as_bytes());
            out.push(b':');
            out.extend(b);
        };
        match self {
            Tree::Int(n) => out.extend(format!("i{n}e").as_bytes()),
            Tree::Bytes(b) => bytes(out, b),
            Tree::List(items) => {
                out.push(b'l');
                items.iter().for_each(|t| t.encode_reversed(out));
                out.push(b'e');
            }
            Tree::Dict(d) => {
                out.push(b'd');
                for (k, t) in d.iter().rev() {
                    bytes(out, k);
                    t.encode_reversed(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Whether `v` reads back as this tree through every accessor: kinds, each key
    /// looked up, each item by index, and iteration.
    fn reads_back(&self, v: ValueRef<'_, '_>) -> bool {
        match self {
            Tree::Int(n) => v.as_int() == Some(*n) && v.kind() == Kind::Int,
            Tree::Bytes(b) => v.as_bytes() == Some(&b[..]) && v.kind() == Kind::Bytes,
            Tree::List(items) => v.as_list().is_some_and(|l| {
                l.len() == items.len()
                    && items
                        .iter()
                        .enumerate()
                        .all(|(i, t)| l.get(i).is_some_and(|item| t.reads_back(item)))
                    && l.iter().zip(items).all(|(item, t)| t.reads_back(item))
            }),
            Tree::Dict(d) => v.as_dict().is_some_and(|dict| {
                dict.len() == d.len()
                    && d.iter()
                        .all(|(k, t)| dict.get(k).is_some_and(|item| t.reads_back(item)))
                    && dict.keys().eq(d.keys().map(|k| &k[..]))
            }),
        }
    }
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Tree::Int),
        vec(any::<u8>(), 0..24).prop_map(Tree::Bytes),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Tree::List),
            btree_map(vec(any::<u8>(), 0..8), inner, 0..6).prop_map(Tree::Dict),
        ]
    })
}

fn id() -> impl Strategy<Value = Id> {
    any::<[u8; 20]>().prop_map(Id::from_bytes)
}

fn v4() -> impl Strategy<Value = SocketAddrV4> {
    (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddrV4::new(ip.into(), port))
}

fn v6() -> impl Strategy<Value = SocketAddrV6> {
    (any::<[u8; 16]>(), any::<u16>())
        .prop_map(|(ip, port)| SocketAddrV6::new(ip.into(), port, 0, 0))
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![v4().prop_map(SocketAddr::V4), v6().prop_map(SocketAddr::V6)]
}

/// Everything a message borrows, owned.
#[derive(Clone, Debug)]
struct Owned {
    t: Vec<u8>,
    version: Option<Vec<u8>>,
    ip: Option<SocketAddr>,
    read_only: bool,
    body: OwnedBody,
}

#[derive(Clone, Debug)]
enum OwnedBody {
    Query(Id, Option<Families>, OwnedKind),
    Response(Box<OwnedResponse>),
    Error(i64, Vec<u8>, Option<Id>),
}

#[derive(Clone, Debug)]
enum OwnedKind {
    Ping,
    FindNode(Id),
    GetPeers(Id, bool, bool),
    Announce(Id, u16, bool, Vec<u8>, bool),
    Get(Id, Option<i64>),
    Put(Vec<u8>, Vec<u8>, Option<OwnedMutable>),
    Sample(Id),
    Unknown(Vec<u8>, Option<Id>, Option<Id>),
}

/// key, signature, seq, salt, cas
type OwnedMutable = ([u8; 32], Vec<u8>, i64, Option<Vec<u8>>, Option<i64>);

#[derive(Clone, Debug)]
struct OwnedResponse {
    id: Id,
    nodes: Option<Vec<NodeV4>>,
    nodes6: Option<Vec<NodeV6>>,
    values: Option<Vec<SocketAddr>>,
    token: Option<Vec<u8>>,
    bf: (Option<Vec<u8>>, Option<Vec<u8>>),
    samples: Option<Vec<Id>>,
    interval: Option<i64>,
    num: Option<i64>,
    value: Option<Vec<u8>>,
    key: Option<[u8; 32]>,
    seq: Option<i64>,
    signature: Option<Vec<u8>>,
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn encoded_tree() -> impl Strategy<Value = Vec<u8>> {
    tree().prop_map(|t| t.value().to_vec())
}

fn kind() -> impl Strategy<Value = OwnedKind> {
    let known = [
        "ping",
        "find_node",
        "get_peers",
        "announce_peer",
        "get",
        "put",
        "sample_infohashes",
    ];
    let mutable = (
        any::<[u8; 32]>(),
        vec(any::<u8>(), 64),
        any::<i64>(),
        option::of(bytes(70)),
        option::of(any::<i64>()),
    );
    prop_oneof![
        Just(OwnedKind::Ping),
        id().prop_map(OwnedKind::FindNode),
        (id(), any::<bool>(), any::<bool>()).prop_map(|(h, n, s)| OwnedKind::GetPeers(h, n, s)),
        (id(), any::<u16>(), any::<bool>(), bytes(24), any::<bool>())
            .prop_map(|(h, p, i, t, s)| OwnedKind::Announce(h, p, i, t, s)),
        (id(), option::of(any::<i64>())).prop_map(|(t, s)| OwnedKind::Get(t, s)),
        (bytes(24), encoded_tree(), option::of(mutable))
            .prop_map(|(t, v, m)| OwnedKind::Put(t, v, m)),
        id().prop_map(OwnedKind::Sample),
        (
            "[a-z_]{0,16}".prop_filter("unknown method", move |m| !known.contains(&m.as_str())),
            option::of(id()),
            option::of(id())
        )
            .prop_map(|(m, t, h)| OwnedKind::Unknown(m.into_bytes(), t, h)),
    ]
}

fn response() -> impl Strategy<Value = OwnedResponse> {
    (
        (
            id(),
            option::of(vec(
                (id(), v4()).prop_map(|(id, addr)| NodeV4 { id, addr }),
                0..10,
            )),
            option::of(vec(
                (id(), v6()).prop_map(|(id, addr)| NodeV6 { id, addr }),
                0..10,
            )),
            option::of(vec(addr(), 0..60)),
            option::of(bytes(24)),
            (
                option::of(vec(any::<u8>(), 256)),
                option::of(vec(any::<u8>(), 256)),
            ),
        ),
        (
            option::of(vec(id(), 0..30)),
            option::of(any::<i64>()),
            option::of(any::<i64>()),
            option::of(encoded_tree()),
            option::of(any::<[u8; 32]>()),
            option::of(any::<i64>()),
            option::of(vec(any::<u8>(), 64)),
        ),
    )
        .prop_map(
            |(
                (id, nodes, nodes6, values, token, bf),
                (samples, interval, num, value, key, seq, signature),
            )| {
                OwnedResponse {
                    id,
                    nodes,
                    nodes6,
                    values,
                    token,
                    bf,
                    samples,
                    interval,
                    num,
                    value,
                    key,
                    seq,
                    signature,
                }
            },
        )
}

fn want() -> impl Strategy<Value = Option<Families>> {
    option::of(prop_oneof![
        Just(Families::NONE),
        Just(Families::V4),
        Just(Families::V6),
        Just(Families::BOTH)
    ])
}

fn owned() -> impl Strategy<Value = Owned> {
    let body = prop_oneof![
        (id(), want(), kind()).prop_map(|(i, w, k)| OwnedBody::Query(i, w, k)),
        response().prop_map(|r| OwnedBody::Response(Box::new(r))),
        (any::<i64>(), bytes(40), option::of(id())).prop_map(|(c, m, i)| OwnedBody::Error(c, m, i)),
    ];
    (
        bytes(24),
        option::of(bytes(6)),
        option::of(addr()),
        any::<bool>(),
        body,
    )
        .prop_map(|(t, version, ip, read_only, body)| Owned {
            t,
            version,
            ip,
            read_only,
            body,
        })
}

fn arr<const N: usize>(v: &[u8]) -> &[u8; N] {
    v.try_into().expect("generated with the right length")
}

impl Owned {
    fn message(&self) -> Message<'_> {
        let body = match &self.body {
            OwnedBody::Query(id, want, k) => Body::Query(Query {
                id: *id,
                want: *want,
                kind: match k {
                    OwnedKind::Ping => QueryKind::Ping,
                    OwnedKind::FindNode(target) => QueryKind::FindNode { target: *target },
                    OwnedKind::GetPeers(info_hash, noseed, scrape) => QueryKind::GetPeers {
                        info_hash: *info_hash,
                        noseed: *noseed,
                        scrape: *scrape,
                    },
                    OwnedKind::Announce(info_hash, port, implied_port, token, seed) => {
                        QueryKind::AnnouncePeer {
                            info_hash: *info_hash,
                            port: *port,
                            implied_port: *implied_port,
                            token,
                            seed: *seed,
                        }
                    }
                    OwnedKind::Get(target, seq) => QueryKind::Get {
                        target: *target,
                        seq: *seq,
                    },
                    OwnedKind::Put(token, v, m) => QueryKind::Put(Put {
                        token,
                        value: RawValue::new(v).expect("generated from a Value"),
                        mutable: m.as_ref().map(|(key, sig, seq, salt, cas)| MutablePut {
                            key,
                            signature: arr(sig),
                            seq: *seq,
                            salt: salt.as_deref(),
                            cas: *cas,
                        }),
                    }),
                    OwnedKind::Sample(target) => QueryKind::SampleInfohashes { target: *target },
                    OwnedKind::Unknown(method, target, info_hash) => QueryKind::Unknown {
                        method,
                        target: *target,
                        info_hash: *info_hash,
                    },
                },
            }),
            OwnedBody::Response(r) => Body::Response(Response {
                id: r.id,
                nodes: r.nodes.as_deref().map(CompactList::from_items),
                nodes6: r.nodes6.as_deref().map(CompactList::from_items),
                values: r.values.as_deref().map(Values::from_peers),
                token: r.token.as_deref(),
                bf_seeds: r.bf.0.as_deref().map(arr),
                bf_peers: r.bf.1.as_deref().map(arr),
                samples: r.samples.as_deref().map(CompactList::from_items),
                interval: r.interval,
                num: r.num,
                value: r
                    .value
                    .as_deref()
                    .map(|v| RawValue::new(v).expect("generated from a Value")),
                key: r.key.as_ref(),
                seq: r.seq,
                signature: r.signature.as_deref().map(arr),
            }),
            OwnedBody::Error(code, message, id) => Body::Error(ErrorMessage {
                code: ErrorCode::from_code(*code),
                message,
                id: *id,
            }),
        };
        Message {
            transaction_id: &self.t,
            version: self.version.as_deref(),
            ip: self.ip,
            read_only: self.read_only,
            body,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_message_round_trips_through_encode_and_decode(o in owned()) {
        let m = o.message();
        let len = m.encoded_len();
        let mut buf = vec![0u8; len];
        prop_assert_eq!(m.encode(&mut buf), Ok(len));
        let back = Message::decode(&buf).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &m);
        // Re-encoding what was decoded gives the same bytes: encoding is canonical.
        let mut again = vec![0u8; len];
        prop_assert_eq!(back.encode(&mut again), Ok(len));
        prop_assert_eq!(again, buf);
    }

    #[test]
    fn any_value_round_trips_and_encodes_canonically(t in tree()) {
        let v = t.value();
        let bytes = v.to_vec();
        prop_assert_eq!(bytes.len(), v.encoded_len());
        let canonical = DecodeOptions::new().key_order(KeyOrder::Sorted).max_depth(64);
        let back = Value::decode_with(&bytes, canonical).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, v);
    }

    #[test]
    fn any_value_reads_back_by_key_and_index_whatever_its_key_order(t in tree()) {
        let mut bytes = Vec::new();
        t.encode_reversed(&mut bytes);
        let options = DecodeOptions::new().max_depth(64);
        let doc = Value::decode_with(&bytes, options).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(t.reads_back(doc.root()), "{:?}", doc);
        prop_assert_eq!(doc.to_value(), t.value());
        prop_assert_eq!(doc.to_vec(), t.value().to_vec());
    }

    #[test]
    fn arbitrary_bytes_never_panic_either_decoder(data in vec(any::<u8>(), 0..512)) {
        let _ = Message::decode(&data);
        let _ = Value::decode(&data);
    }

    #[test]
    fn mutated_valid_messages_never_panic_and_decoded_ones_round_trip(
        o in owned(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let m = o.message();
        let mut buf = vec![0u8; m.encoded_len()];
        m.encode(&mut buf).expect("sized by encoded_len");
        for (at, byte) in edits {
            let i = at.index(buf.len());
            buf[i] = byte;
        }
        let _ = Value::decode(&buf);
        if let Ok(msg) = Message::decode(&buf) {
            let mut out = vec![0u8; msg.encoded_len()];
            prop_assert_eq!(msg.encode(&mut out), Ok(out.len()));
            let again = Message::decode(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(again, msg);
        }
    }
}
