use std::path::{Path, PathBuf};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The SHA-256 of the audited model, fixtures/models/iris_rf.onnx, computed here.
fn audited_sha() -> String {
    use sha2::{Digest, Sha256};
    crate::artifact::hex(&Sha256::digest(std::fs::read(fixtures().join("models/iris_rf.onnx")).unwrap()))
}

fn context(dir: &Path, probe: bool) -> DockerContext {
    DockerContext::new(dir.to_path_buf(), "iris_rf.onnx".into(), audited_sha(), probe)
}

type Row = (usize, &'static str, Level, String, String);

/// (line, rule, level, field, container) of every finding.
fn rows(findings: &[Finding]) -> Vec<Row> {
    findings.iter().map(|f| (f.line.unwrap(), f.rule, f.level, f.field.clone(), f.container.clone().unwrap())).collect()
}

fn row(line: usize, rule: &'static str, level: Level, field: &str, container: &str) -> Row {
    (line, rule, level, field.to_string(), container.to_string())
}

fn judge_fixture(name: &str, file: &str, probe: bool) -> Vec<Finding> {
    let dir = fixtures().join("deploy").join(name);
    let path = dir.join(file);
    let parsed = read(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    let findings = judge(&parsed, &context(&dir, probe));
    assert!(findings.iter().all(|f| f.file == path && f.object.is_none() && !f.message.contains('\n')));
    findings
}

#[test]
fn the_good_dockerfile_passes_every_rule() {
    let findings = judge_fixture("docker-good", "Dockerfile", false);
    let s = "stage 1";
    assert_eq!(
        rows(&findings),
        vec![
            row(2, "image_pinned", Level::Ok, "FROM", s),
            row(2, "slim_base", Level::Ok, "FROM", s),
            row(5, "dependencies_locked", Level::Ok, "RUN", s),
            row(6, "model_file", Level::Ok, "COPY", s),
            row(8, "non_root_user", Level::Ok, "USER", s),
            row(10, "healthcheck", Level::Ok, "HEALTHCHECK", s),
        ]
    );
    assert_eq!(findings[3].message, format!("copies models/iris_rf.onnx, the audited model (sha256 {})", &audited_sha()[..12]));
}

#[test]
fn the_bad_dockerfile_fails_on_latest_bare_installs_and_another_model() {
    let findings = judge_fixture("docker-bad", "Dockerfile", false);
    let s = "stage 1";
    assert_eq!(
        rows(&findings),
        vec![
            row(1, "image_pinned", Level::Problem, "FROM", s),
            row(1, "slim_base", Level::Advice, "FROM", s),
            row(1, "non_root_user", Level::Advice, "USER", s),
            row(1, "healthcheck", Level::Advice, "HEALTHCHECK", s),
            row(3, "model_file", Level::Problem, "COPY", s),
            row(4, "dependencies_locked", Level::Advice, "RUN", s),
            row(4, "dependencies_locked", Level::Problem, "RUN", s),
        ]
    );
    use sha2::{Digest, Sha256};
    let shipped = crate::artifact::hex(&Sha256::digest(std::fs::read(fixtures().join("models/iris_rf_columns.onnx")).unwrap()));
    assert_eq!(
        findings[4].message,
        format!("the image ships a different model: iris_rf.onnx has sha256 {} vs audited {}", &shipped[..12], &audited_sha()[..12])
    );
    assert_eq!(findings[6].message, "pip install numpy, onnxruntime: installs outside the lock: the image is not reproducible");
    assert_eq!(findings[0].message, "python:latest follows `latest`: every build may get a different image; pin a digest");
}

#[test]
fn the_multistage_containerfile_judges_each_stage() {
    let findings = judge_fixture("docker-multistage", "Containerfile", true);
    let (b, r) = ("build", "runtime");
    assert_eq!(
        rows(&findings),
        vec![
            row(6, "image_pinned", Level::Advice, "FROM", b),
            row(7, "image_pinned", Level::Advice, "COPY", b),
            row(10, "dependencies_locked", Level::Advice, "RUN", b),
            row(15, "image_pinned", Level::Advice, "FROM", r),
            row(15, "slim_base", Level::Ok, "FROM", r),
            row(15, "healthcheck", Level::Ok, "HEALTHCHECK", r),
            row(17, "model_file", Level::Ok, "COPY", r),
            row(18, "dependencies_locked", Level::Ok, "RUN", r),
            row(19, "non_root_user", Level::Advice, "USER", r),
        ]
    );
    assert_eq!(findings[0].message, "python:3.11-bookworm: tag `3.11-bookworm` can be pushed again (tags move: pin the digest, image@sha256:...)");
    assert_eq!(findings[3].message, "python:3.11-slim: tag `3.11-slim` can be pushed again (tags move: pin the digest, image@sha256:...)");
}

/// Judges `dockerfile` written into a fresh context holding `files`, the model the audited one.
fn judge_text(dockerfile: &str, files: &[(&str, &str)]) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let parsed = read(&dir.path().join("Dockerfile"), dockerfile).unwrap();
    judge(&parsed, &context(dir.path(), false))
}

/// The (level, message) of the rule's findings.
fn of(findings: &[Finding], rule: &str) -> Vec<(Level, String)> {
    findings.iter().filter(|f| f.rule == rule).map(|f| (f.level, f.message.clone())).collect()
}

fn levels(findings: &[Finding], rule: &str) -> Vec<Level> {
    of(findings, rule).into_iter().map(|(l, _)| l).collect()
}

#[test]
fn install_commands_are_judged_one_by_one() {
    use Level::*;
    let cases: [(&str, Vec<Level>); 18] = [
        ("uv pip install --index-strategy unsafe-best-match --torch-backend cpu -r requirements/cpu.txt", vec![Ok]),
        ("if [ -f a.lock ]; then pip install -r a.lock; else pip install numpy; fi", vec![Ok, Problem]),
        ("pip install 'numpy>=1.26' && python -m pip install pandas==2.2.2", vec![Problem, Advice]),
        ("pip3 install --no-cache-dir -r requirements.txt -c constraints.txt", vec![Ok]),
        ("pip install -c constraints.txt numpy", vec![Ok]),
        ("pip install --no-index --find-links=/wheels numpy", vec![Ok]),
        ("pip install . && pip install --no-deps /wheels/app-1.0-py3-none-any.whl", vec![Ok, Ok]),
        ("pip install $PKGS", vec![Advice]),
        ("pip install git+https://github.com/org/lib@main", vec![Advice]),
        ("uv pip install -r requirements.lock && uv pip sync requirements.lock", vec![Ok, Ok]),
        ("uv sync --frozen --no-dev; uv sync", vec![Ok, Advice]),
        ("pipenv install --system --deploy && pipenv install && pipenv install requests", vec![Ok, Advice, Problem]),
        ("conda env create -f environment.yml && micromamba install -y -n base -f conda-lock.yml", vec![Ok, Ok]),
        ("conda install -y -c conda-forge numpy=1.26 && mamba install scipy", vec![Advice, Problem]),
        ("echo 'pip install numpy' && apt-get install -y python3-pip", vec![]),
        ("sudo -H PIP_NO_CACHE_DIR=1 pip install flask", vec![Problem]),
        ("python3.11 -m pip install -U pip setuptools wheel", vec![Advice]),
        ("pip download numpy && pip wheel -r requirements.txt", vec![]),
    ];
    for (run, expected) in cases {
        let findings = judge_text(&format!("FROM python:3.11-slim\nRUN {run}\n"), &[]);
        assert_eq!(levels(&findings, "dependencies_locked"), expected, "{run}");
        assert!(findings.iter().filter(|f| f.rule == "dependencies_locked").all(|f| f.line == Some(2) && f.field == "RUN"));
    }
    let exec = judge_text(
        "FROM python:3.11-slim\nRUN [\"pip\", \"install\", \"torch\"]\nRUN [\"/bin/sh\", \"-c\", \"pip install -r r.txt && pip install x\"]\n",
        &[],
    );
    assert_eq!(levels(&exec, "dependencies_locked"), vec![Problem, Ok, Problem]);
    let newline = judge_text("FROM python:3.11-slim\nRUN <<EOF\npip install \"numpy\n\" x\nEOF\n", &[]);
    assert_eq!(
        of(&newline, "dependencies_locked"),
        vec![(Problem, "pip install numpy?, x: installs outside the lock: the image is not reproducible".to_string())]
    );
    let heredoc = judge_text("FROM python:3.11-slim\nRUN <<EOF\npip install numpy\nEOF\nRUN python3 <<EOF\nprint('pip install numpy')\nEOF\n", &[]);
    assert_eq!(levels(&heredoc, "dependencies_locked"), vec![Problem]);
}

#[test]
fn hashes_in_the_requirements_file_ask_for_require_hashes() {
    let hashed = "numpy==2.0.0 \\\n    --hash=sha256:00\n";
    let plain = "numpy==2.0.0\n";
    let cases = [
        ("COPY deps/prod.txt /tmp/req.txt\nRUN pip install -r /tmp/req.txt\n", ("deps/prod.txt", hashed), Level::Advice),
        ("COPY deps/ /tmp/deps/\nRUN pip install -r /tmp/deps/req.txt\n", ("deps/req.txt", hashed), Level::Advice),
        ("COPY . .\nRUN pip install -r requirements.txt\n", ("requirements.txt", hashed), Level::Advice),
        ("COPY . .\nRUN pip install --require-hashes -r requirements.txt\n", ("requirements.txt", hashed), Level::Ok),
        ("COPY . .\nRUN pip install -r requirements.txt\n", ("requirements.txt", plain), Level::Ok),
    ];
    for (body, file, expected) in cases {
        let findings = judge_text(&format!("FROM python:3.11-slim\n{body}"), &[file]);
        assert_eq!(levels(&findings, "dependencies_locked"), vec![expected], "{body}");
    }
}

#[test]
fn poetry_install_needs_a_lock_in_the_context() {
    let run = "FROM python:3.11-slim\nCOPY pyproject.toml ./\nRUN poetry install --no-root\n";
    assert_eq!(levels(&judge_text(run, &[("pyproject.toml", "")]), "dependencies_locked"), vec![Level::Advice]);
    assert_eq!(levels(&judge_text(run, &[("pyproject.toml", ""), ("poetry.lock", "")]), "dependencies_locked"), vec![Level::Ok]);
}

#[test]
fn base_images_pins_and_variants() {
    let digest = "@sha256:".to_string() + &"a".repeat(64);
    let cases = [
        (format!("FROM ubuntu:22.04{digest}"), (Level::Ok, Some(Level::Advice))),
        ("FROM debian".to_string(), (Level::Problem, Some(Level::Advice))),
        ("FROM python:3.12-alpine".to_string(), (Level::Advice, Some(Level::Ok))),
        ("FROM gcr.io/distroless/python3-debian12:nonroot".to_string(), (Level::Advice, Some(Level::Ok))),
        ("FROM cgr.dev/chainguard/python:latest".to_string(), (Level::Problem, Some(Level::Ok))),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04".to_string(), (Level::Advice, None)),
        ("FROM localhost:5000/base".to_string(), (Level::Problem, None)),
        (format!("FROM python{digest}"), (Level::Ok, None)),
    ];
    for (from, (pin, slim)) in cases {
        let findings = judge_text(&format!("{from}\n"), &[]);
        assert_eq!(levels(&findings, "image_pinned"), vec![pin], "{from}");
        assert_eq!(levels(&findings, "slim_base"), slim.into_iter().collect::<Vec<_>>(), "{from}");
    }
    let scratch = judge_text("FROM golang:1.22 AS build\nFROM scratch\nCOPY --from=build /app /app\n", &[]);
    assert_eq!(rows(&scratch)[..2], [row(1, "image_pinned", Level::Advice, "FROM", "build"), row(2, "slim_base", Level::Ok, "FROM", "stage 2")]);
    let copy_from =
        judge_text(&format!("FROM python:3.11-slim\nCOPY --from=ghcr.io/astral-sh/uv{digest} /uv /bin/\nCOPY --from=${{UV_IMAGE}} /uv /bin/\n"), &[]);
    assert_eq!(levels(&copy_from, "image_pinned"), vec![Level::Advice, Level::Ok, Level::Advice]);
    let unresolved = judge_text("ARG TAG\nFROM python:${TAG}\n", &[]);
    assert_eq!(
        of(&unresolved, "image_pinned"),
        vec![(Level::Advice, "`python:${TAG}` depends on build arguments with no default (TAG): not judged; give them defaults".to_string())]
    );
}

#[test]
fn user_and_healthcheck_follow_the_stage_chain() {
    let text = "FROM python:3.11-slim AS base\nUSER app\nHEALTHCHECK CMD curl -f localhost\nFROM base AS final\nRUN echo\n";
    let findings = judge_text(text, &[]);
    assert_eq!(of(&findings, "non_root_user"), vec![(Level::Ok, "runs as app".to_string())]);
    assert_eq!(
        rows(&findings).iter().filter(|r| r.1 != "image_pinned").cloned().collect::<Vec<_>>(),
        [
            row(1, "slim_base", Level::Ok, "FROM", "final"),
            row(2, "non_root_user", Level::Ok, "USER", "final"),
            row(3, "healthcheck", Level::Ok, "HEALTHCHECK", "final"),
        ]
    );
    let root = judge_text("FROM python:3.11-slim\nUSER app\nUSER 0:0\nHEALTHCHECK NONE\n", &[]);
    assert_eq!(levels(&root, "non_root_user"), vec![Level::Advice]);
    assert_eq!(levels(&root, "healthcheck"), vec![Level::Advice]);
    let by_default = judge_text("ARG UID=0\nFROM python:3.11-slim\nARG UID\nENV HOME=/root GID=0\nUSER $UID:${GID}\n", &[]);
    assert_eq!(
        of(&by_default, "non_root_user"),
        vec![(Level::Advice, "the container runs as root (USER $UID:${GID} (0:0 by default)): use an unprivileged uid".to_string())]
    );
    let env_copy = judge_text("FROM python:3.11-slim\nARG NB_UID=\"1000\"\nENV NB_UID=${NB_UID} HOME=/home/me\nUSER ${NB_UID}\n", &[]);
    assert_eq!(of(&env_copy, "non_root_user"), vec![(Level::Ok, "runs as ${NB_UID} (1000 by default)".to_string())]);
    let decided_later = judge_text("FROM python:3.11-slim\nARG UID\nUSER \"${UID}\"\n", &[]);
    assert_eq!(of(&decided_later, "non_root_user"), vec![(Level::Ok, "runs as ${UID} (set at build time)".to_string())]);
    let distroless = judge_text("FROM gcr.io/distroless/python3-debian12:nonroot\n", &[]);
    assert_eq!(levels(&distroless, "non_root_user"), vec![Level::Ok]);
}

#[test]
fn model_copies_resolve_inside_the_context_only() {
    let model = std::fs::read(fixtures().join("models/iris_rf.onnx")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models/v1")).unwrap();
    std::fs::write(dir.path().join("models/v1/iris_rf.onnx"), &model).unwrap();
    std::fs::write(outside.path().join("iris_rf.onnx"), &model).unwrap();
    std::os::unix::fs::symlink(outside.path().join("iris_rf.onnx"), dir.path().join("iris_rf.onnx")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).unwrap();
    let text = "FROM python:3.11-slim\nCOPY models /m\nCOPY models/v1/*.onnx /m/\nCOPY iris_rf.onnx /m/\nCOPY missing/iris_rf.onnx /m/\nCOPY linked /l\nCOPY ../iris_rf.onnx /x/\nADD https://example.com/models/iris_rf.onnx /m/\nCOPY --from=build /m/iris_rf.onnx /m/\n";
    let parsed = read(&dir.path().join("Dockerfile"), text).unwrap();
    let findings = judge(&parsed, &context(dir.path(), false));
    let copies: Vec<(usize, Level)> = findings.iter().filter(|f| f.rule == "model_file").map(|f| (f.line.unwrap(), f.level)).collect();
    assert_eq!(copies, vec![(2, Level::Ok), (3, Level::Ok), (4, Level::Advice), (5, Level::Advice), (7, Level::Advice), (8, Level::Advice)]);
    let escaped = findings.iter().find(|f| f.rule == "model_file" && f.line == Some(4)).unwrap();
    assert!(escaped.message.starts_with("iris_rf.onnx: resolves outside"), "{}", escaped.message);
    let mut small = context(dir.path(), false);
    small.max_hash_bytes = 100;
    let limited = judge(&read(Path::new("Dockerfile"), "FROM a:1\nCOPY models /m\n").unwrap(), &small);
    assert_eq!(levels(&limited, "model_file"), vec![Level::Advice]);
}

#[test]
fn errors_name_the_file_and_line() {
    let err = read(Path::new("deploy/Dockerfile"), "FROM a\nFROB b\n").unwrap_err();
    assert_eq!(err.to_string(), "deploy/Dockerfile:2: unknown instruction `FROB`");
    assert_eq!(err.line, Some(2));
    assert_eq!(read(Path::new("Dockerfile"), "").unwrap_err().to_string(), "Dockerfile: no FROM instruction");
}
