//! An in-memory network of `Dht`s for the node tests.

use btdht::addr::LocalAddresses;
use btdht::krpc::{Body, Message};
use btdht::node::{Config, Dht, Event};
use btdht::time::Instant;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

pub fn config() -> Config {
    let mut c = Config::default();
    c.routing.local_addresses = LocalAddresses::Allow;
    c
}

pub fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, (i >> 8) as u8, (i & 0xff) as u8 + 1], 6881))
}

/// A datagram on the wire: (time sent, from, to, bytes).
pub type Tapped = (Instant, SocketAddr, SocketAddr, Vec<u8>);

pub struct Net {
    pub nodes: Vec<(SocketAddr, Dht)>,
    pub now: Instant,
    pub events: Vec<Vec<Event>>,
    pub wire: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// When set, every datagram sent is also recorded here.
    pub tap: Option<Vec<Tapped>>,
}

impl Net {
    pub fn new(n: usize, cfg: impl Fn(usize) -> Config) -> Net {
        let now = Instant::from_millis(1_000_000);
        let nodes = (0..n)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
                (addr(i), Dht::new(cfg(i), seed, now))
            })
            .collect();
        Net {
            nodes,
            now,
            events: vec![Vec::new(); n],
            wire: VecDeque::new(),
            tap: None,
        }
    }

    pub fn index(&self, a: SocketAddr) -> Option<usize> {
        self.nodes.iter().position(|(x, _)| *x == a)
    }

    /// Moves datagrams until the network is quiet, advancing time by 10 ms per round
    /// (and to the next timer when quiet), for at most `duration`.
    pub fn run(&mut self, duration: Duration) {
        let end = self.now + duration;
        let mut buf = [0u8; 1500];
        while self.now < end {
            for (from, dht) in &mut self.nodes {
                while let Some(t) = dht.poll_transmit(self.now, &mut buf) {
                    let bytes = buf[..t.len].to_vec();
                    if let Some(tap) = &mut self.tap {
                        tap.push((self.now, *from, t.to, bytes.clone()));
                    }
                    self.wire.push_back((*from, t.to, bytes));
                }
            }
            let delivered = !self.wire.is_empty();
            while let Some((from, to, bytes)) = self.wire.pop_front() {
                if let Some(i) = self.index(to) {
                    self.nodes[i].1.handle_datagram(self.now, from, &bytes);
                }
            }
            for (i, (_, dht)) in self.nodes.iter_mut().enumerate() {
                while let Some(e) = dht.poll_event() {
                    self.events[i].push(e);
                }
            }
            let next = if delivered {
                self.now + Duration::from_millis(10)
            } else {
                let t = self
                    .nodes
                    .iter()
                    .filter_map(|(_, d)| d.poll_timeout())
                    .min();
                t.unwrap_or(end)
                    .max(self.now + Duration::from_millis(1))
                    .min(end)
            };
            self.now = next;
            for (_, dht) in &mut self.nodes {
                dht.handle_timeout(self.now);
            }
        }
    }

    pub fn dht(&mut self, i: usize) -> &mut Dht {
        &mut self.nodes[i].1
    }
}

/// Sends `bytes` to `dht` from `from` and returns its answers (responses and errors;
/// the ping it may send to verify an unknown querier is left out).
pub fn ask(dht: &mut Dht, now: Instant, from: SocketAddr, bytes: &[u8]) -> Vec<Vec<u8>> {
    dht.handle_datagram(now, from, bytes);
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Some(t) = dht.poll_transmit(now, &mut buf) {
        assert_eq!(t.to, from);
        let is_query = matches!(Message::decode(&buf[..t.len]).unwrap().body, Body::Query(_));
        if !is_query {
            out.push(buf[..t.len].to_vec());
        }
    }
    out
}
