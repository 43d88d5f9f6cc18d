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
//! | [`addr`] | address families, global addresses, network prefixes |
//! | [`id`] | [`Id`] (node id, info-hash, target), XOR [`id::Distance`], BEP 42 secure ids |
//! | [`bencode`] | strict zero-copy bencode: a token cursor and a borrowed [`bencode::Value`] tree |
//! | [`krpc`] | typed KRPC messages borrowing from the datagram ([`krpc::Message`]), the answer writer, and what fits in a datagram ([`krpc::budget`]) |
//! | [`wire`] | the BEP 5 bits of the peer wire protocol: DHT reserved bit, PORT message |
//! | [`routing`] | the k-bucket [`routing::RoutingTable`], one per address family |
//! | [`lookup`] | the iterative lookup as a pure sub-machine |
//! | [`token`] | rotating announce tokens bound to the requester's IP |
//! | [`store`] | what a node stores for others: peers, BEP 44 items, BEP 33 and 51 views |
//! | [`node`] | [`node::Dht`]: the state machine users drive |
//! | `sim` | (feature `sim`) a deterministic simulator running many `Dht`s on virtual addresses |
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
//! ## Driving the node
//!
//! A [`node::Dht`] is driven by four calls: [`handle_datagram`](node::Dht::handle_datagram)
//! when a datagram arrives, [`handle_timeout`](node::Dht::handle_timeout) when the time
//! from [`poll_timeout`](node::Dht::poll_timeout) comes, and
//! [`poll_transmit`](node::Dht::poll_transmit) / [`poll_event`](node::Dht::poll_event)
//! until they return `None`. Commands ([`ping`](node::Dht::ping),
//! [`get_peers`](node::Dht::get_peers), [`announce`](node::Dht::announce), …) return a
//! [`node::QueryId`]; results come back as [`node::Event`]s. Here two nodes talk through
//! memory, with no socket at all:
//!
//! ```
//! use btdht::node::{Config, Dht, Event};
//! use btdht::addr::LocalAddresses;
//! use btdht::time::Instant;
//! use core::net::SocketAddr;
//!
//! let mut config = Config::default();
//! config.routing.local_addresses = LocalAddresses::Allow; // the addresses below are local
//! let (a_addr, b_addr): (SocketAddr, SocketAddr) =
//!     ("127.0.0.2:6881".parse()?, "127.0.0.3:6881".parse()?);
//! let start = Instant::from_millis(0);
//! // Each node gets a clock reading and 32 bytes of seed (real entropy in practice).
//! let mut a = Dht::new(config.clone(), [1; 32], start);
//! let mut b = Dht::new(config, [2; 32], start);
//!
//! a.ping(start, b_addr)?;
//! let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
//! let mut answered = false;
//! for ms in 1..10 {
//!     let now = Instant::from_millis(ms);
//!     while let Some(t) = a.poll_transmit(now, &mut buf) {
//!         b.handle_datagram(now, a_addr, &buf[..t.len]); // "send" = hand it over
//!     }
//!     while let Some(t) = b.poll_transmit(now, &mut buf) {
//!         a.handle_datagram(now, b_addr, &buf[..t.len]);
//!     }
//!     while let Some(event) = a.poll_event() {
//!         answered |= matches!(event, Event::Pong { .. });
//!     }
//! }
//! assert!(answered);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! With a real socket the loop is the same, plus a wait for whichever comes first: a
//! datagram or `poll_timeout`. `examples/node.rs` does it with a blocking
//! `std::net::UdpSocket`, `examples/tokio.rs` with tokio's `select!`, and
//! `examples/swarm.rs` runs 64 of them on loopback. [`node::Config`] documents every
//! knob with its default and the reason for it.
//!
//! ## `no_std`
//!
//! The crate is `#![no_std]` and needs only `alloc`. The default `std` feature adds
//! nothing but conveniences; build with `default-features = false` on embedded targets.
//! What a node needs from its platform is exactly what the example above gives it:
//! a millisecond clock reading with every call ([`time::Instant::from_millis`]), a
//! 32-byte seed once, at [`node::Dht::new`] (it drives ids, tokens and transaction ids),
//! and a buffer of [`krpc::MAX_DATAGRAM_LEN`] bytes to encode into; plus a way to send
//! and receive UDP datagrams, which stays the caller's.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod addr;
pub mod bencode;
pub mod id;
pub mod krpc;
pub mod lookup;
pub mod node;
mod rng;
pub mod routing;
#[cfg(feature = "sim")]
pub mod sim;
pub mod store;
pub mod time;
pub mod token;
pub mod wire;

pub use id::Id;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
