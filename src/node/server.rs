//! The server: what the node answers to the queries it receives, and the stores and
//! tokens behind the answers.
//!
//! [`Server::answer`] decides an answer (storing what an `announce_peer` or a `put`
//! brings) and returns it in structured form, or the error to answer instead; the bytes
//! are written later, when the answer leaves ([`encode`](super::encode)).

use super::event::Stats;
use super::outgoing::OutBody;
use super::ratelimit::RateLimiter;
use crate::addr::{Families, Family};
use crate::krpc::{ErrorCode, Query, QueryKind};
use crate::store::{
    AnnounceError, InfoHashSampler, ItemStore, PeerStore, SignatureVerifier, put_target,
};
use crate::time::Instant;
use crate::token::Tokens;
use alloc::boxed::Box;
use core::fmt;
use core::net::SocketAddr;

/// Why a query gets an error answer: the code and the message sent.
pub(crate) type Refusal = (ErrorCode, &'static str);

/// The serving side of a node: tokens, stores, the inbound rate limit.
pub(crate) struct Server {
    pub(crate) tokens: Tokens,
    pub(crate) peers: PeerStore,
    pub(crate) items: ItemStore,
    pub(crate) sampler: InfoHashSampler,
    pub(crate) rate: RateLimiter,
    pub(crate) verifier: Option<Box<dyn SignatureVerifier + Send + Sync>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("peers", &self.peers.len())
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// Which families' nodes to answer with: `want`, else the query's own family; only
/// families the node has a table for.
fn wanted(want: Option<Families>, from: &SocketAddr, tables: Families) -> Families {
    want.unwrap_or(Families::only(Family::of(from)))
        .intersection(tables)
}

impl Server {
    /// What to answer `q` from `from` with, having done what it asks (stored a peer or
    /// an item), or the error to answer instead. `tables`: the families the node has a
    /// table for.
    pub(crate) fn answer(
        &mut self,
        now: Instant,
        from: SocketAddr,
        q: &Query<'_>,
        tables: Families,
        stats: &mut Stats,
    ) -> Result<OutBody, Refusal> {
        let nodes = wanted(q.want, &from, tables);
        let body = match &q.kind {
            QueryKind::Ping => OutBody::ReplyEmpty,
            QueryKind::FindNode { target } => OutBody::ReplyNodes {
                target: *target,
                nodes,
            },
            QueryKind::GetPeers {
                info_hash,
                noseed,
                scrape,
            } => OutBody::ReplyPeers {
                info_hash: *info_hash,
                nodes,
                noseed: *noseed,
                scrape: *scrape,
            },
            QueryKind::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
                seed,
            } => {
                let port = if *implied_port { from.port() } else { *port };
                if !self.tokens.verify(now, from.ip(), info_hash, token) {
                    return Err((ErrorCode::Protocol, "bad token"));
                }
                let peer = SocketAddr::new(from.ip(), port);
                match self.peers.announce(now, *info_hash, peer, *seed) {
                    Ok(_) => OutBody::ReplyEmpty,
                    Err(AnnounceError::InvalidAddress) => {
                        return Err((ErrorCode::Protocol, "bad port"));
                    }
                    Err(_) => {
                        stats.store_refused = stats.store_refused.saturating_add(1);
                        return Err((ErrorCode::Server, "peer store full"));
                    }
                }
            }
            QueryKind::Get { target, seq } => OutBody::ReplyItem {
                target: *target,
                nodes,
                seq: *seq,
            },
            QueryKind::Put(put) => {
                let target = put_target(put);
                if !self.tokens.verify(now, from.ip(), &target, put.token) {
                    return Err((ErrorCode::Protocol, "bad token"));
                }
                let verifier = self.verifier.as_deref();
                if let Err(e) = self.items.put(now, from.ip(), put, verifier) {
                    stats.store_refused = stats.store_refused.saturating_add(1);
                    return Err((e.code(), e.message()));
                }
                OutBody::ReplyEmpty
            }
            QueryKind::SampleInfohashes { target } => OutBody::ReplySamples {
                target: *target,
                nodes,
            },
            QueryKind::Unknown { .. } => {
                return Err((ErrorCode::MethodUnknown, "method unknown"));
            }
        };
        Ok(body)
    }

    /// Drops expired peers and items, giving their memory back.
    pub(crate) fn sweep(&mut self, now: Instant) {
        self.peers.expire(now);
        self.items.expire(now);
    }
}
