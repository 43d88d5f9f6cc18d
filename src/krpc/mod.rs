//! KRPC: the messages of the DHT, typed and borrowing from the datagram.
//!
//! A datagram is one bencoded dictionary: a query (`y = q`), a response (`y = r`) or an
//! error (`y = e`). [`Message::decode`] reads one without allocating and without building
//! a tree: byte strings, compact node lists, peer lists and BEP 44 values are borrowed
//! views into the datagram, and the compact lists are decoded lazily by their iterators.
//! [`Message::encode`] writes keys in sorted order straight into the caller's buffer.
//!
//! Supported: BEP 5 (ping, find_node, get_peers, announce_peer), BEP 32 (`nodes6`,
//! `want`), BEP 33 (`scrape`, `noseed`, `seed`, `BFsd`, `BFpe`), BEP 42 (top-level `ip`),
//! BEP 43 (`ro`), BEP 44 (get, put and their fields), BEP 51 (sample_infohashes).
//!
//! Decoding is strict about the keys it knows (wrong type, wrong length, a compact list
//! whose length is not a multiple of its entry size: all errors) and ignores keys it does
//! not know, for forward compatibility. A [`DecodeError`] still carries the transaction id
//! when it could be read, so a node can answer error 203 to a malformed query.
//!
//! ```
//! use btdht::krpc::{Body, Message, Query, QueryKind, Response};
//! use btdht::Id;
//!
//! let query = Message {
//!     transaction_id: b"\x00\x01\x02\x03",
//!     version: None,
//!     ip: None,
//!     read_only: false,
//!     body: Body::Query(Query {
//!         id: Id::from_bytes([1; 20]),
//!         want: None,
//!         kind: QueryKind::FindNode { target: Id::from_bytes([2; 20]) },
//!     }),
//! };
//! let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
//! let n = query.encode(&mut buf)?;
//! assert_eq!(n, query.encoded_len());
//! // DecodeError borrows the datagram; `kind()` is an owned error for `?`.
//! assert_eq!(Message::decode(&buf[..n]).map_err(|e| e.kind())?, query);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

mod answer;
pub mod budget;
mod compact;
mod decode;
mod encode;
mod error;
mod fast;
mod fields;

pub(crate) use answer::AnswerWriter;

pub use compact::{
    CompactEntry, CompactIter, CompactList, NodeV4, NodeV6, Nodes4, Nodes6, Samples, Values,
    ValuesIter, decode_peer, encode_peer,
};
pub use encode::encode_signed_buffer;
pub use error::{DecodeError, DecodeErrorKind, Field};

/// The strict decoder alone, without the fast path, for the fuzz target and the seed test
/// (`tests/krpc_fuzz_seeds.rs`) that check the two read every input the same way. Not
/// part of the API.
#[doc(hidden)]
pub fn decode_strict_for_fuzzing(bytes: &[u8]) -> Result<Message<'_>, DecodeError<'_>> {
    decode::decode_strict(bytes)
}

use crate::addr::Families;
use crate::bencode::RawValue;
use crate::id::Id;
use core::net::SocketAddr;

/// A buffer of this many bytes holds any message the crate's node sends.
///
/// BEP 32 asks for datagrams of at most 1024 bytes ([`budget::MAX_RESPONSE_LEN`]), and
/// every answer the node writes stays within it; BEP 44 `put` queries carrying a value
/// near its 1000-byte limit need more, so the bound is a typical Ethernet MTU payload.
/// [`Message::encode`] itself takes any buffer and returns an error when the message does
/// not fit.
pub const MAX_DATAGRAM_LEN: usize = 1500;

/// Length of a BEP 33 bloom filter (`BFsd`, `BFpe`).
pub const BLOOM_LEN: usize = 256;
/// Length of a BEP 44 ed25519 public key (`k`).
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a BEP 44 ed25519 signature (`sig`).
pub const SIGNATURE_LEN: usize = 64;

/// One KRPC message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// `t`: opaque bytes chosen by the querier and echoed by the responder; any length.
    pub transaction_id: &'a [u8],
    /// `v`: the sender's client version (usually 2 letters and 2 bytes), if sent.
    pub version: Option<&'a [u8]>,
    /// `ip` (BEP 42): in a response, the address the responder saw the query come from.
    pub ip: Option<SocketAddr>,
    /// `ro = 1` (BEP 43): the sender is read-only and answers no queries. Encoded only
    /// when `true`; a received `ro` with any other value reads as `false`.
    pub read_only: bool,
    /// What the message is.
    pub body: Body<'a>,
}

/// The three kinds of message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// `y = q`
    Query(Query<'a>),
    /// `y = r`. A response does not say what it answers; its transaction does.
    Response(Response<'a>),
    /// `y = e`
    Error(ErrorMessage<'a>),
}

/// Which of the three kinds a message is (its `y`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `q`
    Query,
    /// `r`
    Response,
    /// `e`
    Error,
}

/// A query: the querier's id, the BEP 32 `want`, and the method with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query<'a> {
    /// `a.id`: the querying node's id.
    pub id: Id,
    /// `a.want` (BEP 32): which address families the querier wants nodes for: `n4`
    /// asks for `nodes`, `n6` for `nodes6`; other strings are ignored. `None` when
    /// absent (the responder then answers with the family the query came over).
    pub want: Option<Families>,
    /// The method and its own arguments.
    pub kind: QueryKind<'a>,
}

/// A query's method and its method-specific arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryKind<'a> {
    /// `ping`
    Ping,
    /// `find_node`
    FindNode {
        /// `target`
        target: Id,
    },
    /// `get_peers`
    GetPeers {
        /// `info_hash`
        info_hash: Id,
        /// `noseed = 1` (BEP 33): prefer non-seeds in `values`.
        noseed: bool,
        /// `scrape = 1` (BEP 33): add `BFsd`/`BFpe` to the response.
        scrape: bool,
    },
    /// `announce_peer`
    AnnouncePeer {
        /// `info_hash`
        info_hash: Id,
        /// `port`
        port: u16,
        /// `implied_port` non-zero: the peer's port is the UDP source port, not `port`.
        implied_port: bool,
        /// `token` from an earlier `get_peers` response.
        token: &'a [u8],
        /// `seed = 1` (BEP 33): the announcer is a seed.
        seed: bool,
    },
    /// `get` (BEP 44)
    Get {
        /// `target`: SHA-1 of the immutable value, or of `k ‖ salt` for a mutable one.
        target: Id,
        /// `seq`: only return the item if newer than this.
        seq: Option<i64>,
    },
    /// `put` (BEP 44)
    Put(Put<'a>),
    /// `sample_infohashes` (BEP 51)
    SampleInfohashes {
        /// `target`: where in the keyspace the returned nodes should be.
        target: Id,
    },
    /// A method this crate does not know, with the arguments a responder may still use
    /// (libtorrent answers such queries like `find_node` when a target is given).
    Unknown {
        /// `q`
        method: &'a [u8],
        /// `a.target`, if present and 20 bytes.
        target: Option<Id>,
        /// `a.info_hash`, if present and 20 bytes.
        info_hash: Option<Id>,
    },
}

/// BEP 44 `put` arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Put<'a> {
    /// `token` from an earlier `get` response.
    pub token: &'a [u8],
    /// `v`: the item, bencoded.
    pub value: RawValue<'a>,
    /// The mutable-item fields; `None` for an immutable item.
    pub mutable: Option<MutablePut<'a>>,
}

/// BEP 44 mutable-item fields of a `put`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutablePut<'a> {
    /// `k`: ed25519 public key.
    pub key: &'a [u8; PUBLIC_KEY_LEN],
    /// `sig`: ed25519 signature over `salt`, `seq` and `v`.
    pub signature: &'a [u8; SIGNATURE_LEN],
    /// `seq`
    pub seq: i64,
    /// `salt`; absent and empty mean the same.
    pub salt: Option<&'a [u8]>,
    /// `cas`: the `seq` the writer expects to replace.
    pub cas: Option<i64>,
}

/// A response's return values. Every field but `id` is optional: which ones appear depends
/// on the query answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// `r.id`: the responding node's id.
    pub id: Id,
    /// `nodes`: IPv4 nodes close to the target.
    pub nodes: Option<Nodes4<'a>>,
    /// `nodes6` (BEP 32): IPv6 nodes close to the target.
    pub nodes6: Option<Nodes6<'a>>,
    /// `values`: peers for the info-hash.
    pub values: Option<Values<'a>>,
    /// `token`: to echo in `announce_peer` or `put`.
    pub token: Option<&'a [u8]>,
    /// `BFsd` (BEP 33): bloom filter of seeds.
    pub bf_seeds: Option<&'a [u8; BLOOM_LEN]>,
    /// `BFpe` (BEP 33): bloom filter of downloaders.
    pub bf_peers: Option<&'a [u8; BLOOM_LEN]>,
    /// `samples` (BEP 51): stored info-hashes.
    pub samples: Option<Samples<'a>>,
    /// `interval` (BEP 51): seconds before asking this node again.
    pub interval: Option<i64>,
    /// `num` (BEP 51): how many info-hashes the node stores.
    pub num: Option<i64>,
    /// `v` (BEP 44): the item, bencoded.
    pub value: Option<RawValue<'a>>,
    /// `k` (BEP 44): the mutable item's public key.
    pub key: Option<&'a [u8; PUBLIC_KEY_LEN]>,
    /// `seq` (BEP 44): the mutable item's sequence number.
    pub seq: Option<i64>,
    /// `sig` (BEP 44): the mutable item's signature.
    pub signature: Option<&'a [u8; SIGNATURE_LEN]>,
}

impl<'a> Response<'a> {
    /// A response with only `id` set.
    pub const fn new(id: Id) -> Self {
        Response {
            id,
            nodes: None,
            nodes6: None,
            values: None,
            token: None,
            bf_seeds: None,
            bf_peers: None,
            samples: None,
            interval: None,
            num: None,
            value: None,
            key: None,
            seq: None,
            signature: None,
        }
    }
}

/// An error message (`y = e`): `e = [code, message]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMessage<'a> {
    /// The error code.
    pub code: ErrorCode,
    /// Human-readable text; bytes, as senders do not always send UTF-8.
    pub message: &'a [u8],
    /// `r.id`: the responder's id, which some clients (libtorrent) send with an error in
    /// an `r` dictionary, so the error also says who is alive at that address. `None`
    /// when there is no `r`.
    pub id: Option<Id>,
}

impl<'a> ErrorMessage<'a> {
    /// An error with this code and message, without a responder id.
    pub const fn new(code: ErrorCode, message: &'a [u8]) -> Self {
        ErrorMessage {
            code,
            message,
            id: None,
        }
    }
}

/// KRPC error codes (BEP 5 and BEP 44).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 201: generic error.
    Generic,
    /// 202: server error.
    Server,
    /// 203: protocol error (malformed packet, invalid arguments, bad token).
    Protocol,
    /// 204: method unknown.
    MethodUnknown,
    /// 205 (BEP 44): `v` too big.
    ValueTooBig,
    /// 206 (BEP 44): invalid signature.
    InvalidSignature,
    /// 207 (BEP 44): `salt` too big.
    SaltTooBig,
    /// 301 (BEP 44): CAS mismatch.
    CasMismatch,
    /// 302 (BEP 44): sequence number less than current.
    SeqTooLow,
    /// Any other code. [`ErrorCode::from_code`] never produces this for a known code.
    Other(i64),
}

impl ErrorCode {
    /// The code for a number.
    pub const fn from_code(code: i64) -> Self {
        match code {
            201 => ErrorCode::Generic,
            202 => ErrorCode::Server,
            203 => ErrorCode::Protocol,
            204 => ErrorCode::MethodUnknown,
            205 => ErrorCode::ValueTooBig,
            206 => ErrorCode::InvalidSignature,
            207 => ErrorCode::SaltTooBig,
            301 => ErrorCode::CasMismatch,
            302 => ErrorCode::SeqTooLow,
            n => ErrorCode::Other(n),
        }
    }

    /// The number for a code.
    pub const fn code(self) -> i64 {
        match self {
            ErrorCode::Generic => 201,
            ErrorCode::Server => 202,
            ErrorCode::Protocol => 203,
            ErrorCode::MethodUnknown => 204,
            ErrorCode::ValueTooBig => 205,
            ErrorCode::InvalidSignature => 206,
            ErrorCode::SaltTooBig => 207,
            ErrorCode::CasMismatch => 301,
            ErrorCode::SeqTooLow => 302,
            ErrorCode::Other(n) => n,
        }
    }
}

impl QueryKind<'_> {
    /// The method name as sent in `q`.
    pub fn method(&self) -> &[u8] {
        match self {
            QueryKind::Ping => b"ping",
            QueryKind::FindNode { .. } => b"find_node",
            QueryKind::GetPeers { .. } => b"get_peers",
            QueryKind::AnnouncePeer { .. } => b"announce_peer",
            QueryKind::Get { .. } => b"get",
            QueryKind::Put(_) => b"put",
            QueryKind::SampleInfohashes { .. } => b"sample_infohashes",
            QueryKind::Unknown { method, .. } => method,
        }
    }
}

impl Message<'_> {
    /// The message's kind (its `y`).
    pub fn kind(&self) -> MessageKind {
        match self.body {
            Body::Query(_) => MessageKind::Query,
            Body::Response(_) => MessageKind::Response,
            Body::Error(_) => MessageKind::Error,
        }
    }
}

impl<'a> Message<'a> {
    /// Decodes one datagram. Allocates nothing; everything borrows from `bytes`.
    ///
    /// ```
    /// use btdht::krpc::{DecodeErrorKind, Field, Message};
    ///
    /// // A find_node query without its target: malformed, but `t` is still readable.
    /// let err = Message::decode(b"d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe")
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), DecodeErrorKind::MissingField(Field::Target));
    /// assert_eq!(err.transaction_id(), Some(&b"aa"[..]));
    /// ```
    pub fn decode(bytes: &'a [u8]) -> Result<Message<'a>, DecodeError<'a>> {
        // Well-formed messages of the usual shapes take the fast path; everything else
        // (every error included) is decoded again by the strict path, which alone decides
        // what is an error and where. This is the one place that knows both decoders.
        fast::decode_fast(bytes, decode::decode_strict)
    }
}
