"""The Python side of scripts/bench.sh.

  loop MODEL FEATURES RUNS   the timing loop users write today with onnxruntime: p50 in µs
  audit MODEL SAMPLE         the seed-style Python audit ready replaces: load the model with
                             onnxruntime, read the sample with pandas, check the columns,
                             predict once
"""

import json
import sys
import time


def session(model):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def loop(model, features, runs):
    import numpy as np

    sess = session(model)
    name = sess.get_inputs()[0].name
    row = np.zeros((1, int(features)), dtype=np.float32)
    for _ in range(20):
        sess.run(None, {name: row})
    timings = []
    for _ in range(int(runs)):
        started = time.perf_counter_ns()
        sess.run(None, {name: row})
        timings.append((time.perf_counter_ns() - started) / 1000.0)
    timings.sort()
    print(json.dumps({"p50_us": timings[len(timings) // 2], "runs": len(timings)}))


def audit(model, sample):
    import pandas as pd

    sess = session(model)
    frame = pd.read_csv(sample)
    inputs = sess.get_inputs()
    width = inputs[0].shape[1]
    if frame.shape[1] != width:
        print(f"column count {frame.shape[1]} != {width}")
        sys.exit(1)
    prediction = sess.run(None, {inputs[0].name: frame.to_numpy(dtype="float32")})
    print(json.dumps({"rows": len(frame), "first_label": int(prediction[0][0])}))


if __name__ == "__main__":
    {"loop": loop, "audit": audit}[sys.argv[1]](*sys.argv[2:])
