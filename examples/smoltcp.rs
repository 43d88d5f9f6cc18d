//! The embedded path: DHT nodes on smoltcp, the way a `no_std` device runs them.
//!
//! ```text
//! cargo run --example smoltcp
//! ```
//!
//! Four nodes, each a [`Dht`] with [`Config::small`] and its own smoltcp UDP socket bound
//! to its own address, share one smoltcp [`Interface`] over smoltcp's in-memory
//! [`Loopback`] device: no OS socket, no thread, no clock. Time is smoltcp's
//! [`Instant`](smoltcp::time::Instant), kept by hand here as a device's timer would
//! keep it, and handed to each node as a `btdht::time::Instant` in milliseconds.
//!
//! Two nodes bootstrap off the first (the "router"), one of them announces an
//! info-hash, then the fourth joins and finds the announced peer with `get_peers`:
//! through the network, as it joined after the announce and stores nothing itself. It
//! prints what happens and exits 0 when the peer is found, 1 if it is not within two
//! minutes of virtual time.
//!
//! Everything but `main` is `no_std` code: this file is `#![no_std]` and only `main`
//! uses `std` (to print and to exit), so the [`Swarm`] below is what a device runs.

#![no_std]

extern crate alloc;
extern crate std;

use alloc::vec;
use alloc::vec::Vec;
use btdht::Id;
use btdht::addr::LocalAddresses;
use btdht::node::{AnnouncePort, Config, Dht, Event};
use core::fmt::Write as _;
use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpCidr, IpEndpoint};

/// The DHT's UDP port on every node's address.
const PORT: u16 = 6881;
/// Datagrams a socket buffers each way, and the room for them.
const SOCKET_PACKETS: usize = 16;
const SOCKET_BYTES: usize = SOCKET_PACKETS * btdht::krpc::MAX_DATAGRAM_LEN;
/// The one-way delay each exchange round stands for (the loopback itself takes none).
const LINK_DELAY: Duration = Duration::from_millis(5);

/// One node: its address, its socket on the interface, its DHT.
struct Node {
    name: &'static str,
    addr: SocketAddrV4,
    socket: SocketHandle,
    dht: Dht,
}

/// Nodes on one smoltcp interface over the loopback device, and the clock.
struct Swarm {
    device: Loopback,
    iface: Interface,
    sockets: SocketSet<'static>,
    nodes: Vec<Node>,
    now: Instant,
    /// Datagrams a full socket buffer refused.
    refused: usize,
}

/// smoltcp's time as the DHT's: milliseconds since the same start.
fn dht_time(t: Instant) -> btdht::time::Instant {
    btdht::time::Instant::from_millis(u64::try_from(t.total_millis()).unwrap_or(0))
}

/// The DHT's time as smoltcp's.
fn smol_time(t: btdht::time::Instant) -> Instant {
    Instant::from_millis(i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
}

impl Swarm {
    /// One interface holding `names.len()` addresses, 192.168.69.1, .2, …, each with a
    /// node on its own socket.
    fn new(names: &[&'static str]) -> Swarm {
        let now = Instant::ZERO;
        let mut device = Loopback::new(Medium::Ip);
        let config = smoltcp::iface::Config::new(HardwareAddress::Ip);
        let mut iface = Interface::new(config, &mut device, now);
        let mut sockets = SocketSet::new(vec![]);
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let ip = Ipv4Addr::new(192, 168, 69, 1 + i as u8);
            iface.update_ip_addrs(|addrs| {
                addrs
                    .push(IpCidr::new(ip.into(), 24))
                    .expect("the interface holds an address per node");
            });
            let rx = udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; SOCKET_PACKETS],
                vec![0; SOCKET_BYTES],
            );
            let tx = udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; SOCKET_PACKETS],
                vec![0; SOCKET_BYTES],
            );
            let mut socket = udp::Socket::new(rx, tx);
            let addr = SocketAddrV4::new(ip, PORT);
            socket.bind(addr).expect("bind");
            // The small device's settings; private addresses allowed, as on a LAN.
            let mut config = Config::small();
            config.routing.local_addresses = LocalAddresses::Allow;
            let mut seed = [0u8; 32];
            seed[0] = 1 + i as u8;
            nodes.push(Node {
                name,
                addr,
                socket: sockets.add(socket),
                dht: Dht::new(config, seed, dht_time(now)),
            });
        }
        Swarm {
            device,
            iface,
            sockets,
            nodes,
            now,
            refused: 0,
        }
    }

    /// Moves datagrams: the interface polls the loopback, each node reads its socket,
    /// runs its timers and writes what it has to send; `on_event` sees every event.
    /// Returns whether any datagram moved.
    fn exchange(&mut self, on_event: &mut dyn FnMut(Instant, usize, Event)) -> bool {
        let now = dht_time(self.now);
        self.iface
            .poll(self.now, &mut self.device, &mut self.sockets);
        let mut moved = false;
        let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
        for (i, node) in self.nodes.iter_mut().enumerate() {
            let socket = self.sockets.get_mut::<udp::Socket>(node.socket);
            while let Ok((datagram, meta)) = socket.recv() {
                node.dht
                    .handle_datagram(now, SocketAddr::from(meta.endpoint), datagram);
                moved = true;
            }
            node.dht.handle_timeout(now);
            while socket.can_send() {
                let Some(t) = node.dht.poll_transmit(now, &mut buf) else {
                    break;
                };
                // An IPv4 node sends to IPv4 addresses only.
                let SocketAddr::V4(to) = t.to else { continue };
                if socket
                    .send_slice(&buf[..t.len], IpEndpoint::from(to))
                    .is_err()
                {
                    self.refused += 1;
                }
                moved = true;
            }
            while let Some(event) = node.dht.poll_event() {
                on_event(self.now, i, event);
            }
        }
        self.iface
            .poll(self.now, &mut self.device, &mut self.sockets);
        moved
    }

    /// When something is next due: the interface's next poll or a node's timer.
    fn next_wakeup(&mut self) -> Option<Instant> {
        let iface = self.iface.poll_at(self.now, &self.sockets);
        let timers = self.nodes.iter().filter_map(|n| n.dht.poll_timeout());
        timers.map(smol_time).chain(iface).min()
    }

    /// Runs until `until`, or until nothing moves and nothing is due before it.
    fn run_until(&mut self, until: Instant, on_event: &mut dyn FnMut(Instant, usize, Event)) {
        while self.now < until {
            let next = if self.exchange(on_event) {
                self.now + LINK_DELAY
            } else {
                self.next_wakeup()
                    .unwrap_or(until)
                    .max(self.now + Duration::from_millis(1))
            };
            self.now = next.min(until);
        }
    }
}

/// What the demo waits for next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Nodes 1 and 2 bootstrap off node 0.
    Joining,
    /// Node 1 announces the info-hash.
    Announcing,
    /// Node 3 bootstraps, then looks the info-hash up.
    Searching,
    /// Node 3 found the announced peer.
    Found,
}

/// `t` as seconds with milliseconds, for the log.
fn seconds(t: Instant) -> alloc::string::String {
    let ms = t.total_millis();
    alloc::format!("{:>3}.{:03}", ms / 1000, ms % 1000)
}

/// The peer node 1 announces (its own address, the BitTorrent port of its client).
const PEER_PORT: u16 = 51413;

fn main() -> std::process::ExitCode {
    let info_hash = Id::from_bytes(*b"smoltcp-btdht-demo!!");
    let names = ["router", "announcer", "helper", "searcher"];
    let mut swarm = Swarm::new(&names);
    let router = SocketAddr::V4(swarm.nodes[0].addr);
    let announced = SocketAddr::from((*swarm.nodes[1].addr.ip(), PEER_PORT));
    std::println!(
        "{} nodes with Config::small(), each on its own smoltcp UDP socket, on one \
         smoltcp Interface over the in-memory Loopback device:",
        swarm.nodes.len()
    );
    for node in &swarm.nodes {
        std::println!("{:>9} {} id {}", node.name, node.addr, node.dht.id());
    }
    let deadline = Instant::from_secs(120);
    let now = dht_time(swarm.now);
    for i in [1, 2] {
        swarm.nodes[i]
            .dht
            .bootstrap(now, &[router])
            .expect("bootstrap");
    }
    let mut phase = Phase::Joining;
    let mut joined = 0;
    let mut events: Vec<(Instant, usize, Event)> = Vec::new();
    while phase != Phase::Found && swarm.now < deadline {
        let step = swarm.now + Duration::from_millis(100);
        swarm.run_until(step.min(deadline), &mut |at, i, e| events.push((at, i, e)));
        let now = dht_time(swarm.now);
        for (at, i, event) in events.drain(..) {
            let mut line = alloc::string::String::new();
            let _ = write!(line, "[{} s] {:>9}: ", seconds(at), names[i]);
            match &event {
                Event::Bootstrapped { nodes } => {
                    let _ = write!(line, "bootstrapped, {nodes} nodes in its table");
                    if i == 1 || i == 2 {
                        joined += 1;
                    }
                    if i == 3 && phase == Phase::Searching {
                        let q = swarm.nodes[3]
                            .dht
                            .get_peers(now, info_hash)
                            .expect("get_peers");
                        let _ = write!(line, "; get_peers {info_hash} ({q:?})");
                    }
                }
                Event::Announced {
                    accepted, stats, ..
                } => {
                    let _ = write!(
                        line,
                        "announced {info_hash} on port {PEER_PORT}: {accepted} nodes stored it ({} queries)",
                        stats.queries
                    );
                    if *accepted > 0 && phase == Phase::Announcing {
                        phase = Phase::Searching;
                        swarm.nodes[3]
                            .dht
                            .bootstrap(now, &[router])
                            .expect("bootstrap");
                        let _ = write!(line, "; the searcher joins");
                    }
                }
                Event::Peer { peer, .. } => {
                    let _ = write!(line, "found peer {peer}");
                    if i == 3 && *peer == announced {
                        phase = Phase::Found;
                        let _ = write!(line, " (the announced one)");
                    }
                }
                other => {
                    let _ = write!(line, "{other:?}");
                }
            }
            std::println!("{line}");
        }
        if phase == Phase::Joining && joined >= 2 {
            phase = Phase::Announcing;
            let q = swarm.nodes[1]
                .dht
                .announce(now, info_hash, AnnouncePort::Port(PEER_PORT), false)
                .expect("announce");
            std::println!(
                "[{} s] announcer: announce {info_hash} on port {PEER_PORT} ({q:?})",
                seconds(swarm.now)
            );
        }
    }
    for node in &swarm.nodes {
        let s = node.dht.stats();
        std::println!(
            "{:>9}: {} nodes in its table, {} peers stored, {} datagrams in, {} out",
            node.name,
            s.nodes(),
            s.stored_peers,
            s.datagrams_in,
            s.datagrams_out
        );
    }
    if swarm.refused > 0 {
        std::println!("socket buffers refused {} datagrams", swarm.refused);
    }
    if phase == Phase::Found {
        std::println!(
            "ok: the searcher found {announced} for {info_hash} after {} s of virtual time",
            seconds(swarm.now)
        );
        std::process::ExitCode::SUCCESS
    } else {
        std::println!(
            "failed: {phase:?} after {} s of virtual time",
            seconds(swarm.now)
        );
        std::process::ExitCode::FAILURE
    }
}
