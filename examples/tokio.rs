//! The node driven by tokio: one task owns the `Dht` and its socket, and others talk to it
//! through a channel. This is the pattern to copy into an async application.
//!
//! ```text
//! cargo run --example tokio -- --bind 127.0.0.1:7003 --bootstrap 127.0.0.1:7001 \
//!     --allow-local --get-peers <40 hex digits> --seconds 10
//! ```
//!
//! Lines typed on stdin are commands too: `get_peers HEX`, `announce HEX PORT`. Prints
//! `peer HEX ADDR` for each peer found and other events in `Debug` form; exits 0 as soon
//! as every `--get-peers` found a peer, 1 if `--seconds` pass first.

use btdht::Id;
use btdht::addr::LocalAddresses;
use btdht::node::{AnnouncePort, Config, Dht, Event};
use btdht::time::Instant;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

enum Command {
    GetPeers(Id),
    Announce(Id, u16),
}

fn parse(words: &[&str]) -> Option<Command> {
    match words {
        ["get_peers", hash] => hash.parse().ok().map(Command::GetPeers),
        ["announce", hash, port] => Some(Command::Announce(hash.parse().ok()?, port.parse().ok()?)),
        _ => None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let (mut bind, mut bootstrap, mut wanted, mut seconds) = (
        "127.0.0.1:0".to_owned(),
        Vec::<SocketAddr>::new(),
        Vec::new(),
        30,
    );
    let mut config = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--allow-local" => config.routing.local_addresses = LocalAddresses::Allow,
            "--bind" => bind = args.next().ok_or("--bind ADDR")?,
            "--bootstrap" => bootstrap.push(args.next().ok_or("--bootstrap ADDR")?.parse()?),
            "--get-peers" => wanted.push(args.next().ok_or("--get-peers HEX")?.parse::<Id>()?),
            "--seconds" => seconds = args.next().ok_or("--seconds N")?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if bootstrap.is_empty() {
        return Err("give at least one --bootstrap address (this example has no default)".into());
    }

    // Commands reach the node through a channel: here from the flags and from stdin.
    let (commands, mut inbox) = mpsc::channel::<Command>(64);
    let stdin_commands = commands.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Some(command) = parse(&line.split_whitespace().collect::<Vec<_>>()) else {
                eprintln!("commands: get_peers HEX | announce HEX PORT");
                continue;
            };
            if stdin_commands.send(command).await.is_err() {
                return;
            }
        }
    });

    let socket = UdpSocket::bind(&bind).await?;
    let start = tokio::time::Instant::now();
    let now = || Instant::from_millis(start.elapsed().as_millis() as u64);
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))?;
    let mut dht = Dht::new(config, seed, now());
    println!("listening {} {}", socket.local_addr()?, dht.id());
    dht.bootstrap(now(), &bootstrap)?;

    let deadline = start + std::time::Duration::from_secs(seconds);
    let mut found: HashSet<Id> = HashSet::new();
    let mut buf = [0u8; btdht::krpc::MAX_DATAGRAM_LEN];
    let mut pending_flags = Some(wanted.clone());
    loop {
        // Send everything the node has queued, then hand its events to the application.
        while let Some(t) = dht.poll_transmit(now(), &mut buf) {
            socket.send_to(&buf[..t.len], t.to).await?;
        }
        while let Some(event) = dht.poll_event() {
            match event {
                Event::Bootstrapped { nodes } => {
                    println!("bootstrapped {nodes}");
                    for hash in pending_flags.take().unwrap_or_default() {
                        commands.send(Command::GetPeers(hash)).await?;
                    }
                }
                Event::Peer {
                    info_hash, peer, ..
                } => {
                    println!("peer {info_hash} {peer}");
                    found.insert(info_hash);
                }
                // Lookups done, announces, pongs: an application would act on these.
                other => println!("{other:?}"),
            }
        }
        if !wanted.is_empty() && wanted.iter().all(|h| found.contains(h)) {
            return Ok(ExitCode::SUCCESS);
        }
        // Wait for whichever comes first: a datagram, a command, the node's next timer.
        let timer = dht.poll_timeout().map_or(deadline, |t| {
            start + std::time::Duration::from_millis(t.as_millis())
        });
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let (n, from) = received?;
                dht.handle_datagram(now(), from, &buf[..n]);
            }
            Some(command) = inbox.recv() => {
                let started = match command {
                    Command::GetPeers(hash) => dht.get_peers(now(), hash),
                    Command::Announce(hash, port) => dht.announce(now(), hash, AnnouncePort::Port(port), false),
                };
                if let Err(e) = started {
                    eprintln!("command refused: {e}");
                }
            }
            _ = tokio::time::sleep_until(timer.min(deadline)) => {
                if tokio::time::Instant::now() >= deadline {
                    return Ok(ExitCode::from(u8::from(!wanted.is_empty())));
                }
                dht.handle_timeout(now());
            }
        }
    }
}
