#!/usr/bin/env bash
# Proves btdht builds and links without std, and that this check would notice std.
set -euo pipefail
cd "$(dirname "$0")/no-std-check"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"

echo "no_std: building the #![no_std] #![no_main] binary against btdht (default-features = false, features = [\"ed25519\"])"
cargo build --quiet --release
"$CARGO_TARGET_DIR/release/btdht-no-std-check"
echo "no_std: the binary links and runs (exit 0)"

echo "no_std: building it again with btdht's std feature on; this must fail"
log=$(mktemp)
if cargo build --quiet --release --features with-std >"$log" 2>&1; then
    echo "no_std check is broken: the build with std succeeded" >&2
    exit 1
fi
if ! grep -q "panic_impl" "$log"; then
    echo "the std build failed, but not on a duplicate panic_impl:" >&2
    cat "$log" >&2
    exit 1
fi
echo "no_std: with std the build fails on the duplicate panic_impl lang item, as it must"
rm -f "$log"
