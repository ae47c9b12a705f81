#!/usr/bin/env bash
# Side by side with checkov: every memory, probe and image finding checkov reports on the
# deployment fixtures, ready must report too (same file, object and field path); what only ready
# reports (the value comparisons against the measured model) is listed after.
#
# 1. Installs checkov 3.3.30 and its whole dependency closure, pinned exactly
#    (scripts/checkov-requirements.txt), from PyPI into .tools/checkov (git-ignored); kept when
#    the pinned version is already there.
# 2. Runs `checkov -d fixtures/deploy --framework kubernetes,dockerfile -o json` (no download
#    from Prisma Cloud: --skip-download).
# 3. Runs `ready audit MODEL --project DIR --format json` for each fixture project DIR (a folder)
#    under fixtures/deploy/; MODEL is the one the MODELS table below names for the project, else
#    an .onnx file inside the project, else the fixtures/models/ file whose name the project's
#    files mention (`/models/iris_rf.onnx`), else fixtures/models/iris_rf.onnx.
# 4. scripts/checkov_compare.py prints the table and decides the exit status.
#
# Exit status: 0 when ready reports every memory/probe/image finding checkov reports; 1 when it
# misses one; 2 when something could not run (checkov, an audit that exits 2, a missing folder).
#
# Usage: scripts/checkov_compare.sh
#   DEPLOY_DIR=/tmp/other/deploy   fixture projects elsewhere (default fixtures/deploy)
#   READY=target/release/ready     the binary (default: `cargo build`, then target/debug/ready)
#   READY_CONFIG=FILE              audit config (default fixtures/configs/fast.yaml: short latency runs)
#   PYTHON=python3.11              the interpreter that makes the checkov venv
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
deploy_dir="${DEPLOY_DIR:-fixtures/deploy}"
config="${READY_CONFIG:-fixtures/configs/fast.yaml}"
tools="$root/.tools/checkov"
requirements="$root/scripts/checkov-requirements.txt"
version="$(sed -n 's/^checkov==//p' "$requirements")"

# Model per fixture project (folder name under DEPLOY_DIR), when the project does not name one.
declare -A MODELS=(
    # [kserve]=fixtures/models/lgbm.onnx
)
default_model=fixtures/models/iris_rf.onnx

die() {
    echo "checkov_compare.sh: $*" >&2
    exit 2
}

[ -d "$deploy_dir" ] || die "$deploy_dir: not a folder (the deployment fixtures)"

if [ "$("$tools/bin/checkov" --version 2>/dev/null)" != "$version" ]; then
    echo "installing checkov $version into .tools/checkov" >&2
    "${PYTHON:-python3}" -m venv "$tools" || die "cannot create $tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" || die "pip install -r $requirements failed"
fi

if [ -z "${READY:-}" ]; then
    cargo build -j1 --quiet || die "cargo build failed"
    READY="$root/target/debug/ready"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# checkov exits 1 when a check fails: that is its answer, not an error.
set +e
"$tools/bin/checkov" -d "$deploy_dir" --framework kubernetes,dockerfile -o json --skip-download \
    >"$work/checkov.json" 2>"$work/checkov.err"
status=$?
set -e
if [ "$status" -gt 1 ]; then
    cat "$work/checkov.err" >&2
    die "checkov exited $status"
fi

# The project's own model file (the one its Dockerfile copies), else the model its files name
# (`/models/iris_rf.onnx`) when fixtures/models/ has it.
named_model() {
    local name
    name="$(find "$1" -name '*.onnx' -type f | sort | head -n 1)"
    if [ -n "$name" ]; then
        echo "$name"
        return
    fi
    for name in $(grep -rhoIE '[A-Za-z0-9_.-]+\.onnx' "$1" 2>/dev/null | sort -u); do
        if [ -f "fixtures/models/$name" ]; then
            echo "fixtures/models/$name"
            return
        fi
    done
}

reports=()
for project in "$deploy_dir"/*/; do
    project="${project%/}"
    name="$(basename "$project")"
    model="${MODELS[$name]:-$(named_model "$project")}"
    model="${model:-$default_model}"
    out="$work/ready-$name.json"
    echo "ready audit $model --project $project" >&2
    set +e
    "$READY" audit "$model" --project "$project" --config "$config" --format json -q >"$out" 2>"$work/ready-$name.err"
    status=$?
    set -e
    if [ "$status" -gt 1 ]; then
        cat "$work/ready-$name.err" >&2
        die "ready audit $model --project $project exited $status"
    fi
    reports+=("$out")
done
[ "${#reports[@]}" -gt 0 ] || die "$deploy_dir: no fixture project folders"

"$tools/bin/python" "$root/scripts/checkov_compare.py" "$work/checkov.json" "$deploy_dir" "${reports[@]}"
