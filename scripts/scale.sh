#!/usr/bin/env bash
# The scale case: audits a generated model with over 200 MB of weights and a Parquet sample
# of over 1 GB, and reports load time and peak memory. The sample must be read lazily: only
# `sample.max_rows` rows from the first row group, never the whole file.
#
#   scripts/scale.sh [WORKDIR]     (default /tmp/ready-scale; about 1.3 GB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
work=${1:-/tmp/ready-scale}
mkdir -p "$work"
python=.venv/bin/python
$python - "$work" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import pyarrow as pa
import pyarrow.parquet as pq

work = sys.argv[1]
model_path = os.path.join(work, "large.onnx")
if not os.path.exists(model_path):
    rng = np.random.default_rng(0)
    # 4 -> 8192 -> 6400 -> 1: the second matrix alone is 8192 x 6400 float32 = 210 MB.
    w1 = rng.standard_normal((4, 8192), dtype=np.float32)
    w2 = (rng.standard_normal((8192, 6400), dtype=np.float32) * 0.01).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["z"]),
        helper.make_node("ReduceMean", ["z"], ["y"], axes=[1], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, model_path)
sample_path = os.path.join(work, "large.parquet")
if not os.path.exists(sample_path):
    schema = pa.schema([(f"f{i}", pa.float32()) for i in range(4)])
    rng = np.random.default_rng(1)
    with pq.ParquetWriter(sample_path, schema, compression="none") as writer:
        rows = 4_000_000
        for _ in range(18):  # 72M rows x 16 bytes = 1.15 GB
            columns = [pa.array(rng.standard_normal(rows, dtype=np.float32)) for _ in range(4)]
            writer.write_table(pa.table(columns, schema=schema), row_group_size=1_000_000)
for path in (model_path, sample_path):
    print(f"scale: {path}: {os.path.getsize(path) / 2**20:.0f} MiB", file=sys.stderr)
PY
cargo build --release --quiet --bin ready
lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* | head -n 1)
report=$work/report.json
/usr/bin/time -v -o "$work/time.txt" env ORT_DYLIB_PATH="$lib" target/release/ready audit "$work/large.onnx" \
    --sample "$work/large.parquet" --only serialization,schema_parity,latency -q --format json > "$report" || true
$python - "$report" "$work/time.txt" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
checks = {c["id"]: c for c in report["checks"]}
s, l = checks["serialization"]["metrics"], checks["latency"]["metrics"]
wall = next((line.split(": ", 1)[1] for line in open(sys.argv[2]) if "Elapsed (wall clock)" in line), "?")
rss = next((int(line.split(": ")[1]) for line in open(sys.argv[2]) if "Maximum resident set size" in line), 0)
print(f"| model | {report['model']['size_bytes'] / 2**20:.0f} MiB |")
print(f"| sample | {report['sample']['path']} ({report['sample']['rows']} rows read) |")
print(f"| session creation | {s['session_create_ms']:.0f} ms |")
print(f"| first inference | {s['first_inference_ms']:.1f} ms |")
print(f"| peak memory after load | {s['peak_rss_after_load_bytes'] / 2**20:.0f} MiB |")
print(f"| peak memory of the audit (getrusage / time -v) | {l['peak_rss_bytes'] / 2**20:.0f} MiB / {rss / 1024:.0f} MiB |")
print(f"| latency p50 / p99 | {l['p50_ms']:.2f} ms / {l['p99_ms']:.2f} ms |")
print(f"| whole audit, wall | {wall} |")
for id in ("serialization", "schema_parity", "latency"):
    print(f"| {id} | {checks[id]['status']}: {checks[id]['summary']} |")
PY
