#!/usr/bin/env bash
# Measures, in one run on the same model and thread settings (1 intra-op, 1 inter-op thread,
# all graph optimizations):
#   1. ready's latency p50 against the raw loops it must match: Python onnxruntime (the loop
#      users write today) and a minimal Rust ort loop (examples/raw_ort_loop.rs);
#   2. the wall time of a whole default `ready audit` against the seed-style Python audit
#      (onnxruntime + pandas: load, read the sample, check columns, predict once).
# Prints a Markdown table (and writes it to target/bench/results.md) with the machine.
#
#   scripts/bench.sh [MODEL] [RUNS]
#   CARGO_PROFILE=profiling scripts/bench.sh ...   (another cargo profile; default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
model=${1:-fixtures/models/iris_rf.onnx}
runs=${2:-20000}
features=4
sample=fixtures/samples/iris.csv
python=.venv/bin/python
lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* | head -n 1)
profile=${CARGO_PROFILE:-release}
echo "bench: building $profile binaries" >&2
cargo build --profile "$profile" --quiet --bin ready --example raw_ort_loop
bin=target/$profile
mkdir -p target/bench
config=target/bench/latency.yaml
cat > "$config" <<YAML
checks:
  latency:
    warmup_runs: 20
    runs: $runs
    max_seconds: 600
    early_stop: false
    p99_ms: null
    concurrency: 0
YAML
median_of() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p50_us() { $python -c 'import json,sys; print(json.load(sys.stdin)["p50_us"])'; }

echo "bench: p50 latency over $runs runs (3 rounds each, median shown)" >&2
py_loop=$(for i in 1 2 3; do $python scripts/bench_python.py loop "$model" $features "$runs" | p50_us; done | median_of)
rust_loop=$(for i in 1 2 3; do $bin/examples/raw_ort_loop "$lib" "$model" $features "$runs" | p50_us; done | median_of)
ready_p50=$(for i in 1 2 3; do
    ORT_DYLIB_PATH=$lib $bin/ready audit "$model" --only latency --config "$config" --format json -q |
        $python -c 'import json,sys; r=json.load(sys.stdin); print(next(c for c in r["checks"] if c["id"]=="latency")["metrics"]["p50_ms"]*1000)'
done | median_of)

echo "bench: whole audit wall time (5 rounds each, median shown)" >&2
wall() { $python -c 'import subprocess,sys,time; t=time.perf_counter(); subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(time.perf_counter()-t)' "$@"; }
ready_wall=$(for i in 1 2 3 4 5; do ORT_DYLIB_PATH=$lib wall $bin/ready audit "$model" --sample "$sample" --project fixtures/projects/python_pinned -q; done | median_of)
python_wall=$(for i in 1 2 3 4 5; do wall $python scripts/bench_python.py audit "$model" "$sample"; done | median_of)

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs || uname -m)
cores=$(nproc)
ort_version=$(basename "$lib" | sed 's/libonnxruntime.so.//')
report=$($python - "$py_loop" "$rust_loop" "$ready_p50" "$ready_wall" "$python_wall" <<'PY'
import sys
py, rust, ready, ready_wall, python_wall = map(float, sys.argv[1:])
print("| measurement | value | ratio |")
print("|---|---|---|")
print(f"| Python onnxruntime loop, p50 | {py:.2f} µs | |")
print(f"| raw Rust ort loop, p50 | {rust:.2f} µs | |")
print(f"| ready latency check, p50 | {ready:.2f} µs | {ready / rust:.3f}× raw ort loop, {ready / py:.3f}× Python loop |")
print(f"| whole default `ready audit` (10 checks), wall | {ready_wall:.2f} s | |")
speed = python_wall / ready_wall
verdict = f"ready is {speed:.2f}× faster" if speed >= 1 else f"ready takes {1 / speed:.1f}× as long (it times hundreds of runs and probes; the Python audit predicts once)"
print(f"| seed-style Python audit (load, read CSV, check columns, predict once), wall | {python_wall:.2f} s | {verdict} |")
PY
)
{
    echo "Machine: $cpu, $cores logical cores, $(uname -s) $(uname -m); ONNX Runtime $ort_version; model $model; $runs timed runs; 1 intra-op and 1 inter-op thread."
    echo
    echo "$report"
} | tee target/bench/results.md
