//! Lockfile determinism: the dependencies that serve the model are pinned exactly and the lock
//! agrees with its manifest. Cargo projects are verified with `cargo metadata --locked
//! --offline`; `requirements*.txt` files must pin every requirement with `==`, and an
//! `onnxruntime` pin must match the runtime that ran this audit.

use std::path::{Path, PathBuf};

use super::{AuditContext, Check, Outcome, Status};

pub struct Lockfile;

/// The verdict on one lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockVerdict {
    pub file: PathBuf,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    /// Exactly pinned packages, as `ecosystem:name==version`.
    pub resolved: Vec<String>,
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
    format!("sha256:{}", hasher.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl Check for Lockfile {
    fn id(&self) -> &'static str {
        "lockfile"
    }

    fn description(&self) -> &'static str {
        "dependencies are pinned exactly, locks are in sync, and the onnxruntime pin matches the runtime"
    }

    fn explanation(&self) -> &'static str {
        "What: looks for Cargo.lock/Cargo.toml and requirements*.txt in --project DIR (default: the \
         model's folder). Cargo.lock must satisfy `cargo metadata --locked` (in sync with Cargo.toml); \
         every requirement must be pinned with `==` (no ranges, bare names, editable installs or VCS \
         URLs); an `onnxruntime==X` pin must equal the ONNX Runtime version this audit ran on. No lockfile \
         at all is a warning.\n\
         Why: an unpinned dependency makes the model you audited different from the model you serve; \
         a different onnxruntime can change numerics and latency.\n\
         Fix: pin with `pip freeze` / `pip-compile` / `uv pip compile`, run `cargo update` or `cargo \
         generate-lockfile` and commit Cargo.lock, and pin onnxruntime to the version you audited."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let runtime_version = ctx.runtime.map(|r| r.version.as_str());
        let mut verdicts = Vec::new();
        for dir in &ctx.project_dirs {
            verdicts.extend(audit_dir(dir, runtime_version));
        }
        if verdicts.is_empty() {
            let searched: Vec<String> = ctx.project_dirs.iter().map(|d| d.display().to_string()).collect();
            return Outcome::warn(format!("no lockfile found in {}", searched.join(", ")))
                .with_details(["looked for Cargo.lock, Cargo.toml, requirements*.txt; use --project DIR to point elsewhere".to_string()]);
        }
        let worst = verdicts.iter().map(|v| v.status).max().unwrap_or(Status::Pass);
        let summary: Vec<String> = verdicts.iter().map(|v| format!("{}: {}", display_name(&v.file), v.summary)).collect();
        let details: Vec<String> = verdicts
            .iter()
            .flat_map(|v| v.details.iter().map(move |d| format!("{}: {d}", display_name(&v.file))))
            .collect();
        let files: Vec<String> = verdicts.iter().map(|v| v.file.display().to_string()).collect();
        let resolved: Vec<String> = verdicts.iter().flat_map(|v| v.resolved.iter().cloned()).collect();
        let outcome = match worst {
            Status::Fail => Outcome::fail(summary.join("; ")),
            Status::Warn => Outcome::warn(summary.join("; ")),
            _ => Outcome::pass(summary.join("; ")),
        };
        outcome
            .with_details(details)
            .with_metric("lockfiles", files)
            .with_metric("resolved_packages", resolved.len())
            .with_metric("fingerprint", fingerprint(&resolved))
    }
}

fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// Every lockfile verdict for one folder.
pub fn audit_dir(dir: &Path, runtime_version: Option<&str>) -> Vec<LockVerdict> {
    let mut verdicts = Vec::new();
    if dir.join("Cargo.toml").is_file() || dir.join("Cargo.lock").is_file() {
        verdicts.push(cargo_verdict(dir));
    }
    let mut requirements: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = display_name(p);
            p.is_file() && name.starts_with("requirements") && name.ends_with(".txt")
        })
        .collect();
    requirements.sort();
    for file in requirements {
        verdicts.push(requirements_verdict(&file, runtime_version));
    }
    verdicts
}

fn cargo_verdict(dir: &Path) -> LockVerdict {
    let manifest = dir.join("Cargo.toml");
    let lock = dir.join("Cargo.lock");
    let resolved = locked_packages(&lock).unwrap_or_default();
    let verdict = |status, summary: String, details: Vec<String>| LockVerdict {
        file: lock.clone(),
        status,
        summary,
        details,
        resolved: resolved.clone(),
    };
    if !lock.is_file() {
        return LockVerdict {
            file: manifest,
            status: Status::Fail,
            summary: "Cargo.toml has no Cargo.lock beside it".into(),
            details: vec!["run `cargo generate-lockfile` and commit Cargo.lock".into()],
            resolved: Vec::new(),
        };
    }
    if !manifest.is_file() {
        return match locked_packages(&lock) {
            Ok(packages) => {
                verdict(Status::Pass, format!("{} packages locked (no Cargo.toml beside it to compare)", packages.len()), vec![])
            }
            Err(e) => verdict(Status::Fail, format!("unreadable lock: {e}"), vec![]),
        };
    }
    let result = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .other_options(vec!["--locked".to_string(), "--offline".to_string()])
        .exec();
    match result {
        Ok(metadata) => verdict(
            Status::Pass,
            format!("in sync with Cargo.toml ({} packages locked)", metadata.packages.len()),
            vec![],
        ),
        Err(cargo_metadata::Error::CargoMetadata { stderr }) => {
            let message = stderr.lines().find(|l| l.starts_with("error")).unwrap_or(stderr.trim()).to_string();
            if stderr.contains("--locked") || stderr.contains("needs to be updated") {
                verdict(Status::Fail, "out of sync with Cargo.toml".into(), vec![message, "run `cargo update -w` and commit Cargo.lock".into()])
            } else {
                verdict(Status::Warn, "could not be verified offline".into(), vec![message])
            }
        }
        Err(other) => verdict(Status::Warn, "could not be verified: cargo did not run".into(), vec![other.to_string()]),
    }
}

/// `crates:name==version` for every package in a Cargo.lock.
fn locked_packages(lock: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(lock).map_err(|e| e.to_string())?;
    let value: toml::Table = text.parse().map_err(|e: toml::de::Error| e.message().to_string())?;
    let packages = value.get("package").and_then(|p| p.as_array()).cloned().unwrap_or_default();
    Ok(packages
        .iter()
        .filter_map(|p| Some(format!("crates:{}=={}", p.get("name")?.as_str()?, p.get("version")?.as_str()?)))
        .collect())
}

/// One requirement line's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Pinned { name: String, version: String, hashed: bool },
    Unpinned { line: usize, text: String, why: &'static str },
}

fn parse_requirements(text: &str) -> Vec<Requirement> {
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let (start, mut acc) = pending.take().unwrap_or((line_no, String::new()));
        let trimmed = raw.trim_end();
        if let Some(body) = trimmed.strip_suffix('\\') {
            acc.push_str(body);
            acc.push(' ');
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(trimmed);
        logical.push((start, acc));
    }
    if let Some(rest) = pending {
        logical.push(rest);
    }
    let mut out = Vec::new();
    for (line, text) in logical {
        // A comment starts at '#' preceded by whitespace (or at the start of the line).
        let body = match text.find(" #").map(|i| i + 1).or(if text.trim_start().starts_with('#') { Some(0) } else { None }) {
            Some(i) => &text[..i],
            None => text.as_str(),
        };
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        if body.starts_with("-e") || body.starts_with("--editable") {
            out.push(Requirement::Unpinned { line, text: body.to_string(), why: "editable install" });
            continue;
        }
        if body.starts_with('-') {
            continue; // options: -r, -c, --index-url, --hash on its own line
        }
        let hashed = body.contains("--hash=");
        let spec = body.split(" --").next().unwrap_or(body).trim();
        let spec = spec.split(';').next().unwrap_or(spec).trim();
        if spec.contains("://") || spec.contains(" @ ") || spec.starts_with("git+") {
            out.push(Requirement::Unpinned { line, text: spec.to_string(), why: "URL or VCS reference" });
            continue;
        }
        let op = spec.find(|c: char| "=<>!~".contains(c));
        let name = op.map_or(spec, |i| &spec[..i]).trim();
        let constraint = op.map_or("", |i| &spec[i..]).trim();
        let version = constraint.strip_prefix("===").or_else(|| constraint.strip_prefix("=="));
        match version {
            Some(v) if !v.contains(',') && !v.contains('*') && !v.trim().is_empty() => {
                let name = name.split('[').next().unwrap_or(name).trim().to_ascii_lowercase().replace('_', "-");
                out.push(Requirement::Pinned { name, version: v.trim().to_string(), hashed });
            }
            _ if constraint.is_empty() => out.push(Requirement::Unpinned { line, text: spec.to_string(), why: "no version" }),
            _ => out.push(Requirement::Unpinned { line, text: spec.to_string(), why: "not an exact == pin" }),
        }
    }
    out
}

fn requirements_verdict(file: &Path, runtime_version: Option<&str>) -> LockVerdict {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return LockVerdict { file: file.to_path_buf(), status: Status::Fail, summary: format!("unreadable: {e}"), ..Default::default() };
        }
    };
    let requirements = parse_requirements(&text);
    let mut details = Vec::new();
    let mut status = Status::Pass;
    let mut pinned = 0;
    let mut hashed = 0;
    let mut resolved = Vec::new();
    for requirement in &requirements {
        match requirement {
            Requirement::Pinned { name, version, hashed: h } => {
                pinned += 1;
                resolved.push(format!("pypi:{name}=={version}"));
                hashed += usize::from(*h);
                if name == "onnxruntime"
                    && let Some(ran) = runtime_version
                    && ran != version
                {
                    status = Status::Fail;
                    details.push(format!("onnxruntime is pinned to {version} but this audit ran on {ran}"));
                }
            }
            Requirement::Unpinned { line, text, why } => {
                status = Status::Fail;
                details.push(format!("line {line}: '{text}' is not pinned ({why})"));
            }
        }
    }
    if requirements.is_empty() {
        return LockVerdict { file: file.to_path_buf(), status: Status::Warn, summary: "no requirements listed".into(), details, resolved };
    }
    if pinned > 0 && hashed == 0 {
        details.push("no --hash entries: pip cannot verify the downloaded files".to_string());
    }
    let summary = format!("{pinned}/{} requirements pinned with ==", requirements.len());
    LockVerdict { file: file.to_path_buf(), status, summary, details, resolved }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pins_pass_and_everything_else_is_named() {
        let text = "# comment\nnumpy==2.4.6\nonnxruntime>=1.20  # range\npandas\n-e ./local\nfoo @ git+https://x/y\n\
                    bar[extra]==1.0 ; python_version >= '3.9' \\\n    --hash=sha256:abc\n-r other.txt\nbaz===2.0\nqux==1.*\n";
        let parsed = parse_requirements(text);
        let pinned: Vec<&str> = parsed
            .iter()
            .filter_map(|r| match r {
                Requirement::Pinned { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(pinned, vec!["numpy", "bar", "baz"]);
        let unpinned: Vec<(usize, &str)> = parsed
            .iter()
            .filter_map(|r| match r {
                Requirement::Unpinned { line, why, .. } => Some((*line, *why)),
                _ => None,
            })
            .collect();
        assert_eq!(
            unpinned,
            vec![(3, "not an exact == pin"), (4, "no version"), (5, "editable install"), (6, "URL or VCS reference"), (11, "not an exact == pin")]
        );
        assert!(parsed.contains(&Requirement::Pinned { name: "bar".into(), version: "1.0".into(), hashed: true }));
    }

    #[test]
    fn the_fingerprint_ignores_order_and_duplicates() {
        let a = fingerprint(&["pypi:numpy==2.4.6".into(), "crates:itoa==1.0.18".into()]);
        let b = fingerprint(&["crates:itoa==1.0.18".into(), "pypi:numpy==2.4.6".into(), "pypi:numpy==2.4.6".into()]);
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&["pypi:numpy==2.4.7".into(), "crates:itoa==1.0.18".into()]));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
    }

    #[test]
    fn an_onnxruntime_pin_must_match_the_runtime_that_ran() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("requirements.txt");
        std::fs::write(&file, "onnxruntime==1.30.0\n").unwrap();
        let verdict = requirements_verdict(&file, Some("1.31.1"));
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.details[0].contains("pinned to 1.30.0 but this audit ran on 1.31.1"));
        assert_eq!(requirements_verdict(&file, Some("1.30.0")).status, Status::Pass);
    }
}
