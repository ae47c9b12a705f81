//! `requirements*.txt`: every requirement pinned with `==` (PEP 508, markers understood), no
//! editable installs, URL or VCS requirements; `--hash` entries expected; in sync with a
//! pip-tools `requirements*.in` beside it when there is one.

use std::path::{Path, PathBuf};

use super::pep::{self, Req};
use super::{LockVerdict, Problem, read_text};

/// One requirement of a file, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub requirement: Result<Req, String>,
    pub hashed: bool,
    pub editable: bool,
}

/// Parses requirement-file text: continuations, comments, options and `--hash`.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (start, mut acc) = pending.take().unwrap_or((index + 1, String::new()));
        let line = strip_comment(raw);
        if let Some(body) = line.trim_end().strip_suffix('\\') {
            acc.push_str(body);
            acc.push(' ');
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(line);
        logical.push((start, acc));
    }
    logical.extend(pending);
    let mut entries = Vec::new();
    for (line, text) in logical {
        let body = text.trim();
        if body.is_empty() {
            continue;
        }
        let editable = body.starts_with("-e ") || body.starts_with("--editable");
        if body.starts_with('-') && !editable {
            continue; // -r, -c, --index-url, a --hash on its own line
        }
        let spec = if editable { body.trim_start_matches("--editable").trim_start_matches("-e").trim() } else { body };
        let hashed = spec.contains("--hash=") || spec.contains("--hash ");
        let spec = spec.split(" --").next().unwrap_or(spec).trim();
        let requirement = if editable { Err(format!("editable install '{spec}'")) } else { pep::parse(spec) };
        entries.push(Entry { line, requirement, hashed, editable });
    }
    entries
}

/// A comment starts at `#` at the start of a line or after whitespace (not inside a URL fragment).
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Verdicts for every `requirements*.txt` in `dir`.
pub fn audit_dir(dir: &Path) -> Vec<LockVerdict> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            p.is_file() && name.starts_with("requirements") && name.ends_with(".txt")
        })
        .collect();
    files.sort();
    files.iter().map(|f| audit_file(f)).collect()
}

/// The verdict on one requirements file.
pub fn audit_file(file: &Path) -> LockVerdict {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(file, e),
    };
    let shown = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let entries = parse(&text);
    let mut verdict = LockVerdict::new(file);
    let (mut pinned, mut hashed) = (0, 0);
    for entry in &entries {
        match &entry.requirement {
            Err(problem) if entry.editable => verdict.finding(Problem::Unpinned, format!("line {}: {problem} is not pinned", entry.line)),
            Err(problem) => verdict.finding(Problem::Malformed, format!("{shown}:{}: not a valid requirement: {problem}", entry.line)),
            Ok(req) => match (&req.url, &req.exact) {
                (Some(url), _) => verdict.finding(
                    Problem::Unpinned,
                    format!("line {}: '{}' comes from a URL or VCS reference ({url}), not a pinned release", entry.line, req.name),
                ),
                (None, Some(version)) => {
                    pinned += 1;
                    hashed += usize::from(entry.hashed);
                    verdict.python_with_marker(&req.name, version, &req.marker);
                }
                (None, None) if req.specifiers.is_empty() => {
                    verdict.finding(Problem::Unpinned, format!("line {}: '{}' is not pinned (no version)", entry.line, req.name))
                }
                (None, None) => verdict
                    .finding(Problem::Unpinned, format!("line {}: '{}{}' is not pinned (not an exact == pin)", entry.line, req.name, req.specifiers)),
            },
        }
    }
    if entries.is_empty() {
        verdict.summary = "no requirements listed".into();
        verdict.finding(Problem::Incomplete, "the file lists no requirements");
        return verdict;
    }
    if pinned > 0 && hashed < pinned {
        let text = if hashed == 0 {
            "no --hash entries: pip cannot verify the downloaded files (pip-compile --generate-hashes)".to_string()
        } else {
            format!("{} of {pinned} pinned requirements have no --hash", pinned - hashed)
        };
        verdict.finding(Problem::Unhashed, text);
    }
    check_against_in_file(file, &entries, &mut verdict);
    verdict.summary = format!("{pinned}/{} requirements pinned with ==", entries.len());
    verdict
}

/// pip-tools: `requirements.in` lists what the project asks for; the `.txt` must satisfy it.
fn check_against_in_file(file: &Path, entries: &[Entry], verdict: &mut LockVerdict) {
    let input = file.with_extension("in");
    let Ok(text) = read_text(&input) else { return };
    let input_name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    verdict.manifest = Some(input_name.clone());
    for wanted in parse(&text) {
        let Ok(wanted) = wanted.requirement else { continue };
        let locked = entries.iter().filter_map(|e| e.requirement.as_ref().ok()).find(|r| r.name == wanted.name);
        match locked.and_then(|r| r.exact.clone()) {
            None => verdict
                .finding(Problem::OutOfSync, format!("'{}' is in {input_name} but not pinned here: out of sync, re-run pip-compile", wanted.name)),
            Some(version) => match pep::satisfies(&wanted.specifiers, &version) {
                Ok(true) => {}
                Ok(false) => verdict.finding(
                    Problem::OutOfSync,
                    format!(
                        "'{}' is pinned to {version}, outside '{}' in {input_name}: out of sync, re-run pip-compile",
                        wanted.name, wanted.specifiers
                    ),
                ),
                Err(e) => verdict.finding(Problem::Malformed, format!("{input_name}: {e}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(verdict: &LockVerdict) -> Vec<String> {
        verdict.findings.iter().map(|f| f.text.clone()).collect()
    }

    fn verdict_for(text: &str) -> LockVerdict {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("requirements.txt");
        std::fs::write(&file, text).unwrap();
        audit_file(&file)
    }

    #[test]
    fn exact_pins_pass_and_everything_else_is_named() {
        let verdict = verdict_for(
            "# comment\nnumpy==2.4.6\nonnxruntime>=1.20  # range\npandas\n-e ./local\nfoo @ git+https://x.org/y.git\n\
             bar[extra]==1.0 ; python_version >= '3.9' \\\n    --hash=sha256:abc\n-r other.txt\nbaz===2.0\nqux==1.*\n",
        );
        assert_eq!(verdict.python_pins.keys().collect::<Vec<_>>(), vec!["bar", "baz", "numpy"]);
        assert_eq!(verdict.summary, "3/8 requirements pinned with ==");
        let expected = [
            "line 3: 'onnxruntime>=1.20' is not pinned (not an exact == pin)",
            "line 4: 'pandas' is not pinned (no version)",
            "line 5: editable install './local' is not pinned",
            "line 6: 'foo' comes from a URL or VCS reference",
            "line 11: 'qux==1.*' is not pinned (not an exact == pin)",
        ];
        for text in expected {
            assert!(texts(&verdict).iter().any(|d| d.starts_with(text)), "{text}: {:?}", texts(&verdict));
        }
        assert!(texts(&verdict).iter().any(|d| d == "2 of 3 pinned requirements have no --hash"), "{:?}", texts(&verdict));
    }

    #[test]
    fn a_malformed_line_names_file_and_line() {
        let verdict = verdict_for("numpy==1.0\nthis is !! not valid\n");
        assert!(texts(&verdict).iter().any(|d| d.starts_with("requirements.txt:2: not a valid requirement")), "{:?}", texts(&verdict));
    }

    #[test]
    fn a_pip_tools_input_file_must_be_satisfied() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.in"), "numpy>=2\nrequests\n").unwrap();
        let file = dir.path().join("requirements.txt");
        std::fs::write(&file, "numpy==1.26.4\n").unwrap();
        let verdict = audit_file(&file);
        assert!(texts(&verdict).iter().any(|d| d.starts_with("'numpy' is pinned to 1.26.4, outside '>=2' in requirements.in")));
        assert!(texts(&verdict).iter().any(|d| d.starts_with("'requests' is in requirements.in but not pinned here")));
    }
}
