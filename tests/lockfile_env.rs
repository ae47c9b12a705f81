//! Locks against real installed environments: the venvs scripts/envs.sh makes under .envs/
//! from PyPI (`tiny`: requests 2.34.2 and anyio 4.16.0 with exactly what they need on Python
//! 3.11; `drift`: urllib3 2.7.0 instead of 2.8.0, and six besides) and the project's own .venv.
//! Closure from the environment's METADATA (markers and extras evaluated), version drift,
//! packages installed but not pinned, the interpreter against requires-python, and the real
//! poetry, uv and pipenv locks of fixtures/lockfiles/real/tiny.

mod common;

use std::path::Path;

use common::{audit, ready, root};

/// A venv made by scripts/envs.sh.
fn env(name: &str) -> String {
    let dir = root().join(".envs").join(name);
    assert!(dir.join("pyvenv.cfg").is_file(), "no {}: run scripts/envs.sh first", dir.display());
    format!(".envs/{name}")
}

/// The pinned, hashed requirements the `tiny` venv was installed from.
fn tiny_pins() -> String {
    std::fs::read_to_string(root().join("scripts/envs/tiny.txt")).unwrap()
}

fn project(requirements: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
    dir
}

fn lockfile(project: &Path, extra: &[&str]) -> common::Audit {
    let mut args = vec!["--project", project.to_str().unwrap(), "--only", "lockfile"];
    args.extend_from_slice(extra);
    audit("fixtures/models/iris_rf.onnx", &args)
}

/// Detail lines of the lockfile check that are about the environment or closure (not the
/// file's own summary, the runtime parity or the fingerprint).
fn findings(run: &common::Audit) -> Vec<String> {
    run.details("lockfile")
        .into_iter()
        .filter(|d| !d.starts_with("not checked") && !d.starts_with("lock fingerprint") && !d.contains("requirements pinned with =="))
        .collect()
}

/// The version of a distribution installed in the project's .venv, from its dist-info name.
fn venv_version(dist: &str) -> String {
    let site = common::site_packages();
    let prefix = format!("{dist}-");
    std::fs::read_dir(&site)
        .unwrap()
        .flatten()
        .find_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".dist-info")).map(str::to_string)
        })
        .unwrap_or_else(|| panic!("{dist} is not installed in {}", site.display()))
}

#[test]
fn every_pin_installed_and_closed_passes() {
    let dir = project(&tiny_pins());
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with tiny");
    assert_eq!(findings(&run), Vec::<String>::new());
    assert_eq!(run.check("lockfile")["metrics"]["python_env"], ".envs/tiny");
}

#[test]
fn a_missing_transitive_pin_fails_naming_the_chain_and_markers_are_evaluated() {
    let dir = project("requests==2.34.2\nanyio==4.16.0\n");
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "fail");
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, in sync with tiny; not closed, not hashed");
    let file = format!("{}/requirements.txt", dir.path().display());
    let mut expected: Vec<String> =
        vec![format!("{file}: no --hash entries: pip cannot verify the downloaded files (pip-compile --generate-hashes)")];
    for (name, by) in [
        ("certifi", "requests==2.34.2"),
        ("charset-normalizer", "requests==2.34.2"),
        ("idna", "anyio==4.16.0"),
        ("typing-extensions", "anyio==4.16.0"),
        ("urllib3", "requests==2.34.2"),
    ] {
        expected.push(format!("{file}: {name} (required by {by}) is not pinned"));
    }
    for (name, version) in
        [("certifi", "2026.10.18"), ("charset-normalizer", "3.5.2"), ("idna", "3.20"), ("typing-extensions", "4.16.0"), ("urllib3", "2.8.0")]
    {
        expected.push(format!("{name} {version} is installed in .envs/tiny but pinned in no lock"));
    }
    assert_eq!(findings(&run), expected);
    // anyio needs exceptiongroup only below Python 3.11, requests needs PySocks only for its
    // `socks` extra, anyio needs trio only for its `trio` extra: none of them is required.
    for absent in ["exceptiongroup", "pysocks", "trio"] {
        assert!(!run.details("lockfile").iter().any(|d| d.to_lowercase().contains(absent)), "{absent}: {:?}", run.details("lockfile"));
    }
}

#[test]
fn installed_version_drift_fails_naming_both_versions_and_an_extra_package_warns() {
    let dir = project(&tiny_pins());
    let run = lockfile(dir.path(), &["--env", &env("drift")]);
    assert_eq!(run.status("lockfile"), "fail");
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed; not in sync with drift");
    assert_eq!(
        findings(&run),
        ["urllib3 pinned 2.8.0, installed 2.7.0 (in .envs/drift)", "six 1.17.0 is installed in .envs/drift but pinned in no lock"]
    );
}

#[test]
fn an_installed_package_pinned_nowhere_only_warns() {
    // Every pin of the drift venv (with its hashes) but six.
    let pins = std::fs::read_to_string(root().join("scripts/envs/drift.txt")).unwrap();
    let mut kept = String::new();
    let mut keep = true;
    for line in pins.lines() {
        if !line.starts_with([' ', '#']) {
            keep = !line.starts_with("six==");
        }
        if keep {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let dir = project(&kept);
    let run = lockfile(dir.path(), &["--env", &env("drift")]);
    assert_eq!(run.status("lockfile"), "warn", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with drift");
    assert_eq!(findings(&run), ["six 1.17.0 is installed in .envs/drift but pinned in no lock"]);
    assert_eq!(run.code, 0);
}

#[test]
fn scikit_learn_pinned_alone_fails_naming_what_it_pulls_in() {
    let version = venv_version("scikit_learn");
    let dir = project(&format!("scikit-learn=={version}\n"));
    let run = lockfile(dir.path(), &["--env", ".venv"]);
    assert_eq!(run.status("lockfile"), "fail");
    let details = run.details("lockfile");
    let file = format!("{}/requirements.txt", dir.path().display());
    for dep in ["numpy", "scipy", "joblib", "threadpoolctl"] {
        let line = format!("{file}: {dep} (required by scikit-learn=={version}) is not pinned");
        assert!(details.contains(&line), "{line} not in {details:?}");
    }
    assert!(run.check("lockfile")["summary"].as_str().unwrap().starts_with("python: pinned, in sync with .venv; not closed"));
}

#[test]
fn a_pin_the_environment_does_not_have_fails_naming_both_versions() {
    let version = venv_version("scikit_learn");
    let dir = project("scikit-learn==1.2.0\n");
    let run = lockfile(dir.path(), &["--env", ".venv"]);
    assert_eq!(run.status("lockfile"), "fail");
    assert!(run.details("lockfile").contains(&format!("scikit-learn pinned 1.2.0, installed {version} (in .venv)")), "{:?}", run.details("lockfile"));
    assert!(run.check("lockfile")["summary"].as_str().unwrap().ends_with("not in sync with .venv"));
}

#[test]
fn without_an_environment_a_bare_requirements_file_is_never_a_pass() {
    let dir = project(&tiny_pins());
    let run = lockfile(dir.path(), &[]);
    assert_eq!(run.status("lockfile"), "warn");
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, hashed; closure not verifiable, no environment checked");
    let file = format!("{}/requirements.txt", dir.path().display());
    assert_eq!(
        findings(&run),
        [format!(
            "{file}: closure not verifiable: the file holds no dependency graph and no Python environment was found to read one from \
             (pass --env DIR, or pin the whole set with `pip freeze`, `pip-compile` or `uv pip compile`)"
        )]
    );
}

#[test]
fn the_real_poetry_uv_and_pipenv_locks_match_the_environment_they_describe() {
    for (tool, manifest) in [("poetry", "pyproject.toml"), ("uv", "pyproject.toml"), ("pipenv", "Pipfile")] {
        let dir = root().join("fixtures/lockfiles/real/tiny").join(tool);
        let run = lockfile(&dir, &["--env", &env("tiny")]);
        assert_eq!(run.status("lockfile"), "pass", "{tool}: {:?}", run.details("lockfile"));
        assert_eq!(run.check("lockfile")["summary"], format!("python: pinned, closed, hashed, in sync with {manifest}, in sync with tiny"), "{tool}");
        let run = lockfile(&dir, &["--env", &env("drift")]);
        assert_eq!(run.status("lockfile"), "fail", "{tool}");
        assert!(
            run.details("lockfile").contains(&"urllib3 pinned 2.8.0, installed 2.7.0 (in .envs/drift)".to_string()),
            "{tool}: {:?}",
            run.details("lockfile")
        );
    }
    // Pipfile.lock holds no graph: without an environment its closure cannot be shown.
    let run = lockfile(&root().join("fixtures/lockfiles/real/tiny/pipenv"), &[]);
    assert_eq!(run.status("lockfile"), "warn");
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, hashed, in sync with Pipfile; closure not verifiable, no environment checked");
}

#[test]
fn an_interpreter_outside_requires_python_fails() {
    let dir = tempfile::tempdir().unwrap();
    let real = root().join("fixtures/lockfiles/real/tiny/uv");
    for file in ["uv.lock", "pyproject.toml"] {
        let text = std::fs::read_to_string(real.join(file)).unwrap();
        std::fs::write(dir.path().join(file), text.replace("requires-python = \">=3.11\"", "requires-python = \">=3.13\"")).unwrap();
    }
    let cfg = std::fs::read_to_string(root().join(".envs/tiny/pyvenv.cfg")).unwrap();
    let python = cfg.lines().find_map(|l| l.strip_prefix("version = ")).unwrap().trim().to_string();
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "fail", "{:?}", run.details("lockfile"));
    assert!(
        run.details("lockfile").contains(&format!(".envs/tiny runs Python {python}, outside requires-python '>=3.13' of uv.lock")),
        "{:?}",
        run.details("lockfile")
    );
}

#[test]
fn the_environment_is_found_in_virtual_env_then_the_projects_venv() {
    // A project's .venv symlinked out of the project is not read.
    let dir = project(&tiny_pins());
    std::os::unix::fs::symlink(root().join(env("tiny")), dir.path().join(".venv")).unwrap();
    let run = lockfile(dir.path(), &[]);
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, hashed; closure not verifiable, no environment checked");
    let refused = format!(
        "the Python environment from the project's .venv could not be read: {}/.venv: resolves outside the project folder (a symlink out of it); not read, pass --env to use it",
        dir.path().display()
    );
    assert!(run.details("lockfile").contains(&refused), "{:?}", run.details("lockfile"));
    // A real one inside the project is.
    let dir = project(&tiny_pins());
    let copied = std::process::Command::new("cp").arg("-a").arg(root().join(".envs/tiny")).arg(dir.path().join(".venv")).status().unwrap();
    assert!(copied.success());
    let run = lockfile(dir.path(), &[]);
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with .venv");
    let output = ready()
        .env("VIRTUAL_ENV", root().join(env("drift")))
        .args([
            "audit",
            "fixtures/models/iris_rf.onnx",
            "--only",
            "lockfile",
            "--format",
            "json",
            "-q",
            "--config",
            "fixtures/configs/fast.yaml",
            "--project",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let check = json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "lockfile").unwrap();
    assert_eq!(check["summary"], "python: pinned, closed, hashed; not in sync with drift");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn an_env_flag_that_is_no_environment_is_a_usage_error() {
    for (path, message) in [
        ("/nonexistent/venv", "--env /nonexistent/venv: no such folder"),
        ("fixtures/models", "--env fixtures/models: not a Python environment (no pyvenv.cfg, conda-meta/ or *.dist-info inside)"),
    ] {
        let output = ready().args(["audit", "fixtures/models/iris_rf.onnx", "--only", "lockfile", "--env", path]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{path}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(message), "{path}: {stderr}");
    }
}

#[test]
fn many_installed_packages_pinned_nowhere_are_one_line() {
    let version = venv_version("scikit_learn");
    let dir = project(&format!("scikit-learn=={version}\n"));
    let run = lockfile(dir.path(), &["--env", ".venv"]);
    let installers = ["pip", "setuptools", "wheel", "uv", "distribute", "pkg-resources", "pip-tools", "pipenv", "poetry"];
    let mut extra: Vec<(String, String)> = std::fs::read_dir(common::site_packages())
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (dist, version) = name.strip_suffix(".dist-info")?.rsplit_once('-')?;
            Some((dist.to_lowercase().replace(['_', '.'], "-"), version.to_string()))
        })
        .filter(|(dist, _)| dist != "scikit-learn" && !installers.contains(&dist.as_str()))
        .collect();
    extra.sort();
    let listed: Vec<String> = extra.iter().map(|(d, v)| format!("{d} {v}")).collect();
    let line = format!("{} packages are installed in .venv but pinned in no lock: {}", extra.len(), listed.join(", "));
    assert!(run.details("lockfile").contains(&line), "{line} not in {:?}", run.details("lockfile"));
}

#[test]
fn what_could_not_be_compared_is_said() {
    let dir = project(&tiny_pins());
    let details = lockfile(dir.path(), &["--env", &env("tiny")]).details("lockfile");
    for line in [
        "not checked: the runtime and the model's opsets against an onnxruntime pin (no lock pins onnxruntime)",
        "not checked: the model was exported with skl2onnx 1.20.0 and no lock pins skl2onnx",
    ] {
        assert!(details.contains(&line.to_string()), "{line} not in {details:?}");
    }
    let dir = project("onnxruntime==1.31.1\nskl2onnx==1.20.0\n");
    let details = lockfile(dir.path(), &[]).details("lockfile");
    for line in [
        "onnxruntime 1.31.1 pinned in requirements.txt is the runtime that ran",
        "opset 9: the model loaded on onnxruntime 1.31.1, the version requirements.txt pins",
        "the model was exported with skl2onnx 1.20.0, the skl2onnx 1.20.0 requirements.txt pins",
    ] {
        assert!(details.contains(&line.to_string()), "{line} not in {details:?}");
    }
}

#[test]
fn a_pipfile_for_another_python_fails_against_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let real = root().join("fixtures/lockfiles/real/tiny/pipenv");
    std::fs::copy(real.join("Pipfile.lock"), dir.path().join("Pipfile.lock")).unwrap();
    let pipfile = std::fs::read_to_string(real.join("Pipfile")).unwrap();
    std::fs::write(dir.path().join("Pipfile"), pipfile.replace("python_version = \"3.11\"", "python_version = \"3.12\"")).unwrap();
    let cfg = std::fs::read_to_string(root().join(".envs/tiny/pyvenv.cfg")).unwrap();
    let python = cfg.lines().find_map(|l| l.strip_prefix("version = ")).unwrap().trim().to_string();
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "fail");
    assert!(
        run.details("lockfile").contains(&format!(".envs/tiny runs Python {python}, outside requires-python '==3.12.*' of Pipfile.lock")),
        "{:?}",
        run.details("lockfile")
    );
}

#[test]
fn a_package_the_project_or_an_installed_package_needs_must_be_installed() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    assert!(std::process::Command::new("cp").arg("-a").arg(root().join(".envs/tiny")).arg(&broken).status().unwrap().success());
    let site = std::fs::read_dir(broken.join("lib")).unwrap().flatten().next().unwrap().path().join("site-packages");
    for dist in ["requests-2.34.2.dist-info", "idna-3.20.dist-info"] {
        std::fs::remove_dir_all(site.join(dist)).unwrap();
    }
    let shown = broken.display().to_string();
    let run = lockfile(&root().join("fixtures/lockfiles/real/tiny/uv"), &["--env", &shown]);
    assert_eq!(run.status("lockfile"), "fail");
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with pyproject.toml; not in sync with broken");
    let details = run.details("lockfile");
    for line in [
        format!("idna pinned 3.20, not installed in {shown} (required by anyio==4.16.0)"),
        format!("requests pinned 2.34.2, not installed in {shown} (a direct dependency of the project)"),
    ] {
        assert!(details.contains(&line), "{line} not in {details:?}");
    }
    assert!(!details.iter().any(|d| d.starts_with("not compared")), "{details:?}");
}

#[test]
fn a_package_pinned_in_another_requirements_file_of_the_project_counts_as_pinned() {
    // tiny.txt split in two, as with `-r requirements-base.txt`: requests and anyio in one file,
    // what they need in the other.
    let (mut top, mut base) = (String::new(), String::new());
    let mut to_top = false;
    for line in tiny_pins().lines() {
        if !line.starts_with([' ', '#']) {
            to_top = line.starts_with("requests==") || line.starts_with("anyio==");
        }
        let target = if to_top { &mut top } else { &mut base };
        target.push_str(line);
        target.push('\n');
    }
    let dir = project(&format!("-r requirements-base.txt\n{top}"));
    std::fs::write(dir.path().join("requirements-base.txt"), base).unwrap();
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with tiny");
}

#[test]
fn a_site_packages_folder_is_an_environment_too() {
    let lib = root().join(env("tiny")).join("lib");
    let python = std::fs::read_dir(&lib).unwrap().flatten().next().unwrap().file_name().to_string_lossy().into_owned();
    let site = format!(".envs/tiny/lib/{python}/site-packages");
    let dir = project(&tiny_pins());
    let run = lockfile(dir.path(), &["--env", &site]);
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with site-packages");
}

#[test]
fn a_conda_prefix_closes_an_environment_file_by_its_conda_meta_graph() {
    // A conda prefix as conda lays it out (hand-written records: no conda on the test machine).
    let prefix = tempfile::tempdir().unwrap();
    let meta = prefix.path().join("conda-meta");
    std::fs::create_dir_all(&meta).unwrap();
    let record = |name: &str, version: &str, depends: &str| {
        let json = format!(r#"{{"name": "{name}", "version": "{version}", "build": "h0_0", "depends": [{depends}]}}"#);
        std::fs::write(meta.join(format!("{name}-{version}-h0_0.json")), json).unwrap();
    };
    record("python", "3.11.9", r#""libzlib >=1.2.13,<2.0a0", "__glibc >=2.17""#);
    record("libzlib", "1.3.1", "");
    record("numpy", "2.4.6", r#""python >=3.11,<3.12.0a0", "libopenblas >=0.3.27""#);
    record("libopenblas", "0.3.28", "");
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("environment.yml"), "name: serve\ndependencies:\n  - python=3.11.9\n  - numpy=2.4.6\n").unwrap();
    let run = lockfile(project.path(), &["--env", prefix.path().to_str().unwrap()]);
    assert_eq!(run.status("lockfile"), "fail");
    let file = format!("{}/environment.yml", project.path().display());
    let details = run.details("lockfile");
    for line in [
        format!("{file}: libopenblas (required by numpy==2.4.6) is not pinned"),
        format!("{file}: libzlib (required by python==3.11.9) is not pinned"),
    ] {
        assert!(details.contains(&line), "{line} not in {details:?}");
    }
    let name = prefix.path().file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(run.check("lockfile")["summary"], format!("conda: pinned, in sync with {name}; not closed, not hashed"));
}

/// tiny.txt split in two: the pins of `top` in one part, the rest in the other.
fn split_tiny(top: &[&str]) -> (String, String) {
    let (mut first, mut rest) = (String::new(), String::new());
    let mut to_first = false;
    for line in tiny_pins().lines() {
        if !line.starts_with([' ', '#']) {
            to_first = top.iter().any(|name| line.starts_with(&format!("{name}==")));
        }
        let target = if to_first { &mut first } else { &mut rest };
        target.push_str(line);
        target.push('\n');
    }
    (first, rest)
}

#[test]
fn a_uv_export_with_markers_and_the_project_itself_passes() {
    // `uv export` of a project needing `tomli>=2; python_version < '3.11'`: on Python 3.11 the
    // marker lines are not required, and `-e .` is the project, not an unpinned dependency.
    let dir = root().join("fixtures/lockfiles/real/tiny/uv-export");
    let run = lockfile(&dir, &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with pyproject.toml, in sync with tiny");
    assert_eq!(
        findings(&run),
        [
            "fixtures/lockfiles/real/tiny/uv-export/requirements.txt: line 3: editable install '.' is the project itself, not a dependency",
            "fixtures/lockfiles/real/tiny/uv-export/uv.lock: 9 packages locked, in sync with pyproject.toml",
            "not compared: 2 package(s) a cross-platform lock or a constraints file pins are not installed in .envs/tiny and nothing installed needs them (other platforms, Pythons, extras or groups): exceptiongroup, tomli",
        ]
    );
    // The exported file alone: the marker lines are said not to apply, never required.
    let alone = tempfile::tempdir().unwrap();
    for name in ["requirements.txt", "pyproject.toml"] {
        std::fs::copy(dir.join(name), alone.path().join(name)).unwrap();
    }
    let run = lockfile(alone.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with tiny");
    let file = format!("{}/requirements.txt", alone.path().display());
    assert_eq!(
        findings(&run),
        [
            format!("{file}: line 3: editable install '.' is the project itself, not a dependency"),
            "not applicable: 2 pinned package(s) whose marker is false for Python 3.11.7 in .envs/tiny: exceptiongroup (python_full_version < '3.11'), tomli (python_full_version < '3.11')".to_string(),
        ]
    );
}

#[test]
fn requirement_and_constraint_files_are_followed() {
    // `-r base.txt` (a name runtime discovery does not glob) holds what the three pins need.
    let (top, base) = split_tiny(&["requests", "anyio", "idna"]);
    let dir = project(&format!("-r base.txt\n{top}"));
    std::fs::write(dir.path().join("base.txt"), base).unwrap();
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, hashed, in sync with tiny");
    assert_eq!(findings(&run), Vec::<String>::new());
    assert_eq!(run.details("lockfile")[0], format!("{}/requirements.txt: 7/7 requirements pinned with ==", dir.path().display()));
    // `-c constraints.txt` (a pip freeze) and bare names: pip installs the constrained versions.
    let freeze: String = tiny_pins().lines().filter(|l| !l.starts_with([' ', '#'])).map(|l| format!("{}\n", l.trim_end_matches(" \\"))).collect();
    let dir = project("-c constraints/freeze.txt\nrequests\nanyio\n");
    std::fs::create_dir(dir.path().join("constraints")).unwrap();
    std::fs::write(dir.path().join("constraints/freeze.txt"), freeze).unwrap();
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "warn", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, closed, in sync with tiny; not hashed");
    let file = format!("{}/requirements.txt", dir.path().display());
    assert_eq!(findings(&run), [format!("{file}: no --hash entries: pip cannot verify the downloaded files (pip-compile --generate-hashes)")]);
}

#[test]
fn requested_extras_are_followed_into_the_closure() {
    // requests[socks] needs PySocks (`extra == "socks"`), which tiny does not have.
    let pins = tiny_pins().replace("requests==2.34.2", "requests[socks]==2.34.2");
    let dir = project(&pins);
    let run = lockfile(dir.path(), &["--env", &env("tiny")]);
    assert_eq!(run.status("lockfile"), "fail", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "python: pinned, hashed, in sync with tiny; not closed");
    let file = format!("{}/requirements.txt", dir.path().display());
    assert_eq!(findings(&run), [format!("{file}: pysocks (required by requests==2.34.2) is not pinned and not installed")]);
}

#[test]
fn the_serving_environment_given_with_env_provides_the_runtime() {
    // Outside the repository (no ./.venv), with no ORT_DYLIB_PATH: only --env can lead to it.
    let elsewhere = tempfile::tempdir().unwrap();
    let model = root().join("fixtures/models/iris_rf.onnx");
    let venv = root().join(".venv");
    let run = |with_env: bool| {
        let mut cmd = ready();
        cmd.current_dir(elsewhere.path()).env_remove("ORT_DYLIB_PATH").env("PATH", "/nonexistent");
        cmd.args(["audit", model.to_str().unwrap(), "--only", "serialization", "--format", "json"]);
        if with_env {
            cmd.args(["--env", venv.to_str().unwrap()]);
        }
        cmd.output().unwrap()
    };
    let without = run(false);
    assert_eq!(without.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&without.stderr).starts_with("error: could not find ONNX Runtime"));
    let with = run(true);
    assert_eq!(with.status.code(), Some(0), "{}", String::from_utf8_lossy(&with.stderr));
    let report: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    let library = report["runtime"]["library"].as_str().unwrap();
    assert!(library.starts_with(venv.join("lib").to_str().unwrap()), "{library}");
    assert_eq!(report["runtime"]["found_via"], "Python onnxruntime package");
}
