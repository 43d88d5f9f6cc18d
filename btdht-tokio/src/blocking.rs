//! The same node for programs without async: every call blocks until its answer, and
//! the node runs in a tokio runtime on a thread of its own.
//!
//! ```no_run
//! use btdht_tokio::Builder;
//!
//! let dht = Builder::new().spawn_blocking()?;
//! let info_hash = "e5f96f6f38320f0f33959cb4d3d656452117aadb".parse().unwrap();
//! for peer in dht.get_peers(info_hash)? {
//!     println!("peer {peer}");
//! }
//! dht.shutdown()?;
//! # Ok::<(), btdht_tokio::Error>(())
//! ```
//!
//! A call made from inside an async runtime returns [`Error::InsideRuntime`] instead of
//! blocking that runtime's thread: use the async [`Handle`](crate::Handle) there
//! ([`Handle::as_async`] gives it).

use crate::handle::{Put, Samples, Scrape};
use crate::{Builder, Error};
use btdht::Id;
use btdht::addr::Family;
use btdht::node::{AnnouncePort, QueryId, Stats};
use btdht::routing::Node;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A handle to a node running on its own thread: cheap to clone, `Send + Sync`; the
/// same calls as the async [`Handle`](crate::Handle), blocking.
///
/// The node runs until [`Handle::shutdown`] or until every handle is dropped (then the
/// thread saves the state file and ends by itself; call `shutdown` to wait for that).
#[derive(Clone, Debug)]
pub struct Handle {
    inner: crate::Handle,
    runtime: tokio::runtime::Handle,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Builder {
    /// Starts the node on a new thread that runs a tokio runtime of its own, for a
    /// program without async: the [`blocking`](crate::blocking) facade. Returns once the
    /// sockets are bound and the routers resolved; fails as [`Builder::spawn`] does, or
    /// with [`Error::Runtime`] if the thread or runtime cannot start.
    pub fn spawn_blocking(self) -> Result<Handle, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InsideRuntime);
        }
        let (started_tx, started) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("btdht-tokio".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = started_tx.send(Err(Error::Runtime(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match self.start().await {
                        Ok((handle, driver)) => {
                            let _ =
                                started_tx.send(Ok((handle, tokio::runtime::Handle::current())));
                            driver.await;
                        }
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(Error::Runtime)?;
        match started.recv() {
            Ok(Ok((inner, runtime))) => Ok(Handle {
                inner,
                runtime,
                thread: Arc::new(Mutex::new(Some(thread))),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(Error::Runtime(std::io::Error::other(
                    "the node's thread ended before it started",
                )))
            }
        }
    }
}

impl Handle {
    /// Runs `f` to its end on this thread (the node's runtime does the I/O).
    fn block<F: Future>(&self, f: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InsideRuntime);
        }
        Ok(self.runtime.block_on(f))
    }

    /// The async handle of the same node, for the parts of a program that are async.
    pub fn as_async(&self) -> &crate::Handle {
        &self.inner
    }

    /// See [`crate::Handle::local_addrs`].
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.inner.local_addrs()
    }

    /// See [`crate::Handle::state_error`].
    pub fn state_error(&self) -> Option<&Error> {
        self.inner.state_error()
    }

    /// Looks up the peers of `info_hash`: an iterator over their addresses as they
    /// arrive, ending when the lookup settles. Dropping it cancels the lookup.
    pub fn get_peers(&self, info_hash: Id) -> Result<Peers, Error> {
        let inner = self.block(self.inner.get_peers(info_hash))??;
        Ok(Peers {
            inner,
            runtime: self.runtime.clone(),
        })
    }

    /// See [`crate::Handle::announce`].
    pub fn announce(&self, info_hash: Id, port: AnnouncePort, seed: bool) -> Result<usize, Error> {
        self.block(self.inner.announce(info_hash, port, seed))?
    }

    /// See [`crate::Handle::keep_announced`].
    pub fn keep_announced(
        &self,
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
    ) -> Result<(), Error> {
        self.block(self.inner.keep_announced(info_hash, port, seed))?
    }

    /// See [`crate::Handle::stop_announcing`].
    pub fn stop_announcing(&self, info_hash: Id) -> Result<bool, Error> {
        self.block(self.inner.stop_announcing(info_hash))?
    }

    /// See [`crate::Handle::find_node`].
    pub fn find_node(&self, target: Id) -> Result<Vec<Node>, Error> {
        self.block(self.inner.find_node(target))?
    }

    /// See [`crate::Handle::ping`].
    pub fn ping(&self, addr: SocketAddr) -> Result<Option<Duration>, Error> {
        self.block(self.inner.ping(addr))?
    }

    /// See [`crate::Handle::get_immutable`].
    pub fn get_immutable(&self, target: Id) -> Result<Option<Vec<u8>>, Error> {
        self.block(self.inner.get_immutable(target))?
    }

    /// See [`crate::Handle::put_immutable`].
    pub fn put_immutable(&self, value: &[u8]) -> Result<Put, Error> {
        self.block(self.inner.put_immutable(value))?
    }

    /// See [`crate::Handle::get_mutable`].
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn get_mutable(
        &self,
        key: [u8; 32],
        salt: &[u8],
    ) -> Result<Option<btdht::store::Item>, Error> {
        self.block(self.inner.get_mutable(key, salt))?
    }

    /// See [`crate::Handle::put_mutable`].
    #[cfg(feature = "ed25519")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
    pub fn put_mutable(
        &self,
        value: &[u8],
        item: btdht::node::MutableItem<'_>,
    ) -> Result<Put, Error> {
        self.block(self.inner.put_mutable(value, item))?
    }

    /// See [`crate::Handle::scrape`].
    pub fn scrape(&self, info_hash: Id) -> Result<Scrape, Error> {
        self.block(self.inner.scrape(info_hash))?
    }

    /// See [`crate::Handle::sample_infohashes`].
    pub fn sample_infohashes(&self, addr: SocketAddr) -> Result<Option<Samples>, Error> {
        self.block(self.inner.sample_infohashes(addr))?
    }

    /// Waits at most `timeout` for the node to bootstrap (see
    /// [`crate::Handle::bootstrapped`]): the entries in its routing tables, or `None`
    /// if it has not bootstrapped by then.
    pub fn bootstrapped(&self, timeout: Duration) -> Result<Option<usize>, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InsideRuntime);
        }
        // Waited for on the node's runtime, timed on this thread: no tokio timer is
        // needed here, so this works even once the runtime is gone.
        let (tx, rx) = std::sync::mpsc::channel();
        let inner = self.inner.clone();
        self.runtime.spawn(async move {
            let _ = tx.send(inner.bootstrapped().await);
        });
        match rx.recv_timeout(timeout) {
            Ok(nodes) => nodes.map(Some),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::Shutdown),
        }
    }

    /// See [`crate::Handle::stats`].
    pub fn stats(&self) -> Result<Stats, Error> {
        self.block(self.inner.stats())?
    }

    /// See [`crate::Handle::id`].
    pub fn id(&self) -> Result<Id, Error> {
        self.block(self.inner.id())?
    }

    /// See [`crate::Handle::external_address`].
    pub fn external_address(&self, family: Family) -> Result<Option<IpAddr>, Error> {
        self.block(self.inner.external_address(family))?
    }

    /// See [`crate::Handle::save_state`].
    pub fn save_state(&self) -> Result<(), Error> {
        self.block(self.inner.save_state())?
    }

    /// Stops the node (see [`crate::Handle::shutdown`]) and waits for its thread to
    /// end.
    pub fn shutdown(&self) -> Result<(), Error> {
        let result = self.block(self.inner.shutdown())?;
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        result
    }
}

/// The peers of a [`Handle::get_peers`] lookup, as they arrive; the iterator ends when
/// the lookup settles. Dropping it cancels the lookup.
#[derive(Debug)]
pub struct Peers {
    inner: crate::Peers,
    runtime: tokio::runtime::Handle,
}

impl Peers {
    /// The node's handle of the lookup.
    pub fn query(&self) -> QueryId {
        self.inner.query()
    }
}

impl Iterator for Peers {
    type Item = SocketAddr;

    /// The next peer; `None` once the lookup has settled (or when called from inside an
    /// async runtime, where it must not block).
    fn next(&mut self) -> Option<SocketAddr> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return None;
        }
        self.runtime.block_on(self.inner.next_peer())
    }
}
