#!/usr/bin/env bash
# Prints docs/SIMULATOR.md's comparison of lookup settings as a markdown table.
# Our defaults and the anchors' lookup settings on the same seed, each in three networks
# of 10 000 simulated nodes: healthy; 10 % loss, 20 % churn and 20 % silent nodes; 20 %
# hostile nodes. Run by hand (about 5 minutes on 2 cores):
#   bash ci/sim-table.sh [LOOKUPS]
set -euo pipefail
cd "$(dirname "$0")/.."
lookups=${1:-1000}
cargo build --quiet --release --features sim --example simulate
sim=target/release/examples/simulate
# shellcheck source=ci/sim-settings.sh
source ci/sim-settings.sh
networks=(
    "healthy:"
    "faults:--loss 0.1 --churn 0.2 --silent 0.2"
    "hostile:--hostile 0.2"
)
# One row per run: the raw summary line (to stderr, for the record), and a markdown
# table of the fields docs/SIMULATOR.md quotes (to stdout).
echo "| settings | network | correct | found peer | median / p90 queries | median hops | settled median / p90 / p99 ms | peer median ms |"
echo "|---|---|---|---|---|---|---|---|"
for name in "${setting_names[@]}"; do
    for net in "${networks[@]}"; do
        # shellcheck disable=SC2086
        line=$($sim --nodes 10000 --lookups "$lookups" ${settings[$name]} ${net#*:} 2>/dev/null | grep '^summary')
        echo "$name | ${net%%:*} | $line" >&2
        echo "$line" | awk -v name="$name" -v net="${net%%:*}" '
            { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
            END {
                printf "| %s | %s | %.1f %% | %.1f %% | %s / %s | %s | %s / %s / %s | %s |\n", name, net,
                    100 * v["success_rate"], 100 * v["found_rate"], v["median_queries"], v["p90_queries"],
                    v["median_hops"], v["median_ms"], v["p90_ms"], v["p99_ms"], v["median_peer_ms"]
            }'
    done
done
