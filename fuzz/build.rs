//! Embeds the `krpc` target's seed messages so the `node` target can deliver them whole
//! (valid KRPC that random bytes would rarely reach).
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("seeds/krpc");
    println!("cargo:rerun-if-changed=seeds/krpc");
    let mut files: Vec<_> = fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("pub const KRPC_SEEDS: &[&[u8]] = &[\n");
    for f in files {
        let abs = fs::canonicalize(&f).expect("seed path");
        out.push_str(&format!(
            "    include_bytes!({:?}),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("seeds.rs");
    fs::write(dest, out).expect("write seeds.rs");
}
