//! The installed Python environment, read as files: Python is never run. A venv (`pyvenv.cfg`),
//! a conda prefix (`conda-meta/*.json`) or a bare `site-packages` folder; each distribution's
//! `*.dist-info/METADATA` (name, version, `Requires-Dist`), and the interpreter version. Every
//! file is read through the one opener, contained in the environment's folder (no symlink out)
//! and under a size limit. This module answers two questions with facts: which pinned packages
//! differ from what is installed, and which packages the pinned ones need are not pinned
//! (PEP 508 markers and extras evaluated for this interpreter).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifier};
use pep508_rs::{ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, MarkerTree, Requirement};
use serde::Deserialize;

use crate::lockfiles::Pin;
use crate::lockfiles::pep::normalize;
use crate::sandbox::open::{self, OpenError};

/// A METADATA file or conda record larger than this is refused (real ones are far smaller).
const MAX_METADATA_BYTES: u64 = 8 << 20;
/// Distributions that install others: present in every environment, pinned by nobody.
pub const INSTALLERS: &[&str] = &["pip", "setuptools", "wheel", "uv", "distribute", "pkg-resources", "pip-tools", "pipenv", "poetry"];

/// Where the environment was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    VirtualEnv,
    CondaPrefix,
    ProjectVenv,
}

impl Origin {
    /// How the report names the origin.
    pub fn label(self) -> &'static str {
        match self {
            Self::Flag => "--env",
            Self::VirtualEnv => "$VIRTUAL_ENV",
            Self::CondaPrefix => "$CONDA_PREFIX",
            Self::ProjectVenv => "the project's .venv",
        }
    }
}

/// What kind of folder the environment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Venv,
    Conda,
    SitePackages,
}

/// One installed distribution.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// As its METADATA writes it.
    pub name: String,
    pub version: String,
    pub requires: Vec<Requirement>,
}

/// An installed environment, read.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    /// The folder as given or found (for messages).
    pub path: PathBuf,
    pub origin: Origin,
    pub kind: Kind,
    /// The interpreter's full version (`3.11.7`), or its `X.Y` when only the folder names it.
    pub python: Option<String>,
    /// Installed distributions by normalized name.
    pub distributions: BTreeMap<String, Distribution>,
    /// Conda packages by normalized name (conda prefixes only).
    pub conda_packages: BTreeMap<String, String>,
    /// What each conda package depends on (normalized names; virtual `__` packages left out).
    pub conda_depends: BTreeMap<String, Vec<String>>,
    /// Files that could not be read or parsed, each naming the file.
    pub problems: Vec<String>,
}

/// Why an environment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{0}: no such folder")]
    Missing(String),
    #[error("{0}: not a Python environment (no pyvenv.cfg, conda-meta/ or *.dist-info inside)")]
    NotAnEnvironment(String),
    #[error("{path}: {source}")]
    Unreadable { path: String, source: OpenError },
    #[error("{0}: resolves outside the project folder (a symlink out of it); not read, pass --env to use it")]
    OutsideProject(String),
}

/// Whether `--env` was given the word `none`: no environment at all, not even a default one
/// (a folder named `none` is given as `./none`).
pub fn is_none_flag(path: &Path) -> bool {
    path.as_os_str() == "none"
}

/// The environment to compare with: `--env`, else `$VIRTUAL_ENV`, `$CONDA_PREFIX`, then the
/// `.venv` of the first project folder that has one (the places runtime discovery looks; a
/// project's `.venv` must resolve inside the project, which [`read`] checks).
pub fn discover(flag: Option<&Path>, project_dirs: &[PathBuf]) -> Option<(PathBuf, Origin)> {
    if let Some(path) = flag {
        return Some((path.to_path_buf(), Origin::Flag));
    }
    for (var, origin) in [("VIRTUAL_ENV", Origin::VirtualEnv), ("CONDA_PREFIX", Origin::CondaPrefix)] {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Some((PathBuf::from(value), origin));
        }
    }
    project_dirs.iter().map(|d| d.join(".venv")).find(|v| v.is_dir()).map(|v| (v, Origin::ProjectVenv))
}

/// Reads the environment at `path`.
pub fn read(path: &Path, origin: Origin) -> Result<PythonEnv, EnvError> {
    let shown = path.display().to_string();
    if !path.is_dir() {
        return Err(EnvError::Missing(shown));
    }
    // A `.venv` found in an audited project is that project's file: it must lie inside it.
    if origin == Origin::ProjectVenv
        && let Some(project) = path.parent()
        && open::contain(project, path).is_err()
    {
        return Err(EnvError::OutsideProject(shown));
    }
    let root = path.canonicalize().map_err(|e| EnvError::Unreadable { path: shown.clone(), source: e.into() })?;
    let kind = if root.join("pyvenv.cfg").is_file() {
        Kind::Venv
    } else if root.join("conda-meta").is_dir() {
        Kind::Conda
    } else if has_dist_info(&root) {
        Kind::SitePackages
    } else {
        return Err(EnvError::NotAnEnvironment(shown));
    };
    let mut env = PythonEnv {
        path: path.to_path_buf(),
        origin,
        kind,
        python: None,
        distributions: BTreeMap::new(),
        conda_packages: BTreeMap::new(),
        conda_depends: BTreeMap::new(),
        problems: Vec::new(),
    };
    let site_dirs = match kind {
        Kind::SitePackages => vec![root.clone()],
        _ => site_packages(&root),
    };
    env.python = match kind {
        Kind::Venv => read_pyvenv_cfg(&root).map_err(|source| EnvError::Unreadable { path: format!("{shown}/pyvenv.cfg"), source })?,
        _ => None,
    };
    if kind == Kind::Conda {
        read_conda_meta(&root, &mut env);
    }
    if env.python.is_none() {
        env.python = site_dirs.iter().find_map(|d| version_from_lib_folder(d));
    }
    for dir in &site_dirs {
        read_site_packages(&root, dir, &mut env);
    }
    Ok(env)
}

fn has_dist_info(dir: &Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.ends_with(".dist-info") || name.ends_with(".egg-info")
    })
}

/// `lib/pythonX.Y/site-packages` (and `lib64`, Windows' `Lib/site-packages`), inside `root`.
fn site_packages(root: &Path) -> Vec<PathBuf> {
    let mut found = BTreeSet::new();
    for lib in ["lib", "lib64", "Lib"] {
        let Ok(entries) = std::fs::read_dir(root.join(lib)) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let candidate = if entry.file_name() == "site-packages" { path } else { path.join("site-packages") };
            // Resolved, so `lib64 -> lib` is read once; never outside the environment.
            if let Ok(real) = open::contain(root, &candidate)
                && real.is_dir()
            {
                found.insert(real);
            }
        }
    }
    found.into_iter().collect()
}

/// `pyvenv.cfg`: `version = 3.11.7` (venv, virtualenv) or `version_info = 3.11.7.final.0` (uv).
fn read_pyvenv_cfg(root: &Path) -> Result<Option<String>, OpenError> {
    let text = open::read_text_within(root, &root.join("pyvenv.cfg"), MAX_METADATA_BYTES)?;
    let mut version = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim();
        match key.trim() {
            "version" | "version_info" => {
                let numeric: Vec<&str> = value.split('.').take_while(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty()).collect();
                if numeric.len() >= 2 {
                    version = Some(numeric.join("."));
                }
            }
            _ => {}
        }
    }
    Ok(version)
}

/// `.../lib/python3.11/site-packages` → `3.11`.
fn version_from_lib_folder(site: &Path) -> Option<String> {
    let name = site.parent()?.file_name()?.to_string_lossy().into_owned();
    let version = name.strip_prefix("python")?;
    (version.split('.').count() == 2 && version.split('.').all(|p| p.parse::<u32>().is_ok())).then(|| version.to_string())
}

/// A conda package record, `conda-meta/<name>-<version>-<build>.json`.
#[derive(Debug, Deserialize)]
struct CondaRecord {
    name: String,
    version: String,
    /// Match specs (`numpy >=1.21,<3`, `__glibc >=2.17`): the record's own dependency graph.
    #[serde(default)]
    depends: Vec<String>,
}

fn read_conda_meta(root: &Path, env: &mut PythonEnv) {
    let meta = root.join("conda-meta");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&meta).into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.sort();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let record = open::read_text_within(root, file, MAX_METADATA_BYTES)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<CondaRecord>(&t).map_err(|e| e.to_string()));
        match record {
            Ok(record) => {
                if record.name == "python" {
                    env.python = Some(record.version.clone());
                }
                let depends = record
                    .depends
                    .iter()
                    .filter_map(|spec| spec.split_whitespace().next())
                    .filter(|name| !name.starts_with("__"))
                    .map(normalize)
                    .collect();
                env.conda_depends.insert(normalize(&record.name), depends);
                env.conda_packages.insert(normalize(&record.name), record.version);
            }
            Err(e) => env.problems.push(format!("{}: {e}", file.display())),
        }
    }
}

fn read_site_packages(root: &Path, dir: &Path, env: &mut PythonEnv) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".dist-info") || n.to_string_lossy().ends_with(".egg-info")))
        .collect();
    entries.sort();
    for entry in entries {
        match read_distribution(root, &entry) {
            Ok((dist, problems)) => {
                env.problems.extend(problems.into_iter().map(|p| format!("{}: {p}", entry.display())));
                env.distributions.entry(normalize(&dist.name)).or_insert(dist);
            }
            Err(e) => env.problems.push(e),
        }
    }
}

/// One installed distribution: `NAME.dist-info/METADATA`, or the older `NAME.egg-info/PKG-INFO`
/// (a folder, with its requirements in `requires.txt`) or `NAME.egg-info` (a file, distutils).
fn read_distribution(root: &Path, entry: &Path) -> Result<(Distribution, Vec<String>), String> {
    let read = |file: &Path| open::read_text_within(root, file, MAX_METADATA_BYTES).map_err(|e| format!("{}: {e}", file.display()));
    let is_egg = entry.extension().is_some_and(|e| e == "egg-info");
    let metadata = match (is_egg, entry.is_dir()) {
        (false, _) => entry.join("METADATA"),
        (true, true) => entry.join("PKG-INFO"),
        (true, false) => entry.to_path_buf(),
    };
    let (mut dist, mut problems) = parse_metadata(&read(&metadata)?).map_err(|e| format!("{}: {e}", metadata.display()))?;
    let requires = entry.join("requires.txt");
    if is_egg && requires.is_file() {
        for line in egg_requirements(&read(&requires)?) {
            match crate::guard::catch_panic(|| Requirement::from_str(&line)) {
                Ok(Ok(req)) => dist.requires.push(req),
                _ => problems.push(format!("requires.txt: '{line}' is not a valid requirement")),
            }
        }
    }
    Ok((dist, problems))
}

/// `requires.txt` of an egg-info: requirement lines under `[extra]`, `[:marker]` or
/// `[extra:marker]` sections, rewritten as PEP 508 requirements with their marker.
fn egg_requirements(text: &str) -> Vec<String> {
    let mut marker = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (extra, condition) = section.split_once(':').unwrap_or((section, ""));
            marker = match (extra.trim(), condition.trim()) {
                ("", "") => String::new(),
                ("", c) => c.to_string(),
                (e, "") => format!("extra == \"{e}\""),
                (e, c) => format!("({c}) and extra == \"{e}\""),
            };
            continue;
        }
        out.push(if marker.is_empty() { line.to_string() } else { format!("{line} ; {marker}") });
    }
    out
}

/// The header block of a core-metadata file (RFC 822 style): `Name`, `Version` and each
/// `Requires-Dist`. A `Requires-Dist` that is not valid PEP 508 is reported, not guessed at.
pub fn parse_metadata(text: &str) -> Result<(Distribution, Vec<String>), String> {
    let (mut name, mut version, mut requires, mut problems) = (None, None, Vec::new(), Vec::new());
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break; // the description body follows
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    for (key, value) in fields {
        match key.as_str() {
            "name" => name = Some(value),
            "version" => version = Some(value),
            "requires-dist" => match crate::guard::catch_panic(|| Requirement::from_str(&value)) {
                Ok(Ok(req)) => requires.push(req),
                Ok(Err(e)) => problems.push(format!("Requires-Dist '{value}': {}", e.to_string().lines().next().unwrap_or_default())),
                Err(e) => problems.push(format!("Requires-Dist '{value}': {e}")),
            },
            _ => {}
        }
    }
    match (name, version) {
        (Some(name), Some(version)) => Ok((Distribution { name, version, requires }, problems)),
        _ => Err("no Name or Version field".to_string()),
    }
}

impl PythonEnv {
    /// How messages name this environment: the folder as given.
    pub fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// The marker environment of this interpreter on this machine (the environment is read on
    /// the machine that uses it). `None` when the interpreter version is unknown.
    pub fn markers(&self) -> Option<MarkerEnvironment> {
        let full = self.python.as_deref()?;
        let short: String = full.split('.').take(2).collect::<Vec<_>>().join(".");
        let (os_name, sys_platform, system) = match std::env::consts::OS {
            "windows" => ("nt", "win32", "Windows"),
            "macos" => ("posix", "darwin", "Darwin"),
            other => ("posix", other, "Linux"),
        };
        let machine = match (std::env::consts::OS, std::env::consts::ARCH) {
            ("macos", "aarch64") => "arm64",
            ("windows", "x86_64") => "AMD64",
            (_, arch) => arch,
        };
        MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: full,
            os_name,
            platform_machine: machine,
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: system,
            platform_version: "",
            python_full_version: full,
            python_version: &short,
            sys_platform,
        })
        .ok()
    }
}

/// Whether a pin applies here: its marker (empty: everywhere) holds for this environment.
pub fn pin_applies(pin: &Pin, markers: Option<&MarkerEnvironment>) -> bool {
    if pin.marker.trim().is_empty() {
        return true;
    }
    match (MarkerTree::from_str(&pin.marker), markers) {
        (Ok(tree), Some(env)) => tree.evaluate(env, &[]),
        _ => true,
    }
}

/// A difference between the pins and what is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Installed at another version than pinned.
    Version { name: String, pinned: String, installed: String },
    /// Pinned (and applying here) but not installed.
    NotInstalled { name: String, pinned: String },
    /// Installed, not an installer, and pinned nowhere.
    NotPinned { name: String, installed: String },
}

/// Every pinned package against the environment, and every installed one against the pins.
/// `own` names the project's own packages (installed from source, never pinned).
pub fn drift(env: &PythonEnv, pins: &BTreeMap<String, Vec<Pin>>, own: &BTreeSet<String>) -> Vec<Drift> {
    let markers = env.markers();
    let mut out = Vec::new();
    for (name, versions) in pins {
        let applying: Vec<&Pin> = versions.iter().filter(|p| pin_applies(p, markers.as_ref())).collect();
        let Some(first) = applying.first() else { continue };
        let installed = env.distributions.get(name).map(|d| d.version.clone()).or_else(|| env.conda_packages.get(name).cloned());
        match installed {
            None => out.push(Drift::NotInstalled { name: name.clone(), pinned: first.version.clone() }),
            Some(installed) if !applying.iter().any(|p| pin_accepts(&p.version, &installed)) => {
                out.push(Drift::Version { name: name.clone(), pinned: first.version.clone(), installed })
            }
            Some(_) => {}
        }
    }
    for (name, dist) in &env.distributions {
        if !pins.contains_key(name) && !INSTALLERS.contains(&name.as_str()) && !own.contains(name) {
            out.push(Drift::NotPinned { name: name.clone(), installed: dist.version.clone() });
        }
    }
    out
}

/// PEP 440 equality (`1.0` == `1.0.0`), falling back to text when either does not parse.
pub fn same_version(a: &str, b: &str) -> bool {
    match (Version::from_str(a), Version::from_str(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether an installed version is what `==pinned` accepts: PEP 440 equality, where a pin
/// without a local label accepts a local build of it (`==2.3.0` accepts `2.3.0+cpu`, as pip does).
pub fn pin_accepts(pinned: &str, installed: &str) -> bool {
    match (VersionSpecifier::from_str(&format!("=={pinned}")), Version::from_str(installed)) {
        (Ok(spec), Ok(version)) => spec.contains(&version),
        _ => same_version(pinned, installed),
    }
}

/// A package the pinned set needs that is not pinned, with the package that needs it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unpinned {
    pub name: String,
    pub required_by: String,
    pub required_by_version: String,
    /// Whether the environment has it at all.
    pub installed: bool,
}

/// Why closure could not be judged from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosureUnknown {
    /// The interpreter version is unknown, so markers cannot be evaluated.
    NoInterpreterVersion,
}

/// Walks `Requires-Dist` from every root that is installed, with markers and extras evaluated
/// for this interpreter (each root with the extras the lock asks for, `requests[socks]`), and
/// names each required package that `pinned` lacks.
pub fn unpinned_requirements(
    env: &PythonEnv,
    roots: &BTreeSet<String>,
    extras: &BTreeMap<String, BTreeSet<String>>,
    pinned: &BTreeSet<String>,
) -> Result<Vec<Unpinned>, ClosureUnknown> {
    Ok(first_per_name(requirement_edges(env, roots, extras)?.into_iter().filter(|e| !pinned.contains(&e.name))))
}

/// Walks `Requires-Dist` the same way and names each required package, pinned or not, that the
/// environment does not have.
pub fn uninstalled_requirements(env: &PythonEnv, pinned: &BTreeSet<String>) -> Result<Vec<Unpinned>, ClosureUnknown> {
    Ok(first_per_name(requirement_edges(env, pinned, &BTreeMap::new())?.into_iter().filter(|e| !e.installed)))
}

/// Walks the conda records' `depends` from every root the prefix has, and names each package
/// `pinned` lacks (conda match specs carry no markers: every dependency applies).
pub fn unpinned_conda_requirements(env: &PythonEnv, roots: &BTreeSet<String>, pinned: &BTreeSet<String>) -> Vec<Unpinned> {
    let mut queue: Vec<String> = roots.iter().filter(|n| env.conda_packages.contains_key(*n)).cloned().collect();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut edges = Vec::new();
    while let Some(name) = queue.pop() {
        let version = env.conda_packages.get(&name).cloned().unwrap_or_default();
        for dep in env.conda_depends.get(&name).into_iter().flatten() {
            let installed = env.conda_packages.contains_key(dep);
            if !pinned.contains(dep) {
                edges.push(Unpinned { name: dep.clone(), required_by: name.clone(), required_by_version: version.clone(), installed });
            }
            if installed && seen.insert(dep.clone()) {
                queue.push(dep.clone());
            }
        }
    }
    edges.sort();
    first_per_name(edges.into_iter())
}

/// One entry per required package: the first package (by name) that needs it.
fn first_per_name(edges: impl Iterator<Item = Unpinned>) -> Vec<Unpinned> {
    let mut by_name: BTreeMap<String, Unpinned> = BTreeMap::new();
    for edge in edges {
        by_name.entry(edge.name.clone()).or_insert(edge);
    }
    by_name.into_values().collect()
}

/// Every requirement edge reachable from the installed roots, sorted.
fn requirement_edges(
    env: &PythonEnv,
    roots: &BTreeSet<String>,
    extras: &BTreeMap<String, BTreeSet<String>>,
) -> Result<BTreeSet<Unpinned>, ClosureUnknown> {
    let markers = env.markers().ok_or(ClosureUnknown::NoInterpreterVersion)?;
    let asked = |name: &String| -> Vec<ExtraName> { extras.get(name).into_iter().flatten().filter_map(|e| ExtraName::from_str(e).ok()).collect() };
    let mut queue: Vec<(String, Vec<ExtraName>)> =
        roots.iter().filter(|n| env.distributions.contains_key(*n)).map(|n| (n.clone(), asked(n))).collect();
    let mut seen: BTreeSet<(String, Vec<ExtraName>)> = queue.iter().cloned().collect();
    let mut edges = BTreeSet::new();
    while let Some((name, extras)) = queue.pop() {
        let Some(dist) = env.distributions.get(&name) else { continue };
        for req in dist.requires.iter().filter(|r| r.evaluate_markers(&markers, &extras)) {
            let dep = normalize(req.name.as_ref());
            let mut dep_extras = req.extras.clone();
            if dep == name {
                // `pkg[a]` in pkg's own metadata widens what pkg needs.
                dep_extras.extend(extras.iter().cloned());
            }
            dep_extras.sort();
            dep_extras.dedup();
            let installed = env.distributions.contains_key(&dep);
            if dep != name {
                edges.insert(Unpinned { name: dep.clone(), required_by: dist.name.clone(), required_by_version: dist.version.clone(), installed });
            }
            if installed && seen.insert((dep.clone(), dep_extras.clone())) {
                queue.push((dep, dep_extras));
            }
        }
    }
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = "Metadata-Version: 2.1\nName: anyio\nVersion: 4.16.0\nRequires-Dist: exceptiongroup>=1.0.2; python_version < \"3.11\"\n\
        Requires-Dist: idna>=2.8\nRequires-Dist: typing_extensions>=4.5; python_version < \"3.15\"\nRequires-Dist: trio>=0.32.0; extra == \"trio\"\n\
        Requires-Dist: not valid !!\n\nRequires-Dist: in-the-body==1\n";

    fn env_with(python: &str, dists: &[(&str, &str, &[&str])]) -> PythonEnv {
        let mut env = PythonEnv {
            path: PathBuf::from("env"),
            origin: Origin::Flag,
            kind: Kind::SitePackages,
            python: Some(python.to_string()),
            distributions: BTreeMap::new(),
            conda_packages: BTreeMap::new(),
            conda_depends: BTreeMap::new(),
            problems: Vec::new(),
        };
        for (name, version, requires) in dists {
            let requires = requires.iter().map(|r| Requirement::from_str(r).unwrap()).collect();
            env.distributions.insert(normalize(name), Distribution { name: name.to_string(), version: version.to_string(), requires });
        }
        env
    }

    #[test]
    fn metadata_headers_are_read_and_the_body_is_not() {
        let (dist, problems) = parse_metadata(METADATA).unwrap();
        assert_eq!((dist.name.as_str(), dist.version.as_str()), ("anyio", "4.16.0"));
        assert_eq!(dist.requires.len(), 4);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("Requires-Dist 'not valid !!'"), "{problems:?}");
        assert_eq!(parse_metadata("Name: x\n").unwrap_err(), "no Name or Version field");
    }

    #[test]
    fn markers_and_extras_decide_what_is_required() {
        let (anyio, _) = parse_metadata(METADATA).unwrap();
        let requires: Vec<String> = anyio.requires.iter().map(|r| r.to_string()).collect();
        let refs: Vec<&str> = requires.iter().map(String::as_str).filter(|r| !r.is_empty()).collect();
        let pinned: BTreeSet<String> = ["anyio".to_string()].into();
        let names = |python: &str| -> Vec<String> {
            let env = env_with(python, &[("anyio", "4.16.0", &refs)]);
            unpinned_requirements(&env, &pinned, &BTreeMap::new(), &pinned).unwrap().into_iter().map(|u| u.name).collect()
        };
        assert_eq!(names("3.11.7"), ["idna", "typing-extensions"]);
        assert_eq!(names("3.10.4"), ["exceptiongroup", "idna", "typing-extensions"]);
        assert_eq!(names("3.15.0"), ["idna"]);
    }

    #[test]
    fn extras_asked_for_by_a_dependency_are_followed() {
        let env = env_with(
            "3.11.7",
            &[("app", "1.0", &["requests[socks]>=2"]), ("requests", "2.34.2", &["idna", "PySocks!=1.5.7; extra == 'socks'"]), ("idna", "3.20", &[])],
        );
        let pinned: BTreeSet<String> = ["app".to_string(), "requests".to_string(), "idna".to_string()].into();
        let found = unpinned_requirements(&env, &pinned, &BTreeMap::new(), &pinned).unwrap();
        assert_eq!(
            found,
            [Unpinned { name: "pysocks".into(), required_by: "requests".into(), required_by_version: "2.34.2".into(), installed: false }]
        );
    }

    #[test]
    fn drift_names_versions_missing_and_extra_packages() {
        let env = env_with("3.11.7", &[("scikit-learn", "1.4.0", &[]), ("pip", "24.0", &[]), ("six", "1.17.0", &[]), ("numpy", "2.0", &[])]);
        let pin = |v: &str, m: &str| vec![Pin { version: v.into(), marker: m.into() }];
        let pins: BTreeMap<String, Vec<Pin>> = [
            ("scikit-learn".to_string(), pin("1.2.0", "")),
            ("numpy".to_string(), pin("2.0.0", "")),
            ("joblib".to_string(), pin("1.6.0", "")),
            ("pywin32".to_string(), pin("311", "sys_platform == 'win32'")),
        ]
        .into();
        assert_eq!(
            drift(&env, &pins, &BTreeSet::new()),
            [
                Drift::NotInstalled { name: "joblib".into(), pinned: "1.6.0".into() },
                Drift::Version { name: "scikit-learn".into(), pinned: "1.2.0".into(), installed: "1.4.0".into() },
                Drift::NotPinned { name: "six".into(), installed: "1.17.0".into() },
            ]
        );
    }

    #[test]
    fn a_pin_accepts_its_local_builds_and_equal_spellings_only() {
        assert!(pin_accepts("2.3.0", "2.3.0+cpu"));
        assert!(pin_accepts("1.0", "1.0.0"));
        assert!(pin_accepts("2.3.0+cpu", "2.3.0+cpu"));
        assert!(!pin_accepts("2.3.0+cu121", "2.3.0+cpu"));
        assert!(!pin_accepts("1.2.0", "1.4.0"));
        assert!(!pin_accepts("2.3.0", "2.3.0.post1"));
    }

    #[test]
    fn pyvenv_cfg_and_lib_folders_give_the_interpreter_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pyvenv.cfg"), "home = /usr/bin\nversion_info = 3.12.4.final.0\n").unwrap();
        let site = dir.path().join("lib/python3.12/site-packages/six-1.17.0.dist-info");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("METADATA"), "Name: six\nVersion: 1.17.0\n").unwrap();
        let env = read(dir.path(), Origin::Flag).unwrap();
        assert_eq!((env.kind, env.python.as_deref()), (Kind::Venv, Some("3.12.4")));
        assert_eq!(env.distributions["six"].version, "1.17.0");
        assert_eq!(version_from_lib_folder(&dir.path().join("lib/python3.12/site-packages")).as_deref(), Some("3.12"));
    }

    #[test]
    fn a_conda_prefix_gives_its_packages_and_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("conda-meta");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("python-3.11.9-hab00c5b_0_cpython.json"),
            r#"{"name": "python", "version": "3.11.9", "depends": ["libzlib >=1.2.13,<2.0a0", "__glibc >=2.17"]}"#,
        )
        .unwrap();
        std::fs::write(meta.join("libzlib-1.3.1-h4ab18f5_1.json"), r#"{"name": "libzlib", "version": "1.3.1"}"#).unwrap();
        std::fs::write(meta.join("history"), "not json").unwrap();
        let site = dir.path().join("lib/python3.11/site-packages/numpy-2.4.6.dist-info");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("METADATA"), "Name: numpy\nVersion: 2.4.6\n").unwrap();
        let env = read(dir.path(), Origin::CondaPrefix).unwrap();
        assert_eq!((env.kind, env.python.as_deref()), (Kind::Conda, Some("3.11.9")));
        assert_eq!(env.conda_packages.keys().collect::<Vec<_>>(), ["libzlib", "python"]);
        assert_eq!(env.conda_depends["python"], ["libzlib"]);
        let roots: BTreeSet<String> = ["python".to_string()].into();
        let gaps = unpinned_conda_requirements(&env, &roots, &roots);
        assert_eq!(gaps, [Unpinned { name: "libzlib".into(), required_by: "python".into(), required_by_version: "3.11.9".into(), installed: true }]);
        let both: BTreeSet<String> = ["python".to_string(), "libzlib".to_string()].into();
        assert_eq!(unpinned_conda_requirements(&env, &roots, &both), []);
        assert_eq!(env.distributions["numpy"].version, "2.4.6");
        assert!(env.problems.is_empty(), "{:?}", env.problems);
    }

    #[test]
    fn a_metadata_symlink_out_of_the_environment_is_not_read() {
        let outer = tempfile::tempdir().unwrap();
        let env_dir = outer.path().join("env");
        let dist = env_dir.join("evil-1.0.dist-info");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(outer.path().join("secret"), "Name: secret\nVersion: 1\n").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret"), dist.join("METADATA")).unwrap();
        let env = read(&env_dir, Origin::Flag).unwrap();
        assert!(env.distributions.is_empty());
        assert_eq!(env.problems.len(), 1);
        assert!(env.problems[0].contains("resolves outside"), "{:?}", env.problems);
    }

    #[test]
    fn egg_info_distributions_are_read_with_their_requirement_sections() {
        assert_eq!(
            egg_requirements(
                "six>=1.5\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n\n[socks]\nPySocks\n[test:sys_platform == 'win32']\ncolorama\n"
            ),
            [
                "six>=1.5",
                "importlib-metadata ; python_version < \"3.8\"",
                "PySocks ; extra == \"socks\"",
                "colorama ; (sys_platform == 'win32') and extra == \"test\""
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let egg = dir.path().join("legacy_pkg-0.3-py3.11.egg-info");
        std::fs::create_dir_all(&egg).unwrap();
        std::fs::write(egg.join("PKG-INFO"), "Metadata-Version: 1.1\nName: legacy-pkg\nVersion: 0.3\n").unwrap();
        std::fs::write(egg.join("requires.txt"), "six\n[:python_version < \"3.0\"]\nfutures\n").unwrap();
        std::fs::write(dir.path().join("old_dist-1.0-py3.11.egg-info"), "Name: old-dist\nVersion: 1.0\n").unwrap();
        std::fs::create_dir_all(dir.path().join("six-1.17.0.dist-info")).unwrap();
        std::fs::write(dir.path().join("six-1.17.0.dist-info/METADATA"), "Name: six\nVersion: 1.17.0\n").unwrap();
        let mut env = read(dir.path(), Origin::Flag).unwrap();
        assert_eq!(env.distributions.keys().collect::<Vec<_>>(), ["legacy-pkg", "old-dist", "six"]);
        assert_eq!(env.distributions["legacy-pkg"].requires.len(), 2);
        env.python = Some("3.11.7".into());
        let pinned: BTreeSet<String> = ["legacy-pkg".to_string()].into();
        let names: Vec<String> = unpinned_requirements(&env, &pinned, &BTreeMap::new(), &pinned).unwrap().into_iter().map(|u| u.name).collect();
        assert_eq!(names, ["six"]);
    }

    #[test]
    fn a_folder_that_is_no_environment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(dir.path(), Origin::Flag), Err(EnvError::NotAnEnvironment(_))));
        assert!(matches!(read(&dir.path().join("none"), Origin::Flag), Err(EnvError::Missing(_))));
    }
}
