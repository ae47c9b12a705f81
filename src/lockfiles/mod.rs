//! Dependency locks, format by format: discovery in a project folder, real parsers for each
//! format (TOML, JSON, YAML, PEP 508 requirement lines), and a verdict per lockfile: every
//! direct dependency pinned exactly, transitive dependencies present in the lock, the lock in
//! sync with its manifest, hashes present. Nothing here touches the network.

pub mod cargo;
pub mod conda;
pub mod pep;
pub mod pipfile;
pub mod poetry;
pub mod requirements;
pub mod uv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checks::Status;

/// Settings that change verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Missing hashes fail instead of warning.
    pub require_hashes: bool,
}

/// The verdict on one lockfile (or on a manifest that should have one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockVerdict {
    pub file: PathBuf,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    /// Exactly pinned packages, as `ecosystem:name==version`.
    pub resolved: Vec<String>,
    /// Python packages pinned exactly (normalized name → version), for runtime parity.
    pub python_pins: BTreeMap<String, String>,
}

impl LockVerdict {
    /// A verdict for `file`, passing until a finding says otherwise.
    pub fn new(file: &Path) -> Self {
        Self { file: file.to_path_buf(), ..Self::default() }
    }

    /// Records a finding; the verdict's status is the worst finding.
    pub fn finding(&mut self, status: Status, text: impl Into<String>) {
        self.status = self.status.max(status);
        self.details.push(text.into());
    }

    /// Records a failure.
    pub fn fail(&mut self, text: impl Into<String>) {
        self.finding(Status::Fail, text);
    }

    /// Records a warning.
    pub fn warn(&mut self, text: impl Into<String>) {
        self.finding(Status::Warn, text);
    }

    /// Records a resolved Python package.
    pub fn python(&mut self, name: &str, version: &str) {
        let name = pep::normalize(name);
        self.resolved.push(format!("pypi:{name}=={version}"));
        self.python_pins.insert(name, version.to_string());
    }

    /// Records missing hashes: a warning, or a failure with `require_hashes`.
    pub fn missing_hashes(&mut self, options: Options, text: String) {
        let status = if options.require_hashes { Status::Fail } else { Status::Warn };
        self.finding(status, text);
    }

    /// A failed verdict for a manifest whose lock is missing, with the command that writes it.
    pub fn missing_lock(manifest: &Path, summary: &str, advice: &str) -> Self {
        let mut verdict = Self::new(manifest);
        verdict.summary = summary.to_string();
        verdict.fail(advice);
        verdict
    }

    /// A verdict for a file that could not be parsed.
    pub fn unreadable(file: &Path, problem: String) -> Self {
        let mut verdict = Self::new(file);
        verdict.summary = "malformed".to_string();
        verdict.fail(problem);
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

/// The file name alone, for messages that are already prefixed with the file's folder.
pub fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// Every lockfile verdict for one folder.
pub fn audit_dir(dir: &Path, options: Options) -> Vec<LockVerdict> {
    let mut verdicts = Vec::new();
    if dir.join("Cargo.toml").is_file() || dir.join("Cargo.lock").is_file() {
        verdicts.push(cargo::audit(dir, options));
    }
    verdicts.extend(requirements::audit_dir(dir, options));
    let pyproject = dir.join("pyproject.toml");
    let has_poetry_section = read_text(&pyproject).is_ok_and(|t| t.contains("[tool.poetry"));
    if dir.join("poetry.lock").is_file() || (has_poetry_section && !dir.join("uv.lock").is_file()) {
        verdicts.push(poetry::audit(dir, options));
    }
    if dir.join("uv.lock").is_file() {
        verdicts.push(uv::audit(dir, options));
    }
    if dir.join("Pipfile").is_file() || dir.join("Pipfile.lock").is_file() {
        verdicts.push(pipfile::audit(dir, options));
    }
    for name in ["environment.yml", "environment.yaml"] {
        if dir.join(name).is_file() {
            verdicts.push(conda::audit(dir, &dir.join(name), options));
        }
    }
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
