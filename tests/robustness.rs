//! Silent failures: negative probes in child processes (each outcome on fixtures built for it),
//! output sanity, determinism, golden parity, external data and pickles.

mod common;

use common::{audit, ready, site_packages};

fn probes(run: &common::Audit) -> serde_json::Value {
    run.check("robustness")["metrics"]["probes"].clone()
}

#[test]
fn a_well_behaved_model_refuses_malformed_requests_and_answers_the_rest() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(run.status("robustness"), "pass", "{:?}", run.details("robustness"));
    assert_eq!(
        probes(&run),
        serde_json::json!({
            "missing_input": "clean error", "wrong_dtype": "clean error", "nan": "valid output",
            "pos_inf": "valid output", "neg_inf": "valid output", "oversized": "valid output"
        })
    );
    assert!(run.details("robustness").iter().any(|d| d == "oversized batch: valid output: 4096 row(s) of finite output"));
    assert_eq!(
        run.details("robustness").last().unwrap(),
        "probes built from one request of sample rows; each ran in a child process; batch axis: the leading dynamic dimension"
    );
}

#[test]
fn garbage_outputs_fail_the_empty_and_oversized_probes() {
    let run = audit("fixtures/models/fixed_output.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(run.status("empty_batch"), "fail");
    assert_eq!(run.details("empty_batch"), ["output 'y' has 1 rows"]);
    assert_eq!(run.status("robustness"), "fail");
    assert_eq!(probes(&run)["oversized"], "garbage");
    assert!(run.details("robustness").contains(&"oversized batch: garbage: output 'y' has 1 row(s) for a request of 4096".to_string()));
    assert_eq!(run.code, 1);
}

#[test]
fn answering_a_request_with_a_missing_column_warns_and_nan_propagation_warns() {
    let run = audit("fixtures/models/any_width.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(probes(&run)["missing_input"], "valid output");
    assert_eq!(probes(&run)["nan"], "garbage");
    assert_eq!(run.status("robustness"), "warn", "{:?}", run.details("robustness"));
    assert!(run.details("robustness").iter().any(|d| d.contains("non-finite input propagates")));
}

#[test]
fn a_static_batch_model_refuses_empty_and_oversized_batches_cleanly() {
    let model = site_packages().join("onnxruntime/datasets/logreg_iris.onnx");
    let run = audit(model.to_str().unwrap(), &[]);
    assert_eq!(run.status("empty_batch"), "pass");
    assert_eq!(run.check("empty_batch")["summary"], "clean error on a 0-row batch");
    assert!(run.details("empty_batch").contains(&"the model fixes its batch size at 3".to_string()));
    assert_eq!(probes(&run)["oversized"], "clean error");
}

#[test]
fn a_crashing_runtime_is_a_failed_row_not_a_dead_audit() {
    for (probe, check) in [("oversized", "robustness"), ("empty_batch", "empty_batch")] {
        let output = ready()
            .args(["audit", "fixtures/models/iris_rf.onnx", "--sample", "fixtures/samples/iris.csv", "--format", "json", "-q"])
            .args(["--config", "fixtures/configs/fast.yaml"])
            .env("READY_TEST_PROBE_ABORT", probe)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{probe}");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let row = json["checks"].as_array().unwrap().iter().find(|c| c["id"] == check).unwrap().clone();
        assert_eq!(row["status"], "fail", "{probe}: {row}");
        let text = format!("{} {}", row["summary"], row["details"]);
        assert!(text.contains("signal 6 (SIGABRT, abort)"), "{probe}: {text}");
        // Every other check still ran.
        assert_eq!(json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "latency").unwrap()["status"], "pass");
    }
}

#[test]
fn a_probe_past_its_time_limit_is_killed_and_fails() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--config", "fixtures/configs/probe_timeout.yaml"]);
    assert_eq!(run.status("robustness"), "fail");
    assert_eq!(probes(&run)["oversized"], "timeout");
    assert_eq!(run.status("empty_batch"), "fail");
    assert!(run.check("empty_batch")["summary"].as_str().unwrap().contains("ran past the 0 s limit"));
    assert_eq!(run.code, 1);
}

#[test]
fn output_sanity_fails_nan_and_warns_on_one_prediction_for_everything() {
    // On values ready invented, NaN is not blamed on the model; on the sample's rows it is.
    let run = audit("fixtures/models/nan_output.onnx", &[]);
    assert_eq!(run.status("output_sanity"), "warn");
    assert_eq!(
        run.check("output_sanity")["summary"],
        "output 'y' has 32 NaN/Inf value(s) on synthetic input, which ready invented: describe real inputs (--sample, or inputs: in the config) to judge the model"
    );
    let run = audit("fixtures/models/nan_output.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(run.status("output_sanity"), "fail");
    assert_eq!(run.check("output_sanity")["summary"], "output 'y' has 12 NaN/Inf value(s) on the sample's 3 rows");
    let run = audit("fixtures/models/constant_output.onnx", &[]);
    assert_eq!(run.status("output_sanity"), "warn");
    assert_eq!(run.check("output_sanity")["summary"], "8 different rows of synthetic input all get the same prediction (y = 1)");
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(run.status("output_sanity"), "pass");
}

#[test]
fn determinism_catches_a_row_that_depends_on_its_batch() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(run.check("determinism")["summary"], "identical on repeat; batch of 3 = 3 single-row runs");
    let run = audit("fixtures/models/batch_dependent.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(run.status("determinism"), "fail");
    let summary = run.check("determinism")["summary"].as_str().unwrap().to_string();
    assert!(summary.starts_with("row 0 of output 'y' differs between the batch of 3 and a single-row run"), "{summary}");
}

#[test]
fn golden_parity_compares_with_the_training_pipeline_predictions() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv", "--expected", "fixtures/samples/iris_expected.csv"]);
    assert_eq!(run.status("golden_parity"), "pass", "{:?}", run.details("golden_parity"));
    assert!(run.check("golden_parity")["summary"].as_str().unwrap().starts_with("12 value(s) match the expected outputs"));
    let run =
        audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv", "--expected", "fixtures/samples/iris_expected_wrong.csv"]);
    assert_eq!(run.status("golden_parity"), "fail");
    assert_eq!(run.check("golden_parity")["summary"], "2 of 12 value(s) differ: output_label row 1: got 1, expected 2");
    assert!(run.details("golden_parity").contains(&"output_probability.2 row 2: got 1, expected 1.25".to_string()));
    assert_eq!(run.code, 1);
    // The per-column model takes the same expected file: same pipeline, same predictions.
    let run = audit(
        "fixtures/models/iris_rf_columns.onnx",
        &["--sample", "fixtures/samples/iris.parquet", "--expected", "fixtures/samples/iris_expected.csv"],
    );
    assert_eq!(run.status("golden_parity"), "pass", "{:?}", run.details("golden_parity"));
}

#[test]
fn golden_parity_names_bad_expected_files() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(&unknown, "score\n1\n2\n3\n").unwrap();
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv", "--expected", unknown.to_str().unwrap()]);
    assert_eq!(run.status("golden_parity"), "fail");
    assert!(run.check("golden_parity")["summary"].as_str().unwrap().contains("column 'score' names no model output"));
    let full = format!(
        "{}: column 'score' names no model output (valid columns: output_label, output_probability.0, output_probability.1, output_probability.2)",
        unknown.display()
    );
    assert_eq!(run.details("golden_parity"), vec![full]);
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "output_label\n0\n").unwrap();
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv", "--expected", short.to_str().unwrap()]);
    assert!(run.check("golden_parity")["summary"].as_str().unwrap().ends_with("has 1 row(s); the sample ran 3"));
    let run = audit("fixtures/models/iris_rf.onnx", &[]);
    assert_eq!(run.check("golden_parity")["summary"], "no --expected given");
}

#[test]
fn onnx_backend_models_match_their_reference_outputs() {
    let data = site_packages().join("onnx/backend/test/data");
    let mut compared = 0;
    let mut refused = 0;
    for group in ["simple", "pytorch-converted", "pytorch-operator"] {
        for entry in std::fs::read_dir(data.join(group)).unwrap().flatten() {
            let set = entry.path().join("test_data_set_0");
            if !set.join("output_0.pb").is_file() {
                continue;
            }
            let model = entry.path().join("model.onnx");
            let run = common::audit_env(
                &[("LOCPATH", common::with_en_us_locale())],
                model.to_str().unwrap(),
                &["--expected", set.to_str().unwrap(), "--only", "serialization,schema_parity,golden_parity"],
            );
            if run.status("serialization") != "pass" {
                refused += 1; // opset-1/6 kernels this ONNX Runtime no longer ships
                continue;
            }
            assert_eq!(run.status("schema_parity"), "pass", "{}: {:?}", model.display(), run.details("schema_parity"));
            assert_eq!(run.status("golden_parity"), "pass", "{}: {}", model.display(), run.check("golden_parity"));
            compared += 1;
        }
    }
    // Exactly the refusals listed in tests/third_party_models.rs (each with a test data set).
    assert_eq!((compared, refused), (104, 36));
}

#[test]
fn external_data_inside_the_folder_loads_and_outside_is_never_read() {
    let run = audit("fixtures/models/external/model.onnx", &[]);
    assert_eq!(run.status("serialization"), "pass");
    assert!(run.details("serialization").contains(&"1 tensor(s) in external data files, all inside the model folder".to_string()));
    for (model, problem) in [
        ("fixtures/models/external_escape/model.onnx", "tensor 'w': '../outside.bin' climbs out of the model folder with '..'"),
        ("fixtures/models/external_absolute/model.onnx", "tensor 'w': '/etc/hostname' is an absolute path"),
    ] {
        let run = audit(model, &[]);
        assert_eq!(run.status("serialization"), "fail", "{model}");
        assert_eq!(run.check("serialization")["summary"], "1 external-data reference(s) outside the model folder; not loaded");
        assert!(run.details("serialization").contains(&problem.to_string()), "{model}: {:?}", run.details("serialization"));
        assert!(run.json["runtime"].is_null(), "{model}: handed to no runtime");
        assert_eq!(run.status("robustness"), "skip");
        assert_eq!(run.code, 1);
    }
}

#[test]
fn pickles_are_scanned_never_loaded() {
    let run = audit("fixtures/pickles/malicious.pkl", &[]);
    assert_eq!(run.check("serialization")["summary"], "pickle-based artifact that runs code on load (posix.system); never loaded");
    assert_eq!(run.check("serialization")["metrics"]["pickle"]["dangerous"][0], "posix.system: module 'posix' runs commands or reaches the system");
    let run = audit("fixtures/pickles/malicious.pt", &[]);
    assert!(run.check("serialization")["summary"].as_str().unwrap().contains("(posix.system)"));
    assert!(run.details("serialization").iter().any(|d| d.contains("PyTorch-style zip; scanned malicious/data.pkl")));
    let run = audit("fixtures/pickles/iris_rf.pkl", &[]);
    let scan = &run.check("serialization")["metrics"]["pickle"];
    assert_eq!(scan["complete"], true);
    assert_eq!(scan["dangerous"], serde_json::json!([]));
    assert!(scan["imports"].as_array().unwrap().contains(&serde_json::json!("sklearn.ensemble._forest.RandomForestClassifier")));
    assert_eq!(run.check("serialization")["summary"], "pickle-based artifact: loading it can run arbitrary code; never loaded");
    // joblib's raw array bytes inside the stream are skipped: the whole pickle is scanned.
    let run = audit("fixtures/pickles/iris_rf.joblib", &[]);
    let scan = &run.check("serialization")["metrics"]["pickle"];
    assert_eq!(scan["complete"], true);
    assert_eq!(scan["dangerous"], serde_json::json!([]));
    assert!(scan["imports"].as_array().unwrap().contains(&serde_json::json!("sklearn.tree._tree.Tree")));
    for model in ["fixtures/pickles/malicious.pkl", "fixtures/pickles/iris_rf.joblib"] {
        let run = audit(model, &[]);
        assert_eq!(run.status("serialization"), "fail");
        assert!(run.json["runtime"].is_null());
        assert_eq!(run.code, 1);
    }
}

#[test]
fn a_panic_inside_a_check_is_an_internal_error_in_every_format_never_a_verdict() {
    for format in ["table", "json", "junit", "markdown"] {
        let output = ready()
            .args(["audit", "fixtures/models/iris_rf.onnx", "--sample", "fixtures/samples/iris.csv", "--format", format, "-q"])
            .args(["--config", "fixtures/configs/fast.yaml"])
            .env("READY_TEST_CHECK_PANIC", "output_sanity")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        assert!(output.stdout.is_empty(), "{format}: no report for an audit ready could not finish");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "error: internal error in ready while running check output_sanity: READY_TEST_CHECK_PANIC names this check (please report this bug)\n",
            "{format}"
        );
    }
}
