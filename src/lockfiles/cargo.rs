//! Cargo: `Cargo.lock` must agree with `Cargo.toml` and registry packages must carry checksums.
//!
//! Both files are read as data (typed TOML); cargo is never run. Running it in an audited
//! folder would run that folder's code: `.cargo/config.toml` can name a `rustc`, a
//! `rustc-wrapper` or a runner, and `rust-toolchain.toml` can make rustup install a toolchain.
//! "In sync" means what `cargo --locked` checks for the packages of the manifest: each package
//! is in the lock, each of its dependencies is locked beside it at a version its requirement
//! accepts, and the lock lists no dependency the manifest no longer has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Closure, Ecosystem, Finding, LockVerdict, Problem, file_name, parse_toml, read_text};

/// A `Cargo.lock`, as far as the audit reads it.
#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockedPackage>,
    /// Lock format v1 kept checksums here; v2+ keeps them on each package.
    #[serde(default)]
    metadata: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
struct LockedPackage {
    name: Option<String>,
    version: Option<String>,
    source: Option<String>,
    checksum: Option<String>,
    /// `name`, `name version` or `name version (source)`.
    #[serde(default)]
    dependencies: Vec<String>,
}

/// A `Cargo.toml`, as far as the audit reads it (every other key is ignored).
#[derive(Debug, Default, Deserialize)]
struct Manifest {
    package: Option<Package>,
    #[serde(default)]
    dependencies: BTreeMap<String, Dependency>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Dependency>,
    #[serde(default, rename = "build-dependencies")]
    build_dependencies: BTreeMap<String, Dependency>,
    #[serde(default)]
    target: BTreeMap<String, Manifest>,
    workspace: Option<Workspace>,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    /// A string, or `{ workspace = true }`.
    version: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Workspace {
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, Dependency>,
    package: Option<toml::Table>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Dependency {
    Version(String),
    Detailed(DetailedDependency),
}

#[derive(Debug, Clone, Default, Deserialize)]
struct DetailedDependency {
    version: Option<String>,
    /// The crate's real name when the key renames it.
    package: Option<String>,
    #[serde(default)]
    workspace: bool,
}

impl Dependency {
    /// The crate name the lock uses and the version requirement, if any.
    fn resolve(&self, key: &str, workspace: &BTreeMap<String, Dependency>) -> (String, Option<String>) {
        match self {
            Self::Version(v) => (key.to_string(), Some(v.clone())),
            Self::Detailed(d) if d.workspace => {
                let (name, version) = workspace.get(key).map_or((key.to_string(), None), |w| w.resolve(key, &BTreeMap::new()));
                (d.package.clone().unwrap_or(name), version)
            }
            Self::Detailed(d) => (d.package.clone().unwrap_or_else(|| key.to_string()), d.version.clone()),
        }
    }
}

impl Manifest {
    /// Every dependency of every kind and target, as (crate name, version requirement).
    fn all_dependencies(&self, workspace: &BTreeMap<String, Dependency>) -> Vec<(String, Option<String>)> {
        let mut out: Vec<_> = [&self.dependencies, &self.dev_dependencies, &self.build_dependencies]
            .into_iter()
            .flat_map(|deps| deps.iter().map(|(key, dep)| dep.resolve(key, workspace)))
            .collect();
        for target in self.target.values() {
            out.extend(target.all_dependencies(workspace));
        }
        out
    }
}

/// Audits the Cargo project in `dir`.
pub fn audit(dir: &Path) -> LockVerdict {
    let manifest = dir.join("Cargo.toml");
    let lock = dir.join("Cargo.lock");
    if !lock.is_file() {
        let mut verdict =
            LockVerdict::missing_lock(&manifest, "Cargo.toml has no Cargo.lock beside it", "run `cargo generate-lockfile` and commit Cargo.lock");
        verdict.ecosystem = Ecosystem::Rust;
        return verdict;
    }
    let (mut verdict, locked) = match read_lock_packages(&lock) {
        Ok(v) => v,
        Err(problem) => {
            let mut verdict = LockVerdict::unreadable(&lock, problem);
            verdict.ecosystem = Ecosystem::Rust;
            return verdict;
        }
    };
    verdict.manifest = manifest.is_file().then(|| "Cargo.toml".to_string());
    let packages = verdict.resolved.len();
    if !verdict.findings.is_empty() {
        let missing: Vec<String> = std::mem::take(&mut verdict.findings).into_iter().map(|f| f.text).collect();
        verdict.finding(Problem::Unhashed, format!("{} registry package(s) without a checksum: {}", missing.len(), missing.join(", ")));
    }
    if !manifest.is_file() {
        verdict.summary = format!("{packages} packages locked (no Cargo.toml beside it to compare)");
        return verdict;
    }
    let problems = match read_manifest(&manifest).and_then(|root| compare(dir, &root, &locked)) {
        Ok(problems) => problems,
        Err(problem) => {
            verdict.summary = "could not be compared with Cargo.toml".into();
            verdict.finding(Problem::Incomplete, problem);
            return verdict;
        }
    };
    if problems.is_empty() {
        verdict.summary = format!("in sync with Cargo.toml ({packages} packages locked)");
    } else {
        verdict.summary = "out of sync with Cargo.toml".into();
        for problem in problems {
            verdict.finding(Problem::OutOfSync, problem);
        }
        verdict.finding(Problem::OutOfSync, "run `cargo update -w` and commit Cargo.lock");
    }
    verdict
}

fn read_manifest(path: &Path) -> Result<Manifest, String> {
    let text = read_text(path)?;
    let table = parse_toml(path, &text)?;
    toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| format!("{}: {}", file_name(path), e.message()))
}

/// The workspace's package manifests: the root's own package and every member's.
fn members(dir: &Path, root: &Manifest) -> Result<Vec<(PathBuf, Manifest)>, String> {
    let mut out = Vec::new();
    let Some(workspace) = &root.workspace else { return Ok(out) };
    for pattern in &workspace.members {
        let folders = match pattern.strip_suffix("/*") {
            Some(parent) if !parent.contains('*') => {
                let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join(parent))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.join("Cargo.toml").is_file())
                    .collect();
                found.sort();
                found
            }
            _ if pattern.contains(['*', '?', '[']) => return Err(format!("Cargo.toml: workspace member pattern '{pattern}' is not supported")),
            _ => vec![dir.join(pattern)],
        };
        for folder in folders {
            let excluded = workspace.exclude.iter().any(|e| folder == dir.join(e));
            let path = folder.join("Cargo.toml");
            if !excluded && path.is_file() && folder != dir {
                let member = read_manifest(&path)?;
                out.push((path, member));
            }
        }
    }
    Ok(out)
}

/// Where the lock disagrees with the manifests, one line each.
fn compare(dir: &Path, root: &Manifest, locked: &[Locked]) -> Result<Vec<String>, String> {
    let empty = BTreeMap::new();
    let shared = root.workspace.as_ref().map_or(&empty, |w| &w.dependencies);
    let mut manifests = vec![(dir.join("Cargo.toml"), root)];
    let members = members(dir, root)?;
    manifests.extend(members.iter().map(|(p, m)| (p.clone(), m)));
    let mut problems = Vec::new();
    for (path, manifest) in manifests {
        let Some(package) = &manifest.package else { continue };
        let shown = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
        let version = package.version.as_ref().and_then(toml::Value::as_str).map(str::to_string);
        let version = version.or_else(|| {
            let inherited = root.workspace.as_ref().and_then(|w| w.package.as_ref()).and_then(|p| p.get("version"));
            inherited.and_then(toml::Value::as_str).map(str::to_string)
        });
        let entry = locked.iter().find(|l| l.name == package.name && l.source.is_none() && version.as_ref().is_none_or(|v| *v == l.version));
        let Some(entry) = entry else {
            problems.push(format!("package '{}' of {shown} is not in Cargo.lock", package.name));
            continue;
        };
        problems.extend(compare_package(&shown, manifest, shared, entry, locked));
    }
    Ok(problems)
}

fn compare_package(shown: &str, manifest: &Manifest, shared: &BTreeMap<String, Dependency>, entry: &Locked, locked: &[Locked]) -> Vec<String> {
    let mut problems = Vec::new();
    let wanted = manifest.all_dependencies(shared);
    for (name, requirement) in &wanted {
        let candidates: Vec<&Locked> = entry.dependencies.iter().filter(|d| d.name == *name).filter_map(|d| d.find(locked)).collect();
        if candidates.is_empty() && !entry.dependencies.iter().any(|d| d.name == *name) {
            problems.push(format!("'{name}' is in {shown} but not in Cargo.lock"));
            continue;
        }
        let Some(requirement) = requirement else { continue };
        let Ok(req) = semver::VersionReq::parse(requirement) else {
            problems.push(format!("'{name}': version requirement '{requirement}' in {shown} does not parse"));
            continue;
        };
        let accepted = candidates.iter().any(|c| semver::Version::parse(&c.version).is_ok_and(|v| req.matches(&v)));
        if !accepted {
            let versions: Vec<&str> = candidates.iter().map(|c| c.version.as_str()).collect();
            problems.push(format!("'{name}' is locked at {}, outside '{requirement}' in {shown}", versions.join(", ")));
        }
    }
    for dependency in &entry.dependencies {
        if !wanted.iter().any(|(name, _)| *name == dependency.name) {
            problems.push(format!("'{}' is in Cargo.lock but no longer in {shown}", dependency.name));
        }
    }
    problems
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Locked {
    name: String,
    version: String,
    source: Option<String>,
    dependencies: Vec<DependencyRef>,
}

/// A lock entry's reference to another: `name`, `name version` or `name version (source)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DependencyRef {
    name: String,
    version: Option<String>,
}

impl DependencyRef {
    fn parse(text: &str) -> Self {
        let mut parts = text.split_whitespace();
        let name = parts.next().unwrap_or_default().to_string();
        Self { name, version: parts.next().map(str::to_string) }
    }

    /// The locked package this reference points at.
    fn find<'l>(&self, locked: &'l [Locked]) -> Option<&'l Locked> {
        let mut matches = locked.iter().filter(|l| l.name == self.name && self.version.as_ref().is_none_or(|v| *v == l.version));
        matches.next()
    }
}

/// Parses a Cargo.lock: resolved packages, and (as `Unhashed` findings) registry packages without checksum.
pub fn read_lock(lock: &Path) -> Result<LockVerdict, String> {
    read_lock_packages(lock).map(|(verdict, _)| verdict)
}

fn read_lock_packages(lock: &Path) -> Result<(LockVerdict, Vec<Locked>), String> {
    let text = read_text(lock)?;
    let table = parse_toml(lock, &text)?;
    let parsed: Lock = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| format!("{}: {}", lock.display(), e.message()))?;
    let mut verdict = LockVerdict::new(lock);
    // Cargo resolves the whole graph into the lock: it is closed by construction.
    verdict.ecosystem = Ecosystem::Rust;
    verdict.closure = Closure::Closed;
    let mut locked = Vec::new();
    for (index, package) in parsed.package.into_iter().enumerate() {
        let (Some(name), Some(version)) = (package.name, package.version) else {
            return Err(format!("{}: [[package]] #{} has no name or version", lock.display(), index + 1));
        };
        verdict.resolved.push(format!("crates:{name}=={version}"));
        let registry = package.source.as_deref().is_some_and(|s| s.starts_with("registry+"));
        if registry && package.checksum.is_none() && parsed.metadata.is_empty() {
            verdict.findings.push(Finding { problem: Problem::Unhashed, text: format!("{name} {version}") });
        }
        let dependencies = package.dependencies.iter().map(|d| DependencyRef::parse(d)).collect();
        locked.push(Locked { name, version, source: package.source, dependencies });
    }
    Ok((verdict, locked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_packages_without_checksums_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("Cargo.lock");
        std::fs::write(
            &lock,
            "version = 4\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        let verdict = read_lock(&lock).unwrap();
        assert_eq!(verdict.resolved, vec!["crates:a==1.0.0", "crates:b==0.1.0"]);
        assert_eq!(verdict.findings.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(), vec!["a 1.0.0"]);
        std::fs::write(&lock, "[[package]]\nversion = \"1\"\n").unwrap();
        assert!(read_lock(&lock).unwrap_err().contains("has no name"));
    }

    fn project(manifest: &str, lock: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), lock).unwrap();
        audit(dir.path()).findings.into_iter().map(|f| f.text).collect()
    }

    const LOCK: &str = "version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\", \"serde_json 1.0.1\"]\n\n\
        [[package]]\nname = \"itoa\"\nversion = \"1.0.18\"\nsource = \"registry+x\"\nchecksum = \"00\"\n\n\
        [[package]]\nname = \"serde_json\"\nversion = \"1.0.1\"\nsource = \"registry+x\"\nchecksum = \"00\"\n";

    #[test]
    fn renamed_target_and_dev_dependencies_count_as_direct() {
        let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n[dependencies]\njson = { package = \"serde_json\", version = \"1\" }\n\
                        [target.'cfg(unix)'.dev-dependencies]\nitoa = \"1.0.5\"\n";
        assert!(project(manifest, LOCK).is_empty(), "{:?}", project(manifest, LOCK));
    }

    #[test]
    fn a_missing_an_extra_and_an_outdated_dependency_are_each_named() {
        let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n[dependencies]\nitoa = \"2\"\nryu = \"1\"\n";
        assert_eq!(
            project(manifest, LOCK),
            [
                "'itoa' is locked at 1.0.18, outside '2' in Cargo.toml",
                "'ryu' is in Cargo.toml but not in Cargo.lock",
                "'serde_json' is in Cargo.lock but no longer in Cargo.toml",
                "run `cargo update -w` and commit Cargo.lock",
            ]
        );
    }
}
