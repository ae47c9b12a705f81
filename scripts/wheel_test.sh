#!/usr/bin/env bash
# The `pip install` distribution, end to end: builds the wheel with maturin (pyproject.toml),
# installs it into a fresh venv with nothing else in it (pip resolves onnxruntime from PyPI, as
# for a user), and runs the installed `ready` with a bare environment (no VIRTUAL_ENV, no
# ORT_DYLIB_PATH, no .venv in the working folder, no python3 with onnxruntime on PATH), so the
# runtime can only come from the venv `ready` is installed in. Asserts: a passing audit exits 0,
# a failing one 1, the library used is the venv's own, and both SARIF reports validate against
# the SARIF 2.1.0 schema (tests/schemas/sarif-schema-2.1.0.json).
#
# maturin and jsonschema come from scripts/tools-requirements.txt, installed into .tools/venv
# (git-ignored). The wheel is built with the dev profile: CI has just built it for the tests, so
# only the final link is new (a release wheel is `maturin build --release`: LTO, minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
python=${PYTHON:-python3}

fail() {
    echo "wheel_test: FAIL: $*" >&2
    exit 1
}

tools=.tools/venv
stamp=$tools/.requirements.sha256
want=$(sha256sum scripts/tools-requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "wheel_test: installing maturin and jsonschema into $tools" >&2
    rm -rf "$tools"
    "$python" -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/tools-requirements.txt
    echo "$want" > "$stamp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "wheel_test: building the wheel (dev profile)" >&2
"$tools/bin/maturin" build --quiet --locked --profile dev --out "$work/dist" >&2
wheels=("$work"/dist/*.whl)
[ ${#wheels[@]} -eq 1 ] || fail "expected one wheel, found: ${wheels[*]}"
wheel=${wheels[0]}
echo "wheel_test: built $(basename "$wheel")" >&2

venv=$work/venv
"$python" -m venv "$venv"
echo "wheel_test: pip install $(basename "$wheel") into a fresh venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
[ -x "$venv/bin/ready" ] || fail "the wheel installed no $venv/bin/ready"

# A bare environment: what a CI step that ran `pip install` and then `ready` has, minus any
# variable that could point ready at another runtime. The working folder has no .venv.
mkdir -p "$work/cwd"
bare() {
    (cd "$work/cwd" && env -i HOME="$HOME" PATH=/usr/bin:/bin LANG=C.UTF-8 "$venv/bin/ready" "$@")
}

bare --version >/dev/null || fail "ready --version failed"

# The project the model is served from pins the onnxruntime pip resolved for the wheel (the
# lockfile check compares the pin with the runtime that ran).
ort_version=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('onnxruntime'))")
mkdir -p "$work/project"
echo "onnxruntime==$ort_version" > "$work/project/requirements.txt"

audit() {
    local expect=$1 name=$2 sample=$3
    local code=0
    bare audit "$repo/fixtures/models/iris_rf.onnx" --sample "$repo/fixtures/samples/$sample" \
        --project "$work/project" --quiet \
        --output "$work/$name.json" --output "$work/$name.sarif" > "$work/$name.txt" || code=$?
    if [ "$code" -ne "$expect" ]; then
        cat "$work/$name.txt" >&2
        fail "audit with $sample exited $code, expected $expect"
    fi
    echo "wheel_test: audit with $sample exited $code as expected" >&2
}
audit 0 pass iris.csv
audit 1 fail iris_renamed.csv

"$tools/bin/python" - "$work" "$venv" "$repo/tests/schemas/sarif-schema-2.1.0.json" <<'EOF'
import json, os, sys
import jsonschema

work, venv, schema_path = sys.argv[1:]
with open(schema_path) as f:
    schema = json.load(f)
validator = jsonschema.Draft7Validator(schema)
for name, verdict in [("pass", "ready"), ("fail", "not_ready")]:
    with open(os.path.join(work, name + ".json")) as f:
        report = json.load(f)
    assert report["verdict"] == verdict, (name, report["verdict"])
    library = report["runtime"]["library"]
    # The runtime pip pulled in, found through the venv ready lives in.
    assert os.path.realpath(library).startswith(os.path.realpath(venv) + os.sep), library
    assert report["runtime"]["found_via"] == "Python onnxruntime package", report["runtime"]
    with open(os.path.join(work, name + ".sarif")) as f:
        sarif = json.load(f)
    errors = sorted(validator.iter_errors(sarif), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    levels = sorted(r["level"] for r in sarif["runs"][0]["results"])
    print(f"wheel_test: {name}: ONNX Runtime {report['runtime']['version']} from {library}; "
          f"SARIF valid, result levels {levels}", file=sys.stderr)
fail_results = json.load(open(os.path.join(work, "fail.sarif")))["runs"][0]["results"]
assert any(r["ruleId"] == "schema_parity" and r["level"] == "error" for r in fail_results), fail_results
EOF
echo "wheel_test: ok (wheel built, installed alone, passing and failing audits, SARIF valid)" >&2
