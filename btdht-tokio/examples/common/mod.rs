//! The flags the examples share.

use btdht_tokio::Builder;
use std::time::Duration;

/// How long an example waits for its node to bootstrap before it goes on anyway.
pub const BOOTSTRAP_WAIT: Duration = Duration::from_secs(15);

/// The shared flags, in the common form.
pub const FLAGS: &str =
    "[--bootstrap HOST:PORT]... [--bind ADDR]... [--state FILE] [--allow-local] [-v]";

/// The parsed command line: the node's settings and the words that are not flags.
pub struct Args {
    pub builder: Builder,
    pub words: Vec<String>,
}

/// Reads `--bootstrap HOST:PORT` (repeatable; default the public routers),
/// `--bind ADDR` (repeatable: one IPv4 and/or one IPv6; default 0.0.0.0:0),
/// `--state FILE`, `--allow-local` (loopback and LAN nodes, needed on loopback) and `-v`
/// (the node's logs on stderr; warnings only without it).
pub fn parse() -> Result<Args, String> {
    let mut builder = Builder::new();
    let mut routers = Vec::new();
    let mut words = Vec::new();
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--bootstrap" => routers.push(value("--bootstrap")?),
            "--bind" => {
                let addr = value("--bind")?;
                builder = builder.bind(addr.parse().map_err(|e| format!("--bind {addr}: {e}"))?);
            }
            "--state" => builder = builder.state_file(value("--state")?),
            "--allow-local" => builder = builder.allow_local(),
            "-v" | "--verbose" => verbose = true,
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            _ => words.push(arg),
        }
    }
    // Without --bootstrap: the public routers, DEFAULT_ROUTERS (or, with a state file
    // that holds nodes, those nodes first).
    if !routers.is_empty() {
        builder = builder.bootstrap(routers);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(if verbose {
            tracing::Level::INFO
        } else {
            tracing::Level::WARN
        })
        .init();
    Ok(Args { builder, words })
}
