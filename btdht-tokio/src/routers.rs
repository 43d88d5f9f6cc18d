//! Bootstrap routers by name: resolved with tokio's resolver, at start and again when
//! the node says bootstrapping failed.

use btdht::addr::{Families, Family};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tracing::warn;

/// How long one router name may take to resolve.
pub(crate) const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// [`RESOLVE_TIMEOUT`], all at once. A name that fails is logged and skipped.
pub(crate) async fn resolve(names: &[String], families: Families) -> Vec<SocketAddr> {
    let mut lookups = tokio::task::JoinSet::new();
    for (i, name) in names.iter().enumerate() {
        let name = name.clone();
        lookups.spawn(async move {
            let found =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(name.clone()))
                    .await
                    .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")));
            (i, name, found.map(|addrs| addrs.collect::<Vec<_>>()))
        });
    }
    let mut found = Vec::new();
    while let Some(done) = lookups.join_next().await {
        match done {
            Ok((i, _, Ok(addrs))) => found.push((i, addrs)),
            Ok((_, name, Err(e))) => warn!(router = %name, error = %e, "cannot resolve router"),
            Err(e) => warn!(error = %e, "router resolution failed"),
        }
    }
    found.sort_by_key(|(i, _)| *i);
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in found.into_iter().flat_map(|(_, a)| a) {
        let a = btdht::addr::canonical(a);
        if families.contains(Family::of(&a)) && !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    addrs
}
