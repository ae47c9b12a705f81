//! The safety promises under attack (issue 12), each through the real binary: no code from the
//! audited folder, reads only of regular files inside it, bounded nesting, bounded config
//! values, atomic README and report writes, an exit code a closed pipe cannot change, and
//! model-derived strings made inert for every output.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{audit, ready, root, usage_error};

/// `ready` as a plain std Command (for pre_exec and raw pipes), set up like `common::ready`.
fn raw_ready() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ready"));
    cmd.current_dir(root()).env("ORT_DYLIB_PATH", common::ort_lib()).env_remove("VIRTUAL_ENV");
    cmd
}

/// Runs `cmd` with a file size limit of `bytes` (RLIMIT_FSIZE, as `ulimit -f` sets).
fn with_file_size_limit(cmd: &mut Command, bytes: u64) -> std::process::Output {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// Runs `ready ARGS` (with a 60 s guard against hangs), expecting exit 2; returns stderr.
fn fails_with(args: &[&str]) -> String {
    let output = ready().args(args).timeout(Duration::from_secs(60)).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "args {args:?}: stderr {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

const FAST: &str = "fixtures/configs/fast.yaml";

// 1. No code from the project folder.

#[test]
fn a_cargo_project_that_would_run_code_is_read_as_data_only() {
    // Run from inside the project, as CI does from a checkout: cargo reads `.cargo/config.toml`
    // from its working folder, so that is where running cargo would run evil.sh.
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("cargo_evil");
    copy_dir(&root().join("fixtures/projects/cargo_evil"), &project);
    assert!(project.join(".cargo/config.toml").is_file() && project.join("rust-toolchain.toml").is_file());
    let model = root().join("fixtures/models/iris_rf.onnx");
    let config = root().join(FAST);
    // Without the toolchain file first (cargo itself would run build.rustc), then with it
    // (rustup would be asked for a toolchain before cargo starts).
    let toolchain = project.join("rust-toolchain.toml");
    let set_aside = project.join("rust-toolchain.toml.aside");
    for toolchain_file in [false, true] {
        let (from, to) = if toolchain_file { (&set_aside, &toolchain) } else { (&toolchain, &set_aside) };
        std::fs::rename(from, to).unwrap();
        let output = ready()
            .current_dir(&project)
            .arg("audit")
            .arg(&model)
            .args(["--project", ".", "--only", "lockfile", "--format", "json", "-q", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(!project.join("ran").exists(), "evil.sh ran (toolchain file: {toolchain_file})");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let lockfile = json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "lockfile").unwrap();
        assert_eq!(lockfile["status"], "pass", "{lockfile}");
        assert_eq!(lockfile["summary"], "rust: pinned, closed, hashed, in sync with Cargo.toml");
        assert_eq!(output.status.code(), Some(0));
    }
}

// 3. Atomic README.

#[test]
fn a_readme_write_that_fails_leaves_the_readme_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let run = ready().args(["audit", "fixtures/models/iris_rf.onnx", "--config", FAST, "-q", "--output"]).arg(&report).output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    let readme = dir.path().join("README.md");
    let original = format!("# Model\n\n{}\nThe end.\n", "Intro text that is long enough. ".repeat(300));
    std::fs::write(&readme, &original).unwrap();
    let output = with_file_size_limit(raw_ready().arg("readme").arg(&readme).arg("--report").arg(&report), 4096);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("error: {}: not written: File too large", readme.display())), "{stderr}");
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), original);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left behind");
}

// 4. Nesting depth.

#[test]
fn deeply_nested_json_and_yaml_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let deep = "[".repeat(30_000);
    let path = |name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, &deep).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (json, ndjson, yaml, baseline) = (path("rows.json"), path("rows.ndjson"), path("deep.yaml"), path("base.json"));
    for (flag, file) in [("--sample", &json), ("--sample", &ndjson), ("--expected", &json)] {
        let stderr = fails_with(&["audit", "fixtures/models/iris_rf.onnx", "--config", FAST, flag, file]);
        assert_eq!(stderr, format!("error: {file}: cannot read Json sample: nested more than 128 levels deep; not read\n"));
    }
    let stderr = fails_with(&["audit", "fixtures/models/iris_rf.onnx", "--config", &yaml]);
    assert_eq!(stderr, format!("error: {yaml}: 1 problem: line 1 column 256: (file): recursion limit exceeded\n"));
    let stderr = fails_with(&["audit", "fixtures/models/iris_rf.onnx", "--config", FAST, "--baseline", &baseline]);
    assert!(stderr.starts_with(&format!("error: --baseline {baseline}: not a JSON report: recursion limit exceeded")), "{stderr}");
    let stderr = fails_with(&["readme", &json, "--report", &baseline]);
    assert!(stderr.starts_with(&format!("error: --report {baseline}: not a JSON report: recursion limit exceeded")), "{stderr}");
}

// 5. Parquet column types a sample cannot hold: left unread and named when the model does not
// take them.

#[test]
fn parquet_columns_of_unsupported_types_are_named_with_their_type() {
    for (kind, column, shown) in [
        ("decimal", "price", "decimal(3,2)"),
        ("time", "opened_at", "time"),
        ("duration", "wait", "duration"),
        ("list", "tags", "list"),
        ("struct", "point", "struct"),
    ] {
        let sample = format!("fixtures/samples/unsupported_{kind}.parquet");
        let audit = common::audit("fixtures/models/iris_rf.onnx", &["--sample", &sample]);
        assert_eq!(audit.status("schema_parity"), "warn", "{kind}: {:?}", audit.details("schema_parity"));
        let named: Vec<String> = audit.details("schema_parity").into_iter().filter(|d| d.contains(column)).collect();
        assert_eq!(named, [format!("warn: extra column '{column}' has Parquet type {shown}, which ready does not read (ignored)")], "{kind}");
        assert_eq!(audit.check("schema_parity")["metrics"]["columns"], 4, "{kind}");
    }
}

// 6. Config values that would validate and then panic or run forever.

#[test]
fn absurd_config_numbers_are_reported_together_with_their_positions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("absurd.yaml");
    std::fs::write(
        &config,
        "runtime:\n  intra_op_threads: 100000\nchecks:\n  latency:\n    warmup_runs: 18446744073709551615\n    warmup_seconds: 1e300\n    \
         max_seconds: 1e300\n    throughput_seconds: 1e300\n    batch_sizes: [18446744073709551615]\n  robustness:\n    timeout_s: 1e300\n",
    )
    .unwrap();
    let shown = config.display().to_string();
    let stderr = fails_with(&["audit", "fixtures/models/iris_rf.onnx", "--config", &shown]);
    assert_eq!(
        stderr,
        format!(
            "error: {shown}: 7 problems: line 2 column 21: runtime.intra_op_threads: must be at most 1024, got 100000; \
             line 5 column 18: checks.latency.warmup_runs: must be at most 1000000, got 18446744073709551615; \
             line 6 column 21: checks.latency.warmup_seconds: must be at most 3600 seconds, got 1e300; \
             line 7 column 18: checks.latency.max_seconds: must be at most 3600 seconds, got 1e300; \
             line 8 column 25: checks.latency.throughput_seconds: must be at most 3600 seconds, got 1e300; \
             line 9 column 18: checks.latency.batch_sizes: must list 1 to 64 batch sizes of 1 to 1048576 rows; \
             line 11 column 16: checks.robustness.timeout_s: must be at most 3600 seconds, got 1e300\n"
        )
    );
}

// 7. A closed stdout and --output.

#[test]
fn a_closed_stdout_keeps_the_exit_code_and_the_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("x.json");
    let mut child = raw_ready()
        .args(["audit", "fixtures/models/iris_rf.onnx", "--sample", "fixtures/samples/iris_renamed.csv", "--config", FAST, "-q", "--output"])
        .arg(&report)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| true`: the reader is gone before the report is written
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["verdict"], "not_ready");
}

#[test]
fn an_output_that_is_an_input_file_is_refused_before_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.onnx");
    std::fs::copy(root().join("fixtures/models/iris_rf.onnx"), &model).unwrap();
    let link = dir.path().join("report.json");
    std::os::unix::fs::symlink(&model, &link).unwrap();
    let sample = dir.path().join("rows.json");
    std::fs::copy(root().join("fixtures/samples/iris.json"), &sample).unwrap();
    let before = (std::fs::read(&model).unwrap(), std::fs::read(&sample).unwrap());
    let (m, l, s) = (model.to_str().unwrap(), link.to_str().unwrap(), sample.to_str().unwrap());
    let stderr = usage_error(&["audit", m, "--config", FAST, "--output", l]);
    assert_eq!(stderr, format!("error: --output {l}: is one of the audit's input files; it would be overwritten\n"));
    let stderr = usage_error(&["audit", m, "--config", FAST, "--sample", s, "--output", s]);
    assert_eq!(stderr, format!("error: --output {s}: is one of the audit's input files; it would be overwritten\n"));
    assert_eq!((std::fs::read(&model).unwrap(), std::fs::read(&sample).unwrap()), before);
}

#[test]
fn an_output_that_cannot_be_written_is_exit_2_naming_it_and_the_report_still_shows() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("big.json");
    let output =
        with_file_size_limit(raw_ready().args(["audit", "fixtures/models/iris_rf.onnx", "--config", FAST, "-q", "--output"]).arg(&report), 1000);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with(&format!("error: --output {}: not written: File too large", report.display())), "{stderr}");
    assert!(String::from_utf8(output.stdout).unwrap().contains("READY: "), "the table still reaches stdout");
    assert!(!report.exists(), "no truncated report");
}

// 11. Reads outside the project.

#[test]
fn a_lockfile_symlinked_out_of_the_project_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("requirements.txt")).unwrap();
    let project = dir.path().to_str().unwrap();
    let run = audit("fixtures/models/iris_rf.onnx", &["--project", project, "--only", "lockfile"]);
    assert_eq!(run.status("lockfile"), "fail");
    assert_eq!(run.details("lockfile")[0], format!("{project}/requirements.txt: malformed"));
    assert_eq!(
        run.details("lockfile")[1],
        format!("{project}/requirements.txt: resolves outside {project} (a symlink or `..` leading out of the folder); not read")
    );
    assert!(!run.json.to_string().contains("root:"), "nothing of /etc/passwd in the report");
}

// 13. Non-regular files.

#[test]
fn devices_and_fifos_are_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let not_regular = "not a regular file (a character device); only regular files are read";
    assert_eq!(fails_with(&["audit", "/dev/zero"]), format!("error: /dev/zero: {not_regular}\n"));
    assert_eq!(fails_with(&["audit", "fixtures/models/iris_rf.onnx", "--config", "/dev/zero"]), format!("error: /dev/zero: {not_regular}\n"));
    assert_eq!(
        fails_with(&["audit", "fixtures/models/iris_rf.onnx", "--config", FAST, "--baseline", "/dev/zero"]),
        format!("error: --baseline /dev/zero: {not_regular}\n")
    );
    assert_eq!(fails_with(&["readme", "README.md", "--report", "/dev/zero"]), format!("error: --report /dev/zero: {not_regular}\n"));
    let fifo_message = "not a regular file (a FIFO); only regular files are read";
    let cases =
        [("model.onnx", ""), ("config.yaml", "--config"), ("rows.csv", "--sample"), ("expected.csv", "--expected"), ("base.json", "--baseline")];
    for (name, flag) in cases {
        let fifo = dir.path().join(name);
        mkfifo(&fifo);
        let shown = fifo.to_str().unwrap();
        let args: Vec<&str> = match flag {
            "" => vec!["audit", shown],
            "--config" => vec!["audit", "fixtures/models/iris_rf.onnx", "--config", shown],
            flag => vec!["audit", "fixtures/models/iris_rf.onnx", "--config", FAST, flag, shown],
        };
        let prefix = if flag == "--baseline" { "--baseline " } else { "" };
        assert_eq!(fails_with(&args), format!("error: {prefix}{shown}: {fifo_message}\n"), "{name}");
    }
}

// 15. Strings from the model, made inert for each output.

fn hostile(format: &str) -> String {
    let output = ready().args(["audit", "fixtures/models/hostile_names.onnx", "--config", FAST, "-q", "--format", format]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn has_control(text: &str, keep: &[char]) -> bool {
    text.chars().any(|c| c.is_control() && !keep.contains(&c))
}

#[test]
fn model_strings_reach_the_terminal_as_visible_escapes() {
    let text = hostile("table");
    assert!(!has_control(&text, &['\n']), "{text:?}");
    // The summary cell shows the producer's first line, escaped; the rest is cut, never printed raw.
    assert!(text.contains("producer\\x1b[2J\\x1b]0;pwned\\x07 READY: 10 passed…"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("READY: 10 passed")), "no forged verdict line: {text}");
    assert!(text.trim_end().lines().last().unwrap().starts_with("READY: "), "{text}");
}

#[test]
fn model_strings_cannot_add_markdown_structure() {
    let text = hostile("markdown");
    assert!(!has_control(&text, &['\n']), "{text:?}");
    assert_eq!(text.lines().filter(|l| l.starts_with('#')).count(), 1, "only ready's own heading: {text}");
    assert!(!text.contains("<!--"), "{text}");
    assert!(text.contains("x \\| \\#\\# Injected\\n&lt;!-- open"), "{text}");
}

#[test]
fn junit_parses_whatever_the_model_names_contain() {
    let xml = hostile("junit");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut texts = String::new();
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Text(t)) => texts.push_str(&t.decode().unwrap()),
            Ok(_) => {}
            Err(e) => panic!("JUnit does not parse at {}: {e}\n{xml}", reader.buffer_position()),
        }
    }
    assert!(!has_control(&xml, &['\n']), "{xml:?}");
    assert!(texts.contains("producer\\x1b[2J\\x1b]0;pwned\\x07"), "{texts}");
}

#[test]
fn sample_column_names_are_escaped_like_model_strings() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("rows.csv");
    std::fs::write(&sample, "sepal_length,\x1b[2J<!--|# x\x07,petal_length,petal_width\n5.1,3.5,1.4,0.2\n").unwrap();
    for format in ["table", "markdown", "junit"] {
        let output = ready()
            .args(["audit", "fixtures/models/iris_rf.onnx", "--config", FAST, "-q", "--format", format, "--sample"])
            .arg(&sample)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{format}: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(!has_control(&text, &['\n']), "{format}: {text:?}");
        assert!(text.contains("\\x1b"), "{format}: the name is shown, escaped: {text}");
        if format == "markdown" {
            assert!(!text.contains("<!--") && text.lines().filter(|l| l.starts_with('#')).count() == 1, "{text}");
        }
        if format == "junit" {
            let mut reader = quick_xml::Reader::from_str(&text);
            while !matches!(reader.read_event().unwrap(), quick_xml::events::Event::Eof) {}
        }
    }
}

#[test]
fn a_readme_written_from_a_hostile_model_stays_updatable() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let run = ready().args(["audit", "fixtures/models/hostile_names.onnx", "--config", FAST, "-q", "--output"]).arg(&report).output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    let readme: PathBuf = dir.path().join("README.md");
    std::fs::write(&readme, "# Model\n").unwrap();
    let write = |extra: &[&str]| ready().arg("readme").arg(&readme).arg("--report").arg(&report).args(extra).output().unwrap();
    for expected in ["Operational Constraints written", "Operational Constraints unchanged", "Operational Constraints still hold"] {
        let extra: &[&str] = if expected.ends_with("hold") { &["--check"] } else { &[] };
        let output = write(extra);
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8(output.stdout).unwrap(), format!("{}: {expected}\n", readme.display()));
    }
    let text = std::fs::read_to_string(&readme).unwrap();
    assert_eq!(text.matches("<!-- ready:operational-constraints:end -->").count(), 1, "{text}");
    assert_eq!(text.matches("<!--").count(), 3, "begin, data and end only: {text}");
    assert!(!has_control(&text, &['\n']), "{text:?}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with('#')).count(),
        5,
        "# Model, the section and its three sub-headings (Deployment, Inputs, Outputs): {text}"
    );
}
