//! The drift check and `ready profile` through the real binary, against the training rows of
//! fixtures/domain (written by pandas). PSI, KS and chi-squared are compared with the figures
//! numpy and scipy computed in fixtures/domain/drift_expected.py (drift_expected.json).

mod common;

use common::{Audit, audit, ready};

const ADULT: &str = "fixtures/domain/adult.onnx";
const REFERENCE: &str = "fixtures/domain/reference.parquet";

fn drift(sample: &str, reference: &str) -> Audit {
    audit(ADULT, &["--sample", sample, "--reference", reference, "--only", "drift"])
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(common::root().join("fixtures/domain/drift_expected.json")).unwrap()).unwrap()
}

/// Every figure of `run` against scipy's, within `ks_tolerance` for KS (0 when both read the
/// same data; the interpolated CDF of a profile is exact to 1/1000).
fn assert_figures(run: &Audit, sample: &str, ks_tolerance: f64) {
    let figures = &run.check("drift")["metrics"]["columns"];
    let scipy = &expected()[sample];
    for column in ["age", "hours", "income", "workclass"] {
        let (ours, theirs) = (&figures[column], &scipy[column]);
        let close = |key: &str, tolerance: f64| {
            let (a, b) = (ours[key].as_f64().unwrap(), theirs[key].as_f64().unwrap());
            assert!((a - b).abs() <= tolerance, "{sample} {column} {key}: ready {a}, scipy {b}");
        };
        close("psi", 1e-12);
        if column == "workclass" {
            close("chi_squared", 1e-9);
            close("p_value", 1e-9);
        } else {
            close("ks", ks_tolerance + 1e-12);
        }
    }
}

#[test]
fn training_like_rows_pass_and_their_figures_match_scipy() {
    let run = drift("fixtures/domain/ok.csv", REFERENCE);
    assert_eq!(run.status("drift"), "pass", "{}", run.check("drift"));
    assert_eq!(run.check("drift")["summary"], "4 column(s) of 500 row(s) match the reference of 2000 rows; largest PSI 0.0472 on 'income'");
    assert_figures(&run, "ok.csv", 0.0);
}

#[test]
fn a_shifted_age_fails_on_psi_and_names_the_means() {
    let run = drift("fixtures/domain/shifted.parquet", REFERENCE);
    assert_eq!(run.status("drift"), "fail");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.check("drift")["summary"],
        "2 problems: column 'age': PSI 2.30842 on 10 reference quantile bins, KS 0.447 (p = 1.01463e-70); mean 55.162 vs 40.028 in the reference"
    );
    assert_figures(&run, "shifted.parquet", 0.0);
    // Inside the 1% allowed outside the training range: reported, not judged.
    assert!(
        run.details("drift").contains(&"pass: column 'age': 2 of 500 values (0.4%) outside the training range [17, 89]: rows 185, 220".to_string())
    );
}

#[test]
fn units_unseen_categories_and_nulls_warn_naming_rows() {
    let run = drift("fixtures/domain/units.csv", REFERENCE);
    assert_eq!(run.status("drift"), "warn");
    assert_eq!(
        run.check("drift")["summary"],
        "column 'income': 40 of 40 values (100.0%) outside the training range [9661.47, 350070]: rows 0, 1, 2, 3, 4, 5, 6, 7 and 32 more"
    );
    let run = drift("fixtures/domain/unseen.csv", REFERENCE);
    assert_eq!(run.status("drift"), "warn");
    let warnings: Vec<String> = run.details("drift").into_iter().filter(|d| d.starts_with("warn")).collect();
    assert_eq!(
        warnings,
        [
            "warn: column 'workclass': 'Self-emp' never occurs in the reference (rows 3, 11)",
            "warn: column 'workclass': 'private' never occurs in the reference (row 7)",
            "warn: column 'workclass': 'Never-worked' never occurs in the reference (row 20)",
        ]
    );
    let run = drift("fixtures/domain/nulls.csv", REFERENCE);
    assert_eq!(run.status("drift"), "warn");
    assert_eq!(run.check("drift")["summary"], "column 'income': 2 missing value(s) (rows 2, 5) where the reference had none");
    // 40 rows are too few to judge drift: said, not guessed.
    assert!(run.details("drift").contains(&"pass: column 'age': 40 values, fewer than min_rows 100: drift not judged".to_string()));
}

#[test]
fn a_profile_written_by_ready_gives_the_same_verdicts_and_psi() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    let output = ready().args(["profile", REFERENCE, "-o", profile.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    assert_eq!((json["ready_profile"].as_u64(), json["rows"].as_u64()), (Some(1), Some(2000)));
    assert_eq!(json["columns"]["workclass"]["kind"], "categorical");
    assert_eq!(json["columns"]["age"]["bin_counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum::<u64>(), 2000);
    for (sample, status) in [("ok.csv", "pass"), ("shifted.parquet", "fail")] {
        let run = drift(&format!("fixtures/domain/{sample}"), profile.to_str().unwrap());
        assert_eq!(run.status("drift"), status, "{sample}");
        assert_figures(&run, sample, 1e-3);
    }
    // The CSV route reads only the model's columns and gives the same figures.
    let csv = dir.path().join("reference.csv");
    let mut text = String::from("unused,age,hours,income,workclass\n");
    let frame = std::fs::read_to_string(common::root().join("fixtures/domain/ok.csv")).unwrap();
    for line in frame.lines().skip(1) {
        text.push_str(&format!("x,{line}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let run = drift("fixtures/domain/ok.csv", csv.to_str().unwrap());
    assert_eq!(run.status("drift"), "pass");
    assert_eq!(run.json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "drift").unwrap()["metrics"]["columns"]["age"]["psi"], 0.0);
}

#[test]
fn a_profile_with_many_bins_is_judged_on_the_bins_the_sample_can_fill() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bins1000.json");
    let output = ready().args(["profile", REFERENCE, "-o", profile.to_str().unwrap(), "--bins", "1000"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    // 500 rows against 2000: 1 + 0.025 / (1/500 + 1/2000) = 11 bins. On all 1000, income's PSI was 2.11 (a false fail).
    let run = drift("fixtures/domain/ok.csv", profile.to_str().unwrap());
    assert_eq!(run.status("drift"), "pass", "{:?}", run.details("drift"));
    assert_eq!(
        run.details("drift")[2],
        "pass: column 'income': PSI 0.04329 on 11 of the reference's 1000 quantile bins (adjacent ones merged: 500 sample values cannot \
         fill more), KS 0.059 (p = 0.1192); mean 51749.8 vs 55409.4 in the reference"
    );
    // Real drift still fails on the merged bins.
    let run = drift("fixtures/domain/shifted.parquet", profile.to_str().unwrap());
    assert_eq!(run.status("drift"), "fail");
    assert!(
        run.details("drift").iter().any(|d| d.starts_with("fail: column 'age': PSI ") && d.contains(" on 11 of the reference's 92 quantile bins")),
        "{:?}",
        run.details("drift")
    );
}

#[test]
fn bad_references_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("profile.json");
    std::fs::write(&bad, r#"{"ready_profile": 7, "rows": 1, "columns": {}}"#).unwrap();
    for (path, message) in [
        (bad.to_str().unwrap().to_string(), "profile schema version 7 (this ready reads version 1)".to_string()),
        ("fixtures/domain/missing.parquet".to_string(), "--reference fixtures/domain/missing.parquet: ".to_string()),
        ("fixtures/domain/adult.onnx".to_string(), "unknown reference format".to_string()),
    ] {
        let output = ready().args(["audit", ADULT, "--sample", "fixtures/domain/ok.csv", "--reference", &path]).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{path}: {stderr}");
        assert!(stderr.contains(&message) && stderr.trim_end().lines().count() == 1, "{path}: {stderr}");
    }
}

#[test]
fn profile_usage_errors_name_the_flag_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    for (args, message) in [
        (
            vec!["profile", REFERENCE, "-o", out.to_str().unwrap(), "--columns", "age,salary"],
            "--columns: 'salary' is not a column of fixtures/domain/reference.parquet",
        ),
        (vec!["profile", "fixtures/domain/nope.csv", "-o", out.to_str().unwrap()], "fixtures/domain/nope.csv: "),
        (vec!["profile", REFERENCE, "-o", out.to_str().unwrap(), "--bins", "1"], "--bins: must be 2 to 1000, got 1"),
        (vec!["profile", REFERENCE, "-o", REFERENCE], "already exists (use --force to overwrite)"),
    ] {
        let output = ready().args(&args).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && stderr.trim_end().lines().count() == 1, "{args:?}: {stderr}");
    }
    assert!(!out.exists());
}

/// `ready audit ARGS`: exit code and stderr.
fn failed(args: &[&str]) -> (Option<i32>, String) {
    let output = ready().args(args).output().unwrap();
    (output.status.code(), String::from_utf8(output.stderr).unwrap())
}

#[test]
fn a_reference_sharing_no_column_is_a_usage_error_naming_both_lists() {
    let (code, stderr) = failed(&["audit", ADULT, "--sample", "fixtures/domain/ok.csv", "--reference", "fixtures/samples/iris.csv"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: --reference fixtures/samples/iris.csv: shares no column with the model's columns: the model reads 'age', 'hours', \
         'income', 'workclass', the reference has 'sepal_length', 'sepal_width', 'petal_length', 'petal_width'"
    );
    // A sample that shares no column with the model has no model column to compare: schema_parity says why.
    let run = drift("fixtures/samples/iris.csv", REFERENCE);
    assert_eq!(run.status("drift"), "skip");
    assert_eq!(run.check("drift")["summary"], "no model column of the sample is in the reference");
    // Upper-cased names: the same error, with the names that differ only in case.
    let dir = tempfile::tempdir().unwrap();
    let upper = dir.path().join("upper.csv");
    let text = std::fs::read_to_string(common::root().join("fixtures/domain/ok.csv")).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    std::fs::write(&upper, format!("{}\n{rows}", header.to_uppercase())).unwrap();
    let (code, stderr) = failed(&["audit", ADULT, "--sample", "fixtures/domain/ok.csv", "--reference", upper.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(
            "shares no column with the model's columns: the model reads 'age', 'hours', 'income', 'workclass', the reference has 'AGE', \
             'HOURS', 'INCOME', 'WORKCLASS'; the names differ only in case ('AGE' for 'age', 'HOURS' for 'hours', 'INCOME' for 'income', \
             'WORKCLASS' for 'workclass'): rename the reference's columns"
        ) && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
    // Some model columns missing: compared where present, the missing ones a warning naming them.
    let partial = dir.path().join("partial.csv");
    let rows: String = text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n").collect();
    std::fs::write(&partial, rows).unwrap();
    let run = drift("fixtures/domain/ok.csv", partial.to_str().unwrap());
    assert_eq!(run.status("drift"), "warn");
    assert_eq!(run.check("drift")["summary"], "model column(s) not in the reference, so not compared: 'workclass'");
    assert_eq!(run.check("drift")["metrics"]["columns_compared"], 3);
    // A tensor model's columns are positions of its one input: a missing one is reported, not a warning.
    let iris = dir.path().join("iris_partial.csv");
    let text = std::fs::read_to_string(common::root().join("fixtures/samples/iris.csv")).unwrap();
    std::fs::write(&iris, text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n").collect::<String>()).unwrap();
    let run =
        audit("fixtures/models/iris_rf.onnx", &["--sample", "fixtures/samples/iris.csv", "--reference", iris.to_str().unwrap(), "--only", "drift"]);
    assert_eq!(run.status("drift"), "pass", "{:?}", run.details("drift"));
    assert!(
        run.details("drift").contains(&"pass: model column(s) not in the reference, so not compared: 'petal_width'".to_string()),
        "{:?}",
        run.details("drift")
    );
}

#[test]
fn free_text_is_judged_by_its_length_not_as_categories() {
    let reviews = |sample: &str| {
        audit("fixtures/domain/reviews.onnx", &["--sample", sample, "--reference", "fixtures/domain/reviews_ref.parquet", "--only", "drift"])
    };
    // Training rows: 300 reviews, nearly each a "category" the reference has once, and no drift.
    let run = reviews("fixtures/domain/reviews.csv");
    assert_eq!(run.status("drift"), "pass", "{}", run.check("drift"));
    assert_eq!(run.code, 0);
    assert_eq!(
        run.details("drift")[..2],
        [
            "pass: column 'review' is free text (the graph tokenizes it: Tokenizer): its length in characters is compared, not its values",
            "pass: column 'review' (length in characters): PSI 0.02681 on 10 reference quantile bins, KS 0.03 (p = 0.97623); mean 25.27 vs \
             25.29 in the reference"
        ]
    );
    // The same reviews three times as long: drift in what can be judged.
    let run = reviews("fixtures/domain/reviews_long.csv");
    assert_eq!(run.status("drift"), "fail");
    assert_eq!(
        run.check("drift")["summary"],
        "column 'review' (length in characters): PSI 8.4883 on 10 reference quantile bins, KS 1 (p = 4.49403e-221); mean 77.81 vs 25.29 \
         in the reference"
    );
    // A model that does not tokenize (zip.onnx encodes its one text column as categories) keeps category PSI.
    let run = audit(
        "fixtures/domain/zip.onnx",
        &["--sample", "fixtures/domain/zip.csv", "--reference", "fixtures/domain/zip_ref.parquet", "--only", "drift"],
    );
    assert_eq!(run.status("drift"), "pass");
    assert!(
        run.details("drift").iter().any(|d| d.starts_with("pass: column 'zip': PSI ") && d.contains(" over 4 reference categories")),
        "{:?}",
        run.details("drift")
    );
}

#[test]
fn a_model_failing_on_its_own_reference_rows_fails_drift_naming_the_row() {
    let run = audit(
        "fixtures/domain/gather.onnx",
        &["--sample", "fixtures/domain/gather_ok.csv", "--reference", "fixtures/domain/gather_ref_bad.csv", "--only", "drift"],
    );
    assert_eq!(run.status("drift"), "fail");
    assert_eq!(run.code, 1);
    let fails: Vec<String> = run.details("drift").into_iter().filter(|d| d.starts_with("fail")).collect();
    assert_eq!(
        fails,
        ["fail: the model fails on row 250 of its training reference (--reference, data rows counted from 0): Non-zero status code returned \
          while running Gather node. Name:'' Status Message: indices element out of data bounds, idx=57 must be within the inclusive range [-10,9]"]
    );
    // 150 of 300 rows, one from each stratum of 2: the draw of stratum 125 (rows 250, 251) is
    // row 250, and the failing row is still named by its row in the file.
    assert_eq!(ready::inputs::reference::stratum_row(125, 300, 150), 250);
    let run = with_config(
        "checks:\n  drift:\n    prediction_rows: 150\n",
        "fixtures/domain/gather_ok.csv",
        "fixtures/domain/gather.onnx",
        "fixtures/domain/gather_ref_bad.csv",
    );
    assert_eq!(run.status("drift"), "fail");
    assert!(
        run.details("drift").iter().any(|d| d.starts_with("fail: the model fails on row 250 of its training reference")),
        "{:?}",
        run.details("drift")
    );
    // The sample's own rows (without row 250) run: nothing to say about prediction drift there.
    let run = audit(
        "fixtures/domain/gather.onnx",
        &["--sample", "fixtures/domain/gather_ok.csv", "--reference", "fixtures/domain/gather_ok.csv", "--only", "drift"],
    );
    assert_eq!(run.status("drift"), "pass", "{:?}", run.details("drift"));
}

#[test]
fn a_reference_without_a_sample_is_skipped_saying_why() {
    let run = audit(ADULT, &["--reference", REFERENCE, "--only", "drift"]);
    assert_eq!(run.status("drift"), "skip");
    assert_eq!(run.check("drift")["summary"], "no table sample to compare with a training reference (--sample CSV, Parquet or JSON and --reference)");
}

/// The prediction metric of a drift run, and the line that reports it.
fn prediction(run: &Audit) -> (&serde_json::Value, String) {
    let line = run.details("drift").into_iter().find(|d| d.contains("prediction")).expect("a prediction line");
    (&run.check("drift")["metrics"]["prediction"], line)
}

/// `psi` and the other figures of a prediction metric against scipy's (drift_expected.py, which
/// runs the models with onnxruntime in Python).
fn assert_prediction(metric: &serde_json::Value, sample: &str, case: &str) {
    let scipy = &expected()["predictions"][sample][case];
    for key in ["psi", "ks", "chi_squared", "p_value"] {
        if let Some(theirs) = scipy[key].as_f64() {
            let ours = metric["score"][key].as_f64().unwrap_or(f64::NAN);
            assert!((ours - theirs).abs() <= 1e-9, "{sample} {case} {key}: ready {ours}, scipy {theirs}");
        }
    }
}

fn with_config(yaml: &str, sample: &str, model: &str, reference: &str) -> Audit {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("drift.yaml");
    std::fs::write(&config, yaml).unwrap();
    audit(model, &["--sample", sample, "--reference", reference, "--only", "drift", "--config", config.to_str().unwrap()])
}

#[test]
fn prediction_drift_runs_the_model_on_the_reference_rows_and_matches_scipy() {
    let run = drift("fixtures/domain/ok.csv", REFERENCE);
    let (metric, line) = prediction(&run);
    assert_eq!(
        line,
        "pass: prediction 'output_label' (the model's first output, its value per row) against the model's predictions on 2000 reference \
         rows drawn one from each of as many equal strata: PSI 0.00361 over 2 reference categories (+1 bin for unseen ones), chi-squared 1.80261 (p = 0.40604)"
    );
    assert_eq!((metric["output"].as_str(), metric["value"].as_str()), (Some("output_label"), Some("its value per row")));
    assert_prediction(metric, "ok.csv", "labels");

    // Older customers: the classifier says 1 more often. PSI 0.146 warns (the age column fails).
    let run = drift("fixtures/domain/shifted.parquet", REFERENCE);
    let (metric, line) = prediction(&run);
    assert!(
        line.starts_with(
            "warn: prediction 'output_label' (the model's first output, its value per row) against the model's predictions on 2000 reference \
             rows drawn one from each of as many equal strata: PSI 0.14637 over 2 reference categories"
        ),
        "{line}"
    );
    assert_prediction(metric, "shifted.parquet", "labels");

    // A regressor's value, on 500 of the 2000 reference rows (one per stratum of 4): quantile bins and KS.
    for (sample, status) in [("ok.csv", "pass"), ("shifted.parquet", "warn")] {
        let run = with_config(
            "checks:\n  drift:\n    prediction_rows: 500\n",
            &format!("fixtures/domain/{sample}"),
            "fixtures/domain/adult_reg.onnx",
            REFERENCE,
        );
        let (metric, line) = prediction(&run);
        assert!(
            line.starts_with(&format!(
                "{status}: prediction 'variable' (the model's first output, its value per row) against the model's predictions on 500 reference rows drawn one from each of as many equal strata: PSI "
            )),
            "{line}"
        );
        assert_prediction(metric, sample, "regressor");
    }

    // A sample larger than prediction_rows is predicted on that many rows, drawn the same way.
    let run = with_config("checks:\n  drift:\n    prediction_rows: 250\n", "fixtures/domain/shifted.parquet", ADULT, REFERENCE);
    let (metric, line) = prediction(&run);
    assert!(
        line.starts_with(
            "warn: prediction 'output_label' (the model's first output, its value per row) on 250 sample rows drawn one from each of as many \
             equal strata against the model's predictions on 250 reference rows drawn one from each of as many equal strata: PSI "
        ),
        "{line}"
    );
    assert_prediction(metric, "shifted.parquet", "both_halved");
}

/// `periods` copies of the first 24 data rows of fixtures/domain/ok.csv (written by pandas),
/// starting at row `phase` of the period: hourly rows sorted by day.
fn periodic_csv(path: &std::path::Path, periods: usize, phase: usize) {
    let text = std::fs::read_to_string(common::root().join("fixtures/domain/ok.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let day = &lines[1..25];
    let mut out = format!("{}\n", lines[0]);
    for row in (0..periods * 24).map(|r| day[(r + phase) % 24]) {
        out.push_str(row);
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_reference_repeating_every_n_over_k_rows_and_a_sample_drawn_from_it_pass_prediction_drift() {
    // 48,000 rows with period 24 = 48,000 / 2000: rows i·n/k would all be the period's first row
    // (label 0; 4 of the 24 rows are label 1), and prediction drift failed with PSI 3.25.
    let dir = tempfile::tempdir().unwrap();
    let (reference, day, shifted) = (dir.path().join("hourly_ref.csv"), dir.path().join("hourly_s.csv"), dir.path().join("hourly_4.csv"));
    periodic_csv(&reference, 2000, 0);
    periodic_csv(&day, 10, 0);
    // The same 48,000 rows starting at the period's 5th row (label 1), all read: the sample side
    // picks rows by the same rule (2000 of 48,000), which would all have been label 1.
    periodic_csv(&shifted, 2000, 4);
    for sample in [&day, &shifted] {
        let run = with_config("sample:\n  max_rows: 48000\n", sample.to_str().unwrap(), ADULT, reference.to_str().unwrap());
        let (metric, line) = prediction(&run);
        assert_eq!(run.status("drift"), "pass", "{:?}", run.details("drift"));
        assert_eq!(run.code, 0);
        let on = if sample == &shifted { " on 2000 sample rows drawn one from each of as many equal strata" } else { "" };
        assert!(
            line.starts_with(&format!(
                "pass: prediction 'output_label' (the model's first output, its value per row){on} against the model's predictions on 2000 \
                 reference rows drawn one from each of as many equal strata: PSI "
            )) && line.contains(" over 2 reference categories"),
            "{line}"
        );
        assert!(metric["score"]["psi"].as_f64().unwrap() < 0.1, "{metric}");
    }
}

#[test]
fn prediction_drift_reads_a_configured_prediction_column_or_says_why_it_is_not_judged() {
    let yaml = "checks:\n  drift:\n    prediction_column: prediction\n";
    for (sample, status) in [("ok.csv", "pass"), ("shifted.parquet", "warn")] {
        let run = with_config(yaml, &format!("fixtures/domain/{sample}"), ADULT, "fixtures/domain/reference_scored.parquet");
        let (metric, line) = prediction(&run);
        assert!(
            line.starts_with(&format!(
                "{status}: prediction 'output_label' (the model's first output, its value per row) against the reference's column 'prediction': PSI "
            )),
            "{line}"
        );
        assert_eq!(metric["reference"], "the reference's column 'prediction'");
        assert_prediction(metric, sample, "column");
    }
    let run = with_config(yaml, "fixtures/domain/ok.csv", ADULT, REFERENCE);
    assert_eq!(run.status("drift"), "warn");
    assert_eq!(
        run.check("drift")["summary"],
        "checks.drift.prediction_column 'prediction' is not a column of the reference: prediction drift not judged"
    );
    // A profile carries no rows to run the model on.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    let output = ready().args(["profile", REFERENCE, "-o", profile.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let run = drift("fixtures/domain/ok.csv", profile.to_str().unwrap());
    assert_eq!(run.status("drift"), "pass");
    assert_eq!(prediction(&run).0, &serde_json::Value::Null);
    assert_eq!(
        prediction(&run).1,
        "pass: prediction drift not judged: the reference is a profile and no checks.drift.prediction_column names the reference's predictions"
    );
    // 40 rows are too few, as for columns.
    let run = drift("fixtures/domain/unseen.csv", REFERENCE);
    assert!(prediction(&run).1.ends_with(": 40 values, fewer than min_rows 100: drift not judged"), "{}", prediction(&run).1);
}

/// The float32 column `x` of fixtures/domain/zip_ref.parquet (pandas) and the same rows in
/// zip_ref.csv, whose shortest decimals read as float64 lie a little off the float32 values.
const ZIP: &str = "fixtures/domain/zip.onnx";
const ALL_ROWS: &str = "sample:\n  max_rows: 5000\n";

#[test]
fn a_float32_parquet_and_a_float64_csv_of_the_same_values_have_no_value_outside_the_range() {
    // Against the float32 reference the CSV's values are read at float32: the same data, KS 0. A
    // float32 sample against the CSV's float64 decimals keeps the one step of 1/2000 they differ by.
    for (sample, reference, ks) in [("zip_ref.csv", "zip_ref.parquet", "KS 0 (p = 1)"), ("zip_ref.parquet", "zip_ref.csv", "KS 0.0005 (p = 0.99385)")]
    {
        let run = with_config(ALL_ROWS, &format!("fixtures/domain/{sample}"), ZIP, &format!("fixtures/domain/{reference}"));
        assert_eq!(run.status("drift"), "pass", "{sample}: {:?}", run.details("drift"));
        let details = run.details("drift");
        assert_eq!(
            details[0],
            format!("pass: column 'x': PSI 0 on 10 reference quantile bins, {ks}; mean -0.02716 vs -0.02716 in the reference"),
            "{sample}: {details:?}"
        );
        assert!(details.iter().all(|d| !d.contains("outside the training range")), "{sample}: {details:?}");
    }
}

#[test]
fn a_value_one_float32_step_beyond_a_float32_range_is_still_outside() {
    let csv = std::fs::read_to_string(common::root().join("fixtures/domain/zip_ref.csv")).unwrap();
    let xs: Vec<f32> = csv.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    let max = xs.iter().copied().fold(f32::MIN, f32::max);
    let min = xs.iter().copied().fold(f32::MAX, f32::min);
    assert!(max > 0.0 && min < 0.0);
    // One step away from zero is one step above a positive max and below a negative min.
    let (above, below) = (f32::from_bits(max.to_bits() + 1), f32::from_bits(min.to_bits() + 1));
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample.csv");
    std::fs::write(&sample, format!("{csv}01234,{above}\n02139,{below}\n")).unwrap();
    let run = with_config(ALL_ROWS, sample.to_str().unwrap(), ZIP, "fixtures/domain/zip_ref.parquet");
    let details = run.details("drift");
    assert_eq!(
        details.iter().filter(|d| d.contains("outside the training range")).collect::<Vec<_>>(),
        ["pass: column 'x': 2 of 2002 values (0.1%) outside the training range [-3.19735, 2.97257]: rows 2000, 2001"],
        "{details:?}"
    );
}

/// A profile written by `ready profile`, edited line by line, then read back by an audit.
fn edited_profile_error(dir: &std::path::Path, edit: impl FnOnce(&mut Vec<String>) -> usize) -> (String, usize, String) {
    let written = dir.join("written.json");
    let output = ready().args(["profile", REFERENCE, "-o", written.to_str().unwrap(), "--force"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let mut lines: Vec<String> = std::fs::read_to_string(&written).unwrap().lines().map(str::to_string).collect();
    let line = edit(&mut lines);
    let path = dir.join("edited.json");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let path = path.to_str().unwrap().to_string();
    let output = ready().args(["audit", ADULT, "--sample", "fixtures/domain/ok.csv", "--reference", &path]).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty() && stderr.trim_end().lines().count() == 1, "{stderr}");
    (path, line, stderr)
}

#[test]
fn a_profile_naming_a_column_or_a_category_twice_is_refused_naming_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let twice = |key: &str| format!("key '{key}' appears twice in one object (a JSON reader keeps only the last); give each key once");
    // Two "age" entries under "columns": the second one ("hours" renamed) would have won.
    let (path, line, stderr) = edited_profile_error(dir.path(), |lines| {
        let at = lines.iter().position(|l| l == "    \"hours\": {").unwrap();
        lines[at] = "    \"age\": {".to_string();
        at + 1
    });
    assert!(stderr.contains(&format!("{path}: line {line}: {}", twice("age"))), "{stderr}");
    // A category given twice.
    let (path, line, stderr) = edited_profile_error(dir.path(), |lines| {
        let at = lines.iter().position(|l| l.trim() == "\"Private\": 1174,").unwrap();
        lines.insert(at, "        \"Private\": 1,".to_string());
        at + 2
    });
    assert!(stderr.contains(&format!("{path}: line {line}: {}", twice("Private"))), "{stderr}");
}

#[test]
fn a_profile_of_a_float32_parquet_says_so_and_a_csv_of_the_same_values_stays_inside_its_range() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("zip.json");
    let output = ready().args(["profile", "fixtures/domain/zip_ref.parquet", "-o", profile.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&profile).unwrap();
    assert_eq!(text.matches("\"float32\": true").count(), 1, "{text}");
    let run = with_config(ALL_ROWS, "fixtures/domain/zip_ref.csv", ZIP, profile.to_str().unwrap());
    assert_eq!(run.status("drift"), "pass", "{:?}", run.details("drift"));
    let details = run.details("drift");
    // KS against the profile's 1001 quantiles is exact to 1/1000.
    assert_eq!(
        details[0], "pass: column 'x': PSI 0 on 10 reference quantile bins, KS 0.001 (p = 1); mean -0.02716 vs -0.02716 in the reference",
        "{details:?}"
    );
    assert!(details.iter().all(|d| !d.contains("outside the training range")), "{details:?}");
}

#[test]
fn a_numeric_reference_column_with_a_stray_word_is_still_compared_as_numbers() {
    // The training rows as CSV with 'abc' in one 'age' cell: pandas and polars read the column
    // as text, but the sample's 'age' is numbers and no encoder lists it: drift must still see a
    // shifted age, not judge 500 distinct texts as free text or categories.
    let text = std::fs::read_to_string(common::root().join("fixtures/domain/ok.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let age = lines[0].split(',').position(|c| c == "age").unwrap();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    cells[age] = "abc".into();
    lines[3] = cells.join(",");
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("training.csv");
    std::fs::write(&reference, lines.join("\n") + "\n").unwrap();
    let reference = reference.to_str().unwrap();
    let stray = "warn: column 'age': the reference holds 1 of 500 values that are not numbers ('abc'), read as text; the sample's column is \
                 numbers, so the reference's numbers are compared and those values left out";

    let run = drift("fixtures/domain/ok.csv", reference);
    assert_eq!(run.status("drift"), "warn", "{}", run.check("drift"));
    assert_eq!(run.details("drift")[0], stray);
    let figures = &run.check("drift")["metrics"]["columns"]["age"];
    assert!(figures["psi"].as_f64().unwrap() < 0.01 && figures["ks"].as_f64().unwrap() < 0.01, "{figures}");

    let run = drift("fixtures/domain/shifted.parquet", reference);
    assert_eq!(run.status("drift"), "fail", "{}", run.check("drift"));
    assert!(run.details("drift").contains(&stray.to_string()), "{:?}", run.details("drift"));
    assert!(
        run.details("drift").iter().any(|d| d.starts_with("fail: column 'age': PSI ") && d.contains(" on 10 reference quantile bins, KS ")),
        "{:?}",
        run.details("drift")
    );
}

#[test]
fn a_reference_of_fewer_than_min_rows_values_is_not_judged() {
    // 60 training rows against 500 sample rows of the same data: PSI of such a small reference
    // is noise (it failed age at 0.25 before), so drift is not judged, as for a small sample.
    let text = std::fs::read_to_string(common::root().join("fixtures/domain/ok.csv")).unwrap();
    let lines: Vec<&str> = text.lines().take(61).collect();
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("small.csv");
    std::fs::write(&reference, lines.join("\n") + "\n").unwrap();
    let run = drift("fixtures/domain/ok.csv", reference.to_str().unwrap());
    assert_eq!(run.status("drift"), "pass", "{:?}", run.details("drift"));
    for column in ["age", "hours", "income", "workclass"] {
        let line = format!("pass: column '{column}': the reference has 60 values, fewer than min_rows 100: drift not judged");
        assert!(run.details("drift").contains(&line), "{line}: {:?}", run.details("drift"));
    }
}
