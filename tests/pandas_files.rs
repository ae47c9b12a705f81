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
    assert_eq!(
        (code, stderr),
        (
            2,
            format!(
                "error: {bad}: column 'petal_width' has Parquet type timestamp, which ready does not read, and the model takes it (cast it to a number, a boolean or text)\n"
            )
        )
    );
    let (code, _, stderr) =
        run(&["audit", IRIS, "--config", "fixtures/configs/fast.yaml", "--sample", "fixtures/samples/iris.csv", "--reference", &bad]);
    assert_eq!(
        (code, stderr),
        (
            2,
            format!(
                "error: --reference {bad}: column 'petal_width' has Parquet type timestamp, which ready does not read as a reference (cast it to a number, a boolean or text)\n"
            )
        )
    );
    // Without a loaded model nothing says the model takes it: the reference's column is left out.
    let unloaded = audit("fixtures/models/truncated.onnx", &["--sample", "fixtures/samples/iris.csv", "--reference", &bad]);
    assert_eq!((unloaded.code, unloaded.status("drift")), (1, "skip".to_string()), "{}", unloaded.stderr);
    let none = path(dir.path(), "unreadable.parquet");
    let (code, _, stderr) = run(&["audit", IRIS, "--config", "fixtures/configs/fast.yaml", "--sample", &none]);
    assert_eq!(
        (code, stderr),
        (
            2,
            format!(
                "error: {none}: cannot read Parquet sample: column 'event_time' has Parquet type timestamp, which ready does not read as a sample (cast it to a number, a boolean or text)\n"
            )
        )
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
        (
            0,
            format!(
                "wrote the profile of 3 rows, 4 columns to {out}; skipped 5 columns ready cannot profile: event_time (timestamp), tags (list), point (struct), blob (binary), half (float16)\n"
            )
        )
    );
    let profile: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let columns: Vec<&String> = profile["columns"].as_object().unwrap().keys().collect();
    assert_eq!(columns, ["petal_length", "petal_width", "sepal_length", "sepal_width"]);
    let none = path(dir.path(), "unreadable.parquet");
    let (code, _, stderr) = run(&["profile", &none, "-o", &path(dir.path(), "none.json")]);
    assert_eq!((code, stderr), (2, format!("error: {none}: no column ready can read: event_time (timestamp), tags (list)\n")));
}

/// The profile `ready profile FILE` writes: (rows, column -> (kind, count, nulls)).
fn profile(file: &str, dir: &Path) -> (u64, Vec<(String, String, u64, u64)>) {
    let out = path(dir, "profile.json");
    let _ = std::fs::remove_file(&out);
    let (code, _, stderr) = run(&["profile", file, "-o", &out]);
    assert_eq!(code, 0, "{file}: {stderr}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let columns = json["columns"].as_object().unwrap();
    let listed = columns
        .iter()
        .map(|(name, c)| (name.clone(), c["kind"].as_str().unwrap().to_string(), c["count"].as_u64().unwrap(), c["nulls"].as_u64().unwrap()))
        .collect();
    (json["rows"].as_u64().unwrap(), listed)
}

/// A numeric column holding every one of pandas' default missing-value markers, and the same
/// frame with NaN written by pandas with na_rep="NA", QUOTE_NONNUMERIC and QUOTE_ALL. The script
/// checks that pandas reads each as 2 numbers and 20 (or 2) missing values.
const MISSING_MARKERS: &str = r##"
import csv, sys, numpy as np, pandas as pd
out = sys.argv[1]
markers = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
with open(f"{out}/markers.csv", "w") as f:
    f.write("x,name\n1.5,a\n2.5,b\n" + "".join(f"{m},c\n" for m in markers) + '"",d\n')
read = pd.read_csv(f"{out}/markers.csv")
assert read["x"].dtype == np.float64 and read["x"].isna().sum() == 20, read
frame = pd.DataFrame({"income": [1.0, np.nan, 3.0, np.nan], "city": ["Lyon", "Oslo", None, "Lyon"]})
frame.to_csv(f"{out}/na_rep.csv", index=False, na_rep="NA")
frame.to_csv(f"{out}/nonnumeric.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
frame.to_csv(f"{out}/quote_all.csv", index=False, quoting=csv.QUOTE_ALL)
for name in ["na_rep", "nonnumeric", "quote_all"]:
    back = pd.read_csv(f"{out}/{name}.csv")
    assert back["income"].dtype == np.float64 and back["income"].isna().sum() == 2 and back["city"].isna().sum() == 1, (name, back)
iris = pd.read_csv("fixtures/samples/iris.csv")
iris.loc[1, "petal_width"] = np.nan
iris.to_csv(f"{out}/iris_quoted_nan.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
"##;

#[test]
fn csv_missing_values_are_those_pandas_reads() {
    let dir = tempfile::tempdir().unwrap();
    pandas(MISSING_MARKERS, dir.path());
    let (rows, columns) = profile(&path(dir.path(), "markers.csv"), dir.path());
    assert_eq!(rows, 22);
    assert_eq!(columns, [("name".to_string(), "categorical".to_string(), 22, 0), ("x".to_string(), "numeric".to_string(), 2, 20)]);
    for name in ["na_rep.csv", "nonnumeric.csv", "quote_all.csv"] {
        let (rows, columns) = profile(&path(dir.path(), name), dir.path());
        assert_eq!(rows, 4, "{name}");
        // As in pandas, a marker in a text column is a missing value too.
        assert_eq!(columns, [("city".to_string(), "categorical".to_string(), 3, 1), ("income".to_string(), "numeric".to_string(), 2, 2)], "{name}");
    }
    // A sample: a quoted empty cell is a missing value, not the text "".
    let quoted = audit(IRIS, &["--sample", &path(dir.path(), "iris_quoted_nan.csv")]);
    assert_eq!(quoted.status("schema_parity"), "fail");
    let summary = quoted.check("schema_parity")["summary"].as_str().unwrap().to_string();
    assert!(summary.starts_with("column 'petal_width': missing value in row 1 (1 of 3 rows)"), "{summary}");
}

/// An integer column with a decimal at row 150 and one with a word at row 12,000; a ragged file;
/// a header naming a column twice.
const LATE_VALUES: &str = r#"
import sys, pandas as pd
out = sys.argv[1]
ages = [str(20 + i % 50) for i in range(20000)]
ages[150] = "40.5"
pd.DataFrame({"age": ages, "n": range(20000)}).to_csv(f"{out}/late_decimal.csv", index=False)
words = [str(20 + i % 50) for i in range(20000)]
words[12000] = "unknown"
pd.DataFrame({"age": words}).to_csv(f"{out}/late_word.csv", index=False)
assert pd.read_csv(f"{out}/late_decimal.csv")["age"].dtype == "float64"
assert not pd.api.types.is_numeric_dtype(pd.read_csv(f"{out}/late_word.csv")["age"])
with open(f"{out}/ragged.csv", "w") as f:
    f.write("a,b\n1,2\n3,4,5\n6,7\n")
with open(f"{out}/twice.csv", "w") as f:
    f.write("age,income,age\n1,2,3\n")
"#;

#[test]
fn a_reference_csv_is_typed_over_the_whole_file_and_its_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    pandas(LATE_VALUES, dir.path());
    let (rows, columns) = profile(&path(dir.path(), "late_decimal.csv"), dir.path());
    assert_eq!(rows, 20000);
    assert_eq!(columns, [("age".to_string(), "numeric".to_string(), 20000, 0), ("n".to_string(), "numeric".to_string(), 20000, 0)]);
    let (_, columns) = profile(&path(dir.path(), "late_word.csv"), dir.path());
    assert_eq!(columns, [("age".to_string(), "categorical".to_string(), 20000, 0)]);
    let ragged = path(dir.path(), "ragged.csv");
    let (code, _, stderr) = run(&["profile", &ragged, "-o", &path(dir.path(), "r.json")]);
    assert_eq!((code, stderr), (2, format!("error: {ragged}: line 3: 3 fields where the header names 2 columns\n")));
    let twice = path(dir.path(), "twice.csv");
    let (code, _, stderr) =
        run(&["audit", IRIS, "--config", "fixtures/configs/fast.yaml", "--sample", "fixtures/samples/iris.csv", "--reference", &twice]);
    assert_eq!(
        (code, stderr),
        (2, format!("error: --reference {twice}: line 1: column 'age' appears twice in the header (columns 1 and 3); give each column once\n"))
    );
}

#[test]
fn a_parquet_reference_of_2000_columns_is_profiled_whole() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import sys, numpy as np, pandas as pd
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(500, 2000)), columns=[f"c{i}" for i in range(2000)])
frame["c1999"] = np.arange(500.0)
frame.to_parquet(f"{sys.argv[1]}/wide.parquet")
"#;
    pandas(script, dir.path());
    let (rows, columns) = profile(&path(dir.path(), "wide.parquet"), dir.path());
    assert_eq!((rows, columns.len()), (500, 2000));
    assert!(columns.iter().all(|(_, kind, count, nulls)| (kind.as_str(), *count, *nulls) == ("numeric", 500, 0)), "{columns:?}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("profile.json")).unwrap()).unwrap();
    let last = &json["columns"]["c1999"];
    assert_eq!((last["min"].as_f64(), last["max"].as_f64(), last["mean"].as_f64()), (Some(0.0), Some(499.0), Some(249.5)));
}

/// iris rows shuffled by `df.sample()` (pandas then stores the index as `__index_level_0__`), a
/// named index, and a range index (no column).
const INDEXED: &str = r#"
import sys, pandas as pd
out = sys.argv[1]
df = pd.concat([pd.read_csv("fixtures/samples/iris.csv")] * 4).reset_index(drop=True)
df.sample(12, random_state=1).to_parquet(f"{out}/sampled.parquet")
df.rename_axis("row_id").iloc[::-1].to_parquet(f"{out}/named.parquet")
df.to_parquet(f"{out}/range.parquet")
for name in ("sampled", "named", "range"):
    assert list(pd.read_parquet(f"{out}/{name}.parquet").columns) == list(df.columns), name
"#;

#[test]
fn pandas_index_columns_are_not_data_columns() {
    // pd.read_parquet turns them back into the index: a positional model must not see a fifth
    // column, a named one no extra column, and a profile no index column.
    let dir = tempfile::tempdir().unwrap();
    pandas(INDEXED, dir.path());
    for (name, rows) in [("sampled", 12), ("named", 12), ("range", 12)] {
        let file = path(dir.path(), &format!("{name}.parquet"));
        let run = audit(IRIS, &["--sample", &file, "--only", "schema_parity"]);
        assert_eq!((run.code, run.status("schema_parity")), (0, "pass".to_string()), "{name}: {:?}", run.details("schema_parity"));
        assert_eq!(run.json["sample"]["columns"], serde_json::json!(["sepal_length", "sepal_width", "petal_length", "petal_width"]), "{name}");
        assert_eq!(run.json["sample"]["rows"], rows, "{name}");
        let out = path(dir.path(), &format!("{name}.json"));
        let (code, _, stderr) = run_profile(&file, &out);
        assert_eq!(code, 0, "{stderr}");
        let profile: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let columns: Vec<&String> = profile["columns"].as_object().unwrap().keys().collect();
        assert_eq!(columns, ["petal_length", "petal_width", "sepal_length", "sepal_width"], "{name}");
    }
}

fn run_profile(file: &str, out: &str) -> (i32, String, String) {
    run(&["profile", file, "-o", out])
}
