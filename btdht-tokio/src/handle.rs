//! The application's side: a cheap handle whose calls become commands to the task that
//! owns the node.

use crate::Error;
use crate::command::{Command, ItemSpec, PutSpec};
use btdht::Id;
use btdht::addr::Family;
use btdht::bencode::RawValue;
use btdht::krpc::ErrorCode;
use btdht::node::{AnnouncePort, QueryId, Stats};
use btdht::routing::Node;
use futures_core::Stream;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Peers buffered for a [`Peers`] stream that is not read; more are dropped.
pub const PEER_BUFFER: usize = 1024;

/// What the handles share, set once at start.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) local_addrs: Vec<SocketAddr>,
    pub(crate) state_error: Option<Error>,
}

/// A handle to a running node: cheap to clone, `Send + Sync`. Every call is a message to
/// the one task that owns the node and its sockets, answered when the node's work ends
/// (each lookup is bounded by the node's own timeouts, a few seconds to a minute).
///
/// Dropping a call's future before it is answered cancels the lookup it started (within
/// a second); dropping a [`Peers`] stream cancels its lookup at once.
///
/// The node runs until [`Handle::shutdown`], or until every handle (and every
/// [`blocking::Handle`](crate::blocking::Handle)) is dropped; either way it saves its
/// state file first. After that every call returns [`Error::Shutdown`].
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) cancels: mpsc::UnboundedSender<QueryId>,
    pub(crate) shared: Arc<Shared>,
}

const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Handle>();
    send_sync::<Peers>();
};

/// The result of a BEP 44 put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Put {
    /// The item's target: where [`Handle::get_immutable`] (or `get_mutable`) finds it.
    pub target: Id,
    /// Nodes that stored it.
    pub stored: usize,
    /// Nodes that answered with an error.
    pub refused: usize,
    /// The first error code answered, e.g. [`ErrorCode::CasMismatch`] (301).
    pub error: Option<ErrorCode>,
}

/// BEP 33 estimates of a torrent's swarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scrape {
    /// Estimated seeds.
    pub seeds: u32,
    /// Estimated downloaders.
    pub peers: u32,
    /// Nodes whose answers carried filters (this node's own store counts as one).
    pub responses: usize,
}

/// A BEP 51 `sample_infohashes` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Samples {
    /// Who answered.
    pub node: Node,
    /// How many info-hashes it says it stores.
    pub num: u64,
    /// How long before asking it again.
    pub interval: Duration,
    /// The info-hashes it sent.
    pub samples: Vec<Id>,
}

type Reply<T> = oneshot::Sender<Result<T, Error>>;

impl Handle {
    /// Sends the command `make` builds around a reply channel, and waits for the answer.
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| Error::Shutdown)?;
        answer.await.map_err(|_| Error::Shutdown)?
    }

    /// The addresses the node's sockets are bound to (an IPv4 one, an IPv6 one, or
    /// both), with the ports the OS chose for port 0.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.shared.local_addrs
    }

    /// Why the state file could not be used at start ([`Error::StateIo`] or
    /// [`Error::StateCorrupt`]), if it could not: the node then started fresh (a new id,
    /// no nodes), and it was logged as a warning. `None` when it was read, or did not
    /// exist yet.
    pub fn state_error(&self) -> Option<&Error> {
        self.shared.state_error.as_ref()
    }

    /// Looks up the peers of `info_hash`: a stream of their addresses as they arrive
    /// (each once), ending when the lookup settles. Dropping the stream cancels the
    /// lookup.
    ///
    /// ```no_run
    /// # async fn f(dht: btdht_tokio::Handle, info_hash: btdht::Id) -> Result<(), btdht_tokio::Error> {
    /// let mut peers = dht.get_peers(info_hash).await?;
    /// while let Some(peer) = peers.next_peer().await {
    ///     println!("peer {peer}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_peers(&self, info_hash: Id) -> Result<Peers, Error> {
        let (found, rx) = mpsc::channel(PEER_BUFFER);
        let query = self
            .call(|reply| Command::GetPeers {
                info_hash,
                found,
                reply,
            })
            .await?;
        Ok(Peers {
            rx,
            query,
            cancels: self.cancels.clone(),
            ended: false,
        })
    }

    /// Announces that this host has `info_hash` on `port` (a TCP port, or
    /// [`AnnouncePort::Implied`]: the DHT socket's own port), as a seed (BEP 33) or not:
    /// a lookup, then `announce_peer` to the closest nodes. How many accepted it.
    pub async fn announce(
        &self,
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
    ) -> Result<usize, Error> {
        self.call(|reply| Command::Announce {
            info_hash,
            port,
            seed,
            reply,
        })
        .await
    }

    /// Keeps `info_hash` announced: now and again every 15 minutes, until
    /// [`Handle::stop_announcing`] (the node repeats it by itself).
    pub async fn keep_announced(
        &self,
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
    ) -> Result<(), Error> {
        self.call(|reply| Command::KeepAnnounced {
            info_hash,
            port,
            seed,
            reply,
        })
        .await
    }

    /// Stops the announces [`Handle::keep_announced`] keeps; whether there were any.
    pub async fn stop_announcing(&self, info_hash: Id) -> Result<bool, Error> {
        self.call(|reply| Command::StopAnnouncing { info_hash, reply })
            .await
    }

    /// Looks up the nodes closest to `target`: those that answered, closest first.
    pub async fn find_node(&self, target: Id) -> Result<Vec<Node>, Error> {
        self.call(|reply| Command::FindNode { target, reply }).await
    }

    /// Pings `addr`: the round-trip time, or `None` if it did not answer.
    pub async fn ping(&self, addr: SocketAddr) -> Result<Option<Duration>, Error> {
        self.call(|reply| Command::Ping { addr, reply }).await
    }

    /// Gets the BEP 44 immutable item at `target` (the SHA-1 of its bencoded value): the
    /// bencoded value, checked against the target, or `None` if no node had it.
    pub async fn get_immutable(&self, target: Id) -> Result<Option<Vec<u8>>, Error> {
        let item = self
            .call(|reply| Command::GetItem {
                item: ItemSpec::Immutable(target),
                reply,
            })
            .await?;
        Ok(item.map(|i| i.value().as_bytes().to_vec()))
    }

    /// Puts `value` (one bencoded value, at most 1000 bytes, e.g. `b"5:hello"`) as a BEP
    /// 44 immutable item; its target is the SHA-1 of `value`. Nodes drop it after 2
    /// hours unless it is put again.
    pub async fn put_immutable(&self, value: &[u8]) -> Result<Put, Error> {
        RawValue::new(value).map_err(Error::InvalidValue)?;
        self.call(|reply| Command::PutItem {
            put: PutSpec {
                value: value.to_vec(),
                #[cfg(feature = "ed25519")]
                mutable: None,
            },
            reply,
        })
        .await
    }

    /// Gets the BEP 44 mutable item of the ed25519 public `key` under `salt` (empty: no
    /// salt): the valid one with the highest `seq` found, or `None`.
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub async fn get_mutable(
        &self,
        key: [u8; 32],
        salt: &[u8],
    ) -> Result<Option<btdht::store::Item>, Error> {
        self.call(|reply| Command::GetItem {
            item: ItemSpec::Mutable {
                key,
                salt: salt.to_vec(),
            },
            reply,
        })
        .await
    }

    /// Puts `value` (one bencoded value) as the BEP 44 mutable item `item` signs
    /// ([`MutableItem::sign`](btdht::node::MutableItem::sign) with a
    /// [`Ed25519Signer`](btdht::store::Ed25519Signer)).
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub async fn put_mutable(
        &self,
        value: &[u8],
        item: btdht::node::MutableItem<'_>,
    ) -> Result<Put, Error> {
        RawValue::new(value).map_err(Error::InvalidValue)?;
        self.call(|reply| Command::PutItem {
            put: PutSpec {
                value: value.to_vec(),
                mutable: Some(crate::command::OwnedMutable::from(&item)),
            },
            reply,
        })
        .await
    }

    /// Estimates how many seeds and downloaders `info_hash` has (BEP 33).
    pub async fn scrape(&self, info_hash: Id) -> Result<Scrape, Error> {
        self.call(|reply| Command::Scrape { info_hash, reply })
            .await
    }

    /// Asks the node at `addr` for a sample of the info-hashes it stores (BEP 51); `None`
    /// if it did not answer.
    pub async fn sample_infohashes(&self, addr: SocketAddr) -> Result<Option<Samples>, Error> {
        self.call(|reply| Command::Samples { addr, reply }).await
    }

    /// Waits until the node has bootstrapped (returns at once if it did already): the
    /// entries in its routing tables then. A node with no router and no saved node
    /// waits for others to find it; bound the wait with `tokio::time::timeout`.
    pub async fn bootstrapped(&self) -> Result<usize, Error> {
        self.call(|reply| Command::Bootstrapped { reply }).await
    }

    /// The node's counters.
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.call(|reply| Command::Stats { reply }).await
    }

    /// The node's id (it may change once: to a BEP 42 secure id for its external
    /// address).
    pub async fn id(&self) -> Result<Id, Error> {
        self.call(|reply| Command::Id { reply }).await
    }

    /// The node's external address of `family`, as the nodes that answered it see it
    /// (BEP 42 votes), or from its saved state.
    pub async fn external_address(&self, family: Family) -> Result<Option<IpAddr>, Error> {
        self.call(|reply| Command::ExternalAddress { family, reply })
            .await
    }

    /// Saves the state file now (if one was given), without stopping.
    pub async fn save_state(&self) -> Result<(), Error> {
        self.call(|reply| Command::SaveState { reply }).await
    }

    /// Stops the node: saves its state file (if one was given), closes its sockets and
    /// ends its task. Calls already waiting, and every call after, return
    /// [`Error::Shutdown`]; so does a second `shutdown`. The error is the state file's,
    /// if it could not be written.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.call(|reply| Command::Shutdown { reply }).await
    }
}

/// The peers of a [`Handle::get_peers`] lookup as they arrive; the stream ends when the
/// lookup settles. Dropping it cancels the lookup.
///
/// It is a [`Stream`] of [`SocketAddr`]; [`Peers::next_peer`] reads it without a stream
/// library. At most [`PEER_BUFFER`] peers wait unread; more are dropped.
#[derive(Debug)]
pub struct Peers {
    rx: mpsc::Receiver<SocketAddr>,
    query: QueryId,
    cancels: mpsc::UnboundedSender<QueryId>,
    ended: bool,
}

impl Peers {
    /// The next peer, or `None` once the lookup has settled (or the node shut down).
    pub async fn next_peer(&mut self) -> Option<SocketAddr> {
        let next = self.rx.recv().await;
        self.ended |= next.is_none();
        next
    }

    /// The node's handle of the lookup.
    pub fn query(&self) -> QueryId {
        self.query
    }
}

impl Stream for Peers {
    type Item = SocketAddr;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketAddr>> {
        let next = self.rx.poll_recv(cx);
        if let Poll::Ready(None) = next {
            self.ended = true;
        }
        next
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        if !self.ended {
            // The node may be gone already; then there is nothing to cancel.
            let _ = self.cancels.send(self.query);
        }
    }
}
