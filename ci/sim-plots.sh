#!/usr/bin/env bash
# Draws docs/SIMULATOR.md's figures (docs/sim/*.svg) from deterministic simulator runs.
# Our defaults and the anchors' lookup settings (ci/sim-settings.sh, as in
# ci/sim-table.sh) on the same seed, each in four networks of 10 000 simulated nodes:
# healthy; 10 % loss, 20 % churn and 20 % silent nodes; 20 % hostile nodes; dual stack
# (10 % IPv6-only, 30 % dual-stack). For each network, docs/sim/NETWORK.svg shows every
# setting's cumulative distribution of the time to the first peer, its correctness in the
# legend; docs/sim/run-NETWORK.svg is our defaults' own figure (time to the first peer and
# to settle, queries per lookup). The same runs draw the same files. Run by hand (about
# 7 minutes on 2 cores; not part of .ci/run, which runs tests/sim_plot.rs instead):
#   bash ci/sim-plots.sh [LOOKUPS]
set -euo pipefail
cd "$(dirname "$0")/.."
lookups=${1:-1000}
out=docs/sim
cargo build --quiet --release --features sim --example simulate --example sim_plot
sim=target/release/examples/simulate
plot=target/release/examples/sim_plot
# shellcheck source=ci/sim-settings.sh
source ci/sim-settings.sh
networks=(
    "healthy|Healthy network|"
    "faults|10 % loss, 20 % churn, 20 % silent nodes|--loss 0.1 --churn 0.2 --silent 0.2"
    "hostile|20 % hostile nodes|--hostile 0.2"
    "dual|Dual stack, 10 % IPv6-only, 30 % both|--ipv6 0.1 --dual 0.3"
)
# The per-lookup samples stay in target/sim-samples/, to draw again without the runs.
tmp=target/sim-samples
mkdir -p "$out" "$tmp"
for net in "${networks[@]}"; do
    IFS='|' read -r key title flags <<<"$net"
    runs=()
    for i in "${!setting_names[@]}"; do
        name=${setting_names[$i]}
        own=()
        [ "$i" -eq 0 ] && own=(--plot "$out/run-$key.svg")
        # The summary line of each run, for the record (stderr).
        # shellcheck disable=SC2086
        line=$($sim --nodes 10000 --lookups "$lookups" ${settings[$name]} $flags \
            --samples "$tmp/$key-$i.csv" "${own[@]}" 2>/dev/null | grep '^summary')
        echo "$key | $name | $line" >&2
        runs+=("$name=$tmp/$key-$i.csv")
    done
    $plot --title "$title: time to the first peer (10 000 nodes, $lookups lookups, seed 1)" \
        --out "$out/$key.svg" "${runs[@]}"
    echo "wrote $out/$key.svg and $out/run-$key.svg" >&2
done
