# The lookup settings ci/sim-table.sh and ci/sim-plots.sh compare: our defaults and the
# anchors' (libtorrent, anacrolix/dht, the `mainline` crate), as examples/simulate.rs
# flags. Sourced, not run.
# shellcheck disable=SC2034
setting_names=("btdht defaults" "libtorrent-like" "anacrolix-like" "mainline-like")
declare -A settings=(
    ["btdht defaults"]=""
    ["libtorrent-like"]="--alpha 5 --soft-timeout-ms 1000 --attempts 1 --sibling-probe 0"
    ["anacrolix-like"]="--alpha 3 --soft-timeout-ms 2000 --attempts 1 --sibling-probe 0"
    ["mainline-like"]="--k 20 --alpha 20 --soft-timeout-ms 2000 --attempts 1 --sibling-probe 0"
)
