//! # btdht — a sans-IO BitTorrent Mainline DHT
//!
//! btdht implements the BitTorrent DHT (BEP 5 and its extensions) as pure data
//! structures and state machines. It owns no socket, thread, clock or runtime: the
//! caller feeds it datagrams and timestamps and gets datagrams and events back.
//!
//! The crate is built bottom-up; each layer is public and useful on its own:
//!
//! | module | what it is |
//! |---|---|
//! | [`time`] | [`time::Instant`]: milliseconds since an epoch the caller picks |
//! | [`id`] | [`Id`] (node id, info-hash, target), XOR [`id::Distance`], BEP 42 secure ids |
//! | [`bencode`] | strict zero-copy bencode: a token cursor and a borrowed [`bencode::Value`] tree |
//! | [`krpc`] | typed KRPC messages borrowing from the datagram: [`krpc::Message`] |
//! | [`wire`] | the BEP 5 bits of the peer wire protocol: DHT reserved bit, PORT message |
//! | [`routing`] | the k-bucket [`routing::RoutingTable`], one per address family |
//! | [`token`] | rotating announce tokens bound to the requester's IP |
//! | [`lookup`] | the iterative lookup as a pure sub-machine |
//! | [`node`] | [`node::Dht`]: the state machine users drive |
//!
//! ## Decoding a datagram
//!
//! ```
//! use btdht::krpc::{Body, Message, QueryKind};
//!
//! let datagram = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
//! let msg = Message::decode(datagram)?;
//! assert_eq!(msg.transaction_id, b"aa");
//! match &msg.body {
//!     Body::Query(q) => assert!(matches!(q.kind, QueryKind::Ping)),
//!     _ => unreachable!("the datagram is a query"),
//! }
//!
//! // Encoding writes into a caller buffer and never allocates.
//! let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
//! let n = msg.encode(&mut buf)?;
//! assert_eq!(&buf[..n], &datagram[..]);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! ## `no_std`
//!
//! The crate is `#![no_std]` and needs only `alloc`. The default `std` feature adds
//! nothing but conveniences; build with `default-features = false` on embedded targets.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod bencode;
pub mod id;
pub mod krpc;
pub mod lookup;
pub mod node;
pub mod routing;
pub mod store;
pub mod time;
pub mod token;
pub mod wire;

pub use id::Id;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
