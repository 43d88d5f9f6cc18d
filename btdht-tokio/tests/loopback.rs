//! Nodes on loopback finding each other, through the async and the blocking handles.
//!
//! Loopback only: every node binds 127.0.0.x or [::1] and is given its routers
//! explicitly (an empty list for the first), so none ever looks up the public routers.
//! Each IPv4 node has its own 127.0.0.x address; every wait is bounded.

use btdht::addr::Family;
use btdht::node::AnnouncePort;
use btdht_tokio::{Builder, Error, Handle, Id};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::timeout;

/// The longest any step may take.
const STEP: Duration = Duration::from_secs(20);

/// A node on `bind` that accepts loopback nodes and starts from `routers` alone.
fn node(bind: &str, routers: &[SocketAddr]) -> Builder {
    Builder::new()
        .bind(bind.parse().unwrap())
        .allow_local()
        .bootstrap(routers.iter().map(|a| a.to_string()))
}

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match timeout(STEP, f).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: not done within {STEP:?}"),
    }
}

/// Waits (bounded) until `dht`'s tables hold at least `v4` IPv4 and `v6` IPv6 nodes.
async fn wait_for_nodes(dht: &Handle, v4: usize, v6: usize) {
    within("routing tables filling", async {
        loop {
            let s = dht.stats().await.unwrap();
            if s.nodes_v4 >= v4 && s.nodes_v6 >= v6 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Every peer a `get_peers` lookup finds, once it settles.
async fn all_peers(dht: &Handle, info_hash: Id) -> Vec<SocketAddr> {
    within("get_peers", async {
        let mut peers = dht.get_peers(info_hash).await.unwrap();
        let mut found = Vec::new();
        while let Some(p) = peers.next_peer().await {
            found.push(p);
        }
        found
    })
    .await
}

fn addr(dht: &Handle, family: Family) -> SocketAddr {
    *dht.local_addrs()
        .iter()
        .find(|a| a.is_ipv4() == (family == Family::V4))
        .unwrap()
}

/// Whether this machine has IPv6 loopback (checked by binding it).
fn ipv6_loopback() -> bool {
    let ok = std::net::UdpSocket::bind("[::1]:0").is_ok();
    if !ok {
        println!("note: [::1] cannot be bound here; the IPv6 parts are skipped");
    }
    ok
}

/// A fresh path under the system's temporary directory.
fn temp_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("btdht-tokio-{}-{nanos}-{name}", std::process::id()))
}

#[tokio::test]
async fn two_handles_find_each_others_peers() {
    let a = within("a starts", node("127.0.0.1:0", &[]).spawn())
        .await
        .unwrap();
    let b = within(
        "b starts",
        node("127.0.0.2:0", &[addr(&a, Family::V4)]).spawn(),
    )
    .await
    .unwrap();
    within("b bootstraps", b.bootstrapped()).await.unwrap();
    wait_for_nodes(&a, 1, 0).await;

    let x = Id::from_bytes([0x11; 20]);
    let y = Id::from_bytes([0x22; 20]);
    let port = |p| AnnouncePort::Port(p);
    assert!(
        within("a announces", a.announce(x, port(1111), false))
            .await
            .unwrap()
            >= 1
    );
    assert!(
        within("b announces", b.announce(y, port(2222), false))
            .await
            .unwrap()
            >= 1
    );

    let from_a = all_peers(&a, y).await;
    let from_b = all_peers(&b, x).await;
    assert!(
        from_a.contains(&"127.0.0.2:2222".parse().unwrap()),
        "{from_a:?}"
    );
    assert!(
        from_b.contains(&"127.0.0.1:1111".parse().unwrap()),
        "{from_b:?}"
    );

    within("a stops", a.shutdown()).await.unwrap();
    within("b stops", b.shutdown()).await.unwrap();
}

#[tokio::test]
async fn a_dual_stack_handle_is_found_over_both_families() {
    if !ipv6_loopback() {
        return;
    }
    let d = within(
        "dual-stack d starts",
        node("127.0.0.20:0", &[])
            .bind("[::1]:0".parse().unwrap())
            .spawn(),
    )
    .await
    .unwrap();
    assert_eq!(d.local_addrs().len(), 2);
    let e = within(
        "IPv4 e starts",
        node("127.0.0.21:0", &[addr(&d, Family::V4)]).spawn(),
    )
    .await
    .unwrap();
    let f = within(
        "IPv6 f starts",
        node("[::1]:0", &[addr(&d, Family::V6)]).spawn(),
    )
    .await
    .unwrap();
    within("e bootstraps", e.bootstrapped()).await.unwrap();
    within("f bootstraps", f.bootstrapped()).await.unwrap();
    wait_for_nodes(&d, 1, 1).await;

    let h = Id::from_bytes([0x33; 20]);
    let accepted = within(
        "d announces",
        d.announce(h, AnnouncePort::Port(3333), false),
    )
    .await
    .unwrap();
    assert!(accepted >= 2, "one node of each family accepts: {accepted}");

    let from_e = all_peers(&e, h).await;
    let from_f = all_peers(&f, h).await;
    assert!(
        from_e.contains(&"127.0.0.20:3333".parse().unwrap()),
        "{from_e:?}"
    );
    assert!(
        from_f.contains(&"[::1]:3333".parse().unwrap()),
        "{from_f:?}"
    );
    assert!(from_e.iter().all(SocketAddr::is_ipv4), "{from_e:?}");
    assert!(from_f.iter().all(SocketAddr::is_ipv6), "{from_f:?}");

    for n in [d, e, f] {
        within("shutdown", n.shutdown()).await.unwrap();
    }
}

#[tokio::test]
async fn a_node_restarted_from_its_state_file_needs_no_router() {
    let path = temp_path("restart.state");
    let a = within("a starts", node("127.0.0.30:0", &[]).spawn())
        .await
        .unwrap();
    let a_addr = addr(&a, Family::V4);
    let b = within(
        "b starts",
        node("127.0.0.31:0", &[a_addr]).state_file(&path).spawn(),
    )
    .await
    .unwrap();
    within("b bootstraps", b.bootstrapped()).await.unwrap();
    let b_id = b.id().await.unwrap();
    within("b stops", b.shutdown()).await.unwrap();
    assert!(path.exists(), "the state was saved at shutdown");
    assert!(
        !temp_tmp(&path).exists(),
        "no temporary file is left behind"
    );

    // Meanwhile c announces through a.
    let c = within("c starts", node("127.0.0.32:0", &[a_addr]).spawn())
        .await
        .unwrap();
    within("c bootstraps", c.bootstrapped()).await.unwrap();
    let h = Id::from_bytes([0x44; 20]);
    assert!(
        within(
            "c announces",
            c.announce(h, AnnouncePort::Port(4444), false)
        )
        .await
        .unwrap()
            >= 1
    );

    // b again, from its state alone: no router at all.
    let b = within(
        "b restarts",
        node("127.0.0.31:0", &[]).state_file(&path).spawn(),
    )
    .await
    .unwrap();
    assert!(b.state_error().is_none());
    assert_eq!(b.id().await.unwrap(), b_id, "the same id");
    assert!(b.stats().await.unwrap().restored_nodes >= 1);
    let found = all_peers(&b, h).await;
    assert!(
        found.contains(&"127.0.0.32:4444".parse().unwrap()),
        "{found:?}"
    );

    for n in [a, b, c] {
        within("shutdown", n.shutdown()).await.unwrap();
    }
    let _ = std::fs::remove_file(&path);
}

fn temp_tmp(path: &std::path::Path) -> PathBuf {
    let mut name = path.file_name().unwrap().to_owned();
    name.push(".tmp");
    path.with_file_name(name)
}

#[tokio::test]
async fn dropping_a_peer_stream_cancels_its_lookup() {
    // A router that never answers keeps the lookup waiting for seconds.
    let silent = std::net::UdpSocket::bind("127.0.0.40:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let b = within("b starts", node("127.0.0.41:0", &[silent_addr]).spawn())
        .await
        .unwrap();
    let before = b.stats().await.unwrap().searches;
    let peers = b.get_peers(Id::from_bytes([0x55; 20])).await.unwrap();
    let running = b.stats().await.unwrap().searches;
    assert_eq!(running, before + 1, "the lookup runs");
    drop(peers);
    within("the lookup is cancelled", async {
        while b.stats().await.unwrap().searches != running - 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    within("b stops", b.shutdown()).await.unwrap();
}

#[tokio::test]
async fn a_corrupt_state_file_is_reported_and_the_node_starts_fresh() {
    let path = temp_path("corrupt.state");
    std::fs::write(&path, b"this is not a state").unwrap();
    let n = within(
        "n starts",
        node("127.0.0.50:0", &[]).state_file(&path).spawn(),
    )
    .await
    .unwrap();
    match n.state_error() {
        Some(Error::StateCorrupt { path: p, .. }) => assert_eq!(p, &path),
        other => panic!("expected StateCorrupt, got {other:?}"),
    }
    let id = n.id().await.unwrap();
    assert_eq!(n.stats().await.unwrap().restored_nodes, 0);
    within("n stops", n.shutdown()).await.unwrap();
    // The file now holds the fresh node's state.
    let bytes = std::fs::read(&path).unwrap();
    let restored = btdht::node::Dht::from_state(
        btdht::node::Config::default(),
        [1; 32],
        &bytes,
        btdht::time::Instant::ZERO,
    )
    .unwrap();
    assert_eq!(*restored.id(), id);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn an_unreadable_state_file_is_reported() {
    // A directory where the file should be: reading it fails.
    let path = temp_path("dir.state");
    std::fs::create_dir(&path).unwrap();
    let n = within(
        "n starts",
        node("127.0.0.51:0", &[]).state_file(&path).spawn(),
    )
    .await
    .unwrap();
    assert!(
        matches!(n.state_error(), Some(Error::StateIo { .. })),
        "{:?}",
        n.state_error()
    );
    // Saving over a directory fails too, and shutdown says so.
    let saved = within("n stops", n.shutdown()).await;
    assert!(matches!(saved, Err(Error::StateIo { .. })), "{saved:?}");
    let _ = std::fs::remove_dir(&path);
}

#[tokio::test]
async fn calls_after_shutdown_return_the_shutdown_error() {
    let n = within("n starts", node("127.0.0.60:0", &[]).spawn())
        .await
        .unwrap();
    let clone = n.clone();
    within("n stops", n.shutdown()).await.unwrap();
    assert!(matches!(n.stats().await, Err(Error::Shutdown)));
    assert!(matches!(clone.id().await, Err(Error::Shutdown)));
    assert!(matches!(
        clone.get_peers(Id::from_bytes([1; 20])).await,
        Err(Error::Shutdown)
    ));
    assert!(matches!(
        clone
            .announce(Id::from_bytes([1; 20]), AnnouncePort::Implied, false)
            .await,
        Err(Error::Shutdown)
    ));
    assert!(matches!(n.shutdown().await, Err(Error::Shutdown)));
    assert_eq!(Error::Shutdown.to_string(), "the DHT node has shut down");
}

#[tokio::test]
async fn settings_that_cannot_work_are_refused() {
    let two_v4 = Builder::new()
        .bind("127.0.0.70:0".parse().unwrap())
        .bind("127.0.0.71:0".parse().unwrap())
        .bootstrap(Vec::<String>::new())
        .spawn()
        .await;
    assert!(matches!(two_v4, Err(Error::InvalidConfig(_))), "{two_v4:?}");
    // A name without a port is refused before any DNS query.
    let unresolved = Builder::new()
        .bind("127.0.0.72:0".parse().unwrap())
        .bootstrap(["no-port-here"])
        .spawn()
        .await;
    assert!(
        matches!(unresolved, Err(Error::Resolve { .. })),
        "{unresolved:?}"
    );
    // A port in use.
    let taken = std::net::UdpSocket::bind("127.0.0.73:0").unwrap();
    let in_use = node(&taken.local_addr().unwrap().to_string(), &[])
        .spawn()
        .await;
    assert!(matches!(in_use, Err(Error::Bind { .. })), "{in_use:?}");
}

#[tokio::test]
async fn items_nodes_scrapes_samples_and_pings() {
    let a = within("a starts", node("127.0.0.80:0", &[]).spawn())
        .await
        .unwrap();
    let a_addr = addr(&a, Family::V4);
    let b = within("b starts", node("127.0.0.81:0", &[a_addr]).spawn())
        .await
        .unwrap();
    within("b bootstraps", b.bootstrapped()).await.unwrap();
    wait_for_nodes(&a, 1, 0).await;

    // BEP 44 immutable item.
    let put = within("b puts", b.put_immutable(b"12:Hello World!"))
        .await
        .unwrap();
    assert!(put.stored >= 1, "{put:?}");
    let got = within("a gets", a.get_immutable(put.target)).await.unwrap();
    assert_eq!(got.as_deref(), Some(&b"12:Hello World!"[..]));
    assert!(matches!(
        b.put_immutable(b"not bencode").await,
        Err(Error::InvalidValue(_))
    ));

    // find_node: a is the node b knows.
    let closest = within("find_node", b.find_node(Id::from_bytes([7; 20])))
        .await
        .unwrap();
    assert!(closest.iter().any(|n| n.addr == a_addr), "{closest:?}");

    // An announce, then its scrape and a's samples.
    let h = Id::from_bytes([0x66; 20]);
    assert!(
        within("b announces", b.announce(h, AnnouncePort::Port(6666), true))
            .await
            .unwrap()
            >= 1
    );
    let scrape = within("scrape", b.scrape(h)).await.unwrap();
    assert!(scrape.seeds >= 1, "{scrape:?}");
    let samples = within("samples", b.sample_infohashes(a_addr))
        .await
        .unwrap();
    assert!(samples.unwrap().samples.contains(&h));

    // Pings, answered and not.
    assert!(within("ping", b.ping(a_addr)).await.unwrap().is_some());
    assert!(b.external_address(Family::V4).await.is_ok());

    // keep_announced / stop_announcing.
    within("keep", b.keep_announced(h, AnnouncePort::Implied, false))
        .await
        .unwrap();
    assert!(b.stop_announcing(h).await.unwrap());
    assert!(!b.stop_announcing(h).await.unwrap());

    within("a stops", a.shutdown()).await.unwrap();
    within("b stops", b.shutdown()).await.unwrap();
}

#[cfg(feature = "ed25519")]
#[tokio::test]
async fn mutable_items_go_through() {
    use btdht::bencode::RawValue;
    use btdht::node::MutableItem;
    use btdht::store::{Ed25519Signer, SignatureSigner};

    let a = within("a starts", node("127.0.0.90:0", &[]).spawn())
        .await
        .unwrap();
    let b = within(
        "b starts",
        node("127.0.0.91:0", &[addr(&a, Family::V4)]).spawn(),
    )
    .await
    .unwrap();
    within("b bootstraps", b.bootstrapped()).await.unwrap();
    wait_for_nodes(&a, 1, 0).await;

    let signer = Ed25519Signer::from_secret_key(&[9; 32]);
    let value = b"5:hello";
    let item = MutableItem::sign(&signer, b"salt", 1, RawValue::new(value).unwrap()).unwrap();
    let put = within("b puts", b.put_mutable(value, item)).await.unwrap();
    assert!(put.stored >= 1, "{put:?}");
    let got = within("a gets", a.get_mutable(signer.public_key(), b"salt"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.value().as_bytes(), value);
    assert_eq!(got.seq(), Some(1));

    within("a stops", a.shutdown()).await.unwrap();
    within("b stops", b.shutdown()).await.unwrap();
}

#[test]
fn the_blocking_facade_finds_a_peer() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let a = node("127.0.0.100:0", &[]).spawn_blocking().unwrap();
        let a_addr = addr(a.as_async(), Family::V4);
        let b = node("127.0.0.101:0", &[a_addr]).spawn_blocking().unwrap();
        assert!(b.bootstrapped(STEP).unwrap().is_some(), "b bootstraps");
        let start = std::time::Instant::now();
        while a.stats().unwrap().nodes_v4 == 0 {
            assert!(start.elapsed() < STEP, "a learns b");
            std::thread::sleep(Duration::from_millis(20));
        }
        let h = Id::from_bytes([0x77; 20]);
        assert!(a.announce(h, AnnouncePort::Port(7777), false).unwrap() >= 1);
        let found: Vec<SocketAddr> = b.get_peers(h).unwrap().collect();
        assert!(
            found.contains(&"127.0.0.100:7777".parse().unwrap()),
            "{found:?}"
        );
        a.shutdown().unwrap();
        b.shutdown().unwrap();
        assert!(matches!(b.stats(), Err(Error::Shutdown)));
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the blocking facade's lookup finishes within 60 s");
}

#[tokio::test]
async fn the_blocking_facade_refuses_to_block_a_runtime() {
    let started = node("127.0.0.110:0", &[]).spawn_blocking();
    assert!(matches!(started, Err(Error::InsideRuntime)), "{started:?}");
}

#[test]
fn spawning_outside_a_runtime_is_an_error() {
    // Polled once by hand, with no runtime: the check comes before any await.
    let mut spawn = std::pin::pin!(node("127.0.0.111:0", &[]).spawn());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match spawn.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(Error::Runtime(_))) => {}
        other => panic!(
            "expected Error::Runtime, got {:?}",
            other.map(|r| r.map(|_| ()))
        ),
    }
}

#[tokio::test]
async fn a_failed_bootstrap_resolves_the_routers_again_and_retries_at_once() {
    // The router does not answer at first: the bootstrap fails fast (a short timeout,
    // though past the node's first maintenance tick, a second after start: a node whose
    // tables never held a node and whose bootstrap fails before that tick is never
    // ticked again, a gap of the core).
    let silent = std::net::UdpSocket::bind("127.0.0.120:0").unwrap();
    let router = silent.local_addr().unwrap();
    let mut builder = node("127.0.0.121:0", &[router]);
    builder.config_mut().query_timeout = Duration::from_millis(600);
    let b = within("b starts", builder.spawn()).await.unwrap();
    within("the bootstrap fails", async {
        while b.stats().await.unwrap().bootstrap_failures == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // Now a node answers there. The driver resolved the router again and handed it to
    // the node (`set_bootstrap`), which retries at its next tick: well before the 15 s
    // its own backoff would wait.
    drop(silent);
    let a = within(
        "a starts on the router's address",
        node(&router.to_string(), &[]).spawn(),
    )
    .await
    .unwrap();
    let retried = timeout(Duration::from_secs(5), b.bootstrapped()).await;
    assert!(matches!(retried, Ok(Ok(n)) if n >= 1), "{retried:?}");
    within("a stops", a.shutdown()).await.unwrap();
    within("b stops", b.shutdown()).await.unwrap();
}
