//! What a [`Handle`](crate::Handle) asks of the driver task, owned so it can travel
//! there, and the callers waiting for the answers.

use crate::Error;
use crate::handle::{Put, Samples, Scrape};
use btdht::Id;
use btdht::addr::Family;
use btdht::node::{AnnouncePort, QueryId, Stats};
use btdht::routing::Node;
use btdht::store::Item;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub(crate) type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// A call of a [`Handle`](crate::Handle), with the channel its answer goes back on.
#[derive(Debug)]
pub(crate) enum Command {
    GetPeers {
        info_hash: Id,
        found: mpsc::Sender<SocketAddr>,
        reply: Reply<QueryId>,
    },
    Announce {
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
        reply: Reply<usize>,
    },
    KeepAnnounced {
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
        reply: Reply<()>,
    },
    StopAnnouncing {
        info_hash: Id,
        reply: Reply<bool>,
    },
    FindNode {
        target: Id,
        reply: Reply<Vec<Node>>,
    },
    Ping {
        addr: SocketAddr,
        reply: Reply<Option<Duration>>,
    },
    GetItem {
        item: ItemSpec,
        reply: Reply<Option<Item>>,
    },
    PutItem {
        put: PutSpec,
        reply: Reply<Put>,
    },
    Scrape {
        info_hash: Id,
        reply: Reply<Scrape>,
    },
    Samples {
        addr: SocketAddr,
        reply: Reply<Option<Samples>>,
    },
    Bootstrapped {
        reply: Reply<usize>,
    },
    Stats {
        reply: Reply<Stats>,
    },
    Id {
        reply: Reply<Id>,
    },
    ExternalAddress {
        family: Family,
        reply: Reply<Option<IpAddr>>,
    },
    SaveState {
        reply: Reply<()>,
    },
    Shutdown {
        reply: Reply<()>,
    },
}

/// Which BEP 44 item to get, owned so it can travel to the driver.
#[derive(Debug)]
pub(crate) enum ItemSpec {
    Immutable(Id),
    #[cfg(feature = "ed25519")]
    Mutable {
        key: [u8; 32],
        salt: Vec<u8>,
    },
}

/// A BEP 44 put, owned.
#[derive(Debug)]
pub(crate) struct PutSpec {
    pub(crate) value: Vec<u8>,
    #[cfg(feature = "ed25519")]
    pub(crate) mutable: Option<OwnedMutable>,
}

/// The signed fields of a mutable item, owned.
#[cfg(feature = "ed25519")]
#[derive(Debug)]
pub(crate) struct OwnedMutable {
    key: [u8; 32],
    salt: Vec<u8>,
    seq: i64,
    signature: [u8; 64],
    cas: Option<i64>,
}

#[cfg(feature = "ed25519")]
impl From<&btdht::node::MutableItem<'_>> for OwnedMutable {
    fn from(m: &btdht::node::MutableItem<'_>) -> Self {
        OwnedMutable {
            key: m.key,
            salt: m.salt.to_vec(),
            seq: m.seq,
            signature: m.signature,
            cas: m.cas,
        }
    }
}

#[cfg(feature = "ed25519")]
impl OwnedMutable {
    pub(crate) fn as_item(&self) -> btdht::node::MutableItem<'_> {
        let item = btdht::node::MutableItem {
            key: self.key,
            salt: &self.salt,
            seq: self.seq,
            signature: self.signature,
            cas: None,
        };
        match self.cas {
            Some(cas) => item.with_cas(cas),
            None => item,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Waiter {
    Peers(mpsc::Sender<SocketAddr>),
    Announce(Reply<usize>),
    FindNode(Reply<Vec<Node>>),
    Ping(Reply<Option<Duration>>),
    Item(Reply<Option<Item>>),
    Put(Reply<Put>),
    Scrape(Reply<Scrape>),
    Samples(Reply<Option<Samples>>, Option<Samples>),
}

impl Waiter {
    /// Whether the caller stopped waiting (dropped its future or its stream).
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            Waiter::Peers(tx) => tx.is_closed(),
            Waiter::Announce(r) => r.is_closed(),
            Waiter::FindNode(r) => r.is_closed(),
            Waiter::Ping(r) => r.is_closed(),
            Waiter::Item(r) => r.is_closed(),
            Waiter::Put(r) => r.is_closed(),
            Waiter::Scrape(r) => r.is_closed(),
            Waiter::Samples(r, _) => r.is_closed(),
        }
    }
}

/// Keeps the caller of a started query waiting for its end; answers a refused one now.
pub(crate) fn start(
    waiters: &mut HashMap<QueryId, Waiter>,
    started: Result<QueryId, btdht::node::CommandError>,
    waiter: Waiter,
) {
    match started {
        Ok(q) => {
            waiters.insert(q, waiter);
        }
        Err(e) => refuse(waiter, e.into()),
    }
}

/// Answers a caller whose command the node refused.
fn refuse(waiter: Waiter, e: Error) {
    match waiter {
        Waiter::Peers(_) => {}
        Waiter::Announce(r) => {
            let _ = r.send(Err(e));
        }
        Waiter::FindNode(r) => {
            let _ = r.send(Err(e));
        }
        Waiter::Ping(r) => {
            let _ = r.send(Err(e));
        }
        Waiter::Item(r) => {
            let _ = r.send(Err(e));
        }
        Waiter::Put(r) => {
            let _ = r.send(Err(e));
        }
        Waiter::Scrape(r) => {
            let _ = r.send(Err(e));
        }
        Waiter::Samples(r, _) => {
            let _ = r.send(Err(e));
        }
    }
}
