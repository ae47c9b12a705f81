//! Ordinary files written by pandas read as pandas reads them: extra Parquet columns of types
//! ready does not read (timestamps, lists, ...) are left unread and named, CSV missing-value
//! markers are missing values, and a wide Parquet reference is read in few reads. Every file is
//! written by pandas (the project's .venv) inside the test.

mod common;

use std::path::Path;

use common::{audit, ready, root};

/// Runs `script` with the project's Python (pandas, pyarrow); `sys.argv[1]` is `dir`.
fn pandas(script: &str, dir: &Path) {
    let python = root().join(".venv/bin/python");
    let status = std::process::Command::new(python).args(["-c", script]).arg(dir).status().unwrap();
    assert!(status.success(), "the pandas script failed: {script}");
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

/// `ready ARGS`: exit code, stdout, stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = ready().args(args).output().unwrap();
    (output.status.code().unwrap(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
}

const IRIS: &str = "fixtures/models/iris_rf.onnx";

/// iris.csv with extra columns pandas writes as timestamp, list, struct, binary and float16, and
/// a copy whose model column petal_width holds timestamps.
const EXTRA_COLUMNS: &str = r#"
import sys, numpy as np, pandas as pd
out = sys.argv[1]
df = pd.read_csv("fixtures/samples/iris.csv")
df["event_time"] = pd.date_range("2024-01-01", periods=len(df), freq="h")
df.to_parquet(f"{out}/event_time.parquet")
df["tags"] = [[1, 2], [3], []]
df["point"] = [{"x": 1.0}, {"x": 2.0}, {"x": 3.0}]
df["blob"] = [b"a", b"b", b"c"]
df["half"] = np.array([1, 2, 3], dtype=np.float16)
df.to_parquet(f"{out}/extra.parquet")
bad = pd.read_csv("fixtures/samples/iris.csv")
bad["petal_width"] = pd.date_range("2024-01-01", periods=len(bad), freq="h")
bad.to_parquet(f"{out}/model_column_timestamp.parquet")
pd.DataFrame({"event_time": pd.date_range("2024-01-01", periods=3), "tags": [[1], [2], []]}).to_parquet(f"{out}/unreadable.parquet")
"#;

#[test]
fn parquet_columns_the_model_does_not_take_are_named_not_read() {
    let dir = tempfile::tempdir().unwrap();
    pandas(EXTRA_COLUMNS, dir.path());
    let one = audit(IRIS, &["--sample", &path(dir.path(), "event_time.parquet")]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.status("schema_parity"), "warn");
    let warned = |a: &common::Audit| a.details("schema_parity").into_iter().filter(|d| d.starts_with("warn:")).collect::<Vec<_>>();
    assert_eq!(warned(&one), ["warn: extra column 'event_time' has Parquet type timestamp, which ready does not read (ignored)"]);
    let all = audit(IRIS, &["--sample", &path(dir.path(), "extra.parquet")]);
    assert_eq!(
        warned(&all),
        [
            "warn: extra column 'event_time' has Parquet type timestamp, which ready does not read (ignored)",
            "warn: extra column 'tags' has Parquet type list, which ready does not read (ignored)",
            "warn: extra column 'point' has Parquet type struct, which ready does not read (ignored)",
            "warn: extra column 'blob' has Parquet type binary, which ready does not read (ignored)",
            "warn: extra column 'half' has Parquet type float16, which ready does not read (ignored)",
        ]
    );
    // The same file as the training reference: its readable columns are compared.
    let reference = audit(IRIS, &["--sample", "fixtures/samples/iris.csv", "--reference", &path(dir.path(), "extra.parquet")]);
    assert_eq!(reference.status("drift"), "pass", "{:?}", reference.details("drift"));
    assert_eq!(reference.check("drift")["summary"], "4 column(s) of 3 row(s) match the reference of 3 rows");
}

#[test]
fn a_model_column_of_a_type_ready_cannot_read_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    pandas(EXTRA_COLUMNS, dir.path());
    let bad = path(dir.path(), "model_column_timestamp.parquet");
    let (code, _, stderr) = run(&["audit", IRIS, "--config", "fixtures/configs/fast.yaml", "--sample", &bad]);
    assert_eq!((code, stderr), (2, format!("error: {bad}: column 'petal_width' has Parquet type timestamp, which ready does not read, and the model takes it (cast it to a number, a boolean or text)\n")));
    let (code, _, stderr) =
        run(&["audit", IRIS, "--config", "fixtures/configs/fast.yaml", "--sample", "fixtures/samples/iris.csv", "--reference", &bad]);
    assert_eq!(
        (code, stderr),
        (2, format!("error: --reference {bad}: column 'petal_width' has Parquet type timestamp, which ready does not read as a reference (cast it to a number, a boolean or text)\n"))
    );
    let none = path(dir.path(), "unreadable.parquet");
    let (code, _, stderr) = run(&["audit", IRIS, "--config", "fixtures/configs/fast.yaml", "--sample", &none]);
    assert_eq!(
        (code, stderr),
        (2, format!("error: {none}: cannot read Parquet sample: column 'event_time' has Parquet type timestamp, which ready does not read as a sample (cast it to a number, a boolean or text)\n"))
    );
}

#[test]
fn profile_names_the_columns_it_skips_and_refuses_a_file_with_none_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    pandas(EXTRA_COLUMNS, dir.path());
    let out = path(dir.path(), "profile.json");
    let (code, _, stderr) = run(&["profile", &path(dir.path(), "extra.parquet"), "-o", &out]);
    assert_eq!(
        (code, stderr),
        (0, format!("wrote the profile of 3 rows, 4 columns to {out}; skipped 5 columns ready cannot profile: event_time (timestamp), tags (list), point (struct), blob (binary), half (float16)\n"))
    );
    let profile: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let columns: Vec<&String> = profile["columns"].as_object().unwrap().keys().collect();
    assert_eq!(columns, ["petal_length", "petal_width", "sepal_length", "sepal_width"]);
    let none = path(dir.path(), "unreadable.parquet");
    let (code, _, stderr) = run(&["profile", &none, "-o", &path(dir.path(), "none.json")]);
    assert_eq!((code, stderr), (2, format!("error: {none}: no column ready can read: event_time (timestamp), tags (list)\n")));
}
