#!/usr/bin/env bash
# Regenerates fixtures/ from fixtures/generate.py with the pinned scikit-learn and skl2onnx.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python fixtures/generate.py
