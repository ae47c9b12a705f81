#!/usr/bin/env bash
# Creates the small real Python environments the lockfile tests compare locks with, under .envs/
# (git-ignored), from PyPI: every package pinned with its hashes (scripts/envs/NAME.txt, written
# by `uv pip compile --generate-hashes --python-version 3.11 scripts/envs/NAME.in`), installed
# with --no-deps --require-hashes, so what is installed is exactly the file.
#   .envs/tiny   requests 2.34.2 and anyio 4.16.0 with what they need on Python 3.11 (anyio's
#                `exceptiongroup; python_version < "3.11"` is not installed: its marker is false)
#   .envs/drift  the same with urllib3 2.7.0 instead of 2.8.0, and six 1.17.0 besides
# Idempotent and fast when done: an environment whose file has not changed is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
for name in tiny drift; do
    requirements="scripts/envs/$name.txt"
    dir=".envs/$name"
    want="$(sha256sum "$requirements" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
    if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$want" ]]; then
        continue
    fi
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-deps --require-hashes -r "$requirements"
    echo "$want" > "$dir/.stamp"
done
