#!/usr/bin/env bash
# Loopback process test: examples/node.rs and examples/tokio.rs find each other's peers.
# Two examples/node.rs processes on 127.0.0.1 bootstrap off each other, each announces an
# info-hash, and each must find the peer the other announced; then examples/tokio.rs joins
# through one of them and must find both peers. A also puts a BEP 44 immutable item, which
# a third node.rs process then gets by its target, scrapes A's info-hash (one
# downloader IP, 127.0.0.1; no seed) and asks B for its BEP 51 samples. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

A=127.0.0.1:${TWO_NODES_PORT_A:-17001}
B=127.0.0.1:${TWO_NODES_PORT_B:-17002}
X=1111111111111111111111111111111111111111
Y=2222222222222222222222222222222222222222
# The item "hello dht": bencoded 9:hello dht, and its SHA-1 (BEP 44 immutable target).
ITEM_HEX=393a68656c6c6f20646874
ITEM_TARGET=b300c9a324228057bd1d8f50232aa2cb1b780393
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# The ed25519 feature as in ci/interop.sh, so the two share one release build.
cargo build --release --features ed25519 --example node --example tokio --quiet
NODE=target/release/examples/node

"$NODE" --bind "$A" --bootstrap "$B" --allow-local --seconds 12 --repeat 2 \
    --announce "$X:7001" --get-peers "$Y" --put "hello dht" >"$OUT/a" 2>&1 &
PA=$!
"$NODE" --bind "$B" --bootstrap "$A" --allow-local --seconds 12 --repeat 2 \
    --announce "$Y:7002" --get-peers "$X" >"$OUT/b" 2>&1 &
PB=$!
# The tokio driver joins once both have announced (waited for at most 10 s), and looks
# both info-hashes up.
for _ in $(seq 100); do
    grep -q "^announced" "$OUT/a" 2>/dev/null && grep -q "^announced" "$OUT/b" 2>/dev/null && break
    sleep 0.1
done
RT=0
timeout 20 target/release/examples/tokio --bind 127.0.0.1:0 --bootstrap "$A" --allow-local \
    --get-peers "$X" --get-peers "$Y" --seconds 6 </dev/null >"$OUT/t" 2>&1 || RT=$?
RC=0
timeout 10 "$NODE" --bind 127.0.0.1:0 --bootstrap "$A" --allow-local --seconds 3 --exit-when-done \
    --get "$ITEM_TARGET" --scrape "$X" --sample "$B" >"$OUT/c" 2>&1 || RC=$?
RA=0; RB=0
wait "$PA" || RA=$?
wait "$PB" || RB=$?

echo "--- node A ($A) ---"; cat "$OUT/a"
echo "--- node B ($B) ---"; cat "$OUT/b"
echo "--- examples/tokio.rs ---"; cat "$OUT/t"
echo "--- node C (get, scrape, sample) ---"; cat "$OUT/c"
fail=0
grep -q "^peer $Y 127.0.0.1:7002$" "$OUT/a" || { echo "two-nodes: A did not find B's peer"; fail=1; }
grep -q "^peer $X 127.0.0.1:7001$" "$OUT/b" || { echo "two-nodes: B did not find A's peer"; fail=1; }
grep -q "^announced $X [1-9]" "$OUT/a" || { echo "two-nodes: A's announce was not accepted"; fail=1; }
grep -q "^announced $Y [1-9]" "$OUT/b" || { echo "two-nodes: B's announce was not accepted"; fail=1; }
grep -q "^peer $X 127.0.0.1:7001$" "$OUT/t" && grep -q "^peer $Y 127.0.0.1:7002$" "$OUT/t" \
    || { echo "two-nodes: the tokio node did not find both peers"; fail=1; }
grep -q "^put $ITEM_TARGET [1-9]" "$OUT/a" || { echo "two-nodes: A's put was not stored"; fail=1; }
grep -q "^item $ITEM_TARGET $ITEM_HEX$" "$OUT/c" && [ "$RC" = 0 ] \
    || { echo "two-nodes: C did not get A's item (exit $RC)"; fail=1; }
grep -q "^scrape $X 0 1$" "$OUT/c" || { echo "two-nodes: C's scrape of $X did not count A"; fail=1; }
grep -q "^samples $B [1-9][0-9]* [1-9]" "$OUT/c" && grep -q "^sample $X$" "$OUT/c" \
    || { echo "two-nodes: C's samples from B did not list $X"; fail=1; }
[ "$RT" = 0 ] || { echo "two-nodes: the tokio node exited with $RT"; fail=1; }
[ "$RA" = 0 ] && [ "$RB" = 0 ] || { echo "two-nodes: exit codes $RA $RB"; fail=1; }
[ "$fail" = 0 ] && echo "two-nodes: each process found the other's announced peer, the tokio node both, and C got A's item, scraped its info-hash and sampled B"
exit "$fail"
