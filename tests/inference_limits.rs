//! Inference on an untrusted model in ready's own process runs under limits, through the real
//! binary: a model whose inference never ends is stopped at `limits.inference_timeout_s` (each
//! check that ran it fails), and a model whose outputs would exhaust memory fails its checks
//! while ready's process stays under its memory limit.

mod common;

use std::time::{Duration, Instant};

use common::audit;

#[test]
fn an_endless_loop_is_stopped_at_the_inference_time_limit_and_fails_its_checks() {
    let started = Instant::now();
    let result = audit("fixtures/models/endless_loop.onnx", &["--config", "fixtures/configs/inference_limits.yaml", "--skip", "lockfile"]);
    let took = started.elapsed();
    assert_eq!(result.code, 1, "stderr: {}", result.stderr);
    assert_eq!(
        result.statuses(),
        [
            "serialization=pass",
            "schema_parity=skip",
            "empty_batch=fail",
            "robustness=fail",
            "output_sanity=fail",
            "determinism=fail",
            "golden_parity=skip",
            "latency=fail",
            "lockfile=skip",
            "baseline=skip",
        ]
    );
    let stopped = "inference ran past 2 s (limits.inference_timeout_s) and was stopped";
    for id in ["empty_batch", "robustness", "output_sanity", "determinism", "latency"] {
        assert_eq!(result.check(id)["summary"], stopped, "{id}");
    }
    // Six inferences of 2 s each (the cold start and five checks), not 10^12 iterations: the
    // bound is a hang guard, far above the ~12 s measured.
    assert!(took < Duration::from_secs(120), "the audit took {took:?}");
}
