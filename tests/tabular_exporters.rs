//! Real tabular exporters (skl2onnx ColumnTransformer, onnxmltools LightGBM and XGBoost,
//! CatBoost's own export) against samples written by pandas: each case of issue 11's "What was
//! seen", through the real binary. Fixtures come from fixtures/generate.py.

mod common;

use common::{Audit, audit, ready};

const SK_COLUMNS: &str = "fixtures/models/sk_columns.onnx";
const SK_EPOCH: &str = "fixtures/models/sk_epoch.onnx";

/// Statuses of every check but latency and lockfile (timing and the machine's network decide
/// those, not the model).
fn verdicts(run: &Audit) -> Vec<String> {
    run.statuses().into_iter().filter(|s| !s.starts_with("latency=") && !s.starts_with("lockfile=")).collect()
}

fn summary(run: &Audit, id: &str) -> String {
    run.check(id)["summary"].as_str().unwrap().to_string()
}

#[test]
fn pandas_int64_and_float64_columns_into_float32_inputs_pass_the_same_from_every_format() {
    let mut seen = Vec::new();
    for sample in ["customers.csv", "customers.parquet", "customers.ndjson", "customers_category.parquet"] {
        let path = format!("fixtures/samples/{sample}");
        let run = audit(SK_COLUMNS, &["--sample", &path, "--expected", "fixtures/samples/customers_expected.csv"]);
        assert_eq!(
            verdicts(&run),
            [
                "serialization=pass",
                "schema_parity=pass",
                "domain=pass",
                "drift=skip",
                "empty_batch=pass",
                "robustness=pass",
                "output_sanity=pass",
                "determinism=pass",
                "golden_parity=pass",
                "deployment=skip",
                "baseline=skip",
                "hardcoded_paths=pass"
            ],
            "{sample}"
        );
        let details = run.details("schema_parity");
        let mut expected = vec![
            "pass: column 'income': values round into float32 by at most 2.9e-7 of the Scaler's std 12745 (tolerance 1e-4)",
            "pass: column 'score': values round into float32 by at most 1.7e-7 of the Scaler's std 2.2583 (tolerance 1e-4)",
            "pass: column 'age': int64 values convert exactly to float32",
        ];
        if sample == "customers_category.parquet" {
            expected.push("pass: column 'city': category values convert exactly to string");
        }
        expected.push("prediction output_label = [1, 0, 1, …]");
        assert_eq!(details[..expected.len()], expected, "{sample}");
        assert_eq!(run.check("golden_parity")["metrics"]["compared"], 180, "golden parity ran on every row: {sample}");
        seen.push(details.into_iter().filter(|d| !d.contains("'city'")).collect::<Vec<_>>());
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "CSV, Parquet (with and without a category column) and NDJSON get the same verdicts: {seen:?}");
}

#[test]
fn epoch_seconds_into_float32_fail_naming_the_row_and_golden_parity_still_runs() {
    let run = audit(SK_EPOCH, &["--sample", "fixtures/samples/epoch.csv", "--expected", "fixtures/samples/epoch_expected.csv"]);
    // robustness warns: the logistic regression turns a NaN input into NaN probabilities.
    assert_eq!(
        verdicts(&run),
        [
            "serialization=pass",
            "schema_parity=fail",
            "domain=pass",
            "drift=skip",
            "empty_batch=pass",
            "robustness=warn",
            "output_sanity=pass",
            "determinism=pass",
            "golden_parity=fail",
            "deployment=skip",
            "baseline=skip",
            "hardcoded_paths=pass"
        ]
    );
    assert_eq!(
        summary(&run, "schema_parity"),
        "column 'ts': row 0 value 1702715753.5 becomes 1702715776 in float32 (error 22.5 = 2.8e-4 of the Scaler's std 79204; tolerance 1e-4); 51 of 60 rows"
    );
    // The rounded values ran: golden parity shows their effect on the probabilities.
    assert_eq!(run.check("golden_parity")["metrics"]["compared"], 180);
    assert_eq!(summary(&run, "golden_parity"), "79 of 180 value(s) differ: output_probability.0 row 0: got 0.06202244758605957, expected 0.062146");
    assert_eq!(run.code, 1);

    let whole = audit(SK_EPOCH, &["--sample", "fixtures/samples/epoch_int.csv", "--expected", "fixtures/samples/epoch_expected.csv"]);
    assert_eq!(whole.status("schema_parity"), "fail");
    assert_eq!(
        summary(&whole, "schema_parity"),
        "column 'ts': row 0 value 1702715753 becomes 1702715776 in float32 (error 23 = 2.9e-4 of the Scaler's std 79204; tolerance 1e-4); 51 of 60 rows"
    );
    assert_eq!(whole.check("golden_parity")["metrics"]["compared"], 180);
}

#[test]
fn swapped_columns_are_called_out_of_order_not_rounded() {
    // The pandas-written sample with its two columns swapped: 'ts' lands in the slot whose
    // Scaler saw ages. Without feature names the order cannot be read, but the Scaler's training
    // statistics show each column fits the other's slot.
    let text = std::fs::read_to_string(common::root().join("fixtures/samples/epoch.csv")).unwrap();
    let swapped: String = text.lines().map(|l| l.split(',').rev().collect::<Vec<_>>().join(",") + "\n").collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("epoch_swapped.csv");
    std::fs::write(&path, swapped).unwrap();
    let run = audit(SK_EPOCH, &["--sample", path.to_str().unwrap(), "--only", "schema_parity"]);
    assert_eq!((run.code, run.status("schema_parity")), (1, "fail".to_string()));
    assert!(summary(&run, "schema_parity").starts_with("the sample's columns look out of the model's feature order"), "{}", run.json);
    assert_eq!(
        run.details("schema_parity")[1],
        "fail: the sample's columns look out of the model's feature order (matched by position): column 'ts' (position 0) lies 9.1e7 training stds \
         from feature 0's Scaler mean 50.4667, and 0.9 from feature 1's; column 'age' (position 1) lies 2.1e4 training stds from feature 1's \
         Scaler mean 1702659200, and 0.9 from feature 0's; list the order in checks.schema_parity.feature_names"
    );
}

/// The epoch fixture's rows as (age, ts) pairs, read from the pandas-written CSV.
fn epoch_rows() -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(common::root().join("fixtures/samples/epoch.csv")).unwrap();
    text.lines().skip(1).map(|l| l.split_once(',').map(|(a, t)| (a.parse().unwrap(), t.parse().unwrap())).unwrap()).collect()
}

#[test]
fn a_table_given_as_a_tensor_is_judged_column_by_column_like_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    let rows = epoch_rows();
    // The same values as the CSV, as numpy's float64 array: ts is judged against its own
    // Scaler's std (not the whole array's spread) and fails as in the CSV.
    let npy = dir.path().join("epoch.npy");
    common::write_f64_npy(&npy, &[rows.len(), 2], &rows.iter().flat_map(|(a, t)| [*a, *t]).collect::<Vec<_>>());
    let run = audit(SK_EPOCH, &["--sample", npy.to_str().unwrap(), "--only", "schema_parity"]);
    assert_eq!((run.code, run.status("schema_parity")), (1, "fail".to_string()));
    assert_eq!(
        run.details("schema_parity")[..3],
        [
            "warn: input 'input': the sample gives its 2 columns as a tensor, matched by position: arrays carry no column names, so their \
             order cannot be verified; give the sample as CSV or Parquet with named columns and record the order in checks.schema_parity.feature_names",
            "pass: input 'input' column 0: float64 values convert exactly to float32",
            "fail: input 'input' column 1: value 1702715753.5 at [0, 1] changes by 2.8e-4 of the Scaler's std 79204 (tolerance 1e-4): \
             float32 makes it 1702715776; 51 of 60 values",
        ]
    );
    // Swapped columns in an array are found by the Scalers too.
    let swapped = dir.path().join("swapped.npy");
    common::write_f64_npy(&swapped, &[rows.len(), 2], &rows.iter().flat_map(|(a, t)| [*t, *a]).collect::<Vec<_>>());
    let run = audit(SK_EPOCH, &["--sample", swapped.to_str().unwrap(), "--only", "schema_parity"]);
    assert!(summary(&run, "schema_parity").starts_with("the sample's columns look out of the model's feature order"), "{}", run.json);
    // A NaN in an array of the input's own type fails, as a NaN cell does.
    let nan = dir.path().join("nan.npy");
    common::write_f32_npy(&nan, &[2, 2], &[30.0, 1.7e9, f32::NAN, 1.7e9]);
    let run = audit(SK_EPOCH, &["--sample", nan.to_str().unwrap(), "--only", "schema_parity"]);
    assert_eq!(summary(&run, "schema_parity"), "input 'input' column 0: NaN at [1, 0] (1 of 2 values); a sample holds real values");
}

#[test]
fn a_units_mistake_is_not_called_a_column_order_problem() {
    // Ages in months: far from the age Scaler, but no swap with ts explains it.
    let dir = tempfile::tempdir().unwrap();
    let months: String = std::iter::once("age,ts\n".to_string()).chain(epoch_rows().iter().map(|(a, t)| format!("{},{}\n", a * 12.0, t))).collect();
    let path = dir.path().join("months.csv");
    std::fs::write(&path, months).unwrap();
    let run = audit(SK_EPOCH, &["--sample", path.to_str().unwrap(), "--only", "schema_parity"]);
    assert!(!run.json.to_string().contains("feature order"), "{}", run.json);
    assert_eq!(run.status("schema_parity"), "fail", "ts still rounds: {}", run.json);
}

#[test]
fn reversed_columns_for_tree_exports_without_feature_names_are_never_a_silent_pass() {
    for (model, expected, golden) in [
        ("lgbm", "lgbm_expected.csv", "132 of 180 value(s) differ: label row 1: got 0, expected 1"),
        ("xgb", "xgb_expected.csv", "143 of 180 value(s) differ: label row 5: got 1, expected 0"),
        ("catboost", "catboost_expected.csv", "159 of 180 value(s) differ: label row 1: got 0, expected 1"),
    ] {
        let model_path = format!("fixtures/models/{model}.onnx");
        let expected_path = format!("fixtures/samples/{expected}");
        let run = audit(&model_path, &["--sample", "fixtures/samples/tabular_reversed.csv", "--expected", &expected_path]);
        assert_eq!(run.status("schema_parity"), "warn", "{model}");
        let summary_line = summary(&run, "schema_parity");
        assert!(summary_line.starts_with("columns matched by position (order unverified); input '"), "{model}: {summary_line}");
        assert!(run.details("schema_parity")[0].contains("record it in checks.schema_parity.feature_names"), "{model}");
        assert_eq!(summary(&run, "golden_parity"), golden, "{model}: golden parity ran on the reversed columns");

        // In the columns' right order the same model matches its library's predictions.
        let run = audit(&model_path, &["--sample", "fixtures/samples/tabular.parquet", "--expected", &expected_path]);
        assert_eq!(
            verdicts(&run),
            [
                "serialization=pass",
                "schema_parity=warn",
                "domain=pass",
                "drift=skip",
                "empty_batch=pass",
                "robustness=pass",
                "output_sanity=pass",
                "determinism=pass",
                "golden_parity=pass",
                "deployment=skip",
                "baseline=skip",
                "hardcoded_paths=pass"
            ],
            "{model}"
        );
    }
}

#[test]
fn positional_columns_can_be_made_to_fail_and_init_records_the_order_from_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let strict = dir.path().join("strict.yaml");
    std::fs::write(&strict, "checks:\n  schema_parity:\n    positional_columns: fail\n  latency:\n    runs: 5\n").unwrap();
    let run = audit("fixtures/models/lgbm.onnx", &["--sample", "fixtures/samples/tabular.csv", "--config", strict.to_str().unwrap()]);
    assert_eq!(run.status("schema_parity"), "fail");
    assert_eq!(run.code, 1);

    let config = dir.path().join("ready.yaml");
    let output = ready()
        .args(["init", "fixtures/models/lgbm.onnx", "--sample", "fixtures/samples/tabular.csv", "--output", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("    feature_names: [\"age\", \"income\", \"score\"]\n"), "{text}");
    let run = audit("fixtures/models/lgbm.onnx", &["--sample", "fixtures/samples/tabular_reversed.csv", "--config", config.to_str().unwrap()]);
    assert_eq!(run.status("schema_parity"), "fail");
    assert_eq!(
        summary(&run, "schema_parity"),
        "2 column(s) moved from the model's feature order: 'age' is sample column 2, model feature 0; 'score' is sample column 0, model feature 2"
    );
    let run = audit("fixtures/models/lgbm.onnx", &["--sample", "fixtures/samples/tabular.csv", "--config", config.to_str().unwrap()]);
    assert_eq!(run.status("schema_parity"), "pass");
}

#[test]
fn output_sanity_judges_the_sample_rows_and_draws_synthetic_rows_from_the_model() {
    let run = audit(
        SK_COLUMNS,
        &[
            "--sample",
            "fixtures/samples/customers.csv",
            "--expected",
            "fixtures/samples/customers_expected.csv",
            "--deny-warnings",
            "--skip",
            "lockfile",
        ],
    );
    assert_eq!(run.status("output_sanity"), "pass");
    assert_eq!(run.status("golden_parity"), "pass");
    assert_eq!(summary(&run, "output_sanity"), "finite outputs that vary with the input on the sample's 60 rows");
    assert_eq!(run.code, 0, "the README's CI recipe passes: {:?}", run.statuses());
    // Without a sample the synthetic rows come from the Scaler's ranges, the trees' thresholds
    // and the encoder's categories, and the pipeline answers them with varied predictions.
    for model in [SK_COLUMNS, "fixtures/models/lgbm.onnx", "fixtures/models/xgb.onnx", "fixtures/models/catboost.onnx"] {
        let run = audit(model, &[]);
        assert_eq!(run.status("output_sanity"), "pass", "{model}: {:?}", run.details("output_sanity"));
        assert_eq!(
            summary(&run, "output_sanity"),
            "finite outputs that vary with the input on 8 synthetic rows from the model's own ranges and categories",
            "{model}"
        );
    }
}

#[test]
fn a_missing_value_and_a_word_in_a_numeric_column_name_their_row() {
    let run = audit(SK_COLUMNS, &["--sample", "fixtures/samples/customers_missing.csv", "--expected", "fixtures/samples/customers_expected.csv"]);
    assert_eq!(run.status("schema_parity"), "fail");
    // A sample that cannot be fed is not compared: golden parity says why instead of passing.
    assert_eq!(run.status("golden_parity"), "skip");
    assert_eq!(summary(&run, "golden_parity"), "no sample that binds to the model (see schema_parity): nothing to compare");
    assert_eq!(
        summary(&run, "schema_parity"),
        "column 'income': missing value in row 3 (1 of 60 rows); the model can take NaN (its trees send NaN down one side of each split)"
    );
    let run = audit(SK_COLUMNS, &["--sample", "fixtures/samples/customers_text.csv"]);
    assert_eq!(run.status("schema_parity"), "fail");
    assert_eq!(
        summary(&run, "schema_parity"),
        "column 'age': wrong type for input 'age': row 5 holds 'unknown', not a number for float32; 1 of 60 rows are not numbers"
    );
}

#[test]
fn golden_parity_suggests_the_valid_form_and_lists_what_it_did_not_compare() {
    let run = audit(SK_COLUMNS, &["--sample", "fixtures/samples/customers.csv", "--expected", "fixtures/samples/customers_expected_brackets.csv"]);
    assert_eq!(run.status("golden_parity"), "fail");
    assert_eq!(
        run.details("golden_parity"),
        [
            "fixtures/samples/customers_expected_brackets.csv: column 'output_probability[0]': 'output_probability' is a map per row (ZipMap), name its keys: use 'output_probability.0'"
        ]
    );
    let run = audit(SK_COLUMNS, &["--sample", "fixtures/samples/customers.csv", "--expected", "fixtures/samples/customers_expected_labels.csv"]);
    assert_eq!(run.status("golden_parity"), "pass");
    assert_eq!(
        summary(&run, "golden_parity"),
        "60 value(s) match the expected outputs (max |diff| 0.000e0); output_probability not in the expected file"
    );
    // XGBoost's export has a probability tensor, not a ZipMap: keys become positions.
    let run = audit("fixtures/models/xgb.onnx", &["--sample", "fixtures/samples/tabular.csv", "--expected", "fixtures/samples/lgbm_expected.csv"]);
    assert_eq!(
        run.details("golden_parity"),
        [
            "fixtures/samples/lgbm_expected.csv: column 'probabilities.0': 'probabilities' is a tensor, name its elements by position: use 'probabilities[0]'"
        ]
    );
}

#[test]
fn catboosts_multi_line_producer_stays_on_one_table_line() {
    let run = audit("fixtures/models/catboost.onnx", &["--sample", "fixtures/samples/tabular.csv"]);
    assert_eq!(summary(&run, "serialization"), "valid ONNX, IR 3, ai.onnx.ml 2, CatBoost Git info: Commit: b1bd2a6d7721…, 19.5 KiB");
    let producer = run.check("serialization")["metrics"]["producer"].as_str().unwrap().to_string();
    assert!(
        producer.starts_with("CatBoost Git info:\n    Commit: b1bd2a6d77219e82a1acfcedfccb8e6f6c1ee084\n"),
        "the JSON keeps it whole: {producer}"
    );
    for check in run.json["checks"].as_array().unwrap() {
        let text = check["summary"].as_str().unwrap();
        assert!(!text.contains('\n') && text.chars().count() <= 160, "{}: {text}", check["id"]);
    }
}
