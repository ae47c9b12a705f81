//! Dockerfiles and Containerfiles that package the model: read into stages and instructions
//! ([`read`], a small parser in `parse`, fuzzed), then judged for serving ([`judge`]).
//!
//! Rules, by stable id (each finding names the file, the line, the stage as `container`: its
//! `AS` name or `stage N`, 1-based, and the instruction as `field`):
//! - `image_pinned`: every external `FROM` (not `scratch`, not an earlier stage) and every
//!   `COPY --from=<image>`: a digest is Ok, a tag Advice (tags move), `latest` or no tag a Problem.
//! - `slim_base`: the final stage's base: a full OS or language image (`python:3.11`,
//!   `ubuntu:22.04`) is Advice; `-slim`, `-alpine`, distroless, Chainguard, `scratch` are Ok;
//!   other images (`nvidia/cuda`, an in-house base) are not judged.
//! - `dependencies_locked`: each install command in a `RUN` (see `deps`).
//! - `non_root_user`: see [`non_root`].
//! - `healthcheck`: a `HEALTHCHECK` in the final stage (or a stage it builds on), or a probe in
//!   a Kubernetes manifest, is Ok; none, or `HEALTHCHECK NONE`, is Advice.
//! - `model_file`: see `model_copy`.

mod deps;
mod model_copy;
mod parse;
mod shell;

use std::path::{Path, PathBuf};

pub use parse::{Args, From, Heredoc, Instruction, Keyword, Stage};

use super::image_ref::{self, ImagePin};
use super::{Finding, Level};

/// Far larger than any real Dockerfile (the largest in docker-library are a few KiB).
pub const MAX_DOCKERFILE_BYTES: u64 = 1 << 20;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub path: PathBuf,
    /// The `ARG`s before the first `FROM`, with their defaults.
    pub meta_args: Vec<(String, Option<String>)>,
    /// At least one.
    pub stages: Vec<Stage>,
}

/// Why a Dockerfile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("{size} bytes, more than the {limit} a Dockerfile may have")]
    TooLarge { size: u64, limit: u64 },
    #[error("no FROM instruction")]
    NoFrom,
    #[error("{0} before the first FROM (only ARG may come before it)")]
    BeforeFrom(&'static str),
    #[error("unknown instruction `{0}`")]
    Unknown(String),
    #[error("{0} needs arguments")]
    MissingArgument(&'static str),
    #[error("FROM takes `[--platform=...] image [AS name]`")]
    BadFrom,
    #[error("the stage name `{0}` is used twice")]
    DuplicateStage(String),
    #[error("the heredoc <<{0} is never closed")]
    UnterminatedHeredoc(String),
    #[error("`# escape={0}`: the escape character is `\\` or a backtick")]
    BadEscape(String),
}

/// A Dockerfile that could not be read: the file, the line when one is to blame, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {kind}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct DockerfileError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub kind: ErrorKind,
}

/// What the judging needs to know beside the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerContext {
    /// The build context (`docker build <dir>`): where `COPY` sources and lockfiles resolve.
    pub context_dir: PathBuf,
    /// The audited model's file name (`model.onnx`).
    pub model_file_name: String,
    /// The audited model's SHA-256, lower-case hex.
    pub model_sha256: String,
    /// Whether a Kubernetes manifest declares a probe for the container of this image.
    pub manifest_probe: bool,
    /// A copied model larger than this is not hashed.
    pub max_hash_bytes: u64,
}

impl DockerContext {
    /// A context with the default hashing limit (8 GiB).
    pub fn new(context_dir: PathBuf, model_file_name: String, model_sha256: String, manifest_probe: bool) -> Self {
        Self { context_dir, model_file_name, model_sha256: model_sha256.to_ascii_lowercase(), manifest_probe, max_hash_bytes: 8 << 30 }
    }
}

/// Parses the Dockerfile `text` read from `path` (the path names it in errors and findings).
pub fn read(path: &Path, text: &str) -> Result<Dockerfile, DockerfileError> {
    let parsed = parse::parse(text).map_err(|(kind, line)| DockerfileError { path: path.to_path_buf(), line, kind })?;
    Ok(Dockerfile { path: path.to_path_buf(), meta_args: parsed.meta_args, stages: parsed.stages })
}

/// Judges `file` for serving the model described by `ctx`: the findings in line order.
pub fn judge(file: &Dockerfile, ctx: &DockerContext) -> Vec<Finding> {
    let mut findings = Vec::new();
    let installs = deps::Judge::new(file, ctx);
    let mut copies = model_copy::Walk::default();
    for stage in &file.stages {
        pinned(file, stage, &mut findings);
        for instruction in &stage.instructions {
            match instruction.keyword {
                Keyword::Run => findings.extend(deps::judge(file, stage, instruction, &installs)),
                Keyword::Copy | Keyword::Add => findings.extend(model_copy::judge(file, stage, instruction, ctx, &mut copies)),
                _ => {}
            }
        }
    }
    let Some(last) = file.stages.len().checked_sub(1) else { return findings };
    findings.extend(slim(file, last));
    findings.push(non_root(file, last));
    findings.push(healthcheck(file, last, ctx));
    findings.sort_by_key(|f| f.line);
    findings
}

/// A finding about `stage` at `line`.
pub(crate) fn finding(file: &Dockerfile, stage: &Stage, line: usize, field: &str, rule: &'static str, level: Level, message: String) -> Finding {
    Finding { level, rule, file: file.path.clone(), line: Some(line), object: None, container: Some(label(stage)), field: field.to_string(), message }
}

/// The stage's `AS` name, or `stage N` (1-based).
pub fn label(stage: &Stage) -> String {
    stage.name.clone().unwrap_or_else(|| format!("stage {}", stage.index + 1))
}

/// The earlier stage that `image` names (`FROM builder`, `COPY --from=builder`, `--from=0`).
fn earlier_stage<'a>(file: &'a Dockerfile, before: usize, image: &str) -> Option<&'a Stage> {
    let name = image.to_ascii_lowercase();
    let by_index = name.parse::<usize>().ok();
    file.stages[..before].iter().find(|s| s.name.as_deref() == Some(name.as_str()) || by_index == Some(s.index))
}

/// The stages `index` builds on, itself first (`FROM builder` goes on to `builder`).
fn chain(file: &Dockerfile, index: usize) -> Vec<&Stage> {
    let mut stages = vec![&file.stages[index]];
    let mut current = &file.stages[index];
    while let Some(parent) =
        file.stages[..current.index].iter().find(|s| s.name.is_some() && s.name.as_deref() == Some(&*current.from.image.to_ascii_lowercase()))
    {
        stages.push(parent);
        current = parent;
    }
    stages
}

/// `image_pinned` for the stage's `FROM` (when it is an image) and its `COPY --from=<image>`.
fn pinned(file: &Dockerfile, stage: &Stage, findings: &mut Vec<Finding>) {
    let from = &stage.from;
    let is_stage = earlier_stage(file, stage.index, &from.image).is_some_and(|s| s.name.is_some());
    if !is_stage && !from.image.eq_ignore_ascii_case("scratch") {
        let (level, message) = pin_verdict(&from.image, &from.written, &from.unresolved);
        findings.push(finding(file, stage, from.line, "FROM", "image_pinned", level, message));
    }
    for copy in stage.instructions.iter().filter(|i| i.keyword == Keyword::Copy) {
        if let Some(source) = copy.flag("from").filter(|s| earlier_stage(file, stage.index, s).is_none()) {
            let variables: Vec<String> = source.contains('$').then(|| parse::clip(source)).into_iter().collect();
            let (level, message) = pin_verdict(source, source, &variables);
            findings.push(finding(file, stage, copy.line, "COPY", "image_pinned", level, format!("COPY --from: {message}")));
        }
    }
}

/// The level and message of the pinning rule for an image reference.
fn pin_verdict(image: &str, written: &str, unresolved: &[String]) -> (Level, String) {
    let shown = parse::clip(image);
    if !unresolved.is_empty() {
        let names = unresolved.join(", ");
        return (
            Level::Advice,
            format!("`{}` depends on build arguments with no default ({names}): not judged; give them defaults", parse::clip(written)),
        );
    }
    match image_ref::image_pin(image) {
        ImagePin::Digest => (Level::Ok, format!("{shown} is pinned by digest")),
        ImagePin::Tag(tag) => (Level::Advice, format!("{shown}: tag `{tag}` can be pushed again (tags move: pin the digest, image@sha256:...)")),
        ImagePin::Latest => (Level::Problem, format!("{shown} follows `latest`: every build may get a different image; pin a digest")),
        ImagePin::Untagged => {
            (Level::Problem, format!("{shown} has no tag, so Docker pulls `latest`: every build may get a different image; pin a digest"))
        }
        ImagePin::Invalid => (Level::Problem, format!("`{shown}` is not a valid image reference")),
    }
}

/// Full OS and language images: the `slim`/`alpine` variant or distroless does the same job
/// with a fraction of the packages (and of the CVEs to patch).
const FULL_IMAGES: [&str; 16] = [
    "python",
    "ubuntu",
    "debian",
    "centos",
    "fedora",
    "rockylinux",
    "almalinux",
    "amazonlinux",
    "oraclelinux",
    "node",
    "openjdk",
    "golang",
    "ruby",
    "buildpack-deps",
    "archlinux",
    "continuumio/anaconda3",
];

/// `slim_base` for the final stage's base image.
fn slim(file: &Dockerfile, last: usize) -> Option<Finding> {
    let stages = chain(file, last);
    let root = stages.last()?;
    let final_stage = &file.stages[last];
    let image = &root.from.image;
    let verdict = |level, message: String| Some(finding(file, final_stage, root.from.line, "FROM", "slim_base", level, message));
    if image.eq_ignore_ascii_case("scratch") {
        return verdict(Level::Ok, "built FROM scratch: nothing but what is copied in".into());
    }
    let parsed = image_ref::parse(image)?;
    let tag = parsed.tag.unwrap_or("");
    let slim_tag = ["slim", "alpine", "distroless", "minimal", "micro"].iter().any(|m| tag.contains(m));
    let slim_repo = parsed.repository.contains("distroless")
        || parsed.registry == Some("cgr.dev")
        || parsed.repository.starts_with("chainguard/")
        || matches!(parsed.name(), "alpine" | "busybox");
    let shown = parse::clip(image);
    if slim_tag || slim_repo {
        return verdict(Level::Ok, format!("{shown} is a slim base"));
    }
    let repository = parsed.repository.strip_prefix("library/").unwrap_or(parsed.repository);
    if parsed.digest.is_some() && parsed.tag.is_none() || !FULL_IMAGES.contains(&repository) {
        return None;
    }
    verdict(Level::Advice, format!("{shown} is a full OS image: a `-slim` variant or distroless serves the model with far fewer packages to patch"))
}

/// `non_root_user`: the final stage's last `USER` (or that of a stage it builds on).
///
/// Running as root is Advice, not a Problem: a Problem means the deployment fails with this
/// model, and a root container serves it. Checkov's CKV_DOCKER_3 fails it, and a config can make
/// the advice fail the check; but the base image's own default user is invisible here
/// (distroless `:nonroot` and Chainguard images run as 65532 with no `USER` line, and those two
/// are recognised), so "no USER" alone cannot prove the container runs as root.
pub fn non_root(file: &Dockerfile, last: usize) -> Finding {
    let stages = chain(file, last);
    let final_stage = &file.stages[last];
    let user = stages.iter().find_map(|s| s.instructions.iter().rev().find(|i| i.keyword == Keyword::User));
    let (line, level, message) = match user {
        Some(user) => {
            let written = user.words().first().map(|w| w.trim_matches(['"', '\''])).unwrap_or_default().to_string();
            let mut unresolved = Vec::new();
            let vars = build_vars(file, &stages);
            let vars = vars.iter().map(|(n, v)| (n.as_str(), v.as_deref())).collect();
            let expanded = parse::expand(&written, &vars, &mut unresolved, 0);
            let name = expanded.split(':').next().unwrap_or_default();
            let by_default = match (unresolved.is_empty(), expanded == written) {
                (false, _) => " (set at build time)".to_string(),
                (true, false) => format!(" ({} by default)", parse::clip(&expanded)),
                (true, true) => String::new(),
            };
            if unresolved.is_empty() && (name == "root" || name == "0") {
                (
                    user.line,
                    Level::Advice,
                    format!("the container runs as root (USER {}{by_default}): use an unprivileged uid", parse::clip(&written)),
                )
            } else {
                (user.line, Level::Ok, format!("runs as {}{by_default}", parse::clip(&written)))
            }
        }
        None => {
            let root = stages.last().map_or(&final_stage.from, |s| &s.from);
            let nonroot_base = root.image.contains("distroless") && root.image.contains("nonroot") || root.image.starts_with("cgr.dev/");
            if nonroot_base {
                (final_stage.from.line, Level::Ok, format!("no USER, but {} runs as a non-root user by default", parse::clip(&root.image)))
            } else {
                (
                    final_stage.from.line,
                    Level::Advice,
                    "no USER in the final stage: the container runs as the base image's user, root for most images".to_string(),
                )
            }
        }
    };
    finding(file, final_stage, line, "USER", "non_root_user", level, message)
}

/// The build variables a stage chain declares, with their defaults: `ARG NAME=value`,
/// `ENV NAME=value`, and `ARG NAME` taking the default of the `ARG NAME=value` before the first
/// `FROM`. Later declarations win (the base stage's are read first).
fn build_vars(file: &Dockerfile, stages: &[&Stage]) -> Vec<(String, Option<String>)> {
    let mut vars: Vec<(String, Option<String>)> = Vec::new();
    for stage in stages.iter().rev() {
        for instruction in stage.instructions.iter().filter(|i| matches!(i.keyword, Keyword::Arg | Keyword::Env)) {
            for (name, value) in parse::arg_pairs(instruction) {
                let value = value.or_else(|| file.meta_args.iter().rev().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone()));
                // `ENV NB_UID=${NB_UID}` takes the value the variable has so far.
                let known = vars.iter().map(|(n, v)| (n.as_str(), v.as_deref())).collect();
                let value = value.map(|v| parse::expand(&v, &known, &mut Vec::new(), 0));
                vars.retain(|(n, _)| *n != name);
                vars.push((name, value));
            }
        }
    }
    vars
}

/// `healthcheck`: a `HEALTHCHECK` in the final stage (or one it builds on), or a manifest probe.
fn healthcheck(file: &Dockerfile, last: usize, ctx: &DockerContext) -> Finding {
    let stages = chain(file, last);
    let final_stage = &file.stages[last];
    let check = stages.iter().find_map(|s| s.instructions.iter().rev().find(|i| i.keyword == Keyword::Healthcheck));
    let disabled = check.is_some_and(|c| c.words().first().is_some_and(|w| w.eq_ignore_ascii_case("none")));
    let line = check.map_or(final_stage.from.line, |c| c.line);
    let (level, message) = match (check, disabled, ctx.manifest_probe) {
        (Some(_), false, _) => (Level::Ok, "HEALTHCHECK declared".to_string()),
        (_, _, true) => (Level::Ok, "the Kubernetes manifest declares a probe (Kubernetes ignores HEALTHCHECK)".to_string()),
        (Some(_), true, false) => {
            (Level::Advice, "HEALTHCHECK NONE and no manifest probe: nothing notices a server that stopped answering".to_string())
        }
        (None, _, false) => (Level::Advice, "no HEALTHCHECK and no manifest probe: nothing notices a server that stopped answering".to_string()),
    };
    finding(file, final_stage, line, "HEALTHCHECK", "healthcheck", level, message)
}

#[cfg(test)]
mod tests;
