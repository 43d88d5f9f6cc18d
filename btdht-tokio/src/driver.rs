//! The task that owns the node and its sockets: it feeds the node datagrams, commands
//! and the time, sends what the node queues, and answers the handles from the node's
//! events.

use crate::clock::{Clock, far_future};
use crate::command::{Command, ItemSpec, Reply, Waiter, start};
use crate::handle::{Put, Samples, Scrape};
use crate::routers::resolve;
use crate::{Error, state};
use btdht::addr::Family;
use btdht::bencode::RawValue;
use btdht::node::{Dht, Event, ItemTarget, QueryId};
use btdht::time::Instant;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tracing::{debug, info, trace, warn};

/// Bytes read per datagram: more than any KRPC message (a longer datagram is cut, fails
/// to decode and is counted as bad).
const RECV_BUFFER: usize = 4096;

/// How often the driver looks for callers that stopped waiting (their lookups are
/// cancelled).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// What woke the driver.
enum Input {
    Datagram(Family, io::Result<(usize, SocketAddr)>),
    Command(Option<Command>),
    Cancel(QueryId),
    Resolved(Vec<SocketAddr>),
    Timer,
    Save,
    Sweep,
}

/// Everything the driver task owns.
pub(crate) struct Driver {
    pub(crate) dht: Dht,
    pub(crate) clock: Clock,
    pub(crate) v4: Option<UdpSocket>,
    pub(crate) v6: Option<UdpSocket>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) cancels: mpsc::UnboundedReceiver<QueryId>,
    /// Router names resolved again when a bootstrap fails.
    pub(crate) router_names: Arc<[String]>,
    pub(crate) state: Option<PathBuf>,
    pub(crate) save_every: Duration,
}

/// The driver's running state, beside what [`Driver`] was given.
struct Running {
    waiters: HashMap<QueryId, Waiter>,
    bootstrapped: bool,
    bootstrap_waiters: Vec<Reply<usize>>,
    resolving: bool,
    resolved_tx: mpsc::Sender<Vec<SocketAddr>>,
    resolved_rx: mpsc::Receiver<Vec<SocketAddr>>,
    /// Peers dropped because a stream's buffer was full.
    peers_dropped: u64,
}

async fn recv(sock: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    /// Runs the node until [`Command::Shutdown`] or until every handle is dropped.
    pub(crate) async fn run(mut self) {
        let (resolved_tx, resolved_rx) = mpsc::channel(1);
        let mut run = Running {
            waiters: HashMap::new(),
            bootstrapped: false,
            bootstrap_waiters: Vec::new(),
            resolving: false,
            resolved_tx,
            resolved_rx,
            peers_dropped: 0,
        };
        let mut out = vec![0u8; btdht::krpc::MAX_DATAGRAM_LEN];
        let mut in4 = vec![0u8; RECV_BUFFER];
        let mut in6 = vec![0u8; RECV_BUFFER];
        let sleep = tokio::time::sleep_until(far_future());
        tokio::pin!(sleep);
        // The node deadline the sleep is set for; the sleep is reset only when it changes.
        let mut armed: Option<Instant> = None;
        let save_every = self.save_every.max(Duration::from_secs(1));
        let mut save =
            tokio::time::interval_at(tokio::time::Instant::now() + save_every, save_every);
        save.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sweep =
            tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_EVERY, SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        loop {
            self.flush(&mut out).await;
            self.drain_events(&mut run);
            // Expiry is decided by reading the clock against the node's deadline, not by
            // which branch woke us: a busy socket cannot starve the timers.
            let now = self.clock.now();
            let mut next = self.dht.poll_timeout();
            if next.is_some_and(|t| t <= now) {
                self.dht.handle_timeout(now);
                self.flush(&mut out).await;
                self.drain_events(&mut run);
                // Never a deadline in the past again: at worst a millisecond from now.
                next = self
                    .dht
                    .poll_timeout()
                    .map(|t| t.max(now + Duration::from_millis(1)));
            }
            if next != armed {
                armed = next;
                sleep
                    .as_mut()
                    .reset(next.map_or_else(far_future, |t| self.clock.wake_at(t)));
            }

            let input = tokio::select! {
                r = recv(self.v4.as_ref(), &mut in4) => Input::Datagram(Family::V4, r),
                r = recv(self.v6.as_ref(), &mut in6) => Input::Datagram(Family::V6, r),
                c = self.commands.recv() => Input::Command(c),
                Some(q) = self.cancels.recv() => Input::Cancel(q),
                Some(addrs) = run.resolved_rx.recv() => Input::Resolved(addrs),
                () = &mut sleep, if armed.is_some() => Input::Timer,
                _ = save.tick(), if self.state.is_some() => Input::Save,
                _ = sweep.tick() => Input::Sweep,
            };

            match input {
                Input::Datagram(family, Ok((n, from))) => {
                    let buf = if family == Family::V4 { &in4 } else { &in6 };
                    if let Some(bytes) = buf.get(..n) {
                        self.dht.handle_datagram(self.clock.now(), from, bytes);
                    }
                }
                // UDP: an error on receive (an ICMP report on some systems) loses nothing.
                Input::Datagram(family, Err(e)) => trace!(?family, error = %e, "receive"),
                Input::Command(None) => {
                    // Every handle is gone: nobody can ask for anything any more.
                    let _ = self.save().await;
                    info!("every handle dropped; the DHT node stops");
                    return;
                }
                Input::Command(Some(Command::Shutdown { reply })) => {
                    self.commands.close();
                    let saved = self.save().await;
                    info!("the DHT node shuts down");
                    let _ = reply.send(saved);
                    return;
                }
                Input::Command(Some(Command::SaveState { reply })) => {
                    let _ = reply.send(self.save().await);
                }
                Input::Command(Some(command)) => self.command(&mut run, command),
                Input::Cancel(query) => {
                    run.waiters.remove(&query);
                    self.dht.cancel(query);
                }
                Input::Resolved(addrs) => {
                    run.resolving = false;
                    if !addrs.is_empty() {
                        info!(routers = addrs.len(), "bootstrap routers resolved again");
                        self.dht.set_bootstrap(self.clock.now(), &addrs);
                    }
                }
                // The deadline is checked against the clock at the top of the loop.
                Input::Timer => armed = None,
                Input::Save => {
                    let _ = self.save().await;
                }
                Input::Sweep => self.sweep(&mut run),
            }
        }
    }

    /// Sends every datagram the node has queued, each from the socket of its family.
    async fn flush(&mut self, out: &mut [u8]) {
        while let Some(t) = self.dht.poll_transmit(self.clock.now(), out) {
            let sock = match t.to {
                SocketAddr::V4(_) => self.v4.as_ref(),
                SocketAddr::V6(_) => self.v6.as_ref(),
            };
            let (Some(sock), Some(bytes)) = (sock, out.get(..t.len)) else {
                continue;
            };
            // UDP: a datagram that cannot be sent is a lost datagram; the node's timeouts
            // deal with it. `send_to` waits while the socket's buffer is full, keeping the
            // encoded datagram.
            if let Err(e) = sock.send_to(bytes, t.to).await {
                trace!(to = %t.to, error = %e, "send");
            }
        }
    }

    fn drain_events(&mut self, run: &mut Running) {
        while let Some(event) = self.dht.poll_event() {
            self.on_event(run, event);
        }
    }

    /// Answers the callers a node event concerns, and logs what an operator wants.
    fn on_event(&mut self, run: &mut Running, event: Event) {
        match event {
            Event::Peer { query, peer, .. } => {
                if let Some(Waiter::Peers(tx)) = run.waiters.get(&query) {
                    match tx.try_send(peer) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            run.peers_dropped = run.peers_dropped.saturating_add(1);
                            debug!(dropped = run.peers_dropped, "a peer stream is full");
                        }
                        Err(TrySendError::Closed(_)) => {
                            run.waiters.remove(&query);
                            self.dht.cancel(query);
                        }
                    }
                }
            }
            Event::LookupDone { query, .. } => match run.waiters.remove(&query) {
                // Dropping the sender ends the stream.
                Some(Waiter::Peers(_)) | None => {}
                Some(Waiter::FindNode(reply)) => {
                    let nodes = self
                        .dht
                        .query(query)
                        .map(|q| q.closest().map(|(node, _)| node).collect())
                        .unwrap_or_default();
                    let _ = reply.send(Ok(nodes));
                }
                Some(Waiter::Item(reply)) => {
                    let item = self.dht.query(query).and_then(|q| q.item().cloned());
                    let _ = reply.send(Ok(item));
                }
                Some(other) => {
                    run.waiters.insert(query, other);
                }
            },
            Event::Announced {
                query, accepted, ..
            } => match run.waiters.remove(&query) {
                Some(Waiter::Announce(reply)) => {
                    let _ = reply.send(Ok(accepted));
                }
                Some(other) => {
                    run.waiters.insert(query, other);
                }
                None => {}
            },
            Event::ItemPut {
                query,
                target,
                stored,
                refused,
                error,
                ..
            } => match run.waiters.remove(&query) {
                Some(Waiter::Put(reply)) => {
                    let _ = reply.send(Ok(Put {
                        target,
                        stored,
                        refused,
                        error,
                    }));
                }
                Some(other) => {
                    run.waiters.insert(query, other);
                }
                None => {}
            },
            Event::Scraped {
                query,
                seeds,
                peers,
                responses,
                ..
            } => match run.waiters.remove(&query) {
                Some(Waiter::Scrape(reply)) => {
                    let _ = reply.send(Ok(Scrape {
                        seeds,
                        peers,
                        responses,
                    }));
                }
                Some(other) => {
                    run.waiters.insert(query, other);
                }
                None => {}
            },
            Event::Samples {
                query,
                node,
                num,
                interval,
                samples,
            } => {
                if let Some(Waiter::Samples(_, slot)) = run.waiters.get_mut(&query) {
                    *slot = Some(Samples {
                        node,
                        num,
                        interval,
                        samples,
                    });
                }
            }
            Event::WalkDone { query, .. } => match run.waiters.remove(&query) {
                Some(Waiter::Samples(reply, samples)) => {
                    let _ = reply.send(Ok(samples));
                }
                Some(other) => {
                    run.waiters.insert(query, other);
                }
                None => {}
            },
            Event::Pong { query, rtt, .. } => {
                if let Some(Waiter::Ping(reply)) = run.waiters.remove(&query) {
                    let _ = reply.send(Ok(Some(rtt)));
                }
            }
            Event::PingTimeout { query, .. } => {
                if let Some(Waiter::Ping(reply)) = run.waiters.remove(&query) {
                    let _ = reply.send(Ok(None));
                }
            }
            Event::Bootstrapped { nodes } => {
                info!(nodes, "bootstrapped");
                run.bootstrapped = true;
                for reply in run.bootstrap_waiters.drain(..) {
                    let _ = reply.send(Ok(nodes));
                }
            }
            Event::BootstrapFailed { asked } => {
                warn!(asked, "bootstrap failed: no bootstrap address answered");
                self.resolve_again(run);
            }
            Event::ExternalAddress { addr } => info!(%addr, "external address"),
            Event::IdChanged { old, new } => info!(%old, %new, "node id changed"),
            _ => {}
        }
    }

    /// Resolves the router names again (in the background), for
    /// [`Dht::set_bootstrap`].
    fn resolve_again(&mut self, run: &mut Running) {
        if run.resolving || self.router_names.is_empty() {
            return;
        }
        run.resolving = true;
        let names = Arc::clone(&self.router_names);
        let families = self.dht.config().families;
        let tx = run.resolved_tx.clone();
        tokio::spawn(async move {
            let addrs = resolve(&names, families).await;
            let _ = tx.send(addrs).await;
        });
    }

    /// Cancels the lookups nobody waits for any more.
    fn sweep(&mut self, run: &mut Running) {
        let abandoned: Vec<QueryId> = run
            .waiters
            .iter()
            .filter(|(_, w)| w.is_abandoned())
            .map(|(q, _)| *q)
            .collect();
        for query in abandoned {
            run.waiters.remove(&query);
            self.dht.cancel(query);
        }
    }

    fn command(&mut self, run: &mut Running, command: Command) {
        let now = self.clock.now();
        let dht = &mut self.dht;
        let waiters = &mut run.waiters;
        match command {
            Command::GetPeers {
                info_hash,
                found,
                reply,
            } => match dht.get_peers(now, info_hash) {
                Ok(q) => {
                    waiters.insert(q, Waiter::Peers(found));
                    let _ = reply.send(Ok(q));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Announce {
                info_hash,
                port,
                seed,
                reply,
            } => {
                start(
                    waiters,
                    dht.announce(now, info_hash, port, seed),
                    Waiter::Announce(reply),
                );
            }
            Command::KeepAnnounced {
                info_hash,
                port,
                seed,
                reply,
            } => {
                let kept = dht.keep_announced(now, info_hash, port, seed);
                let _ = reply.send(kept.map_err(Error::from));
            }
            Command::StopAnnouncing { info_hash, reply } => {
                let _ = reply.send(Ok(dht.stop_announcing(&info_hash)));
            }
            Command::FindNode { target, reply } => {
                start(waiters, dht.find_node(now, target), Waiter::FindNode(reply));
            }
            Command::Ping { addr, reply } => {
                start(waiters, dht.ping(now, addr), Waiter::Ping(reply));
            }
            Command::GetItem { item, reply } => {
                let target = match &item {
                    ItemSpec::Immutable(target) => ItemTarget::Immutable(*target),
                    #[cfg(feature = "ed25519")]
                    ItemSpec::Mutable { key, salt } => ItemTarget::Mutable { key, salt },
                };
                start(waiters, dht.get_item(now, target), Waiter::Item(reply));
            }
            Command::PutItem { put, reply } => {
                let value = match RawValue::new(&put.value) {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = reply.send(Err(Error::InvalidValue(e)));
                        return;
                    }
                };
                #[cfg(feature = "ed25519")]
                let mutable = put
                    .mutable
                    .as_ref()
                    .map(crate::command::OwnedMutable::as_item);
                #[cfg(not(feature = "ed25519"))]
                let mutable = None;
                start(
                    waiters,
                    dht.put_item(now, value, mutable),
                    Waiter::Put(reply),
                );
            }
            Command::Scrape { info_hash, reply } => {
                start(waiters, dht.scrape(now, info_hash), Waiter::Scrape(reply));
            }
            Command::Samples { addr, reply } => {
                start(
                    waiters,
                    dht.sample_infohashes(now, addr),
                    Waiter::Samples(reply, None),
                );
            }
            Command::Bootstrapped { reply } => {
                if run.bootstrapped {
                    let _ = reply.send(Ok(dht.stats().nodes()));
                } else {
                    run.bootstrap_waiters.push(reply);
                }
            }
            Command::Stats { reply } => {
                let _ = reply.send(Ok(dht.stats()));
            }
            Command::Id { reply } => {
                let _ = reply.send(Ok(*dht.id()));
            }
            Command::ExternalAddress { family, reply } => {
                let _ = reply.send(Ok(dht.external_address(family)));
            }
            // Handled by the loop (they wait for the disk).
            Command::SaveState { reply } | Command::Shutdown { reply } => {
                let _ = reply.send(Err(Error::Shutdown));
            }
        }
    }

    /// Writes the state file, if one was given.
    async fn save(&mut self) -> Result<(), Error> {
        let Some(path) = self.state.clone() else {
            return Ok(());
        };
        let mut buf = vec![0u8; self.dht.state_len()];
        let written = self.dht.save_state(&mut buf).map_err(|e| Error::StateIo {
            path: path.clone(),
            source: io::Error::other(e),
        });
        let saved = match written {
            Ok(n) => {
                buf.truncate(n);
                state::write(&path, buf).await.map(|()| n)
            }
            Err(e) => Err(e),
        };
        match saved {
            Ok(bytes) => {
                let stats = self.dht.stats();
                info!(path = %path.display(), bytes, nodes = stats.nodes(), "state saved");
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "state not saved");
                Err(e)
            }
        }
    }
}
