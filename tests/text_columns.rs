//! Numbers-looking text in a column the model reads as strings ("01234", "7.50", a skl2onnx
//! OneHotEncoder's categories) through the real binary: a CSV or TSV sample and a CSV
//! `--reference` give the same verdicts as Parquet (fixtures/domain/generate.py, `zip_codes`).
//! `ready profile` keeps a zero-padded CSV column as text.

mod common;

use common::{Audit, audit, ready};

const ZIP: &str = "fixtures/domain/zip.onnx";

fn run(sample: &str, reference: &str) -> Audit {
    audit(ZIP, &["--sample", sample, "--reference", reference, "--only", "schema_parity,domain,drift"])
}

/// The statuses of the three selected checks.
fn selected(run: &Audit) -> Vec<String> {
    run.statuses().into_iter().filter(|s| ["schema_parity=", "domain=", "drift="].iter().any(|id| s.starts_with(id))).collect()
}

#[test]
fn csv_and_tsv_samples_of_string_categories_pass_as_the_parquet_one_does() {
    let parquet = run("fixtures/domain/zip.parquet", "fixtures/domain/zip_ref.parquet");
    assert_eq!(selected(&parquet), ["schema_parity=pass", "domain=pass", "drift=pass"], "{}", parquet.json);
    assert_eq!(parquet.code, 0);
    assert_eq!(parquet.check("domain")["summary"], "1 column(s) of 300 row(s) checked against the graph's domain (1 categorical)");
    assert_eq!(parquet.details("domain"), ["graph: column 'zip': OneHotEncoder knows 4 categories: '01234', '02139', '10001', '7.50'"]);
    assert_eq!(parquet.check("drift")["metrics"]["columns_compared"], 2);
    for sample in ["fixtures/domain/zip.csv", "fixtures/domain/zip.tsv", "fixtures/domain/zip.parquet"] {
        for reference in ["fixtures/domain/zip_ref.parquet", "fixtures/domain/zip_ref.csv"] {
            let text = run(sample, reference);
            assert_eq!(text.statuses(), parquet.statuses(), "{sample} {reference}: {}", text.json);
            assert_eq!(text.code, 0, "{sample} {reference}");
            for check in ["schema_parity", "domain", "drift"] {
                assert_eq!(text.check(check)["summary"], parquet.check(check)["summary"], "{sample} {reference} {check}");
                // The float column 'x' is float64 in a CSV, float32 in Parquet: read as before, its
                // lines may differ (its rounding into the float32 input, a value at the training
                // range's float32 edge); every line on 'zip' and the predictions must not.
                let not_x = |run: &Audit| run.details(check).into_iter().filter(|d| !d.starts_with("pass: column 'x'")).collect::<Vec<_>>();
                assert_eq!(not_x(&text), not_x(&parquet), "{sample} {reference} {check}");
            }
        }
    }
}

/// The profile `ready profile` writes for `data`, as JSON.
fn profile(data: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("profile.json");
    let output = ready().args(["profile", data, "-o", out.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

#[test]
fn profile_keeps_a_zero_padded_csv_column_as_text_and_fixed_decimals_as_numbers() {
    let csv = profile("fixtures/domain/zip_ref.csv");
    let parquet = profile("fixtures/domain/zip_ref.parquet");
    assert_eq!(csv["columns"]["zip"], parquet["columns"]["zip"]);
    assert_eq!(csv["columns"]["zip"]["kind"], "categorical");
    let categories: Vec<&String> = csv["columns"]["zip"]["categories"].as_object().unwrap().keys().collect();
    assert_eq!(categories, ["01234", "02139", "10001", "7.50"]);
    assert_eq!(csv["columns"]["x"]["kind"], "numeric");
    // Without a model, "7.50" alone is how float_format="%.2f" writes a number: it stays one.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("prices.csv");
    std::fs::write(&data, "price,code\n7.50,007\n12.00,120\n3.25,042\n").unwrap();
    let prices = profile(data.to_str().unwrap());
    assert_eq!(prices["columns"]["price"]["kind"], "numeric");
    assert_eq!(prices["columns"]["price"]["max"], 12.0);
    assert_eq!(prices["columns"]["code"]["kind"], "categorical");
    assert_eq!(prices["columns"]["code"]["categories"], serde_json::json!({"007": 1, "042": 1, "120": 1}));
}
