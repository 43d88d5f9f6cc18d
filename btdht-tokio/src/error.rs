//! The one error type of the crate.

use btdht::node::{CommandError, StateError};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong: starting the node, a call on its [`Handle`](crate::Handle), or its
/// state file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A socket could not be bound to `addr`.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The [`Builder`](crate::Builder)'s settings cannot work: more than one bind
    /// address of one family.
    InvalidConfig(&'static str),
    /// None of the bootstrap routers `names` resolved to an address of an enabled family
    /// (and the node had no saved nodes to start from). Each failure is also logged.
    Resolve {
        /// The names tried.
        names: Vec<String>,
    },
    /// The OS gave no entropy for the node's seed.
    Entropy(io::Error),
    /// The node has shut down ([`Handle::shutdown`](crate::Handle::shutdown), or every
    /// handle was dropped): no call reaches it any more.
    Shutdown,
    /// The node refused the command (too many searches running, an item no node would
    /// store, …).
    Command(CommandError),
    /// A BEP 44 value that is not one bencoded value.
    InvalidValue(btdht::bencode::Error),
    /// The state file could not be read or written.
    StateIo {
        /// The state file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The state file holds no state this version reads (corrupt, truncated by hand, or
    /// of an unknown version). The node started fresh and overwrites it at its next save.
    StateCorrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        source: StateError,
    },
    /// No tokio runtime to run in ([`Builder::spawn`](crate::Builder::spawn) outside
    /// one), or the [`blocking`](crate::blocking) facade's runtime or thread could not
    /// be started.
    Runtime(io::Error),
    /// A [`blocking`](crate::blocking) call was made from inside an async runtime, where
    /// it would block the runtime's thread: use the async [`Handle`](crate::Handle)
    /// there.
    InsideRuntime,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bind { addr, source } => write!(f, "cannot bind {addr}: {source}"),
            Error::InvalidConfig(why) => write!(f, "invalid settings: {why}"),
            Error::Resolve { names } => {
                write!(f, "no bootstrap router resolved: {}", names.join(", "))
            }
            Error::Entropy(e) => write!(f, "no entropy from the OS for the seed: {e}"),
            Error::Shutdown => f.write_str("the DHT node has shut down"),
            Error::Command(e) => write!(f, "command refused: {e}"),
            Error::InvalidValue(e) => write!(f, "not a bencoded value: {e}"),
            Error::StateIo { path, source } => {
                write!(f, "state file {}: {source}", path.display())
            }
            Error::StateCorrupt { path, source } => {
                write!(f, "state file {}: {source}", path.display())
            }
            Error::Runtime(e) => write!(f, "runtime: {e}"),
            Error::InsideRuntime => {
                f.write_str("a blocking call inside an async runtime (use the async Handle)")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } | Error::StateIo { source, .. } => Some(source),
            Error::Entropy(e) | Error::Runtime(e) => Some(e),
            Error::Command(e) => Some(e),
            Error::InvalidValue(e) => Some(e),
            Error::StateCorrupt { source, .. } => Some(source),
            Error::InvalidConfig(_)
            | Error::Resolve { .. }
            | Error::Shutdown
            | Error::InsideRuntime => None,
        }
    }
}

impl From<CommandError> for Error {
    fn from(e: CommandError) -> Self {
        Error::Command(e)
    }
}
