//! Helpers shared by the integration tests; the benches include `counting.rs`,
//! `inputs.rs` and `populated.rs` with `#[path]`.
#![allow(dead_code)]

pub mod counting;
pub mod inputs;
pub mod net;
pub mod populated;

use std::path::PathBuf;

/// Reads and parses a vector file from `tests/vectors/`.
pub fn vectors(name: &str) -> serde_json::Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Lowercase hex to bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}
