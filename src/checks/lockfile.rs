//! Lockfile determinism: finds the locks of the project that serves the model (Cargo, pip
//! requirements, Poetry, uv, Pipenv, conda), has each judged by its parser in `crate::lockfiles`,
//! and checks runtime parity: the onnxruntime that ran this audit, and the exporter recorded in
//! the model's producer metadata, against the versions the Python locks pin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{AuditContext, Check, Outcome, Status};
use crate::lockfiles::{self, LockVerdict, Options};

pub struct Lockfile;

/// Exporters that write their own name and version as the ONNX producer, with the PyPI package
/// that provides them.
const PRODUCERS: &[(&str, &str)] =
    &[("skl2onnx", "skl2onnx"), ("onnxmltools", "onnxmltools"), ("tf2onnx", "tf2onnx"), ("pytorch", "torch"), ("keras2onnx", "keras2onnx")];

impl Check for Lockfile {
    fn id(&self) -> &'static str {
        "lockfile"
    }

    fn description(&self) -> &'static str {
        "dependencies are pinned exactly, locks are in sync, and the onnxruntime pin matches the runtime"
    }

    fn explanation(&self) -> &'static str {
        "What: looks in --project DIR (default: the model's folder and the root of its git checkout) for Cargo.lock, \
         requirements*.txt, poetry.lock, uv.lock, Pipfile.lock and environment.yml with their manifests. \
         Every direct dependency must be pinned exactly, every dependency of a locked package must be \
         locked, the lock must agree with its manifest (Cargo: read as data the way `cargo --locked` judges it, cargo is never run; Python: names, \
         version ranges, requires-python), and hashes should be present (checks.lockfile.require_hashes \
         makes their absence fail). The onnxruntime version that ran this audit, and the exporter in the \
         model's producer metadata (skl2onnx, tf2onnx, torch, ...), must equal the versions the locks pin. \
         A lock fingerprint (SHA-256 of the resolved set) is reported so two audits can be compared.\n\
         Why: an unpinned or stale dependency makes the model you audited different from the model you \
         serve; another onnxruntime can change numerics and latency.\n\
         Fix: pin with `uv lock`, `poetry lock`, `pip-compile --generate-hashes`, `pipenv lock` or \
         conda-lock; run `cargo update -w`; commit the lock; pin onnxruntime to the version you audited."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let options = Options { require_hashes: ctx.config.checks.lockfile.require_hashes };
        let mut verdicts: Vec<LockVerdict> = Vec::new();
        for dir in unique_dirs(&ctx.project_dirs) {
            verdicts.extend(lockfiles::audit_dir(&dir, options));
        }
        if verdicts.is_empty() {
            let searched: Vec<String> = ctx.project_dirs.iter().map(|d| d.display().to_string()).collect();
            return Outcome::warn(format!("no lockfile found in {}", searched.join(", "))).with_details([
                "looked for Cargo.lock, requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, environment.yml; use --project DIR".to_string(),
            ]);
        }
        let mut parity = Vec::new();
        let pins = python_pins(&verdicts);
        if let Some(runtime) = ctx.runtime {
            match pins.get("onnxruntime") {
                Some((version, file)) if version != &runtime.version => {
                    parity.push((Status::Fail, format!("onnxruntime is pinned to {version} in {file} but this audit ran on {}", runtime.version)))
                }
                Some((version, file)) => parity.push((Status::Pass, format!("onnxruntime {version} pinned in {file} is the runtime that ran"))),
                None => {}
            }
        }
        if let Ok(info) = &ctx.artifact.onnx {
            let producer = PRODUCERS.iter().find(|(name, _)| info.producer_name.eq_ignore_ascii_case(name));
            if let Some((name, package)) = producer
                && let Some((version, file)) = pins.get(*package)
                && !info.producer_version.is_empty()
                && !info.producer_version.starts_with(version.as_str())
            {
                parity.push((
                    Status::Fail,
                    format!("the model was exported with {name} {} but {file} pins {package} {version}", info.producer_version),
                ));
            }
            for (key, version) in &info.metadata {
                let Some(package) = key.strip_suffix("_version") else { continue };
                let package = if package == "sklearn" { "scikit-learn" } else { package };
                if let Some((pinned, file)) = pins.get(&lockfiles::pep::normalize(package))
                    && pinned != version
                {
                    parity.push((Status::Fail, format!("the model records {package} {version} but {file} pins {pinned}")));
                }
            }
        }
        let worst = verdicts.iter().map(|v| v.status).chain(parity.iter().map(|(s, _)| *s)).max().unwrap_or(Status::Pass);
        let mut summary: Vec<String> = verdicts.iter().map(|v| format!("{}: {}", lockfiles::file_name(&v.file), v.summary)).collect();
        if let Some((_, text)) = parity.iter().find(|(s, _)| *s == Status::Fail) {
            summary.insert(0, text.clone());
        }
        let mut details: Vec<String> = verdicts
            .iter()
            .flat_map(|v| {
                let name = lockfiles::file_name(&v.file);
                let path = relative(&v.file);
                // Parser messages already start with the file name: give its folder instead.
                v.details.iter().map(move |d| match d.strip_prefix(&format!("{name}:")) {
                    Some(rest) => format!("{path}:{rest}"),
                    None => format!("{path}: {d}"),
                })
            })
            .collect();
        details.extend(parity.into_iter().map(|(_, text)| text));
        let resolved: Vec<String> = verdicts.iter().flat_map(|v| v.resolved.iter().cloned()).collect();
        let fingerprint = fingerprint(&resolved);
        if !resolved.is_empty() {
            details.push(format!("lock fingerprint {fingerprint} over {} resolved packages", resolved.len()));
        }
        let files: Vec<String> = verdicts.iter().map(|v| relative(&v.file)).collect();
        let outcome = match worst {
            Status::Fail => Outcome::fail(summary.join("; ")),
            Status::Warn => Outcome::warn(summary.join("; ")),
            _ => Outcome::pass(summary.join("; ")),
        };
        outcome
            .with_details(details)
            .with_metric("lockfiles", files)
            .with_metric("resolved_packages", resolved.len())
            .with_metric("fingerprint", fingerprint)
    }
}

/// The folders, each once (compared by canonical path, kept as given for messages).
fn unique_dirs(project_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = Vec::new();
    let mut dirs = Vec::new();
    for dir in project_dirs {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if !seen.contains(&canonical) {
            seen.push(canonical);
            dirs.push(dir.clone());
        }
    }
    dirs
}

/// Every Python pin across the verdicts: name → (version, file it came from).
fn python_pins(verdicts: &[LockVerdict]) -> BTreeMap<String, (String, String)> {
    let mut pins = BTreeMap::new();
    for verdict in verdicts {
        for (name, version) in &verdict.python_pins {
            pins.entry(name.clone()).or_insert_with(|| (version.clone(), lockfiles::file_name(&verdict.file)));
        }
    }
    pins
}

/// The path as the user can read it: relative to the working directory when inside it.
fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().ok().and_then(|c| c.canonicalize().ok());
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    cwd.and_then(|c| absolute.strip_prefix(c).ok().map(|p| p.display().to_string())).unwrap_or_else(|| path.display().to_string())
}

/// A SHA-256 over the sorted resolved package set: two audits with the same fingerprint ran
/// against the same locked dependencies.
pub fn fingerprint(resolved: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&String> = resolved.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut hasher = Sha256::new();
    for entry in sorted {
        hasher.update(entry.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", crate::artifact::hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_ignores_order_and_duplicates() {
        let a = fingerprint(&["pypi:numpy==2.4.6".into(), "crates:itoa==1.0.18".into()]);
        let b = fingerprint(&["crates:itoa==1.0.18".into(), "pypi:numpy==2.4.6".into(), "pypi:numpy==2.4.6".into()]);
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&["pypi:numpy==2.4.7".into(), "crates:itoa==1.0.18".into()]));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
    }
}
