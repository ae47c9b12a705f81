//! Poetry: `poetry.lock` against `pyproject.toml` (`[tool.poetry.*dependencies]`, groups, and
//! PEP 621 `[project].dependencies`). Poetry constraints (`^1.2`, `~1.2`, `1.2.*`, `||`) are
//! translated to PEP 440 and checked against the locked versions; every dependency of every
//! locked package must itself be locked; file hashes must be present (lock formats 1.x and 2.x).

use std::collections::BTreeMap;
use std::path::Path;

use toml::Value;

use super::pep::{self, normalize};
use super::{LockVerdict, Options, parse_toml, read_text};

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
}

fn declared(pyproject: &toml::Table) -> Vec<Declared> {
    let mut out = Vec::new();
    let poetry = pyproject.get("tool").and_then(|t| t.get("poetry"));
    let mut tables: Vec<&toml::Table> = Vec::new();
    if let Some(poetry) = poetry {
        for key in ["dependencies", "dev-dependencies"] {
            if let Some(t) = poetry.get(key).and_then(Value::as_table) {
                tables.push(t);
            }
        }
        if let Some(groups) = poetry.get("group").and_then(Value::as_table) {
            for group in groups.values() {
                if let Some(t) = group.get("dependencies").and_then(Value::as_table) {
                    tables.push(t);
                }
            }
        }
    }
    for table in tables {
        for (name, spec) in table {
            if name == "python" {
                continue;
            }
            let name = normalize(name);
            let first = match spec {
                Value::Array(alternatives) => alternatives.first().cloned().unwrap_or(Value::String("*".into())),
                other => other.clone(),
            };
            let entry = match &first {
                Value::String(c) => Declared { name, constraint: Some(c.clone()), source: None, optional: false },
                Value::Table(t) => {
                    let source = ["git", "path", "url"].iter().find_map(|k| {
                        t.get(*k).and_then(Value::as_str).map(|v| {
                            let rev = t.get("rev").and_then(Value::as_str).map(|r| format!(" rev {r}")).unwrap_or_default();
                            format!("{k} {v}{rev}")
                        })
                    });
                    Declared {
                        name,
                        constraint: t.get("version").and_then(Value::as_str).map(str::to_string),
                        source,
                        optional: t.get("optional").and_then(Value::as_bool).unwrap_or(false),
                    }
                }
                _ => Declared { name, constraint: None, source: None, optional: false },
            };
            out.push(entry);
        }
    }
    if let Some(list) = pyproject.get("project").and_then(|p| p.get("dependencies")).and_then(Value::as_array) {
        for item in list.iter().filter_map(Value::as_str) {
            if let Ok(req) = pep::parse(item) {
                out.push(Declared { name: req.name, constraint: Some(req.specifiers), source: req.url, optional: false });
            }
        }
    }
    out
}

/// A locked package.
struct Locked {
    version: String,
    hashes: usize,
    dependencies: Vec<String>,
}

fn locked(lock: &toml::Table) -> BTreeMap<String, Locked> {
    let legacy_files = lock.get("metadata").and_then(|m| m.get("files")).and_then(Value::as_table);
    let mut out = BTreeMap::new();
    for package in lock.get("package").and_then(Value::as_array).into_iter().flatten() {
        let (Some(name), Some(version)) = (package.get("name").and_then(Value::as_str), package.get("version").and_then(Value::as_str)) else {
            continue;
        };
        let files = package.get("files").or_else(|| legacy_files.and_then(|f| f.get(name)));
        let hashes = files.and_then(Value::as_array).map_or(0, |f| f.iter().filter(|e| e.get("hash").is_some()).count());
        let dependencies = package
            .get("dependencies")
            .and_then(Value::as_table)
            .map(|deps| deps.iter().filter(|(_, spec)| !is_optional_or_extra(spec)).map(|(dep, _)| normalize(dep)).collect())
            .unwrap_or_default();
        out.insert(normalize(name), Locked { version: version.to_string(), hashes, dependencies });
    }
    out
}

fn is_optional_or_extra(spec: &Value) -> bool {
    let check = |t: &Value| {
        t.get("optional").and_then(Value::as_bool).unwrap_or(false)
            || t.get("markers").and_then(Value::as_str).is_some_and(|m| m.contains("extra =="))
    };
    match spec {
        Value::Array(items) => items.iter().all(check),
        other => check(other),
    }
}

/// Audits the Poetry project in `dir`.
pub fn audit(dir: &Path, options: Options) -> LockVerdict {
    let lock_path = dir.join("poetry.lock");
    let pyproject_path = dir.join("pyproject.toml");
    if !lock_path.is_file() {
        return LockVerdict::missing_lock(&pyproject_path, "Poetry project without poetry.lock", "run `poetry lock` and commit poetry.lock");
    }
    let lock = match read_text(&lock_path).and_then(|t| parse_toml(&lock_path, &t)) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(&lock_path, e),
    };
    let mut verdict = LockVerdict::new(&lock_path);
    let packages = locked(&lock);
    for (name, package) in &packages {
        verdict.python(name, &package.version);
    }
    for (name, package) in &packages {
        for dep in &package.dependencies {
            if !packages.contains_key(dep) {
                verdict.fail(format!("'{name}' depends on '{dep}', which is not in poetry.lock: transitive dependency not locked"));
            }
        }
    }
    let unhashed: Vec<&String> = packages.iter().filter(|(_, p)| p.hashes == 0).map(|(n, _)| n).collect();
    if !unhashed.is_empty() {
        verdict.missing_hashes(options, format!("{} package(s) without file hashes: {}", unhashed.len(), join(&unhashed)));
    }
    let mut in_sync = "no pyproject.toml beside it to compare".to_string();
    if pyproject_path.is_file() {
        match read_text(&pyproject_path).and_then(|t| parse_toml(&pyproject_path, &t)) {
            Err(e) => verdict.fail(e),
            Ok(pyproject) => {
                in_sync = "in sync with pyproject.toml".into();
                for dep in declared(&pyproject) {
                    if let Some(source) = &dep.source {
                        if source.starts_with("git") && !source.contains(" rev ") {
                            verdict.fail(format!("'{}' comes from {source} without a pinned rev", dep.name));
                        }
                        continue;
                    }
                    let Some(package) = packages.get(&dep.name) else {
                        if !dep.optional {
                            verdict.fail(format!("'{}' is in pyproject.toml but not in poetry.lock: out of sync, run `poetry lock`", dep.name));
                            in_sync = "out of sync with pyproject.toml".into();
                        }
                        continue;
                    };
                    let constraint = dep.constraint.unwrap_or_default();
                    match matches(&constraint, &package.version) {
                        Ok(true) => {}
                        Ok(false) => {
                            verdict.fail(format!(
                                "'{}' is locked at {}, outside '{constraint}' in pyproject.toml: out of sync, run `poetry lock`",
                                dep.name, package.version
                            ));
                            in_sync = "out of sync with pyproject.toml".into();
                        }
                        Err(e) => verdict.fail(format!("pyproject.toml: '{}': {e}", dep.name)),
                    }
                }
            }
        }
    }
    verdict.summary = format!("{} packages locked, {in_sync}", packages.len());
    verdict
}

fn join(names: &[&String]) -> String {
    names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
