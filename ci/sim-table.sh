#!/usr/bin/env bash
# The README's simulator tables: our defaults and the anchors' lookup settings on the
# same seeds, in the three networks of issue 5. Run by hand (about 5 minutes on 2 cores):
#   bash ci/sim-table.sh [LOOKUPS]
set -euo pipefail
cd "$(dirname "$0")/.."
lookups=${1:-1000}
cargo build --quiet --release --features sim --example simulate
sim=target/release/examples/simulate
declare -A settings=(
    ["btdht defaults"]=""
    ["libtorrent-like"]="--alpha 5 --soft-timeout-ms 1000 --attempts 1 --sibling-probe 0"
    ["anacrolix-like"]="--alpha 3 --soft-timeout-ms 2000 --attempts 1 --sibling-probe 0"
    ["mainline-like"]="--k 20 --alpha 20 --soft-timeout-ms 2000 --attempts 1 --sibling-probe 0"
)
networks=(
    "healthy:"
    "faults:--loss 0.1 --churn 0.2 --silent 0.2"
    "hostile:--hostile 0.2"
)
for name in "btdht defaults" "libtorrent-like" "anacrolix-like" "mainline-like"; do
    for net in "${networks[@]}"; do
        # shellcheck disable=SC2086
        line=$($sim --nodes 10000 --lookups "$lookups" ${settings[$name]} ${net#*:} 2>/dev/null | grep '^summary')
        echo "$name | ${net%%:*} | $line"
    done
done
