//! Conda: `environment.yml` must pin every package exactly (`name==1.2.3`, `name=1.2.3=build`,
//! or `name=1.2.3` with a full version), `pip:` entries included; a `conda-lock.yml` beside it
//! locks the transitive set, otherwise that is a warning.

use std::path::Path;

use serde_json::Value;

use super::pep;
use super::{LockVerdict, Options, read_text};

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
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default().trim_start_matches("error: ");
    let message = match first.find(": ") {
        Some(i) if first.starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    let place = error.location().map(|l| format!(" line {}, column {}:", l.line(), l.column())).unwrap_or_default();
    format!("{}:{place} {message}", super::file_name(file))
}

/// Audits one environment file.
pub fn audit(dir: &Path, file: &Path, options: Options) -> LockVerdict {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(file, e),
    };
    let env: Value = match serde_saphyr::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return LockVerdict::unreadable(file, yaml_error(file, &e));
        }
    };
    let mut verdict = LockVerdict::new(file);
    let Some(dependencies) = env.get("dependencies").and_then(Value::as_array) else {
        verdict.summary = "no dependencies listed".into();
        verdict.warn("the environment lists no dependencies");
        return verdict;
    };
    let (mut total, mut pinned) = (0, 0);
    let mut names = Vec::new();
    for item in dependencies {
        match item {
            Value::String(spec) => {
                total += 1;
                let (name, constraint) = split_spec(spec);
                names.push(name.clone());
                match conda_exact(&constraint) {
                    Some(version) => {
                        pinned += 1;
                        verdict.python(&name, &version);
                    }
                    None if constraint.is_empty() => verdict.fail(format!("'{name}' is not pinned (no version)")),
                    None => {
                        verdict.fail(format!("'{spec}' is not pinned exactly (conda's '={}' matches a range)", constraint.trim_start_matches('=')))
                    }
                }
            }
            Value::Object(map) => {
                for spec in map.get("pip").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    total += 1;
                    match pep::parse(spec) {
                        Ok(req) => match req.exact {
                            Some(version) => {
                                pinned += 1;
                                verdict.python(&req.name, &version);
                            }
                            None => verdict.fail(format!("pip: '{spec}' is not pinned with ==")),
                        },
                        Err(e) => verdict.fail(format!("pip: '{spec}' is not a valid requirement: {e}")),
                    }
                }
            }
            other => verdict.fail(format!("unexpected dependency entry {other}")),
        }
    }
    let lock = dir.join("conda-lock.yml");
    if lock.is_file() {
        check_conda_lock(&lock, &names, options, &mut verdict);
    } else {
        verdict.warn("no conda-lock.yml: transitive dependencies are resolved at install time (conda-lock -f environment.yml)");
    }
    verdict.summary = format!("{pinned}/{total} dependencies pinned exactly");
    verdict
}

fn check_conda_lock(lock: &Path, names: &[String], options: Options, verdict: &mut LockVerdict) {
    let parsed: Result<Value, String> = read_text(lock).and_then(|t| serde_saphyr::from_str(&t).map_err(|e| yaml_error(lock, &e)));
    let packages = match parsed {
        Ok(v) => v.get("package").and_then(Value::as_array).cloned().unwrap_or_default(),
        Err(e) => {
            verdict.fail(e);
            return;
        }
    };
    let locked: Vec<&str> = packages.iter().filter_map(|p| p.get("name").and_then(Value::as_str)).collect();
    for name in names.iter().filter(|n| *n != "pip") {
        if !locked.iter().any(|l| pep::normalize(l) == pep::normalize(name)) {
            verdict.fail(format!("'{name}' is in environment.yml but not in conda-lock.yml: out of sync, re-run conda-lock"));
        }
    }
    let unhashed = packages.iter().filter(|p| p.get("hash").is_none_or(|h| h.as_object().is_none_or(|m| m.is_empty()))).count();
    if unhashed > 0 {
        verdict.missing_hashes(options, format!("{unhashed} package(s) in conda-lock.yml without hashes"));
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
}
