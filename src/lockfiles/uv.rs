//! uv: `uv.lock` against `pyproject.toml`. The lock records the project's own requirements
//! (`[package.metadata] requires-dist`); those must equal `[project].dependencies`, the project
//! name and `requires-python` must match (what `uv lock --locked` checks), every locked package's
//! dependencies must be locked, and registry packages must carry hashes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use toml::Value;

use super::pep::{self, normalize};
use super::{LockVerdict, Options, parse_toml, read_text};

struct Package<'a> {
    name: String,
    version: String,
    table: &'a Value,
}

fn requirement_key(name: &str, specifier: &str) -> String {
    let specs = pep::parse(&format!("{name}{specifier}")).map(|r| r.specifiers).unwrap_or_else(|_| specifier.to_string());
    format!("{}{}", normalize(name), specs)
}

/// Audits the uv project in `dir`.
pub fn audit(dir: &Path, options: Options) -> LockVerdict {
    let lock_path = dir.join("uv.lock");
    let lock = match read_text(&lock_path).and_then(|t| parse_toml(&lock_path, &t)) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(&lock_path, e),
    };
    let mut verdict = LockVerdict::new(&lock_path);
    let packages: Vec<Package<'_>> = lock
        .get("package")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(Package {
                name: normalize(p.get("name")?.as_str()?),
                version: p.get("version").and_then(Value::as_str).unwrap_or("").to_string(),
                table: p,
            })
        })
        .collect();
    let names: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let is_root = |p: &Package<'_>| {
        p.table
            .get("source")
            .and_then(Value::as_table)
            .is_some_and(|s| ["editable", "virtual"].iter().any(|k| s.get(*k).and_then(Value::as_str) == Some(".")))
    };
    let mut unhashed = Vec::new();
    for package in &packages {
        for dep in package.table.get("dependencies").and_then(Value::as_array).into_iter().flatten() {
            if let Some(dep_name) = dep.get("name").and_then(Value::as_str)
                && !names.contains(normalize(dep_name).as_str())
            {
                verdict.fail(format!("'{}' depends on '{dep_name}', which is not in uv.lock: transitive dependency not locked", package.name));
            }
        }
        if is_root(package) {
            continue;
        }
        verdict.python(&package.name, &package.version);
        let registry = package.table.get("source").and_then(|s| s.get("registry")).is_some();
        let sdist_hash = package.table.get("sdist").and_then(|s| s.get("hash")).is_some();
        let wheel_hash = package.table.get("wheels").and_then(Value::as_array).is_some_and(|w| w.iter().any(|w| w.get("hash").is_some()));
        if registry && !sdist_hash && !wheel_hash {
            unhashed.push(package.name.clone());
        }
    }
    if !unhashed.is_empty() {
        verdict.missing_hashes(options, format!("{} package(s) without hashes: {}", unhashed.len(), unhashed.join(", ")));
    }
    let locked_count = packages.iter().filter(|p| !is_root(p)).count();
    let pyproject_path = dir.join("pyproject.toml");
    let pyproject = match read_text(&pyproject_path).and_then(|t| parse_toml(&pyproject_path, &t)) {
        Ok(t) => t,
        Err(_) if !pyproject_path.exists() => {
            verdict.summary = format!("{locked_count} packages locked (no pyproject.toml beside it to compare)");
            return verdict;
        }
        Err(e) => {
            verdict.fail(e);
            verdict.summary = "pyproject.toml unreadable".into();
            return verdict;
        }
    };
    let before = verdict.details.len();
    let project = pyproject.get("project");
    let project_name = project.and_then(|p| p.get("name")).and_then(Value::as_str).map(normalize);
    let root = packages.iter().find(|p| is_root(p) && Some(&p.name) == project_name.as_ref());
    match (&project_name, root) {
        (Some(name), None) => verdict.fail(format!("project '{name}' of pyproject.toml is not in uv.lock (renamed?): out of sync, run `uv lock`")),
        (None, _) => verdict.warn("pyproject.toml has no [project] name: the lock's root package cannot be matched"),
        _ => {}
    }
    let manifest_python = project.and_then(|p| p.get("requires-python")).and_then(Value::as_str);
    let lock_python = lock.get("requires-python").and_then(Value::as_str);
    if let (Some(m), Some(l)) = (manifest_python, lock_python)
        && m.replace(' ', "") != l.replace(' ', "")
    {
        verdict.fail(format!("requires-python is '{m}' in pyproject.toml but '{l}' in uv.lock: out of sync, run `uv lock`"));
    }
    let declared: Vec<String> = project
        .and_then(|p| p.get("dependencies"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let recorded: BTreeSet<String> = root
        .and_then(|r| r.table.get("metadata"))
        .and_then(|m| m.get("requires-dist"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| Some(requirement_key(d.get("name")?.as_str()?, d.get("specifier").and_then(Value::as_str).unwrap_or(""))))
        .collect();
    let versions: BTreeMap<&str, &str> = packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
    for text in &declared {
        let Ok(req) = pep::parse(text) else {
            verdict.fail(format!("pyproject.toml: '{text}' is not a valid requirement"));
            continue;
        };
        if root.is_some() && !recorded.contains(&format!("{}{}", req.name, req.specifiers)) {
            verdict.fail(format!("'{text}' of pyproject.toml is not what uv.lock was resolved for: out of sync, run `uv lock`"));
        }
        match versions.get(req.name.as_str()) {
            None => verdict.fail(format!("'{}' is in pyproject.toml but not in uv.lock: out of sync, run `uv lock`", req.name)),
            Some(version) => {
                if req.url.is_none() && !pep::satisfies(&req.specifiers, version).unwrap_or(false) {
                    verdict.fail(format!("'{}' is locked at {version}, outside '{}' in pyproject.toml", req.name, req.specifiers));
                }
            }
        }
    }
    let sync = if verdict.details[before..].iter().any(|d| d.contains("out of sync") || d.contains("outside")) {
        "out of sync with pyproject.toml"
    } else {
        "in sync with pyproject.toml"
    };
    verdict.summary = format!("{locked_count} packages locked, {sync}");
    verdict
}

/// A `pyproject.toml` with `[project].dependencies` and no lockfile at all.
pub fn unlocked_pyproject(pyproject: &Path) -> Option<LockVerdict> {
    let text = read_text(pyproject).ok()?;
    let table = match parse_toml(pyproject, &text) {
        Ok(t) => t,
        Err(e) => return Some(LockVerdict::unreadable(pyproject, e)),
    };
    let count = table.get("project")?.get("dependencies")?.as_array()?.len();
    if count == 0 {
        return None;
    }
    Some(LockVerdict::missing_lock(
        pyproject,
        &format!("{count} dependencies, no lockfile"),
        "pyproject.toml lists dependencies but no lockfile pins them (uv lock, poetry lock or pip-compile)",
    ))
}
