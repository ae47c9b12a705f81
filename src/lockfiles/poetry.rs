//! Poetry: `poetry.lock` against `pyproject.toml` (`[tool.poetry.*dependencies]`, groups, and
//! PEP 621 `[project].dependencies`). Poetry constraints (`^1.2`, `~1.2`, `1.2.*`, `||`) are
//! translated to PEP 440 and checked against the locked versions; every dependency of every
//! locked package must itself be locked; file hashes must be present (lock formats 1.x and 2.x).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::pep::{self, normalize};
use super::{Closure, LockVerdict, Problem, parse_toml_as, read_text};

/// Translates a Poetry version constraint to PEP 440 alternatives (any one may match).
pub fn to_pep440(constraint: &str) -> Vec<String> {
    constraint
        .split("||")
        .map(|alternative| {
            alternative
                .split([',', ' '])
                .map(str::trim)
                .filter(|p| !p.is_empty() && *p != "*")
                .map(|part| {
                    if let Some(v) = part.strip_prefix('^') {
                        caret(v.trim())
                    } else if let Some(v) = part.strip_prefix('~').filter(|v| !v.starts_with('=')) {
                        tilde(v.trim())
                    } else if part.starts_with(|c: char| c.is_ascii_digit()) {
                        format!("=={part}")
                    } else {
                        part.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn numbers(version: &str) -> Vec<u64> {
    version.split('.').map(|p| p.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0)).collect()
}

fn caret(version: &str) -> String {
    let parts = numbers(version);
    let bump = parts.iter().position(|&p| p != 0).unwrap_or(parts.len().saturating_sub(1));
    let upper: Vec<String> = (0..parts.len().max(1))
        .map(|i| match i.cmp(&bump) {
            std::cmp::Ordering::Less => parts[i].to_string(),
            std::cmp::Ordering::Equal => (parts.get(i).copied().unwrap_or(0) + 1).to_string(),
            std::cmp::Ordering::Greater => "0".to_string(),
        })
        .collect();
    format!(">={version},<{}", upper.join("."))
}

fn tilde(version: &str) -> String {
    let parts = numbers(version);
    let upper = match parts.as_slice() {
        [major] => format!("{}", major + 1),
        [major, minor, ..] => format!("{major}.{}", minor + 1),
        [] => return String::new(),
    };
    format!(">={version},<{upper}")
}

/// Whether `version` matches a Poetry constraint.
pub fn matches(constraint: &str, version: &str) -> Result<bool, String> {
    for alternative in to_pep440(constraint) {
        if pep::satisfies(&alternative, version)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A dependency declared in pyproject.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Declared {
    name: String,
    constraint: Option<String>,
    source: Option<String>,
    optional: bool,
    /// The PEP 508 marker that says where it applies (empty: everywhere).
    marker: String,
    /// A git source with no `rev` (a branch head or the default branch: not one commit).
    unpinned_git: bool,
}

/// The manifest side: `pyproject.toml`, as far as the audit reads it.
#[derive(Debug, Default, Deserialize)]
struct PyProject {
    tool: Option<Tool>,
    project: Option<Project>,
}

#[derive(Debug, Default, Deserialize)]
struct Tool {
    poetry: Option<PoetrySection>,
}

#[derive(Debug, Default, Deserialize)]
struct PoetrySection {
    #[serde(default)]
    dependencies: BTreeMap<String, DeclaredSpec>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, DeclaredSpec>,
    #[serde(default)]
    group: BTreeMap<String, Group>,
}

#[derive(Debug, Default, Deserialize)]
struct Group {
    #[serde(default)]
    dependencies: BTreeMap<String, DeclaredSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct Project {
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
}

/// `dep = "^1.2"`, `dep = { version = "^1.2", optional = true }`, `dep = { git = "...", rev = "..." }`,
/// or a list of those for different markers (the first one is compared).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DeclaredSpec {
    Constraint(String),
    Detailed(DeclaredDetail),
    Alternatives(Vec<DeclaredDetail>),
}

#[derive(Debug, Clone, Default, Deserialize)]
struct DeclaredDetail {
    version: Option<String>,
    git: Option<String>,
    path: Option<String>,
    url: Option<String>,
    rev: Option<String>,
    markers: Option<String>,
    #[serde(default)]
    optional: bool,
}

impl DeclaredSpec {
    fn declared(&self, name: &str) -> Declared {
        let detail = match self {
            Self::Constraint(c) => {
                return Declared {
                    name: normalize(name),
                    constraint: Some(c.clone()),
                    source: None,
                    optional: false,
                    marker: String::new(),
                    unpinned_git: false,
                };
            }
            Self::Detailed(d) => d.clone(),
            Self::Alternatives(list) => list.first().cloned().unwrap_or_default(),
        };
        let rev = detail.rev.as_deref().map(|r| format!(" rev {r}")).unwrap_or_default();
        let source = [("git", &detail.git), ("path", &detail.path), ("url", &detail.url)]
            .into_iter()
            .find_map(|(kind, value)| value.as_ref().map(|v| format!("{kind} {v}{rev}")));
        Declared {
            name: normalize(name),
            constraint: detail.version.or_else(|| Some("*".into())),
            source,
            optional: detail.optional,
            marker: detail.markers.unwrap_or_default(),
            unpinned_git: detail.git.is_some() && detail.rev.is_none(),
        }
    }
}

/// The interpreter range: `[project].requires-python`, else the Poetry `python` constraint
/// (when it has one alternative).
fn requires_python(pyproject: &PyProject) -> Option<String> {
    if let Some(range) = pyproject.project.as_ref().and_then(|p| p.requires_python.clone()) {
        return Some(range);
    }
    let poetry = pyproject.tool.as_ref()?.poetry.as_ref()?;
    let DeclaredSpec::Constraint(constraint) = poetry.dependencies.get("python")? else { return None };
    match to_pep440(constraint).as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// The main (not optional, not dev or group) registry dependencies, with their markers: what an
/// install of the project must have.
fn main_dependencies(pyproject: &PyProject) -> Vec<(String, String)> {
    let poetry = pyproject.tool.as_ref().and_then(|t| t.poetry.as_ref());
    let main =
        poetry.into_iter().flat_map(|p| p.dependencies.iter()).filter(|(name, _)| name.as_str() != "python").map(|(name, spec)| spec.declared(name));
    let project = pyproject.project.iter().flat_map(|p| p.dependencies.iter()).filter_map(|item| pep::parse(item).ok()).map(|req| Declared {
        name: req.name,
        constraint: None,
        source: req.url,
        optional: false,
        marker: req.marker,
        unpinned_git: false,
    });
    main.chain(project).filter(|d| !d.optional && d.source.is_none()).map(|d| (d.name, d.marker)).collect()
}

fn declared(pyproject: &PyProject) -> Vec<Declared> {
    let mut out = Vec::new();
    if let Some(poetry) = pyproject.tool.as_ref().and_then(|t| t.poetry.as_ref()) {
        let tables = [&poetry.dependencies, &poetry.dev_dependencies].into_iter().chain(poetry.group.values().map(|g| &g.dependencies));
        for table in tables {
            out.extend(table.iter().filter(|(name, _)| name.as_str() != "python").map(|(name, spec)| spec.declared(name)));
        }
    }
    for item in pyproject.project.iter().flat_map(|p| p.dependencies.iter()) {
        if let Ok(req) = pep::parse(item) {
            out.push(Declared {
                name: req.name,
                constraint: Some(req.specifiers),
                source: req.url,
                optional: false,
                marker: req.marker,
                unpinned_git: false,
            });
        }
    }
    out
}

/// A `poetry.lock` (formats 1.x and 2.x), as far as the audit reads it.
#[derive(Debug, Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
    #[serde(default)]
    metadata: PoetryMetadata,
}

#[derive(Debug, Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    files: Option<Vec<PoetryFile>>,
    #[serde(default)]
    dependencies: BTreeMap<String, PoetryDependency>,
}

#[derive(Debug, Default, Deserialize)]
struct PoetryMetadata {
    /// Lock format 1.x kept file hashes here, by package name.
    #[serde(default)]
    files: BTreeMap<String, Vec<PoetryFile>>,
}

#[derive(Debug, Deserialize)]
struct PoetryFile {
    hash: Option<String>,
}

/// `dep = ">=1"`, `dep = { version = ">=1", optional = true, markers = "..." }`, or a list of
/// those for different markers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PoetryDependency {
    Constraint(#[allow(dead_code)] String),
    Detailed(PoetryDetail),
    Alternatives(Vec<PoetryDetail>),
}

#[derive(Debug, Default, Deserialize)]
struct PoetryDetail {
    #[serde(default)]
    optional: bool,
    markers: Option<String>,
}

impl PoetryDetail {
    /// Needed without any extra: not optional, and its marker can hold with no extra asked for.
    fn required(&self) -> bool {
        !self.optional && self.markers.as_deref().is_none_or(pep::marker_holds_without_extras)
    }
}

impl PoetryDependency {
    fn required(&self) -> bool {
        match self {
            Self::Constraint(_) => true,
            Self::Detailed(detail) => detail.required(),
            Self::Alternatives(items) => items.iter().any(PoetryDetail::required),
        }
    }
}

/// A locked package.
struct Locked {
    version: String,
    hashes: usize,
    dependencies: Vec<String>,
}

fn locked(lock: &PoetryLock) -> BTreeMap<String, Locked> {
    let mut out = BTreeMap::new();
    for package in &lock.package {
        let files = package.files.as_ref().or_else(|| lock.metadata.files.get(&package.name));
        let hashes = files.map_or(0, |f| f.iter().filter(|e| e.hash.is_some()).count());
        let dependencies = package.dependencies.iter().filter(|(_, spec)| spec.required()).map(|(dep, _)| normalize(dep)).collect();
        out.insert(normalize(&package.name), Locked { version: package.version.clone(), hashes, dependencies });
    }
    out
}

/// Audits the Poetry project in `dir`.
pub fn audit(dir: &Path) -> LockVerdict {
    let lock_path = dir.join("poetry.lock");
    let pyproject_path = dir.join("pyproject.toml");
    if !lock_path.is_file() {
        return LockVerdict::missing_lock(&pyproject_path, "Poetry project without poetry.lock", "run `poetry lock` and commit poetry.lock");
    }
    let lock: PoetryLock = match read_text(&lock_path).and_then(|t| parse_toml_as(&lock_path, &t)) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(&lock_path, e),
    };
    let mut verdict = LockVerdict::new(&lock_path);
    verdict.universal = true;
    verdict.closure = Closure::Closed;
    let packages = locked(&lock);
    for (name, package) in &packages {
        verdict.python(name, &package.version);
    }
    for (name, package) in &packages {
        for dep in &package.dependencies {
            if !packages.contains_key(dep) {
                verdict.closure = Closure::Open;
                verdict.finding(Problem::NotClosed, format!("{dep} (required by {name}=={}) is not pinned in poetry.lock", package.version));
            }
        }
    }
    let unhashed: Vec<&String> = packages.iter().filter(|(_, p)| p.hashes == 0).map(|(n, _)| n).collect();
    if !unhashed.is_empty() {
        verdict.finding(Problem::Unhashed, format!("{} package(s) without file hashes: {}", unhashed.len(), join(&unhashed)));
    }
    let mut in_sync = "no pyproject.toml beside it to compare";
    if pyproject_path.is_file() {
        match read_text(&pyproject_path).and_then(|t| parse_toml_as::<PyProject>(&pyproject_path, &t)) {
            Err(e) => verdict.finding(Problem::Malformed, e),
            Ok(pyproject) => {
                verdict.manifest = Some("pyproject.toml".into());
                compare_with_pyproject(&pyproject, &packages, &mut verdict);
                verdict.requires_python = requires_python(&pyproject);
                in_sync = if verdict.has(Problem::OutOfSync) { "out of sync with pyproject.toml" } else { "in sync with pyproject.toml" };
            }
        }
    }
    verdict.summary = format!("{} packages locked, {in_sync}", packages.len());
    verdict
}

/// Every dependency pyproject.toml declares must be locked at a version its constraint allows.
fn compare_with_pyproject(pyproject: &PyProject, packages: &BTreeMap<String, Locked>, verdict: &mut LockVerdict) {
    verdict.direct = main_dependencies(pyproject);
    for dep in declared(pyproject) {
        if let Some(source) = &dep.source {
            if dep.unpinned_git {
                verdict.finding(Problem::Unpinned, format!("'{}' comes from {source} without a pinned rev", dep.name));
            }
            continue;
        }
        let Some(package) = packages.get(&dep.name) else {
            if !dep.optional {
                verdict.finding(
                    Problem::OutOfSync,
                    format!("'{}' is in pyproject.toml but not in poetry.lock: out of sync, run `poetry lock`", dep.name),
                );
            }
            continue;
        };
        let constraint = dep.constraint.unwrap_or_default();
        match matches(&constraint, &package.version) {
            Ok(true) => {}
            Ok(false) => verdict.finding(
                Problem::OutOfSync,
                format!("'{}' is locked at {}, outside '{constraint}' in pyproject.toml: out of sync, run `poetry lock`", dep.name, package.version),
            ),
            Err(e) => verdict.finding(Problem::Malformed, format!("pyproject.toml: '{}': {e}", dep.name)),
        }
    }
}

fn join(names: &[&String]) -> String {
    names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_dependencies_come_from_every_table_typed() {
        let text = "[tool.poetry.dependencies]\npython = \"^3.11\"\nnumpy = \"^2.4\"\nlib = { git = \"https://x/lib.git\" }\n\
                    extra = { version = \">=1\", optional = true }\nmulti = [{ version = \"1.0\", markers = \"sys_platform == 'linux'\" }]\n\
                    [tool.poetry.group.test.dependencies]\npytest = \"8.0\"\n[project]\ndependencies = [\"Requests>=2\"]\n";
        let pyproject: PyProject = toml::from_str(text).unwrap();
        let unpinned: Vec<String> = declared(&pyproject).into_iter().filter(|d| d.unpinned_git).map(|d| d.name).collect();
        assert_eq!(unpinned, ["lib"]);
        let found: Vec<(String, Option<String>, Option<String>, bool)> =
            declared(&pyproject).into_iter().map(|d| (d.name, d.constraint, d.source, d.optional)).collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            found,
            [
                ("extra".into(), some(">=1"), None, true),
                ("lib".into(), some("*"), some("git https://x/lib.git"), false),
                ("multi".into(), some("1.0"), None, false),
                ("numpy".into(), some("^2.4"), None, false),
                ("pytest".into(), some("8.0"), None, false),
                ("requests".into(), some(">=2"), None, false),
            ]
        );
    }

    #[test]
    fn poetry_constraints_translate_to_pep_440() {
        assert_eq!(to_pep440("^1.2.3"), vec![">=1.2.3,<2.0.0"]);
        assert_eq!(to_pep440("^0.2.3"), vec![">=0.2.3,<0.3.0"]);
        assert_eq!(to_pep440("^0.0.3"), vec![">=0.0.3,<0.0.4"]);
        assert_eq!(to_pep440("~1.2.3"), vec![">=1.2.3,<1.3"]);
        assert_eq!(to_pep440("1.2.3"), vec!["==1.2.3"]);
        assert_eq!(to_pep440("*"), vec![""]);
        assert_eq!(to_pep440(">=1.0,<2.0 || ^3"), vec![">=1.0,<2.0", ">=3,<4"]);
        assert!(matches("^5.3.2", "5.9.0").unwrap());
        assert!(!matches("^5.3.2", "6.0.0").unwrap());
        assert!(matches(">0.990", "1.7.1").unwrap());
        assert!(matches("~=1.4", "1.9").unwrap());
    }
}
