//! A deterministic network simulator: many [`Dht`]s on virtual addresses, one virtual
//! clock, an event queue (feature `sim`).
//!
//! Nothing here touches a socket: datagrams move from one node's
//! [`poll_transmit`](Dht::poll_transmit) to another's
//! [`handle_datagram`](Dht::handle_datagram) through a queue ordered by virtual time,
//! after a [`LinkModel`] has decided their latency, loss and duplication. Every chance
//! comes from one seed, so the same seed gives the same run, datagram for datagram
//! ([`Sim::trace_hash`] is the proof a test checks).
//!
//! Nodes can misbehave ([`Behaviour`]): stay in others' tables but never answer, sit
//! behind a NAT, or lie. [`scenario`] builds whole networks, runs lookups on them and
//! scores each against an oracle that knows every live node.
//!
//! ```
//! use btdht::node::{Config, Event};
//! use btdht::sim::{LinkModel, Sim};
//! use core::time::Duration;
//!
//! let mut sim = Sim::new(7, LinkModel::default());
//! let a = sim.add_node(Config::default());
//! let b = sim.add_node(Config::default());
//! let b_addr = sim.addr(b);
//! sim.command(a, |dht, now| dht.bootstrap(now, &[b_addr]))?;
//! sim.run_for(Duration::from_secs(5));
//! let mut joined = false;
//! while let Some((node, event)) = sim.poll_event() {
//!     joined |= node == a && matches!(event, Event::Bootstrapped { nodes: 1 });
//! }
//! assert!(joined);
//! # Ok::<(), btdht::node::CommandError>(())
//! ```

mod addrs;
mod hostile;
mod link;
mod oracle;
pub mod scenario;

pub use addrs::Stack;
use addrs::{FIRST_ADDR, PORT, V6_PREFIX, addr_of, addr6_of};

use hostile::lie;

pub use link::{LinkModel, Rng};

use crate::Id;
use crate::addr::{Family, LocalAddresses};
use crate::krpc;
use crate::node::{Config, Dht, Event};
use crate::time::Instant;
use alloc::collections::{BinaryHeap, VecDeque};
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::net::SocketAddr;
use core::time::Duration;
use std::collections::{HashMap, HashSet};

/// Per-pair latencies of IPv6 links are drawn apart from IPv4 ones.
const V6_LINKS: u64 = 0x6666_6666_6666_6666;

/// How a node behaves towards the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Runs its `Dht` as it is.
    Honest,
    /// Receives and sends nothing: it stays in the tables that knew it, and never
    /// answers.
    Silent,
    /// Behind a NAT: datagrams reach it only from addresses it has sent to.
    Nat,
    /// Answers `find_node`, `get_peers` and `get` with made-up nodes very close to the
    /// target (at addresses where nobody answers) and a wrong token, half the time from
    /// a spoofed source address, and `get` also with a forged item (a value that is not
    /// the target's, under a made-up key and signature with the highest `seq`); answers
    /// pings honestly so that it stays in tables.
    Hostile,
}

/// What the queue holds.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum What {
    /// A datagram arriving at node `to`.
    Deliver {
        to: usize,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    /// Node `node`'s timer, as it was when scheduled.
    Timer { node: usize },
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: Instant,
    seq: u64,
    what: What,
}

/// One virtual node.
#[derive(Debug)]
struct SimNode {
    /// Its IPv4 address, else its IPv6 one.
    addr: SocketAddr,
    /// Its IPv6 address, if it is on the IPv6 network.
    addr6: Option<SocketAddr>,
    stack: Stack,
    dht: Dht,
    live: bool,
    behaviour: Behaviour,
    /// The timer currently queued for this node, if any.
    timer: Option<Instant>,
    /// Under an upload limit: when the link is free again.
    link_free: Instant,
    /// Behind a NAT: addresses it has sent to.
    contacted: HashSet<SocketAddr>,
    /// When it was added.
    joined: Instant,
}

/// The simulated network. See the [module docs](self).
#[derive(Debug)]
pub struct Sim {
    seed: u64,
    rng: Rng,
    link: LinkModel,
    now: Instant,
    nodes: Vec<SimNode>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    events: VecDeque<(Instant, usize, Event)>,
    buf: Vec<u8>,
    trace: u64,
    delivered: u64,
    by_id: HashMap<Id, usize>,
    /// An outage: every datagram is lost while this is set.
    down: bool,
}

impl Sim {
    /// An empty network whose every chance derives from `seed`.
    pub fn new(seed: u64, link: LinkModel) -> Sim {
        Sim {
            seed,
            rng: Rng::new(seed),
            link,
            now: Instant::from_millis(0),
            nodes: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            events: VecDeque::new(),
            buf: alloc::vec![0; krpc::MAX_DATAGRAM_LEN],
            trace: 0xcbf2_9ce4_8422_2325,
            delivered: 0,
            by_id: HashMap::new(),
            down: false,
        }
    }

    /// Adds an honest IPv4 node at the next virtual address and returns its index.
    /// Virtual IPv4 addresses are private ones, so the node is told to accept local
    /// addresses.
    pub fn add_node(&mut self, config: Config) -> usize {
        self.add_node_on(config, Stack::V4)
    }

    /// Adds an honest node on the networks of `stack` (its `Config::families` is set to
    /// match) and returns its index.
    pub fn add_node_on(&mut self, mut config: Config, stack: Stack) -> usize {
        config.routing.local_addresses = LocalAddresses::Allow;
        config.families = stack.families();
        let index = self.nodes.len();
        let addr6 = (stack != Stack::V4).then(|| addr6_of(index));
        let addr = match stack {
            Stack::V6 => addr6_of(index),
            Stack::V4 | Stack::Dual => addr_of(index),
        };
        let dht = Dht::new(config, self.rng.seed(), self.now);
        self.nodes.push(SimNode {
            addr,
            addr6,
            stack,
            dht,
            live: true,
            behaviour: Behaviour::Honest,
            timer: None,
            link_free: self.now,
            contacted: HashSet::new(),
            joined: self.now,
        });
        self.by_id.insert(*self.nodes[index].dht.id(), index);
        self.after_activity(index);
        index
    }

    /// How many nodes were ever added (live or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node was ever added.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `index`'s address: its IPv4 one, or its IPv6 one for an IPv6-only node.
    ///
    /// # Panics
    /// If `index` is not a node's.
    pub fn addr(&self, index: usize) -> SocketAddr {
        self.nodes[index].addr
    }

    /// Node `index`'s address in `family`'s network, if it is on it.
    pub fn addr_in(&self, index: usize, family: Family) -> Option<SocketAddr> {
        let n = self.nodes.get(index)?;
        match family {
            Family::V4 => (n.stack != Stack::V6).then_some(n.addr),
            Family::V6 => n.addr6,
        }
    }

    /// Node `index`'s networks.
    pub fn stack(&self, index: usize) -> Option<Stack> {
        self.nodes.get(index).map(|n| n.stack)
    }

    /// The node at `addr`, if it is one of ours.
    pub fn index_of(&self, addr: SocketAddr) -> Option<usize> {
        match addr {
            SocketAddr::V4(a) => {
                let i = u32::from(*a.ip()).checked_sub(FIRST_ADDR)? as usize;
                let n = self.nodes.get(i)?;
                (a.port() == PORT && n.stack != Stack::V6).then_some(i)
            }
            SocketAddr::V6(a) => {
                let [p0, p1, hi, lo, 0, 0, 0, 1] = a.ip().segments() else {
                    return None;
                };
                let i = (usize::from(hi) << 16) | usize::from(lo);
                let n = self.nodes.get(i)?;
                ([p0, p1] == V6_PREFIX && a.port() == PORT && n.addr6.is_some()).then_some(i)
            }
        }
    }

    /// Node `index`'s state machine.
    ///
    /// # Panics
    /// If `index` is not a node's.
    pub fn dht(&self, index: usize) -> &Dht {
        &self.nodes[index].dht
    }

    /// Runs `f` on node `index` now (a command: `get_peers`, `announce`, …), then sends
    /// what it queued.
    ///
    /// # Panics
    /// If `index` is not a node's.
    pub fn command<R>(&mut self, index: usize, f: impl FnOnce(&mut Dht, Instant) -> R) -> R {
        let now = self.now;
        let r = f(&mut self.nodes[index].dht, now);
        self.after_activity(index);
        r
    }

    /// Node `index`'s behaviour.
    pub fn behaviour(&self, index: usize) -> Option<Behaviour> {
        self.nodes.get(index).map(|n| n.behaviour)
    }

    /// Changes node `index`'s behaviour from now on.
    pub fn set_behaviour(&mut self, index: usize, behaviour: Behaviour) {
        if let Some(n) = self.nodes.get_mut(index) {
            n.behaviour = behaviour;
        }
    }

    /// Whether node `index` is still in the network.
    pub fn is_live(&self, index: usize) -> bool {
        self.nodes.get(index).is_some_and(|n| n.live)
    }

    /// Takes node `index` off the network for good (churn): it receives, sends and
    /// reports nothing more.
    pub fn remove_node(&mut self, index: usize) {
        if let Some(n) = self.nodes.get_mut(index) {
            n.live = false;
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The simulator's generator, for drivers that want their choices to follow the
    /// seed too.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Datagrams delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Takes the whole network down (`false`: every datagram sent from now on is lost,
    /// as in a power cut, a sleep or a cable pulled) or brings it back (`true`).
    /// Datagrams already on the wire still arrive.
    pub fn set_network(&mut self, up: bool) {
        self.down = !up;
    }

    /// A hash of every delivery so far (time, source, destination, bytes): two runs
    /// with the same seed and the same commands have the same hash.
    pub fn trace_hash(&self) -> u64 {
        self.trace
    }

    /// The next event any live node reported, with the node's index.
    pub fn poll_event(&mut self) -> Option<(usize, Event)> {
        self.poll_timed_event().map(|(_, node, e)| (node, e))
    }

    /// The next event any live node reported, with the virtual time it was reported at
    /// and the node's index.
    pub fn poll_timed_event(&mut self) -> Option<(Instant, usize, Event)> {
        self.events.pop_front()
    }

    /// Runs the network until virtual time `until` (or until nothing is queued).
    pub fn run_until(&mut self, until: Instant) {
        while let Some(Reverse(next)) = self.queue.peek() {
            if next.at > until {
                break;
            }
            let Some(Reverse(item)) = self.queue.pop() else {
                break;
            };
            self.now = item.at;
            self.dispatch(item.what);
        }
        self.now = self.now.max(until);
    }

    /// Runs the network for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn push(&mut self, at: Instant, what: What) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            what,
        }));
    }

    fn dispatch(&mut self, what: What) {
        match what {
            What::Timer { node } => {
                let Some(n) = self.nodes.get_mut(node) else {
                    return;
                };
                if n.timer != Some(self.now) {
                    return; // replaced by an earlier one
                }
                n.timer = None;
                if n.live {
                    n.dht.handle_timeout(self.now);
                }
                self.after_activity(node);
            }
            What::Deliver { to, from, bytes } => {
                self.record(from, to, &bytes);
                let Some(n) = self.nodes.get_mut(to) else {
                    return;
                };
                let accepted = n.live
                    && match n.behaviour {
                        Behaviour::Honest => true,
                        Behaviour::Silent => false,
                        Behaviour::Nat => n.contacted.contains(&from),
                        Behaviour::Hostile => {
                            let v6 = from.is_ipv6();
                            if let Some(answer) = lie(&mut self.rng, n, &bytes, v6) {
                                let spoofed = self.rng.chance(0.5);
                                let source = match (spoofed, v6) {
                                    (true, false) => addr_of(self.rng.below(self.nodes.len())),
                                    (true, true) => addr6_of(self.rng.below(self.nodes.len())),
                                    (false, false) => n.addr,
                                    (false, true) => n.addr6.unwrap_or(n.addr),
                                };
                                self.send(to, source, from, answer);
                                return;
                            }
                            true
                        }
                    };
                if accepted {
                    n.dht.handle_datagram(self.now, from, &bytes);
                    self.after_activity(to);
                }
            }
        }
    }

    fn record(&mut self, from: SocketAddr, to: usize, bytes: &[u8]) {
        self.delivered += 1;
        let mut h = self.trace;
        let mut eat = |x: u64| {
            h = (h ^ x).wrapping_mul(0x0000_0100_0000_01b3);
        };
        eat(self.now.as_millis());
        eat(to as u64);
        match from {
            SocketAddr::V4(a) => eat(u64::from(u32::from(*a.ip()))),
            SocketAddr::V6(a) => {
                let bits = a.ip().to_bits();
                eat((bits >> 64) as u64);
                eat(bits as u64);
            }
        }
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            eat(u64::from_le_bytes(w));
        }
        self.trace = h;
    }

    /// After a node did something: queue what it sends, collect its events, and make sure
    /// its next timer is queued.
    fn after_activity(&mut self, index: usize) {
        let now = self.now;
        let mut buf = core::mem::take(&mut self.buf);
        while let Some(n) = self.nodes.get_mut(index) {
            if !n.live {
                break;
            }
            let Some(t) = n.dht.poll_transmit(now, &mut buf) else {
                break;
            };
            let silent = n.behaviour == Behaviour::Silent;
            if n.behaviour == Behaviour::Nat {
                n.contacted.insert(t.to);
            }
            // The source of the destination's family.
            let from = match (t.to, n.addr6) {
                (SocketAddr::V6(_), Some(a6)) => a6,
                _ => n.addr,
            };
            if !silent {
                if let Some(bytes) = buf.get(..t.len) {
                    self.send(index, from, t.to, bytes.to_vec());
                }
            }
        }
        self.buf = buf;
        let Some(n) = self.nodes.get_mut(index) else {
            return;
        };
        if !n.live {
            return;
        }
        while let Some(e) = n.dht.poll_event() {
            if let Event::IdChanged { old, new } = e {
                // A node that took a secure id (BEP 42) is found by its new one.
                self.by_id.remove(&old);
                self.by_id.insert(new, index);
            }
            self.events.push_back((now, index, e));
        }
        if let Some(t) = n.dht.poll_timeout() {
            // Never in the past: a timer due now fires after what is queued for now.
            let t = t.max(now + Duration::from_millis(1));
            if n.timer.is_none_or(|q| t < q) {
                n.timer = Some(t);
                self.push(t, What::Timer { node: index });
            }
        }
    }

    /// Puts a datagram on the wire from node `sender` (whose upload it uses), appearing
    /// to come from `from`.
    fn send(&mut self, sender: usize, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        if self.down {
            return;
        }
        let Some(dest) = self.index_of(to) else {
            return; // a phantom or foreign address: nobody there
        };
        let mut depart = self.now;
        if let (Some(limit), Some(n)) = (self.link.upload_limit, self.nodes.get_mut(sender)) {
            depart = n.link_free.max(self.now);
            n.link_free = depart + Duration::from_micros(1_000_000 / u64::from(limit.max(1)));
        }
        if self.rng.chance(self.link.loss) {
            return;
        }
        let seed = if to.is_ipv6() {
            self.seed ^ V6_LINKS
        } else {
            self.seed
        };
        let base = self.link.pair_latency_us(seed, sender as u32, dest as u32);
        if self.rng.chance(self.link.duplicate) {
            let at = self.arrival(depart, base, 2.0);
            let copy = bytes.clone();
            self.push(
                at,
                What::Deliver {
                    to: dest,
                    from,
                    bytes: copy,
                },
            );
        }
        let at = self.arrival(depart, base, 1.0);
        self.push(
            at,
            What::Deliver {
                to: dest,
                from,
                bytes,
            },
        );
    }

    /// When a datagram leaving at `depart` on a link of `base_us` arrives: the base
    /// latency plus up to `spread` times the model's jitter, at least a millisecond.
    fn arrival(&mut self, depart: Instant, base_us: f64, spread: f64) -> Instant {
        let jitter = 1.0 + self.link.jitter * spread * self.rng.unit();
        let us = (base_us * jitter).clamp(0.0, 3_600e6) as u64;
        depart + Duration::from_millis(us.div_ceil(1000).max(1))
    }
}

fn reachable(n: &SimNode) -> bool {
    n.live && matches!(n.behaviour, Behaviour::Honest | Behaviour::Hostile)
}
