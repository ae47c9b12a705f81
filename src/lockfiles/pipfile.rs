//! Pipenv: `Pipfile.lock` (JSON) against `Pipfile` (TOML). Every locked package must be an exact
//! `==` pin with hashes (or a VCS reference pinned to a commit); every `[packages]` and
//! `[dev-packages]` entry must be locked at a version its Pipfile specifier allows.

use std::path::Path;

use serde_json::Value;

use super::pep::{self, normalize};
use super::{LockVerdict, Options, parse_toml, read_text};

/// Audits the Pipenv project in `dir`.
pub fn audit(dir: &Path, options: Options) -> LockVerdict {
    let lock_path = dir.join("Pipfile.lock");
    let pipfile_path = dir.join("Pipfile");
    if !lock_path.is_file() {
        return LockVerdict::missing_lock(&pipfile_path, "Pipfile without Pipfile.lock", "run `pipenv lock` and commit Pipfile.lock");
    }
    let lock: Value = match read_text(&lock_path).and_then(|t| {
        serde_json::from_str(&t).map_err(|e| {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            format!("Pipfile.lock: line {}, column {}: {message}", e.line(), e.column())
        })
    }) {
        Ok(v) => v,
        Err(e) => return LockVerdict::unreadable(&lock_path, e),
    };
    let mut verdict = LockVerdict::new(&lock_path);
    if !lock.is_object() || !lock["default"].is_object() {
        verdict.fail("Pipfile.lock: not a Pipfile.lock (no \"default\" section)");
        verdict.summary = "malformed".into();
        return verdict;
    }
    let mut unhashed = Vec::new();
    let mut count = 0;
    for section in ["default", "develop"] {
        for (name, entry) in lock[section].as_object().into_iter().flatten() {
            count += 1;
            if entry.get("editable").and_then(Value::as_bool) == Some(true) {
                verdict.fail(format!("'{name}' ({section}) is an editable install, not a pinned release"));
                continue;
            }
            if let Some(git) = entry.get("git").and_then(Value::as_str) {
                if entry.get("ref").and_then(Value::as_str).is_none_or(|r| r.len() < 40) {
                    verdict.fail(format!("'{name}' ({section}) comes from {git} without a commit ref"));
                }
                continue;
            }
            match entry.get("version").and_then(Value::as_str).and_then(|v| v.strip_prefix("==")) {
                Some(version) => verdict.python(name, version),
                None => verdict.fail(format!("'{name}' ({section}) has no exact '==' version in the lock")),
            }
            if entry.get("hashes").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                unhashed.push(name.clone());
            }
        }
    }
    if !unhashed.is_empty() {
        verdict.missing_hashes(options, format!("{} package(s) without hashes: {}", unhashed.len(), unhashed.join(", ")));
    }
    let mut sync = "no Pipfile beside it to compare";
    if pipfile_path.is_file() {
        sync = "in sync with Pipfile";
        match read_text(&pipfile_path).and_then(|t| parse_toml(&pipfile_path, &t)) {
            Err(e) => verdict.fail(e),
            Ok(pipfile) => {
                for (table, section) in [("packages", "default"), ("dev-packages", "develop")] {
                    for (name, spec) in pipfile.get(table).and_then(toml::Value::as_table).into_iter().flatten() {
                        let locked = lock[section].as_object().and_then(|m| m.iter().find(|(k, _)| normalize(k) == normalize(name))).map(|(_, v)| v);
                        let Some(locked) = locked else {
                            verdict.fail(format!("'{name}' is in Pipfile [{table}] but not in Pipfile.lock: out of sync, run `pipenv lock`"));
                            sync = "out of sync with Pipfile";
                            continue;
                        };
                        let wanted = match spec {
                            toml::Value::String(s) => s.clone(),
                            toml::Value::Table(t) => t.get("version").and_then(toml::Value::as_str).unwrap_or("*").to_string(),
                            _ => "*".to_string(),
                        };
                        let version = locked.get("version").and_then(Value::as_str).and_then(|v| v.strip_prefix("=="));
                        if let Some(version) = version
                            && wanted != "*"
                            && !pep::satisfies(&wanted, version).unwrap_or(true)
                        {
                            verdict.fail(format!("'{name}' is locked at {version}, outside '{wanted}' in Pipfile: out of sync, run `pipenv lock`"));
                            sync = "out of sync with Pipfile";
                        }
                    }
                }
            }
        }
    }
    verdict.summary = format!("{count} packages locked, {sync}");
    verdict
}
