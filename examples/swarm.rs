//! The loopback swarm demo: many real DHT nodes on this machine find each other's peers.
//!
//! ```text
//! cargo run --release --example swarm -- --nodes 64 --seconds 30
//! ```
//!
//! Starts `--nodes` nodes (default 64), each on its own UDP socket and thread, on
//! 127.0.0.2, 127.0.0.3, … (one address per node, as on a real network where a routing
//! table keeps one entry per IP; where only 127.0.0.1 can be bound, they share it and
//! the per-IP limit is lifted). They bootstrap off each other, a few of them announce an
//! info-hash each, then a fresh node joins and looks every info-hash up. It prints
//! progress lines, then one row per lookup and a summary. Exit code 0 when every lookup
//! found its announced peer within `--seconds` (default 30). Nothing leaves loopback.

use btdht::Id;
use btdht::addr::LocalAddresses;
use btdht::node::{AnnouncePort, Config, Dht, Event};
use btdht::time::Instant;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the main thread asks of a node.
enum Command {
    Bootstrap(Vec<SocketAddr>),
    Announce(Id, u16),
    GetPeers(Id),
}

/// What a node tells the main thread: its index and the event.
struct Report {
    node: usize,
    event: Event,
}

struct Flags {
    nodes: usize,
    seconds: u64,
}

fn parse_flags() -> Result<Flags, String> {
    let mut flags = Flags {
        nodes: 64,
        seconds: 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => flags.nodes = value?.parse().map_err(|e| format!("--nodes: {e}"))?,
            "--seconds" => flags.seconds = value?.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !(2..=10_000).contains(&flags.nodes) {
        return Err("--nodes must be between 2 and 10000".into());
    }
    Ok(flags)
}

/// A node's seed: splitmix64 over the run's start time and the node's index. A demo
/// needs distinct seeds, not secret ones; a real node takes 32 bytes from the OS.
fn seed(run: u64, node: usize) -> [u8; 32] {
    let mut x = run ^ (node as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_be_bytes());
    }
    seed
}

/// The first 20 bytes of a seed, as made-up info-hashes.
fn bytes20(seed: [u8; 32]) -> [u8; 20] {
    let mut b = [0u8; 20];
    b.copy_from_slice(&seed[..20]);
    b
}

/// Binds one socket per node: 127.0.0.2 upwards, or all on 127.0.0.1 where the system
/// has only that loopback address (then `shared` is true).
fn bind_all(count: usize) -> std::io::Result<(Vec<UdpSocket>, bool)> {
    let first = u32::from(Ipv4Addr::new(127, 0, 0, 2));
    let mut sockets = Vec::with_capacity(count);
    for i in 0..count {
        let ip = Ipv4Addr::from(first.saturating_add(i as u32));
        match UdpSocket::bind((ip, 0)) {
            Ok(s) => sockets.push(s),
            Err(_) if i == 0 => {
                let shared = (0..count)
                    .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
                    .collect::<Result<_, _>>()?;
                return Ok((shared, true));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((sockets, false))
}

/// Runs one node until the main thread hangs up: the whole sans-IO driving loop.
fn run_node(
    node: usize,
    socket: UdpSocket,
    mut dht: Dht,
    commands: Receiver<Command>,
    reports: Sender<Report>,
) {
    let clock = std::time::Instant::now();
    let now = || Instant::from_millis(clock.elapsed().as_millis() as u64);
    let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
    loop {
        loop {
            let started = match commands.try_recv() {
                Ok(Command::Bootstrap(addrs)) => dht.bootstrap(now(), &addrs),
                Ok(Command::Announce(hash, port)) => {
                    dht.announce(now(), hash, AnnouncePort::Port(port), false)
                }
                Ok(Command::GetPeers(hash)) => dht.get_peers(now(), hash),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            };
            if let Err(e) = started {
                eprintln!("node {node}: {e}");
            }
        }
        while let Some(t) = dht.poll_transmit(now(), &mut buf) {
            // Loopback sends fail only when the socket buffer is full: a lost datagram,
            // which the node's timeouts and retries handle as on a real network.
            let _ = socket.send_to(&buf[..t.len], t.to);
        }
        while let Some(event) = dht.poll_event() {
            if reports.send(Report { node, event }).is_err() {
                return;
            }
        }
        let wait = dht
            .poll_timeout()
            .map_or(20, |t| t.as_millis().saturating_sub(now().as_millis()))
            .clamp(1, 20);
        let _ = socket.set_read_timeout(Some(Duration::from_millis(wait)));
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => dht.handle_datagram(now(), from, &buf[..n]),
            Err(_) => dht.handle_timeout(now()),
        }
    }
}

/// The swarm: a command channel per node and one report channel for all.
struct Swarm {
    addrs: Vec<SocketAddr>,
    commands: Vec<Sender<Command>>,
    reports: Receiver<Report>,
    threads: Vec<JoinHandle<()>>,
    deadline: std::time::Instant,
}

impl Swarm {
    fn start(count: usize, seconds: u64) -> std::io::Result<Swarm> {
        let (sockets, shared) = bind_all(count)?;
        if shared {
            println!("only 127.0.0.1 can be bound here: all nodes share it");
        }
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let (report_tx, reports) = channel();
        let mut swarm = Swarm {
            addrs: Vec::with_capacity(count),
            commands: Vec::with_capacity(count),
            reports,
            threads: Vec::with_capacity(count),
            deadline: std::time::Instant::now() + Duration::from_secs(seconds),
        };
        for (node, socket) in sockets.into_iter().enumerate() {
            let mut config = Config::default();
            config.routing.local_addresses = LocalAddresses::Allow;
            if shared {
                config.routing.max_per_ip = count;
                config.rate_limit.per_second = u32::MAX;
                config.rate_limit.burst = u32::MAX;
            }
            let dht = Dht::new(config, seed(run, node), Instant::from_millis(0));
            swarm.addrs.push(socket.local_addr()?);
            let (tx, rx) = channel();
            swarm.commands.push(tx);
            let reports = report_tx.clone();
            swarm.threads.push(
                std::thread::Builder::new()
                    .name(format!("node-{node}"))
                    .spawn(move || run_node(node, socket, dht, rx, reports))?,
            );
        }
        Ok(swarm)
    }

    fn send(&self, node: usize, command: Command) {
        if let Some(tx) = self.commands.get(node) {
            let _ = tx.send(command);
        }
    }

    /// The next report, or `None` once the deadline has passed.
    fn next(&self) -> Option<Report> {
        loop {
            let left = self
                .deadline
                .saturating_duration_since(std::time::Instant::now());
            match self
                .reports
                .recv_timeout(left.min(Duration::from_millis(500)))
            {
                Ok(r) => return Some(r),
                Err(RecvTimeoutError::Timeout) if !left.is_zero() => continue,
                Err(_) => return None,
            }
        }
    }

    fn stop(self) {
        drop(self.commands);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// One lookup's outcome, for the table.
struct Lookup {
    info_hash: Id,
    expected: SocketAddr,
    found: Vec<SocketAddr>,
    queries: u32,
    elapsed: Option<Duration>,
}

fn main() -> ExitCode {
    let flags = match parse_flags() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}\nusage: swarm [--nodes N] [--seconds N]");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    let elapsed = || started.elapsed().as_secs_f64();
    // The members, plus one more: the fresh node that looks the info-hashes up at the end.
    let swarm = match Swarm::start(flags.nodes + 1, flags.seconds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the nodes on loopback: {e}");
            return ExitCode::from(1);
        }
    };
    let (members, seeker) = (flags.nodes, flags.nodes);
    println!(
        "started {members} nodes on {} .. {}",
        swarm.addrs[0],
        swarm.addrs[members - 1]
    );

    // Bootstrap: each node joins through three others spread over the swarm (not all
    // through one: a single bootstrap node flooded by every newcomer at once drops
    // queries, as public routers do).
    for node in 0..members {
        let mut via: Vec<SocketAddr> = [node + 1, node / 2, node / 3 + members / 2]
            .map(|i| swarm.addrs[i % members])
            .into();
        via.retain(|a| *a != swarm.addrs[node]);
        via.dedup();
        swarm.send(node, Command::Bootstrap(via));
    }
    let mut booted = vec![false; members];
    let mut count = 0;
    while count < members {
        let Some(r) = swarm.next() else {
            eprintln!("timeout: {count}/{members} nodes bootstrapped");
            swarm.stop();
            return ExitCode::from(1);
        };
        if let (Event::Bootstrapped { .. }, Some(b)) = (&r.event, booted.get_mut(r.node)) {
            if !*b {
                *b = true;
                count += 1;
                if count % 16 == 0 || count == members {
                    println!("[{:5.2}s] bootstrapped {count}/{members}", elapsed());
                }
            }
        }
    }

    // Announce: a few members announce one info-hash each, on a made-up TCP port.
    let announcers: Vec<usize> = (0..members).step_by((members / 8).max(1)).take(8).collect();
    let mut lookups: Vec<Lookup> = Vec::new();
    for (i, &node) in announcers.iter().enumerate() {
        let info_hash = Id::from_bytes(bytes20(seed(0x5eed_0000 + i as u64, i)));
        let port = 6881 + i as u16;
        swarm.send(node, Command::Announce(info_hash, port));
        lookups.push(Lookup {
            info_hash,
            expected: SocketAddr::new(swarm.addrs[node].ip(), port),
            found: Vec::new(),
            queries: 0,
            elapsed: None,
        });
    }
    let mut announced = 0;
    while announced < lookups.len() {
        let Some(r) = swarm.next() else {
            eprintln!("timeout: {announced}/{} announces done", lookups.len());
            swarm.stop();
            return ExitCode::from(1);
        };
        if let Event::Announced {
            info_hash,
            accepted,
            ..
        } = r.event
        {
            announced += 1;
            println!(
                "[{:5.2}s] node {} announced {info_hash}: {accepted} nodes accepted",
                elapsed(),
                r.node
            );
        }
    }

    // Look up: a fresh node joins through node 0 and looks every info-hash up.
    swarm.send(seeker, Command::Bootstrap(vec![swarm.addrs[0]]));
    let mut done = 0;
    while done < lookups.len() {
        let Some(r) = swarm.next() else { break };
        if r.node != seeker {
            continue;
        }
        match r.event {
            Event::Bootstrapped { nodes } => {
                println!(
                    "[{:5.2}s] fresh node {} joined, knows {nodes} nodes",
                    elapsed(),
                    swarm.addrs[seeker]
                );
                for l in &lookups {
                    swarm.send(seeker, Command::GetPeers(l.info_hash));
                }
            }
            Event::Peer {
                info_hash, peer, ..
            } => {
                if let Some(l) = lookups.iter_mut().find(|l| l.info_hash == info_hash) {
                    l.found.push(peer);
                }
            }
            Event::LookupDone {
                target,
                stats,
                elapsed,
                ..
            } => {
                if let Some(l) = lookups
                    .iter_mut()
                    .find(|l| l.info_hash == target && l.elapsed.is_none())
                {
                    l.queries = stats.queries;
                    l.elapsed = Some(elapsed);
                    done += 1;
                }
            }
            _ => {}
        }
    }
    swarm.stop();

    println!();
    println!("| info-hash | announced peer | peers found | found it | queries | time |");
    println!("|---|---|---|---|---|---|");
    let mut ok = 0;
    for l in &lookups {
        let hit = l.found.contains(&l.expected);
        ok += usize::from(hit);
        let time = l.elapsed.map_or("timeout".into(), |d| {
            format!("{:.1} ms", d.as_secs_f64() * 1e3)
        });
        println!(
            "| {} | {} | {} | {} | {} | {time} |",
            l.info_hash,
            l.expected,
            l.found.len(),
            if hit { "yes" } else { "NO" },
            l.queries
        );
    }
    let finished: Vec<&Lookup> = lookups.iter().filter(|l| l.elapsed.is_some()).collect();
    let mean = |f: &dyn Fn(&Lookup) -> f64| {
        finished.iter().map(|l| f(l)).sum::<f64>() / finished.len().max(1) as f64
    };
    println!(
        "\nsummary nodes={members} lookups={} found={ok} mean_queries={:.1} mean_ms={:.1} wall_s={:.2}",
        lookups.len(),
        mean(&|l| f64::from(l.queries)),
        mean(&|l| l.elapsed.map_or(0.0, |d| d.as_secs_f64() * 1e3)),
        elapsed()
    );
    if ok == lookups.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
