//! Exit code 2: every way `ready` itself cannot run gives one line naming the file, field or
//! flag, nothing on stdout, and no panic text.

mod common;

use common::{ready, usage_error};

fn assert_one_clean_line(stderr: &str) {
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn a_missing_model_names_the_file() {
    let stderr = usage_error(&["audit", "fixtures/models/nope.onnx"]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("fixtures/models/nope.onnx") && stderr.contains("No such file"), "{stderr}");
}

#[test]
fn a_directory_as_model_is_refused() {
    let stderr = usage_error(&["audit", "fixtures/models"]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("fixtures/models: is a directory"), "{stderr}");
}

#[test]
fn an_unknown_config_key_names_the_file_and_the_key() {
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--config", "fixtures/configs/typo.yaml"]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("fixtures/configs/typo.yaml: 1 problem: line 3 column 5: checks.latency.p99: unknown key"), "{stderr}");
}

#[test]
fn every_bad_config_value_is_reported_at_once() {
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--config", "fixtures/configs/bad_values.yaml"]);
    assert_one_clean_line(&stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: fixtures/configs/bad_values.yaml: 3 problems: line 2 column 13: sample.max_rows: must be at least 1; \
         line 5 column 11: checks.latency.runs: must be at least 1; \
         line 6 column 13: checks.latency.p99_ms: must be a positive number, got -3"
    );
}

#[test]
fn a_missing_config_file_names_it() {
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--config", "audits/missing.yaml"]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("audits/missing.yaml"), "{stderr}");
}

#[test]
fn unreadable_samples_name_the_file() {
    for (sample, expected) in [
        ("fixtures/samples/missing.csv", "fixtures/samples/missing.csv: No such file"),
        ("fixtures/models/iris_rf.onnx", "unknown sample format"),
        ("fixtures/samples", "is a directory"),
    ] {
        let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--sample", sample]);
        assert_one_clean_line(&stderr);
        assert!(stderr.contains(expected), "{sample}: {stderr}");
    }
}

#[test]
fn an_empty_or_corrupt_sample_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--sample", empty.to_str().unwrap()]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("empty.csv: the sample file is empty"), "{stderr}");
    let garbage = dir.path().join("rows.parquet");
    std::fs::write(&garbage, b"definitely not parquet").unwrap();
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--sample", garbage.to_str().unwrap()]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("rows.parquet: cannot read Parquet sample"), "{stderr}");
}

#[test]
fn a_bad_ort_lib_flag_names_the_flag_and_path() {
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--ort-lib", "/nonexistent/libonnxruntime.so"]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("--ort-lib points to /nonexistent/libonnxruntime.so"), "{stderr}");
}

#[test]
fn no_runtime_anywhere_lists_every_place_searched() {
    let empty = tempfile::tempdir().unwrap();
    let output = assert_cmd::Command::cargo_bin("ready")
        .unwrap()
        .current_dir(empty.path())
        .env_clear()
        .env("PATH", "/nonexistent")
        .args(["audit", common::root().join("fixtures/models/iris_rf.onnx").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_one_clean_line(&stderr);
    for place in [
        "--ort-lib (not given)",
        "ORT_DYLIB_PATH (not set)",
        "$VIRTUAL_ENV (not set)",
        "python3's onnxruntime",
        "system paths",
        "pip install onnxruntime",
    ] {
        assert!(stderr.contains(place), "{place}: {stderr}");
    }
}

#[test]
fn a_missing_project_dir_names_the_flag() {
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--project", "no/such/dir"]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("--project no/such/dir: not a directory"), "{stderr}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--no-such-flag"]);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--format", "yaml"]);
    assert!(stderr.contains("yaml"), "{stderr}");
    usage_error(&["audit"]);
}

#[test]
fn explain_of_an_unknown_check_lists_the_known_ones() {
    let stderr = usage_error(&["explain", "speed"]);
    assert_one_clean_line(&stderr);
    assert!(stderr.contains("unknown check 'speed'") && stderr.contains("latency"), "{stderr}");
}

#[test]
fn help_documents_the_exit_codes() {
    let output = ready().args(["audit", "--help"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Exit codes:") && text.contains("2  ready could not run"), "{text}");
}

#[test]
fn an_array_sample_with_no_values_is_refused_like_an_empty_csv() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("rows.npy");
    common::write_f64_npy(&empty, &[0, 2], &[]);
    let shown = empty.display().to_string();
    let stderr = common::usage_error(&["audit", "fixtures/models/sk_epoch.onnx", "--sample", &shown]);
    assert_eq!(stderr, format!("error: {shown}: array 'rows' of shape [0, 2] holds no values (a sample needs rows)\n"));
}
