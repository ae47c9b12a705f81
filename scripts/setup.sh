#!/usr/bin/env bash
# Installs the pinned Python tooling (requirements-dev.txt) into ./.venv: the onnxruntime wheel
# whose libonnxruntime ready loads, the onnx wheel's backend test models, and what
# fixtures/generate.py needs. Idempotent: reinstalls only when requirements-dev.txt changes.
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
