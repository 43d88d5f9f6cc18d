//! Answering queries, and encoding queued datagrams.

use super::event::served_index;
use super::{Dht, Mode, OutBody, Outgoing, Tid};
use crate::id::Id;
use crate::krpc::{
    Body, CompactList, ErrorCode, ErrorMessage, Message, NodeV4, NodeV6, Query, QueryKind,
    Response, Want,
};
use crate::routing::{Family, Liveness, Node};
use crate::time::Instant;
use arrayvec::ArrayVec;
use core::net::SocketAddr;

impl Dht {
    fn tid(&mut self, t: &[u8]) -> Option<Tid> {
        let mut tid = Tid::new();
        if tid.try_extend_from_slice(t).is_err() {
            self.stats.bad_datagrams = self.stats.bad_datagrams.saturating_add(1);
            return None;
        }
        Some(tid)
    }

    fn reply_error(&mut self, to: SocketAddr, tid: Tid, code: ErrorCode, message: &'static str) {
        self.stats.errors_sent = self.stats.errors_sent.saturating_add(1);
        self.push_outgoing(Outgoing {
            to,
            tid,
            body: OutBody::Error { code, message },
        });
    }

    /// A query we could not decode but whose `t` we read: error 203.
    pub(crate) fn reply_malformed(&mut self, now: Instant, from: SocketAddr, t: &[u8]) {
        if self.config.mode == Mode::ReadOnly || !self.rate.allow(now, from.ip()) {
            return;
        }
        if let Some(tid) = self.tid(t) {
            self.reply_error(from, tid, ErrorCode::Protocol, "malformed query");
        }
    }

    /// Which families' nodes to answer with: `want`, else the query's own family.
    fn wanted(&self, want: Option<Want>, from: &SocketAddr) -> (bool, bool) {
        let (v4, v6) = match want {
            Some(w) => (w.n4, w.n6),
            None => (
                Family::of(from) == Family::V4,
                Family::of(from) == Family::V6,
            ),
        };
        (v4 && self.table4.is_some(), v6 && self.table6.is_some())
    }

    pub(crate) fn on_query(
        &mut self,
        now: Instant,
        from: SocketAddr,
        msg: &Message<'_>,
        q: &Query<'_>,
    ) {
        if self.config.mode == Mode::ReadOnly {
            self.stats.ignored_read_only = self.stats.ignored_read_only.saturating_add(1);
            return;
        }
        if !self.rate.allow(now, from.ip()) {
            self.stats.rate_limited = self.stats.rate_limited.saturating_add(1);
            return;
        }
        let Some(tid) = self.tid(msg.transaction_id) else {
            return;
        };
        if !msg.read_only {
            // A query refreshes a known node; it never adds one. An unknown querier the
            // table has room for is pinged, and enters only if it answers.
            let node = Node {
                id: q.id,
                addr: from,
            };
            let verify = match self.table_mut(Family::of(&from)) {
                Some(t) => !t.on_query(now, node) && !t.knows_addr(&from) && t.wants(&q.id),
                None => false,
            };
            if verify && self.transactions.len() < self.config.max_transactions / 2 {
                self.send_query(
                    from,
                    Some(q.id),
                    OutBody::QueryPing,
                    super::Purpose::Ping { query: None },
                );
            }
        }
        let (v4, v6) = self.wanted(q.want, &from);
        let body = match &q.kind {
            QueryKind::Ping => OutBody::ReplyPing,
            QueryKind::FindNode { target } => OutBody::ReplyNodes {
                target: *target,
                v4,
                v6,
            },
            QueryKind::GetPeers { info_hash, .. } => OutBody::ReplyPeers {
                info_hash: *info_hash,
                v4,
                v6,
            },
            QueryKind::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
                ..
            } => {
                let port = if *implied_port { from.port() } else { *port };
                if !self.tokens.verify(now, from.ip(), info_hash, token) {
                    return self.reply_error(from, tid, ErrorCode::Protocol, "bad token");
                }
                if port == 0 {
                    return self.reply_error(from, tid, ErrorCode::Protocol, "bad port");
                }
                self.store_peer(now, *info_hash, SocketAddr::new(from.ip(), port));
                OutBody::ReplyAnnounced
            }
            QueryKind::Get { target, .. } | QueryKind::SampleInfohashes { target } => {
                OutBody::ReplyNodes {
                    target: *target,
                    v4,
                    v6,
                }
            }
            QueryKind::Put(_) => {
                return self.reply_error(from, tid, ErrorCode::Protocol, "put not supported yet");
            }
            QueryKind::Unknown { .. } => {
                return self.reply_error(from, tid, ErrorCode::MethodUnknown, "method unknown");
            }
        };
        if let Some(i) = served_index(q.kind.method()) {
            if let Some(n) = self.stats.served.get_mut(i) {
                *n = n.saturating_add(1);
            }
        }
        self.push_outgoing(Outgoing {
            to: from,
            tid,
            body,
        });
    }

    /// Stores an announced peer. (The peer store arrives with the storage module.)
    fn store_peer(&mut self, _now: Instant, _info_hash: Id, _peer: SocketAddr) {}

    fn closest_v4(&self, target: &Id, now: Instant) -> ArrayVec<NodeV4, 8> {
        let mut out = ArrayVec::new();
        if let Some(t) = self.table(Family::V4) {
            for e in t.closest::<8>(target, Liveness::NotBad, now) {
                if let SocketAddr::V4(addr) = e.addr() {
                    out.push(NodeV4 { id: *e.id(), addr });
                }
            }
        }
        out
    }

    fn closest_v6(&self, target: &Id, now: Instant) -> ArrayVec<NodeV6, 8> {
        let mut out = ArrayVec::new();
        if let Some(t) = self.table(Family::V6) {
            for e in t.closest::<8>(target, Liveness::NotBad, now) {
                if let SocketAddr::V6(addr) = e.addr() {
                    out.push(NodeV6 { id: *e.id(), addr });
                }
            }
        }
        out
    }

    /// Encodes a queued datagram into `buf`; `None` if it does not fit.
    pub(crate) fn encode(&mut self, now: Instant, out: &Outgoing, buf: &mut [u8]) -> Option<usize> {
        let id = self.id;
        let read_only = self.config.mode == Mode::ReadOnly;
        let nodes4;
        let nodes6;
        let token;
        let query = |kind| {
            Body::Query(Query {
                id,
                want: None,
                kind,
            })
        };
        let body = match &out.body {
            OutBody::QueryPing => query(QueryKind::Ping),
            OutBody::QueryFindNode { target } => query(QueryKind::FindNode { target: *target }),
            OutBody::QueryGetPeers { info_hash } => query(QueryKind::GetPeers {
                info_hash: *info_hash,
                noseed: false,
                scrape: false,
            }),
            OutBody::QueryAnnounce {
                info_hash,
                port,
                implied_port,
                token,
            } => query(QueryKind::AnnouncePeer {
                info_hash: *info_hash,
                port: *port,
                implied_port: *implied_port,
                token,
                seed: false,
            }),
            OutBody::ReplyPing | OutBody::ReplyAnnounced => Body::Response(Response::new(id)),
            OutBody::ReplyNodes { target, v4, v6 } => {
                let mut r = Response::new(id);
                nodes4 = if *v4 {
                    self.closest_v4(target, now)
                } else {
                    ArrayVec::new()
                };
                nodes6 = if *v6 {
                    self.closest_v6(target, now)
                } else {
                    ArrayVec::new()
                };
                r.nodes = v4.then(|| CompactList::from_items(&nodes4));
                r.nodes6 = v6.then(|| CompactList::from_items(&nodes6));
                Body::Response(r)
            }
            OutBody::ReplyPeers {
                info_hash, v4, v6, ..
            } => {
                let mut r = Response::new(id);
                token = self.tokens.issue(now, out.to.ip(), info_hash);
                nodes4 = if *v4 {
                    self.closest_v4(info_hash, now)
                } else {
                    ArrayVec::new()
                };
                nodes6 = if *v6 {
                    self.closest_v6(info_hash, now)
                } else {
                    ArrayVec::new()
                };
                r.token = Some(&token);
                r.nodes = v4.then(|| CompactList::from_items(&nodes4));
                r.nodes6 = v6.then(|| CompactList::from_items(&nodes6));
                Body::Response(r)
            }
            OutBody::Error { code, message } => Body::Error(ErrorMessage {
                code: *code,
                message: message.as_bytes(),
            }),
        };
        let is_query = matches!(body, Body::Query(_));
        let msg = Message {
            transaction_id: &out.tid,
            version: self.config.version.as_ref().map(|v| &v[..]),
            ip: (!is_query).then_some(out.to),
            read_only: read_only && is_query,
            body,
        };
        msg.encode(buf).ok()
    }
}
