//! The error-message catalog: every class of bad input gives one line on stderr that names the
//! file (or flag) and the problem, exit code 2, nothing on stdout, and no panic or backtrace.
//! Problems with the model's *content* (empty, garbage, huge dimensions) are check results
//! instead (exit 1 or a skipped row), never a crash.

mod common;

use std::path::Path;
use std::process::Command;

use common::{audit, ort_lib, root};

struct Case {
    what: &'static str,
    args: Vec<String>,
    expected: Vec<String>,
}

fn run(args: &[String]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ready"));
    cmd.current_dir(root()).env("ORT_DYLIB_PATH", ort_lib()).env("RUST_BACKTRACE", "1").args(args);
    let output = cmd.output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn assert_clean(case: &Case) {
    let (code, stdout, stderr) = run(&case.args);
    assert_eq!(code, Some(2), "{}: exit code; stderr: {stderr}", case.what);
    assert!(stdout.is_empty(), "{}: stdout must be empty, got {stdout}", case.what);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{}: one line expected: {stderr}", case.what);
    assert!(stderr.starts_with("error: "), "{}: {stderr}", case.what);
    for text in &case.expected {
        assert!(stderr.contains(text.as_str()), "{}: '{text}' not in: {stderr}", case.what);
    }
    for forbidden in ["panicked", "RUST_BACKTRACE", "stack backtrace", "internal error"] {
        assert!(!stderr.contains(forbidden), "{}: {stderr}", case.what);
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_class_of_bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = "fixtures/models/iris_rf.onnx";
    let empty = write(d, "empty.csv", b"");
    let garbage_csv = write(d, "garbage.csv", &[0xff, 0xfe, 0x00, 0x13, 0x80, 0x81, b'\n', 0x00, 0xc3, 0x28]);
    let latin1 = write(d, "latin1.csv", b"sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\ncaf\xe9,1,2,3\n");
    let garbage_parquet = write(d, "garbage.parquet", b"PAR1 this is not parquet at all");
    let garbage_json = write(d, "rows.json", b"{\"a\": [1, 2");
    let empty_config = write(d, "empty.yaml", b"");
    let binary_config = write(d, "binary.yaml", &[0x00, 0xff, 0xfe, 0x01]);
    let typed_config = write(d, "typed.yaml", b"checks:\n  latency:\n    runs: lots\n    p99_ms: [1]\n  severity: deny\n");
    let huge_dims_dir = d.join("huge");
    std::fs::create_dir_all(&huge_dims_dir).unwrap();
    // A TensorProto declaring [2^40, 2^40] float elements (field 1 dims, field 2 type 1).
    let mut huge = vec![0x0a, 0x0c];
    for _ in 0..2 {
        huge.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    }
    huge.extend_from_slice(&[0x10, 0x01]);
    std::fs::write(huge_dims_dir.join("input_0.pb"), &huge).unwrap();
    let huge_dims = huge_dims_dir.display().to_string();
    let a = |extra: &[&str]| -> Vec<String> {
        let mut args = strings(&["audit", model, "--config", "fixtures/configs/fast.yaml"]);
        args.extend(strings(extra));
        args
    };
    let cases = vec![
        Case { what: "missing model", args: strings(&["audit", "no/such/model.onnx"]), expected: strings(&["no/such/model.onnx", "No such file"]) },
        Case { what: "directory as model", args: strings(&["audit", "fixtures"]), expected: strings(&["fixtures: is a directory"]) },
        Case { what: "missing sample", args: a(&["--sample", "no/such.csv"]), expected: strings(&["no/such.csv", "No such file"]) },
        Case { what: "directory as sample", args: a(&["--sample", "fixtures/samples"]), expected: strings(&["fixtures/samples: is a directory"]) },
        Case { what: "empty sample", args: a(&["--sample", &empty]), expected: vec![format!("{empty}: the sample file is empty")] },
        Case { what: "binary garbage CSV", args: a(&["--sample", &garbage_csv]), expected: vec![format!("{garbage_csv}: cannot read Csv sample")] },
        Case { what: "non-UTF-8 CSV", args: a(&["--sample", &latin1]), expected: vec![format!("{latin1}: cannot read Csv sample")] },
        Case {
            what: "garbage Parquet",
            args: a(&["--sample", &garbage_parquet]),
            expected: vec![format!("{garbage_parquet}: cannot read Parquet sample")],
        },
        Case { what: "truncated JSON", args: a(&["--sample", &garbage_json]), expected: vec![format!("{garbage_json}: cannot read Json sample")] },
        Case {
            what: "huge declared tensor dims",
            args: a(&["--sample", &huge_dims]),
            expected: strings(&["input_0.pb", "exceeds 2147483648 elements"]),
        },
        Case {
            what: "missing config",
            args: strings(&["audit", model, "--config", "no/such.yaml"]),
            expected: strings(&["no/such.yaml", "No such file"]),
        },
        Case { what: "directory as config", args: strings(&["audit", model, "--config", "audits"]), expected: strings(&["audits: is a directory"]) },
        Case {
            what: "binary config",
            args: strings(&["audit", model, "--config", &binary_config]),
            expected: vec![format!("{binary_config}: not UTF-8 text")],
        },
        Case {
            what: "config type errors",
            args: strings(&["audit", model, "--config", &typed_config]),
            expected: vec![
                format!("{typed_config}: 3 problems"),
                "line 3 column 11: checks.latency.runs: invalid type".into(),
                "line 4 column 13: checks.latency.p99_ms: invalid type".into(),
                "line 5 column 3: checks.severity: unknown key".into(),
            ],
        },
        Case { what: "missing expected", args: a(&["--expected", "no/such.csv"]), expected: strings(&["no/such.csv", "No such file"]) },
        Case { what: "missing baseline", args: a(&["--baseline", "no/such.json"]), expected: strings(&["--baseline no/such.json"]) },
        Case {
            what: "missing README",
            args: strings(&["readme", "no/README.md", model, "--config", "fixtures/configs/fast.yaml"]),
            expected: strings(&["no/README.md", "No such file"]),
        },
        Case {
            what: "bad --output folder",
            args: a(&["--output", "no/such/dir/r.json"]),
            expected: strings(&["--output no/such/dir/r.json: the folder no/such/dir does not exist"]),
        },
    ];
    for case in &cases {
        assert_clean(case);
    }
    // An empty config is the default config: not an error.
    let (code, _, stderr) = run(&strings(&["audit", model, "--config", &empty_config, "--only", "serialization"]));
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn permission_denied_names_the_file() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let locked = dir.path().join("locked.onnx");
        std::fs::copy(root().join("fixtures/models/iris_rf.onnx"), &locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads any file: then the binary runs as `nobody`, from a copy in this folder so
        // that nothing else on the path needs to be readable by that user.
        let binary = dir.path().join("ready");
        std::fs::copy(assert_cmd::cargo::cargo_bin("ready"), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = Command::new(&binary);
        cmd.current_dir(dir.path()).env("RUST_BACKTRACE", "1").args(["audit", "locked.onnx"]);
        if unsafe { libc::geteuid() } == 0 {
            cmd.uid(65534).gid(65534);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(output.stdout.is_empty());
        assert_eq!(stderr.trim_end(), "error: locked.onnx: Permission denied (os error 13)");
    }
}

#[test]
fn model_content_problems_are_check_results_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.onnx", b"");
    let garbage = write(dir.path(), "garbage.onnx", &(0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect::<Vec<_>>());
    for model in [&empty, &garbage] {
        let run = audit(model, &["--skip", "lockfile"]);
        assert_eq!(run.code, 1, "{model}");
        assert_eq!(run.status("serialization"), "fail", "{model}");
        assert!(run.check("serialization")["summary"].as_str().unwrap().starts_with("not a valid ONNX model"), "{model}");
    }
    assert!(audit(&empty, &[]).check("serialization")["summary"].as_str().unwrap().contains("the file is empty"));
}

#[test]
fn a_model_declaring_huge_static_dimensions_is_never_allocated() {
    let run = audit("fixtures/models/huge_dims.onnx", &["--skip", "lockfile"]);
    assert_eq!(run.status("serialization"), "pass");
    for check in ["empty_batch", "robustness", "latency", "determinism", "output_sanity"] {
        assert_eq!(run.status(check), "skip", "{check}: {}", run.check(check));
        let summary = run.check(check)["summary"].as_str().unwrap().to_string();
        assert!(summary.contains("declares float32[1000000,1000000]"), "{check}: {summary}");
    }
}

#[test]
fn files_over_the_size_limits_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "tiny.yaml", b"limits:\n  max_model_mb: 0.001\n  max_text_sample_mb: 0.00001\n");
    let case = Case {
        what: "model over limits.max_model_mb",
        args: strings(&["audit", "fixtures/models/iris_rf.onnx", "--config", &config]),
        expected: strings(&["fixtures/models/iris_rf.onnx: 5.7 KiB exceeds limits.max_model_mb (0.001 MiB)"]),
    };
    assert_clean(&case);
    let config = write(dir.path(), "small.yaml", b"limits:\n  max_text_sample_mb: 0.00001\n");
    let case = Case {
        what: "sample over limits.max_text_sample_mb",
        args: strings(&["audit", "fixtures/models/iris_rf.onnx", "--config", &config, "--sample", "fixtures/samples/iris.csv"]),
        expected: strings(&["fixtures/samples/iris.csv: 98 B exceeds limits.max_text_sample_mb"]),
    };
    assert_clean(&case);
}

#[test]
fn a_probe_over_its_memory_limit_fails_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "mem.yaml", b"limits:\n  probe_memory_mb: 1\nchecks:\n  latency:\n    severity: allow\n");
    let run = audit("fixtures/models/iris_rf.onnx", &["--config", &config, "--skip", "lockfile"]);
    assert_eq!(run.status("robustness"), "fail", "{}", run.check("robustness"));
    assert!(run.check("robustness")["summary"].as_str().unwrap().contains("crash"), "{}", run.check("robustness"));
    assert_eq!(run.status("schema_parity"), "skip");
    assert_eq!(run.code, 1);
}

#[test]
fn a_panic_is_an_internal_error_with_exit_2() {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ready"));
    let output = cmd.args(["checks"]).env("READY_TEST_PANIC", "1").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: internal error in ready at src/lib.rs:"), "{stderr}");
    assert!(stderr.contains("READY_TEST_PANIC is set (please report this bug)"), "{stderr}");
    assert!(!stderr.contains("panicked at"), "{stderr}");
}

#[test]
fn an_audit_writes_nothing_but_its_outputs() {
    // The project folder (model, sample, lock, and a nested folder), the current directory and
    // $TMPDIR are separate trees under one root; all of it is listed recursively, content
    // hashed, before and after.
    let world = tempfile::tempdir().unwrap();
    let (project, cwd, tmp) = (world.path().join("project"), world.path().join("cwd"), world.path().join("tmp"));
    for dir in [project.join("nested/deeper"), cwd.clone(), tmp.clone()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    for (from, to) in [
        ("fixtures/models/iris_rf.onnx", "model.onnx"),
        ("fixtures/samples/iris.csv", "rows.csv"),
        ("fixtures/projects/python_pinned/requirements.txt", "requirements.txt"),
    ] {
        std::fs::copy(root().join(from), project.join(to)).unwrap();
    }
    std::fs::write(project.join("nested/deeper/notes.txt"), b"kept as is").unwrap();
    std::fs::write(cwd.join("existing.txt"), b"kept as is").unwrap();
    std::fs::write(tmp.join("existing.tmp"), b"kept as is").unwrap();
    let before = common::snapshot(world.path());
    let output = Command::new(assert_cmd::cargo::cargo_bin("ready"))
        .current_dir(&cwd)
        .env("TMPDIR", &tmp)
        .env("ORT_DYLIB_PATH", ort_lib())
        .args(["audit", "../project/model.onnx", "--sample", "../project/rows.csv", "--project", "../project", "--config"])
        .arg(root().join("fixtures/configs/fast.yaml"))
        .args(["-q", "--output", "report.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let mut after = common::snapshot(world.path());
    let report = after.remove(Path::new("cwd/report.json")).expect("the --output file is written");
    assert!(report.starts_with("file of "), "{report}");
    assert_eq!(after, before, "an audit wrote, changed or removed something besides its --output file");
    assert_eq!(before.len(), 11, "every folder and file of the three trees is listed: {before:?}");
}

/// A protocol-0 pickle that, when loaded, calls `posix.system("touch <sentinel>")`.
fn touching_pickle(sentinel: &Path) -> Vec<u8> {
    format!("cposix\nsystem\n(Vtouch '{}'\ntR.", sentinel.display()).into_bytes()
}

/// The control for `a_malicious_pickle_never_runs`: the same bytes, loaded by Python's
/// `pickle.loads` in a child process, do run and create the sentinel, so the test below can fail.
#[test]
fn the_malicious_pickle_runs_when_python_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let sentinel = dir.path().join("pwned");
    let model = write(dir.path(), "model.pkl", &touching_pickle(&sentinel));
    let python = root().join(".venv/bin/python");
    let status = Command::new(&python)
        .current_dir(dir.path())
        .args(["-c", "import pickle, sys; pickle.loads(open(sys.argv[1], 'rb').read())", &model])
        .status()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", python.display()));
    assert!(status.success());
    assert!(sentinel.exists(), "pickle.loads of the payload must create {}", sentinel.display());
}

#[test]
fn a_malicious_pickle_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sentinel = dir.path().join("pwned");
    let model = write(dir.path(), "model.pkl", &touching_pickle(&sentinel));
    let run = audit(&model, &["--skip", "lockfile"]);
    assert_eq!(run.status("serialization"), "fail");
    assert!(run.check("serialization")["summary"].as_str().unwrap().contains("(posix.system)"));
    assert!(!sentinel.exists(), "the pickle must never be loaded");
}
