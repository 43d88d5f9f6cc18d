//! The `krpc` fuzz target's checks, run by `cargo test` on every committed seed (and on
//! the local corpus, when a fuzz run has left one): the fast path of `Message::decode`
//! reads each input exactly as the strict decoder does (the same message, or the same
//! error at the same offset with the same recovered `t` and `y`), and a decoded message
//! encodes into exactly `encoded_len` bytes that decode to an equal message.
//!
//! The seeds are the files under `fuzz/seeds/krpc/` and `fuzz/seeds/bencode/`, written by
//! `fuzz/make_seeds.py`. The fuzz crate is not packaged, so outside the repository (a
//! downloaded crate has no `fuzz/`) there is nothing to read and the test says so; in the
//! repository an empty or missing seed directory fails it.

use btdht::krpc::{Message, decode_strict_for_fuzzing};
use std::fs;
use std::path::{Path, PathBuf};

/// Fewer seeds than this in a committed directory means it was emptied by mistake.
const MIN_SEEDS: usize = 20;

/// What checking one directory found.
#[derive(Default)]
struct Checked {
    inputs: usize,
    decoded: usize,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files in `dir`, sorted so a failure names the same seed every run.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// What `fuzz/fuzz_targets/krpc.rs` asserts for one input; returns whether it decoded.
fn check(name: &Path, data: &[u8]) -> bool {
    let decoded = Message::decode(data);
    assert_eq!(
        decoded,
        decode_strict_for_fuzzing(data),
        "{}: the fast path and the strict decoder disagree on {}",
        name.display(),
        data.escape_ascii()
    );
    let Ok(msg) = decoded else {
        return false;
    };
    let len = msg.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(msg.encode(&mut out), Ok(len), "{}", name.display());
    assert!(
        msg.encode(&mut out[..len - 1]).is_err(),
        "{}: encoded into a buffer one byte short",
        name.display()
    );
    let again = Message::decode(&out)
        .unwrap_or_else(|e| panic!("{}: our encoding does not decode: {e}", name.display()));
    assert_eq!(
        again,
        msg,
        "{}: encode then decode changed it",
        name.display()
    );
    true
}

fn check_dir(dir: &Path) -> Checked {
    let mut checked = Checked::default();
    for path in files(dir) {
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        checked.inputs += 1;
        checked.decoded += usize::from(check(&path, &data));
    }
    checked
}

/// Whether the fuzz crate is here (a packaged btdht has none, and no seeds to check).
fn in_repository() -> bool {
    let here = root().join("Cargo.toml").is_file();
    if !here {
        eprintln!("no fuzz/ here (a packaged crate?): no seeds to check");
    }
    here
}

#[test]
fn the_fast_path_reads_every_krpc_seed_as_the_strict_decoder_does_and_each_reencodes() {
    if !in_repository() {
        return;
    }
    let checked = check_dir(&root().join("seeds/krpc"));
    eprintln!(
        "fuzz/seeds/krpc: {} seeds, {} decoded",
        checked.inputs, checked.decoded
    );
    assert!(checked.inputs >= MIN_SEEDS, "only {} seeds", checked.inputs);
    // The KRPC seeds are mostly valid messages; a few are malformed on purpose.
    assert!(
        checked.decoded * 4 >= checked.inputs * 3,
        "only {} of {} KRPC seeds decode",
        checked.decoded,
        checked.inputs
    );
}

#[test]
fn the_fast_path_reads_every_bencode_seed_as_the_strict_decoder_does_and_each_reencodes() {
    if !in_repository() {
        return;
    }
    let checked = check_dir(&root().join("seeds/bencode"));
    eprintln!(
        "fuzz/seeds/bencode: {} seeds, {} decoded as KRPC",
        checked.inputs, checked.decoded
    );
    assert!(checked.inputs >= MIN_SEEDS, "only {} seeds", checked.inputs);
}

/// The corpus a local `cargo fuzz run krpc` grows; not committed, so often absent.
#[test]
fn the_fast_path_reads_the_local_krpc_corpus_as_the_strict_decoder_does() {
    let dir = root().join("corpus/krpc");
    if !dir.is_dir() {
        eprintln!("no fuzz/corpus/krpc: skipped");
        return;
    }
    let checked = check_dir(&dir);
    eprintln!(
        "fuzz/corpus/krpc: {} inputs, {} decoded",
        checked.inputs, checked.decoded
    );
}
