//! Structure-aware: the input is a KRPC message field by field (transaction id, version,
//! `ip`, `ro`, and a query, response or error with every field of BEP 5, 32, 33, 42, 43,
//! 44 and 51), so libFuzzer's mutations change one field at a time instead of breaking
//! the bencode. Checked:
//!
//! - what `Message::encode` writes decodes back to an equal message;
//! - a node (with an ed25519 verifier) given the message — with, when the input asks,
//!   a token the node handed out and a valid signature — never panics and answers with
//!   valid KRPC; an `announce_peer` with a valid token and a `put` with a valid token
//!   and signature are never refused as malformed (203) or badly signed (206): the deep
//!   paths of the stores are reached, not just the token check.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use btdht::Id;
use btdht::addr::{Families, LocalAddresses};
use btdht::bencode::RawValue;
use btdht::krpc::{
    Body, CompactList, ErrorCode, ErrorMessage, Message, MutablePut, NodeV4, NodeV6, Put, Query,
    QueryKind, Response, Samples, Values,
};
use btdht::node::{Config, Dht};
use btdht::store::{SignatureVerifier, mutable_target, signed_buffer};
use btdht::time::Instant;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

struct Dalek;

impl SignatureVerifier for Dalek {
    fn verify(&self, key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        VerifyingKey::from_bytes(key).is_ok_and(|k| {
            k.verify(message, &ed25519_dalek::Signature::from_bytes(signature))
                .is_ok()
        })
    }
}

#[derive(Arbitrary, Debug)]
struct Model {
    tid: Vec<u8>,
    version: Option<[u8; 4]>,
    ip: Option<Addr>,
    read_only: bool,
    body: BodyModel,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Addr {
    V4([u8; 4], u16),
    V6([u8; 16], u16),
}

impl Addr {
    fn get(self) -> SocketAddr {
        match self {
            Addr::V4(ip, port) => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)),
            Addr::V6(ip, port) => SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0)),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum BodyModel {
    Query {
        id: [u8; 20],
        want: Option<(bool, bool)>,
        kind: KindModel,
    },
    Response(ResponseModel),
    Error {
        code: i64,
        message: Vec<u8>,
        id: Option<[u8; 20]>,
    },
}

#[derive(Arbitrary, Debug)]
enum KindModel {
    Ping,
    FindNode([u8; 20]),
    GetPeers {
        info_hash: [u8; 20],
        noseed: bool,
        scrape: bool,
    },
    Announce {
        info_hash: [u8; 20],
        port: u16,
        implied_port: bool,
        token: TokenModel,
        seed: bool,
    },
    Get {
        target: [u8; 20],
        seq: Option<i64>,
    },
    Put {
        token: TokenModel,
        value: ValueModel,
        mutable: Option<MutableModel>,
    },
    Sample([u8; 20]),
    Unknown {
        method: Vec<u8>,
        target: Option<[u8; 20]>,
        info_hash: Option<[u8; 20]>,
    },
}

#[derive(Arbitrary, Debug)]
enum TokenModel {
    /// The token the node gives this source for the target.
    Valid,
    Made(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum ValueModel {
    Bytes(Vec<u8>),
    Int(i64),
    List(Vec<i64>),
    /// A value of exactly this many bytes once bencoded (around the 1000-byte limit).
    Sized(u16),
}

impl ValueModel {
    fn encode(&self) -> Vec<u8> {
        match self {
            ValueModel::Bytes(b) => [format!("{}:", b.len()).as_bytes(), b].concat(),
            ValueModel::Int(i) => format!("i{i}e").into_bytes(),
            ValueModel::List(l) => {
                let mut v = b"l".to_vec();
                for i in l {
                    v.extend(format!("i{i}e").as_bytes());
                }
                v.push(b'e');
                v
            }
            ValueModel::Sized(n) => {
                let n = usize::from(*n % 1100).max(6);
                let body = n - 5; // "NNNN:" for bodies of 1000..=1094 bytes
                let len = if body >= 1000 {
                    body
                } else {
                    n - 1 - digits(n)
                };
                let mut v = format!("{len}:").into_bytes();
                v.resize(v.len() + len, b'x');
                v
            }
        }
    }
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

#[derive(Arbitrary, Debug)]
struct MutableModel {
    secret: [u8; 32],
    salt: Vec<u8>,
    seq: i64,
    cas: Option<i64>,
    /// Sign the put properly (otherwise the signature below is used).
    sign: bool,
    signature: [u8; 64],
}

#[derive(Arbitrary, Debug)]
struct ResponseModel {
    id: [u8; 20],
    nodes: Option<Vec<([u8; 20], [u8; 4], u16)>>,
    nodes6: Option<Vec<([u8; 20], [u8; 16], u16)>>,
    values: Option<Vec<Addr>>,
    token: Option<Vec<u8>>,
    bf_seeds: Option<[u8; 8]>,
    bf_peers: Option<[u8; 8]>,
    samples: Option<Vec<[u8; 20]>>,
    interval: Option<i64>,
    num: Option<i64>,
    value: Option<ValueModel>,
    key: Option<[u8; 32]>,
    seq: Option<i64>,
    signature: Option<[u8; 64]>,
}

const FROM: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 6881));

fn node() -> Dht {
    let mut c = Config::default();
    c.routing.local_addresses = LocalAddresses::Allow;
    let mut dht = Dht::new(c, [7; 32], Instant::from_millis(0));
    dht.set_signature_verifier(Box::new(Dalek));
    dht
}

/// The token `dht` hands `FROM` for `target` (asked with a `get_peers`).
fn token_for(dht: &mut Dht, target: &Id) -> Vec<u8> {
    let q = Message {
        transaction_id: b"tk",
        version: None,
        ip: None,
        read_only: false,
        body: Body::Query(Query {
            id: Id::from_bytes([1; 20]),
            want: None,
            kind: QueryKind::GetPeers {
                info_hash: *target,
                noseed: false,
                scrape: false,
            },
        }),
    };
    let mut out = vec![0u8; q.encoded_len()];
    let n = q.encode(&mut out).expect("the token query encodes");
    dht.handle_datagram(Instant::from_millis(1), FROM, &out[..n]);
    let mut buf = [0u8; 1500];
    let mut token = Vec::new();
    while let Some(t) = dht.poll_transmit(Instant::from_millis(1), &mut buf) {
        if let Ok(Message {
            body: Body::Response(r),
            ..
        }) = Message::decode(&buf[..t.len])
        {
            token = r.token.unwrap_or_default().to_vec();
        }
    }
    token
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(model) = Model::arbitrary(&mut u) else {
        return;
    };
    let mut dht = node();
    let id = |b: &[u8; 20]| Id::from_bytes(*b);

    // Owned pieces the message borrows.
    let value_bytes;
    let token;
    let signature;
    let key;
    let (v4, v6, peers, samples, rvalue, bf_seeds, bf_peers);
    let mut deep = None;

    let body = match &model.body {
        BodyModel::Error { code, message, id } => Body::Error(ErrorMessage {
            code: ErrorCode::from_code(*code),
            message,
            id: id.as_ref().map(|i| Id::from_bytes(*i)),
        }),
        BodyModel::Query {
            id: qid,
            want,
            kind,
        } => {
            let kind = match kind {
                KindModel::Ping => QueryKind::Ping,
                KindModel::FindNode(t) => QueryKind::FindNode { target: id(t) },
                KindModel::GetPeers {
                    info_hash,
                    noseed,
                    scrape,
                } => QueryKind::GetPeers {
                    info_hash: id(info_hash),
                    noseed: *noseed,
                    scrape: *scrape,
                },
                KindModel::Announce {
                    info_hash,
                    port,
                    implied_port,
                    token: t,
                    seed,
                } => {
                    token = match t {
                        TokenModel::Valid => {
                            // Port 0 without implied_port is malformed (203), rightly.
                            if *port != 0 || *implied_port {
                                deep = Some("announce_peer");
                            }
                            token_for(&mut dht, &id(info_hash))
                        }
                        TokenModel::Made(v) => v.clone(),
                    };
                    QueryKind::AnnouncePeer {
                        info_hash: id(info_hash),
                        port: *port,
                        implied_port: *implied_port,
                        token: &token,
                        seed: *seed,
                    }
                }
                KindModel::Get { target, seq } => QueryKind::Get {
                    target: id(target),
                    seq: *seq,
                },
                KindModel::Put {
                    token: t,
                    value,
                    mutable,
                } => {
                    value_bytes = value.encode();
                    let Ok(v) = RawValue::new(&value_bytes) else {
                        return;
                    };
                    let mutable = match mutable {
                        None => None,
                        Some(m) => {
                            let signing = SigningKey::from_bytes(&m.secret);
                            key = signing.verifying_key().to_bytes();
                            signature = if m.sign {
                                match signed_buffer(&m.salt, m.seq, v) {
                                    Ok(buf) => signing.sign(&buf).to_bytes(),
                                    Err(_) => m.signature,
                                }
                            } else {
                                m.signature
                            };
                            Some(MutablePut {
                                key: &key,
                                signature: &signature,
                                seq: m.seq,
                                salt: (!m.salt.is_empty()).then_some(&m.salt[..]),
                                cas: m.cas,
                            })
                        }
                    };
                    let target = match &mutable {
                        Some(m) => mutable_target(m.key, m.salt.unwrap_or_default()),
                        None => btdht::store::immutable_target(v),
                    };
                    token = match t {
                        TokenModel::Valid => {
                            let signed = match mutable {
                                Some(_) => mutable_ok(&model.body),
                                None => true,
                            };
                            if signed && value_bytes.len() <= btdht::store::MAX_VALUE_LEN {
                                deep = Some("put");
                            }
                            token_for(&mut dht, &target)
                        }
                        TokenModel::Made(v) => v.clone(),
                    };
                    QueryKind::Put(Put {
                        token: &token,
                        value: v,
                        mutable,
                    })
                }
                KindModel::Sample(t) => QueryKind::SampleInfohashes { target: id(t) },
                KindModel::Unknown {
                    method,
                    target,
                    info_hash,
                } => QueryKind::Unknown {
                    method,
                    target: target.as_ref().map(id),
                    info_hash: info_hash.as_ref().map(id),
                },
            };
            Body::Query(Query {
                id: id(qid),
                want: want.map(|(n4, n6)| match (n4, n6) {
                    (false, false) => Families::NONE,
                    (true, false) => Families::V4,
                    (false, true) => Families::V6,
                    (true, true) => Families::BOTH,
                }),
                kind,
            })
        }
        BodyModel::Response(r) => {
            let mut resp = Response::new(id(&r.id));
            v4 = r.nodes.as_ref().map(|n| {
                n.iter()
                    .take(40)
                    .map(|(i, ip, port)| NodeV4 {
                        id: id(i),
                        addr: SocketAddrV4::new((*ip).into(), *port),
                    })
                    .collect::<Vec<_>>()
            });
            v6 = r.nodes6.as_ref().map(|n| {
                n.iter()
                    .take(20)
                    .map(|(i, ip, port)| NodeV6 {
                        id: id(i),
                        addr: SocketAddrV6::new((*ip).into(), *port, 0, 0),
                    })
                    .collect::<Vec<_>>()
            });
            peers = r
                .values
                .as_ref()
                .map(|v| v.iter().take(60).map(|a| a.get()).collect::<Vec<_>>());
            samples = r
                .samples
                .as_ref()
                .map(|s| s.iter().take(40).map(id).collect::<Vec<_>>());
            rvalue = r.value.as_ref().map(ValueModel::encode);
            resp.nodes = v4.as_deref().map(CompactList::from_items);
            resp.nodes6 = v6.as_deref().map(CompactList::from_items);
            resp.values = peers.as_deref().map(Values::from_peers);
            resp.token = r.token.as_deref();
            // Bloom filters: the model's 8 bytes repeated over the 256.
            let bloom = |b: &[u8; 8]| core::array::from_fn::<u8, 256, _>(|i| b[i % 8]);
            bf_seeds = r.bf_seeds.as_ref().map(bloom);
            bf_peers = r.bf_peers.as_ref().map(bloom);
            resp.bf_seeds = bf_seeds.as_ref();
            resp.bf_peers = bf_peers.as_ref();
            resp.samples = samples.as_deref().map(Samples::from_items);
            resp.interval = r.interval;
            resp.num = r.num;
            resp.value = match rvalue.as_deref().map(RawValue::new) {
                Some(Ok(v)) => Some(v),
                Some(Err(_)) => return,
                None => None,
            };
            resp.key = r.key.as_ref();
            resp.seq = r.seq;
            resp.signature = r.signature.as_ref();
            Body::Response(resp)
        }
    };
    let msg = Message {
        transaction_id: &model.tid,
        version: model.version.as_ref().map(|v| &v[..]),
        ip: model.ip.map(Addr::get),
        read_only: model.read_only,
        body,
    };
    let mut out = vec![0u8; msg.encoded_len()];
    let Ok(n) = msg.encode(&mut out) else {
        return;
    };
    let back = Message::decode(&out[..n])
        .unwrap_or_else(|e| panic!("our encoding fails to decode: {e:?}"));
    assert_eq!(back, msg, "encode then decode changed the message");

    dht.handle_datagram(Instant::from_millis(2), FROM, &out[..n]);
    let mut buf = [0u8; 1500];
    while let Some(t) = dht.poll_transmit(Instant::from_millis(2), &mut buf) {
        let answer = Message::decode(&buf[..t.len]).expect("the node sends valid KRPC");
        if let (Some(what), Body::Error(e)) = (deep, &answer.body) {
            if answer.transaction_id == &model.tid[..] && !model.tid_too_long_to_echo() {
                assert!(
                    !matches!(e.code, ErrorCode::Protocol | ErrorCode::InvalidSignature),
                    "an accepted-looking {what} with a valid token (and signature) was refused: {e:?}"
                );
            }
        }
    }
});

/// Whether the model's mutable put carries a proper signature over sane fields.
fn mutable_ok(body: &BodyModel) -> bool {
    match body {
        BodyModel::Query {
            kind: KindModel::Put {
                mutable: Some(m), ..
            },
            ..
        } => {
            // The node refuses negative sequence numbers (203), by design.
            m.sign && m.salt.len() <= btdht::store::MAX_SALT_LEN && m.seq >= 0
        }
        _ => false,
    }
}

impl Model {
    /// Transaction ids longer than the node echoes get a bare 203; those are not the
    /// deep paths this target checks.
    fn tid_too_long_to_echo(&self) -> bool {
        self.tid.len() > btdht::node::MAX_ECHOED_TRANSACTION_ID
    }
}
