//! `Config::small()` keeps its promise: a node built with it joins an in-memory network,
//! serves a flood of every kind of query from thousands of sources, runs lookups,
//! announces, puts and gets of its own, and lives through hours of virtual time (token
//! rotations, peer and item expiry, bucket refreshes, re-announces) with its heap never
//! above 64 KiB. The same run with `Config::default()` goes far above: the test can fail.
//!
//! # Measuring one node among many
//!
//! Everything runs on the test's thread: the node under test, the other nodes of the
//! network, the flood's sources and the wire. Every call into the node under test, and
//! nothing else, runs inside [`Meter::run`], which reads the thread's counters of
//! allocated-minus-freed bytes (`common::counting::thread_live`, `thread_peak`) around
//! the call. The node's heap is the sum of its calls' net changes; its peak, the largest
//! "heap before the call + the call's own peak" over all calls. So the rest of the
//! network, the encoding of the flood and the queues of the wire, which run between the
//! node's calls, never count, and neither do the harness's other threads.
//!
//! Two rules keep the sum exact. Nothing the node holds is allocated outside its calls:
//! it is built inside one. And no heap memory leaves a call: a measured call returns only
//! `Copy` values (`Meter::run` demands it), so events are read and dropped inside the
//! call that polls them. The `Dht` value itself (`size_of::<Dht>()`, reported) lives on
//! the stack and is not heap; a caller that boxes it adds that much.
//!
//! The run's length is `BTDHT_SMALL_HEAP_HOURS` hours of virtual time (default 3: past
//! BEP 44's 2-hour item expiry). One test only: the figures would mix otherwise.

mod common;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

use btdht::Id;
use btdht::addr::{Family, LocalAddresses};
use btdht::bencode::RawValue;
use btdht::krpc::{Body, Message, Put, Query, QueryKind};
use btdht::node::{AnnouncePort, Config, Dht, Event, ItemTarget, QueryId};
use btdht::time::Instant;
use common::counting;
use common::inputs::Rng;
use common::net::{self, Net, addr};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The promise of `Config::small()`.
const BUDGET: usize = 64 * 1024;
/// Other nodes in the network.
const NET: usize = 24;
/// Flood sources: addresses that send queries and read the answers.
const SOURCES: u32 = 1024;
/// One source in this many answers the node's queries (so some enter its table).
const ANSWERING: u32 = 4;
/// The flood comes in bursts of `FLOOD` queries every `TICK`: 32 a second.
const TICK: Duration = Duration::from_millis(250);
const FLOOD: usize = 8;
/// The node under test runs a command this often.
const COMMAND_EVERY: Duration = Duration::from_secs(60);
/// Info-hashes and item sizes the flood draws from.
const POOL: u64 = 64;
/// The info-hash a node of the network keeps announced; the node under test looks it up.
const NET_INFO_HASH: Id = Id::from_bytes([0x5a; 20]);
const NET_ANNOUNCER: usize = 5;
const NET_PORT: u16 = 7005;

fn t_addr() -> SocketAddr {
    SocketAddr::from(([127, 1, 0, 1], 6881))
}

fn source(i: u32) -> SocketAddr {
    SocketAddr::from((
        [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        1024 + (i % 50_000) as u16,
    ))
}

fn source_index(a: &SocketAddr) -> Option<u32> {
    match a.ip() {
        IpAddr::V4(ip) if ip.octets()[0] == 10 => {
            let [_, a, b, c] = ip.octets();
            Some(u32::from_be_bytes([0, a, b, c]))
        }
        _ => None,
    }
}

fn source_id(i: u32) -> Id {
    Id::from_entropy(&i.to_be_bytes())
}

fn pool_hash(n: u64) -> Id {
    Id::from_entropy(&(n % POOL).to_le_bytes())
}

fn encode(tid: &[u8], id: Id, kind: QueryKind<'_>) -> Vec<u8> {
    let m = Message {
        transaction_id: tid,
        version: None,
        ip: None,
        read_only: false,
        body: Body::Query(Query {
            id,
            want: None,
            kind,
        }),
    };
    let mut buf = vec![0u8; 1500];
    let n = m.encode(&mut buf).expect("a query fits 1500 bytes");
    buf.truncate(n);
    buf
}

/// An answer carrying only `id`, to any query.
fn bare_answer(tid: &[u8], id: &Id) -> Vec<u8> {
    let mut r = b"d1:rd2:id20:".to_vec();
    r.extend(id.as_bytes());
    r.extend(format!("e1:t{}:", tid.len()).as_bytes());
    r.extend(tid);
    r.extend(b"1:y1:re");
    r
}

/// Measures the heap of the calls it runs (see the module doc).
#[derive(Default)]
struct Meter {
    /// Bytes the measured calls allocated and have not freed.
    held: isize,
    /// The most `held` has been, inside a call included.
    peak: isize,
}

impl Meter {
    /// Runs one call into the node under test. `R: Copy`: no heap memory can leave it.
    fn run<R: Copy>(&mut self, f: impl FnOnce() -> R) -> R {
        let start = counting::thread_live();
        counting::reset_thread_peak();
        let r = f();
        self.peak = self.peak.max(self.held + counting::thread_peak() - start);
        self.held += counting::thread_live() - start;
        r
    }
}

/// What the node under test reported, read inside its calls (no heap).
#[derive(Clone, Copy, Default, Debug)]
struct Tally {
    found_net_peer: u32,
    peers: u32,
    lookups: u32,
    announces_accepted: usize,
    announces: u32,
    puts_stored: usize,
    items_found: u32,
    samples: u32,
    scrapes: u32,
    bootstrapped: u32,
    others: u32,
}

impl Tally {
    fn note(&mut self, e: &Event) {
        match e {
            Event::Peer {
                info_hash, peer, ..
            } => {
                self.peers += 1;
                if *info_hash == NET_INFO_HASH
                    && *peer == SocketAddr::new(addr(NET_ANNOUNCER).ip(), NET_PORT)
                {
                    self.found_net_peer += 1;
                }
            }
            Event::LookupDone { .. } => self.lookups += 1,
            Event::Announced { accepted, .. } => {
                self.announces += 1;
                self.announces_accepted += accepted;
            }
            Event::ItemPut { stored, .. } => self.puts_stored += stored,
            Event::Item { .. } => self.items_found += 1,
            Event::Samples { .. } => self.samples += 1,
            Event::Scraped { .. } => self.scrapes += 1,
            Event::Bootstrapped { .. } => self.bootstrapped += 1,
            _ => self.others += 1,
        }
    }
}

/// The largest the node's stores and queues got, read inside its calls.
#[derive(Clone, Copy, Default, Debug)]
struct Highs {
    nodes: usize,
    peers: usize,
    torrents: usize,
    items: usize,
    in_flight: usize,
    searches: usize,
}

/// The node under test, the network around it and the flood's sources.
struct Run {
    meter: Meter,
    dht: Option<Dht>,
    net: Net,
    now: Instant,
    wire: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// The latest token each source got from the node, per target.
    tokens: HashMap<(IpAddr, Id), Vec<u8>>,
    /// The source and target of each query sent for a token, by transaction id.
    asked: HashMap<[u8; 4], (IpAddr, Id)>,
    next_tid: u32,
    rng: Rng,
    tally: Tally,
    highs: Highs,
    sent: u64,
    command_errors: u32,
    mutable: Mutable,
    item_target: Option<Id>,
}

impl Run {
    fn new(config: Config) -> Run {
        // The network first, outside any measurement: the node under test does not exist.
        let mut net = Net::new(NET, |_| net::config());
        let now = net.now;
        for i in 1..NET {
            net.dht(i).bootstrap(now, &[addr(0)]).expect("bootstrap");
        }
        net.run(Duration::from_secs(30));
        let now = net.now;
        net.dht(NET_ANNOUNCER)
            .keep_announced(now, NET_INFO_HASH, AnnouncePort::Port(NET_PORT), false)
            .expect("keep announced");
        net.run(Duration::from_secs(10));
        for e in &mut net.events {
            e.clear();
        }
        let now = net.now;
        let mut run = Run {
            meter: Meter::default(),
            dht: None,
            net,
            now,
            wire: VecDeque::new(),
            tokens: HashMap::new(),
            asked: HashMap::new(),
            next_tid: 0,
            rng: Rng(0x2545_f491_4f6c_dd1d),
            tally: Tally::default(),
            highs: Highs::default(),
            sent: 0,
            command_errors: 0,
            mutable: Mutable::new(),
            item_target: None,
        };
        // The node under test, built inside a measured call: all it holds counts.
        let slot = &mut run.dht;
        run.meter.run(|| {
            let dht = slot.insert(Dht::new(config, [0x77; 32], now));
            // Mutable puts are checked (and stored) with the ed25519 feature only.
            #[cfg(feature = "ed25519")]
            dht.set_signature_verifier(Box::new(btdht::store::Ed25519Verifier));
            #[cfg(not(feature = "ed25519"))]
            let _ = dht;
        });
        run
    }

    fn dht(&mut self) -> (&mut Meter, &mut Dht) {
        (&mut self.meter, self.dht.as_mut().expect("the node"))
    }

    /// Runs a command of the node under test.
    fn command(
        &mut self,
        f: impl FnOnce(&mut Dht, Instant) -> Result<QueryId, btdht::node::CommandError>,
    ) {
        let now = self.now;
        let (meter, dht) = self.dht();
        if meter.run(|| f(dht, now)).is_err() {
            self.command_errors += 1;
        }
    }

    /// The node's own work: one command per `COMMAND_EVERY`, in turn.
    fn commands(&mut self, step: u64) {
        let now = self.now;
        match step % 8 {
            0 => self.command(|d, now| d.get_peers(now, NET_INFO_HASH)),
            1 => {
                let ih = pool_hash(self.rng.next());
                self.command(|d, now| d.announce(now, ih, AnnouncePort::Port(6881), false));
            }
            2 => {
                let target = Id::from_entropy(&self.rng.next().to_le_bytes());
                self.command(|d, now| d.find_node(now, target));
            }
            3 => {
                let value = item_value(step, 400);
                let (meter, dht) = self.dht();
                let target = btdht::store::immutable_target(RawValue::new(&value).unwrap());
                if meter
                    .run(|| dht.put_item(now, RawValue::new(&value).unwrap(), None))
                    .is_err()
                {
                    self.command_errors += 1;
                }
                self.item_target = Some(target);
            }
            4 => {
                if let Some(target) = self.item_target {
                    self.command(|d, now| d.get_item(now, ItemTarget::Immutable(target)));
                }
            }
            5 => {
                let to = addr(1 + (step as usize / 8) % (NET - 1));
                self.command(|d, now| d.sample_infohashes(now, to));
            }
            6 => self.command(|d, now| d.scrape(now, NET_INFO_HASH)),
            _ => {
                let ih = pool_hash(self.rng.next());
                self.command(|d, now| d.get_peers(now, ih));
            }
        }
    }

    /// Standing work kept for the whole run: an announce and a published item.
    fn keep(&mut self) {
        let now = self.now;
        let value = item_value(u64::MAX, 300);
        let (meter, dht) = self.dht();
        let ok = meter.run(|| {
            dht.keep_announced(
                now,
                Id::from_bytes([0x7e; 20]),
                AnnouncePort::Port(6881),
                true,
            )
            .is_ok()
                && dht
                    .keep_published(now, RawValue::new(&value).unwrap(), None)
                    .is_ok()
        });
        assert!(ok, "standing work refused");
    }

    /// One burst of the flood: queries of every kind from random sources. A source
    /// announces its own info-hash and puts its own item, each with the token the node
    /// gave it for that target (asked for first when it has none).
    fn flood(&mut self) {
        for _ in 0..FLOOD {
            let i = (self.rng.next() % u64::from(SOURCES)) as u32;
            let from = source(i);
            let id = source_id(i);
            let r = self.rng.next();
            self.next_tid = self.next_tid.wrapping_add(1);
            let tid = self.next_tid.to_be_bytes();
            let random = Id::from_entropy(&r.to_be_bytes());
            let own_hash = pool_hash(u64::from(i));
            let own_value = item_value(u64::from(i), 1000);
            let own_value = RawValue::new(&own_value).unwrap();
            let q = match (r >> 8) % 16 {
                0 | 1 => encode(&tid, id, QueryKind::Ping),
                2 | 3 => encode(&tid, id, QueryKind::FindNode { target: random }),
                4 | 5 => encode(
                    &tid,
                    id,
                    QueryKind::GetPeers {
                        info_hash: pool_hash(r >> 16),
                        noseed: r & 1 == 0,
                        scrape: r & 2 == 0,
                    },
                ),
                6..=8 => match self.tokens.get(&(from.ip(), own_hash)) {
                    Some(token) => encode(
                        &tid,
                        id,
                        QueryKind::AnnouncePeer {
                            info_hash: own_hash,
                            port: 1024 + (r >> 32) as u16 % 60_000,
                            implied_port: r & 4 == 0,
                            token,
                            seed: r & 8 == 0,
                        },
                    ),
                    None => {
                        self.asked.insert(tid, (from.ip(), own_hash));
                        let info_hash = own_hash;
                        let (noseed, scrape) = (false, false);
                        encode(
                            &tid,
                            id,
                            QueryKind::GetPeers {
                                info_hash,
                                noseed,
                                scrape,
                            },
                        )
                    }
                },
                9 | 10 => {
                    let target = if r & 1 == 0 {
                        random
                    } else {
                        btdht::store::immutable_target(own_value)
                    };
                    encode(&tid, id, QueryKind::Get { target, seq: None })
                }
                11..=13 => {
                    let mutable = self.mutable.next(self.now);
                    let target = match &mutable {
                        Some(m) => m.target(),
                        None => btdht::store::immutable_target(own_value),
                    };
                    match (self.tokens.get(&(from.ip(), target)), mutable) {
                        (Some(token), Some(m)) => encode(&tid, id, m.put(token)),
                        (Some(token), None) => {
                            let put = Put {
                                token,
                                value: own_value,
                                mutable: None,
                            };
                            encode(&tid, id, QueryKind::Put(put))
                        }
                        (None, m) => {
                            if m.is_some() {
                                self.mutable.again();
                            }
                            self.asked.insert(tid, (from.ip(), target));
                            encode(&tid, id, QueryKind::Get { target, seq: None })
                        }
                    }
                }
                14 => encode(&tid, id, QueryKind::SampleInfohashes { target: random }),
                _ => {
                    // Junk: random bytes, sometimes a query's start.
                    let mut junk = vec![0u8; (r % 200) as usize];
                    self.rng.fill(&mut junk);
                    if r & 1 == 0 {
                        junk.splice(0..0, b"d1:ad2:id20:".iter().copied());
                    }
                    junk
                }
            };
            self.sent += 1;
            let now = self.now;
            let (meter, dht) = self.dht();
            meter.run(|| dht.handle_datagram(now, from, &q));
        }
    }

    /// A datagram the node under test sent: to a node of the network, or to a source
    /// (which reads its token, and answers its queries if it is an answering one).
    fn sent_by_node(&mut self, to: SocketAddr, bytes: &[u8]) {
        let Some(i) = source_index(&to) else {
            self.wire.push_back((t_addr(), to, bytes.to_vec()));
            return;
        };
        let msg = Message::decode(bytes).expect("the node sends valid KRPC");
        match msg.body {
            Body::Response(r) => {
                let asked = <[u8; 4]>::try_from(msg.transaction_id)
                    .ok()
                    .and_then(|tid| self.asked.remove(&tid));
                if let (Some(token), Some(key)) = (r.token, asked) {
                    self.tokens.insert(key, token.to_vec());
                }
            }
            Body::Query(_) if i % ANSWERING == 0 => {
                let answer = bare_answer(msg.transaction_id, &source_id(i));
                self.wire.push_back((to, t_addr(), answer));
            }
            _ => {}
        }
    }

    /// One round: every node sends, the wire delivers, events are read, timers run.
    /// Returns whether anything was delivered.
    fn round(&mut self) -> bool {
        let now = self.now;
        let mut buf = [0u8; 1500];
        loop {
            let (meter, dht) = self.dht();
            let Some(t) = meter.run(|| dht.poll_transmit(now, &mut buf)) else {
                break;
            };
            self.sent_by_node(t.to, &buf[..t.len]);
        }
        for (from, dht) in &mut self.net.nodes {
            while let Some(t) = dht.poll_transmit(now, &mut buf) {
                self.wire.push_back((*from, t.to, buf[..t.len].to_vec()));
            }
        }
        let delivered = !self.wire.is_empty();
        while let Some((from, to, bytes)) = self.wire.pop_front() {
            if to == t_addr() {
                let (meter, dht) = self.dht();
                meter.run(|| dht.handle_datagram(now, from, &bytes));
            } else if let Some(i) = self.net.index(to) {
                self.net.nodes[i].1.handle_datagram(now, from, &bytes);
            }
        }
        let (meter, dht) = self.dht();
        let (tally, highs) = meter.run(|| {
            let mut tally = Tally::default();
            while let Some(e) = dht.poll_event() {
                tally.note(&e);
            }
            let s = dht.stats();
            let highs = Highs {
                nodes: s.nodes(),
                peers: s.stored_peers,
                torrents: s.stored_torrents,
                items: s.stored_items,
                in_flight: s.in_flight,
                searches: s.searches,
            };
            (tally, highs)
        });
        self.add(tally, highs);
        for (_, dht) in &mut self.net.nodes {
            while dht.poll_event().is_some() {}
        }
        delivered
    }

    fn add(&mut self, t: Tally, h: Highs) {
        let s = &mut self.tally;
        s.found_net_peer += t.found_net_peer;
        s.peers += t.peers;
        s.lookups += t.lookups;
        s.announces_accepted += t.announces_accepted;
        s.announces += t.announces;
        s.puts_stored += t.puts_stored;
        s.items_found += t.items_found;
        s.samples += t.samples;
        s.scrapes += t.scrapes;
        s.bootstrapped += t.bootstrapped;
        s.others += t.others;
        let m = &mut self.highs;
        m.nodes = m.nodes.max(h.nodes);
        m.peers = m.peers.max(h.peers);
        m.torrents = m.torrents.max(h.torrents);
        m.items = m.items.max(h.items);
        m.in_flight = m.in_flight.max(h.in_flight);
        m.searches = m.searches.max(h.searches);
    }

    /// Runs for `length` of virtual time.
    fn run(&mut self, length: Duration) {
        let end = self.now + length;
        let (mut next_tick, mut next_command, mut step) = (self.now, self.now, 0u64);
        {
            let now = self.now;
            let (meter, dht) = self.dht();
            let r = meter.run(|| dht.bootstrap(now, &[addr(0)]).is_ok());
            assert!(r, "bootstrap refused");
        }
        self.keep();
        while self.now < end {
            if self.now >= next_tick {
                self.flood();
                next_tick = self.now + TICK;
            }
            if self.now >= next_command {
                self.commands(step);
                step += 1;
                next_command = self.now + COMMAND_EVERY;
            }
            let delivered = self.round();
            let next = if delivered {
                self.now + Duration::from_millis(10)
            } else {
                let (meter, dht) = self.dht();
                let own = meter.run(|| dht.poll_timeout());
                let others = self.net.nodes.iter().filter_map(|(_, d)| d.poll_timeout());
                others
                    .chain(own)
                    .chain([next_tick, next_command])
                    .min()
                    .unwrap_or(end)
                    .max(self.now + Duration::from_millis(1))
            };
            self.now = next.min(end);
            let now = self.now;
            for (_, dht) in &mut self.net.nodes {
                dht.handle_timeout(now);
            }
            let (meter, dht) = self.dht();
            meter.run(|| dht.handle_timeout(now));
        }
    }
}

/// A bencoded string value of up to `max` bytes in all, drawn from `n`.
fn item_value(n: u64, max: usize) -> Vec<u8> {
    let len = 1 + (n as usize) % (max - 4);
    let mut v = format!("{len}:").into_bytes();
    v.extend((0..len).map(|i| b'a' + ((n as usize).wrapping_add(i) % 26) as u8));
    v
}

/// BEP 44 mutable puts (with the `ed25519` feature; none without), signed ahead
/// (signing is slow in a debug build) and sent at most once every 30 s of virtual time.
struct Mutable {
    signed: Vec<Signed>,
    next: usize,
    due: Instant,
}

/// A signed mutable item, no salt.
struct Signed {
    key: [u8; 32],
    signature: [u8; 64],
    seq: i64,
    value: Vec<u8>,
}

impl Signed {
    fn target(&self) -> Id {
        btdht::store::mutable_target(&self.key, b"")
    }

    fn put<'t>(&'t self, token: &'t [u8]) -> QueryKind<'t> {
        QueryKind::Put(Put {
            token,
            value: RawValue::new(&self.value).unwrap(),
            mutable: Some(btdht::krpc::MutablePut {
                key: &self.key,
                signature: &self.signature,
                seq: self.seq,
                salt: None,
                cas: None,
            }),
        })
    }
}

impl Mutable {
    fn new() -> Mutable {
        #[allow(unused_mut)]
        let mut signed = Vec::new();
        // Four keys, each with rising seqs: each put replaces the one before it.
        #[cfg(feature = "ed25519")]
        for key in 0..4u8 {
            use btdht::store::{Ed25519Signer, SignatureSigner, sign_item};
            let signer = Ed25519Signer::from_secret_key(&[key + 1; 32]);
            for seq in 1..=24i64 {
                let value = item_value(seq as u64 * 37, 200);
                let signature =
                    sign_item(&signer, b"", seq, RawValue::new(&value).unwrap()).unwrap();
                signed.push(Signed {
                    key: signer.public_key(),
                    signature,
                    seq,
                    value,
                });
            }
        }
        Mutable {
            signed,
            next: 0,
            due: Instant::from_millis(0),
        }
    }

    /// The last one was not sent (no token yet): it comes next again.
    fn again(&mut self) {
        self.next = self.next.saturating_sub(1);
        self.due = Instant::from_millis(0);
    }

    fn next(&mut self, now: Instant) -> Option<&Signed> {
        if now < self.due || self.signed.is_empty() {
            return None;
        }
        self.due = now + Duration::from_secs(30);
        self.next += 1;
        self.signed.get((self.next - 1) % self.signed.len())
    }
}

fn hours() -> Duration {
    let hours: u64 = std::env::var("BTDHT_SMALL_HEAP_HOURS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(hours * 3600)
}

/// Runs the scenario with `config` (local addresses allowed: the network is on
/// loopback) for `length` and returns the node's peak heap.
fn scenario(name: &str, mut config: Config, length: Duration) -> (usize, Run) {
    config.routing.local_addresses = LocalAddresses::Allow;
    let mut run = Run::new(config);
    run.run(length);
    let peak = usize::try_from(run.meter.peak).unwrap_or(0);
    let (meter, dht) = run.dht();
    let (stats, table) = meter.run(|| (dht.stats(), dht.table(Family::V4).map(|t| t.len())));
    println!(
        "{name}: peak heap {peak} bytes ({:.1} KiB), held at the end {} bytes; Dht value {} bytes; \
         {} flood datagrams; served {:?}; rate limited {}; tally {:?}; highs {:?}; table {:?}; \
         command errors {}; timeouts {}, transactions full {}, dropped outgoing {}, dropped events {}",
        peak as f64 / 1024.0,
        run.meter.held,
        core::mem::size_of::<Dht>(),
        run.sent,
        stats.served,
        stats.rate_limited,
        run.tally,
        run.highs,
        table,
        run.command_errors,
        stats.timeouts,
        stats.transactions_full,
        stats.dropped_outgoing,
        stats.dropped_events,
    );
    // The check on the method: dropping the node frees exactly what its calls were
    // counted for (nothing of the harness was counted, nothing of the node missed).
    let slot = &mut run.dht;
    run.meter.run(|| drop(slot.take()));
    assert_eq!(
        run.meter.held, 0,
        "{name}: the bytes counted to the node are not the node's"
    );
    (peak, run)
}

#[test]
fn a_small_config_node_serving_and_searching_for_hours_stays_within_64_kib() {
    let (peak, run) = scenario("Config::small()", Config::small(), hours());
    let t = run.tally;
    assert!(t.bootstrapped >= 1, "the node never bootstrapped: {t:?}");
    assert!(
        t.found_net_peer >= 1,
        "the node's lookups never found the network's announced peer: {t:?}"
    );
    assert!(
        t.announces_accepted >= 1,
        "no announce of the node was accepted: {t:?}"
    );
    assert!(t.puts_stored >= 1, "no put of the node was stored: {t:?}");
    assert!(t.items_found >= 1, "the node's gets found no item: {t:?}");
    assert!(t.samples >= 1, "no sample_infohashes answered: {t:?}");
    let h = run.highs;
    assert!(
        h.peers >= 1 && h.items >= 1 && h.nodes >= 8,
        "the node served and stored little: {h:?}"
    );
    assert!(
        peak <= BUDGET,
        "Config::small(): peak heap {peak} bytes over the {BUDGET}-byte budget"
    );

    // The same run, one hour of it, with the default config: far over the budget, so
    // the measurement above can fail.
    let (default_peak, _) = scenario(
        "Config::default()",
        Config::default(),
        Duration::from_secs(3600),
    );
    assert!(
        default_peak > BUDGET,
        "Config::default() stayed within {BUDGET} bytes ({default_peak}): the run does not load the node"
    );
}
