//! Finds the peers of an info-hash.
//!
//! ```text
//! cargo run -p btdht-tokio --example get_peers -- [--bootstrap HOST:PORT]... [--bind ADDR]... \
//!     [--state FILE] [--allow-local] [-v] INFO_HASH_HEX
//! ```
//!
//! Prints `peer ADDR` for each peer as it arrives, then `done N`. Exits 0 when a peer
//! was found, 1 when none was, 2 on a usage or start error.

mod common;

use btdht_tokio::Id;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("usage: get_peers {} INFO_HASH_HEX", common::FLAGS);
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let args = common::parse()?;
    let [hash] = &args.words[..] else {
        return Err("one info-hash expected".into());
    };
    let info_hash: Id = hash.parse()?;
    let dht = args.builder.spawn().await?;
    // A lookup started before the bootstrap ends works too, with fewer nodes to ask.
    let _ = tokio::time::timeout(common::BOOTSTRAP_WAIT, dht.bootstrapped()).await;
    let mut peers = dht.get_peers(info_hash).await?;
    let mut found = 0usize;
    while let Some(peer) = peers.next_peer().await {
        println!("peer {peer}");
        found += 1;
    }
    println!("done {found}");
    dht.shutdown().await?;
    Ok(found > 0)
}
