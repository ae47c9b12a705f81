//! Conda explicit files (`conda list --explicit --md5`, `conda-lock render --kind explicit`):
//! an `@EXPLICIT` line, then one package URL per line, `.../name-version-build.conda#md5`. Every
//! package is pinned to one build by its URL; a `#hash` after it makes it hashed. The file lists
//! a solved environment but not its graph: closure is judged from the installed environment.

use std::path::{Path, PathBuf};

use super::pep::normalize;
use super::{Ecosystem, LockVerdict, Problem, read_text};

/// One package line: name, version, and whether a hash follows the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitPackage {
    pub name: String,
    pub version: String,
    pub hashed: bool,
}

/// Parses one URL line; `None` for a line that names no package archive.
pub fn parse_line(line: &str) -> Option<ExplicitPackage> {
    let (url, hash) = match line.split_once('#') {
        Some((url, hash)) => (url, !hash.trim().is_empty()),
        None => (line, false),
    };
    let file = url.trim().rsplit('/').next()?;
    let stem = file.strip_suffix(".conda").or_else(|| file.strip_suffix(".tar.bz2"))?;
    let mut parts = stem.rsplitn(3, '-');
    let (_build, version, name) = (parts.next()?, parts.next()?, parts.next()?);
    (!name.is_empty() && !version.is_empty()).then(|| ExplicitPackage { name: name.to_string(), version: version.to_string(), hashed: hash })
}

/// Explicit files in `dir`, by the names conda and conda-lock give them.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            p.is_file() && ((name.starts_with("conda-") && name.ends_with(".lock")) || name == "spec-file.txt" || name == "explicit.txt")
        })
        .collect();
    found.sort();
    found
}

/// Audits one explicit file.
pub fn audit(file: &Path) -> LockVerdict {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(file, e),
    };
    let mut verdict = LockVerdict::new(file);
    verdict.ecosystem = Ecosystem::Conda;
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#')).collect();
    if lines.first().map(|(_, l)| *l) != Some("@EXPLICIT") {
        verdict.finding(Problem::Malformed, format!("{}: no @EXPLICIT line: not a conda explicit file", super::file_name(file)));
        verdict.summary = "malformed".into();
        return verdict;
    }
    let (mut count, mut unhashed) = (0, 0);
    for (number, line) in &lines[1..] {
        match parse_line(line) {
            Some(package) => {
                count += 1;
                unhashed += usize::from(!package.hashed);
                verdict.python(&package.name, &package.version);
                verdict.conda_names.push(normalize(&package.name));
            }
            None => verdict.finding(Problem::Malformed, format!("{}:{number}: not a package URL: '{line}'", super::file_name(file))),
        }
    }
    if unhashed > 0 {
        verdict.finding(Problem::Unhashed, format!("{unhashed} of {count} package(s) without a #md5 or #sha256 (conda list --explicit --md5)"));
    }
    verdict.summary = format!("{count} packages pinned to a build");
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_urls_give_name_version_and_hash() {
        assert_eq!(
            parse_line("https://conda.anaconda.org/conda-forge/linux-64/scikit-learn-1.9.1-py311h57cc02b_0.conda#0a1b2c3d"),
            Some(ExplicitPackage { name: "scikit-learn".into(), version: "1.9.1".into(), hashed: true })
        );
        assert_eq!(
            parse_line("https://repo.anaconda.com/pkgs/main/noarch/tzdata-2024a-h04d1e81_0.tar.bz2"),
            Some(ExplicitPackage { name: "tzdata".into(), version: "2024a".into(), hashed: false })
        );
        assert_eq!(parse_line("https://example.com/not-a-package.txt"), None);
    }

    #[test]
    fn an_explicit_file_pins_every_package_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("conda-linux-64.lock");
        std::fs::write(
            &file,
            "# platform: linux-64\n@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda#aa\n\
             https://conda.anaconda.org/conda-forge/linux-64/numpy-2.4.6-py311h64a7726_0.conda\nnumpy>=2\n",
        )
        .unwrap();
        let verdict = audit(&file);
        assert_eq!(verdict.summary, "2 packages pinned to a build");
        let texts: Vec<&str> = verdict.findings.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            ["conda-linux-64.lock:5: not a package URL: 'numpy>=2'", "1 of 2 package(s) without a #md5 or #sha256 (conda list --explicit --md5)"]
        );
        assert_eq!(verdict.python_pins["numpy"][0].version, "2.4.6");
        assert_eq!(files(dir.path()), [file]);
    }
}
