//! Cargo: `Cargo.lock` must satisfy `cargo metadata --locked --offline` against `Cargo.toml`
//! (cargo_metadata); registry packages must carry checksums.

use std::path::Path;

use super::{LockVerdict, Options, parse_toml, read_text};

/// Audits the Cargo project in `dir`.
pub fn audit(dir: &Path, options: Options) -> LockVerdict {
    let manifest = dir.join("Cargo.toml");
    let lock = dir.join("Cargo.lock");
    if !lock.is_file() {
        return LockVerdict::missing_lock(&manifest, "Cargo.toml has no Cargo.lock beside it", "run `cargo generate-lockfile` and commit Cargo.lock");
    }
    let mut verdict = match read_lock(&lock) {
        Ok(v) => v,
        Err(problem) => return LockVerdict::unreadable(&lock, problem),
    };
    let packages = verdict.resolved.len();
    let unchecked = verdict.details.len();
    if unchecked > 0 {
        let missing = std::mem::take(&mut verdict.details);
        verdict.missing_hashes(options, format!("{} registry package(s) without a checksum: {}", missing.len(), missing.join(", ")));
    }
    if !manifest.is_file() {
        verdict.summary = format!("{packages} packages locked (no Cargo.toml beside it to compare)");
        return verdict;
    }
    let result = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .other_options(vec!["--locked".to_string(), "--offline".to_string()])
        .exec();
    match result {
        Ok(_) => verdict.summary = format!("in sync with Cargo.toml ({packages} packages locked)"),
        Err(cargo_metadata::Error::CargoMetadata { stderr }) => {
            let message = stderr.lines().find(|l| l.starts_with("error")).unwrap_or(stderr.trim()).to_string();
            if stderr.contains("--locked") || stderr.contains("needs to be updated") {
                verdict.summary = "out of sync with Cargo.toml".into();
                verdict.fail(message);
                verdict.fail("run `cargo update -w` and commit Cargo.lock");
            } else {
                verdict.summary = "could not be verified offline".into();
                verdict.warn(message);
            }
        }
        Err(other) => {
            verdict.summary = "could not be verified: cargo did not run".into();
            verdict.warn(other.to_string());
        }
    }
    verdict
}

/// Parses a Cargo.lock: resolved packages, and (in `details`) registry packages without checksum.
pub fn read_lock(lock: &Path) -> Result<LockVerdict, String> {
    let text = read_text(lock)?;
    let table = parse_toml(lock, &text)?;
    let mut verdict = LockVerdict::new(lock);
    let packages = table.get("package").and_then(|p| p.as_array()).cloned().unwrap_or_default();
    // Lock format v1 kept checksums in [metadata]; v2+ keeps them on each package.
    let legacy_checksums = table.get("metadata").and_then(|m| m.as_table()).map_or(0, |m| m.len());
    for (index, package) in packages.iter().enumerate() {
        let name = package.get("name").and_then(|v| v.as_str());
        let version = package.get("version").and_then(|v| v.as_str());
        let (Some(name), Some(version)) = (name, version) else {
            return Err(format!("{}: [[package]] #{} has no name or version", lock.display(), index + 1));
        };
        verdict.resolved.push(format!("crates:{name}=={version}"));
        let registry = package.get("source").and_then(|s| s.as_str()).is_some_and(|s| s.starts_with("registry+"));
        if registry && package.get("checksum").is_none() && legacy_checksums == 0 {
            verdict.details.push(format!("{name} {version}"));
        }
    }
    Ok(verdict)
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
        assert_eq!(verdict.details, vec!["a 1.0.0"]);
        std::fs::write(&lock, "[[package]]\nversion = \"1\"\n").unwrap();
        assert!(read_lock(&lock).unwrap_err().contains("has no name"));
    }
}
