#!/usr/bin/env bash
# Regenerates fixtures/ from fixtures/generate.py with the pinned scikit-learn and skl2onnx.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# skl2onnx orders some attributes through Python sets: a fixed hash seed makes the bytes reproducible.
PYTHONHASHSEED=0 .venv/bin/python fixtures/generate.py
PYTHONHASHSEED=0 .venv/bin/python fixtures/domain/generate.py
.venv/bin/python fixtures/domain/drift_expected.py
