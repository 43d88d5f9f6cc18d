#!/usr/bin/env bash
# Interop tests: examples/node.rs, and btdht-tokio's examples, against libtorrent and
# bittorrent-dht, on loopback only.
# They run inside a private network namespace this script makes itself (`unshare -n`).
#
#   libtorrent IPv4   libtorrent-rasterbar 2.0 (Debian's python3-libtorrent) on 127.0.0.x
#   libtorrent IPv6   the same on [::1]: nodes6, 18-byte compact peers
#   bittorrent-dht    webtorrent's bittorrent-dht (npm, pinned in ci/interop/package.json)
#   btdht-tokio       the driver crate's examples (get_peers, announce, put_get), each a
#                     fresh node bootstrapping off libtorrent, on 127.0.0.x (cases 3, 4, 5)
#
# Cases, both directions (see ci/interop/*_cases.*):
#   1. our node pings / find_nodes / get_peers them and gets valid answers;
#   2. they bootstrap off our node (their only bootstrap node) and their lookups succeed;
#   3. a peer they announce is found by our get_peers; one we announce, by their lookup;
#   4. our announce_peer is accepted by them (token round-trip);
#   5. BEP 44 immutable and mutable (ed25519-signed) items: our put found by their get,
#      their put by ours.
#
# Phase 1 (this network namespace): install what is missing (apt: python3-libtorrent,
# nodejs/npm, iproute2; npm ci in ci/interop), and fail loudly if it still cannot be
# used; build the example. Phase 2 (`unshare -n`, only `lo`): run each implementation's
# cases under a time limit, print a Markdown table, exit non-zero if any case failed.
# Needs root (apt-get, unshare). Ports 27001-27052 on 127.0.0.x and [::1], inside the
# namespace only. Logs (every datagram each of their nodes saw): target/interop/.
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
ROOT=$PWD
LOGS=${INTEROP_LOGS:-$ROOT/target/interop}
NODE_BIN=$ROOT/target/release/examples/node
EXAMPLES=$ROOT/target/release/examples
PY=/usr/bin/python3 # Debian's: python3-libtorrent installs for it, not for pyenv's
# Each harness bounds its own waits (~75 s in all at worst; ~7 s when all goes well).
CASE_TIMEOUT=${INTEROP_CASE_TIMEOUT:-90}

die() { echo "interop: FAIL: $*" >&2; exit 1; }

if [ "${BTDHT_INTEROP_IN_NETNS:-}" != 1 ]; then
    start=$(date +%s)
    [ "$(id -u)" = 0 ] || die "needs root (apt-get install, unshare -n)"
    command -v unshare >/dev/null || die "unshare (util-linux) not found"
    unshare -n true || die "unshare -n is not permitted here (needs root with CAP_SYS_ADMIN)"

    apt_updated=0
    apt_install() {
        if [ "$apt_updated" = 0 ]; then
            echo "interop: apt-get update"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
            apt_updated=1
        fi
        echo "interop: apt-get install -y $*"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
            || die "apt-get install $* failed"
    }

    command -v ip >/dev/null || apt_install iproute2
    command -v ip >/dev/null || die "ip (iproute2) still missing after install"

    [ -x "$PY" ] || apt_install python3
    if ! "$PY" -c 'import libtorrent' 2>/dev/null; then
        apt_install python3-libtorrent
    fi
    LT_VERSION=$("$PY" -c 'import libtorrent; print(libtorrent.__version__)') \
        || die "python3-libtorrent installed but '$PY -c \"import libtorrent\"' fails"

    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
    command -v node >/dev/null && command -v npm >/dev/null || die "node/npm still missing after install"
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$node_major" -ge 16 ] || die "node $(node --version) too old (need >= 16 for the ES module harness)"

    # The pinned versions, installed from the lock file unless already there.
    want_dht=$(node -p 'require("./ci/interop/package.json").dependencies["bittorrent-dht"]')
    have() { node -p "try { require('./ci/interop/node_modules/$1/package.json').version } catch (e) { '' }" 2>/dev/null; }
    if [ "$(have bittorrent-dht)" != "$want_dht" ] || [ "$(have bencode)" = "" ]; then
        echo "interop: npm ci (ci/interop)"
        (cd ci/interop && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in ci/interop failed"
    fi
    DHT_VERSION=$(have bittorrent-dht)
    [ "$DHT_VERSION" = "$want_dht" ] || die "bittorrent-dht $want_dht not installed in ci/interop/node_modules (have '$DHT_VERSION')"
    (cd ci/interop && node --input-type=module -e "await import('bittorrent-dht'); await import('bencode')") \
        || die "bittorrent-dht installed but cannot be imported"

    # ed25519: the BEP 44 mutable-item cases sign and verify.
    echo "interop: cargo build --release --features ed25519 --example node"
    cargo build --release --features ed25519 --example node --quiet \
        || die "cargo build --release --features ed25519 --example node failed"
    [ -x "$NODE_BIN" ] || die "$NODE_BIN missing after build"
    echo "interop: cargo build --release -p btdht-tokio --examples"
    cargo build --release -p btdht-tokio --examples --quiet \
        || die "cargo build --release -p btdht-tokio --examples failed"
    for ex in get_peers announce put_get; do
        [ -x "$EXAMPLES/$ex" ] || die "$EXAMPLES/$ex missing after build"
    done

    echo "interop: libtorrent-rasterbar $LT_VERSION, bittorrent-dht $DHT_VERSION, node $(node --version)"
    echo "interop: entering a private network namespace (unshare -n)"
    rc=0
    BTDHT_INTEROP_IN_NETNS=1 BTDHT_INTEROP_VERSIONS="libtorrent-rasterbar $LT_VERSION (python3-libtorrent), bittorrent-dht $DHT_VERSION, node $(node --version)" \
        unshare -n bash "$SELF" "$@" || rc=$?
    echo "interop: done in $(( $(date +%s) - start ))s, exit $rc"
    exit "$rc"
fi

# ---- phase 2: inside the private network namespace -----------------------------------
ip link set lo up
others=$(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -vx lo || true)
[ -z "$others" ] || die "not isolated: interfaces besides lo: $others"

rm -rf "$LOGS"
mkdir -p "$LOGS"
RESULTS=$LOGS/results.tsv
: >"$RESULTS"

run() { # name, command...: bounded in time; its output is kept and shown
    local name=$1; shift
    echo
    echo "=== $name"
    local rc=0
    timeout --kill-after=5 "$CASE_TIMEOUT" "$@" --logs "$LOGS/$name" --results "$RESULTS" \
        >"$LOGS/$name.out" 2>&1 || rc=$?
    cat "$LOGS/$name.out"
    [ "$rc" = 124 ] && echo "interop: $name timed out after ${CASE_TIMEOUT}s"
    if [ "$rc" != 0 ]; then
        for f in "$LOGS/$name"/ours-*.log; do
            [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
        done
    fi
    return 0
}
run libtorrent-v4 "$PY" ci/interop/libtorrent_cases.py --node "$NODE_BIN" --family 4
run libtorrent-v6 "$PY" ci/interop/libtorrent_cases.py --node "$NODE_BIN" --family 6
run bittorrent-dht node ci/interop/bittorrent_dht_cases.mjs --node "$NODE_BIN"
run tokio-libtorrent "$PY" ci/interop/tokio_libtorrent_cases.py --examples "$EXAMPLES"

# ---- the table: every expected cell must be PASS; a missing one is a failure ---------
echo
"$PY" - "$RESULTS" "${BTDHT_INTEROP_VERSIONS:-}" <<'PY'
import sys
# Each row and the cases it runs (None: all of them).
rows = [
    ("libtorrent IPv4", None),
    ("libtorrent IPv6", None),
    ("bittorrent-dht", None),
    # btdht-tokio's examples find, announce, put and get; node.rs covers the rest.
    ("btdht-tokio, libtorrent IPv4", {"their_peer", "our_peer", "announce", "our_item", "their_item"}),
]
cases = [
    ("ping", "1 ping"),
    ("find_node", "1 find_node"),
    ("get_peers", "1 get_peers"),
    ("bootstrap", "2 they bootstrap off us"),
    ("their_peer", "3 their peer, our get_peers"),
    ("our_peer", "3 our peer, their lookup"),
    ("announce", "4 our announce_peer accepted"),
    ("our_item", "5 our BEP 44 put, their get"),
    ("their_item", "5 their BEP 44 put, our get"),
    ("our_mutable", "5 our mutable put (ed25519), their get"),
    ("their_mutable", "5 their mutable put, our get"),
]
got = {}
for line in open(sys.argv[1]):
    parts = line.rstrip("\n").split("\t")
    if len(parts) == 5 and parts[0] == "RESULT":
        got[(parts[1], parts[2])] = (parts[3], parts[4])
print(f"Interop results ({sys.argv[2]})\n")
print("| implementation | " + " | ".join(h for _, h in cases) + " |")
print("|---" * (len(cases) + 1) + "|")
passed = failed = 0
for r, runs in rows:
    cells = []
    for c, _ in cases:
        if runs is not None and c not in runs:
            cells.append("\u2014")
            continue
        status = got.get((r, c), ("FAIL", "no result (harness crashed or timed out)"))[0]
        passed += status == "PASS"
        failed += status != "PASS"
        cells.append("pass" if status == "PASS" else "**FAIL**")
    print(f"| {r} | " + " | ".join(cells) + " |")
# Not a failure, and not a pass: bittorrent-dht 11 is IPv4-only (a udp4 socket, 6-byte
# compact nodes and peers, no nodes6/want), so there is nothing to run against it on [::1].
print("| bittorrent-dht IPv6 | " + " | ".join("n/a\u00b9" for _ in cases) + " |")
print()
print("\u00b9 not run: bittorrent-dht is IPv4-only (udp4 socket, 6-byte compact nodes/peers, no nodes6).")
print("\u2014 not a case of that row: btdht-tokio's examples find, announce, put and get; examples/node.rs covers the rest.")
print()
for r, runs in rows:
    for c, _ in cases:
        if runs is not None and c not in runs:
            continue
        status, detail = got.get((r, c), ("FAIL", "no result (harness crashed or timed out)"))
        print(f"- {r} / {c}: {status}: {detail}")
print()
print(f"interop: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
