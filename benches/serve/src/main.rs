//! Serving throughput on loopback, side by side in one run: queries answered per second
//! by (a) a bare UDP echo loop on tokio (the ceiling: a server that does no work),
//! (b) a `btdht-tokio` node and (c) a `mainline` node in server mode, under the same
//! load; and the resident memory of an idle `btdht-tokio` node.
//!
//! ```sh
//! cd benches/serve && cargo run --release             # the table of docs/BENCHMARKS.md
//! cargo run --release -- --seconds 10 --sources 128   # longer, more sources
//! ```
//!
//! The load generator runs on its own thread and tokio runtime, from `--sources` UDP
//! sockets bound to distinct addresses of 127.0.0.0/8 (127.0.1.1, 127.0.1.2, …), each
//! keeping `--window` queries in flight: a closed loop, so a server is never sent more
//! than it can answer plus the window. The queries are a fixed rotation of `ping`,
//! `find_node` (a random target) and `get_peers` (a random info-hash, nothing stored:
//! the answer carries nodes and a token), the same bytes for every server. Only
//! datagrams that are KRPC responses (`y` = `r`) count for (b) and (c); every datagram
//! counts for (a). Each server runs on a thread of its own (tokio's current-thread
//! runtime for (a) and (b); `mainline` runs its own thread).
//!
//! Every socket is on loopback; nothing is sent anywhere else.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

struct Options {
    seconds: u64,
    sources: u16,
    window: usize,
    only: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        seconds: 5,
        sources: 64,
        window: 16,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--seconds" => o.seconds = value("--seconds")?.parse().map_err(|e| format!("{e}"))?,
            "--sources" => o.sources = value("--sources")?.parse().map_err(|e| format!("{e}"))?,
            "--window" => o.window = value("--window")?.parse().map_err(|e| format!("{e}"))?,
            "--only" => o.only = Some(value("--only")?),
            "--idle-rss" => {
                idle_rss_child(&value("--idle-rss")?);
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.sources == 0 || o.sources > 4096 || o.window == 0 || o.seconds == 0 {
        return Err("--sources 1..=4096, --window and --seconds at least 1".into());
    }
    Ok(o)
}

/// A small deterministic generator for ids (xorshift64*), the same for every server.
struct Rand(u64);

impl Rand {
    fn bytes20(&mut self) -> [u8; 20] {
        let mut out = [0u8; 20];
        for chunk in out.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            let n = chunk.len();
            chunk.copy_from_slice(&v[..n]);
        }
        out
    }
}

/// One KRPC query, written by hand: `kind` 0 ping, 1 find_node, 2 get_peers.
fn query(kind: usize, t: u32, id: &[u8; 20], arg: &[u8; 20]) -> Vec<u8> {
    let mut q = Vec::with_capacity(128);
    q.extend_from_slice(b"d1:ad2:id20:");
    q.extend_from_slice(id);
    match kind {
        0 => q.extend_from_slice(b"e1:q4:ping"),
        1 => {
            q.extend_from_slice(b"6:target20:");
            q.extend_from_slice(arg);
            q.extend_from_slice(b"e1:q9:find_node");
        }
        _ => {
            q.extend_from_slice(b"9:info_hash20:");
            q.extend_from_slice(arg);
            q.extend_from_slice(b"e1:q9:get_peers");
        }
    }
    // Four bytes of transaction id: `mainline` drops queries with any other length.
    q.extend_from_slice(b"1:t4:");
    q.extend_from_slice(&t.to_be_bytes());
    q.extend_from_slice(b"1:y1:qe");
    q
}

/// Whether a datagram is a KRPC response (`1:y1:r`), without decoding it.
fn is_response(d: &[u8]) -> bool {
    d.windows(6).any(|w| w == b"1:y1:r")
}

/// The address of source `i`: 127.0.1.1, 127.0.1.2, …, 127.0.2.1, …
fn source_ip(i: u16) -> Ipv4Addr {
    let [hi, lo] = (i + 256 + 1).to_be_bytes();
    Ipv4Addr::new(127, 0, hi, lo.max(1))
}

/// Runs the load against `server` for `warmup + seconds`; returns the answers counted
/// in the measured seconds.
fn load(server: SocketAddr, o: &Options, count_all: bool) -> Result<u64, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let answered = Arc::new(AtomicU64::new(0));
        let counting = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let mut rand = Rand(0x9e37_79b9_7f4a_7c15);
        let mut tasks = Vec::new();
        for s in 0..o.sources {
            let sock = UdpSocket::bind((source_ip(s), 0))
                .await
                .map_err(|e| format!("bind {}: {e}", source_ip(s)))?;
            sock.connect(server).await.map_err(|e| e.to_string())?;
            let id = rand.bytes20();
            let queries: Vec<Vec<u8>> = (0..48u32)
                .map(|t| query((t % 3) as usize, t, &id, &rand.bytes20()))
                .collect();
            let (answered, counting, stop) = (answered.clone(), counting.clone(), stop.clone());
            let window = o.window;
            tasks.push(tokio::spawn(async move {
                let mut next = 0usize;
                let mut buf = [0u8; 2048];
                let send = |sock: &UdpSocket, next: &mut usize| {
                    let q = &queries[*next % queries.len()];
                    *next += 1;
                    // A full send buffer loses a query; the refill below makes up for it.
                    let _ = sock.try_send(q);
                };
                for _ in 0..window {
                    send(&sock, &mut next);
                }
                while !stop.load(Ordering::Relaxed) {
                    match tokio::time::timeout(Duration::from_millis(100), sock.recv(&mut buf))
                        .await
                    {
                        Ok(Ok(n)) => {
                            if counting.load(Ordering::Relaxed)
                                && (count_all || is_response(&buf[..n]))
                            {
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            send(&sock, &mut next);
                        }
                        // Nothing for 100 ms: queries were lost; fill the window again.
                        Ok(Err(_)) | Err(_) => {
                            for _ in 0..window {
                                send(&sock, &mut next);
                            }
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        counting.store(true, Ordering::Relaxed);
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(o.seconds)).await;
        counting.store(false, Ordering::Relaxed);
        let elapsed = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        Ok((answered.load(Ordering::Relaxed) as f64 / elapsed) as u64)
    })
}

/// A server on its own thread with its own current-thread runtime; returns its address
/// and a flag that stops it.
fn echo_server() -> Result<(SocketAddr, Arc<AtomicBool>), String> {
    let std_sock = StdUdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    std_sock.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = std_sock.local_addr().map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let sock = UdpSocket::from_std(std_sock).expect("a tokio socket");
            let mut buf = [0u8; 2048];
            while !stopping.load(Ordering::Relaxed) {
                if let Ok(Ok((n, from))) =
                    tokio::time::timeout(Duration::from_millis(100), sock.recv_from(&mut buf)).await
                {
                    let _ = sock.send_to(&buf[..n], from).await;
                }
            }
        });
    });
    Ok((addr, stop))
}

/// The `btdht-tokio` node under test: defaults, but loopback nodes allowed (the load
/// comes from 127.0.0.0/8) and the per-source rate limit raised out of the way, so the
/// figure is the node's serving cost and not its flood protection.
fn btdht_config() -> btdht_tokio::btdht::node::Config {
    let mut config = btdht_tokio::btdht::node::Config::default();
    config.rate_limit.per_second = 1_000_000;
    config.rate_limit.burst = 1_000_000;
    config
}

fn btdht_server() -> Result<(SocketAddr, tokio::sync::oneshot::Sender<()>), String> {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let dht = btdht_tokio::Builder::new()
                .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .bootstrap(Vec::<String>::new())
                .config(btdht_config())
                .allow_local()
                .spawn()
                .await;
            match dht {
                Ok(dht) => {
                    let _ = addr_tx.send(Ok(dht.local_addrs()[0]));
                    let _ = stop_rx.await;
                    let _ = dht.shutdown().await;
                }
                Err(e) => {
                    let _ = addr_tx.send(Err(e.to_string()));
                }
            }
        });
    });
    let addr = addr_rx.recv().map_err(|e| e.to_string())??;
    Ok((addr, stop_tx))
}

fn mainline_server() -> Result<(SocketAddr, mainline::Dht), String> {
    let dht = mainline::Dht::builder()
        .server_mode()
        .no_bootstrap()
        .bind_address(Ipv4Addr::LOCALHOST)
        .port(0)
        .build()
        .map_err(|e| e.to_string())?;
    let addr = dht.info().local_addr();
    Ok((
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, addr.port())),
        dht,
    ))
}

/// In a child process: starts an idle node (`btdht` on 127.0.0.1, no routers; or
/// `runtime` for the same process with only a runtime and a socket), waits, and prints
/// its resident memory in KiB.
fn idle_rss_child(what: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let _keep = if what == "btdht" {
            Some(
                btdht_tokio::Builder::new()
                    .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .bootstrap(Vec::<String>::new())
                    .spawn()
                    .await
                    .expect("a node"),
            )
        } else {
            None
        };
        let _sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a socket");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        println!("{}", rss_kib().unwrap_or(0));
    });
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn idle_rss(what: &str) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .args(["--idle-rss", what])
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("serve: {e}");
            std::process::exit(2);
        }
    };
    let wants = |name: &str| o.only.as_deref().is_none_or(|only| only == name);
    println!(
        "# {} sources in 127.0.0.0/8, {} queries in flight each, {} s measured after 1 s warm-up",
        o.sources, o.window, o.seconds
    );
    let mut rows: Vec<(&str, u64)> = Vec::new();
    let run = |name: &'static str, rows: &mut Vec<(&str, u64)>, r: Result<u64, String>| match r {
        Ok(qps) => {
            println!("{name:<12} {qps:>9} answers/s");
            rows.push((name, qps));
        }
        Err(e) => {
            eprintln!("serve: {name}: {e}");
            std::process::exit(1);
        }
    };
    if wants("echo") {
        let r = echo_server().and_then(|(addr, stop)| {
            let r = load(addr, &o, true);
            stop.store(true, Ordering::Relaxed);
            r
        });
        run("echo", &mut rows, r);
    }
    if wants("btdht-tokio") {
        let r = btdht_server().and_then(|(addr, stop)| {
            let r = load(addr, &o, false);
            let _ = stop.send(());
            r
        });
        run("btdht-tokio", &mut rows, r);
    }
    if wants("mainline") {
        let r = mainline_server().and_then(|(addr, dht)| {
            let r = load(addr, &o, false);
            drop(dht);
            r
        });
        run("mainline", &mut rows, r);
    }
    let get = |name: &str| {
        rows.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, q)| *q as f64)
    };
    println!();
    println!("| server | answers/s | of the echo ceiling | btdht-tokio / server |");
    println!("|---|---|---|---|");
    for (name, qps) in &rows {
        let ceiling = get("echo").map_or("—".into(), |e| {
            format!("{:.0} %", 100.0 * *qps as f64 / e)
        });
        let ratio = get("btdht-tokio").map_or("—".into(), |b| format!("{:.2}×", b / *qps as f64));
        println!("| {name} | {qps} | {ceiling} | {ratio} |");
    }
    if o.only.is_none() {
        let node = idle_rss("btdht");
        let bare = idle_rss("runtime");
        if let (Some(node), Some(bare)) = (node, bare) {
            println!();
            println!(
                "idle RSS: btdht-tokio node (default config, 127.0.0.1, no routers) {node} KiB; the same process with only a runtime and a socket {bare} KiB; the node adds {} KiB",
                node.saturating_sub(bare)
            );
        }
    }
}
