//! A node that lives for weeks, by itself: it gets back in touch after an outage, says
//! when bootstrapping failed, learns its external address from votes and takes a secure
//! id for it, keeps its standing announces and items fresh; and the matching rules an
//! answer must pass. The saved state has its own file (`node_state.rs`).

mod common;

use btdht::Id;
use btdht::addr::Family;
use btdht::krpc::{Body, ErrorCode, ErrorMessage, Message, QueryKind, Response};
use btdht::node::{AnnouncePort, CommandError, Config, Dht, Event, OwnId, QueryId};
use btdht::time::Instant;
use common::net::{Net, addr, config};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// What a node nobody answers sent and reported, with the times.
#[derive(Default)]
struct Log {
    sent: Vec<(Instant, SocketAddr, Vec<u8>)>,
    events: Vec<(Instant, Event)>,
}

impl Log {
    /// Takes what `dht` has to send and to report at `now`.
    fn drain(&mut self, dht: &mut Dht, now: Instant) {
        let mut buf = [0u8; 1500];
        while let Some(t) = dht.poll_transmit(now, &mut buf) {
            self.sent.push((now, t.to, buf[..t.len].to_vec()));
        }
        while let Some(e) = dht.poll_event() {
            self.events.push((now, e));
        }
    }

    /// Drives `dht` from `now` to `until` as a driver whose socket hears nothing does:
    /// it wakes only at `poll_timeout` (which must then lie ahead: a deadline left
    /// behind would have the driver spin).
    fn run(&mut self, dht: &mut Dht, now: Instant, until: Instant) {
        self.run_until(dht, now, until, |_| false);
    }

    /// Like [`Log::run`], but stops as soon as an event `stop` accepts comes; the time it
    /// stopped.
    fn run_until(
        &mut self,
        dht: &mut Dht,
        mut now: Instant,
        until: Instant,
        stop: impl Fn(&Event) -> bool,
    ) -> Instant {
        let stopped = |log: &Log| log.events.iter().any(|(_, e)| stop(e));
        self.drain(dht, now);
        while let Some(t) = dht.poll_timeout() {
            if t > until || stopped(self) {
                break;
            }
            now = t.max(now);
            dht.handle_timeout(now);
            self.drain(dht, now);
            if let Some(next) = dht.poll_timeout() {
                assert!(
                    next > now,
                    "handle_timeout({now:?}) left a deadline at {next:?}"
                );
            }
        }
        now
    }

    /// The queries sent to `to`, with their times.
    fn queries_to(&self, to: SocketAddr) -> impl Iterator<Item = (Instant, Message<'_>)> + '_ {
        self.sent
            .iter()
            .filter(move |(_, a, _)| *a == to)
            .map(|(at, _, b)| (*at, Message::decode(b).unwrap()))
            .filter(|(_, m)| matches!(m.body, Body::Query(_)))
    }
}

/// A response to transaction `tid` from node `id`, saying it saw the query come from
/// `seen` (BEP 42 `ip`) if given.
fn response(tid: &[u8], id: Id, seen: Option<SocketAddr>) -> Vec<u8> {
    let m = Message {
        transaction_id: tid,
        version: None,
        ip: seen,
        read_only: false,
        body: Body::Response(Response::new(id)),
    };
    let mut buf = [0u8; 1500];
    let n = m.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// An error answer (201) to transaction `tid`, naming its sender `id` in an `r`
/// dictionary as libtorrent does, or not.
fn error_answer(tid: &[u8], id: Option<Id>) -> Vec<u8> {
    let mut e = ErrorMessage::new(ErrorCode::Generic, b"refused");
    e.id = id;
    let m = Message {
        transaction_id: tid,
        version: None,
        ip: None,
        read_only: false,
        body: Body::Error(e),
    };
    let mut buf = [0u8; 1500];
    let n = m.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// The node id a made-up node at `addr` has.
fn id_of(addr: SocketAddr) -> Id {
    Id::sha1(addr.to_string().as_bytes())
}

/// A datagram a node sent.
#[derive(Debug)]
struct Sent {
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl Sent {
    fn tid(&self) -> Vec<u8> {
        Message::decode(&self.bytes)
            .unwrap()
            .transaction_id
            .to_vec()
    }

    fn is_ping(&self) -> bool {
        matches!(Message::decode(&self.bytes).unwrap().body,
            Body::Query(q) if q.kind == QueryKind::Ping)
    }

    /// The target, if it is a find_node.
    fn find_node(&self) -> Option<Id> {
        match Message::decode(&self.bytes).unwrap().body {
            Body::Query(q) => match q.kind {
                QueryKind::FindNode { target } => Some(target),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The datagrams `dht` sends now.
fn sent_now(dht: &mut Dht, now: Instant) -> Vec<Sent> {
    let mut buf = [0u8; 1500];
    std::iter::from_fn(|| {
        let t = dht.poll_transmit(now, &mut buf)?;
        Some(Sent {
            to: t.to,
            bytes: buf[..t.len].to_vec(),
        })
    })
    .collect()
}

/// `dht` pings `from`, which answers as `id`, having seen the query come from `seen`.
fn pinged_and_answered(
    dht: &mut Dht,
    now: Instant,
    from: SocketAddr,
    id: Id,
    seen: Option<IpAddr>,
) {
    dht.ping(now, from).unwrap();
    let ping = sent_now(dht, now)
        .into_iter()
        .find(|s| s.to == from && s.is_ping())
        .expect("the ping");
    let seen = seen.map(|ip| SocketAddr::new(ip, 6881));
    dht.handle_datagram(now, from, &response(&ping.tid(), id, seen));
}

/// Every event waiting.
fn events(dht: &mut Dht) -> Vec<Event> {
    std::iter::from_fn(|| dht.poll_event()).collect()
}

/// `n` nodes on the in-memory network, every one bootstrapped through node 0; events
/// so far cleared.
fn joined(n: usize, cfg: impl Fn(usize) -> Config) -> Net {
    let mut net = Net::new(n, cfg);
    for i in 1..n {
        let now = net.now;
        net.dht(i).bootstrap(now, &[addr(0)]).unwrap();
        net.run(Duration::from_millis(200));
    }
    net.run(Duration::from_secs(30));
    for e in &mut net.events {
        e.clear();
    }
    net
}

/// Runs `net` until `at`.
fn run_until(net: &mut Net, at: Instant) {
    let left = at.saturating_duration_since(net.now);
    net.run(left);
}

// ---------------------------------------------------------------------------------------
// Losing touch and getting back

#[cfg(feature = "sim")]
mod outage {
    use super::*;
    use btdht::sim::scenario::Scenario;
    use btdht::sim::{LinkModel, Sim};

    const OUTAGE: Duration = Duration::from_secs(3 * 3600);

    #[test]
    fn a_network_cut_off_for_three_hours_is_back_in_touch_within_two_minutes_with_no_command() {
        let report = Scenario {
            nodes: 150,
            lookups: 20,
            outage: Some(OUTAGE),
            recovery: Duration::from_secs(120),
            ..Scenario::default()
        }
        .run(|_| {});
        let recovered = report.recovered.expect("an outage was run");
        assert!(
            recovered >= 0.99,
            "{recovered}: the share of nodes whose tables hold k nodes that answered in the 120 s after the outage"
        );
        // And the lookups that follow find the true closest nodes and the peers.
        let s = report.summary();
        assert!(s.correct_rate >= 0.95, "{s:?}");
        assert!(s.found_rate >= 0.95, "{s:?}");
    }

    /// A network of `n` nodes bootstrapped through node 0 (the only bootstrap address any
    /// node knows), settled for 10 minutes.
    fn network(n: usize) -> Sim {
        let mut sim = Sim::new(3, LinkModel::default());
        let first = sim.add_node(Config::default());
        let via = [sim.addr(first)];
        for _ in 1..n {
            let i = sim.add_node(Config::default());
            sim.command(i, |d, now| d.bootstrap(now, &via)).unwrap();
            sim.run_for(Duration::from_millis(50));
        }
        sim.run_for(10 * MINUTE);
        while sim.poll_event().is_some() {}
        sim
    }

    /// Bootstraps a node that lost touch at time 0 starts by `end` at most: the first
    /// after 15 s, each wait then doubling up to 5 minutes.
    fn most_bootstraps(end: Duration) -> u64 {
        let (mut at, mut wait, mut n) = (Duration::ZERO, Duration::from_secs(15), 0);
        loop {
            at += wait;
            if at > end {
                return n;
            }
            n += 1;
            wait = (wait * 2).min(Duration::from_secs(300));
        }
    }

    #[test]
    fn every_node_back_in_touch_after_an_outage_says_bootstrapped() {
        let mut sim = network(60);
        sim.set_network(false);
        sim.run_for(Duration::from_secs(3600));
        while sim.poll_event().is_some() {}
        sim.set_network(true);
        let back = sim.now();
        sim.run_for(Duration::from_secs(120));
        let mut said = vec![false; sim.len()];
        while let Some((i, e)) = sim.poll_event() {
            said[i] |= matches!(e, Event::Bootstrapped { .. });
        }
        let k = Config::default().routing.k;
        let quiet: Vec<usize> = (0..sim.len())
            .filter(|&i| {
                let table = sim.dht(i).table(Family::V4).unwrap();
                let answered = table.iter().filter(|e| e.last_response() >= back).count();
                answered >= k && !said[i]
            })
            .collect();
        assert!(
            quiet.is_empty(),
            "back in touch, and never said Bootstrapped: nodes {quiet:?}"
        );
    }

    #[test]
    fn once_back_in_touch_every_entry_that_failed_meanwhile_is_asked_again() {
        let mut sim = network(60);
        sim.set_network(false);
        sim.run_for(Duration::from_secs(3600));
        let tables = |sim: &Sim| -> Vec<Vec<(u8, Instant)>> {
            (0..sim.len())
                .map(|i| {
                    let t = sim.dht(i).table(Family::V4).unwrap();
                    t.iter()
                        .map(|e| (e.failures(), e.last_response()))
                        .collect()
                })
                .collect()
        };
        let failed: usize = tables(&sim)
            .iter()
            .map(|t| t.iter().filter(|(f, _)| *f > 0).count())
            .sum();
        assert!(failed > 0, "the outage made entries fail");
        sim.set_network(true);
        let back = sim.now();
        // A node notices at its next revival ping (30 s apart at most) or at an answer
        // that comes before; then it asks the failed entries again, eight a second.
        let most = tables(&sim).iter().map(Vec::len).max().unwrap() as u64;
        sim.run_for(Duration::from_secs(30 + most.div_ceil(8) + 2));
        for (i, t) in tables(&sim).iter().enumerate() {
            let left = t.iter().filter(|(f, at)| *f > 0 || *at < back).count();
            assert_eq!(
                left,
                0,
                "node {i}: {left} of {} entries not heard from since",
                t.len()
            );
        }
    }

    #[test]
    fn a_node_cut_off_pings_once_every_30_s_and_bootstraps_once_every_5_minutes() {
        let mut sim = network(60);
        let n = sim.len();
        let snapshot = |sim: &Sim| -> Vec<(u64, u64)> {
            (0..n)
                .map(|i| {
                    let s = sim.dht(i).stats();
                    (s.datagrams_out, s.rebootstraps)
                })
                .collect()
        };
        sim.set_network(false);
        let start = snapshot(&sim);
        sim.run_for(Duration::from_secs(3600));
        let after_an_hour = snapshot(&sim);
        sim.run_for(OUTAGE - Duration::from_secs(3600));
        let end = snapshot(&sim);
        let retries = u64::from(Config::default().query_retries);
        let tries = 1 + retries;
        // Over the whole outage: bootstraps back off to one per 5 minutes.
        let most = most_bootstraps(OUTAGE);
        // Once everything has failed (after the first hour): one revival ping per 30 s
        // (each sent again once after its timeout), one bootstrap per 5 minutes (a query
        // and its retry to each bootstrap address), and nothing else.
        let steady = (OUTAGE - Duration::from_secs(3600)).as_secs();
        for i in 0..n {
            let bootstraps = end[i].1 - start[i].1;
            assert!(
                bootstraps <= most,
                "node {i}: {bootstraps} bootstraps in 3 hours, at most {most}"
            );
            let seeds = sim.dht(i).bootstrap_addrs().len() as u64;
            let sent = end[i].0 - after_an_hour[i].0;
            let late_bootstraps = end[i].1 - after_an_hour[i].1;
            let bound = tries * (steady / 30 + 1) + tries * seeds * (steady / 300 + 1);
            assert!(
                sent <= bound,
                "node {i}: {sent} datagrams in the last two hours of the outage, at most {bound}"
            );
            // And it never gives up: a bootstrap starts at the first tick (30 s apart)
            // 5 minutes after the last one failed (a query and its retry: 8 s).
            assert!(
                late_bootstraps >= steady / (300 + 30 + 8) - 1,
                "node {i}: {late_bootstraps} bootstraps in the last two hours"
            );
            assert!(
                sent >= tries * (steady / 30 - 1),
                "node {i}: {sent} datagrams in the last two hours: still pinging every 30 s"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bootstrapping, failed

/// A bootstrap address where nobody answers.
fn nobody() -> SocketAddr {
    "192.0.2.1:6881".parse().unwrap()
}

#[test]
fn a_bootstrap_no_address_answers_ends_with_bootstrap_failed_and_is_counted() {
    let start = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], start);
    dht.bootstrap(start, &[nobody()]).unwrap();
    let mut log = Log::default();
    log.run(&mut dht, start, start + 20 * SECOND);
    let events: Vec<&Event> = log.events.iter().map(|(_, e)| e).collect();
    assert_eq!(events, [&Event::BootstrapFailed { asked: 1 }]);
    assert_eq!(dht.stats().bootstrap_failures, 1);
    assert!(log.sent.iter().all(|(_, to, _)| *to == nobody()));
}

#[test]
fn a_node_that_cannot_bootstrap_tries_again_by_itself_backing_off_to_five_minutes() {
    let start = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], start);
    dht.bootstrap(start, &[nobody()]).unwrap();
    let mut log = Log::default();
    log.run(&mut dht, start, start + 60 * MINUTE);
    // Each bootstrap starts with a find_node of our own id to the address.
    let own = *dht.id();
    let starts: Vec<Instant> = log
        .queries_to(nobody())
        .filter(|(_, m)| {
            matches!(&m.body, Body::Query(q) if q.kind == QueryKind::FindNode { target: own })
        })
        .map(|(at, _)| at)
        .collect();
    // A query and its retry per bootstrap.
    let bootstraps: Vec<Instant> = starts.chunks(2).map(|c| c[0]).collect();
    let gaps: Vec<u64> = bootstraps
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]).as_secs())
        .collect();
    assert!(gaps.len() >= 10, "it kept trying: {gaps:?}");
    // Each wait is the backoff (15 s doubling up to 5 minutes), counted from the first
    // tick (ticks are at most 30 s apart) after the failure, which the query, its retry
    // and their timeouts take 8 s to reach.
    let mut backoff = 15;
    for (i, gap) in gaps.iter().enumerate() {
        assert!(
            (backoff + 8..=backoff + 8 + 30).contains(gap),
            "wait {i} is {gap} s, for a backoff of {backoff} s: {gaps:?}"
        );
        backoff = (backoff * 2).min(300);
    }
    let failed = log
        .events
        .iter()
        .filter(|(_, e)| *e == Event::BootstrapFailed { asked: 1 })
        .count() as u64;
    let stats = dht.stats();
    assert_eq!(
        failed,
        bootstraps.len() as u64,
        "each attempt ends in failure"
    );
    assert_eq!(stats.bootstrap_failures, failed);
    assert_eq!(stats.rebootstraps, failed - 1, "all but the caller's");
}

#[test]
fn set_bootstrap_replaces_the_addresses() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], now);
    let old: SocketAddr = "192.0.2.7:6881".parse().unwrap();
    dht.bootstrap(now, &[nobody(), old]).unwrap();
    assert_eq!(dht.bootstrap_addrs(), [nobody(), old]);
    let new: [SocketAddr; 2] = [
        "198.51.100.1:6881".parse().unwrap(),
        "198.51.100.2:6881".parse().unwrap(),
    ];
    dht.set_bootstrap(now, &new);
    assert_eq!(dht.bootstrap_addrs(), new);
}

#[test]
fn a_node_out_of_touch_bootstraps_from_addresses_set_after_a_failure_at_its_next_tick() {
    // Whenever the bootstrap started, so whenever it failed between two ticks.
    for offset in (0..10_000).step_by(700) {
        let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
        let start = Instant::from_millis(offset);
        let old: SocketAddr = "192.0.2.7:6881".parse().unwrap();
        dht.bootstrap(start, &[nobody(), old]).unwrap();
        let mut log = Log::default();
        let failed = |e: &Event| *e == Event::BootstrapFailed { asked: 2 };
        log.run_until(&mut dht, start, start + 20 * SECOND, failed);
        let failed_at = log
            .events
            .iter()
            .find(|(_, e)| failed(e))
            .map(|(at, _)| *at)
            .expect("the bootstrap failed");
        let next_tick = dht.poll_timeout().expect("a node out of touch ticks");
        // The driver resolved the router names again, at once.
        let new: [SocketAddr; 2] = [
            "198.51.100.1:6881".parse().unwrap(),
            "198.51.100.2:6881".parse().unwrap(),
        ];
        dht.set_bootstrap(failed_at, &new);
        let mut log = Log::default();
        log.run(&mut dht, failed_at, failed_at + 60 * SECOND);
        let own = *dht.id();
        for to in new {
            let (at, _) = log
                .queries_to(to)
                .find(|(_, m)| {
                    matches!(&m.body, Body::Query(q) if q.kind == QueryKind::FindNode { target: own })
                })
                .unwrap_or_else(|| panic!("start {offset} ms: no bootstrap from {to}"));
            assert!(
                at <= next_tick,
                "start {offset} ms, failed at {failed_at:?}: bootstrapped from {to} at {at:?}, after the next tick at {next_tick:?}"
            );
        }
        assert!(
            log.queries_to(nobody()).next().is_none() && log.queries_to(old).next().is_none(),
            "start {offset} ms: the old addresses are forgotten"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The external address, by votes

/// A voter in network `net` (its own /24).
fn voter(net: u8) -> SocketAddr {
    SocketAddr::from(([45, net, 7, 1], 6881))
}

/// The address the voters see us at.
fn seen() -> IpAddr {
    "81.2.69.160".parse().unwrap()
}

/// `from` answers a ping of `dht`'s, saying it saw it at `at`.
fn vote(dht: &mut Dht, now: Instant, from: SocketAddr, at: IpAddr) {
    pinged_and_answered(dht, now, from, id_of(from), Some(at));
}

fn external_events(events: &[Event]) -> Vec<IpAddr> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ExternalAddress { addr } => Some(*addr),
            _ => None,
        })
        .collect()
}

fn id_changes(events: &[Event]) -> Vec<(Id, Id)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::IdChanged { old, new } => Some((*old, *new)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_address_four_networks_see_becomes_the_external_address_and_the_id_turns_secure_for_it() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(Config::default(), [1; 32], now);
    let old = *dht.id();
    assert!(!old.is_secure_for(seen()));
    for net in 1..4 {
        vote(&mut dht, now, voter(net), seen());
    }
    assert_eq!(
        dht.external_address(Family::V4),
        None,
        "three votes are not enough"
    );
    assert!(external_events(&events(&mut dht)).is_empty());
    vote(&mut dht, now, voter(4), seen());
    assert_eq!(dht.external_address(Family::V4), Some(seen()));
    let events = events(&mut dht);
    assert_eq!(external_events(&events), [seen()]);
    let changes = id_changes(&events);
    assert_eq!(changes.len(), 1, "{events:?}");
    let (was, new) = changes[0];
    assert_eq!(was, old);
    assert_eq!(*dht.id(), new);
    assert_eq!(dht.stats().nodes(), 4, "its tables are kept");
    assert!(
        new.is_secure_for(seen()),
        "BEP 42: the new id is secure for {}",
        seen()
    );
    // It rejoins: a lookup of its new id, through the nodes it knows.
    let rejoin = sent_now(&mut dht, now);
    assert!(
        rejoin
            .iter()
            .any(|s| (1..=4).any(|n| s.to == voter(n)) && s.find_node() == Some(new)),
        "no lookup of the new id: {rejoin:?}"
    );
}

#[test]
fn voters_of_one_slash_24_count_once() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(Config::default(), [1; 32], now);
    for host in 1..=10 {
        let from = SocketAddr::from(([45, 1, 7, host], 6881));
        vote(&mut dht, now, from, seen());
    }
    for net in 2..4 {
        vote(&mut dht, now, voter(net), seen());
    }
    assert_eq!(
        dht.external_address(Family::V4),
        None,
        "ten voters of one /24 and two others make three votes"
    );
    vote(&mut dht, now, voter(4), seen());
    assert_eq!(dht.external_address(Family::V4), Some(seen()), "the fourth");
}

#[test]
fn a_lying_minority_changes_neither_the_address_nor_the_id() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(Config::default(), [1; 32], now);
    for net in 1..=6 {
        vote(&mut dht, now, voter(net), seen());
    }
    assert_eq!(dht.external_address(Family::V4), Some(seen()));
    let _ = events(&mut dht);
    let id = *dht.id();
    // Five networks say otherwise: enough votes, but not a majority.
    let lie: IpAddr = "93.184.216.34".parse().unwrap();
    for net in 11..=15 {
        vote(&mut dht, now, voter(net), lie);
    }
    assert_eq!(dht.external_address(Family::V4), Some(seen()));
    assert_eq!(*dht.id(), id);
    let events = events(&mut dht);
    assert!(
        external_events(&events).is_empty() && id_changes(&events).is_empty(),
        "{events:?}"
    );
}

#[test]
fn own_id_keep_keeps_the_id_when_the_external_address_is_learned() {
    let now = Instant::from_millis(0);
    let mut cfg = Config::default();
    cfg.own_id = OwnId::Keep;
    let mut dht = Dht::new(cfg, [1; 32], now);
    let id = *dht.id();
    for net in 1..=4 {
        vote(&mut dht, now, voter(net), seen());
    }
    let events = events(&mut dht);
    assert_eq!(external_events(&events), [seen()]);
    assert!(id_changes(&events).is_empty(), "{events:?}");
    assert_eq!(*dht.id(), id);
}

#[test]
fn a_private_external_address_never_changes_the_id() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(Config::default(), [1; 32], now);
    let id = *dht.id();
    let private: IpAddr = "192.168.1.10".parse().unwrap();
    for net in 1..=4 {
        vote(&mut dht, now, voter(net), private);
    }
    let events = events(&mut dht);
    assert_eq!(external_events(&events), [private]);
    assert!(
        id_changes(&events).is_empty(),
        "BEP 42 exempts it: {events:?}"
    );
    assert_eq!(*dht.id(), id);
}

#[test]
fn an_external_address_the_driver_sets_wins_over_votes() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(Config::default(), [1; 32], now);
    let set: IpAddr = "203.0.113.9".parse().unwrap();
    dht.set_external_address(now, set);
    assert_eq!(dht.external_address(Family::V4), Some(set));
    let events_now = events(&mut dht);
    assert_eq!(external_events(&events_now), [set]);
    assert_eq!(id_changes(&events_now).len(), 1);
    assert!(dht.id().is_secure_for(set));
    let id = *dht.id();
    for net in 1..=8 {
        vote(&mut dht, now, voter(net), seen());
    }
    assert_eq!(dht.external_address(Family::V4), Some(set));
    assert_eq!(*dht.id(), id);
    let events = events(&mut dht);
    assert!(
        external_events(&events).is_empty() && id_changes(&events).is_empty(),
        "{events:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Standing work

/// The `Announced` events node `i` reported for `h`, with nodes that accepted.
fn announced(net: &Net, i: usize, h: Id) -> Vec<usize> {
    net.events[i]
        .iter()
        .filter_map(|e| match e {
            Event::Announced {
                info_hash,
                accepted,
                ..
            } if *info_hash == h => Some(*accepted),
            _ => None,
        })
        .collect()
}

#[test]
fn a_kept_announce_runs_at_once_then_every_15_minutes_until_stopped() {
    let mut net = joined(20, |_| config());
    let h = Id::sha1(b"a torrent kept announced");
    let peer = SocketAddr::new(addr(3).ip(), 4001);
    let start = net.now;
    net.dht(3)
        .keep_announced(start, h, AnnouncePort::Port(4001), false)
        .unwrap();
    assert_eq!(net.dht(3).kept(), 1);
    run_until(&mut net, start + MINUTE);
    assert_eq!(announced(&net, 3, h).len(), 1, "at once");
    run_until(&mut net, start + 15 * MINUTE - SECOND);
    assert_eq!(announced(&net, 3, h).len(), 1);
    run_until(&mut net, start + 16 * MINUTE);
    assert_eq!(announced(&net, 3, h).len(), 2, "15 minutes later");
    run_until(&mut net, start + 31 * MINUTE);
    let runs = announced(&net, 3, h);
    assert_eq!(runs.len(), 3, "30 minutes later");
    // The storing nodes hold the peer, for 30 minutes from the last run (the first
    // run's entries would be gone by now).
    let now = net.now;
    let fresh = (0..20)
        .filter(|&i| {
            net.nodes[i]
                .1
                .peer_store()
                .peers(now, &h)
                .any(|p| p.addr == peer && p.expires > start + 55 * MINUTE)
        })
        .count();
    assert!(runs[2] >= 1);
    assert_eq!(
        fresh, runs[2],
        "each node that accepted the last run holds the peer"
    );
    assert!(net.dht(3).stop_announcing(&h));
    assert!(!net.dht(3).stop_announcing(&h), "stopped already");
    assert_eq!(net.dht(3).kept(), 0);
    run_until(&mut net, start + 62 * MINUTE);
    assert_eq!(announced(&net, 3, h).len(), 3, "no run after the stop");
    let now = net.now;
    assert!(
        (0..20).all(|i| net.nodes[i].1.peer_store().peers(now, &h).next().is_none()),
        "and the peer expired everywhere"
    );
}

#[test]
fn a_kept_item_is_put_again_after_an_hour() {
    use btdht::bencode::RawValue;
    let mut net = joined(20, |_| config());
    let start = net.now;
    let value = RawValue::new(b"13:kept for ever").unwrap();
    let target = net.dht(3).keep_published(start, value, None).unwrap();
    assert_eq!(net.dht(3).kept(), 1);
    let puts = |net: &Net| -> Vec<usize> {
        net.events[3]
            .iter()
            .filter_map(|e| match e {
                Event::ItemPut {
                    target: t, stored, ..
                } if *t == target => Some(*stored),
                _ => None,
            })
            .collect()
    };
    run_until(&mut net, start + MINUTE);
    assert_eq!(puts(&net).len(), 1, "at once");
    assert!(puts(&net)[0] >= 1);
    run_until(&mut net, start + 60 * MINUTE - SECOND);
    assert_eq!(puts(&net).len(), 1);
    run_until(&mut net, start + 61 * MINUTE);
    let runs = puts(&net);
    assert_eq!(runs.len(), 2, "an hour later");
    assert!(runs[1] >= 1, "stored again: {runs:?}");
    assert!(net.dht(3).stop_publishing(&target));
    assert_eq!(net.dht(3).kept(), 0);
}

#[test]
fn at_most_max_kept_announces_and_items_are_kept() {
    use btdht::bencode::RawValue;
    let now = Instant::from_millis(0);
    let mut cfg = config();
    cfg.max_kept = 2;
    let mut dht = Dht::new(cfg, [1; 32], now);
    let h = |i: u8| Id::from_bytes([i; 20]);
    let port = AnnouncePort::Port(4000);
    dht.keep_announced(now, h(1), port, false).unwrap();
    dht.keep_announced(now, h(2), port, false).unwrap();
    assert_eq!(
        dht.keep_announced(now, h(3), port, false),
        Err(CommandError::TooManyKept)
    );
    let value = RawValue::new(b"3:one").unwrap();
    assert_eq!(
        dht.keep_published(now, value, None),
        Err(CommandError::TooManyKept)
    );
    assert_eq!(dht.kept(), 2);
    // Room again after a stop.
    assert!(dht.stop_announcing(&h(1)));
    dht.keep_published(now, value, None).unwrap();
    assert_eq!(dht.kept(), 2);
}

#[test]
fn keeping_an_info_hash_kept_already_replaces_its_port() {
    let mut net = joined(20, |_| config());
    let h = Id::sha1(b"a torrent whose port changed");
    let start = net.now;
    net.dht(3)
        .keep_announced(start, h, AnnouncePort::Port(4001), false)
        .unwrap();
    run_until(&mut net, start + MINUTE);
    net.dht(3)
        .keep_announced(start + MINUTE, h, AnnouncePort::Port(4002), false)
        .unwrap();
    assert_eq!(net.dht(3).kept(), 1, "one piece of work per info-hash");
    // The next runs announce the new port only: once the first run's entries expired,
    // only it is stored.
    run_until(&mut net, start + 32 * MINUTE);
    let now = net.now;
    let ports: std::collections::BTreeSet<u16> = (0..20)
        .flat_map(|i| {
            net.nodes[i]
                .1
                .peer_store()
                .peers(now, &h)
                .map(|p| p.addr.port())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ports.into_iter().collect::<Vec<_>>(), [4002]);
    assert_eq!(announced(&net, 3, h).len(), 4, "0, 1, 16 and 31 minutes");
}

// ---------------------------------------------------------------------------------------
// Searches, announces

#[test]
fn more_than_64_searches_at_once_all_finish() {
    let mut net = joined(30, |i| {
        let mut c = config();
        if i == 5 {
            c.max_searches = 100;
        }
        c
    });
    // A third of the nodes leave: lookups wait on timeouts, which only the timers see.
    net.nodes.truncate(20);
    net.events.truncate(20);
    let now = net.now;
    let queries: Vec<QueryId> = (0..80u32)
        .map(|i| {
            net.dht(5)
                .find_node(now, Id::sha1(&i.to_be_bytes()))
                .unwrap()
        })
        .collect();
    net.run(60 * SECOND);
    let done: Vec<QueryId> = net.events[5]
        .iter()
        .filter_map(|e| match e {
            Event::LookupDone { query, .. } => Some(*query),
            _ => None,
        })
        .collect();
    let missing: Vec<&QueryId> = queries.iter().filter(|q| !done.contains(q)).collect();
    assert!(
        missing.is_empty(),
        "{} of 80 never finished: {missing:?}",
        missing.len()
    );
}

#[test]
fn every_search_is_driven_by_the_timers_however_many_run() {
    let start = Instant::from_millis(0);
    let mut cfg = config();
    cfg.max_searches = 100;
    // Room for every query of every search: none waits for a free transaction.
    cfg.max_transactions = 4096;
    let mut dht = Dht::new(cfg, [1; 32], start);
    // 30 nodes answered once, then went away: every lookup now moves on timeouts alone.
    for i in 0..30 {
        pinged_and_answered(&mut dht, start, addr(i), id_of(addr(i)), None);
    }
    let _ = events(&mut dht);
    let queries: Vec<QueryId> = (0..80u32)
        .map(|i| dht.find_node(start, Id::sha1(&i.to_be_bytes())).unwrap())
        .collect();
    let mut done = Vec::new();
    let mut buf = [0u8; 1500];
    let mut now = start;
    while done.len() < queries.len() && now < start + MINUTE {
        while dht.poll_transmit(now, &mut buf).is_some() {}
        done.extend(events(&mut dht).into_iter().filter_map(|e| match e {
            Event::LookupDone { query, .. } => Some(query),
            _ => None,
        }));
        let Some(next) = dht.poll_timeout() else {
            break;
        };
        assert!(
            next > now,
            "a deadline at {next:?} was left behind by handle_timeout({now:?})"
        );
        now = next;
        dht.handle_timeout(now);
    }
    let missing: Vec<&QueryId> = queries.iter().filter(|q| !done.contains(q)).collect();
    assert!(
        missing.is_empty(),
        "{} of 80 never finished: {missing:?}",
        missing.len()
    );
}

#[test]
fn an_implied_port_announce_is_stored_under_the_announcers_udp_port() {
    let mut net = Net::new(12, |_| config());
    // The announcer's DHT socket is on another port than everyone else's.
    let announcer = 3;
    net.nodes[announcer].0.set_port(7777);
    for i in 1..12 {
        let now = net.now;
        net.dht(i).bootstrap(now, &[addr(0)]).unwrap();
        net.run(Duration::from_millis(200));
    }
    net.run(30 * SECOND);
    let h = Id::sha1(b"implied");
    let now = net.now;
    net.dht(announcer)
        .announce(now, h, AnnouncePort::Implied, false)
        .unwrap();
    net.run(30 * SECOND);
    let accepted = announced(&net, announcer, h);
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0] >= 1);
    let now = net.now;
    let stored: Vec<SocketAddr> = (0..12)
        .flat_map(|i| {
            net.nodes[i]
                .1
                .peer_store()
                .peers(now, &h)
                .map(|p| p.addr)
                .collect::<Vec<_>>()
        })
        .collect();
    let want = SocketAddr::new(addr(announcer).ip(), 7777);
    assert_eq!(stored.len(), accepted[0]);
    assert!(stored.iter().all(|a| *a == want), "{stored:?}");
}

#[test]
fn a_seed_announce_sends_seed_1_and_is_stored_as_a_seed() {
    let mut net = joined(12, |_| config());
    net.tap = Some(Vec::new());
    let h = Id::sha1(b"seeded");
    let now = net.now;
    net.dht(4)
        .announce(now, h, AnnouncePort::Port(4004), true)
        .unwrap();
    net.run(30 * SECOND);
    let tap = net.tap.take().unwrap();
    let seeds: Vec<bool> = tap
        .iter()
        .filter(|(_, from, _, _)| *from == addr(4))
        .filter_map(|(_, _, _, b)| match Message::decode(b).unwrap().body {
            Body::Query(q) => match q.kind {
                QueryKind::AnnouncePeer { seed, .. } => Some(seed),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(!seeds.is_empty(), "announce_peer sent");
    assert!(seeds.iter().all(|s| *s), "every announce_peer says seed=1");
    let now = net.now;
    let stored: Vec<bool> = (0..12)
        .flat_map(|i| {
            net.nodes[i]
                .1
                .peer_store()
                .peers(now, &h)
                .map(|p| p.seed)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|s| *s), "stored as a seed");
}

// ---------------------------------------------------------------------------------------
// Matching answers

#[test]
fn a_response_from_the_right_port_but_another_ip_does_not_match() {
    let start = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], start);
    let q = dht.ping(start, addr(1)).unwrap();
    let sent = sent_now(&mut dht, start);
    assert_eq!(sent.len(), 1);
    // Another IP, the same port.
    let other = addr(99);
    assert_eq!(other.port(), addr(1).port());
    dht.handle_datagram(
        start,
        other,
        &response(&sent[0].tid(), id_of(addr(1)), None),
    );
    assert_eq!(dht.stats().unmatched, 1);
    assert_eq!(dht.stats().nodes(), 0);
    let mut log = Log::default();
    log.run(&mut dht, start, start + 20 * SECOND);
    let outcome: Vec<&Event> = log.events.iter().map(|(_, e)| e).collect();
    assert_eq!(
        outcome,
        [&Event::PingTimeout {
            query: q,
            addr: addr(1)
        }],
        "still pending, then timed out"
    );
}

/// `dht` with node `id` at `at` in its table (it answered a ping at `now`).
fn knowing(dht: &mut Dht, now: Instant, at: SocketAddr, id: Id) {
    pinged_and_answered(dht, now, at, id, None);
    let _ = events(dht);
    assert!(dht.table(Family::V4).unwrap().get(&id).is_some());
}

/// The find_node `dht` sends to `to` now, for a lookup of `target`: its transaction id.
fn lookup_query_to(dht: &mut Dht, now: Instant, to: SocketAddr, target: Id) -> Vec<u8> {
    dht.find_node(now, target).unwrap();
    sent_now(dht, now)
        .into_iter()
        .find(|s| s.to == to && s.find_node() == Some(target))
        .expect("the lookup asks the node")
        .tid()
}

#[test]
fn an_error_answer_naming_the_expected_node_refreshes_it() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let (x, x_id) = (addr(1), id_of(addr(1)));
    knowing(&mut dht, Instant::from_millis(1_000), x, x_id);
    let later = Instant::from_millis(600_000);
    let tid = lookup_query_to(&mut dht, later, x, Id::from_bytes([0x42; 20]));
    dht.handle_datagram(later, x, &error_answer(&tid, Some(x_id)));
    let e = dht.table(Family::V4).unwrap().get(&x_id).unwrap();
    assert_eq!(e.last_response(), later, "heard from");
    assert_eq!(e.failures(), 0);
}

#[test]
fn an_error_answer_naming_its_sender_adds_it_to_the_table() {
    let now = Instant::from_millis(0);
    let mut dht = Dht::new(config(), [1; 32], now);
    dht.ping(now, addr(2)).unwrap();
    let tid = sent_now(&mut dht, now).remove(0).tid();
    let id = id_of(addr(2));
    dht.handle_datagram(now, addr(2), &error_answer(&tid, Some(id)));
    let e = dht.table(Family::V4).unwrap().get(&id).expect("added");
    assert_eq!(e.addr(), addr(2));
}

#[test]
fn an_error_answer_naming_another_node_counts_as_the_expected_node_failing() {
    let mut dht = Dht::new(config(), [1; 32], Instant::from_millis(0));
    let (x, x_id) = (addr(1), id_of(addr(1)));
    knowing(&mut dht, Instant::from_millis(1_000), x, x_id);
    let later = Instant::from_millis(600_000);
    let tid = lookup_query_to(&mut dht, later, x, Id::from_bytes([0x42; 20]));
    let stranger = Id::from_bytes([0x99; 20]);
    dht.handle_datagram(later, x, &error_answer(&tid, Some(stranger)));
    let table = dht.table(Family::V4).unwrap();
    let e = table.get(&x_id).unwrap();
    assert_eq!(e.failures(), 1);
    assert_eq!(
        e.last_response(),
        Instant::from_millis(1_000),
        "not heard from"
    );
    assert!(table.get(&stranger).is_none());
}

#[test]
fn a_kept_announce_that_cannot_start_yet_waits_for_a_free_search_without_spinning() {
    let start = Instant::from_millis(0);
    let mut cfg = config();
    cfg.max_searches = 1;
    let mut dht = Dht::new(cfg, [1; 32], start);
    // Nodes that answered once and went away: the one search allowed takes a while.
    for i in 0..10 {
        pinged_and_answered(&mut dht, start, addr(i), id_of(addr(i)), None);
    }
    let _ = events(&mut dht);
    let lookup = dht.find_node(start, Id::from_bytes([3; 20])).unwrap();
    let h = Id::from_bytes([4; 20]);
    dht.keep_announced(start, h, AnnouncePort::Port(4000), false)
        .unwrap();
    let mut log = Log::default();
    let mut now = start;
    let mut wakes = 0;
    while !log
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::Announced { info_hash, .. } if *info_hash == h))
        && now < start + MINUTE
    {
        log.drain(&mut dht, now);
        let next = dht.poll_timeout().expect("work to do");
        assert!(
            next > now,
            "handle_timeout({now:?}) left a deadline at {next:?}: a driver would spin"
        );
        now = next;
        dht.handle_timeout(now);
        wakes += 1;
    }
    let order: Vec<&Event> = log
        .events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, Event::LookupDone { .. } | Event::Announced { .. }))
        .collect();
    assert!(
        matches!(order[..], [Event::LookupDone { query, .. }, Event::Announced { .. }] if *query == lookup),
        "the announce ran once the lookup was over: {order:?}"
    );
    assert!(wakes < 1000, "{wakes} wake-ups");
}
