//! Puts a string into the DHT as a BEP 44 immutable item, or gets an item by its target.
//!
//! ```text
//! cargo run -p btdht-tokio --example put_get -- [--bootstrap HOST:PORT]... [--bind ADDR]... \
//!     [--state FILE] [--allow-local] [-v] put STRING
//! cargo run -p btdht-tokio --example put_get -- [flags] get TARGET_HEX
//! ```
//!
//! `put STRING` stores the string, bencoded, and prints `put TARGET_HEX STORED` (how many
//! nodes stored it; the target is the SHA-1 of the bencoded value). `get TARGET_HEX`
//! prints `item TARGET_HEX VALUE_HEX` (the bencoded value, checked against the target).
//! Exits 0 on success, 1 when nothing was stored or found, 2 on a usage or start error.

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
            eprintln!(
                "usage: put_get {} (put STRING | get TARGET_HEX)",
                common::FLAGS
            );
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let args = common::parse()?;
    let (put, word) = match &args.words[..] {
        [cmd, word] if cmd == "put" => (true, word),
        [cmd, word] if cmd == "get" => (false, word),
        _ => return Err("put STRING or get TARGET_HEX expected".into()),
    };
    // Checked before the node starts.
    let target: Option<Id> = if put { None } else { Some(word.parse()?) };
    let dht = args.builder.spawn().await?;
    let _ = tokio::time::timeout(common::BOOTSTRAP_WAIT, dht.bootstrapped()).await;
    let ok = match target {
        None => {
            // A bencoded byte string: its length, a colon, the bytes.
            let mut value = format!("{}:", word.len()).into_bytes();
            value.extend_from_slice(word.as_bytes());
            let put = dht.put_immutable(&value).await?;
            println!("put {} {}", put.target, put.stored);
            put.stored > 0
        }
        Some(target) => match dht.get_immutable(target).await? {
            Some(value) => {
                println!("item {target} {}", hex(&value));
                true
            }
            None => {
                eprintln!("no item found at {target}");
                false
            }
        },
    };
    dht.shutdown().await?;
    Ok(ok)
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
