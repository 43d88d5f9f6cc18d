//! Answering queries, and encoding queued datagrams.

use super::{AnnouncePort, Dht, Mode, Out, OutBody, Outgoing, Tid};
use crate::addr::Family;
use crate::bencode::RawValue;
use crate::id::Id;
use crate::krpc::AnswerWriter;
use crate::krpc::budget::{self, MAX_VALUES_V4};
use crate::krpc::{
    Body, CompactList, ErrorCode, ErrorMessage, Message, MutablePut, NodeV4, NodeV6, Put, Query,
    QueryKind, Response, Values,
};
use crate::routing::Node;
use crate::store::{AnnounceError, MAX_SAMPLES, Scrape, put_target};
use crate::time::Instant;
use crate::token::Token;
use arrayvec::ArrayVec;
use core::net::SocketAddr;

/// A get_peers answer as [`Dht::plan_peers`] decided it; the peers and the filters are
/// in the caller's places.
struct PeersPlan {
    info_hash: Id,
    token: Token,
    v4: bool,
    v6: bool,
    /// Peers sampled into the caller's array.
    found: usize,
}

impl PeersPlan {
    /// The sampled peers, if there are any.
    fn values<'p>(&self, peers: &'p [SocketAddr]) -> Option<&'p [SocketAddr]> {
        peers.get(..self.found).filter(|p| !p.is_empty())
    }
}

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
    fn wanted(&self, want: Option<crate::addr::Families>, from: &SocketAddr) -> (bool, bool) {
        let want = want.unwrap_or(crate::addr::Families::only(Family::of(from)));
        (
            want.contains(Family::V4) && self.table4.is_some(),
            want.contains(Family::V6) && self.table6.is_some(),
        )
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
        let tid = msg.transaction_id;
        if tid.len() > super::MAX_ECHOED_TRANSACTION_ID {
            self.stats.bad_datagrams = self.stats.bad_datagrams.saturating_add(1);
            return;
        }
        // A query refreshes a known node; it never adds one. An unknown querier the table
        // has room for is pinged (after the answer is queued), and enters only if it
        // answers.
        let verify = !msg.read_only
            && match self.table_mut(Family::of(&from)) {
                Some(t) => {
                    let node = Node {
                        id: q.id,
                        addr: from,
                    };
                    !t.on_query(now, node) && !t.knows_addr(&from) && t.wants(&q.id)
                }
                None => false,
            };
        if let QueryKind::Ping = q.kind {
            // The most common query, answered without building an `OutBody`.
            self.stats.served.ping = self.stats.served.ping.saturating_add(1);
            self.queue_reply(from, tid, OutBody::ReplyEmpty);
        } else {
            self.answer_and_queue(now, from, tid, q);
        }
        if verify && self.transactions.len() < self.config.max_transactions / 2 {
            self.send_query(
                from,
                Some(q.id),
                OutBody::QueryPing,
                super::Purpose::Ping { query: None },
            );
        }
    }

    fn answer_and_queue(&mut self, now: Instant, from: SocketAddr, tid: &[u8], q: &Query<'_>) {
        match self.answer(now, from, q) {
            Ok(body) => {
                self.stats.served.count(&q.kind);
                self.queue_reply(from, tid, body);
            }
            Err((code, message)) => {
                if let Some(tid) = self.tid(tid) {
                    self.reply_error(from, tid, code, message);
                }
            }
        }
    }

    /// What to answer `q` with, having done what it asks (stored a peer or an item), or
    /// the error to answer instead.
    fn answer(
        &mut self,
        now: Instant,
        from: SocketAddr,
        q: &Query<'_>,
    ) -> Result<OutBody, (ErrorCode, &'static str)> {
        let (v4, v6) = self.wanted(q.want, &from);
        let body = match &q.kind {
            QueryKind::Ping => OutBody::ReplyEmpty,
            QueryKind::FindNode { target } => OutBody::ReplyNodes {
                target: *target,
                v4,
                v6,
            },
            QueryKind::GetPeers {
                info_hash,
                noseed,
                scrape,
            } => OutBody::ReplyPeers {
                info_hash: *info_hash,
                v4,
                v6,
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
                        self.stats.store_refused = self.stats.store_refused.saturating_add(1);
                        return Err((ErrorCode::Server, "peer store full"));
                    }
                }
            }
            QueryKind::Get { target, seq } => OutBody::ReplyItem {
                target: *target,
                v4,
                v6,
                seq: *seq,
            },
            QueryKind::Put(put) => {
                let target = put_target(put);
                if !self.tokens.verify(now, from.ip(), &target, put.token) {
                    return Err((ErrorCode::Protocol, "bad token"));
                }
                let verifier = self.verifier.as_deref();
                if let Err(e) = self.items.put(now, from.ip(), put, verifier) {
                    self.stats.store_refused = self.stats.store_refused.saturating_add(1);
                    return Err((e.code(), e.message()));
                }
                OutBody::ReplyEmpty
            }
            QueryKind::SampleInfohashes { target } => OutBody::ReplySamples {
                target: *target,
                v4,
                v6,
            },
            QueryKind::Unknown { .. } => {
                return Err((ErrorCode::MethodUnknown, "method unknown"));
            }
        };
        Ok(body)
    }

    fn closest_v4(&self, target: &Id, now: Instant) -> ArrayVec<NodeV4, 8> {
        let mut out = ArrayVec::new();
        if let Some(t) = self.table(Family::V4) {
            for e in t.closest_to_hand_out::<8>(target, now) {
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
            for e in t.closest_to_hand_out::<8>(target, now) {
                if let SocketAddr::V6(addr) = e.addr() {
                    out.push(NodeV6 { id: *e.id(), addr });
                }
            }
        }
        out
    }

    /// Encodes a queued datagram into `buf`; `None` if it does not fit. The common
    /// answers (ping, find_node, get_peers) are written straight into `buf` by a
    /// [`AnswerWriter`]; the rest go through a [`Message`].
    #[inline]
    pub(crate) fn encode(&mut self, now: Instant, out: Out<'_>, buf: &mut [u8]) -> Option<usize> {
        if let OutBody::ReplyEmpty = out.body {
            // The most common answer (a ping's), kept out of the big function below.
            let w = AnswerWriter::begin(buf, &out.to, None, &self.id)?;
            return w.finish(out.tid, self.version());
        }
        self.encode_other(now, out, buf)
    }

    /// [`Dht::encode`] for every other datagram.
    fn encode_other(&mut self, now: Instant, out: Out<'_>, buf: &mut [u8]) -> Option<usize> {
        match out.body {
            OutBody::ReplyEmpty => {
                let w = AnswerWriter::begin(buf, &out.to, None, &self.id)?;
                w.finish(out.tid, self.version())
            }
            OutBody::ReplyNodes { target, v4, v6 } => {
                let mut w = AnswerWriter::begin(buf, &out.to, None, &self.id)?;
                self.write_nodes(&mut w, target, *v4, *v6, now)?;
                w.finish(out.tid, self.version())
            }
            OutBody::ReplyPeers { .. } => {
                let mut peers = ArrayVec::<SocketAddr, MAX_VALUES_V4>::new();
                let mut filters = None;
                let p = self.plan_peers(now, out, &mut peers, &mut filters)?;
                let bf = filters
                    .as_ref()
                    .map(|f| (&f.peers.as_bytes()[..], &f.seeds.as_bytes()[..]));
                let mut w = AnswerWriter::begin(buf, &out.to, bf, &self.id)?;
                self.write_nodes(&mut w, &p.info_hash, p.v4, p.v6, now)?;
                w.token(&p.token)?;
                if let Some(values) = p.values(&peers) {
                    w.values(values)?;
                }
                w.finish(out.tid, self.version())
            }
            _ => self.encode_message(now, out, buf),
        }
    }

    /// What both encoders of a get_peers answer decide alike: the token, the BEP 33
    /// filters, which node lists fit beside them, and the stored peers that fit, sampled
    /// into `peers`, the filters into `filters` (which the caller starts as `None`; 512
    /// bytes, filled in place rather than returned and copied). `None` if `out` is not a get_peers answer.
    fn plan_peers(
        &mut self,
        now: Instant,
        out: Out<'_>,
        peers: &mut ArrayVec<SocketAddr, MAX_VALUES_V4>,
        filters: &mut Option<Scrape>,
    ) -> Option<PeersPlan> {
        let OutBody::ReplyPeers {
            info_hash,
            v4,
            v6,
            noseed,
            scrape,
        } = out.body
        else {
            return None;
        };
        let token = self.tokens.issue(now, out.to.ip(), info_hash);
        let family = Family::of(&out.to);
        if *scrape {
            *filters = self.peers.scrape(now, info_hash);
        }
        let mut nodes = crate::addr::Families::NONE;
        if *v4 {
            nodes = nodes.with(Family::V4);
        }
        if *v6 {
            nodes = nodes.with(Family::V6);
        }
        if filters.is_some() {
            // BEP 33: the filters need the room of one node list.
            nodes = budget::nodes_beside_filters(nodes, family);
        }
        let (v4, v6) = (nodes.contains(Family::V4), nodes.contains(Family::V6));
        let fit = budget::values_in_answer(family, out.tid.len(), nodes, filters.is_some())
            .min(self.config.max_values);
        // A scrape that found nothing stored saw the peers are gone: no second lookup.
        peers.clear();
        if !*scrape || filters.is_some() {
            self.peers
                .sample_peers_into(now, info_hash, family, *noseed, fit, peers);
        }
        let found = peers.len();
        Some(PeersPlan {
            info_hash: *info_hash,
            token,
            v4,
            v6,
            found,
        })
    }

    /// The client version sent as `v`.
    fn version(&self) -> Option<[u8; 4]> {
        self.config.version
    }

    /// `nodes` and `nodes6` as asked: the closest nodes of each family to `target`.
    fn write_nodes(
        &self,
        w: &mut AnswerWriter<'_>,
        target: &Id,
        v4: bool,
        v6: bool,
        now: Instant,
    ) -> Option<()> {
        for (wanted, family) in [(v4, Family::V4), (v6, Family::V6)] {
            if !wanted {
                continue;
            }
            let found = match self.table(family) {
                Some(t) => t.closest_to_hand_out::<8>(target, now),
                None => ArrayVec::new(),
            };
            // A table only ever holds its own family; the filter keeps the length
            // header right even so.
            let v6 = family == Family::V6;
            let of_family = |e: &&&crate::routing::Entry| e.addr_ref().is_ipv6() == v6;
            w.nodes(v6, found.iter().filter(of_family).count())?;
            for e in found.iter().filter(of_family) {
                w.node(e.id(), e.addr_ref())?;
            }
        }
        Some(())
    }

    /// Encodes a queued datagram through a [`Message`]. For the answers [`Dht::encode`]
    /// writes itself, this is the reference its tests compare against.
    fn encode_message(&mut self, now: Instant, out: Out<'_>, buf: &mut [u8]) -> Option<usize> {
        let id = self.id;
        let read_only = self.config.mode == Mode::ReadOnly;
        let nodes4;
        let nodes6;
        let token;
        let samples: ArrayVec<Id, MAX_SAMPLES>;
        let mut peers;
        let plan;
        let mut filters = None;
        let query = |kind| {
            Body::Query(Query {
                id,
                want: None,
                kind,
            })
        };
        let body = match out.body {
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
                seed,
                token,
            } => query(QueryKind::AnnouncePeer {
                info_hash: *info_hash,
                port: match port {
                    AnnouncePort::Port(p) => *p,
                    AnnouncePort::Implied => 0,
                },
                implied_port: *port == AnnouncePort::Implied,
                token,
                seed: *seed,
            }),
            OutBody::QueryScrape { info_hash } => query(QueryKind::GetPeers {
                info_hash: *info_hash,
                noseed: false,
                scrape: true,
            }),
            OutBody::QuerySample { target } => {
                query(QueryKind::SampleInfohashes { target: *target })
            }
            OutBody::QueryGet { target, seq } => query(QueryKind::Get {
                target: *target,
                seq: *seq,
            }),
            OutBody::QueryPut { token, item } => query(QueryKind::Put(Put {
                token,
                value: RawValue::from_checked(&item.value),
                mutable: item.mutable.as_ref().map(|(m, cas)| MutablePut {
                    key: &m.key,
                    signature: &m.signature,
                    seq: m.seq,
                    salt: (!m.salt.is_empty()).then_some(&m.salt[..]),
                    cas: *cas,
                }),
            })),
            OutBody::ReplyEmpty => Body::Response(Response::new(id)),
            OutBody::ReplyNodes { target, v4, v6 } => {
                let mut r = Response::new(id);
                (nodes4, nodes6) = self.closest(target, *v4, *v6, now);
                r.nodes = v4.then(|| CompactList::from_items(&nodes4));
                r.nodes6 = v6.then(|| CompactList::from_items(&nodes6));
                Body::Response(r)
            }
            OutBody::ReplyPeers { .. } => {
                peers = ArrayVec::<SocketAddr, MAX_VALUES_V4>::new();
                plan = self.plan_peers(now, out, &mut peers, &mut filters)?;
                (nodes4, nodes6) = self.closest(&plan.info_hash, plan.v4, plan.v6, now);
                let mut r = Response::new(id);
                r.token = Some(&plan.token);
                r.nodes = plan.v4.then(|| CompactList::from_items(&nodes4));
                r.nodes6 = plan.v6.then(|| CompactList::from_items(&nodes6));
                r.values = plan.values(&peers).map(Values::from_peers);
                if let Some(f) = &filters {
                    r.bf_seeds = Some(f.seeds.as_bytes());
                    r.bf_peers = Some(f.peers.as_bytes());
                }
                Body::Response(r)
            }
            OutBody::ReplyItem {
                target,
                v4,
                v6,
                seq,
            } => {
                token = self.tokens.issue(now, out.to.ip(), target);
                (nodes4, nodes6) = self.closest(target, *v4, *v6, now);
                let mut r = Response::new(id);
                r.token = Some(&token);
                r.nodes = v4.then(|| CompactList::from_items(&nodes4));
                r.nodes6 = v6.then(|| CompactList::from_items(&nodes6));
                if let Some(item) = self.items.get(now, target) {
                    match item.mutable() {
                        None => r.value = Some(item.value()),
                        Some(m) => {
                            // BEP 44: `seq` always; the item only when newer than asked.
                            r.seq = Some(m.seq);
                            if seq.is_none_or(|asked| m.seq > asked) {
                                r.value = Some(item.value());
                                r.key = Some(&m.key);
                                r.signature = Some(&m.signature);
                            }
                        }
                    }
                }
                Body::Response(r)
            }
            OutBody::ReplySamples { target, v4, v6 } => {
                (nodes4, nodes6) = self.closest(target, *v4, *v6, now);
                let answer = self.sampler.sample(now, &self.peers);
                let mut nodes = crate::addr::Families::NONE;
                if *v4 {
                    nodes = nodes.with(Family::V4);
                }
                if *v6 {
                    nodes = nodes.with(Family::V6);
                }
                let fit = budget::samples_in_answer(out.tid.len(), nodes);
                samples = answer.samples.iter().take(fit).copied().collect();
                let mut r = Response::new(id);
                r.nodes = v4.then(|| CompactList::from_items(&nodes4));
                r.nodes6 = v6.then(|| CompactList::from_items(&nodes6));
                r.samples = Some(CompactList::from_items(&samples));
                r.num = Some(i64::try_from(answer.num).unwrap_or(i64::MAX));
                r.interval = Some(i64::try_from(answer.interval.as_secs()).unwrap_or(0));
                Body::Response(r)
            }
            OutBody::Error { code, message } => Body::Error(ErrorMessage {
                code: *code,
                message: message.as_bytes(),
            }),
        };
        let is_query = matches!(body, Body::Query(_));
        let mut msg = Message {
            transaction_id: out.tid,
            version: self.config.version.as_ref().map(|v| &v[..]),
            ip: (!is_query).then_some(out.to),
            read_only: read_only && is_query,
            body,
        };
        budget::trim_item_answer(&mut msg);
        msg.encode(buf).ok()
    }

    /// The closest nodes of the families asked for.
    fn closest(
        &self,
        target: &Id,
        v4: bool,
        v6: bool,
        now: Instant,
    ) -> (ArrayVec<NodeV4, 8>, ArrayVec<NodeV6, 8>) {
        (
            if v4 {
                self.closest_v4(target, now)
            } else {
                ArrayVec::new()
            },
            if v6 {
                self.closest_v6(target, now)
            } else {
                ArrayVec::new()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Families;
    use crate::addr::LocalAddresses;
    use crate::node::Config;
    use alloc::vec::Vec;
    use core::net::{Ipv6Addr, SocketAddrV6};

    fn v4(i: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 1, i], port))
    }

    fn v6(i: u16, port: u16) -> SocketAddr {
        SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 7, i),
            port,
            0,
            0,
        ))
    }

    /// Two identical nodes with both tables filled and peers stored.
    fn node() -> Dht {
        let mut cfg = Config {
            families: Families::BOTH,
            ..Config::default()
        };
        cfg.routing.local_addresses = LocalAddresses::Allow;
        let now = Instant::from_millis(0);
        let mut dht = Dht::new(cfg, [3; 32], now);
        for i in 0..60u16 {
            let id = Id::from_entropy(&i.to_be_bytes());
            let addr = if i % 2 == 0 {
                v4(i as u8, 6881)
            } else {
                v6(i, 6881)
            };
            dht.learn(now, Node { id, addr }, None);
        }
        for i in 0..30u8 {
            let _ = dht
                .peers
                .announce(now, Id::from_bytes([1; 20]), v4(i, 100), i % 3 == 0);
            let _ = dht
                .peers
                .announce(now, Id::from_bytes([1; 20]), v6(i.into(), 100), false);
        }
        dht
    }

    #[test]
    fn specialised_answers_match_the_message_path() {
        let (mut fast, mut slow) = (node(), node());
        assert!(fast.stats().nodes() > 16);
        let now = Instant::from_millis(5);
        let stored = Id::from_bytes([1; 20]);
        let other = Id::from_bytes([2; 20]);
        let mut bodies = Vec::new();
        bodies.push(OutBody::ReplyEmpty);
        for (v4, v6) in [(false, false), (true, false), (false, true), (true, true)] {
            bodies.push(OutBody::ReplyNodes {
                target: other,
                v4,
                v6,
            });
            for info_hash in [stored, other] {
                for (noseed, scrape) in [(false, false), (true, false), (false, true), (true, true)]
                {
                    bodies.push(OutBody::ReplyPeers {
                        info_hash,
                        v4,
                        v6,
                        noseed,
                        scrape,
                    });
                }
            }
        }
        let (mut seen_nodes, mut seen_nodes6) = (false, false);
        let (mut seen_values, mut seen_filters) = (false, false);
        for version in [None, Some(*b"XY\x01\x02")] {
            fast.config.version = version;
            slow.config.version = version;
            for to in [v4(250, 1234), v6(999, 4321)] {
                for tid in [&b"aa"[..], &[9u8; 64]] {
                    for body in &bodies {
                        let out = Outgoing {
                            to,
                            tid: Tid::try_from(tid).unwrap(),
                            body: body.clone(),
                        };
                        let (mut a, mut b) = ([0u8; 1500], [0u8; 1500]);
                        let n = fast.encode(now, out.view(), &mut a);
                        let m = slow.encode_message(now, out.view(), &mut b);
                        assert!(n.is_some(), "{body:?}");
                        assert_eq!(n, m, "{body:?}");
                        assert_eq!(a, b, "{body:?}");
                        let msg = Message::decode(&a[..n.unwrap()]).unwrap();
                        let Body::Response(r) = msg.body else {
                            panic!("{body:?}")
                        };
                        seen_nodes |= r.nodes.is_some_and(|n| n.len() == 8);
                        seen_nodes6 |= r.nodes6.is_some_and(|n| n.len() == 8);
                        seen_values |= r.values.is_some_and(|v| v.len() > 10);
                        seen_filters |= r.bf_seeds.is_some();
                    }
                }
            }
        }
        assert!(seen_nodes && seen_nodes6 && seen_values && seen_filters);
    }
}
