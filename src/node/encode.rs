//! Turning a queued datagram into bytes, when it leaves: the node fills in what only it
//! knows at that moment (its closest nodes, a fresh token, a sample of stored peers) and
//! hands the writing to [`krpc`](crate::krpc): the common answers through
//! [`AnswerWriter`], everything else through [`Message::encode`].

use super::outgoing::{Out, OutBody};
use super::search::Search;
use super::server::Server;
use super::tables::Tables;
use super::{AnnouncePort, Config, Mode};
use crate::addr::{Families, Family};
use crate::bencode::RawValue;
use crate::id::Id;
use crate::krpc::budget::{self, MAX_VALUES_V4};
use crate::krpc::{
    AnswerWriter, Body, CompactList, ErrorMessage, Message, MutablePut, Put, Query, QueryKind,
    Response, Values,
};
use crate::store::{MAX_SAMPLES, Scrape};
use crate::time::Instant;
use crate::token::Token;
use arrayvec::ArrayVec;
use core::net::SocketAddr;

/// Writes the answer that carries only this node's id (ping, announce_peer, put): the
/// most common datagram, kept small so the caller's fast path stays small.
#[inline]
pub(crate) fn empty_answer(
    buf: &mut [u8],
    to: &SocketAddr,
    tid: &[u8],
    id: &Id,
    version: Option<[u8; 4]>,
) -> Option<usize> {
    AnswerWriter::begin(buf, to, None, id)?.finish(tid, version)
}

/// What encoding a datagram reads from the node.
pub(crate) struct Wire<'a> {
    pub(crate) id: &'a Id,
    pub(crate) config: &'a Config,
    pub(crate) tables: &'a Tables,
    /// Mutable: a token is issued and stored peers are sampled as the answer is written.
    pub(crate) server: &'a mut Server,
    /// The running searches: a put's item is read from its search.
    pub(crate) searches: &'a [Search],
}

/// A get_peers answer as [`Wire::plan_peers`] decided it; the filters are in the
/// caller's place.
struct PeersPlan {
    info_hash: Id,
    token: Token,
    nodes: Families,
    /// The family of the peers to answer with, and whether only downloaders first.
    family: Family,
    noseed: bool,
    /// How many stored peers to sample (0: none, not even a look).
    fit: usize,
}

impl PeersPlan {
    /// Hands `emit` the sampled stored peers; how many.
    #[inline]
    fn sample(&self, server: &mut Server, now: Instant, emit: impl FnMut(SocketAddr)) -> usize {
        if self.fit == 0 {
            return 0;
        }
        server.peers.sample_peers_each(
            now,
            &self.info_hash,
            self.family,
            self.noseed,
            self.fit,
            emit,
        )
    }
}

impl Wire<'_> {
    /// Encodes a queued datagram into `buf`; `None` if it does not fit. The common
    /// answers (ping, find_node, get_peers) are written straight into `buf` by an
    /// [`AnswerWriter`]; the rest go through a [`Message`].
    #[inline]
    pub(crate) fn encode(&mut self, now: Instant, out: Out<'_>, buf: &mut [u8]) -> Option<usize> {
        match out.body {
            OutBody::ReplyEmpty => empty_answer(buf, &out.to, out.tid, self.id, self.version()),
            _ => self.encode_other(now, out, buf),
        }
    }

    /// [`Wire::encode`] for every other datagram.
    fn encode_other(&mut self, now: Instant, out: Out<'_>, buf: &mut [u8]) -> Option<usize> {
        match out.body {
            OutBody::ReplyNodes { target, nodes } => {
                let mut w = AnswerWriter::begin(buf, &out.to, None, self.id)?;
                self.write_nodes(&mut w, target, *nodes, now)?;
                w.finish(out.tid, self.version())
            }
            OutBody::ReplyPeers { .. } => {
                let mut filters = None;
                let p = self.plan_peers(now, out, &mut filters)?;
                let bf = filters
                    .as_ref()
                    .map(|f| (&f.peers.as_bytes()[..], &f.seeds.as_bytes()[..]));
                let mut w = AnswerWriter::begin(buf, &out.to, bf, self.id)?;
                self.write_nodes(&mut w, &p.info_hash, p.nodes, now)?;
                w.token(&p.token)?;
                // The sampled peers go straight into the datagram.
                let server = &mut *self.server;
                w.values_with(|v| {
                    p.sample(server, now, |a| v.push(&a));
                })?;
                w.finish(out.tid, self.version())
            }
            _ => self.encode_message(now, out, buf),
        }
    }

    /// What both encoders of a get_peers answer decide alike: the token, the BEP 33
    /// filters, which node lists fit beside them, and how many stored peers fit (sampled
    /// as the answer is written), the filters into `filters` (which the caller starts as
    /// `None`; 512 bytes, filled in place rather than returned and copied). `None` if
    /// `out` is not a get_peers answer.
    fn plan_peers(
        &mut self,
        now: Instant,
        out: Out<'_>,
        filters: &mut Option<Scrape>,
    ) -> Option<PeersPlan> {
        let OutBody::ReplyPeers {
            info_hash,
            nodes,
            noseed,
            scrape,
        } = out.body
        else {
            return None;
        };
        let token = self.server.tokens.issue(now, out.to.ip(), info_hash);
        let family = Family::of(&out.to);
        if *scrape {
            *filters = self.server.peers.scrape(now, info_hash);
        }
        let nodes = match filters {
            // BEP 33: the filters need the room of one node list.
            Some(_) => budget::nodes_beside_filters(*nodes, family),
            None => *nodes,
        };
        let fit = budget::values_in_answer(family, out.tid.len(), nodes, filters.is_some())
            .min(self.config.max_values)
            .min(MAX_VALUES_V4);
        // A scrape that found nothing stored saw the peers are gone: no second lookup.
        let fit = if !*scrape || filters.is_some() {
            fit
        } else {
            0
        };
        Some(PeersPlan {
            info_hash: *info_hash,
            token,
            nodes,
            family,
            noseed: *noseed,
            fit,
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
        nodes: Families,
        now: Instant,
    ) -> Option<()> {
        for family in nodes.iter() {
            let found = self.tables.hand_out(family, target, now);
            w.nodes(family == Family::V6, found.len())?;
            for e in &found {
                w.node(e.id(), e.addr_ref())?;
            }
        }
        Some(())
    }

    /// Encodes a queued datagram through a [`Message`]. For the answers [`Wire::encode`]
    /// writes itself, this is the reference its tests compare against.
    pub(crate) fn encode_message(
        &mut self,
        now: Instant,
        out: Out<'_>,
        buf: &mut [u8],
    ) -> Option<usize> {
        let id = *self.id;
        let read_only = self.config.mode == Mode::ReadOnly;
        let nodes4;
        let nodes6;
        let token;
        let samples: ArrayVec<Id, MAX_SAMPLES>;
        let mut peers;
        let plan;
        let mut filters = None;
        // A node on both networks asks for both node lists (BEP 32): its searches feed
        // both lookups from every answer.
        let want = (self.tables.families() == Families::BOTH).then_some(Families::BOTH);
        let query = |kind| match kind {
            QueryKind::Ping | QueryKind::AnnouncePeer { .. } | QueryKind::Put(_) => {
                Body::Query(Query {
                    id,
                    want: None,
                    kind,
                })
            }
            kind => Body::Query(Query { id, want, kind }),
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
            OutBody::QueryPut { token, query: put } => {
                // The put's search holds the item; if it is gone (cancelled), so is
                // the datagram.
                let item = self
                    .searches
                    .iter()
                    .find(|s| s.id == *put)
                    .and_then(Search::put_request)?;
                query(QueryKind::Put(Put {
                    token,
                    value: RawValue::from_checked(&item.value),
                    mutable: item.mutable.as_ref().map(|(m, cas)| MutablePut {
                        key: &m.key,
                        signature: &m.signature,
                        seq: m.seq,
                        salt: (!m.salt.is_empty()).then_some(&m.salt[..]),
                        cas: *cas,
                    }),
                }))
            }
            OutBody::ReplyEmpty => Body::Response(Response::new(id)),
            OutBody::ReplyNodes { target, nodes } => {
                let mut r = Response::new(id);
                (nodes4, nodes6) = self.tables.hand_out_compact(*nodes, target, now);
                r.nodes = nodes
                    .contains(Family::V4)
                    .then(|| CompactList::from_items(&nodes4));
                r.nodes6 = nodes
                    .contains(Family::V6)
                    .then(|| CompactList::from_items(&nodes6));
                Body::Response(r)
            }
            OutBody::ReplyPeers { .. } => {
                plan = self.plan_peers(now, out, &mut filters)?;
                peers = ArrayVec::<SocketAddr, MAX_VALUES_V4>::new();
                plan.sample(self.server, now, |a| {
                    let _ = peers.try_push(a);
                });
                (nodes4, nodes6) = self
                    .tables
                    .hand_out_compact(plan.nodes, &plan.info_hash, now);
                let mut r = Response::new(id);
                r.token = Some(&plan.token);
                r.nodes = plan
                    .nodes
                    .contains(Family::V4)
                    .then(|| CompactList::from_items(&nodes4));
                r.nodes6 = plan
                    .nodes
                    .contains(Family::V6)
                    .then(|| CompactList::from_items(&nodes6));
                r.values = (!peers.is_empty()).then(|| Values::from_peers(&peers));
                if let Some(f) = &filters {
                    r.bf_seeds = Some(f.seeds.as_bytes());
                    r.bf_peers = Some(f.peers.as_bytes());
                }
                Body::Response(r)
            }
            OutBody::ReplyItem { target, nodes, seq } => {
                token = self.server.tokens.issue(now, out.to.ip(), target);
                (nodes4, nodes6) = self.tables.hand_out_compact(*nodes, target, now);
                let mut r = Response::new(id);
                r.token = Some(&token);
                r.nodes = nodes
                    .contains(Family::V4)
                    .then(|| CompactList::from_items(&nodes4));
                r.nodes6 = nodes
                    .contains(Family::V6)
                    .then(|| CompactList::from_items(&nodes6));
                if let Some(item) = self.server.items.get(now, target) {
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
            OutBody::ReplySamples { target, nodes } => {
                (nodes4, nodes6) = self.tables.hand_out_compact(*nodes, target, now);
                let server = &mut *self.server;
                let answer = server.sampler.sample(now, &server.peers);
                let fit = budget::samples_in_answer(out.tid.len(), *nodes);
                samples = answer.samples.iter().take(fit).copied().collect();
                let mut r = Response::new(id);
                r.nodes = nodes
                    .contains(Family::V4)
                    .then(|| CompactList::from_items(&nodes4));
                r.nodes6 = nodes
                    .contains(Family::V6)
                    .then(|| CompactList::from_items(&nodes6));
                r.samples = Some(CompactList::from_items(&samples));
                r.num = Some(i64::try_from(answer.num).unwrap_or(i64::MAX));
                r.interval = Some(i64::try_from(answer.interval.as_secs()).unwrap_or(0));
                Body::Response(r)
            }
            // Our id goes along, as libtorrent's does: the error also says who answered.
            OutBody::Error { code, message } => Body::Error(ErrorMessage {
                code: *code,
                message: message.as_bytes(),
                id: Some(id),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::LocalAddresses;
    use crate::node::outgoing::{Outgoing, Tid};
    use crate::node::{Config, Dht};
    use crate::routing::Node;
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

    /// A node with both tables filled and peers stored.
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
        let peers = &mut dht.server.peers;
        for i in 0..30u8 {
            let _ = peers.announce(now, Id::from_bytes([1; 20]), v4(i, 100), i % 3 == 0);
            let _ = peers.announce(now, Id::from_bytes([1; 20]), v6(i.into(), 100), false);
        }
        dht
    }

    fn wire(dht: &mut Dht) -> Wire<'_> {
        Wire {
            id: &dht.id,
            config: &dht.config,
            tables: &dht.tables,
            server: &mut dht.server,
            searches: &dht.searches,
        }
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
        for nodes in [Families::NONE, Families::V4, Families::V6, Families::BOTH] {
            bodies.push(OutBody::ReplyNodes {
                target: other,
                nodes,
            });
            for info_hash in [stored, other] {
                for (noseed, scrape) in [(false, false), (true, false), (false, true), (true, true)]
                {
                    bodies.push(OutBody::ReplyPeers {
                        info_hash,
                        nodes,
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
                        let n = wire(&mut fast).encode(now, out.view(), &mut a);
                        let m = wire(&mut slow).encode_message(now, out.view(), &mut b);
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
