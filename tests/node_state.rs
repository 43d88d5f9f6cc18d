//! The node's saved state: what it keeps, what a node started from it does, and the
//! states it refuses.

mod common;

use btdht::Id;
use btdht::addr::Family;
use btdht::krpc::{Body, Message, QueryKind};
use btdht::node::{AnnouncePort, Dht, Event, STATE_VERSION, StateError};
use btdht::time::Instant;
use common::net::{Net, addr, config};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `n` nodes bootstrapped through node 0, settled.
fn joined(n: usize) -> Net {
    let mut net = Net::new(n, |_| config());
    for i in 1..n {
        let now = net.now;
        net.dht(i).bootstrap(now, &[addr(0)]).unwrap();
        net.run(Duration::from_millis(200));
    }
    net.run(Duration::from_secs(30));
    net
}

/// `dht`'s state.
fn state_of(dht: &Dht) -> Vec<u8> {
    let mut buf = vec![0u8; dht.state_len()];
    let n = dht.save_state(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// What `dht` sends from `now` to `until`, woken at `poll_timeout` (nobody answers).
fn sent_until(dht: &mut Dht, mut now: Instant, until: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    loop {
        while let Some(t) = dht.poll_transmit(now, &mut buf) {
            out.push((t.to, buf[..t.len].to_vec()));
        }
        match dht.poll_timeout() {
            Some(t) if t <= until => {
                now = t.max(now + Duration::from_millis(1));
                dht.handle_timeout(now);
            }
            _ => return out,
        }
    }
}

/// A node that knows its external address (and took a secure id for it), and its state.
fn with_external_address() -> (Dht, Vec<u8>) {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], now);
    dht.set_external_address(now, "203.0.113.5".parse().unwrap());
    let state = state_of(&dht);
    (dht, state)
}

#[test]
fn a_restored_node_has_the_same_id_and_external_address() {
    let (dht, state) = with_external_address();
    let restored = Dht::from_state(config(), [99; 32], &state, Instant::from_millis(5)).unwrap();
    assert_eq!(restored.id(), dht.id());
    let ip: IpAddr = "203.0.113.5".parse().unwrap();
    assert_eq!(restored.external_address(Family::V4), Some(ip));
    assert!(
        restored.id().is_secure_for(ip),
        "the secure id it took for that address"
    );
}

#[test]
fn a_restored_node_gets_back_into_the_network_through_its_saved_nodes_alone() {
    let mut net = joined(30);
    // Node 9 announces a torrent; node 5 is restarted later.
    let h = Id::sha1(b"announced before the restart");
    let now = net.now;
    net.dht(9)
        .announce(now, h, AnnouncePort::Port(4009), false)
        .unwrap();
    net.run(Duration::from_secs(30));
    let state = state_of(net.dht(5));
    let saved: BTreeSet<SocketAddr> = net
        .dht(5)
        .table(Family::V4)
        .unwrap()
        .iter()
        .map(|e| e.addr())
        .collect();
    assert!(saved.len() >= 8);
    let id = *net.dht(5).id();

    let now = net.now;
    let mut restored = Dht::from_state(config(), [99; 32], &state, now).unwrap();
    assert!(
        restored.bootstrap_addrs().is_empty(),
        "no bootstrap address given"
    );
    assert_eq!(
        restored.table(Family::V4).unwrap().len(),
        0,
        "saved nodes are not trusted before they answer"
    );
    // Without being told, it asks the saved nodes within a second: a lookup of its own
    // id, and pings.
    let mut asked = Vec::new();
    for (to, bytes) in sent_until(&mut restored, now, now + Duration::from_secs(1)) {
        match Message::decode(&bytes).unwrap().body {
            Body::Query(q) => match q.kind {
                QueryKind::Ping => asked.push((to, None)),
                QueryKind::FindNode { target } => asked.push((to, Some(target))),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
    assert!(asked.iter().all(|(to, _)| saved.contains(to)), "{asked:?}");
    assert!(asked.iter().any(|(_, k)| k.is_none()), "pings: {asked:?}");
    assert!(
        asked.iter().any(|(_, k)| *k == Some(id)),
        "a lookup of its id: {asked:?}"
    );
    // The queries were taken off the wire above; the new node takes the old one's place
    // and asks again (retries) as the network runs.
    net.nodes[5].1 = restored;
    net.events[5].clear();
    net.run(Duration::from_secs(30));
    assert!(
        net.dht(5).stats().nodes() >= 8,
        "back in the tables: {}",
        net.dht(5).stats().nodes()
    );
    let now = net.now;
    let q = net.dht(5).get_peers(now, h).unwrap();
    net.run(Duration::from_secs(10));
    let peer = SocketAddr::new(addr(9).ip(), 4009);
    assert!(
        net.events[5]
            .iter()
            .any(|e| matches!(e, Event::Peer { query, peer: p, .. } if *query == q && *p == peer)),
        "the peer announced before the restart is found"
    );
}

#[test]
fn saved_nodes_enter_the_table_only_when_they_answer() {
    let mut net = joined(12);
    let state = state_of(net.dht(5));
    let now = net.now;
    let mut restored = Dht::from_state(config(), [99; 32], &state, now).unwrap();
    let mut pings = Vec::new();
    let soon = now + Duration::from_secs(1);
    for (to, bytes) in sent_until(&mut restored, now, soon) {
        let m = Message::decode(&bytes).unwrap();
        if matches!(&m.body, Body::Query(q) if q.kind == QueryKind::Ping) {
            pings.push((to, m.transaction_id.to_vec()));
        }
    }
    assert!(pings.len() >= 2, "the saved nodes are pinged: {pings:?}");
    // One of them answers; the others never do.
    let (to, tid) = &pings[0];
    let id = *net.nodes[net.index(*to).unwrap()].1.id();
    let mut answer = b"d1:rd2:id20:".to_vec();
    answer.extend(id.as_bytes());
    answer.extend(format!("e1:t{}:", tid.len()).as_bytes());
    answer.extend(tid);
    answer.extend(b"1:y1:re");
    restored.handle_datagram(soon, *to, &answer);
    sent_until(&mut restored, soon, soon + Duration::from_secs(60));
    let table = restored.table(Family::V4).unwrap();
    let ids: Vec<Id> = table.iter().map(|e| *e.id()).collect();
    assert_eq!(ids, [id], "only the node that answered");
}

#[test]
fn a_state_of_another_version_is_refused() {
    let (_, state) = with_external_address();
    let version = format!("7:versioni{STATE_VERSION}e");
    let two = state_with(&state, version.as_bytes(), b"7:versioni2e");
    assert_eq!(
        Dht::from_state(config(), [9; 32], &two, Instant::from_millis(0)).err(),
        Some(StateError::UnknownVersion(2))
    );
}

/// `state` with `from` replaced by `to`.
fn state_with(state: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = state
        .windows(from.len())
        .position(|w| w == from)
        .expect("found");
    let mut out = state[..at].to_vec();
    out.extend(to);
    out.extend(&state[at + from.len()..]);
    out
}

#[test]
fn a_truncated_state_is_refused() {
    let mut net = joined(12);
    let state = state_of(net.dht(5));
    assert!(
        state.len() > 100,
        "a state with nodes: {} bytes",
        state.len()
    );
    let now = net.now;
    for len in 0..state.len() {
        assert_eq!(
            Dht::from_state(config(), [9; 32], &state[..len], now).err(),
            Some(StateError::Corrupt("state")),
            "cut at {len}"
        );
    }
}

#[test]
fn random_bytes_and_damaged_states_are_refused_or_read_never_a_panic() {
    let mut net = joined(12);
    let state = state_of(net.dht(5));
    let now = net.now;
    // A small xorshift: reproducible, no dependency.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..2000 {
        let len = (next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        assert!(
            matches!(
                Dht::from_state(config(), [9; 32], &bytes, now),
                Err(StateError::Corrupt(_) | StateError::UnknownVersion(_))
            ),
            "{bytes:?}"
        );
    }
    // A real state with a few bytes changed may still read (a node id changed, say):
    // either way, no panic.
    for _ in 0..2000 {
        let mut bytes = state.clone();
        for _ in 0..1 + next() % 3 {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        let _ = Dht::from_state(config(), [9; 32], &bytes, now);
    }
}

#[test]
fn save_state_into_a_short_buffer_says_how_many_bytes_it_needs() {
    let mut net = joined(12);
    let dht = net.dht(5);
    let needed = dht.state_len();
    for len in [0, 1, needed / 2, needed - 1] {
        let mut buf = vec![0u8; len];
        assert_eq!(
            dht.save_state(&mut buf),
            Err(StateError::BufferTooSmall { needed }),
            "a buffer of {len}"
        );
    }
    let mut buf = vec![0u8; needed + 10];
    assert_eq!(dht.save_state(&mut buf), Ok(needed));
}

/// A state of version 1 with id `id` and these IPv4 nodes.
fn state_with_nodes(id: Id, nodes: &[(Id, SocketAddr)]) -> Vec<u8> {
    let mut compact = Vec::new();
    for (nid, addr) in nodes {
        let SocketAddr::V4(a) = addr else {
            panic!("IPv4 only")
        };
        compact.extend(nid.as_bytes());
        compact.extend(a.ip().octets());
        compact.extend(a.port().to_be_bytes());
    }
    let mut s = b"d2:id20:".to_vec();
    s.extend(id.as_bytes());
    s.extend(format!("5:nodes{}:", compact.len()).as_bytes());
    s.extend(&compact);
    s.extend(format!("7:versioni{STATE_VERSION}ee").as_bytes());
    s
}

#[test]
fn saved_nodes_are_pinged_eight_a_second() {
    let nodes: Vec<(Id, SocketAddr)> = (0..40u32)
        .map(|i| {
            let addr = SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8 + 1], 6881));
            (Id::sha1(&i.to_be_bytes()), addr)
        })
        .collect();
    let state = state_with_nodes(Id::from_bytes([7; 20]), &nodes);
    let start = Instant::from_millis(0);
    let mut dht = Dht::from_state(config(), [9; 32], &state, start).unwrap();
    // When each saved node was first pinged (a ping unanswered is sent again once).
    let mut first = std::collections::BTreeMap::<SocketAddr, Instant>::new();
    let mut buf = [0u8; 1500];
    let mut now = start;
    while now < start + Duration::from_secs(10) {
        while let Some(t) = dht.poll_transmit(now, &mut buf) {
            let m = Message::decode(&buf[..t.len]).unwrap();
            if matches!(&m.body, Body::Query(q) if q.kind == QueryKind::Ping) {
                first.entry(t.to).or_insert(now);
            }
        }
        now = dht
            .poll_timeout()
            .unwrap()
            .max(now + Duration::from_millis(1));
        dht.handle_timeout(now);
    }
    assert_eq!(first.len(), 40, "every saved node is pinged");
    let mut per_second = std::collections::BTreeMap::<u64, usize>::new();
    for at in first.values() {
        *per_second.entry(at.as_millis() / 1000).or_default() += 1;
    }
    assert!(per_second.values().all(|&n| n <= 8), "{per_second:?}");
    assert!(
        per_second.keys().all(|&s| s <= 5),
        "all within five seconds: {per_second:?}"
    );
}

/// The IPv4 nodes a state holds.
fn saved_nodes(state: &[u8]) -> BTreeSet<(Id, SocketAddr)> {
    let value = btdht::bencode::Value::decode(state).unwrap();
    let Some(nodes) = value.get(b"nodes").and_then(|v| v.as_bytes()) else {
        return BTreeSet::new();
    };
    nodes
        .chunks(26)
        .map(|c| {
            let id = Id::from_bytes(c[..20].try_into().unwrap());
            let ip = std::net::Ipv4Addr::new(c[20], c[21], c[22], c[23]);
            let port = u16::from_be_bytes([c[24], c[25]]);
            (id, SocketAddr::from((ip, port)))
        })
        .collect()
}

#[test]
fn a_node_restarted_before_its_saved_nodes_answered_saves_them_again() {
    let nodes: Vec<(Id, SocketAddr)> = (0..40u32)
        .map(|i| {
            let addr = SocketAddr::from(([10, 0, 0, i as u8 + 1], 6881));
            (Id::sha1(&i.to_be_bytes()), addr)
        })
        .collect();
    let state = state_with_nodes(Id::from_bytes([7; 20]), &nodes);
    assert_eq!(saved_nodes(&state).len(), 40);
    let start = Instant::from_millis(0);
    let mut dht = Dht::from_state(config(), [9; 32], &state, start).unwrap();
    sent_until(&mut dht, start, start + Duration::from_secs(2));
    assert_eq!(dht.table(Family::V4).unwrap().len(), 0, "none answered");
    let again = state_of(&dht);
    assert_eq!(saved_nodes(&again), nodes.iter().copied().collect());
}
