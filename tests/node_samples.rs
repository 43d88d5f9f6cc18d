//! BEP 51 from the client side: `sample_infohashes` to one node, and the paced walk that
//! asks every node it learns of.

mod common;

use btdht::Id;
use btdht::node::{AnnouncePort, Config, Event, QueryId, WalkConfig};
use common::net::{Net, addr, config};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

fn bootstrapped(n: usize, cfg: impl Fn(usize) -> Config) -> Net {
    let mut net = Net::new(n, cfg);
    let now = net.now;
    for i in 1..n {
        net.dht(i).bootstrap(now, &[addr(0)]).unwrap();
        net.run(Duration::from_millis(200));
    }
    net.run(Duration::from_secs(10));
    net
}

/// Every node announces `per_node` info-hashes of its own.
fn announce_all(net: &mut Net, per_node: u8) {
    let n = net.nodes.len();
    for i in 0..n {
        for j in 0..per_node {
            let now = net.now;
            let ih = Id::sha1(&[i as u8, j]);
            net.dht(i)
                .announce(now, ih, AnnouncePort::Port(6881), false)
                .unwrap();
        }
        net.run(Duration::from_secs(2));
    }
}

fn samples_of(net: &Net, node: usize, q: QueryId) -> Vec<(SocketAddr, u64, Vec<Id>)> {
    net.events[node]
        .iter()
        .filter_map(|e| match e {
            Event::Samples {
                query,
                node,
                num,
                samples,
                ..
            } if *query == q => Some((node.addr, *num, samples.clone())),
            _ => None,
        })
        .collect()
}

fn walk_done(net: &Net, node: usize, q: QueryId) -> (usize, usize, u64, Duration) {
    net.events[node]
        .iter()
        .find_map(|e| match e {
            Event::WalkDone {
                query,
                asked,
                answered,
                samples,
                elapsed,
            } if *query == q => Some((*asked, *answered, *samples, *elapsed)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no WalkDone: {:?}", net.events[node]))
}

#[test]
fn sample_infohashes_to_one_node_reports_its_samples_and_num() {
    let mut net = bootstrapped(6, |_| config());
    announce_all(&mut net, 3);
    let now = net.now;
    let q = net.dht(5).sample_infohashes(now, addr(2)).unwrap();
    net.run(Duration::from_secs(5));
    let answers = samples_of(&net, 5, q);
    assert_eq!(answers.len(), 1);
    let (from, num, samples) = &answers[0];
    assert_eq!(*from, addr(2));
    let stored = net.dht(2).peer_store().len() as u64;
    assert!(stored > 0);
    assert_eq!(*num, stored, "num is the node's info-hash count");
    assert_eq!(samples.len() as u64, stored.min(20));
    assert_eq!(walk_done(&net, 5, q).0, 1);
}

#[test]
fn a_query_to_a_silent_address_ends_the_walk_with_no_answer() {
    let mut net = bootstrapped(2, |_| config());
    let now = net.now;
    let q = net.dht(1).sample_infohashes(now, addr(77)).unwrap();
    net.run(Duration::from_secs(10));
    let (asked, answered, samples, _) = walk_done(&net, 1, q);
    assert_eq!((asked, answered, samples), (1, 0, 0));
}

#[test]
fn a_walk_asks_every_node_once_and_collects_every_stored_info_hash() {
    let n = 30;
    let mut net = bootstrapped(n, |_| config());
    announce_all(&mut net, 2);
    let stored: HashSet<Id> = (0..n)
        .flat_map(|i| {
            let now = net.now;
            net.nodes[i]
                .1
                .peer_store()
                .info_hashes(now)
                .collect::<Vec<_>>()
        })
        .collect();
    let now = net.now;
    let mut walk = WalkConfig::default();
    walk.rate = 50;
    let q = net.dht(7).walk_samples(now, walk).unwrap();
    net.run(Duration::from_secs(30));
    let answers = samples_of(&net, 7, q);
    let asked: HashSet<SocketAddr> = answers.iter().map(|a| a.0).collect();
    assert_eq!(asked.len(), answers.len(), "no node asked twice");
    assert_eq!(asked.len(), n - 1, "every other node");
    let found: HashSet<Id> = answers.iter().flat_map(|a| a.2.iter().copied()).collect();
    assert_eq!(found, stored);
    let (asked_n, answered, _, elapsed) = walk_done(&net, 7, q);
    assert_eq!((asked_n, answered), (n - 1, n - 1));
    // 29 queries at 50 per second take at least 28 × 20 ms.
    assert!(elapsed >= Duration::from_millis(560), "{elapsed:?}");
}

#[test]
fn a_walk_stops_after_max_nodes_and_keeps_its_rate() {
    let mut net = bootstrapped(20, |_| config());
    let now = net.now;
    let mut walk = WalkConfig::default();
    walk.rate = 2;
    walk.max_nodes = 5;
    let q = net.dht(3).walk_samples(now, walk).unwrap();
    net.run(Duration::from_secs(10));
    let (asked, answered, _, elapsed) = walk_done(&net, 3, q);
    assert_eq!((asked, answered), (5, 5));
    // Five queries at two per second: the fifth leaves 2 s after the first.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn a_cancelled_walk_sends_nothing_more() {
    let mut net = bootstrapped(10, |_| config());
    let now = net.now;
    let mut walk = WalkConfig::default();
    walk.rate = 1;
    let q = net.dht(3).walk_samples(now, walk).unwrap();
    net.run(Duration::from_millis(1500));
    net.dht(3).cancel(q);
    let before = samples_of(&net, 3, q).len();
    assert!(before >= 1);
    net.run(Duration::from_secs(10));
    assert_eq!(samples_of(&net, 3, q).len(), before);
}

#[test]
fn a_walk_on_an_empty_table_ends_at_once() {
    let mut net = Net::new(1, |_| config());
    let now = net.now;
    let q = net.dht(0).walk_samples(now, WalkConfig::default()).unwrap();
    let e = net.dht(0).poll_event().unwrap();
    assert!(matches!(e, Event::WalkDone { query, asked: 0, .. } if query == q));
}

#[test]
fn walks_and_searches_share_the_max_searches_cap() {
    let mut net = bootstrapped(4, |_| {
        let mut c = config();
        c.max_searches = 1;
        c
    });
    net.run(Duration::from_secs(60 * 20)); // let the bootstrap and refreshes end
    let now = net.now;
    let mut slow = WalkConfig::default();
    slow.rate = 1;
    net.dht(1).walk_samples(now, slow).unwrap();
    assert_eq!(
        net.dht(1).get_peers(now, Id::from_bytes([1; 20])),
        Err(btdht::node::CommandError::TooManySearches)
    );
}
