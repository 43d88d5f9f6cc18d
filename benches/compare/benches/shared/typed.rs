//! The standard KRPC inputs as typed values (ids, `SocketAddr`s, `NodeV4 { id, addr }`
//! pairs), and two ways to write them back to bytes from those values: btdht's
//! `Message::encode` of a message built from them ("typed build"), and a naive
//! hand-written writer into a reused `Vec` (the floor any encoder should beat). Both
//! must give back the standard input byte for byte. Shared by `compare.rs` (included
//! with `#[path]`); plain Rust and btdht, nothing else.
#![allow(dead_code)]

use btdht::Id;
use btdht::krpc::{Body, CompactList, Message, NodeV4, Query, QueryKind, Response, Values};
use std::net::SocketAddr;

/// What a message holds, as an application would have it before encoding.
pub struct Typed {
    tid: Vec<u8>,
    version: Option<Vec<u8>>,
    ip: Option<SocketAddr>,
    id: Id,
    /// `None`: a ping query; else a response.
    response: Option<Fields>,
}

/// The fields of a response.
struct Fields {
    nodes: Option<Vec<NodeV4>>,
    token: Option<Vec<u8>>,
    values: Option<Vec<SocketAddr>>,
}

impl Typed {
    /// The typed values of a standard input (a ping query, or a response with `nodes`,
    /// `token`, `values`).
    pub fn of(bytes: &[u8]) -> Typed {
        let m = Message::decode(bytes).expect("standard input decodes");
        let (id, response) = match m.body {
            Body::Query(q) => {
                assert!(matches!(q.kind, QueryKind::Ping), "only ping queries");
                (q.id, None)
            }
            Body::Response(r) => (
                r.id,
                Some(Fields {
                    nodes: r.nodes.map(|n| n.iter().collect()),
                    token: r.token.map(<[u8]>::to_vec),
                    values: r.values.map(|v| v.iter().collect()),
                }),
            ),
            Body::Error(_) => panic!("no error inputs"),
        };
        let typed = Typed {
            tid: m.transaction_id.to_vec(),
            version: m.version.map(<[u8]>::to_vec),
            ip: m.ip,
            id,
            response,
        };
        let mut buf = vec![0u8; 1500];
        let n = typed.message().encode(&mut buf).expect("fits");
        assert_eq!(&buf[..n], bytes, "the typed build writes the input back");
        let mut out = Vec::new();
        typed.floor(&mut out);
        assert_eq!(out, bytes, "the floor writer writes the input back");
        typed
    }

    /// A [`Message`] over the typed values: `CompactList::from_items` and
    /// `Values::from_peers`, no bytes of the input.
    #[inline]
    pub fn message(&self) -> Message<'_> {
        let body = match &self.response {
            None => Body::Query(Query {
                id: self.id,
                want: None,
                kind: QueryKind::Ping,
            }),
            Some(f) => {
                let mut r = Response::new(self.id);
                r.nodes = f.nodes.as_deref().map(CompactList::from_items);
                r.token = f.token.as_deref();
                r.values = f.values.as_deref().map(Values::from_peers);
                Body::Response(r)
            }
        };
        Message {
            transaction_id: &self.tid,
            version: self.version.as_deref(),
            ip: self.ip,
            read_only: false,
            body,
        }
    }

    /// The floor: what anyone would write by hand for these messages, into a reused
    /// `Vec` (cleared, its capacity kept), with `extend_from_slice` piece by piece.
    #[inline(never)]
    pub fn floor(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(b'd');
        if self.response.is_none() {
            out.extend_from_slice(b"1:ad2:id20:");
            out.extend_from_slice(self.id.as_bytes());
            out.push(b'e');
        }
        if let Some(ip) = &self.ip {
            out.extend_from_slice(b"2:ip");
            peer(out, ip);
        }
        match &self.response {
            None => out.extend_from_slice(b"1:q4:ping"),
            Some(f) => {
                out.extend_from_slice(b"1:rd2:id20:");
                out.extend_from_slice(self.id.as_bytes());
                if let Some(nodes) = &f.nodes {
                    out.extend_from_slice(b"5:nodes");
                    len(out, nodes.len() * 26);
                    for n in nodes {
                        out.extend_from_slice(n.id.as_bytes());
                        out.extend_from_slice(&n.addr.ip().octets());
                        out.extend_from_slice(&n.addr.port().to_be_bytes());
                    }
                }
                if let Some(token) = &f.token {
                    out.extend_from_slice(b"5:token");
                    string(out, token);
                }
                if let Some(values) = &f.values {
                    out.extend_from_slice(b"6:valuesl");
                    for p in values {
                        peer(out, p);
                    }
                    out.push(b'e');
                }
                out.push(b'e');
            }
        }
        out.extend_from_slice(b"1:t");
        string(out, &self.tid);
        if let Some(v) = &self.version {
            out.extend_from_slice(b"1:v");
            string(out, v);
        }
        out.extend_from_slice(match self.response {
            None => b"1:y1:qe",
            Some(_) => b"1:y1:re",
        });
    }
}

/// `<len>:` for lengths below 1 000.
fn len(out: &mut Vec<u8>, n: usize) {
    if n >= 100 {
        out.push(b'0' + (n / 100 % 10) as u8);
    }
    if n >= 10 {
        out.push(b'0' + (n / 10 % 10) as u8);
    }
    out.push(b'0' + (n % 10) as u8);
    out.push(b':');
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    len(out, s.len());
    out.extend_from_slice(s);
}

/// A compact peer as a byte string: `6:` and 6 bytes, or `18:` and 18.
fn peer(out: &mut Vec<u8>, p: &SocketAddr) {
    match p {
        SocketAddr::V4(a) => {
            out.extend_from_slice(b"6:");
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.port().to_be_bytes());
        }
        SocketAddr::V6(a) => {
            out.extend_from_slice(b"18:");
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.port().to_be_bytes());
        }
    }
}
