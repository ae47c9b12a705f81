//! Bad inputs that once gave a silent wrong answer or a message naming nothing: duplicate keys
//! and members in tensor samples, JSON strings fed to numeric inputs, integers above 2^53,
//! tensors disagreeing on a shared dimension, bad JSON row samples, config files with duplicate
//! keys or `.nan`, the default environment of the lockfile check, and the container homes of the
//! hardcoded_paths check. Each runs the real binary and asserts the exact message and exit code.

mod common;

use std::path::Path;

use common::{audit, audit_env, root, usage_error};

/// `text` written as `name` in a fresh folder; the folder and the file's path.
fn file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path.display().to_string())
}

fn sample_error(model: &str, sample: &str) -> String {
    usage_error(&["audit", &format!("fixtures/models/{model}"), "--sample", sample, "--config", "fixtures/configs/fast.yaml"])
}

#[test]
fn a_json_key_given_twice_is_refused_naming_it_and_its_line() {
    let text =
        "{\"sepal_length\": [[5.1]], \"sepal_width\": [[3.5]],\n \"petal_length\": [[1.4]], \"petal_width\": [[0.2]],\n \"sepal_length\": [[6.0]]}";
    let (_dir, path) = file("request.json", text);
    assert_eq!(
        sample_error("iris_rf_columns.onnx", &path),
        format!("error: {path}: line 3: key 'sepal_length' appears twice in one object (a JSON reader keeps only the last); give each key once\n")
    );
    // NDJSON lines are counted with the blank ones.
    let (_dir, path) = file("rows.ndjson", "{\"input\": [5.1, 3.5, 1.4, 0.2]}\n\n{\"input\": [5.1, 3.5, 1.4, 0.2], \"input\": [1, 2, 3, 4]}\n");
    assert_eq!(
        sample_error("iris_rf.onnx", &path),
        format!("error: {path}: line 3: key 'input' appears twice in one object (a JSON reader keeps only the last); give each key once\n")
    );
}

#[test]
fn an_npz_member_given_twice_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.npy");
    common::write_f32_npy(&one, &[1, 4], &[5.1, 3.5, 1.4, 0.2]);
    let two = dir.path().join("two.npy");
    common::write_f32_npy(&two, &[2, 4], &[6.0, 3.5, 1.4, 0.2, 6.0, 3.5, 1.4, 0.2]);
    let archive = dir.path().join("sample.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    for source in [&one, &two] {
        // zip refuses a second entry of one name; the raw copy below writes it anyway, as a
        // hand-made or concatenated archive does.
        let name = if source == &one { "input.npy" } else { "inpuX.npy" };
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, &std::fs::read(source).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    // Rename the second member to the first one's name in both of its headers (same length).
    let bytes = std::fs::read(&archive).unwrap();
    let renamed: Vec<u8> = replace_all(&bytes, b"inpuX.npy", b"input.npy");
    std::fs::write(&archive, renamed).unwrap();
    let shown = archive.display().to_string();
    assert_eq!(
        sample_error("iris_rf.onnx", &shown),
        format!("error: {shown}: member 'input.npy' appears twice (only one would be read); write each array once\n")
    );
}

fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut at = 0;
    while let Some(found) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + found..at + found + from.len()].copy_from_slice(to);
        at += found + from.len();
    }
    out
}

#[test]
fn a_json_string_for_a_numeric_input_is_refused_naming_the_tensor_and_index() {
    let (_dir, path) = file("request.json", r#"{"count": [[5], ["7"]], "color": [["red"], ["blue"]]}"#);
    assert_eq!(
        sample_error("mixed_types.onnx", &path),
        format!(
            "error: {path}: tensor 'count' at [1, 0]: the string \"7\" where a number is expected (input 'count' is int64); write JSON numbers without quotes\n"
        )
    );
}

#[test]
fn integers_above_2_pow_53_keep_their_digits_in_messages() {
    let (_dir, path) = file("request.json", r#"{"count": [[9007199254740993], [123456789012345678901234567]], "color": [["red"], ["blue"]]}"#);
    let run = audit("fixtures/models/mixed_types.onnx", &["--sample", &path, "--only", "schema_parity"]);
    assert_eq!((run.code, run.status("schema_parity")), (1, "fail".to_string()));
    assert_eq!(
        run.details("schema_parity"),
        [
            "fail: input 'count': value 123456789012345678901234567 at [1, 0] does not fit: int64 makes it 9223372036854775807; 1 of 2 values",
            "prediction label = [1, 1]",
            "prediction probabilities = [0, 1, 0, …]",
        ]
    );
    let (_dir, path) = file("request.json", r#"{"input": [[9007199254740993, 1, 2, 3], [1, 2, 3, 4]]}"#);
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", &path, "--only", "schema_parity"]);
    assert_eq!(run.code, 1);
    let details = run.details("schema_parity");
    assert!(
        details.iter().any(|d| d.starts_with("fail: input 'input' column 0: value 9007199254740993 at [0, 0] changes by ")
            && d.ends_with("float32 makes it 9007199254740992; 1 of 2 values")),
        "{details:?}"
    );
}

#[test]
fn tensors_sharing_the_batch_axis_with_different_rows_are_refused_before_any_check() {
    let text = r#"{"sepal_length": [[5.1], [4.9]], "sepal_width": [[3.5]], "petal_length": [[1.4], [1.3]], "petal_width": [[0.2], [0.2]]}"#;
    let (_dir, path) = file("request.json", text);
    assert_eq!(
        sample_error("iris_rf_columns.onnx", &path),
        format!(
            "error: {path}: tensors 'sepal_length' and 'sepal_width' share the batch axis but differ in size along it: 2 (axis 0) and 1 (axis 0); \
             the inputs of one request must agree (as many rows in each)\n"
        )
    );
}

#[test]
fn a_bad_json_row_names_the_file_the_line_and_the_column() {
    let row = |x: &str| format!("{{\"sepal_length\": 5.1, \"sepal_width\": 3.5, \"petal_length\": {x}, \"petal_width\": 0.2}}\n");
    for (name, text, message) in [
        (
            "array.ndjson",
            format!("{}{}", row("1.4"), row("[1.4]")),
            "line 2, column 'petal_length': an array where a single value was expected (one value per cell)",
        ),
        (
            "object.ndjson",
            format!("{}\n{}", row("1.4"), row("{\"v\": 1}")),
            "line 3, column 'petal_length': an object where a single value was expected (one value per cell)",
        ),
        (
            "cut.ndjson",
            format!("{}{}", row("1.4"), "{\"sepal_length\": 5.1,\n"),
            "line 2: not valid JSON: EOF while parsing an object (character 21)",
        ),
        (
            "rows.json",
            format!("[{},\n{}]", row("1.4").trim(), row("[1]").trim()),
            "line 2, column 'petal_length': an array where a single value was expected (one value per cell)",
        ),
        (
            "huge.ndjson",
            format!("{}{}", row("1.4"), row("1e400")),
            "line 2, column 'petal_length': the number 1e400 is beyond a 64-bit float's range",
        ),
    ] {
        let (_dir, path) = file(name, &text);
        assert_eq!(sample_error("iris_rf.onnx", &path), format!("error: {path}: cannot read Json sample: {message}\n"), "{name}");
    }
    // A text value among numbers is read like CSV does: a text column, its row named by the check.
    let mut text: String = (0..150).map(|_| row("1.4")).collect();
    text.push_str(&row("\"abc\""));
    let (_dir, path) = file("rows.ndjson", &text);
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", &path, "--only", "schema_parity"]);
    assert_eq!(run.code, 1);
    assert!(
        run.details("schema_parity").contains(
            &"fail: column 'petal_length': wrong type for input 'input': row 150 holds 'abc', not a number for float32; 1 of 151 rows are not numbers"
                .to_string()
        ),
        "{:?}",
        run.details("schema_parity")
    );
}

#[test]
fn duplicate_keys_and_nan_in_the_config_are_listed_with_every_other_problem() {
    let (_dir, path) =
        file("audit.yaml", "sample:\n  max_rows: 0\nchecks:\n  latency:\n    p99_ms: .nan\n    runs: 0\n    runs: 3\n  drift:\n    psi_fail: .inf\n");
    assert_eq!(
        usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--config", &path]),
        format!(
            "error: {path}: 5 problems: line 2 column 13: sample.max_rows: must be at least 1; \
             line 5 column 13: checks.latency.p99_ms: must be a finite number, got .nan; \
             line 6 column 11: checks.latency.runs: must be at least 1; \
             line 7 column 5: checks.latency.runs: duplicate key (first given on line 6); give each key once; \
             line 9 column 15: checks.drift.psi_fail: must be a finite number, got .inf\n"
        )
    );
}

#[test]
fn env_none_turns_the_default_environment_off() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("scripts/envs/tiny.txt"), dir.path().join("requirements.txt")).unwrap();
    let drift = root().join(".envs/drift");
    assert!(drift.join("pyvenv.cfg").is_file(), "no {}: run scripts/envs.sh first", drift.display());
    let project = dir.path().to_str().unwrap();
    let args = ["--project", project, "--only", "lockfile"];
    let run = audit_env(&[("VIRTUAL_ENV", &drift)], "fixtures/models/iris_rf.onnx", &args);
    assert_eq!((run.code, run.check("lockfile")["summary"].as_str().unwrap()), (1, "python: pinned, closed, hashed; not in sync with drift"));
    let run = audit_env(&[("VIRTUAL_ENV", &drift)], "fixtures/models/iris_rf.onnx", &[&args[..], &["--env", "none"]].concat());
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, hashed; closure not verifiable, no environment checked");
    assert_eq!((run.code, run.status("lockfile")), (0, "warn".to_string()));
}

#[test]
fn a_home_named_by_an_image_is_exempt_only_in_the_files_copied_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("Dockerfile", "FROM python:3.11-slim\nRUN useradd -m alice\nUSER alice\nCOPY serve.py /home/alice/app/\n");
    write("serve.py", "MODEL = \"/home/alice/app/model.onnx\"\n");
    write("train/train.py", "DATA = \"/home/alice/data/train.csv\"\n");
    let project = dir.path().to_str().unwrap();
    let run = audit("fixtures/models/iris_rf.onnx", &["--only", "hardcoded_paths", "--project", project]);
    assert_eq!((run.code, run.status("hardcoded_paths")), (1, "fail".to_string()));
    assert_eq!(
        run.details("hardcoded_paths"),
        [
            format!(
                "fail {project}/train/train.py:1: /home/alice/data/train.csv is a home folder on one machine; read it from an environment variable \
                 (os.environ[\"MODEL_PATH\"]) or build it from the code's folder (Path(__file__).parent / ...)"
            ),
            format!("scanned: the model's metadata, doc strings and string values, the config fixtures/configs/fast.yaml, 3 files under {project}"),
        ]
    );
    assert!(Path::new(project).join("serve.py").is_file());
}

#[test]
fn a_tsv_sample_is_split_at_tabs_and_a_csv_header_naming_a_column_twice_is_refused() {
    let csv = std::fs::read_to_string(root().join("fixtures/samples/iris.csv")).unwrap();
    let (_dir, path) = file("iris.tsv", &csv.replace(',', "\t"));
    let run = audit("fixtures/models/iris_rf.onnx", &["--sample", &path, "--only", "schema_parity"]);
    assert_eq!((run.code, run.status("schema_parity")), (0, "pass".to_string()), "{:?}", run.details("schema_parity"));
    let mut lines = csv.lines();
    let header = format!("{},petal_width\n", lines.next().unwrap());
    let rows: String = lines.map(|l| format!("{l},9.9\n")).collect();
    let (_dir, path) = file("iris.csv", &format!("{header}{rows}"));
    assert_eq!(
        sample_error("iris_rf.onnx", &path),
        format!("error: {path}: line 1: column 'petal_width' appears twice in the header (columns 4 and 5); give each column once\n")
    );
}

#[test]
fn a_csv_row_with_extra_fields_or_an_unclosed_quote_names_its_line() {
    let header = "sepal_length,sepal_width,petal_length,petal_width\n";
    for (name, body, message) in [
        ("extra.csv", "5.1,3.5,1.4,0.2\n4.9,3.0,1.4,0.2,9\n", "line 3: 5 fields where the header names 4 columns"),
        ("quote.csv", "5.1,3.5,1.4,0.2\n\"4.9,3.0,1.4,0.2\n4.7,3.2,1.3,0.2\n", "line 3: a quoted field opened on this line is never closed"),
    ] {
        let (_dir, path) = file(name, &format!("{header}{body}"));
        assert_eq!(sample_error("iris_rf.onnx", &path), format!("error: {path}: {message}\n"), "{name}");
    }
    let (_dir, path) = file("extra.tsv", "a\tb\n1\t2\n3\t4\t5\n");
    assert_eq!(sample_error("iris_rf.onnx", &path), format!("error: {path}: line 3: 3 fields where the header names 2 columns\n"));
}

#[test]
fn a_last_row_short_of_fields_without_a_line_end_is_a_file_cut_short_and_other_short_rows_read_as_pandas_does() {
    let header = "sepal_length,sepal_width,petal_length,petal_width\n";
    let (_dir, path) = file("cut.csv", &format!("{header}5.1,3.5,1.4,0.2\n4.9,3.0"));
    assert_eq!(
        sample_error("iris_rf.onnx", &path),
        format!(
            "error: {path}: line 3: the last row has 2 of the header's 4 fields and no line end: the file looks cut short (write or download it again)\n"
        )
    );
    // Empty cells as pandas writes NaN (no line end after them), and a short row that ends its
    // line (pandas reads its last cells as NaN): read, those cells missing, as pandas has them.
    for body in ["5.1,3.5,1.4,0.2\n4.9,3.0,,", "5.1,3.5,1.4,0.2\n4.9,3.0\n", "4.9,3.0\n5.1,3.5,1.4,0.2"] {
        let (_dir, path) = file("short.csv", &format!("{header}{body}"));
        let run = audit("fixtures/models/iris_rf.onnx", &["--sample", &path, "--only", "schema_parity"]);
        assert_eq!((run.code, run.status("schema_parity")), (1, "fail".to_string()), "{body:?}: {:?}", run.details("schema_parity"));
        let row = if body.starts_with("4.9") { 0 } else { 1 };
        let missing: Vec<String> = run.details("schema_parity").into_iter().filter(|d| d.contains("missing value")).collect();
        assert_eq!(missing.len(), 2, "{body:?}: {missing:?}");
        assert!(missing[0].starts_with(&format!("fail: column 'petal_length': missing value in row {row} (1 of 2 rows)")), "{body:?}: {missing:?}");
        assert!(missing[1].starts_with(&format!("fail: column 'petal_width': missing value in row {row} (1 of 2 rows)")), "{body:?}: {missing:?}");
    }
}

#[test]
fn a_semicolon_separated_export_says_which_separators_ready_reads() {
    // Excel's European CSV export: semicolons, decimal commas, BOM, CRLF.
    let (dir, sample) = file("eu.csv", "\u{feff}age;income;score\r\n30;1,5;2\r\n40;2,5;3\r\n");
    let hint = " (the header reads as one column and holds semicolons: ready reads comma-separated .csv and tab-separated .tsv files; write it with \
                commas, e.g. pandas to_csv or Excel's \"CSV UTF-8 (comma delimited)\")";
    let error = sample_error("iris_rf.onnx", &sample);
    assert_eq!(error, format!("error: {sample}: line 2: 2 fields where the header names 1 columns{hint}\n"));
    let profile = dir.path().join("p.json");
    let stderr = usage_error(&["profile", &sample, "-o", profile.to_str().unwrap()]);
    assert!(stderr.contains(&format!("line 2: 2 fields where the header names 1 columns{hint}")), "{stderr}");
}
