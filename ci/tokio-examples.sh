#!/usr/bin/env bash
# Loopback process test of btdht-tokio's examples: their output lines and exit codes.
# A router (the root crate's examples/node.rs) runs on 127.0.0.1; announce, get_peers and
# put_get join it, each with an explicit --bootstrap and --allow-local, and a get_peers
# runs again from the state file alone. Loopback only; every process under `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUTER=127.0.0.1:${TOKIO_EXAMPLES_PORT:-17101}
H=e5f96f6f38320f0f33959cb4d3d656452117aadb
# The item "hello dht": bencoded 9:hello dht, and its SHA-1 (BEP 44 immutable target).
ITEM_HEX=393a68656c6c6f20646874
ITEM_TARGET=b300c9a324228057bd1d8f50232aa2cb1b780393
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

cargo build --quiet --example node
cargo build --quiet -p btdht-tokio --examples
EX=target/debug/examples

"$EX/node" --bind "$ROUTER" --allow-local --max-per-ip 16 --seconds 40 >"$OUT/router" 2>&1 &
PR=$!
sleep 0.5

fail=0
check() { # check NAME EXPECTED_EXIT COMMAND...: runs it, keeps its stdout in $OUT/NAME
    local name=$1 want=$2 rc=0
    shift 2
    timeout 30 "$@" >"$OUT/$name" 2>"$OUT/$name.err" || rc=$?
    echo "--- $name (exit $rc) ---"
    cat "$OUT/$name"
    if [ "$rc" != "$want" ]; then
        echo "tokio-examples: $name exited $rc, not $want"; cat "$OUT/$name.err"; fail=1
    fi
}
flags() { echo --bootstrap "$ROUTER" --bind "$1" --allow-local; }

check announce 0 "$EX/announce" $(flags 127.0.0.2:0) "$H" 6881
check get_peers 0 "$EX/get_peers" $(flags 127.0.0.3:0) --state "$OUT/state" "$H"
check get_peers_from_state 0 "$EX/get_peers" --bind 127.0.0.3:0 --allow-local --state "$OUT/state" "$H"
check get_peers_none 1 "$EX/get_peers" $(flags 127.0.0.4:0) 0000000000000000000000000000000000000001
check put 0 "$EX/put_get" $(flags 127.0.0.5:0) put "hello dht"
check get 0 "$EX/put_get" $(flags 127.0.0.6:0) get "$ITEM_TARGET"
check get_missing 1 "$EX/put_get" $(flags 127.0.0.7:0) get 1111111111111111111111111111111111111111
kill "$PR" 2>/dev/null || true
wait "$PR" 2>/dev/null || true

grep -qx "announced $H [1-9][0-9]*" "$OUT/announce" || { echo "tokio-examples: announce line"; fail=1; }
grep -qx "peer 127.0.0.2:6881" "$OUT/get_peers" && grep -qx "done [1-9][0-9]*" "$OUT/get_peers" \
    || { echo "tokio-examples: get_peers lines"; fail=1; }
grep -qx "peer 127.0.0.2:6881" "$OUT/get_peers_from_state" \
    || { echo "tokio-examples: get_peers from the state file"; fail=1; }
grep -qx "done 0" "$OUT/get_peers_none" || { echo "tokio-examples: get_peers none"; fail=1; }
grep -qx "put $ITEM_TARGET [1-9][0-9]*" "$OUT/put" || { echo "tokio-examples: put line"; fail=1; }
grep -qx "item $ITEM_TARGET $ITEM_HEX" "$OUT/get" || { echo "tokio-examples: get line"; fail=1; }
[ "$fail" = 0 ] || exit 1
echo "tokio-examples: all lines and exit codes as documented"
