//! Dependency locks, format by format: discovery in a project folder, a typed parser for each
//! format (TOML, JSON, YAML, PEP 508 requirement lines), and the facts about each lockfile:
//! its pins, what its own graph says about closure, each finding by kind (unpinned, not closed,
//! out of sync, unhashed, ...). The lockfile check (`checks/lockfile.rs`) weighs the findings;
//! nothing here decides a status or touches the network.

pub mod cargo;
pub mod conda;
pub mod conda_explicit;
pub mod pep;
pub mod pipfile;
pub mod poetry;
pub mod requirements;
pub mod uv;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a finding says is wrong. The lockfile check decides the status of each kind (and
/// `checks.lockfile.require_hashes` decides whether missing hashes fail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// A requirement not pinned to one exact release (a range, no version, a URL, editable).
    Unpinned,
    /// A file that could not be read or parsed.
    Malformed,
    /// A dependency of a locked package is not locked.
    NotClosed,
    /// The lock disagrees with its manifest.
    OutOfSync,
    /// Files without hashes.
    Unhashed,
    /// Something that cannot be verified or is empty: a warning, never a pass.
    Incomplete,
    /// A fact worth saying that is no problem (`-e .` is the project itself).
    Note,
}

/// One fact about a lockfile: its kind and the sentence that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub problem: Problem,
    pub text: String,
}

/// The ecosystem a lockfile belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Ecosystem {
    #[default]
    Python,
    Conda,
    Rust,
}

impl Ecosystem {
    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Conda => "conda",
            Self::Rust => "rust",
        }
    }
}

/// Whether the lock pins every package its pinned packages need, by the lock's own graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Closure {
    /// The lock records the dependency graph and every edge ends at a locked package.
    Closed,
    /// The lock records the graph and some edge ends outside it (a `NotClosed` finding each).
    Open,
    /// The format holds no graph (requirements.txt, Pipfile.lock, environment.yml without a
    /// conda-lock.yml): the installed environment must tell.
    #[default]
    NoGraph,
}

/// A pinned Python package: its version and the marker that says where it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub version: String,
    /// The PEP 508 marker of the pin (empty: everywhere).
    pub marker: String,
}

/// The verdict on one lockfile (or on a manifest that should have one): facts only; the
/// lockfile check turns them into a status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockVerdict {
    pub file: PathBuf,
    pub ecosystem: Ecosystem,
    pub summary: String,
    pub findings: Vec<Finding>,
    /// Exactly pinned packages, as `ecosystem:name==version`.
    pub resolved: Vec<String>,
    /// Python packages pinned exactly (normalized name → pins; a universal lock may pin one
    /// package at two versions, each under its own marker), for runtime and environment parity.
    pub python_pins: BTreeMap<String, Vec<Pin>>,
    /// What the lock's own graph says about closure.
    pub closure: Closure,
    /// The lock resolves for every platform (uv, Poetry, conda-lock): a pinned package may be
    /// absent from one environment by design.
    pub universal: bool,
    /// The manifest the lock was compared with, when there was one.
    pub manifest: Option<String>,
    /// The project's own packages (installed from source, never pinned), normalized.
    pub own_packages: Vec<String>,
    /// The interpreter versions the lock was resolved for (PEP 440 specifiers).
    pub requires_python: Option<String>,
    /// Pins that are conda packages (normalized), not Python distributions: only a conda
    /// prefix can be compared with them.
    pub conda_names: Vec<String>,
    /// The project's direct dependencies, with the marker that says where each applies (from
    /// the lock's root package or the manifest), for universal locks.
    pub direct: Vec<(String, String)>,
    /// The extras asked for per pinned package (`requests[socks]==2.32.3`), normalized.
    pub extras: BTreeMap<String, BTreeSet<String>>,
    /// Packages pinned only by a `-c` constraints file: installed only when something needs them.
    pub constrained_only: BTreeSet<String>,
}

impl LockVerdict {
    /// A verdict for `file`, with no finding yet.
    pub fn new(file: &Path) -> Self {
        Self { file: file.to_path_buf(), ..Self::default() }
    }

    /// Records a finding.
    pub fn finding(&mut self, problem: Problem, text: impl Into<String>) {
        self.findings.push(Finding { problem, text: text.into() });
    }

    /// Whether any finding is of kind `problem`.
    pub fn has(&self, problem: Problem) -> bool {
        self.findings.iter().any(|f| f.problem == problem)
    }

    /// Records a resolved Python package that applies everywhere.
    pub fn python(&mut self, name: &str, version: &str) {
        self.python_with_marker(name, version, "");
    }

    /// Records a resolved Python package with the marker that says where it applies.
    pub fn python_with_marker(&mut self, name: &str, version: &str, marker: &str) {
        let name = pep::normalize(name);
        self.resolved.push(format!("pypi:{name}=={version}"));
        self.python_pins.entry(name).or_default().push(Pin { version: version.to_string(), marker: marker.to_string() });
    }

    /// A verdict for a manifest whose lock is missing, with the command that writes it.
    pub fn missing_lock(manifest: &Path, summary: &str, advice: &str) -> Self {
        let mut verdict = Self::new(manifest);
        verdict.summary = summary.to_string();
        verdict.finding(Problem::Unpinned, advice);
        verdict
    }

    /// A verdict for a file that could not be parsed.
    pub fn unreadable(file: &Path, problem: String) -> Self {
        let mut verdict = Self::new(file);
        verdict.summary = "malformed".to_string();
        verdict.finding(Problem::Malformed, problem);
        verdict
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Reads a file found in a project folder as UTF-8 text, through the one opener: it must be a
/// regular file inside its folder (no symlink out, no `..`) and under the size limit. The error
/// names the file.
pub fn read_text(path: &Path) -> Result<String, String> {
    let folder = crate::artifact::model_dir(path);
    crate::sandbox::open::read_text_within(&folder, path, crate::sandbox::open::MAX_TEXT_BYTES).map_err(|e| format!("{}: {e}", file_name(path)))
}

/// Parses TOML; the error names the file, line and column.
pub fn parse_toml(path: &Path, text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| {
        let place = e.span().map(|s| line_col(text, s.start)).map_or(String::new(), |(l, c)| format!(" line {l}, column {c}:"));
        format!("{}:{place} {}", file_name(path), e.message())
    })
}

/// Deserializes TOML into the format's structs; the error names the file, line and column.
pub fn parse_toml_as<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, String> {
    toml::from_str::<T>(text).map_err(|e| {
        let place = e.span().map(|s| line_col(text, s.start)).map_or(String::new(), |(l, c)| format!(" line {l}, column {c}:"));
        format!("{}:{place} {}", file_name(path), e.message())
    })
}

/// The file name alone, for messages that are already prefixed with the file's folder.
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// Every lockfile verdict for one folder.
pub fn audit_dir(dir: &Path) -> Vec<LockVerdict> {
    let mut verdicts = Vec::new();
    if dir.join("Cargo.toml").is_file() || dir.join("Cargo.lock").is_file() {
        verdicts.push(cargo::audit(dir));
    }
    verdicts.extend(requirements::audit_dir(dir));
    let pyproject = dir.join("pyproject.toml");
    let has_poetry_section =
        read_text(&pyproject).and_then(|t| parse_toml(&pyproject, &t)).is_ok_and(|t| t.get("tool").and_then(|tool| tool.get("poetry")).is_some());
    if dir.join("poetry.lock").is_file() || (has_poetry_section && !dir.join("uv.lock").is_file()) {
        verdicts.push(poetry::audit(dir));
    }
    if dir.join("uv.lock").is_file() {
        verdicts.push(uv::audit(dir));
    }
    if dir.join("Pipfile").is_file() || dir.join("Pipfile.lock").is_file() {
        verdicts.push(pipfile::audit(dir));
    }
    for name in ["environment.yml", "environment.yaml"] {
        if dir.join(name).is_file() {
            verdicts.push(conda::audit(dir, &dir.join(name)));
        }
    }
    verdicts.extend(conda_explicit::files(dir).iter().map(|f| conda_explicit::audit(f)));
    // A PEP 621 project with dependencies and no lock of any kind pins nothing.
    let locked = verdicts.iter().any(|v| v.file.parent() == Some(dir));
    if !locked
        && pyproject.is_file()
        && let Some(verdict) = uv::unlocked_pyproject(&pyproject)
    {
        verdicts.push(verdict);
    }
    verdicts
}

/// The git root above `dir` (the folder holding `.git`), if any.
pub fn git_root(dir: &Path) -> Option<PathBuf> {
    let start = dir.canonicalize().ok()?;
    start.ancestors().find(|a| a.join(".git").exists()).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_columns() {
        assert_eq!(line_col("ab\ncd\nef", 4), (2, 2));
        assert_eq!(line_col("x", 0), (1, 1));
    }

    #[test]
    fn toml_errors_name_file_line_and_column() {
        let err = parse_toml(Path::new("/some/where/uv.lock"), "a = 1\nb = [\n").unwrap_err();
        assert!(err.starts_with("uv.lock: line 2, column 6: unclosed array"), "{err}");
    }
}
