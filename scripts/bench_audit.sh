#!/usr/bin/env bash
# The audit's own cost (issue 17), four models side by side in one run: the default release
# audit of each, its wall time against the statistical minimum (the timed runs the latency
# statistics needed x the model's p50), and its peak memory.
#
#   iris         fixtures/models/iris_rf.onnx with fixtures/samples/iris.csv (microseconds a run)
#   ocr-rec      rapidocr rec v4 at its real input size [1, 3, 48, 320] (about 10 ms a run)
#   ocr-det      rapidocr det v4 at its real input size [1, 3, 736, 736] (about 160 ms a run)
#   mlp-200mb    a generated 4 -> 8192 -> 6400 -> 1 MLP, 210 MB of float32 weights (deterministic)
#   minilm-128   the corpus MiniLM-L6 int8 token model at sequence 128
#
# Memory is measured three ways, all printed:
#   tree peak    the largest sum of the resident memory of ready and its probe children, sampled
#                from /proc every 5 ms (a peak shorter than that can be missed);
#   self peak    ready's own account (cost.memory.audit_peak_rss_bytes in the JSON report): its
#                own peak, or its resident memory while a child ran plus that child's peak;
#   max one      GNU time's %M: the largest peak of ONE process (ready or one child), not a sum.
#
# Writes target/bench/audit.md (target/bench/$BENCH_TAG.md). Models go to target/bench/models (git-ignored).
#
#   scripts/bench_audit.sh            (needs scripts/setup.sh and scripts/corpus.sh done)
#   READY_BIN=path/to/ready BENCH_TAG=before scripts/bench_audit.sh   (another build, side by side)
#   BENCH_PROFILE=release scripts/bench_audit.sh                      (another cargo profile)
#
# By default it builds the `profiling` profile (Cargo.toml): the release profile's opt-level 3
# without whole-program LTO, which a shared 2-core machine builds in minutes, not tens of them.
#   BENCH_MODELS="iris ocr-rec" scripts/bench_audit.sh                (a subset)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench_audit: needs GNU time (apt-get install time)" >&2; exit 1; }
[ -x .venv/bin/python ] || scripts/setup.sh
[ -f .corpus/models/rapidocr-onnxruntime/ch_PP-OCRv4_rec_infer.onnx ] || scripts/corpus.sh
profile=${BENCH_PROFILE:-profiling}
if [ -z "${READY_BIN:-}" ]; then
    echo "bench_audit: building the $profile binary" >&2
    cargo build --profile "$profile" --locked --quiet --bin ready
fi
mkdir -p target/bench/models target/bench/audit
.venv/bin/python - <<'PY'
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

path = "target/bench/models/mlp-200mb.onnx"
if not os.path.exists(path):
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
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, path)
PY
lib=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* | head -n 1)
ORT_DYLIB_PATH="$lib" .venv/bin/python - "${BENCH_MODELS:-iris ocr-rec ocr-det mlp-200mb minilm-128}" \
    "${READY_BIN:-target/$profile/ready}" "${BENCH_TAG:-audit}" "${READY_BIN:-the $profile profile}" <<'PY'
import datetime, json, os, platform, subprocess, sys, time

wanted, ready, tag, build = sys.argv[1].split(), sys.argv[2], sys.argv[3], sys.argv[4]
corpus = {m["id"]: m for m in json.load(open("fixtures/corpus/manifest.json"))["models"]}
def corpus_model(cid):
    m = corpus[cid]
    return m["corpus_path"], m.get("realistic_shapes") or {}
models = {
    "iris": ("fixtures/models/iris_rf.onnx", {}, ["--sample", "fixtures/samples/iris.csv"]),
    "ocr-rec": (*corpus_model("rapidocr-rec-v4"), []),
    "ocr-det": (*corpus_model("rapidocr-det-v4"), []),
    "mlp-200mb": ("target/bench/models/mlp-200mb.onnx", {}, []),
    "minilm-128": (*corpus_model("minilm-l6-int8"), []),
}

def tree_rss(pid):
    """Resident bytes of pid and its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return total

mib = lambda b: f"{b / 2**20:.0f}" if b else "?"
rows = ["| model | verdict | wall s | runs x p50 = minimum s | ratio | goal 1.5 min + 1 s | tree peak MiB | self peak MiB | max one MiB | per check (s) |",
        "|---|---|---|---|---|---|---|---|---|---|"]
for name in wanted:
    path, shapes, extra = models[name]
    args = list(extra)
    if shapes:
        config = f"target/bench/audit/{name}.yaml"
        with open(config, "w") as f:
            f.write("# written by scripts/bench_audit.sh: the default config at the model's real input sizes\ninputs:\n")
            for k, v in shapes.items():
                f.write(f"  {json.dumps(k)}: {{shape: {json.dumps(v)}}}\n")
        args += ["--config", config]
    out = f"target/bench/audit/{tag}-{name}.json"
    rss_file = f"target/bench/audit/{tag}-{name}.time"
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file, ready, "audit", path, *args,
           "--skip", "lockfile", "--format", "json", "-q", "--output", out]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.005)
    wall = time.monotonic() - started
    err = proc.stderr.read()
    if proc.returncode not in (0, 1):
        rows.append(f"| {name} | error (exit {proc.returncode}): {err.strip()[:80]} | {wall:.1f} | | | | | | | |")
        print(rows[-1], file=sys.stderr)
        continue
    report = json.load(open(out))
    latency = next(c for c in report["checks"] if c["id"] == "latency")["metrics"]
    minimum = latency["runs"] * latency["p50_ms"] / 1e3
    goal = 1.5 * minimum + 1.0
    cost = report.get("cost", {})
    self_peak = cost.get("memory", {}).get("audit_peak_rss_bytes")
    one = int(open(rss_file).read().split()[-1]) * 1024
    per_check = ", ".join(f"{c['id']} {c['wall_ms'] / 1e3:.2f}" for c in cost.get("checks", []) if c["wall_ms"] >= 50)
    ok = "yes" if wall <= goal else "NO"
    rows.append(f"| {name} | {report['verdict']} | {wall:.1f} | {latency['runs']} x {latency['p50_ms']:.3g} ms = {minimum:.2f} | {wall / minimum:.1f} | {goal:.1f} s: {ok} | {mib(peak)} | {mib(self_peak)} | {mib(one)} | {per_check} |")
    print(rows[-1], file=sys.stderr)
machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}"
load = " ".join(open("/proc/loadavg").read().split()[:3])
text = "\n".join(rows) + f"\n\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine}, load average {load} at the end; {build}, default config (`--skip lockfile`), ONNX Runtime from .venv.\n"
open(f"target/bench/{tag}.md", "w").write(text)
print(text)
PY
