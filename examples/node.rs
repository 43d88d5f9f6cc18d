//! A complete DHT node over `std::net::UdpSocket`, no async runtime.
//!
//! ```text
//! cargo run --release --example node -- --bind 127.0.0.1:7001 --bootstrap 127.0.0.1:7000 \
//!     --allow-local --seconds 20 --get-peers <40 hex digits> --announce <40 hex digits>:6881
//! ```
//!
//! Flags: `--bind ADDR` (default 0.0.0.0:6881), `--bootstrap ADDR` (repeatable; default
//! the public routers), `--allow-local`, `--max-per-ip N` (routing-table entries per IP,
//! default 1; several nodes on one loopback address need more), `--read-only`,
//! `--seconds N` (default: run forever), `--get-peers HEX`, `--find-node HEX`,
//! `--announce HEX[:PORT]`, `--ping ADDR`, `--put STRING` (a BEP 44 immutable item: the
//! string, bencoded), `--get HEX` (a BEP 44 immutable item by its target) and
//! `--scrape HEX` (BEP 33 seed and downloader estimates), `--sample ADDR` (BEP 51
//! `sample_infohashes` to one node), and with `--features ed25519`:
//! `--put-mutable SALT:SEQ:STRING` (signed with `--key HEX`, a 32-byte secret key or
//! libtorrent's 64-byte expanded one) and `--get-mutable PUBLIC_KEY_HEX[:SALT]`
//! (repeatable; run after bootstrap),
//! `--repeat N` (run the `--get-peers` lookups again every N seconds, as a client
//! refreshing its peer list does; each peer is printed once), `--closest` (after each
//! requested lookup, print the closest nodes that answered and the token each gave),
//! `--exit-when-done` (stop once every requested command has finished, instead of
//! waiting for `--seconds`), `--state FILE` (the node's saved state: loaded at start if
//! the file exists, then `restored N nodes`; written at exit, through a temporary file
//! and a rename; a node restored with nodes does not fall back to the public routers).
//!
//! One line per event on stdout, first word the kind: `listening ADDR ID`,
//! `bootstrapped NODES`, `peer HEX ADDR`, `lookup-done HEX QUERIES MS`,
//! `announced HEX ACCEPTED`, `pong ADDR ID MS`, `ping-timeout ADDR`,
//! `put TARGET_HEX STORED`, `item TARGET_HEX VALUE_HEX` (the bencoded value),
//! `item-not-found TARGET_HEX`, `mutable-item TARGET_HEX SEQ VALUE_HEX` (each newer
//! version found), `scrape HEX SEEDS PEERS`, `samples ADDR NUM COUNT`
//! (then `sample HEX`, one per info-hash received), `samples-timeout ADDR`,
//! `closest HEX ID ADDR TOKEN` (`-` for no token), `bootstrap-failed ASKED` (the router
//! names are resolved again), `external-address IP`, `id-changed OLD NEW`,
//! `state-saved BYTES` and `stats ...` at exit. Exit code 0
//! when every requested command completed (a ping completes when it is answered, a get
//! when it finds the item, a put when at least one node stored it).

use btdht::Id;
use btdht::addr::LocalAddresses;
use btdht::bencode::RawValue;
use btdht::node::{AnnouncePort, Config, Dht, Event, ItemTarget, Mode, QueryId};
use btdht::time::Instant;
use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

const ROUTERS: [&str; 4] = [
    "router.bittorrent.com:6881",
    "router.utorrent.com:6881",
    "dht.transmissionbt.com:6881",
    "dht.libtorrent.org:25401",
];

enum Command {
    GetPeers(Id),
    FindNode(Id),
    Announce(Id, Option<u16>),
    Ping(SocketAddr),
    /// The bencoded string.
    Put(Vec<u8>),
    Get(Id),
    Scrape(Id),
    Sample(SocketAddr),
    /// Salt, seq, the bencoded string.
    PutMutable(Vec<u8>, i64, Vec<u8>),
    /// Public key, salt.
    GetMutable([u8; 32], Vec<u8>),
}

struct Args {
    bind: SocketAddr,
    bootstrap: Vec<String>,
    allow_local: bool,
    max_per_ip: Option<usize>,
    read_only: bool,
    seconds: Option<u64>,
    repeat: Option<u64>,
    closest: bool,
    exit_when_done: bool,
    commands: Vec<Command>,
    /// `--key`: the secret key for `--put-mutable`, 32 or 64 bytes.
    key: Option<Vec<u8>>,
    /// `--state`: where the node's state is kept between runs.
    state: Option<std::path::PathBuf>,
}

/// `v` parsed as a `T`, or an error naming the flag.
fn parsed<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("{flag}: {e}"))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bind: "0.0.0.0:6881".parse().map_err(|e| format!("{e}"))?,
        bootstrap: Vec::new(),
        allow_local: false,
        max_per_ip: None,
        read_only: false,
        seconds: None,
        repeat: None,
        closest: false,
        exit_when_done: false,
        commands: Vec::new(),
        key: None,
        state: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--bind" => args.bind = parsed("--bind", value()?)?,
            "--bootstrap" => args.bootstrap.push(value()?),
            "--allow-local" => args.allow_local = true,
            "--max-per-ip" => args.max_per_ip = Some(parsed("--max-per-ip", value()?)?),
            "--read-only" => args.read_only = true,
            "--seconds" => args.seconds = Some(parsed("--seconds", value()?)?),
            "--repeat" => args.repeat = Some(parsed("--repeat", value()?)?),
            "--closest" => args.closest = true,
            "--exit-when-done" => args.exit_when_done = true,
            "--state" => args.state = Some(value()?.into()),
            "--get-peers" => args
                .commands
                .push(Command::GetPeers(parsed("--get-peers", value()?)?)),
            "--find-node" => args
                .commands
                .push(Command::FindNode(parsed("--find-node", value()?)?)),
            "--ping" => args
                .commands
                .push(Command::Ping(parsed("--ping", value()?)?)),
            "--announce" => {
                let v = value()?;
                let (hex, port) = match v.split_once(':') {
                    Some((h, p)) => (
                        h.to_owned(),
                        Some(p.parse().map_err(|e| format!("--announce port: {e}"))?),
                    ),
                    None => (v, None),
                };
                args.commands.push(Command::Announce(
                    hex.parse().map_err(|e| format!("--announce: {e}"))?,
                    port,
                ));
            }
            "--put" => {
                let v = value()?;
                let mut bencoded = format!("{}:", v.len()).into_bytes();
                bencoded.extend_from_slice(v.as_bytes());
                args.commands.push(Command::Put(bencoded));
            }
            "--get" => args.commands.push(Command::Get(parsed("--get", value()?)?)),
            "--scrape" => args
                .commands
                .push(Command::Scrape(parsed("--scrape", value()?)?)),
            "--sample" => args
                .commands
                .push(Command::Sample(parsed("--sample", value()?)?)),
            "--key" => {
                let k = unhex(&value()?).ok_or("--key: not hex")?;
                if k.len() != 32 && k.len() != 64 {
                    return Err("--key: 32 or 64 bytes".into());
                }
                args.key = Some(k);
            }
            "--put-mutable" => {
                let v = value()?;
                let mut parts = v.splitn(3, ':');
                let (Some(salt), Some(seq), Some(string)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err("--put-mutable: SALT:SEQ:STRING".into());
                };
                let seq = seq.parse().map_err(|e| format!("--put-mutable seq: {e}"))?;
                let mut bencoded = format!("{}:", string.len()).into_bytes();
                bencoded.extend_from_slice(string.as_bytes());
                args.commands
                    .push(Command::PutMutable(salt.as_bytes().to_vec(), seq, bencoded));
            }
            "--get-mutable" => {
                let v = value()?;
                let (key, salt) = v.split_once(':').unwrap_or((&v, ""));
                let key = unhex(key)
                    .and_then(|k| <[u8; 32]>::try_from(k).ok())
                    .ok_or("--get-mutable: a 32-byte public key in hex")?;
                args.commands
                    .push(Command::GetMutable(key, salt.as_bytes().to_vec()));
            }
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()))
        .collect()
}

/// Signs a mutable item with `--key` (feature `ed25519`).
#[cfg(feature = "ed25519")]
fn sign<'a>(
    key: Option<&[u8]>,
    salt: &'a [u8],
    seq: i64,
    value: RawValue<'_>,
) -> Result<btdht::node::MutableItem<'a>, String> {
    use btdht::store::Ed25519Signer;
    let signer = match key.map(|k| (<[u8; 32]>::try_from(k), <[u8; 64]>::try_from(k))) {
        Some((Ok(secret), _)) => Ed25519Signer::from_secret_key(&secret),
        Some((_, Ok(expanded))) => Ed25519Signer::from_expanded(&expanded),
        _ => return Err("--put-mutable needs --key".into()),
    };
    btdht::node::MutableItem::sign(&signer, salt, seq, value).map_err(|e| e.to_string())
}

#[cfg(not(feature = "ed25519"))]
fn sign<'a>(
    _: Option<&[u8]>,
    _: &'a [u8],
    _: i64,
    _: RawValue<'_>,
) -> Result<btdht::node::MutableItem<'a>, String> {
    Err("built without the ed25519 feature (cargo run --features ed25519 --example node)".into())
}

/// Writes the node's state to `path` through a temporary file and a rename, so that a
/// crash never leaves a torn file; its length.
fn save_state(dht: &Dht, path: &std::path::Path) -> std::io::Result<usize> {
    let mut buf = vec![0u8; dht.state_len()];
    let n = dht
        .save_state(&mut buf)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &buf[..n])?;
    std::fs::rename(&tmp, path)?;
    Ok(n)
}

/// 32 bytes of entropy from the OS, for the node's seed.
fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(&mut seed).is_ok() {
            return seed;
        }
    }
    // Fallback: std's per-process random hasher keys, mixed with the time.
    use std::hash::{BuildHasher, Hasher};
    for chunk in seed.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    seed
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!(
                "usage: node [--bind ADDR] [--bootstrap ADDR]... [--allow-local] [--max-per-ip N] [--read-only] [--seconds N] [--repeat N] [--closest] [--exit-when-done] [--state FILE] [--get-peers HEX]... [--find-node HEX]... [--announce HEX[:PORT]]... [--ping ADDR]... [--put STRING]... [--get HEX]... [--scrape HEX]... [--sample ADDR]... [--key HEX] [--put-mutable SALT:SEQ:STRING]... [--get-mutable KEY_HEX[:SALT]]..."
            );
            return ExitCode::from(2);
        }
    };
    let socket = match UdpSocket::bind(args.bind) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: bind {}: {e}", args.bind);
            return ExitCode::from(1);
        }
    };
    let local = socket.local_addr().unwrap_or(args.bind);

    let mut config = Config::default();
    if !local.is_ipv4() {
        config.families = btdht::addr::Families::V6;
    }
    if args.allow_local {
        config.routing.local_addresses = LocalAddresses::Allow;
    }
    if let Some(n) = args.max_per_ip {
        config.routing.max_per_ip = n;
    }
    if args.read_only {
        config.mode = Mode::ReadOnly;
    }
    let clock = std::time::Instant::now();
    let now = || Instant::from_millis(clock.elapsed().as_millis() as u64);
    let saved = args.state.as_ref().and_then(|p| std::fs::read(p).ok());
    let mut dht = match saved.map(|b| Dht::from_state(config.clone(), seed(), &b, now())) {
        Some(Ok(dht)) => {
            println!("restored {} nodes", dht.stats().restored_nodes);
            dht
        }
        Some(Err(e)) => {
            eprintln!("error: state: {e}; starting fresh");
            Dht::new(config, seed(), now())
        }
        None => Dht::new(config, seed(), now()),
    };
    let restored = dht.stats().restored_nodes > 0;
    #[cfg(feature = "ed25519")]
    dht.set_signature_verifier(Box::new(btdht::store::Ed25519Verifier));
    println!("listening {local} {}", dht.id());
    // The public routers only for a node with nothing better: no --bootstrap, no state.
    let names: Vec<String> = match (args.bootstrap.is_empty(), restored) {
        (false, _) => args.bootstrap.clone(),
        (true, false) => ROUTERS.iter().map(|s| s.to_string()).collect(),
        (true, true) => Vec::new(),
    };
    let family_ok = |a: &SocketAddr| a.is_ipv4() == local.is_ipv4();
    let resolve = |names: &[String]| -> Vec<SocketAddr> {
        names
            .iter()
            .flat_map(|n| n.to_socket_addrs().into_iter().flatten())
            .filter(family_ok)
            .collect()
    };
    let routers = resolve(&names);
    if !routers.is_empty() {
        if let Err(e) = dht.bootstrap(now(), &routers) {
            eprintln!("error: bootstrap: {e}");
        }
    }

    let deadline = args.seconds.map(Duration::from_secs);
    let repeat = args.repeat.map(Duration::from_secs);
    let lookups: Vec<Id> = args
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::GetPeers(h) => Some(*h),
            _ => None,
        })
        .collect();
    let mut last_round: Option<std::time::Instant> = None;
    let mut seen: HashSet<(Id, SocketAddr)> = HashSet::new();
    let mut found_items: HashSet<QueryId> = HashSet::new();
    let mut gets: HashSet<QueryId> = HashSet::new();
    let mut sampled: HashMap<QueryId, SocketAddr> = HashMap::new();
    let mut pending: HashSet<QueryId> = HashSet::new();
    let mut commands = Some(args.commands);
    let mut requested = 0usize;
    let mut completed = 0usize;
    let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
    let key = args.key.clone();
    let start_commands = |dht: &mut Dht,
                          commands: &mut Option<Vec<Command>>,
                          pending: &mut HashSet<QueryId>,
                          gets: &mut HashSet<QueryId>,
                          sampled: &mut HashMap<QueryId, SocketAddr>| {
        for c in commands.take().unwrap_or_default() {
            let get = matches!(c, Command::Get(_) | Command::GetMutable(..));
            let sample = match c {
                Command::Sample(a) => Some(a),
                _ => None,
            };
            let (what, started) = match c {
                Command::GetPeers(h) => (h.to_string(), dht.get_peers(now(), h)),
                Command::FindNode(h) => (h.to_string(), dht.find_node(now(), h)),
                Command::Announce(h, port) => (
                    h.to_string(),
                    dht.announce(
                        now(),
                        h,
                        port.map_or(AnnouncePort::Implied, AnnouncePort::Port),
                        false,
                    ),
                ),
                Command::Ping(a) => (a.to_string(), dht.ping(now(), a)),
                Command::Put(v) => match RawValue::new(&v) {
                    Ok(value) => (
                        String::from_utf8_lossy(&v).into_owned(),
                        dht.put_item(now(), value, None),
                    ),
                    Err(e) => {
                        eprintln!("error: --put: {e}");
                        continue;
                    }
                },
                Command::Scrape(h) => (h.to_string(), dht.scrape(now(), h)),
                Command::PutMutable(salt, seq, v) => {
                    let what = String::from_utf8_lossy(&v).into_owned();
                    let signed = RawValue::new(&v)
                        .map_err(|e| e.to_string())
                        .and_then(|value| Ok((value, sign(key.as_deref(), &salt, seq, value)?)));
                    match signed {
                        Ok((value, item)) => (what, dht.put_item(now(), value, Some(item))),
                        Err(e) => {
                            eprintln!("error: --put-mutable: {e}");
                            continue;
                        }
                    }
                }
                Command::GetMutable(k, salt) => {
                    let item = ItemTarget::Mutable {
                        key: &k,
                        salt: &salt,
                    };
                    (hex(&k), dht.get_item(now(), item))
                }
                Command::Sample(a) => (a.to_string(), dht.sample_infohashes(now(), a)),
                Command::Get(h) => {
                    let item = ItemTarget::Immutable(h);
                    (h.to_string(), dht.get_item(now(), item))
                }
            };
            match started {
                Ok(q) => {
                    pending.insert(q);
                    if get {
                        gets.insert(q);
                    }
                    if let Some(a) = sample {
                        sampled.insert(q, a);
                    }
                }
                Err(e) => eprintln!("error: {what}: {e}"),
            }
        }
    };
    let print_closest = |dht: &Dht, query: QueryId| {
        if let Some(info) = dht.query(query) {
            for (node, token) in info.closest() {
                let token = token.map_or_else(
                    || "-".to_owned(),
                    |t| t.iter().map(|b| format!("{b:02x}")).collect(),
                );
                println!(
                    "closest {} {} {} {token}",
                    info.target(),
                    node.id,
                    node.addr
                );
            }
        }
    };
    if routers.is_empty() && !restored {
        requested = commands.as_ref().map_or(0, Vec::len);
        start_commands(
            &mut dht,
            &mut commands,
            &mut pending,
            &mut gets,
            &mut sampled,
        );
        last_round = Some(std::time::Instant::now());
    }
    loop {
        if deadline.is_some_and(|d| clock.elapsed() >= d) {
            break;
        }
        if args.exit_when_done && commands.is_none() && pending.is_empty() {
            break;
        }
        if let (Some(every), Some(at)) = (repeat, last_round) {
            if at.elapsed() >= every {
                last_round = Some(std::time::Instant::now());
                for &h in &lookups {
                    // Repeats are not awaited: only the first round decides the exit code.
                    if let Err(e) = dht.get_peers(now(), h) {
                        eprintln!("error: {h}: {e}");
                    }
                }
            }
        }
        while let Some(t) = dht.poll_transmit(now(), &mut buf) {
            if let Err(e) = socket.send_to(&buf[..t.len], t.to) {
                eprintln!("send to {}: {e}", t.to);
            }
        }
        while let Some(event) = dht.poll_event() {
            match event {
                Event::Bootstrapped { .. } | Event::BootstrapFailed { .. } => {
                    match event {
                        Event::Bootstrapped { nodes } => println!("bootstrapped {nodes}"),
                        Event::BootstrapFailed { asked } => {
                            println!("bootstrap-failed {asked}");
                            // What the node asks of its driver: resolve the names again.
                            dht.set_bootstrap(now(), &resolve(&names));
                        }
                        _ => {}
                    }
                    // The commands start once the bootstrap is over, however it went.
                    if commands.is_some() {
                        requested = commands.as_ref().map_or(0, Vec::len);
                        start_commands(
                            &mut dht,
                            &mut commands,
                            &mut pending,
                            &mut gets,
                            &mut sampled,
                        );
                        last_round = Some(std::time::Instant::now());
                    }
                }
                Event::ExternalAddress { addr } => println!("external-address {addr}"),
                Event::IdChanged { old, new } => println!("id-changed {old} {new}"),
                Event::Peer {
                    info_hash, peer, ..
                } if seen.insert((info_hash, peer)) => println!("peer {info_hash} {peer}"),
                Event::Item {
                    query,
                    target,
                    item,
                } if gets.contains(&query) => {
                    let first = found_items.insert(query);
                    match item.seq() {
                        // Every newer version of a mutable item; the last is the best.
                        Some(seq) => {
                            println!(
                                "mutable-item {target} {seq} {}",
                                hex(item.value().as_bytes())
                            )
                        }
                        None if first => println!("item {target} {}", hex(item.value().as_bytes())),
                        None => {}
                    }
                }
                Event::LookupDone { query, target, .. } if gets.remove(&query) => {
                    pending.remove(&query);
                    if found_items.remove(&query) {
                        completed += 1;
                    } else {
                        println!("item-not-found {target}");
                    }
                }
                Event::Samples {
                    query,
                    node,
                    num,
                    samples,
                    ..
                } if pending.contains(&query) => {
                    println!("samples {} {num} {}", node.addr, samples.len());
                    for h in samples {
                        println!("sample {h}");
                    }
                }
                Event::WalkDone {
                    query, answered, ..
                } if pending.remove(&query) => {
                    if answered > 0 {
                        completed += 1;
                    } else {
                        if let Some(a) = sampled.get(&query) {
                            println!("samples-timeout {a}");
                        }
                    }
                }
                Event::Scraped {
                    query,
                    info_hash,
                    seeds,
                    peers,
                    ..
                } if pending.remove(&query) => {
                    completed += 1;
                    println!("scrape {info_hash} {seeds} {peers}");
                }
                Event::ItemPut {
                    query,
                    target,
                    stored,
                    ..
                } if pending.remove(&query) => {
                    if stored > 0 {
                        completed += 1;
                    }
                    println!("put {target} {stored}");
                }
                Event::LookupDone {
                    query,
                    target,
                    stats,
                    elapsed,
                } if pending.remove(&query) => {
                    completed += 1;
                    println!(
                        "lookup-done {target} {} {}",
                        stats.queries,
                        elapsed.as_millis()
                    );
                    if args.closest {
                        print_closest(&dht, query);
                    }
                }
                Event::Announced {
                    query,
                    info_hash,
                    accepted,
                    ..
                } if pending.remove(&query) => {
                    completed += 1;
                    println!("announced {info_hash} {accepted}");
                    if args.closest {
                        print_closest(&dht, query);
                    }
                }
                Event::Pong { query, node, rtt } if pending.remove(&query) => {
                    completed += 1;
                    println!("pong {} {} {}", node.addr, node.id, rtt.as_millis());
                }
                Event::PingTimeout { query, addr } if pending.remove(&query) => {
                    println!("ping-timeout {addr}");
                }
                _ => {}
            }
        }
        // Sleep until the next timer, a datagram, or 100 ms (so `--seconds` is honoured).
        let wait = dht
            .poll_timeout()
            .map(|t| Duration::from_millis(t.as_millis().saturating_sub(now().as_millis())))
            .unwrap_or(Duration::from_millis(100))
            .clamp(Duration::from_millis(1), Duration::from_millis(100));
        let _ = socket.set_read_timeout(Some(wait));
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => dht.handle_datagram(now(), from, &buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                dht.handle_timeout(now())
            }
            Err(e) => eprintln!("recv: {e}"),
        }
    }
    if let Some(path) = &args.state {
        match save_state(&dht, path) {
            Ok(n) => println!("state-saved {n}"),
            Err(e) => eprintln!("error: state {}: {e}", path.display()),
        }
    }
    let s = dht.stats();
    println!(
        "stats nodes={} in={} out={} bad={} timeouts={} errors_sent={} rate_limited={}",
        s.nodes_v4 + s.nodes_v6,
        s.datagrams_in,
        s.datagrams_out,
        s.bad_datagrams,
        s.timeouts,
        s.errors_sent,
        s.rate_limited
    );
    if completed == requested && commands.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
