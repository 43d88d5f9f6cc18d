//! A ready BitTorrent Mainline DHT node on tokio: the sans-IO [`btdht`] state machine
//! driven over UDP sockets, as quinn drives quinn-proto.
//!
//! ```no_run
//! # async fn f() -> Result<(), btdht_tokio::Error> {
//! let dht = btdht_tokio::Builder::new().spawn().await?;
//! let info_hash = "e5f96f6f38320f0f33959cb4d3d656452117aadb".parse().unwrap();
//! let mut peers = dht.get_peers(info_hash).await?;
//! while let Some(peer) = peers.next_peer().await {
//!     println!("peer {peer}");
//! }
//! dht.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # What it does for you
//!
//! - **Sockets.** An IPv4 socket, an IPv6 socket, or both under one node (BEP 32); each
//!   datagram is answered from the socket of its family ([`Builder::bind`]).
//! - **Routers.** `host:port` names resolved at start and again whenever the node
//!   reports that bootstrapping failed ([`Builder::bootstrap`], [`DEFAULT_ROUTERS`]).
//! - **State.** A state file read at start (same id, saved nodes: back in the network
//!   without the routers) and written every few minutes and at shutdown, atomically
//!   ([`Builder::state_file`]).
//! - **Seed.** From the OS's entropy ([`Builder::seed`] to give one).
//! - **Time.** One task owns the node and its sockets; it feeds the node the monotonic
//!   clock, sleeps until the node's next deadline (reset only when the deadline moves)
//!   and decides expiry by reading the clock, so a busy socket cannot starve the timers.
//!
//! # Calls
//!
//! A [`Handle`] is cheap to clone and `Send + Sync`; its calls are messages to the
//! task, answered when the node's work ends. [`Handle::get_peers`] is a [`Peers`]
//! stream; the others return their result. Errors are one [`Error`] enum. The
//! [`blocking`] module has the same calls for programs without async.
//!
//! # Logging
//!
//! [`tracing`] events an operator wants, at `info` and `warn`: each socket bound, the
//! state restored or unreadable, bootstrapped, bootstrap failed (and the routers
//! resolved again), the external address, a new node id, the state saved, the node
//! stopped. Nothing per datagram above `trace`. Install any subscriber to see them.
//!
//! # Feature flags
//!
//! - `ed25519`: BEP 44 mutable items ([`Handle::get_mutable`], [`Handle::put_mutable`]);
//!   the node checks mutable items with [`btdht::store::Ed25519Verifier`].
//!
//! # Testing on loopback
//!
//! A node refuses loopback and private addresses as nodes, and keeps one routing-table
//! entry per IP, as a node on the Internet should. [`Builder::allow_local`] lifts both
//! for a swarm on one machine; give each node explicit routers
//! ([`Builder::bootstrap`], an empty list for the first) so none looks up the public
//! ones.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod blocking;
mod builder;
mod clock;
mod command;
mod driver;
mod error;
mod handle;
mod routers;
mod state;

pub use btdht::{self, Id};
pub use builder::{Builder, DEFAULT_SAVE_EVERY, LOCAL_MAX_PER_IP};
pub use error::Error;
pub use handle::{Handle, PEER_BUFFER, Peers, Put, Samples, Scrape};

/// The well-known public bootstrap routers, used unless [`Builder::bootstrap`] names
/// others: BitTorrent's, uTorrent's, Transmission's and libtorrent's.
pub const DEFAULT_ROUTERS: &[&str] = &[
    "router.bittorrent.com:6881",
    "router.utorrent.com:6881",
    "dht.transmissionbt.com:6881",
    "dht.libtorrent.org:25401",
];

// The README's examples compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
