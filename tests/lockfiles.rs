//! Dependency determinism across ecosystems: each format's verdict on its fixtures (pinned,
//! unpinned, out of sync, malformed), real lockfiles written by the real tools, runtime parity,
//! the lock fingerprint and discovery through the git root.

mod common;

use common::{audit, root};

fn lockfile(project: &str, extra: &[&str]) -> common::Audit {
    let mut args = vec!["--project", project, "--only", "lockfile"];
    args.extend_from_slice(extra);
    audit("fixtures/models/iris_rf.onnx", &args)
}

fn has(run: &common::Audit, text: &str) -> bool {
    run.details("lockfile").iter().any(|d| d.contains(text))
}

#[test]
fn each_format_gives_its_verdict_for_each_variant() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("requirements/pinned", "warn", &["onnxruntime 1.31.1 pinned in requirements.txt is the runtime that ran", "closure not verifiable"]),
        ("requirements/unpinned", "fail", &["line 1: 'onnxruntime>=1.20' is not pinned", "line 2: 'numpy' is not pinned (no version)"]),
        (
            "requirements/out_of_sync",
            "fail",
            &["'numpy' is pinned to 1.26.4, outside '>=2' in requirements.in", "'onnxruntime' is in requirements.in but not pinned here"],
        ),
        ("requirements/malformed", "fail", &["requirements.txt:2: not a valid requirement"]),
        ("poetry/pinned", "pass", &["onnxruntime 1.31.1 pinned in poetry.lock"]),
        (
            "poetry/unpinned",
            "fail",
            &["protobuf (required by onnxruntime==1.31.1) is not pinned in poetry.lock", "1 package(s) without file hashes: numpy"],
        ),
        (
            "poetry/out_of_sync",
            "fail",
            &["'numpy' is locked at 2.4.6, outside '^3.0' in pyproject.toml", "'pandas' is in pyproject.toml but not in poetry.lock"],
        ),
        ("poetry/malformed", "fail", &["poetry.lock: line 5, column 17: invalid basic string"]),
        ("poetry/legacy_format", "warn", &["1 package(s) without file hashes: colorama"]),
        ("uv/pinned", "pass", &["onnxruntime 1.31.1 pinned in uv.lock"]),
        ("uv/unpinned", "fail", &["protobuf (required by onnxruntime==1.31.1) is not pinned in uv.lock", "1 package(s) without hashes: numpy"]),
        (
            "uv/out_of_sync",
            "fail",
            &["requires-python is '>=3.11' in pyproject.toml but '>=3.10' in uv.lock", "'pandas' is in pyproject.toml but not in uv.lock"],
        ),
        ("uv/malformed", "fail", &["uv.lock: line 20, column 11: unclosed array table"]),
        ("pipfile/pinned", "warn", &["onnxruntime 1.31.1 pinned in Pipfile.lock", "closure not verifiable"]),
        ("pipfile/unpinned", "fail", &["'numpy' (default) has no exact '==' version in the lock", "1 package(s) without hashes: onnxruntime"]),
        (
            "pipfile/out_of_sync",
            "fail",
            &["'numpy' is locked at 2.4.6, outside '>=3' in Pipfile", "'pandas' is in Pipfile [packages] but not in Pipfile.lock"],
        ),
        ("pipfile/malformed", "fail", &["Pipfile.lock: line 21, column 17: key must be a string"]),
        ("conda/pinned", "pass", &["onnxruntime 1.31.1 pinned in environment.yml"]),
        (
            "conda/unpinned",
            "fail",
            &[
                "'python=3.11' is not pinned exactly",
                "'numpy' is not pinned (no version)",
                "pip: 'onnxruntime>=1.20' is not pinned with ==",
                "no conda-lock.yml",
            ],
        ),
        ("conda/out_of_sync", "fail", &["'numpy' is in environment.yml but not in conda-lock.yml"]),
        ("conda/malformed", "fail", &["environment.yml: line 4, column 5: unclosed bracket"]),
        ("conda/explicit", "warn", &["conda-linux-64.lock: 3 packages pinned to a build", "conda-linux-64.lock: closure not verifiable"]),
        ("cargo/no_lock", "fail", &["run `cargo generate-lockfile` and commit Cargo.lock"]),
        ("cargo/malformed", "fail", &["Cargo.lock: line 7, column 9: unclosed array"]),
    ];
    for (project, status, texts) in cases {
        let run = lockfile(&format!("fixtures/lockfiles/{project}"), &[]);
        assert_eq!(run.status("lockfile"), *status, "{project}: {:?}", run.details("lockfile"));
        for text in *texts {
            assert!(has(&run, text), "{project}: '{text}' not in {:?}", run.details("lockfile"));
        }
        assert_eq!(run.code, if *status == "fail" { 1 } else { 0 }, "{project}");
    }
}

#[test]
fn malformed_files_are_named_with_their_folder() {
    let run = lockfile("fixtures/lockfiles/uv/malformed", &[]);
    assert!(
        run.details("lockfile")
            .contains(&"fixtures/lockfiles/uv/malformed/uv.lock: line 20, column 11: unclosed array table, expected `]`".to_string()),
        "{:?}",
        run.details("lockfile")
    );
}

#[test]
fn lockfiles_written_by_the_real_tools_pass_or_say_what_they_cannot_show() {
    for (project, status, summary, file_summary) in [
        (
            "real/uv",
            "pass",
            "python: pinned, closed, hashed, in sync with pyproject.toml; no environment checked",
            "uv.lock: 6 packages locked, in sync with pyproject.toml",
        ),
        (
            "real/pipenv",
            "warn",
            "python: pinned, hashed, in sync with Pipfile; closure not verifiable, no environment checked",
            "Pipfile.lock: 5 packages locked, in sync with Pipfile",
        ),
        (
            "real/pip-tools",
            "warn",
            "python: pinned, hashed, in sync with requirements.in; closure not verifiable, no environment checked",
            "requirements.txt: 5/5 requirements pinned with ==",
        ),
    ] {
        let run = lockfile(&format!("fixtures/lockfiles/{project}"), &[]);
        assert_eq!(run.status("lockfile"), status, "{project}: {:?}", run.details("lockfile"));
        assert_eq!(run.check("lockfile")["summary"], summary);
        assert!(has(&run, &format!("fixtures/lockfiles/{project}/{file_summary}")), "{project}: {:?}", run.details("lockfile"));
    }
}

#[test]
fn public_cargo_locks_from_crates_io_parse() {
    let dir = root().join("fixtures/lockfiles/real/crates");
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let verdict = ready::lockfiles::cargo::read_lock(&entry.path()).unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        assert!(!verdict.resolved.is_empty(), "{}", entry.path().display());
        parsed += 1;
    }
    assert_eq!(parsed, 4);
}

#[test]
fn the_same_resolved_set_has_the_same_fingerprint_whatever_the_tool() {
    let pipenv = lockfile("fixtures/lockfiles/real/pipenv", &[]);
    let pip_tools = lockfile("fixtures/lockfiles/real/pip-tools", &[]);
    let fingerprint = |run: &common::Audit| run.check("lockfile")["metrics"]["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fingerprint(&pipenv), fingerprint(&pip_tools));
    assert_ne!(fingerprint(&pipenv), fingerprint(&lockfile("fixtures/lockfiles/real/uv", &[])));
    assert!(fingerprint(&pipenv).starts_with("sha256:"));
}

#[test]
fn a_runtime_or_exporter_that_differs_from_the_pins_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "onnxruntime==1.30.0 --hash=sha256:01\nskl2onnx==1.19.1 --hash=sha256:02\n").unwrap();
    let run = lockfile(dir.path().to_str().unwrap(), &[]);
    assert_eq!(run.status("lockfile"), "fail");
    assert!(has(&run, "onnxruntime is pinned to 1.30.0 in requirements.txt but this audit ran on 1.31.1"), "{:?}", run.details("lockfile"));
    assert!(has(&run, "the model was exported with skl2onnx 1.20.0 but requirements.txt pins skl2onnx 1.19.1"), "{:?}", run.details("lockfile"));
    assert_eq!(
        run.check("lockfile")["summary"],
        "onnxruntime is pinned to 1.30.0 in requirements.txt but this audit ran on 1.31.1; python: pinned, hashed; closure not verifiable, no environment checked"
    );
}

#[test]
fn require_hashes_turns_missing_hashes_into_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strict.yaml");
    std::fs::write(&config, "checks:\n  lockfile:\n    require_hashes: true\n").unwrap();
    let run = lockfile("fixtures/lockfiles/poetry/legacy_format", &[]);
    assert_eq!(run.status("lockfile"), "warn");
    let run = lockfile("fixtures/lockfiles/poetry/legacy_format", &["--config", config.to_str().unwrap()]);
    assert_eq!(run.status("lockfile"), "fail");
}

#[test]
fn the_git_root_is_searched_by_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::copy(root().join("fixtures/models/iris_rf.onnx"), dir.path().join("models/model.onnx")).unwrap();
    std::fs::copy(root().join("fixtures/lockfiles/uv/pinned/uv.lock"), dir.path().join("uv.lock")).unwrap();
    std::fs::copy(root().join("fixtures/lockfiles/uv/pinned/pyproject.toml"), dir.path().join("pyproject.toml")).unwrap();
    let run = audit(dir.path().join("models/model.onnx").to_str().unwrap(), &["--only", "lockfile"]);
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with pyproject.toml; no environment checked");
}

#[test]
fn a_pyproject_with_dependencies_and_no_lock_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pyproject.toml"), "[project]\nname = \"x\"\nversion = \"1\"\ndependencies = [\"numpy>=2\"]\n").unwrap();
    let run = lockfile(dir.path().to_str().unwrap(), &[]);
    assert_eq!(run.status("lockfile"), "fail");
    assert!(has(&run, "pyproject.toml lists dependencies but no lockfile pins them"));
}

#[test]
fn includes_escaping_the_project_or_in_a_cycle_are_refused() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("project");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(outer.path().join("outside.txt"), "numpy==2.4.6\n").unwrap();
    std::os::unix::fs::symlink(outer.path().join("outside.txt"), dir.join("linked.txt")).unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        "-r ../outside.txt\n--requirement=linked.txt\n-r a.txt\n-r https://example.com/r.txt\nsix==1.17.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("a.txt"), "-c requirements.txt\nidna==3.20\n").unwrap();
    let run = lockfile(dir.to_str().unwrap(), &[]);
    assert_eq!(run.status("lockfile"), "fail");
    let file = format!("{}/requirements.txt", dir.display());
    let lines: Vec<String> = run.details("lockfile").into_iter().filter(|d| d.starts_with(&file)).collect();
    let real = dir.canonicalize().unwrap();
    let outside = format!("resolves outside {} (a symlink or `..` leading out of the folder); not read", real.display());
    assert_eq!(
        lines,
        [
            format!("{file}: 2/2 requirements pinned with =="),
            format!("{file}: line 1: -r ../outside.txt is not followed: {outside}"),
            format!("{file}: line 2: -r linked.txt is not followed: {outside}"),
            format!("{file}: a.txt line 1: -c requirements.txt is not followed: it includes itself (a cycle)"),
            format!("{file}: line 4: -r https://example.com/r.txt is not followed (not a file in the project): its pins are unknown"),
            format!("{file}: no --hash entries: pip cannot verify the downloaded files (pip-compile --generate-hashes)"),
            format!(
                "{file}: closure not verifiable: the file holds no dependency graph and no Python environment was found to read one from \
                 (pass --env DIR, or pin the whole set with `pip freeze`, `pip-compile` or `uv pip compile`)"
            ),
        ]
    );
    // numpy of the file outside the project was never read.
    assert!(!run.details("lockfile").iter().any(|d| d.contains("numpy")), "{:?}", run.details("lockfile"));
}
