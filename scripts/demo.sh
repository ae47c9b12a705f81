#!/usr/bin/env bash
# The demo audit: the iris RandomForest model, a CSV sample, the training pipeline's own
# predictions for it (golden parity) and a pinned
# requirements.txt, on the ONNX Runtime that scripts/setup.sh installed into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --quiet --bin ready -- audit fixtures/models/iris_rf.onnx \
    --sample fixtures/samples/iris.csv \
    --expected fixtures/samples/iris_expected.csv \
    --project fixtures/projects/python_pinned \
    --config audits/default.yaml "$@"
