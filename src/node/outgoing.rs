//! The outgoing queue: datagrams wait here in structured form and are encoded only in
//! [`Dht::poll_transmit`](super::Dht::poll_transmit), into the caller's buffer.

use super::{AnnouncePort, QueryId};
use crate::addr::Families;
use crate::id::Id;
use crate::krpc::ErrorCode;
use crate::lookup::StoredToken;
use alloc::collections::VecDeque;
use arrayvec::ArrayVec;
use core::net::SocketAddr;

/// Longest transaction id echoed in answers; queries with longer ids are dropped and
/// counted as bad datagrams.
pub const MAX_ECHOED_TRANSACTION_ID: usize = 64;

/// A datagram to send: `buf[..len]` goes to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the datagram is in the buffer: send it"]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
}

/// A transaction id as echoed in an answer, or as sent in a query.
pub(crate) type Tid = ArrayVec<u8, MAX_ECHOED_TRANSACTION_ID>;

/// What a queued datagram says; its bytes are written only when it leaves.
#[derive(Clone, Debug)]
pub(crate) enum OutBody {
    QueryPing,
    QueryFindNode {
        target: Id,
    },
    QueryGetPeers {
        info_hash: Id,
    },
    QueryAnnounce {
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
        token: StoredToken,
    },
    QueryGet {
        target: Id,
        seq: Option<i64>,
    },
    QuerySample {
        target: Id,
    },
    /// A get_peers with `scrape=1` (BEP 33).
    QueryScrape {
        info_hash: Id,
    },
    /// A BEP 44 put of the running put search `query`: its item is read from the search
    /// when the datagram is written, so the value is held once however many nodes it
    /// goes to (and resent to). A put whose search was cancelled meanwhile is dropped
    /// (counted in `Stats::dropped_outgoing`).
    QueryPut {
        token: StoredToken,
        query: QueryId,
    },
    /// A find_node answer: the closest nodes of the `nodes` families.
    ReplyNodes {
        target: Id,
        nodes: Families,
    },
    /// A get_peers answer: a token, nodes, stored peers, BEP 33 filters if asked.
    ReplyPeers {
        info_hash: Id,
        nodes: Families,
        noseed: bool,
        scrape: bool,
    },
    /// A BEP 44 get answer.
    ReplyItem {
        target: Id,
        nodes: Families,
        seq: Option<i64>,
    },
    /// A BEP 51 sample_infohashes answer.
    ReplySamples {
        target: Id,
        nodes: Families,
    },
    /// An answer with only `id`: ping, announce_peer, put.
    ReplyEmpty,
    Error {
        code: ErrorCode,
        message: &'static str,
    },
}

/// A datagram waiting in the queue.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) to: SocketAddr,
    pub(crate) tid: Tid,
    pub(crate) body: OutBody,
}

/// A transaction id of up to 8 bytes (BEP 5's are 2; most clients use 2 to 8), held in
/// one word: cheaper to fill and move than an array with a length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShortTid {
    bytes: [u8; 8],
    len: u8,
}

impl ShortTid {
    fn new(tid: &[u8]) -> Option<Self> {
        let len = u8::try_from(tid.len()).ok().filter(|n| *n <= 8)?;
        // Little-endian assembly: no loop the compiler turns into a call to `memcpy`.
        let word = tid.iter().rev().fold(0u64, |w, b| (w << 8) | u64::from(*b));
        Some(ShortTid {
            bytes: word.to_le_bytes(),
            len,
        })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// An answer in the slot ahead of the queue: like [`Outgoing`], with room for a short
/// transaction id only, so it is cheaper to move.
#[derive(Clone, Debug)]
pub(crate) struct Ready {
    pub(crate) to: SocketAddr,
    pub(crate) tid: ShortTid,
    pub(crate) body: OutBody,
}

/// A datagram to encode, borrowed: from the queue, or from the ready slot.
#[derive(Clone, Copy)]
pub(crate) struct Out<'a> {
    pub(crate) to: SocketAddr,
    pub(crate) tid: &'a [u8],
    pub(crate) body: &'a OutBody,
}

impl Outgoing {
    pub(crate) fn view(&self) -> Out<'_> {
        Out {
            to: self.to,
            tid: &self.tid,
            body: &self.body,
        }
    }
}

impl Ready {
    pub(crate) fn view(&self) -> Out<'_> {
        Out {
            to: self.to,
            tid: self.tid.as_bytes(),
            body: &self.body,
        }
    }
}

/// The queue: at most `cap` datagrams wait, the oldest dropped (and counted) first.
///
/// It grows to the most it ever held (at most its cap) and keeps that capacity: memory
/// is bounded by `Config`, a node pays only for the traffic it has seen, and once warm,
/// answering a query never allocates.
#[derive(Debug)]
pub(crate) struct Outbox {
    /// An answer waiting ahead of `queue` (older than anything in it): see
    /// [`Outbox::push_answer`].
    pub(crate) ready: Option<Ready>,
    queue: VecDeque<Outgoing>,
    cap: usize,
    /// Datagrams dropped: the queue was full, or the caller's buffer too small.
    pub(crate) dropped: u64,
}

impl Outbox {
    pub(crate) fn new(cap: usize) -> Self {
        Outbox {
            ready: None,
            queue: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Datagrams waiting.
    pub(crate) fn len(&self) -> usize {
        self.queue.len() + usize::from(self.ready.is_some())
    }

    pub(crate) fn count_drop(&mut self) {
        self.dropped = self.dropped.saturating_add(1);
    }

    pub(crate) fn push(&mut self, out: Outgoing) {
        if self.len() >= self.cap {
            // The ready answer, when there is one, is the oldest datagram.
            if self.ready.take().is_none() {
                self.queue.pop_front();
            }
            self.count_drop();
        }
        self.queue.push_back(out);
    }

    /// Queues an answer. When nothing else waits (a driver that polls after every
    /// datagram) and the transaction id is short, the answer waits in a slot of its own
    /// ahead of the queue, which costs less than a trip through it; otherwise it joins
    /// the queue. Either way it waits in structured form, datagrams leave in the order
    /// they were queued, and at most the cap wait.
    #[inline]
    pub(crate) fn push_answer(&mut self, to: SocketAddr, tid: &[u8], body: OutBody) {
        if self.ready.is_none() && self.queue.is_empty() {
            if let Some(tid) = ShortTid::new(tid) {
                self.ready = Some(Ready { to, tid, body });
                return;
            }
        }
        let mut t = Tid::new();
        if t.try_extend_from_slice(tid).is_err() {
            self.count_drop();
            return;
        }
        self.push(Outgoing { to, tid: t, body });
    }

    pub(crate) fn pop(&mut self) -> Option<Outgoing> {
        self.queue.pop_front()
    }
}
