//! Pipenv: `Pipfile.lock` (JSON) against `Pipfile` (TOML). Every locked package must be an exact
//! `==` pin with hashes (or a VCS reference pinned to a commit); every `[packages]` and
//! `[dev-packages]` entry must be locked at a version its Pipfile specifier allows. The lock
//! holds no dependency graph: closure is judged from the installed environment.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::pep::{self, normalize};
use super::{LockVerdict, Problem, parse_toml_as, read_text};

/// A `Pipfile.lock`, as far as the audit reads it.
#[derive(Debug, Deserialize)]
struct PipfileLock {
    default: BTreeMap<String, LockedEntry>,
    #[serde(default)]
    develop: BTreeMap<String, LockedEntry>,
}

#[derive(Debug, Deserialize)]
struct LockedEntry {
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    markers: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    #[serde(default)]
    editable: bool,
}

/// A `Pipfile`, as far as the audit reads it.
#[derive(Debug, Default, Deserialize)]
struct Pipfile {
    #[serde(default)]
    packages: BTreeMap<String, PipfileSpec>,
    #[serde(default, rename = "dev-packages")]
    dev_packages: BTreeMap<String, PipfileSpec>,
    requires: Option<Requires>,
}

/// `[requires]`: the interpreter the project runs on.
#[derive(Debug, Default, Deserialize)]
struct Requires {
    python_version: Option<String>,
    python_full_version: Option<String>,
}

impl Requires {
    /// As PEP 440 specifiers: `3.11` → `==3.11.*`, `3.11.7` → `==3.11.7`.
    fn specifiers(&self) -> Option<String> {
        match (&self.python_full_version, &self.python_version) {
            (Some(full), _) => Some(format!("=={full}")),
            (None, Some(short)) => Some(format!("=={short}.*")),
            (None, None) => None,
        }
    }
}

/// `name = "*"`, `name = ">=1"` or `name = { version = ">=1", ... }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PipfileSpec {
    Version(String),
    Detailed { version: Option<String> },
}

impl PipfileSpec {
    fn wanted(&self) -> &str {
        match self {
            Self::Version(v) => v,
            Self::Detailed { version } => version.as_deref().unwrap_or("*"),
        }
    }
}

fn parse_lock(text: &str) -> Result<PipfileLock, String> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        format!("Pipfile.lock: line {}, column {}: {message}", e.line(), e.column())
    })
}

/// Audits the Pipenv project in `dir`.
pub fn audit(dir: &Path) -> LockVerdict {
    let lock_path = dir.join("Pipfile.lock");
    let pipfile_path = dir.join("Pipfile");
    if !lock_path.is_file() {
        return LockVerdict::missing_lock(&pipfile_path, "Pipfile without Pipfile.lock", "run `pipenv lock` and commit Pipfile.lock");
    }
    let lock = match read_text(&lock_path).and_then(|t| parse_lock(&t)) {
        Ok(v) => v,
        Err(e) => return LockVerdict::unreadable(&lock_path, e),
    };
    let mut verdict = LockVerdict::new(&lock_path);
    let mut unhashed = Vec::new();
    let mut count = 0;
    for (section, entries) in [("default", &lock.default), ("develop", &lock.develop)] {
        for (name, entry) in entries {
            count += 1;
            if entry.editable {
                verdict.finding(Problem::Unpinned, format!("'{name}' ({section}) is an editable install, not a pinned release"));
                continue;
            }
            if let Some(git) = &entry.git {
                if entry.git_ref.as_deref().is_none_or(|r| r.len() < 40) {
                    verdict.finding(Problem::Unpinned, format!("'{name}' ({section}) comes from {git} without a commit ref"));
                }
                continue;
            }
            match entry.version.as_deref().and_then(|v| v.strip_prefix("==")) {
                Some(version) => verdict.python_with_marker(name, version, entry.markers.as_deref().unwrap_or("")),
                None => verdict.finding(Problem::Unpinned, format!("'{name}' ({section}) has no exact '==' version in the lock")),
            }
            if entry.hashes.is_empty() {
                unhashed.push(name.clone());
            }
        }
    }
    if !unhashed.is_empty() {
        verdict.finding(Problem::Unhashed, format!("{} package(s) without hashes: {}", unhashed.len(), unhashed.join(", ")));
    }
    let mut sync = "no Pipfile beside it to compare";
    if pipfile_path.is_file() {
        match read_text(&pipfile_path).and_then(|t| parse_toml_as::<Pipfile>(&pipfile_path, &t)) {
            Err(e) => verdict.finding(Problem::Malformed, e),
            Ok(pipfile) => {
                verdict.manifest = Some("Pipfile".into());
                verdict.requires_python = pipfile.requires.as_ref().and_then(Requires::specifiers);
                compare_with_pipfile(&pipfile, &lock, &mut verdict);
                sync = if verdict.has(Problem::OutOfSync) { "out of sync with Pipfile" } else { "in sync with Pipfile" };
            }
        }
    }
    verdict.summary = format!("{count} packages locked, {sync}");
    verdict
}

/// Every Pipfile entry must be locked at a version its specifier allows.
fn compare_with_pipfile(pipfile: &Pipfile, lock: &PipfileLock, verdict: &mut LockVerdict) {
    for (table, wanted_set, locked_set) in [("packages", &pipfile.packages, &lock.default), ("dev-packages", &pipfile.dev_packages, &lock.develop)] {
        for (name, spec) in wanted_set {
            let Some(locked) = locked_set.iter().find(|(k, _)| normalize(k) == normalize(name)).map(|(_, v)| v) else {
                verdict
                    .finding(Problem::OutOfSync, format!("'{name}' is in Pipfile [{table}] but not in Pipfile.lock: out of sync, run `pipenv lock`"));
                continue;
            };
            let wanted = spec.wanted();
            if let Some(version) = locked.version.as_deref().and_then(|v| v.strip_prefix("=="))
                && wanted != "*"
                && !pep::satisfies(wanted, version).unwrap_or(true)
            {
                verdict.finding(
                    Problem::OutOfSync,
                    format!("'{name}' is locked at {version}, outside '{wanted}' in Pipfile: out of sync, run `pipenv lock`"),
                );
            }
        }
    }
}
