//! Settings of a node, and its start: sockets, state file, seed, routers.

use crate::clock::Clock;
use crate::driver::Driver;
use crate::handle::Shared;
use crate::routers::resolve;
use crate::{DEFAULT_ROUTERS, Error, Handle, state};
use btdht::addr::{Families, Family, LocalAddresses};
use btdht::node::{Config, Dht};
use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// How often the state file is saved unless [`Builder::save_every`] says otherwise.
pub const DEFAULT_SAVE_EVERY: Duration = Duration::from_secs(5 * 60);

/// Routing-table entries per IP address that [`Builder::allow_local`] allows: several
/// nodes on one loopback address.
pub const LOCAL_MAX_PER_IP: usize = 16;

/// Calls waiting for the node at most; more wait for room.
const COMMAND_QUEUE: usize = 64;

/// The settings of a node, then [`Builder::spawn`] (or
/// [`Builder::spawn_blocking`](crate::blocking)).
///
/// ```no_run
/// # async fn f() -> Result<(), btdht_tokio::Error> {
/// use std::time::Duration;
///
/// let dht = btdht_tokio::Builder::new()
///     .bind("0.0.0.0:6881".parse().unwrap())
///     .bind("[::]:6881".parse().unwrap())
///     .state_file("dht.state")
///     .save_every(Duration::from_secs(600))
///     .spawn()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Builder {
    binds: Vec<SocketAddr>,
    routers: Option<Vec<String>>,
    state: Option<PathBuf>,
    save_every: Duration,
    config: Config,
    seed: Option<[u8; 32]>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the seed: the node's secrets derive from it.
        f.debug_struct("Builder")
            .field("binds", &self.binds)
            .field("routers", &self.routers)
            .field("state", &self.state)
            .field("save_every", &self.save_every)
            .field("config", &self.config)
            .field("seed", &self.seed.map(|_| "given"))
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: one IPv4 socket on `0.0.0.0:0` (a port the OS picks), the
    /// [`DEFAULT_ROUTERS`], no state file, the core's default [`Config`], a seed from the
    /// OS.
    pub fn new() -> Self {
        Builder {
            binds: Vec::new(),
            routers: None,
            state: None,
            save_every: DEFAULT_SAVE_EVERY,
            config: Config::default(),
            seed: None,
        }
    }

    /// Binds a socket to `addr`. Give one IPv4 address, one IPv6 address, or one of
    /// each: with both, one node serves both families (BEP 32) over the two sockets, and
    /// each datagram is answered from the socket of its family. The families bound
    /// decide [`Config::families`]. An IPv6 socket carries IPv6 only, so `0.0.0.0:6881`
    /// and `[::]:6881` can both be bound.
    #[must_use]
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.binds.push(addr);
        self
    }

    /// The bootstrap routers, as `host:port` names or addresses (replacing the
    /// [`DEFAULT_ROUTERS`]; an empty list means none: the node waits for others to
    /// contact it, or starts from its state file). They are resolved at start, and again
    /// each time the node reports that bootstrapping failed.
    ///
    /// Without this call, a node whose state file holds nodes starts from those alone,
    /// and turns to the [`DEFAULT_ROUTERS`] only if none of them answers.
    #[must_use]
    pub fn bootstrap<I>(mut self, routers: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.routers = Some(routers.into_iter().map(Into::into).collect());
        self
    }

    /// The state file: read at start ([`Dht::from_state`]: the same node id, and its
    /// saved nodes to start from), written every [`Builder::save_every`] and at shutdown,
    /// each time through `FILE.tmp` and a rename so a crash never leaves a torn file.
    /// A missing file is a first start. An unreadable or corrupt one is logged as a
    /// warning and reported by [`Handle::state_error`]; the node then starts fresh and
    /// overwrites it at its first save.
    #[must_use]
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = Some(path.into());
        self
    }

    /// How often the state file is written (default [`DEFAULT_SAVE_EVERY`], 5 minutes;
    /// at least a second).
    #[must_use]
    pub fn save_every(mut self, every: Duration) -> Self {
        self.save_every = every;
        self
    }

    /// The core's settings (caps, timeouts, read-only mode, …). `families` is set from
    /// the bound sockets.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The core's settings, to change one field.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Accepts loopback, private and link-local nodes
    /// ([`LocalAddresses::Allow`]) and up to [`LOCAL_MAX_PER_IP`] routing-table entries
    /// per IP: what a swarm on loopback or a LAN needs (tests, examples with
    /// `--allow-local`). A node on the Internet should not.
    #[must_use]
    pub fn allow_local(mut self) -> Self {
        self.config.routing.local_addresses = LocalAddresses::Allow;
        self.config.routing.max_per_ip = self.config.routing.max_per_ip.max(LOCAL_MAX_PER_IP);
        self
    }

    /// The node's 32-byte seed (default: from the OS's entropy). Its id, transaction ids
    /// and token secrets derive from it: it must be secret and random.
    #[must_use]
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Starts the node in a task of the current tokio runtime (it must have I/O and time
    /// enabled), once its sockets are bound and its routers resolved.
    ///
    /// Fails when an address cannot be bound, when no router resolves and the node has
    /// no saved node either, when the OS gives no entropy, or (with [`Error::Runtime`])
    /// when called outside a tokio runtime.
    pub async fn spawn(self) -> Result<Handle, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Runtime(std::io::Error::other(
                "Builder::spawn needs a tokio runtime (or use Builder::spawn_blocking)",
            )));
        }
        let (handle, driver) = self.start().await?;
        tokio::spawn(driver);
        Ok(handle)
    }

    /// Everything [`Builder::spawn`] does but spawning: the handle, and the driver to
    /// run.
    pub(crate) async fn start(
        self,
    ) -> Result<(Handle, impl Future<Output = ()> + Send + 'static), Error> {
        let binds = if self.binds.is_empty() {
            vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))]
        } else {
            self.binds
        };
        let v4_binds = binds.iter().filter(|a| a.is_ipv4()).count();
        if v4_binds > 1 || binds.len() - v4_binds > 1 {
            return Err(Error::InvalidConfig(
                "at most one IPv4 and one IPv6 bind address",
            ));
        }
        let seed = match self.seed {
            Some(seed) => seed,
            None => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| Error::Entropy(std::io::Error::other(e)))?;
                seed
            }
        };

        let (mut v4, mut v6) = (None, None);
        let mut families = Families::NONE;
        let mut local_addrs = Vec::new();
        for addr in binds {
            let socket = bind(addr).map_err(|source| Error::Bind { addr, source })?;
            let local = socket
                .local_addr()
                .map_err(|source| Error::Bind { addr, source })?;
            info!(%local, "bound");
            local_addrs.push(local);
            if addr.is_ipv4() {
                families = families.with(Family::V4);
                v4 = Some(socket);
            } else {
                families = families.with(Family::V6);
                v6 = Some(socket);
            }
        }
        let mut config = self.config;
        config.families = families;

        let clock = Clock::new();
        let mut state_error = None;
        let saved = match &self.state {
            Some(path) => match state::read(path).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    warn!(error = %e, "state file unreadable; the node starts fresh");
                    state_error = Some(e);
                    None
                }
            },
            None => None,
        };
        let restored = match (saved, &self.state) {
            (Some(bytes), Some(path)) => {
                match Dht::from_state(config.clone(), seed, &bytes, clock.now()) {
                    Ok(dht) => Some(dht),
                    Err(source) => {
                        let e = Error::StateCorrupt {
                            path: path.clone(),
                            source,
                        };
                        warn!(error = %e, "state file corrupt; the node starts fresh");
                        state_error = Some(e);
                        None
                    }
                }
            }
            _ => None,
        };
        let mut dht = match restored {
            Some(dht) => {
                info!(id = %dht.id(), nodes = dht.stats().restored_nodes, "state restored");
                dht
            }
            None => Dht::new(config, seed, clock.now()),
        };
        #[cfg(feature = "ed25519")]
        dht.set_signature_verifier(Box::new(btdht::store::Ed25519Verifier));

        // The routers: the caller's; or, by default, the public ones, except for a node
        // with saved nodes to start from (the public ones only if those all fail).
        let has_saved_nodes = dht.stats().restored_nodes > 0;
        let explicit = self.routers.is_some();
        let names: Vec<String> = self
            .routers
            .unwrap_or_else(|| DEFAULT_ROUTERS.iter().map(|s| (*s).to_owned()).collect());
        if explicit || !has_saved_nodes {
            let addrs = resolve(&names, families).await;
            if addrs.is_empty() && !names.is_empty() && !has_saved_nodes {
                return Err(Error::Resolve { names });
            }
            if !addrs.is_empty() {
                // Only a disabled family is refused, and those were filtered out.
                let _ = dht.bootstrap(clock.now(), &addrs);
            }
        }

        let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let (cancels_tx, cancels) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            local_addrs,
            state_error,
        });
        let handle = Handle {
            commands: commands_tx,
            cancels: cancels_tx,
            shared,
        };
        let driver = Driver {
            dht,
            clock,
            v4,
            v6,
            commands,
            cancels,
            router_names: names.into(),
            state: self.state,
            save_every: self.save_every,
        };
        Ok((handle, driver.run()))
    }
}

/// A UDP socket bound to `addr`; an IPv6 one carries IPv6 only.
fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(StdUdpSocket::from(socket))
}
