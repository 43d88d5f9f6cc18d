//! The whole node: the input is a sequence of steps (a datagram from one of a few
//! sources — raw bytes, a well-formed query, or a reply to a query the node sent — a
//! clock advance, a timer run, a command, a poll of transmits or events). After every
//! step the invariants below must hold:
//!
//! - nothing panics;
//! - every transmitted datagram fits the caller's buffer and `MAX_DATAGRAM_LEN`, decodes
//!   as KRPC, and is either a query with a 4-byte transaction id (with `ro=1` exactly
//!   when the node is read-only) or an answer echoing a transaction id that its
//!   destination sent (never an answer nobody asked for);
//! - after `handle_timeout(now)`, `poll_timeout()` is `None` or later than `now`;
//! - every cap of `Config` holds: table buckets and their caches, entries per IP,
//!   transactions, searches, the outgoing and event queues, the peer and item stores,
//!   the standing announces and items;
//! - a saved state restores (same id) and saves again to the same length.
//!
//! The node may start from a fuzzed saved state; answers may carry `ip` votes (from
//! distinct networks, so that an external address and a secure id can be won).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use btdht::Id;
use btdht::addr::{Families, Family, LocalAddresses};
use btdht::bencode::RawValue;
use btdht::krpc::{
    Body, CompactList, MAX_DATAGRAM_LEN, Message, NodeV4, NodeV6, Put, Query, QueryKind, Response,
    Values,
};
use btdht::node::{AnnouncePort, Config, Dht, ItemTarget, Mode, OwnId, QueryId, WalkConfig};
use btdht::time::Instant;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The sources and destinations the steps use: eight IPv4 nodes (two sharing an IP),
/// each other in its own /24, and three IPv6 ones, each in its own /48 (so that their
/// `ip` votes count apart).
fn pool(i: u8) -> SocketAddr {
    match i % 11 {
        n @ 0..=6 => SocketAddr::from(([10, n, 0, 1], 6881)),
        7 => SocketAddr::from(([10, 0, 0, 1], 7000)),
        n => SocketAddr::from((Ipv6Addr::new(0xfd00, u16::from(n), 0, 0, 0, 0, 0, 1), 6881)),
    }
}

/// Addresses the node may be seen at: global ones (a secure id follows), a private one
/// (exempt), an IPv6 one.
fn seen_at(i: u8) -> SocketAddr {
    match i % 4 {
        0 => SocketAddr::from(([203, 0, 113, 7], 6881)),
        1 => SocketAddr::from(([198, 51, 100, 9], 6881)),
        2 => SocketAddr::from(([192, 168, 1, 2], 6881)),
        _ => SocketAddr::from((Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9), 6881)),
    }
}

/// An id from one byte, spread over the keyspace (and one close to `near` when asked).
fn id_from(b: u8, near: Option<&Id>) -> Id {
    let mut bytes = [b; 20];
    if let Some(near) = near {
        bytes = *near.as_bytes();
        bytes[19] ^= b | 1;
        bytes[(b % 20) as usize] ^= 0x01;
    }
    Id::from_bytes(bytes)
}

include!(concat!(env!("OUT_DIR"), "/seeds.rs"));

#[derive(Arbitrary, Debug)]
struct Setup {
    families: u8,
    read_only: bool,
    k: u8,
    cache: u8,
    max_transactions: u8,
    max_searches: u8,
    max_outgoing: u8,
    max_events: u8,
    rate_burst: u8,
    max_torrents: u8,
    max_peers: u8,
    max_items: u8,
    /// Plug in a stand-in verifier (so mutable items can be accepted).
    verifier: bool,
    seed: [u8; 32],
    max_kept: u8,
    keep_id: bool,
    /// Start from this saved state (fuzzed; a refused one starts fresh).
    state: Option<Vec<u8>>,
}

/// Accepts a "signature" whose first half is the key: reachable by the fuzzer, unlike
/// ed25519, so the accept paths of mutable items run.
struct StandIn;

impl btdht::store::SignatureVerifier for StandIn {
    fn verify(&self, key: &[u8; 32], _message: &[u8], signature: &[u8; 64]) -> bool {
        signature[..32] == key[..]
    }
}

#[derive(Arbitrary, Debug)]
enum Tid {
    Short(u8),
    Normal([u8; 4]),
    Long(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum QueryShape {
    Ping,
    FindNode {
        target: u8,
        want: u8,
    },
    GetPeers {
        info_hash: u8,
        noseed: bool,
        scrape: bool,
    },
    Announce {
        info_hash: u8,
        port: u16,
        implied_port: bool,
        token: TokenChoice,
        seed: bool,
    },
    Get {
        target: u8,
        seq: Option<i64>,
    },
    PutImmutable {
        value: Vec<u8>,
        token: TokenChoice,
    },
    Sample {
        target: u8,
    },
    Unknown {
        target: Option<u8>,
    },
}

#[derive(Arbitrary, Debug)]
enum TokenChoice {
    /// The last token the node gave this source.
    Given,
    Made(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum ReplyShape {
    Nodes {
        nodes: Vec<(u8, u8)>,
        token: Option<[u8; 4]>,
        values: Vec<u8>,
    },
    Empty,
    /// A BEP 44 `get` answer: a value (a bencoded string of these bytes), and for a
    /// mutable one a key, `seq` and signature.
    Item {
        value: Vec<u8>,
        mutable: Option<([u8; 32], i64, [u8; 64])>,
        token: [u8; 4],
    },
    Error(u16),
    /// From the right IP, wrong port.
    WrongPort,
}

#[derive(Arbitrary, Debug)]
enum Command {
    Ping(u8),
    AddNode(u8),
    Bootstrap(Vec<u8>),
    FindNode(u8),
    GetPeers(u8),
    Announce(u8, Option<u16>, bool),
    GetImmutable(u8),
    GetMutable([u8; 32], Vec<u8>),
    PutImmutable(Vec<u8>),
    Scrape(u8),
    SampleInfohashes(u8),
    WalkSamples {
        rate: u8,
        max_nodes: u8,
    },
    Cancel(u8),
    KeepAnnounced(u8, Option<u16>, bool),
    StopAnnouncing(u8),
    KeepPublished(Vec<u8>),
    StopPublishing(Vec<u8>),
    SetBootstrap(Vec<u8>),
    SetExternal(u8),
    /// Saves the state into a buffer of this length, restores a node from it.
    SaveRestore(u16),
}

#[derive(Arbitrary, Debug)]
enum Step {
    Raw {
        from: u8,
        bytes: Vec<u8>,
    },
    /// One of the `krpc` target's seeds, whole or with one byte changed.
    Seed {
        from: u8,
        which: u16,
        change: Option<(u16, u8)>,
    },
    Query {
        from: u8,
        tid: Tid,
        id: u8,
        read_only: bool,
        shape: QueryShape,
    },
    /// Answers the `pick`-th query the node sent and nobody answered yet, saying it saw
    /// the node at `seen` (BEP 42 `ip`).
    Reply {
        pick: u8,
        id: u8,
        close: bool,
        shape: ReplyShape,
        seen: Option<u8>,
    },
    Advance {
        ms: u16,
        minutes: u8,
    },
    Timeout,
    Command(Command),
    Transmit {
        buf: u16,
    },
    Events,
}

struct Harness {
    dht: Dht,
    config: Config,
    now: u64,
    /// Queries the node sent: destination, transaction id, method.
    sent: Vec<(SocketAddr, Vec<u8>, Vec<u8>)>,
    /// What each source sent recently (answers must echo one of their ids).
    received: HashMap<SocketAddr, Vec<Vec<u8>>>,
    /// The last token the node gave each source.
    tokens: HashMap<SocketAddr, Vec<u8>>,
    queries: Vec<QueryId>,
}

fn config(s: &Setup) -> Config {
    let mut c = Config::default();
    c.families = match s.families % 3 {
        0 => Families::V4,
        1 => Families::V6,
        _ => Families::BOTH,
    };
    if s.read_only {
        c.mode = Mode::ReadOnly;
    }
    c.routing.local_addresses = LocalAddresses::Allow;
    c.routing.k = usize::from(s.k % 8) + 1;
    c.routing.replacement_cache = usize::from(s.cache % 4);
    c.max_transactions = usize::from(s.max_transactions % 32) + 1;
    c.max_searches = usize::from(s.max_searches % 4) + 1;
    c.max_outgoing = usize::from(s.max_outgoing % 16) + 1;
    c.max_events = usize::from(s.max_events % 16) + 1;
    c.rate_limit.burst = u32::from(s.rate_burst % 64) + 1;
    c.rate_limit.tracked_ips = 4;
    c.peers.max_torrents = usize::from(s.max_torrents % 8) + 1;
    c.peers.max_peers = usize::from(s.max_peers % 16) + 1;
    c.items.max_items = usize::from(s.max_items % 8) + 1;
    c.max_kept = usize::from(s.max_kept % 4);
    if s.keep_id {
        c.own_id = OwnId::Keep;
    }
    c
}

impl Harness {
    fn now(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn deliver(&mut self, from: SocketAddr, bytes: &[u8]) {
        let seen = self.received.entry(from).or_default();
        if seen.len() >= 64 {
            seen.remove(0);
        }
        seen.push(bytes.to_vec());
        let now = self.now();
        self.dht.handle_datagram(now, from, bytes);
    }

    fn query(&mut self, from: SocketAddr, tid: &Tid, id: u8, read_only: bool, shape: &QueryShape) {
        let tid: Vec<u8> = match tid {
            Tid::Short(b) => vec![*b],
            Tid::Normal(t) => t.to_vec(),
            Tid::Long(v) => v.iter().copied().take(80).collect(),
        };
        let pick_token = |c: &TokenChoice| match c {
            TokenChoice::Given => self.tokens.get(&from).cloned().unwrap_or_default(),
            TokenChoice::Made(v) => v.iter().copied().take(40).collect(),
        };
        let value_bytes;
        let tok;
        let kind = match *shape {
            QueryShape::Ping => QueryKind::Ping,
            QueryShape::FindNode { target, .. } => QueryKind::FindNode {
                target: id_from(target, None),
            },
            QueryShape::GetPeers {
                info_hash,
                noseed,
                scrape,
            } => QueryKind::GetPeers {
                info_hash: id_from(info_hash, None),
                noseed,
                scrape,
            },
            QueryShape::Announce {
                info_hash,
                port,
                implied_port,
                ref token,
                seed,
            } => {
                tok = pick_token(token);
                QueryKind::AnnouncePeer {
                    info_hash: id_from(info_hash, None),
                    port,
                    implied_port,
                    token: &tok,
                    seed,
                }
            }
            QueryShape::Get { target, seq } => QueryKind::Get {
                target: id_from(target, None),
                seq,
            },
            QueryShape::PutImmutable {
                ref value,
                ref token,
            } => {
                tok = pick_token(token);
                let mut v = format!("{}:", value.len()).into_bytes();
                v.extend_from_slice(value);
                value_bytes = v;
                let Ok(value) = RawValue::new(&value_bytes) else {
                    return;
                };
                QueryKind::Put(Put {
                    token: &tok,
                    value,
                    mutable: None,
                })
            }
            QueryShape::Sample { target } => QueryKind::SampleInfohashes {
                target: id_from(target, None),
            },
            QueryShape::Unknown { target } => QueryKind::Unknown {
                method: b"vote",
                target: target.map(|t| id_from(t, None)),
                info_hash: None,
            },
        };
        let want = match shape {
            QueryShape::FindNode { want, .. } => match want % 4 {
                0 => None,
                1 => Some(Families::V4),
                2 => Some(Families::V6),
                _ => Some(Families::BOTH),
            },
            _ => None,
        };
        let msg = Message {
            transaction_id: &tid,
            version: None,
            ip: None,
            read_only,
            body: Body::Query(Query {
                id: id_from(id, None),
                want,
                kind,
            }),
        };
        let mut out = vec![0u8; msg.encoded_len()];
        if msg.encode(&mut out).is_ok() {
            self.deliver(from, &out);
        }
    }

    fn reply(&mut self, pick: u8, id: u8, close: bool, shape: &ReplyShape, seen: Option<u8>) {
        let seen = seen.map(seen_at);
        if self.sent.is_empty() {
            return;
        }
        let (to, tid, method) = self.sent.remove(usize::from(pick) % self.sent.len());
        let own = *self.dht.id();
        let id = id_from(id, close.then_some(&own));
        let mut resp = Response::new(id);
        let (v4, v6, peers): (Vec<NodeV4>, Vec<NodeV6>, Vec<SocketAddr>);
        let item: Vec<u8>;
        let bytes = match shape {
            ReplyShape::Error(code) => {
                let msg = Message {
                    transaction_id: &tid,
                    version: None,
                    ip: seen,
                    read_only: false,
                    body: Body::Error(btdht::krpc::ErrorMessage {
                        code: btdht::krpc::ErrorCode::from_code(i64::from(*code)),
                        message: b"no",
                        // Some name themselves (libtorrent does).
                        id: (code % 2 == 0).then_some(id),
                    }),
                };
                encode(&msg)
            }
            ReplyShape::WrongPort | ReplyShape::Empty => encode(&response(&tid, resp, seen)),
            ReplyShape::Item {
                value,
                mutable,
                token,
            } => {
                let mut v = format!("{}:", value.len().min(1100)).into_bytes();
                v.extend(value.iter().take(1100));
                item = v;
                resp.value = RawValue::new(&item).ok();
                if let Some((key, seq, sig)) = mutable {
                    resp.key = Some(key);
                    resp.seq = Some(*seq);
                    resp.signature = Some(sig);
                }
                resp.token = Some(&token[..]);
                encode(&response(&tid, resp, seen))
            }
            ReplyShape::Nodes {
                nodes,
                token,
                values,
            } => {
                let mut a = Vec::new();
                let mut b = Vec::new();
                for &(node, addr) in nodes.iter().take(16) {
                    let nid = id_from(node, close.then_some(&own));
                    match pool(addr) {
                        SocketAddr::V4(addr) => a.push(NodeV4 { id: nid, addr }),
                        SocketAddr::V6(addr) => b.push(NodeV6 { id: nid, addr }),
                    }
                }
                (v4, v6) = (a, b);
                peers = values
                    .iter()
                    .take(32)
                    .map(|&p| SocketAddr::from(([192, 0, 2, p], 6881)))
                    .collect();
                if !v4.is_empty() {
                    resp.nodes = Some(CompactList::from_items(&v4));
                }
                if !v6.is_empty() {
                    resp.nodes6 = Some(CompactList::from_items(&v6));
                }
                if method == b"get_peers" && !peers.is_empty() {
                    resp.values = Some(Values::from_peers(&peers));
                }
                resp.token = token.as_ref().map(|t| &t[..]);
                encode(&response(&tid, resp, seen))
            }
        };
        let from = match shape {
            ReplyShape::WrongPort => SocketAddr::new(to.ip(), to.port().wrapping_add(1)),
            _ => to,
        };
        self.deliver(from, &bytes);
    }

    fn command(&mut self, c: &Command) {
        let now = self.now();
        let r = match *c {
            Command::Ping(a) => self.dht.ping(now, pool(a)),
            Command::AddNode(a) => {
                let _ = self.dht.add_node(now, pool(a));
                return;
            }
            Command::Bootstrap(ref addrs) => {
                let addrs: Vec<SocketAddr> = addrs.iter().take(8).map(|&a| pool(a)).collect();
                self.dht.bootstrap(now, &addrs)
            }
            Command::FindNode(t) => self.dht.find_node(now, id_from(t, None)),
            Command::GetPeers(t) => self.dht.get_peers(now, id_from(t, None)),
            Command::Announce(t, port, seed) => {
                let port = port.map_or(AnnouncePort::Implied, AnnouncePort::Port);
                self.dht.announce(now, id_from(t, None), port, seed)
            }
            Command::GetImmutable(t) => self
                .dht
                .get_item(now, ItemTarget::Immutable(id_from(t, None))),
            Command::GetMutable(ref key, ref salt) => {
                let salt = &salt[..salt.len().min(80)];
                self.dht.get_item(now, ItemTarget::Mutable { key, salt })
            }
            Command::PutImmutable(ref v) => {
                let mut bytes = format!("{}:", v.len()).into_bytes();
                bytes.extend_from_slice(v);
                match RawValue::new(&bytes) {
                    Ok(value) => self.dht.put_item(now, value, None),
                    Err(_) => return,
                }
            }
            Command::Scrape(t) => self.dht.scrape(now, id_from(t, None)),
            Command::SampleInfohashes(a) => self.dht.sample_infohashes(now, pool(a)),
            Command::WalkSamples { rate, max_nodes } => {
                let mut config = WalkConfig::default();
                config.rate = u32::from(rate);
                config.max_nodes = usize::from(max_nodes);
                self.dht.walk_samples(now, config)
            }
            Command::Cancel(i) => {
                if !self.queries.is_empty() {
                    let q = self.queries[usize::from(i) % self.queries.len()];
                    self.dht.cancel(q);
                }
                return;
            }
            Command::KeepAnnounced(t, port, seed) => {
                let port = port.map_or(AnnouncePort::Implied, AnnouncePort::Port);
                let _ = self.dht.keep_announced(now, id_from(t, None), port, seed);
                return;
            }
            Command::StopAnnouncing(t) => {
                self.dht.stop_announcing(&id_from(t, None));
                return;
            }
            Command::KeepPublished(ref v) | Command::StopPublishing(ref v) => {
                let mut bytes = format!("{}:", v.len()).into_bytes();
                bytes.extend_from_slice(v);
                if let Ok(value) = RawValue::new(&bytes) {
                    if let Command::KeepPublished(_) = c {
                        let _ = self.dht.keep_published(now, value, None);
                    } else {
                        self.dht
                            .stop_publishing(&btdht::store::immutable_target(value));
                    }
                }
                return;
            }
            Command::SetBootstrap(ref addrs) => {
                let addrs: Vec<SocketAddr> = addrs.iter().take(8).map(|&a| pool(a)).collect();
                self.dht.set_bootstrap(now, &addrs);
                return;
            }
            Command::SetExternal(i) => {
                self.dht.set_external_address(now, seen_at(i).ip());
                return;
            }
            Command::SaveRestore(len) => {
                let needed = self.dht.state_len();
                let mut buf = vec![0u8; usize::from(len)];
                match self.dht.save_state(&mut buf) {
                    Ok(n) => {
                        assert_eq!(n, needed, "save_state wrote what state_len said");
                        let seed = [len as u8; 32];
                        let restored = Dht::from_state(self.config.clone(), seed, &buf[..n], now)
                            .expect("a state the node saved restores");
                        assert_eq!(restored.id(), self.dht.id());
                        assert_eq!(
                            restored.state_len(),
                            needed,
                            "a restored node saves the same"
                        );
                        self.dht = restored;
                        self.sent.clear();
                        self.queries.clear();
                    }
                    Err(e) => assert_eq!(
                        e,
                        btdht::node::StateError::BufferTooSmall { needed },
                        "only a short buffer refuses a save"
                    ),
                }
                return;
            }
        };
        if let Ok(q) = r {
            if self.queries.len() < 64 {
                self.queries.push(q);
            }
        }
    }

    fn transmit(&mut self, buf_len: usize) {
        let mut buf = vec![0u8; buf_len];
        for _ in 0..64 {
            let now = self.now();
            let Some(t) = self.dht.poll_transmit(now, &mut buf) else {
                return;
            };
            assert!(
                t.len <= buf_len && t.len <= MAX_DATAGRAM_LEN,
                "{} bytes",
                t.len
            );
            let bytes = &buf[..t.len];
            let msg = Message::decode(bytes).unwrap_or_else(|e| panic!("sent invalid KRPC: {e:?}"));
            match &msg.body {
                Body::Query(q) => {
                    assert_eq!(msg.transaction_id.len(), 4, "queries carry 4-byte ids");
                    assert_eq!(
                        msg.read_only,
                        self.config.mode == Mode::ReadOnly,
                        "ro=1 exactly when read-only"
                    );
                    if self.sent.len() >= 256 {
                        self.sent.remove(0);
                    }
                    self.sent
                        .push((t.to, msg.transaction_id.to_vec(), q.kind.method().to_vec()));
                }
                Body::Response(r) => {
                    assert!(
                        self.config.mode != Mode::ReadOnly,
                        "read-only nodes answer nothing"
                    );
                    self.check_echo(t.to, msg.transaction_id);
                    if let Some(token) = r.token {
                        self.tokens.insert(t.to, token.to_vec());
                    }
                }
                Body::Error(_) => {
                    assert!(
                        self.config.mode != Mode::ReadOnly,
                        "read-only nodes answer nothing"
                    );
                    self.check_echo(t.to, msg.transaction_id);
                }
            }
        }
    }

    /// An answer goes only to a source that sent a datagram holding its transaction id.
    fn check_echo(&self, to: SocketAddr, tid: &[u8]) {
        let seen = self
            .received
            .get(&to)
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(
            seen.iter()
                .any(|d| tid.is_empty() || d.windows(tid.len()).any(|w| w == tid)),
            "an answer to {to} with a transaction id it never sent"
        );
    }

    fn check_caps(&self) {
        let s = self.dht.stats();
        let c = &self.config;
        for (what, held, cap) in [
            ("transactions", s.in_flight, c.max_transactions),
            ("searches", s.searches, c.max_searches),
            ("outgoing", s.queued_outgoing, c.max_outgoing),
            ("events", s.queued_events, c.max_events),
            ("torrents", s.stored_torrents, c.peers.max_torrents),
            ("peers", s.stored_peers, c.peers.max_peers),
            ("items", s.stored_items, c.items.max_items),
            ("kept", self.dht.kept(), c.max_kept),
        ] {
            assert!(held <= cap, "{what}: {held} over the cap {cap}");
        }
        for family in [Family::V4, Family::V6] {
            let Some(table) = self.dht.table(family) else {
                continue;
            };
            assert!(table.bucket_count() <= 160);
            for (live, cached) in table.bucket_sizes() {
                assert!(live <= c.routing.k, "bucket of {live}");
                assert!(cached <= c.routing.replacement_cache, "cache of {cached}");
            }
            let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
            for e in table.iter() {
                *per_ip.entry(e.node().addr.ip()).or_default() += 1;
            }
            assert!(
                per_ip.values().all(|&n| n <= c.routing.max_per_ip),
                "per-IP limit"
            );
        }
    }
}

fn response<'a>(tid: &'a [u8], r: Response<'a>, ip: Option<SocketAddr>) -> Message<'a> {
    Message {
        transaction_id: tid,
        version: None,
        ip,
        read_only: false,
        body: Body::Response(r),
    }
}

fn encode(msg: &Message<'_>) -> Vec<u8> {
    let mut out = vec![0u8; msg.encoded_len()];
    match msg.encode(&mut out) {
        Ok(n) => out.truncate(n),
        Err(_) => out.clear(),
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut u) else {
        return;
    };
    let config = config(&setup);
    let start = Instant::from_millis(0);
    let mut dht = match &setup.state {
        Some(state) => match Dht::from_state(config.clone(), setup.seed, state, start) {
            Ok(dht) => dht,
            Err(_) => Dht::new(config.clone(), setup.seed, start),
        },
        None => Dht::new(config.clone(), setup.seed, start),
    };
    if setup.verifier {
        dht.set_signature_verifier(Box::new(StandIn));
    }
    let mut h = Harness {
        dht,
        config,
        now: 0,
        sent: Vec::new(),
        received: HashMap::new(),
        tokens: HashMap::new(),
        queries: Vec::new(),
    };
    for _ in 0..256 {
        let Ok(step) = Step::arbitrary(&mut u) else {
            break;
        };
        match &step {
            Step::Raw { from, bytes } => h.deliver(pool(*from), bytes),
            Step::Seed { .. } if KRPC_SEEDS.is_empty() => {}
            Step::Seed {
                from,
                which,
                change,
            } => {
                let mut bytes = KRPC_SEEDS[usize::from(*which) % KRPC_SEEDS.len()].to_vec();
                if let Some((at, b)) = change {
                    if !bytes.is_empty() {
                        let at = usize::from(*at) % bytes.len();
                        bytes[at] = *b;
                    }
                }
                h.deliver(pool(*from), &bytes)
            }
            Step::Query {
                from,
                tid,
                id,
                read_only,
                shape,
            } => h.query(pool(*from), tid, *id, *read_only, shape),
            Step::Reply {
                pick,
                id,
                close,
                shape,
                seen,
            } => h.reply(*pick, *id, *close, shape, *seen),
            Step::Advance { ms, minutes } => {
                h.now = h
                    .now
                    .saturating_add(u64::from(*ms))
                    .saturating_add(u64::from(*minutes % 32) * 60_000);
            }
            Step::Timeout => {
                let now = h.now();
                h.dht.handle_timeout(now);
                if let Some(next) = h.dht.poll_timeout() {
                    assert!(
                        next > now,
                        "poll_timeout {next:?} not after handle_timeout({now:?})"
                    );
                }
            }
            Step::Command(c) => h.command(c),
            Step::Transmit { buf } => h.transmit(usize::from(*buf % 1600)),
            Step::Events => while h.dht.poll_event().is_some() {},
        }
        h.check_caps();
    }
});
