"""Driver of scripts/bench_drift.sh: `generate DIR ROWS` writes the data and a 20-input model;
`run DIR EVIDENTLY_PYTHON` times Evidently and ready on it and prints the comparison."""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = [f"f{i}" for i in range(20)]

EVIDENTLY = """
import json, sys
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
data, out = sys.argv[1], sys.argv[2]
columns = [f"f{i}" for i in range(20)]
reference = pd.read_parquet(f"{data}/reference.parquet")
current = pd.read_parquet(f"{data}/current.parquet")
definition = DataDefinition(numerical_columns=columns)
metrics = [ValueDrift(column=c, method=m) for c in columns for m in ("psi", "ks")]
snapshot = Report(metrics).run(
    current_data=Dataset.from_pandas(current, data_definition=definition),
    reference_data=Dataset.from_pandas(reference, data_definition=definition),
)
values = [m["value"] for m in snapshot.dict()["metrics"]]
figures = {c: {"psi": values[2 * i], "ks_p": values[2 * i + 1]} for i, c in enumerate(columns)}
json.dump(figures, open(out, "w"))
"""


def generate(folder, rows):
    import numpy as np
    import onnx
    import pyarrow as pa
    import pyarrow.parquet as pq
    from onnx import TensorProto, helper

    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "current.parquet").exists():
        for name, seed, shifts in (("reference", 1, [0.0] * 5), ("current", 2, [0.1, 0.2, 0.3, 0.4, 0.5])):
            rng = np.random.default_rng(seed)
            arrays = {}
            for i, c in enumerate(COLUMNS):
                mean, std = 10.0 * i, 1.0 + i
                arrays[c] = rng.normal(mean + (shifts[i] * std if i < 5 else 0.0), std, size=rows)
            pq.write_table(pa.table(arrays), folder / f"{name}.parquet", compression="zstd")
    inputs = [helper.make_tensor_value_info(c, TensorProto.DOUBLE, [None, 1]) for c in COLUMNS]
    output = helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None, 20])
    graph = helper.make_graph([helper.make_node("Concat", COLUMNS, ["y"], axis=1)], "bench_drift", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, folder / "model.onnx")
    (folder / "config.yaml").write_text(f"sample:\n  max_rows: {rows}\n")


def timed(command, label):
    """Runs `command` under GNU time: (wall seconds, peak RSS MiB)."""
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode not in (0, 1):
        sys.exit(f"bench_drift: {label} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    peak = int(result.stderr.strip().splitlines()[-1]) / 1024
    return wall, peak, result.stdout


def run(folder, evidently_python):
    ready = os.environ.get("READY_BIN", "target/profiling/ready")
    with_evidently = os.environ.get("EVIDENTLY", "1") == "1"
    rows = []
    evidently = None
    if with_evidently:
        wall, peak, _ = timed([evidently_python, "-c", EVIDENTLY, str(folder), str(folder / "evidently.json")], "Evidently")
        rows.append(("Evidently 0.7.23 (pandas read + ValueDrift psi, ks x 20)", wall, peak))
        evidently = json.load(open(folder / "evidently.json"))
    audit = [ready, "audit", str(folder / "model.onnx"), "--sample", str(folder / "current.parquet"), "--config", str(folder / "config.yaml"),
             "--only", "drift", "--format", "json", "--quiet"]
    wall, peak, out = timed([*audit, "--reference", str(folder / "reference.parquet")], "ready audit")
    rows.append(("ready audit --reference reference.parquet (--only drift)", wall, peak))
    report = json.loads(out)
    wall, peak, _ = timed([ready, "profile", str(folder / "reference.parquet"), "-o", str(folder / "profile.json"), "--force"], "ready profile")
    rows.append(("ready profile reference.parquet", wall, peak))
    wall, peak, _ = timed([*audit, "--reference", str(folder / "profile.json")], "ready audit (profile)")
    rows.append(("ready audit --reference profile.json (--only drift)", wall, peak))

    size = os.path.getsize(folder / "reference.parquet") / 2**20
    print(f"\n{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d')}; {folder.name}: reference.parquet {size:.0f} MiB\n")
    print("| run | wall s | peak RSS MiB |\n|---|---|---|")
    for label, wall, peak in rows:
        print(f"| {label} | {wall:.1f} | {peak:.0f} |")
    figures = next(c for c in report["checks"] if c["id"] == "drift")["metrics"]["columns"]
    if evidently is None:
        print("\n| column | ready PSI (deciles) | ready KS D | ready KS p |\n|---|---|---|---|")
        for c in COLUMNS:
            print(f"| {c} | {figures[c]['psi']:.6f} | {figures[c]['ks']:.6f} | {figures[c]['p_value']:.4g} |")
        return
    print("\n| column | ready PSI (deciles) | Evidently PSI (Sturges) | ready KS D | ready KS p | Evidently KS p | abs diff p |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for c in COLUMNS:
        ours, theirs = figures[c], evidently[c]
        diff = abs(ours["p_value"] - theirs["ks_p"])
        worst = max(worst, diff)
        print(f"| {c} | {ours['psi']:.6f} | {theirs['psi']:.6f} | {ours['ks']:.6f} | {ours['p_value']:.4g} | {theirs['ks_p']:.4g} | {diff:.1e} |")
    print(f"\nlargest KS p-value difference: {worst:.1e}")


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        run(Path(sys.argv[2]), sys.argv[3])
