//! The real binary on every fixture: exact check statuses and exit codes.

mod common;

use common::{audit, ready, root};

#[test]
fn a_good_model_with_a_matching_sample_and_pinned_requirements_is_ready() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv", "--project", "fixtures/projects/python_pinned"]);
    assert_eq!(
        run.statuses(),
        [
            "serialization=pass",
            "schema_parity=pass",
            "domain=pass",
            "drift=skip",
            "empty_batch=pass",
            "robustness=pass",
            "output_sanity=pass",
            "determinism=pass",
            "golden_parity=skip",
            "latency=pass",
            "deployment=skip",
            "lockfile=warn",
            "baseline=skip",
            "hardcoded_paths=pass"
        ]
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.json["verdict"], "ready");
    assert_eq!(run.json["exit_code"], 0);
    assert_eq!(run.json["schema_version"], 1);
    assert_eq!(run.json["runtime"]["version"], "1.31.1");
    assert_eq!(run.json["runtime"]["found_via"], "ORT_DYLIB_PATH");
    assert_eq!(run.json["sample"]["rows"], 3);
    let summary = run.check("schema_parity")["summary"].as_str().unwrap().to_string();
    assert!(summary.contains("input 'input' built from 4 columns (model metadata)"), "{summary}");
    assert!(summary.contains("output_label = [0, 1, 2]"), "{summary}");
}

#[test]
fn serialization_reports_identity_versions_and_io_types() {
    let run = audit("fixtures/models/iris_rf.onnx", &[]);
    let check = run.check("serialization");
    assert_eq!(check["status"], "pass");
    let sha = check["metrics"]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(run.json["model"]["sha256"], sha);
    assert_eq!(check["metrics"]["ir_version"], 8);
    assert_eq!(check["metrics"]["producer"], "skl2onnx 1.20.0");
    assert_eq!(check["metrics"]["opsets"]["ai.onnx.ml"], 1);
    let details = run.details("serialization");
    assert!(details.contains(&"input  input: float32[?,4]".to_string()), "{details:?}");
    assert!(details.contains(&"output output_probability: seq(map(int64,float32))".to_string()), "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("cold start: session created in")), "{details:?}");
    assert!(check["metrics"]["session_create_ms"].as_f64().unwrap() > 0.0);
    // Without a sample the schema check is skipped and the model runs on synthetic input.
    assert_eq!(run.status("schema_parity"), "skip");
    assert!(run.details("latency").iter().any(|d| d.contains("synthetic input")));
}

#[test]
fn the_per_column_model_binds_csv_parquet_and_json_samples() {
    for sample in ["iris.csv", "iris.parquet", "iris.json"] {
        let run = audit("fixtures/models/iris_rf_columns.onnx", &["--sample", &format!("fixtures/samples/{sample}")]);
        assert_eq!(run.status("schema_parity"), "pass", "{sample}: {:?}", run.details("schema_parity"));
        let summary = run.check("schema_parity")["summary"].as_str().unwrap().to_string();
        assert!(summary.starts_with("4 input(s) matched by column name"), "{summary}");
        assert!(summary.contains("[0, 1, 2]"), "{sample}: same predictions from every format: {summary}");
        // No lockfile next to the model: a warning, not a failure.
        assert_eq!(run.status("lockfile"), "warn");
        assert_eq!(run.code, 0, "{sample}");
    }
}

#[test]
fn the_single_tensor_model_reads_every_sample_format() {
    for sample in ["iris.parquet", "iris.json"] {
        let run = audit("fixtures/models/iris_rf.onnx", &["--sample", &format!("fixtures/samples/{sample}")]);
        assert_eq!(run.status("schema_parity"), "pass", "{sample}: {:?}", run.details("schema_parity"));
    }
}

#[test]
fn a_renamed_column_fails_schema_parity() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris_renamed.csv"]);
    assert_eq!(run.status("schema_parity"), "fail");
    assert_eq!(run.check("schema_parity")["summary"], "missing column 'petal_width' (feature of input 'input')");
    assert!(run.details("schema_parity").contains(&"warn: extra column 'petal_w' is not a model feature (ignored)".to_string()));
    assert_eq!(run.code, 1);
    assert_eq!(run.json["verdict"], "not_ready");
}

#[test]
fn a_missing_column_fails_for_the_per_column_model() {
    let run = audit("fixtures/models/iris_rf_columns.onnx", &["--sample", "fixtures/samples/iris_renamed.csv"]);
    assert_eq!(run.status("schema_parity"), "fail");
    let details = run.details("schema_parity");
    assert!(details.contains(&"fail: missing column 'petal_width' (model input float32[?,1])".to_string()), "{details:?}");
    assert_eq!(run.code, 1);
}

#[test]
fn strings_where_floats_are_expected_fail() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris_wrong_dtype.csv"]);
    assert_eq!(run.status("schema_parity"), "fail");
    assert_eq!(
        run.check("schema_parity")["summary"],
        "column 'sepal_length': wrong type for input 'input': row 0 holds 'small', not a number for float32; 3 of 3 rows are not numbers"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn a_float64_parquet_column_of_decimals_into_a_float32_input_passes_on_its_values() {
    // The column type says float64; the values (5.1, 6.2, 7.7) round by ~1e-7 of the spread the
    // model's Scaler divides by, as they do when a serving stack parses the same CSV.
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris_float64.parquet"]);
    assert_eq!(run.status("schema_parity"), "pass");
    let details = run.details("schema_parity");
    assert!(
        details.contains(
            &"pass: column 'sepal_length': values round into float32 by at most 2.3e-7 of the Scaler's std 0.8253 (tolerance 1e-4)".to_string()
        ),
        "{details:?}"
    );
}

#[test]
fn an_infinite_value_is_said_to_stay_infinite_not_to_round_by_nan() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("inf.csv");
    std::fs::write(&sample, "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.2,2.9,inf,1.3\n5.9,3.0,5.1,1.8\n").unwrap();
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", sample.to_str().unwrap(), "--only", "schema_parity"]);
    assert_eq!(run.status("schema_parity"), "pass");
    let details = run.details("schema_parity");
    assert!(
        details.contains(
            &"pass: column 'petal_length': values round into float32 within the tolerance 1e-4; the value inf at row 1 is infinite and stays infinite"
                .to_string()
        ),
        "{details:?}"
    );
}

#[test]
fn an_extra_column_only_warns() {
    let run = audit(
        "fixtures/models/iris_rf.onnx",
        &["--sample", "fixtures/samples/iris_extra_column.csv", "--project", "fixtures/projects/python_pinned"],
    );
    assert_eq!(run.status("schema_parity"), "warn");
    assert!(run.details("schema_parity").contains(&"warn: extra column 'customer_id' is not a model feature (ignored)".to_string()));
    assert_eq!(run.code, 0, "warnings do not change the exit code");
}

#[test]
fn reordered_columns_fail_for_a_positional_tensor() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris_reordered.csv"]);
    assert_eq!(run.status("schema_parity"), "fail");
    let summary = run.check("schema_parity")["summary"].as_str().unwrap().to_string();
    assert!(
        summary.starts_with(
            "2 column(s) moved from the model's feature order: 'sepal_length' is sample column 1, model feature 0; 'sepal_width' is sample column 0"
        ),
        "{summary}"
    );
}

#[test]
fn configured_feature_names_override_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("names.yaml");
    std::fs::write(
        &config,
        "checks:\n  schema_parity:\n    feature_names: [sepal_width, sepal_length, petal_length, petal_width]\n  latency:\n    runs: 5\n",
    )
    .unwrap();
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris_reordered.csv", "--config", config.to_str().unwrap()]);
    assert_eq!(run.status("schema_parity"), "pass", "{:?}", run.details("schema_parity"));
    assert!(run.check("schema_parity")["summary"].as_str().unwrap().contains("(config feature_names)"));
}

#[test]
fn int64_and_string_inputs_bind_from_csv() {
    let run = audit("fixtures/models/mixed_types.onnx", &["--sample", "fixtures/samples/mixed.csv"]);
    assert_eq!(run.status("schema_parity"), "pass", "{:?}", run.details("schema_parity"));
    let summary = run.check("schema_parity")["summary"].as_str().unwrap().to_string();
    assert!(summary.contains("2 input(s) matched by column name"), "{summary}");
    let details = run.details("serialization");
    assert!(details.contains(&"input  count: int64[?,1]".to_string()) && details.contains(&"input  color: string[?,1]".to_string()), "{details:?}");
}

#[test]
fn a_model_that_outputs_nan_fails_on_its_sample() {
    let run = audit("fixtures/models/nan_output.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(run.status("schema_parity"), "warn", "the columns fit but their order cannot be verified; the outputs are the problem");
    assert_eq!(run.status("output_sanity"), "fail");
    assert_eq!(run.check("output_sanity")["summary"], "output 'y' has 12 NaN/Inf value(s) on the sample's 3 rows");
    assert_eq!(run.code, 1);
}

#[test]
fn a_truncated_model_fails_serialization_with_the_decode_reason_and_skips_the_rest() {
    let run = audit("fixtures/models/truncated.onnx", &["--sample", "fixtures/samples/iris.csv"]);
    assert_eq!(
        run.statuses(),
        [
            "serialization=fail",
            "schema_parity=skip",
            "domain=skip",
            "drift=skip",
            "empty_batch=skip",
            "robustness=skip",
            "output_sanity=skip",
            "determinism=skip",
            "golden_parity=skip",
            "latency=skip",
            "deployment=skip",
            "lockfile=warn",
            "baseline=skip",
            "hardcoded_paths=pass"
        ]
    );
    assert_eq!(
        run.check("serialization")["summary"],
        "not a valid ONNX model: not a valid ONNX protobuf: failed to decode Protobuf message: ModelProto.graph: buffer underflow"
    );
    // What ready cannot decode in full is never handed to ONNX Runtime.
    assert!(
        run.details("serialization")
            .contains(&"not handed to ONNX Runtime: ready could not decode it in full to check its external data".to_string())
    );
    assert!(run.json["runtime"].is_null());
    assert_eq!(run.code, 1);
}

#[test]
fn a_text_file_named_onnx_fails_serialization() {
    let run = audit("fixtures/models/not_onnx.onnx", &[]);
    assert_eq!(run.status("serialization"), "fail");
    assert_eq!(run.code, 1);
}

#[test]
fn a_pickle_is_reported_unsafe_and_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.joblib");
    // A pickle whose loading would call os.system: it must never be unpickled.
    std::fs::write(&model, b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93\x8c\x05touch\x85R.").unwrap();
    let run = audit(model.to_str().unwrap(), &[]);
    assert_eq!(run.status("serialization"), "fail");
    assert!(run.check("serialization")["summary"].as_str().unwrap().contains("pickle-based artifact"));
    assert_eq!(run.status("latency"), "skip");
    assert_eq!(run.json["model"]["format"], "pickle");
    assert!(run.json["runtime"].is_null(), "the runtime is not even loaded for a pickle");
    assert_eq!(run.code, 1);
}

#[test]
fn lockfile_verdicts_for_each_fixture_project() {
    let cases = [
        ("fixtures/projects/python_pinned", "warn", "python: pinned, hashed; closure not verifiable, no environment checked"),
        ("fixtures/projects/python_unpinned", "fail", "python: not pinned, closure not verifiable, not hashed, no environment checked"),
        ("fixtures/projects/cargo_in_sync", "pass", "rust: pinned, closed, hashed, in sync with Cargo.toml"),
        ("fixtures/projects/cargo_out_of_sync", "fail", "rust: pinned, closed, hashed; out of sync with Cargo.toml"),
    ];
    for (project, status, summary) in cases {
        let run = audit("fixtures/models/iris_rf.onnx", &["--project", project]);
        assert_eq!(run.status("lockfile"), status, "{project}: {:?}", run.details("lockfile"));
        assert_eq!(run.check("lockfile")["summary"], summary, "{project}");
        assert_eq!(run.code, if status == "fail" { 1 } else { 0 }, "{project}");
    }
    let run = audit("fixtures/models/iris_rf.onnx", &["--project", "fixtures/projects/python_unpinned"]);
    assert!(
        run.details("lockfile")
            .contains(&"fixtures/projects/python_unpinned/requirements.txt: line 2: 'numpy' is not pinned (no version)".to_string())
    );
}

#[test]
fn severity_warn_keeps_the_exit_code_and_allow_skips_the_check() {
    let run = audit(
        "fixtures/models/iris_rf.onnx",
        &[
            "--sample",
            "fixtures/samples/iris_renamed.csv",
            "--project",
            "fixtures/projects/python_unpinned",
            "--config",
            "fixtures/configs/lenient.yaml",
        ],
    );
    assert_eq!(
        run.statuses(),
        [
            "serialization=pass",
            "schema_parity=warn",
            "domain=pass",
            "drift=skip",
            "empty_batch=skip",
            "robustness=pass",
            "output_sanity=pass",
            "determinism=pass",
            "golden_parity=skip",
            "latency=pass",
            "deployment=skip",
            "lockfile=warn",
            "baseline=skip",
            "hardcoded_paths=pass"
        ]
    );
    assert_eq!(run.check("lockfile")["found"], "fail");
    assert_eq!(run.check("lockfile")["severity"], "warn");
    assert_eq!(run.check("empty_batch")["summary"], "allowed by config: not run");
    assert_eq!(run.code, 0);
}

#[test]
fn a_latency_budget_that_is_exceeded_fails_the_audit() {
    let run = audit("fixtures/models/iris_rf.onnx", &["--config", "fixtures/configs/impossible_latency.yaml"]);
    assert_eq!(run.status("latency"), "fail");
    let summary = run.check("latency")["summary"].as_str().unwrap().to_string();
    assert!(summary.starts_with("p99 ") && summary.contains(" exceeds "), "{summary}");
    let metrics = &run.check("latency")["metrics"];
    assert_eq!(metrics["runs"], 10);
    for key in ["min_ms", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"] {
        assert!(metrics[key].as_f64().unwrap() > 0.0, "{key}");
    }
    assert!(metrics["p50_ms"].as_f64() <= metrics["p99_ms"].as_f64());
    assert_eq!(run.code, 1);
}

#[test]
fn the_table_report_shows_every_check_and_the_verdict() {
    let output = ready()
        .args(["audit", "fixtures/models/iris_rf.onnx", "--sample", "fixtures/samples/iris_renamed.csv", "--config", "fixtures/configs/fast.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    for id in [
        "serialization",
        "schema_parity",
        "domain",
        "drift",
        "empty_batch",
        "robustness",
        "output_sanity",
        "determinism",
        "golden_parity",
        "latency",
        "deployment",
        "lockfile",
        "baseline",
        "hardcoded_paths",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    assert!(text.contains("runtime: ONNX Runtime 1.31.1"), "{text}");
    assert!(text.contains("schema_parity (fail):\n  - fail: missing column 'petal_width'"), "{text}");
    assert!(text.trim_end().ends_with("NOT READY: 8 passed, 1 warned, 1 failed, 4 skipped (exit 1)"), "{text}");
    assert!(output.stderr.is_empty(), "no progress bar or log noise when stderr is not a terminal");
}

#[test]
fn the_runtime_is_found_in_the_project_venv_without_any_variable() {
    let output = assert_cmd::Command::cargo_bin("ready")
        .unwrap()
        .current_dir(root())
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("VIRTUAL_ENV")
        .args(["audit", "fixtures/models/iris_rf.onnx", "--format", "json", "--config", "fixtures/configs/fast.yaml"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["runtime"]["found_via"], "Python onnxruntime package");
    assert!(json["runtime"]["library"].as_str().unwrap().contains("onnxruntime/capi/libonnxruntime.so"));
}

#[test]
fn blank_lines_in_a_csv_sample_are_skipped_as_pandas_skips_them() {
    // An editor's extra line end at the end of the file, CRLF, and blank lines between rows:
    // polars reads each as a row of missing values, pandas skips them; a row of empty fields
    // (",,,") is a row of missing values in both.
    let dir = tempfile::tempdir().unwrap();
    let header = "sepal_length,sepal_width,petal_length,petal_width";
    let cases = [
        ("trailing.csv", format!("{header}\n5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n\n"), "pass", 2),
        ("crlf.csv", format!("{header}\r\n5.1,3.5,1.4,0.2\r\n\r\n6.2,2.9,4.3,1.3\r\n\r\n"), "pass", 2),
        ("between.csv", format!("{header}\n5.1,3.5,1.4,0.2\n\n\n6.2,2.9,4.3,1.3\n"), "pass", 2),
        ("quoted.csv", format!("{header}\n\"5.1\",3.5,1.4,0.2\n\n6.2,2.9,4.3,1.3\n"), "pass", 2),
        ("spaces.csv", format!("{header}\n5.1,3.5,1.4,0.2\n   \n6.2,2.9,4.3,1.3\n\t\n"), "pass", 2),
        ("empty_fields.csv", format!("{header}\n5.1,3.5,1.4,0.2\n,,,\n6.2,2.9,4.3,1.3\n"), "fail", 3),
    ];
    for (name, text, status, rows) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let run = audit("fixtures/models/iris_rf.onnx", &["--sample", path.to_str().unwrap(), "--only", "schema_parity"]);
        assert_eq!(
            (run.status("schema_parity"), run.json["sample"]["rows"].as_u64()),
            (status.to_string(), Some(rows)),
            "{name}: {}",
            run.check("schema_parity")
        );
    }
}
