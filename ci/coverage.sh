#!/usr/bin/env bash
# Line coverage of src/ by the test suite plus the fuzz corpora, per module.
# Run by hand (not in CI): it needs the llvm-tools component and cargo-llvm-cov, and
# the corpora in fuzz/corpus/ from fuzz campaigns (fuzz/seeds/ is used when a target
# has no corpus yet). Prints one line per module and writes target/coverage/report.txt.
#
#   rustup component add llvm-tools-preview && cargo install cargo-llvm-cov --locked
#   bash ci/coverage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/target/coverage"
rm -rf "$out" && mkdir -p "$out/profraw"
sysroot=$(rustc --print sysroot)
bin="$(find "$sysroot" -name llvm-profdata -path '*rustlib*' | head -1 | xargs dirname)"
[ -x "$bin/llvm-cov" ] || { echo "llvm-tools missing: rustup component add llvm-tools-preview" >&2; exit 1; }

echo "coverage: the test suite (cargo llvm-cov)"
cargo llvm-cov clean --workspace >/dev/null 2>&1 || true
cargo llvm-cov --all-features --no-report >"$out/tests.log" 2>&1 || { tail -30 "$out/tests.log"; exit 1; }
objects=()
while IFS= read -r line; do objects+=(-object "$line"); done < <(
    find target/llvm-cov-target/debug/deps -maxdepth 1 -type f -executable ! -name '*.so'
)
find target/llvm-cov-target -maxdepth 1 -name '*.profraw' -exec cp {} "$out/profraw/" \;

echo "coverage: the fuzz corpora (cargo fuzz coverage)"
export RUSTC_BOOTSTRAP=1
for target in bencode krpc node krpc_fields; do
    corpus="fuzz/corpus/$target"
    [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ] || corpus="fuzz/seeds/$target"
    [ -d "$corpus" ] || continue
    # A snapshot: a campaign still running would delete inputs under the replay.
    mkdir -p "$out/corpus-$target"
    cp "$corpus"/* "$out/corpus-$target/" 2>/dev/null || true
    (cd fuzz && cargo fuzz coverage "$target" "$out/corpus-$target" >"$out/fuzz-$target.log" 2>&1) \
        || { tail -30 "$out/fuzz-$target.log"; exit 1; }
    cp "fuzz/coverage/$target/coverage.profdata" "$out/profraw/fuzz-$target.profdata"
    objects+=(-object "$(find fuzz/target -path "*coverage*release/$target" -type f | head -1)")
done

"$bin/llvm-profdata" merge -sparse "$out"/profraw/* -o "$out/all.profdata"
"$bin/llvm-cov" report --instr-profile "$out/all.profdata" "${objects[@]}" \
    --ignore-filename-regex '(/\.cargo/|/rustc/|/tests/|/benches/|/fuzz/|/examples/)' \
    >"$out/report.txt"

# Per module: sum the line counts of the files under src/<module>/ (or src/<module>.rs).
python3 - "$out/report.txt" <<'EOF'
import re, sys
mods = {}
for line in open(sys.argv[1]):
    parts = line.split()
    # llvm-cov names files relative to their common directory (src/ here).
    if len(parts) < 10 or not parts[0].endswith(".rs"):
        continue
    path = parts[0].split("src/", 1)[-1]
    mod = path.split("/")[0].removesuffix(".rs")
    # Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
    lines, missed = int(parts[7]), int(parts[8])
    t = mods.setdefault(mod, [0, 0])
    t[0] += lines
    t[1] += missed
total = [sum(v[0] for v in mods.values()), sum(v[1] for v in mods.values())]
for mod, (lines, missed) in sorted(mods.items()) + [("all of src/", total)]:
    print(f"{mod:12} {100 * (lines - missed) / max(lines, 1):5.1f} % of {lines} lines")
EOF
