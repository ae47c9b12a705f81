//! uv: `uv.lock` against `pyproject.toml`. The lock records the project's own requirements
//! (`[package.metadata] requires-dist`); those must equal `[project].dependencies`, the project
//! name and `requires-python` must match (what `uv lock --locked` checks), every locked package's
//! dependencies must be locked, and registry packages must carry hashes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::pep::{self, normalize};
use super::{Closure, LockVerdict, Problem, parse_toml_as, read_text};

/// A `uv.lock`, as far as the audit reads it.
#[derive(Debug, Deserialize)]
struct UvLock {
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    package: Vec<UvPackage>,
}

#[derive(Debug, Deserialize)]
struct UvPackage {
    name: String,
    #[serde(default)]
    version: String,
    source: Option<UvSource>,
    #[serde(default)]
    dependencies: Vec<UvDependency>,
    sdist: Option<UvFile>,
    #[serde(default)]
    wheels: Vec<UvFile>,
    metadata: Option<UvMetadata>,
    #[serde(default, rename = "resolution-markers")]
    resolution_markers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct UvSource {
    registry: Option<String>,
    editable: Option<String>,
    #[serde(rename = "virtual")]
    virtual_: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UvDependency {
    name: String,
    marker: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UvFile {
    hash: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct UvMetadata {
    #[serde(default, rename = "requires-dist")]
    requires_dist: Vec<UvRequirement>,
}

#[derive(Debug, Deserialize)]
struct UvRequirement {
    name: String,
    specifier: Option<String>,
}

/// The manifest side: `[project]` of `pyproject.toml`.
#[derive(Debug, Default, Deserialize)]
struct PyProject {
    project: Option<Project>,
}

#[derive(Debug, Default, Deserialize)]
struct Project {
    name: Option<String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

impl UvPackage {
    /// The project itself (`source = { editable = "." }` or `{ virtual = "." }`).
    fn is_root(&self) -> bool {
        self.source.as_ref().is_some_and(|s| s.editable.as_deref() == Some(".") || s.virtual_.as_deref() == Some("."))
    }

    fn hashed(&self) -> bool {
        self.sdist.as_ref().is_some_and(|s| s.hash.is_some()) || self.wheels.iter().any(|w| w.hash.is_some())
    }
}

fn requirement_key(name: &str, specifier: &str) -> String {
    let specs = pep::parse(&format!("{name}{specifier}")).map(|r| r.specifiers).unwrap_or_else(|_| specifier.to_string());
    format!("{}{}", normalize(name), specs)
}

/// Audits the uv project in `dir`.
pub fn audit(dir: &Path) -> LockVerdict {
    let lock_path = dir.join("uv.lock");
    let lock: UvLock = match read_text(&lock_path).and_then(|t| parse_toml_as(&lock_path, &t)) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(&lock_path, e),
    };
    let mut verdict = LockVerdict::new(&lock_path);
    verdict.universal = true;
    verdict.requires_python = lock.requires_python.clone();
    lock_graph(&lock, &mut verdict);
    let locked_count = lock.package.iter().filter(|p| !p.is_root()).count();
    let pyproject_path = dir.join("pyproject.toml");
    if !pyproject_path.exists() {
        verdict.summary = format!("{locked_count} packages locked (no pyproject.toml beside it to compare)");
        return verdict;
    }
    let pyproject: PyProject = match read_text(&pyproject_path).and_then(|t| parse_toml_as(&pyproject_path, &t)) {
        Ok(t) => t,
        Err(e) => {
            verdict.finding(Problem::Malformed, e);
            verdict.summary = "pyproject.toml unreadable".into();
            return verdict;
        }
    };
    verdict.manifest = Some("pyproject.toml".into());
    compare_with_pyproject(&lock, &pyproject, &mut verdict);
    let sync = if verdict.has(Problem::OutOfSync) { "out of sync with pyproject.toml" } else { "in sync with pyproject.toml" };
    verdict.summary = format!("{locked_count} packages locked, {sync}");
    verdict
}

/// Pins, hashes and closure from the lock's own graph.
fn lock_graph(lock: &UvLock, verdict: &mut LockVerdict) {
    let names: BTreeSet<String> = lock.package.iter().map(|p| normalize(&p.name)).collect();
    let mut unhashed = Vec::new();
    verdict.closure = Closure::Closed;
    for package in &lock.package {
        for dep in &package.dependencies {
            if !names.contains(&normalize(&dep.name)) {
                verdict.closure = Closure::Open;
                verdict.finding(
                    Problem::NotClosed,
                    format!("{} (required by {}=={}) is not pinned in uv.lock", dep.name, package.name, package.version),
                );
            }
        }
        if package.is_root() {
            verdict.own_packages.push(normalize(&package.name));
            verdict.direct.extend(package.dependencies.iter().map(|d| (normalize(&d.name), d.marker.clone().unwrap_or_default())));
            continue;
        }
        verdict.python_with_marker(&package.name, &package.version, &package.resolution_markers.join(" or "));
        let registry = package.source.as_ref().is_some_and(|s| s.registry.is_some());
        if registry && !package.hashed() {
            unhashed.push(normalize(&package.name));
        }
    }
    if !unhashed.is_empty() {
        verdict.finding(Problem::Unhashed, format!("{} package(s) without hashes: {}", unhashed.len(), unhashed.join(", ")));
    }
}

/// What `uv lock --locked` checks: the project name, requires-python and the requirements the
/// lock was resolved for.
fn compare_with_pyproject(lock: &UvLock, pyproject: &PyProject, verdict: &mut LockVerdict) {
    let project = pyproject.project.as_ref();
    let project_name = project.and_then(|p| p.name.as_deref()).map(normalize);
    let root = lock.package.iter().find(|p| p.is_root() && Some(normalize(&p.name)) == project_name);
    match (&project_name, root) {
        (Some(name), None) => verdict
            .finding(Problem::OutOfSync, format!("project '{name}' of pyproject.toml is not in uv.lock (renamed?): out of sync, run `uv lock`")),
        (None, _) => verdict.finding(Problem::Incomplete, "pyproject.toml has no [project] name: the lock's root package cannot be matched"),
        _ => {}
    }
    if let (Some(m), Some(l)) = (project.and_then(|p| p.requires_python.as_deref()), lock.requires_python.as_deref())
        && m.replace(' ', "") != l.replace(' ', "")
    {
        verdict.finding(Problem::OutOfSync, format!("requires-python is '{m}' in pyproject.toml but '{l}' in uv.lock: out of sync, run `uv lock`"));
    }
    let recorded: BTreeSet<String> = root
        .and_then(|r| r.metadata.as_ref())
        .map(|m| m.requires_dist.iter().map(|d| requirement_key(&d.name, d.specifier.as_deref().unwrap_or(""))).collect())
        .unwrap_or_default();
    let versions: BTreeMap<String, &str> = lock.package.iter().map(|p| (normalize(&p.name), p.version.as_str())).collect();
    for text in project.map(|p| p.dependencies.as_slice()).unwrap_or_default() {
        let Ok(req) = pep::parse(text) else {
            verdict.finding(Problem::Malformed, format!("pyproject.toml: '{text}' is not a valid requirement"));
            continue;
        };
        if root.is_some() && !recorded.contains(&format!("{}{}", req.name, req.specifiers)) {
            verdict
                .finding(Problem::OutOfSync, format!("'{text}' of pyproject.toml is not what uv.lock was resolved for: out of sync, run `uv lock`"));
        }
        match versions.get(req.name.as_str()) {
            None => {
                verdict.finding(Problem::OutOfSync, format!("'{}' is in pyproject.toml but not in uv.lock: out of sync, run `uv lock`", req.name))
            }
            Some(version) if req.url.is_none() && !pep::satisfies(&req.specifiers, version).unwrap_or(false) => verdict.finding(
                Problem::OutOfSync,
                format!("'{}' is locked at {version}, outside '{}' in pyproject.toml: out of sync, run `uv lock`", req.name, req.specifiers),
            ),
            Some(_) => {}
        }
    }
}

/// A `pyproject.toml` with `[project].dependencies` and no lockfile at all.
pub fn unlocked_pyproject(pyproject: &Path) -> Option<LockVerdict> {
    let text = read_text(pyproject).ok()?;
    let table: PyProject = match parse_toml_as(pyproject, &text) {
        Ok(t) => t,
        Err(e) => return Some(LockVerdict::unreadable(pyproject, e)),
    };
    let count = table.project?.dependencies.len();
    if count == 0 {
        return None;
    }
    Some(LockVerdict::missing_lock(
        pyproject,
        &format!("{count} dependencies, no lockfile"),
        "pyproject.toml lists dependencies but no lockfile pins them (uv lock, poetry lock or pip-compile)",
    ))
}
