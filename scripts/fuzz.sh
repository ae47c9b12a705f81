#!/usr/bin/env bash
# Fuzzes every parser ready feeds with user files, one target after another, for SECONDS each
# (default 600). Seeds come from fuzz/corpus/<target> (committed); findings land in
# fuzz/artifacts/<target>. Every target runs; the script exits 1 naming the targets that
# crashed: commit each crash input under fuzz/regressions/<target>/ with a test, and fix it.
#
#   scripts/fuzz.sh            # 10 minutes per target
#   scripts/fuzz.sh 30         # a quick pass
#   scripts/fuzz.sh 600 lockfiles pickle_scan
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(config_yaml sample lockfiles pickle_scan pickle_differential onnx_inspect dockerfile)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes -Z flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
crashed=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    # The committed seeds are copied so that libFuzzer's additions stay out of git.
    work="fuzz/work/$target"
    mkdir -p "$work"
    cp -n "fuzz/corpus/$target/"* "$work/" 2>/dev/null || true
    # Earlier findings, once fixed, must keep passing.
    cp -n "fuzz/regressions/$target/"* "$work/" 2>/dev/null || true
    echo "fuzz: $target for ${seconds}s" >&2
    if ! cargo fuzz run --sanitizer none "$target" "$work" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1; then
        crashed+=("$target")
    fi
done
if [ ${#crashed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${crashed[*]}: see fuzz/artifacts/" >&2
    exit 1
fi
echo "fuzz: no crash in ${targets[*]} (${seconds}s each)" >&2
