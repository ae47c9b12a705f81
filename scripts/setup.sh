#!/usr/bin/env bash
# Installs the pinned Python tooling (requirements-dev.txt) into ./.venv: the onnxruntime wheel
# whose libonnxruntime ready loads, the onnx wheel's backend test models, and what
# fixtures/generate.py needs; and, for the compatibility tests, the libonnxruntime of the oldest
# release ready supports (1.23.0) and of one it refuses (1.22.1) under .ort-compat/.
# Idempotent: reinstalls only when requirements-dev.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($python --version 2>&1)" >&2
    "$python" -m venv .venv
fi
stamp=.venv/.ready-requirements.sha256
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "setup: installing pinned packages from requirements-dev.txt into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$want" > "$stamp"
fi
lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* 2>/dev/null | head -n 1 || true)
if [ -z "$lib" ]; then
    echo "setup: onnxruntime installed but libonnxruntime not found under .venv" >&2
    exit 1
fi
echo "setup: ONNX Runtime library at $lib" >&2

# Compatibility tests (tests/process_safety.rs): 1.23.0 must audit a model, 1.22.1 (which aborts
# creating any session) must be refused before it is loaded. Only the library is kept.
for version in 1.23.0 1.22.1; do
    dest=.ort-compat/$version
    if ls "$dest"/libonnxruntime* >/dev/null 2>&1; then
        continue
    fi
    echo "setup: downloading onnxruntime $version for the compatibility tests into $dest" >&2
    wheels=$(mktemp -d)
    .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
        "onnxruntime==$version" -d "$wheels"
    mkdir -p "$dest"
    .venv/bin/python - "$wheels" "$dest" <<'EOF'
import glob, os, sys, zipfile

wheels, dest = sys.argv[1:]
(wheel,) = glob.glob(os.path.join(wheels, "onnxruntime-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/libonnxruntime") and "providers" not in base:
            with archive.open(name) as source, open(os.path.join(dest, base), "wb") as target:
                target.write(source.read())
EOF
    rm -rf "$wheels"
done
