#!/usr/bin/env bash
# Two examples/node.rs processes on 127.0.0.1 bootstrap off each other, each announces an
# info-hash, and each must find the peer the other announced. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

A=127.0.0.1:${TWO_NODES_PORT_A:-17001}
B=127.0.0.1:${TWO_NODES_PORT_B:-17002}
X=1111111111111111111111111111111111111111
Y=2222222222222222222222222222222222222222
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

cargo build --release --example node --quiet
NODE=target/release/examples/node

"$NODE" --bind "$A" --bootstrap "$B" --allow-local --seconds 12 --repeat 2 \
    --announce "$X:7001" --get-peers "$Y" >"$OUT/a" 2>&1 &
PA=$!
"$NODE" --bind "$B" --bootstrap "$A" --allow-local --seconds 12 --repeat 2 \
    --announce "$Y:7002" --get-peers "$X" >"$OUT/b" 2>&1 &
PB=$!
RA=0; RB=0
wait "$PA" || RA=$?
wait "$PB" || RB=$?

echo "--- node A ($A) ---"; cat "$OUT/a"
echo "--- node B ($B) ---"; cat "$OUT/b"
fail=0
grep -q "^peer $Y 127.0.0.1:7002$" "$OUT/a" || { echo "two-nodes: A did not find B's peer"; fail=1; }
grep -q "^peer $X 127.0.0.1:7001$" "$OUT/b" || { echo "two-nodes: B did not find A's peer"; fail=1; }
grep -q "^announced $X [1-9]" "$OUT/a" || { echo "two-nodes: A's announce was not accepted"; fail=1; }
grep -q "^announced $Y [1-9]" "$OUT/b" || { echo "two-nodes: B's announce was not accepted"; fail=1; }
[ "$RA" = 0 ] && [ "$RB" = 0 ] || { echo "two-nodes: exit codes $RA $RB"; fail=1; }
[ "$fail" = 0 ] && echo "two-nodes: each process found the other's announced peer"
exit "$fail"
