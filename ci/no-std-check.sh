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

# A microcontroller without pointer-sized atomics (thumbv6m, Cortex-M0): the core must
# not need `Arc`. `bytes` needs its `extra-platforms` feature there (portable-atomic);
# an application on a single core also sets portable-atomic's single-core cfg. Skipped
# when the target's standard library cannot be installed.
cd ../..
if rustup target list --installed 2>/dev/null | grep -q '^thumbv6m-none-eabi$' \
    || timeout 300 rustup target add thumbv6m-none-eabi >/dev/null 2>&1; then
    echo "no_std: building the library for thumbv6m-none-eabi (no pointer atomics)"
    RUSTFLAGS="--cfg portable_atomic_unsafe_assume_single_core" \
        cargo build --quiet --lib --no-default-features --features bytes/extra-platforms \
        --target thumbv6m-none-eabi
    echo "no_std: the library builds for thumbv6m-none-eabi"
else
    echo "no_std: thumbv6m-none-eabi not installable here; that build is skipped"
fi
