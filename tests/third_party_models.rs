//! Models no one on this project wrote: the onnxruntime wheel's sample models and the onnx
//! wheel's backend test models. Each must be audited to a report (exit 0 or 1), never a crash
//! or an exit 2, and must load (serialization passes).

mod common;

use std::path::PathBuf;

use common::{audit, site_packages};

fn onnx_files(dir: PathBuf, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && depth > 0 {
            found.extend(onnx_files(path, depth - 1));
        } else if path.extension().is_some_and(|e| e == "onnx") {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn the_onnxruntime_wheel_sample_models_are_audited() {
    let models = onnx_files(site_packages().join("onnxruntime/datasets"), 0);
    assert!(models.len() >= 3, "expected logreg_iris, mul_1, sigmoid: {models:?}");
    for model in models {
        let run = audit(model.to_str().unwrap(), &["--skip", "lockfile"]);
        assert!(run.code == 0 || run.code == 1, "{}: exit {} {}", model.display(), run.code, run.stderr);
        assert_eq!(run.status("serialization"), "pass", "{}: {:?}", model.display(), run.details("serialization"));
        assert_eq!(run.status("latency"), "pass", "{}: {}", model.display(), run.check("latency"));
    }
}

#[test]
fn the_onnx_backend_test_models_are_audited_without_a_crash() {
    let data = site_packages().join("onnx/backend/test/data");
    let mut models = Vec::new();
    for group in ["simple", "pytorch-converted", "pytorch-operator", "light"] {
        models.extend(onnx_files(data.join(group), 1));
    }
    assert!(models.len() > 100, "found only {} backend models", models.len());
    let mut loaded = 0;
    for model in &models {
        let run = audit(model.to_str().unwrap(), &["--config", "fixtures/configs/fast.yaml", "--skip", "lockfile"]);
        assert!(run.code == 0 || run.code == 1, "{}: exit {} {}", model.display(), run.code, run.stderr);
        let serialization = run.check("serialization");
        if serialization["status"] == "pass" {
            loaded += 1;
            // Zero-filled synthetic input is not valid for every graph (a shape tensor of zeros
            // cannot drive Expand): then latency warns and asks for a sample, it never fails.
            let latency = run.check("latency");
            match latency["status"].as_str().unwrap() {
                "pass" => {}
                "warn" => assert!(latency["summary"].as_str().unwrap().starts_with("not timed: the model rejected the synthetic input")),
                other => panic!("{}: latency {other}: {latency}", model.display()),
            }
        } else {
            // All of them are valid ONNX; the ones that fail are refused by this ONNX Runtime
            // (opset-1/6 kernels removed, string normalizer locale): a reported reason, not a crash.
            let summary = serialization["summary"].as_str().unwrap();
            assert!(summary.starts_with("ONNX Runtime could not load the model: "), "{}: {summary}", model.display());
        }
    }
    assert!(loaded >= 100, "only {loaded} of {} backend models loaded", models.len());
}
