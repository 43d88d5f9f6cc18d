//! Announces that this host has a torrent on a port.
//!
//! ```text
//! cargo run -p btdht-tokio --example announce -- [--bootstrap HOST:PORT]... [--bind ADDR]... \
//!     [--state FILE] [--allow-local] [-v] INFO_HASH_HEX PORT
//! ```
//!
//! Prints `announced INFO_HASH_HEX STORED` (how many nodes accepted the announce).
//! Exits 0 when at least one did, 1 when none did, 2 on a usage or start error.

mod common;

use btdht::node::AnnouncePort;
use btdht_tokio::Id;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("usage: announce {} INFO_HASH_HEX PORT", common::FLAGS);
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let args = common::parse()?;
    let [hash, port] = &args.words[..] else {
        return Err("an info-hash and a port expected".into());
    };
    let info_hash: Id = hash.parse()?;
    let port: u16 = port.parse()?;
    let dht = args.builder.spawn().await?;
    let _ = tokio::time::timeout(common::BOOTSTRAP_WAIT, dht.bootstrapped()).await;
    let stored = dht
        .announce(info_hash, AnnouncePort::Port(port), false)
        .await?;
    println!("announced {info_hash} {stored}");
    dht.shutdown().await?;
    Ok(stored > 0)
}
