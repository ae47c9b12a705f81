#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and integration tests that run the real binary on
# fixtures/, on the onnxruntime wheel's own models and on the onnx wheel's backend test data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --locked "$@"
