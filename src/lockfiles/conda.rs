//! Conda: `environment.yml` must pin every package exactly (`name==1.2.3`, `name=1.2.3=build`,
//! or `name=1.2.3` with a full version), `pip:` entries included; a `conda-lock.yml` beside it
//! locks the transitive set (its graph is checked for closure), otherwise that is a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::pep;
use super::{Closure, Ecosystem, LockVerdict, Problem, read_text};

/// A conda match spec split into name and version constraint.
fn split_spec(spec: &str) -> (String, String) {
    let spec = spec.split_once("::").map_or(spec, |(_, rest)| rest).trim();
    let end = spec.find(|c: char| "=<>!~ ".contains(c)).unwrap_or(spec.len());
    (spec[..end].trim().to_string(), spec[end..].trim().to_string())
}

/// The exact version of a conda constraint, if it pins one.
fn conda_exact(constraint: &str) -> Option<String> {
    let constraint = constraint.trim();
    if let Some(v) = constraint.strip_prefix("==") {
        return (!v.contains('*')).then(|| v.split('=').next().unwrap_or(v).to_string());
    }
    let rest = constraint.strip_prefix('=').or_else(|| constraint.strip_prefix(' '))?.trim();
    let version = rest.split(['=', ' ']).next()?;
    let has_build = rest.contains('=') || rest.contains(' ');
    let full = version.split('.').count() >= 3;
    (!version.contains('*') && !version.contains(['<', '>', ',', '|']) && (has_build || full)).then(|| version.to_string())
}

/// A YAML error as `file: line L, column C: message` (serde-saphyr's own prefix removed).
fn yaml_error(file: &Path, error: &serde_saphyr::Error) -> String {
    let mut inner = error;
    while let serde_saphyr::Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    // serde-saphyr's own text for these ends with advice on its options, not on the file.
    let own = match inner {
        serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
            Some(format!("key '{key}' appears twice in one mapping; give each key once"))
        }
        serde_saphyr::Error::DuplicateMappingKey { key: None, .. } => Some("a key appears twice in one mapping; give each key once".to_string()),
        _ => None,
    };
    if let Some(message) = own {
        let place = error.location().map(|l| format!(" line {}, column {}:", l.line(), l.column())).unwrap_or_default();
        return format!("{}:{place} {message}", super::file_name(file));
    }
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default().trim_start_matches("error: ");
    let message = match first.find(": ") {
        Some(i) if first.starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    let place = error.location().map(|l| format!(" line {}, column {}:", l.line(), l.column())).unwrap_or_default();
    format!("{}:{place} {message}", super::file_name(file))
}

/// An `environment.yml`, as far as the audit reads it.
#[derive(Debug, Deserialize)]
struct CondaEnv {
    dependencies: Option<Vec<CondaDependency>>,
}

/// `- numpy=1.26.4`, `- pip: [...]`, or anything else (reported).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CondaDependency {
    Spec(String),
    Pip { pip: Vec<String> },
    Other(serde_json::Value),
}

/// A `conda-lock.yml`, as far as the audit reads it.
#[derive(Debug, Deserialize)]
struct CondaLock {
    #[serde(default)]
    package: Vec<CondaLocked>,
}

#[derive(Debug, Deserialize)]
struct CondaLocked {
    name: String,
    /// A string, or a number when YAML reads `24.2` unquoted.
    #[serde(default)]
    version: serde_json::Value,
    #[serde(default)]
    platform: String,
    manager: Option<String>,
    #[serde(default)]
    hash: BTreeMap<String, String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
}

/// Audits one environment file.
pub fn audit(dir: &Path, file: &Path) -> LockVerdict {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(file, e),
    };
    let env: CondaEnv = match serde_saphyr::from_str(&text) {
        Ok(v) => v,
        Err(e) => return LockVerdict::unreadable(file, yaml_error(file, &e)),
    };
    let mut verdict = LockVerdict::new(file);
    verdict.ecosystem = Ecosystem::Conda;
    let Some(dependencies) = env.dependencies else {
        verdict.summary = "no dependencies listed".into();
        verdict.finding(Problem::Incomplete, "the environment lists no dependencies");
        return verdict;
    };
    let (mut total, mut pinned) = (0, 0);
    let mut names = Vec::new();
    for item in &dependencies {
        match item {
            CondaDependency::Spec(spec) => {
                total += 1;
                let (name, constraint) = split_spec(spec);
                names.push(name.clone());
                match conda_exact(&constraint) {
                    Some(version) => {
                        pinned += 1;
                        verdict.python(&name, &version);
                        verdict.conda_names.push(pep::normalize(&name));
                    }
                    None if constraint.is_empty() => verdict.finding(Problem::Unpinned, format!("'{name}' is not pinned (no version)")),
                    None => verdict.finding(
                        Problem::Unpinned,
                        format!("'{spec}' is not pinned exactly (conda's '={}' matches a range)", constraint.trim_start_matches('=')),
                    ),
                }
            }
            CondaDependency::Pip { pip } => {
                for spec in pip {
                    total += 1;
                    match pep::parse(spec) {
                        Ok(req) => match req.exact {
                            Some(version) => {
                                pinned += 1;
                                verdict.python_with_marker(&req.name, &version, &req.marker);
                            }
                            None => verdict.finding(Problem::Unpinned, format!("pip: '{spec}' is not pinned with ==")),
                        },
                        Err(e) => verdict.finding(Problem::Malformed, format!("pip: '{spec}' is not a valid requirement: {e}")),
                    }
                }
            }
            CondaDependency::Other(other) => verdict.finding(Problem::Malformed, format!("unexpected dependency entry {other}")),
        }
    }
    let lock = dir.join("conda-lock.yml");
    if lock.is_file() {
        check_conda_lock(&lock, &names, &mut verdict);
    } else {
        verdict
            .finding(Problem::Incomplete, "no conda-lock.yml: transitive dependencies are resolved at install time (conda-lock -f environment.yml)");
        verdict.finding(Problem::Unhashed, "environment.yml records no hashes (conda-lock writes them)");
    }
    verdict.summary = format!("{pinned}/{total} dependencies pinned exactly");
    verdict
}

fn check_conda_lock(lock: &Path, names: &[String], verdict: &mut LockVerdict) {
    let parsed: Result<CondaLock, String> = read_text(lock).and_then(|t| serde_saphyr::from_str(&t).map_err(|e| yaml_error(lock, &e)));
    let packages = match parsed {
        Ok(v) => v.package,
        Err(e) => {
            verdict.finding(Problem::Malformed, e);
            return;
        }
    };
    verdict.manifest = Some("environment.yml".into());
    verdict.universal = true;
    // The lock pins the whole resolved set (per platform): every package is a pin.
    for package in &packages {
        let version = match &package.version {
            serde_json::Value::String(v) => v.clone(),
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        if !verdict.python_pins.get(&pep::normalize(&package.name)).is_some_and(|pins| pins.iter().any(|p| p.version == version)) {
            verdict.python(&package.name, &version);
        }
        if package.manager.as_deref() != Some("pip") {
            verdict.conda_names.push(pep::normalize(&package.name));
        }
    }
    for name in names.iter().filter(|n| *n != "pip") {
        if !packages.iter().any(|l| pep::normalize(&l.name) == pep::normalize(name)) {
            verdict.finding(Problem::OutOfSync, format!("'{name}' is in environment.yml but not in conda-lock.yml: out of sync, re-run conda-lock"));
        }
    }
    // The lock's own graph, platform by platform; `__glibc` and the like are virtual packages.
    let locked: BTreeSet<(&str, String)> = packages.iter().map(|p| (p.platform.as_str(), pep::normalize(&p.name))).collect();
    verdict.closure = Closure::Closed;
    for package in &packages {
        for dep in package.dependencies.keys().filter(|d| !d.starts_with("__")) {
            if !locked.contains(&(package.platform.as_str(), pep::normalize(dep))) {
                verdict.closure = Closure::Open;
                verdict.finding(
                    Problem::NotClosed,
                    format!("{dep} (required by {}, {}) is not pinned in conda-lock.yml", package.name, package.platform),
                );
            }
        }
    }
    let unhashed = packages.iter().filter(|p| p.hash.is_empty()).count();
    if unhashed > 0 {
        verdict.finding(Problem::Unhashed, format!("{unhashed} package(s) in conda-lock.yml without hashes"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conda_specs_are_pinned_only_with_a_full_version_or_build() {
        assert_eq!(split_spec("conda-forge::numpy=1.26.4"), ("numpy".into(), "=1.26.4".into()));
        assert_eq!(conda_exact("=1.26.4").as_deref(), Some("1.26.4"));
        assert_eq!(conda_exact("==1.26").as_deref(), Some("1.26"));
        assert_eq!(conda_exact("=1.26.4=py311h64a7726_0").as_deref(), Some("1.26.4"));
        assert_eq!(conda_exact("=3.11"), None);
        assert_eq!(conda_exact(">=1.2"), None);
        assert_eq!(conda_exact("=1.26.*"), None);
        assert_eq!(conda_exact(""), None);
    }

    #[test]
    fn a_duplicate_key_is_named_in_this_projects_words() {
        let error = serde_saphyr::from_str::<CondaEnv>("name: x\ndependencies:\n  - numpy=1.26.4\nname: y\n").unwrap_err();
        assert_eq!(
            yaml_error(Path::new("env/environment.yml"), &error),
            "environment.yml: line 4, column 1: key 'name' appears twice in one mapping; give each key once"
        );
    }
}
