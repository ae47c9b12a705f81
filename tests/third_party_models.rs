//! Models no one on this project wrote: the onnxruntime wheel's sample models and the onnx
//! wheel's backend test models. Every one is audited to a report (never an exit 2, never a
//! crash) with an exact verdict: the models this ONNX Runtime refuses are a committed list, and
//! the onnx wheel's light models match their shipped reference outputs.

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
    let names: Vec<String> = models.iter().map(|m| m.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["logreg_iris.onnx", "mul_1.onnx", "sigmoid.onnx"]);
    for model in models {
        let run = audit(model.to_str().unwrap(), &["--skip", "lockfile"]);
        assert_eq!(run.code, 0, "{}: {}", model.display(), run.json);
        assert_eq!(run.status("serialization"), "pass", "{}: {:?}", model.display(), run.details("serialization"));
        assert_eq!(run.status("latency"), "pass", "{}: {}", model.display(), run.check("latency"));
    }
}

/// The backend models ONNX Runtime 1.31.1 refuses to load: opset-1/6 kernels it no longer
/// ships and training-domain gradient ops. Valid ONNX all; each refusal is a reported reason,
/// not a crash. (The StringNormalizers that need en_US.UTF-8 run: the audits get that locale.)
const REFUSED: &[&str] = &[
    "pytorch-converted/test_AvgPool1d/model.onnx",
    "pytorch-converted/test_AvgPool1d_stride/model.onnx",
    "pytorch-converted/test_AvgPool2d/model.onnx",
    "pytorch-converted/test_AvgPool2d_stride/model.onnx",
    "pytorch-converted/test_AvgPool3d/model.onnx",
    "pytorch-converted/test_AvgPool3d_stride/model.onnx",
    "pytorch-converted/test_AvgPool3d_stride1_pad0_gpu_input/model.onnx",
    "pytorch-converted/test_BatchNorm1d_3d_input_eval/model.onnx",
    "pytorch-converted/test_BatchNorm2d_eval/model.onnx",
    "pytorch-converted/test_BatchNorm2d_momentum_eval/model.onnx",
    "pytorch-converted/test_BatchNorm3d_eval/model.onnx",
    "pytorch-converted/test_BatchNorm3d_momentum_eval/model.onnx",
    "pytorch-converted/test_GLU/model.onnx",
    "pytorch-converted/test_GLU_dim/model.onnx",
    "pytorch-converted/test_Linear/model.onnx",
    "pytorch-converted/test_PReLU_1d/model.onnx",
    "pytorch-converted/test_PReLU_1d_multiparam/model.onnx",
    "pytorch-converted/test_PReLU_2d/model.onnx",
    "pytorch-converted/test_PReLU_2d_multiparam/model.onnx",
    "pytorch-converted/test_PReLU_3d/model.onnx",
    "pytorch-converted/test_PReLU_3d_multiparam/model.onnx",
    "pytorch-converted/test_PoissonNLLLLoss_no_reduce/model.onnx",
    "pytorch-converted/test_Softsign/model.onnx",
    "pytorch-operator/test_operator_add_broadcast/model.onnx",
    "pytorch-operator/test_operator_add_size1_broadcast/model.onnx",
    "pytorch-operator/test_operator_add_size1_right_broadcast/model.onnx",
    "pytorch-operator/test_operator_add_size1_singleton_broadcast/model.onnx",
    "pytorch-operator/test_operator_addconstant/model.onnx",
    "pytorch-operator/test_operator_addmm/model.onnx",
    "pytorch-operator/test_operator_basic/model.onnx",
    "pytorch-operator/test_operator_mm/model.onnx",
    "pytorch-operator/test_operator_non_float_params/model.onnx",
    "pytorch-operator/test_operator_params/model.onnx",
    "pytorch-operator/test_operator_pow/model.onnx",
    "simple/test_gradient_of_add/model.onnx",
    "simple/test_gradient_of_add_and_mul/model.onnx",
];

/// Loaded, but the input ready builds cannot drive them (a shape tensor for Expand, a
/// sequence position): the verdict is "not verified", never "ready".
const NOT_VERIFIED: &[&str] = &["simple/test_expand_shape_model4/model.onnx", "simple/test_sequence_model8/model.onnx"];

#[test]
fn the_onnx_backend_test_models_get_exact_verdicts() {
    let data = site_packages().join("onnx/backend/test/data");
    let mut models = Vec::new();
    for group in ["simple", "pytorch-converted", "pytorch-operator", "light"] {
        models.extend(onnx_files(data.join(group), 1));
    }
    assert_eq!(models.len(), 149);
    let mut refused = Vec::new();
    for model in &models {
        let name = model.strip_prefix(&data).unwrap().to_string_lossy().into_owned();
        let run = common::audit_env(
            &[("LOCPATH", common::with_en_us_locale())],
            model.to_str().unwrap(),
            &["--config", "fixtures/configs/fast.yaml", "--skip", "lockfile"],
        );
        let verdict = run.json["verdict"].as_str().unwrap();
        if run.status("serialization") != "pass" {
            let summary = run.check("serialization")["summary"].as_str().unwrap();
            assert!(summary.starts_with("ONNX Runtime could not load the model: "), "{name}: {summary}");
            assert_eq!((run.code, verdict), (1, "not_ready"), "{name}");
            refused.push(name);
        } else if NOT_VERIFIED.contains(&name.as_str()) {
            assert_eq!((run.code, verdict), (1, "not_verified"), "{name}: {}", run.json);
            assert!(run.check("latency")["summary"].as_str().unwrap().starts_with("not timed: the model rejected the synthetic input"));
        } else {
            assert_eq!((run.code, verdict), (0, "ready"), "{name}: {}", run.json);
        }
    }
    refused.sort();
    assert_eq!(refused, REFUSED);
}

#[test]
fn the_onnx_light_models_match_their_shipped_reference_outputs() {
    let light = site_packages().join("onnx/backend/test/data/light");
    for name in ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50"] {
        let model = light.join(format!("light_{name}.onnx"));
        let reference = light.join(format!("light_{name}_output_0.pb"));
        let sample = format!("fixtures/corpus/inputs/light-{name}.npz");
        let run = audit(model.to_str().unwrap(), &["--sample", &sample, "--expected", reference.to_str().unwrap(), "--skip", "lockfile"]);
        assert_eq!(run.status("golden_parity"), "pass", "{name}: {}", run.check("golden_parity"));
        assert_eq!(run.check("golden_parity")["metrics"]["compared"], 1000, "{name}");
        assert_eq!(run.code, 0, "{name}: {}", run.json);
    }
}
