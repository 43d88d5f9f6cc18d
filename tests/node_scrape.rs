//! BEP 33 from the client side: `Dht::scrape` merges the `BFsd`/`BFpe` filters of the
//! nodes it asks and reports seed and downloader estimates.

mod common;

use btdht::Id;
use btdht::krpc::{Body, Message, Query, QueryKind};
use btdht::node::{Dht, Event, QueryId};
use btdht::time::Instant;
use common::net::{Net, addr, ask, config};
use std::net::SocketAddr;
use std::time::Duration;

const INFO_HASH: [u8; 20] = [0x33; 20];

fn encode(kind: QueryKind<'_>) -> Vec<u8> {
    let msg = Message {
        transaction_id: b"sc",
        version: None,
        ip: None,
        read_only: false,
        body: Body::Query(Query {
            id: Id::from_bytes([0x42; 20]),
            want: None,
            kind,
        }),
    };
    let mut buf = [0u8; 1500];
    let n = msg.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// Announces the peer at `from` (a seed or not) to `dht`, with a token fetched first.
fn announce(dht: &mut Dht, now: Instant, from: SocketAddr, seed: bool) {
    let info_hash = Id::from_bytes(INFO_HASH);
    let gp = encode(QueryKind::GetPeers {
        info_hash,
        noseed: false,
        scrape: false,
    });
    let out = ask(dht, now, from, &gp);
    let Body::Response(r) = Message::decode(&out[0]).unwrap().body else {
        panic!("get_peers not answered")
    };
    let token = r.token.unwrap().to_vec();
    let ann = encode(QueryKind::AnnouncePeer {
        info_hash,
        port: 6881,
        implied_port: false,
        token: &token,
        seed,
    });
    let out = ask(dht, now, from, &ann);
    assert!(matches!(
        Message::decode(&out[0]).unwrap().body,
        Body::Response(_)
    ));
}

fn peer(i: u32) -> SocketAddr {
    SocketAddr::from((std::net::Ipv4Addr::from(0x0a14_0000 + i), 51413))
}

fn scraped(net: &Net, node: usize, q: QueryId) -> (u32, u32, usize) {
    net.events[node]
        .iter()
        .find_map(|e| match e {
            Event::Scraped {
                query,
                seeds,
                peers,
                responses,
                ..
            } if *query == q => Some((*seeds, *peers, *responses)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Scraped event: {:?}", net.events[node]))
}

fn bootstrapped(n: usize) -> Net {
    let mut net = Net::new(n, |_| config());
    let now = net.now;
    for i in 1..n {
        net.dht(i).bootstrap(now, &[addr(0)]).unwrap();
        net.run(Duration::from_millis(200));
    }
    net.run(Duration::from_secs(10));
    net
}

#[test]
fn a_scrape_merges_the_filters_of_the_nodes_it_asks_into_seed_and_peer_estimates() {
    let mut net = bootstrapped(4);
    let now = net.now;
    // Node 1 knows seeds 0..6 and downloaders 100..120; node 2 seeds 6..12 and
    // downloaders 110..130: the union is 12 seeds and 30 downloaders.
    for i in 0..6 {
        announce(net.dht(1), now, peer(i), true);
        announce(net.dht(2), now, peer(i + 6), true);
    }
    for i in 100..120 {
        announce(net.dht(1), now, peer(i), false);
        announce(net.dht(2), now, peer(i + 10), false);
    }
    let q = net.dht(3).scrape(now, Id::from_bytes(INFO_HASH)).unwrap();
    net.run(Duration::from_secs(10));
    let (seeds, peers, responses) = scraped(&net, 3, q);
    assert_eq!(responses, 2, "node 0 holds nothing and sends no filters");
    assert!(seeds.abs_diff(12) <= 1, "seeds {seeds}");
    assert!(peers.abs_diff(30) <= 1, "peers {peers}");
    let filters = net.dht(3).query(q).unwrap().scrape().unwrap().clone();
    assert!(filters.seeds.contains(peer(11).ip()) && filters.peers.contains(peer(129).ip()));
}

#[test]
fn a_scrape_counts_the_nodes_own_store_and_reports_zero_when_nothing_is_known() {
    let mut net = bootstrapped(3);
    let now = net.now;
    let q = net.dht(1).scrape(now, Id::from_bytes(INFO_HASH)).unwrap();
    net.run(Duration::from_secs(10));
    assert_eq!(
        scraped(&net, 1, q),
        (0, 0, 0),
        "empty filters estimate 0, not 0.5"
    );

    let now = net.now;
    for i in 0..3 {
        announce(net.dht(1), now, peer(i), true);
    }
    let q = net.dht(1).scrape(now, Id::from_bytes(INFO_HASH)).unwrap();
    net.run(Duration::from_secs(10));
    assert_eq!(scraped(&net, 1, q), (3, 0, 1));
}

#[test]
fn scrape_queries_ask_get_peers_with_scrape_set() {
    let mut buf = [0u8; 1500];
    let mut net = bootstrapped(2);
    let now = net.now;
    net.dht(1).scrape(now, Id::from_bytes(INFO_HASH)).unwrap();
    let t = net.dht(1).poll_transmit(now, &mut buf).unwrap();
    let m = Message::decode(&buf[..t.len]).unwrap();
    assert!(
        matches!(
            m.body,
            Body::Query(Query {
                kind: QueryKind::GetPeers {
                    scrape: true,
                    noseed: false,
                    ..
                },
                ..
            })
        ),
        "{m:?}"
    );
}

#[test]
fn peers_from_a_node_without_bep33_count_as_downloaders_unless_a_seed_filter_has_them() {
    use btdht::krpc::{CompactList, NodeV4, Response, Values};
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let now = Instant::from_millis(1);
    // This node's own store: peer(1) is a seed.
    announce(&mut dht, now, peer(1), true);
    // Its only contact answers like a node from before BEP 33: values, no filters.
    let legacy = addr(1);
    dht.bootstrap(now, &[legacy]).unwrap();
    let respond = |dht: &mut Dht, values: &[SocketAddr]| {
        let mut buf = [0u8; 1500];
        let mut queries = Vec::new();
        while let Some(t) = dht.poll_transmit(now, &mut buf) {
            if t.to == legacy {
                queries.push(buf[..t.len].to_vec());
            }
        }
        for q in &queries {
            let m = Message::decode(q).unwrap();
            let mut r = Response::new(Id::from_bytes([0xee; 20]));
            const NONE: &[NodeV4] = &[];
            r.nodes = Some(CompactList::from_items(NONE));
            r.token = Some(b"tk");
            r.values = Some(Values::from_peers(values));
            let reply = Message {
                transaction_id: m.transaction_id,
                version: None,
                ip: None,
                read_only: false,
                body: Body::Response(r),
            };
            let mut out = [0u8; 1500];
            let n = reply.encode(&mut out).unwrap();
            dht.handle_datagram(now, legacy, &out[..n]);
        }
        queries.len()
    };
    respond(&mut dht, &[]);
    assert_eq!(dht.stats().nodes(), 1);
    let q = dht.scrape(now, Id::from_bytes(INFO_HASH)).unwrap();
    assert_eq!(respond(&mut dht, &[peer(1), peer(2), peer(3)]), 1);
    let done = std::iter::from_fn(|| dht.poll_event()).find_map(|e| match e {
        Event::Scraped {
            query,
            seeds,
            peers,
            responses,
            ..
        } if query == q => Some((seeds, peers, responses)),
        _ => None,
    });
    // peer(1) is the seed of the own filter; peer(2) and peer(3) are downloaders.
    assert_eq!(done, Some((1, 2, 1)));
}
