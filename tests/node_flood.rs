//! Floods one node with datagrams and checks that it stays within its caps and keeps
//! serving: random bytes, valid queries from spoofed sources (one tenth as many sources
//! as datagrams), announces for as many info-hashes (each after the `get_peers` that
//! hands out its token), and responses with unknown transaction ids, interleaved.
//!
//! The size is `BTDHT_FLOOD_DATAGRAMS` (default 200 000, for CI in a debug build); the
//! robustness figures of docs/ROBUSTNESS.md come from
//! `BTDHT_FLOOD_DATAGRAMS=1000000 cargo test --release --test node_flood -- --nocapture`.
//! One test only: the counting allocator is global to the binary.

mod common;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

use btdht::Id;
use btdht::addr::{Family, LocalAddresses};
use btdht::krpc::{Body, Message};
use btdht::node::{Config, Dht};
use btdht::time::Instant;
use common::counting;
use common::inputs::Rng;
use std::net::SocketAddr;

/// Peers, torrents and items the flooded node may store (smaller than the defaults so
/// the flood fills them).
const MAX_PEERS: usize = 20_000;
const MAX_TORRENTS: usize = 5_000;
const GOOD_NODES: u32 = 60;

/// A generous upper bound on the heap a full node may hold, from its caps: per stored
/// peer and torrent, per queued datagram and event, the table, the rate limiter.
fn budget(c: &Config) -> usize {
    let table = 160 * (c.routing.k + c.routing.replacement_cache) * 128;
    MAX_PEERS * 128
        + MAX_TORRENTS * 256
        + c.items.max_items * 1_300
        + c.max_transactions * 128
        + c.max_outgoing * 256
        + c.max_events * 128
        + c.rate_limit.tracked_ips * 64
        + table
        + (1 << 20)
}

fn good_addr(i: u32) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, i as u8], 6881))
}

fn good_id(i: u32) -> Id {
    Id::from_entropy(&i.to_be_bytes())
}

fn spoofed(i: u64) -> SocketAddr {
    let i = i as u32;
    SocketAddr::from((
        [
            20 + (i >> 24) as u8,
            (i >> 16) as u8,
            (i >> 8) as u8,
            i as u8,
        ],
        6881,
    ))
}

/// A query: `args` are the arguments after `id`, already bencoded and sorted.
fn query(tid: &[u8], id: &Id, args: &[u8], method: &str) -> Vec<u8> {
    let mut q = b"d1:ad2:id20:".to_vec();
    q.extend(id.as_bytes());
    q.extend(args);
    q.extend(format!("e1:q{}:{method}1:t{}:", method.len(), tid.len()).as_bytes());
    q.extend(tid);
    q.extend(b"1:y1:qe");
    q
}

fn ping(tid: &[u8], id: &Id) -> Vec<u8> {
    query(tid, id, b"", "ping")
}

/// Answers every query the node sends to a good node, and returns the answers it sent
/// to `watch` (if any).
fn drain(dht: &mut Dht, now: Instant, watch: Option<SocketAddr>) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 1500];
    let mut seen = Vec::new();
    let mut replies = Vec::new();
    while let Some(t) = dht.poll_transmit(now, &mut buf) {
        let bytes = &buf[..t.len];
        if Some(t.to) == watch {
            seen.push(bytes.to_vec());
        }
        let Ok(msg) = Message::decode(bytes) else {
            panic!("the node sent invalid KRPC");
        };
        if let Body::Query(_) = msg.body {
            if let Some(i) = (1..=GOOD_NODES).find(|&i| good_addr(i) == t.to) {
                let mut r = b"d1:rd2:id20:".to_vec();
                r.extend(good_id(i).as_bytes());
                r.extend(format!("e1:t{}:", msg.transaction_id.len()).as_bytes());
                r.extend(msg.transaction_id);
                r.extend(b"1:y1:re");
                replies.push((t.to, r));
            }
        }
    }
    for (from, r) in replies {
        dht.handle_datagram(now, from, &r);
    }
    while dht.poll_event().is_some() {}
    seen
}

fn token_from(answers: &[Vec<u8>]) -> Option<Vec<u8>> {
    answers.iter().find_map(|a| match Message::decode(a) {
        Ok(Message {
            body: Body::Response(r),
            ..
        }) => r.token.map(<[u8]>::to_vec),
        _ => None,
    })
}

#[test]
fn a_datagram_flood_keeps_memory_within_the_caps_and_the_node_serving_its_good_nodes() {
    let total: u64 = std::env::var("BTDHT_FLOOD_DATAGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let sources = (total / 10).max(1);
    let mut config = Config::default();
    config.routing.local_addresses = LocalAddresses::Allow;
    config.peers.max_peers = MAX_PEERS;
    config.peers.max_torrents = MAX_TORRENTS;
    let budget = budget(&config);
    let mut now_ms = 1_000u64;
    let mut dht = Dht::new(config, [5; 32], Instant::from_millis(now_ms));

    // The good nodes: each pings us and answers our ping, so it is in the table.
    for i in 1..=GOOD_NODES {
        let now = Instant::from_millis(now_ms);
        dht.add_node(now, good_addr(i)).expect("ping a good node");
        drain(&mut dht, now, None);
    }
    let good: Vec<Id> = (1..=GOOD_NODES)
        .map(good_id)
        .filter(|id| dht.table(Family::V4).is_some_and(|t| t.get(id).is_some()))
        .collect();
    assert!(
        good.len() >= 20,
        "only {} good nodes entered the table",
        good.len()
    );

    let base = counting::live();
    counting::reset_peak();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut bytes = [0u8; 300];
    let (mut announced, mut accepted_tokens) = (0u64, 0u64);
    for n in 0..total {
        let now = Instant::from_millis(now_ms);
        match n % 4 {
            // Random bytes, of random length, from random spoofed sources.
            0 => {
                let len = (rng.next() % 300) as usize;
                rng.fill(&mut bytes[..len]);
                dht.handle_datagram(now, spoofed(rng.next() % sources), &bytes[..len]);
            }
            // Valid queries from spoofed sources.
            1 => {
                let from = spoofed(rng.next() % sources);
                let id = Id::from_entropy(&rng.next().to_be_bytes());
                let target = Id::from_entropy(&rng.next().to_be_bytes());
                let mut body = b"9:info_hash20:".to_vec();
                body.extend(target.as_bytes());
                let q = match rng.next() % 3 {
                    0 => ping(b"aa", &id),
                    1 => query(b"ab", &id, &body, "get_peers"),
                    _ => {
                        let mut fb = b"6:target20:".to_vec();
                        fb.extend(target.as_bytes());
                        query(b"ac", &id, &fb, "find_node")
                    }
                };
                dht.handle_datagram(now, from, &q);
            }
            // Announces for ever new info-hashes, each with the token its get_peers
            // got (the get_peers is the datagram before; both count).
            2 => {
                let from = spoofed(n / 4 % sources);
                let info_hash = Id::from_entropy(&(n / 4).to_be_bytes());
                let id = Id::from_entropy(&n.to_le_bytes());
                let mut gp = b"9:info_hash20:".to_vec();
                gp.extend(info_hash.as_bytes());
                dht.handle_datagram(now, from, &query(b"gp", &id, &gp, "get_peers"));
                let answers = drain(&mut dht, now, Some(from));
                let Some(token) = token_from(&answers) else {
                    continue; // rate limited: no answer, no token
                };
                accepted_tokens += 1;
                let mut ann = b"9:info_hash20:".to_vec();
                ann.extend(info_hash.as_bytes());
                ann.extend(
                    format!("4:porti{}e5:token{}:", 1024 + n % 60_000, token.len()).as_bytes(),
                );
                ann.extend(&token);
                dht.handle_datagram(now, from, &query(b"an", &id, &ann, "announce_peer"));
                announced += 1;
            }
            // Responses with unknown transaction ids, some from good nodes' addresses.
            _ => {
                let from = if rng.next() % 8 == 0 {
                    good_addr(1 + (rng.next() % u64::from(GOOD_NODES)) as u32)
                } else {
                    spoofed(rng.next() % sources)
                };
                let mut tid = [0u8; 4];
                rng.fill(&mut tid);
                let mut r = b"d1:rd2:id20:".to_vec();
                r.extend(Id::from_entropy(&rng.next().to_be_bytes()).as_bytes());
                r.extend(b"5:nodes26:");
                let mut node = [0u8; 26];
                rng.fill(&mut node);
                r.extend(node);
                r.extend(b"e1:t4:");
                r.extend(tid);
                r.extend(b"1:y1:re");
                dht.handle_datagram(now, from, &r);
            }
        }
        if n % 64 == 0 {
            drain(&mut dht, now, None);
        }
        if n % 1_000 == 0 {
            // 10 000 datagrams a second of virtual time.
            now_ms += 100;
            dht.handle_timeout(Instant::from_millis(now_ms));
        }
    }
    let now = Instant::from_millis(now_ms);
    drain(&mut dht, now, None);
    let peak = counting::peak().saturating_sub(base);
    let stats = dht.stats();
    println!(
        "flood: {total} datagrams from {sources} sources; {announced} announces ({accepted_tokens} tokens); \
         peak heap above the warm node {peak} bytes (budget {budget}); stored {} peers in {} torrents; \
         rate limited {}, bad {}, unmatched {}, dropped outgoing {}",
        stats.stored_peers,
        stats.stored_torrents,
        stats.rate_limited,
        stats.bad_datagrams,
        stats.unmatched,
        stats.dropped_outgoing
    );
    assert!(
        peak <= budget,
        "peak heap {peak} bytes over the budget {budget}"
    );
    assert!(stats.stored_peers <= MAX_PEERS && stats.stored_torrents <= MAX_TORRENTS);
    assert!(
        announced > total / 8,
        "the announce flood reached the store: {announced}"
    );

    // A good node still gets its ping answered, and every good node is still in the table.
    let from = good_addr(1);
    dht.handle_datagram(now, from, &ping(b"ok", &good_id(1)));
    let answers = drain(&mut dht, now, Some(from));
    let answered = answers.iter().any(|a| {
        matches!(
            Message::decode(a),
            Ok(Message {
                transaction_id: b"ok",
                body: Body::Response(_),
                ..
            })
        )
    });
    assert!(answered, "a legitimate ping after the flood got no answer");
    let table = dht.table(Family::V4).expect("IPv4 table");
    let kept = good.iter().filter(|id| table.get(id).is_some()).count();
    println!(
        "flood: after it, {kept} of {} good nodes in the table",
        good.len()
    );
    assert_eq!(kept, good.len(), "good nodes lost from the table");
}
