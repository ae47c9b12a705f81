//! `requirements*.txt`: every requirement pinned with `==` (PEP 508, markers understood), no
//! editable installs (bar `-e .`, the project itself), URL or VCS requirements; `--hash` entries
//! expected; `-r`/`-c` files followed inside the project folder (a name constrained with `==`
//! counts as pinned); in sync with a pip-tools `requirements*.in` beside it when there is one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::pep::{self, Req};
use super::{LockVerdict, Problem, read_text};

/// How deep `-r`/`-c` files may include each other.
const MAX_INCLUDE_DEPTH: usize = 8;

/// One requirement of a file, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub requirement: Result<Req, String>,
    pub hashed: bool,
    pub editable: bool,
    /// The included file it comes from (relative to the project folder); `None`: the file itself.
    pub from: Option<String>,
    /// It comes from a `-c` constraints file: it limits versions, it asks for nothing.
    pub constraint: bool,
}

impl Entry {
    /// `line 3` or `base.txt line 3`, for messages about the entry.
    fn place(&self) -> String {
        match &self.from {
            Some(file) => format!("{file} line {}", self.line),
            None => format!("line {}", self.line),
        }
    }
}

/// A `-r`/`--requirement` or `-c`/`--constraint` option: the line, whether it constrains, the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub line: usize,
    pub constraint: bool,
    pub path: String,
}

/// Logical lines: continuations joined, comments dropped, with the line each starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
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
    logical
}

/// Parses requirement-file text: continuations, comments, options and `--hash`.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (line, text) in logical_lines(text) {
        let body = text.trim();
        if body.is_empty() {
            continue;
        }
        let editable = body.starts_with("-e ") || body.starts_with("--editable");
        if body.starts_with('-') && !editable {
            continue; // -r, -c (see `includes`), --index-url, a --hash on its own line
        }
        let spec = if editable { body.trim_start_matches("--editable").trim_start_matches('=').trim_start_matches("-e").trim() } else { body };
        let hashed = spec.contains("--hash=") || spec.contains("--hash ");
        let spec = spec.split(" --").next().unwrap_or(spec).trim();
        let requirement = if editable { Err(spec.to_string()) } else { pep::parse(spec) };
        entries.push(Entry { line, requirement, hashed, editable, from: None, constraint: false });
    }
    entries
}

/// The `-r`/`--requirement` and `-c`/`--constraint` options of a file.
pub fn includes(text: &str) -> Vec<Include> {
    let mut found = Vec::new();
    for (line, text) in logical_lines(text) {
        let body = text.trim();
        let option = [("--requirement", false), ("--constraint", true), ("-r", false), ("-c", true)]
            .into_iter()
            .find_map(|(flag, constraint)| body.strip_prefix(flag).map(|rest| (rest, constraint)));
        let Some((rest, constraint)) = option else { continue };
        let path = rest.trim_start_matches('=').trim();
        if !path.is_empty() && (rest.starts_with([' ', '\t', '=']) || !rest.starts_with('-')) {
            found.push(Include { line, constraint, path: path.to_string() });
        }
    }
    found
}

/// What a file and the files it includes hold, and what went wrong following them.
#[derive(Default)]
struct Collected {
    entries: Vec<Entry>,
    problems: Vec<(Problem, String)>,
}

/// Follows the includes of `file` (already read as `text`), each relative to the including
/// file, through the opener: inside `folder`, no cycle, at most [`MAX_INCLUDE_DEPTH`] deep.
fn follow(folder: &Path, file: &Path, text: &str, constraint: bool, stack: &mut Vec<PathBuf>, out: &mut Collected) {
    let here = stack.last().filter(|_| stack.len() > 1).and_then(|p| p.strip_prefix(folder).ok()).map(|p| p.display().to_string());
    let place = |line: usize| match &here {
        Some(name) => format!("{name} line {line}"),
        None => format!("line {line}"),
    };
    for include in includes(text) {
        let constraint = constraint || include.constraint;
        let flag = if include.constraint { "-c" } else { "-r" };
        let shown = format!("{}: {flag} {}", place(include.line), include.path);
        if include.path.contains("://") {
            out.problems.push((Problem::Unpinned, format!("{shown} is not followed (not a file in the project): its pins are unknown")));
            continue;
        }
        let target = file.parent().unwrap_or(folder).join(&include.path);
        let real = match crate::sandbox::open::contain(folder, &target) {
            Ok(real) => real,
            Err(e) => {
                out.problems.push((Problem::Malformed, format!("{shown} is not followed: {e}")));
                continue;
            }
        };
        if stack.contains(&real) {
            out.problems.push((Problem::Malformed, format!("{shown} is not followed: it includes itself (a cycle)")));
            continue;
        }
        if stack.len() > MAX_INCLUDE_DEPTH {
            out.problems.push((Problem::Malformed, format!("{shown} is not followed: more than {MAX_INCLUDE_DEPTH} nested includes")));
            continue;
        }
        let text = match crate::sandbox::open::read_text_within(folder, &real, crate::sandbox::open::MAX_TEXT_BYTES) {
            Ok(text) => text,
            Err(e) => {
                out.problems.push((Problem::Malformed, format!("{shown} is not followed: {e}")));
                continue;
            }
        };
        let name = real.strip_prefix(folder).map_or_else(|_| include.path.clone(), |p| p.display().to_string());
        out.entries.extend(parse(&text).into_iter().map(|e| Entry { from: Some(name.clone()), constraint, ..e }));
        stack.push(real.clone());
        follow(folder, &real, &text, constraint, stack, out);
        stack.pop();
    }
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

/// The file's entries with those of every file it includes (`-r`, `-c`), and the problems met.
fn collect(file: &Path, text: &str) -> Collected {
    let mut out = Collected { entries: parse(text), ..Collected::default() };
    let folder = crate::artifact::model_dir(file);
    let (Ok(folder), Ok(real)) = (folder.canonicalize(), file.canonicalize()) else { return out };
    let mut stack = vec![real.clone()];
    follow(&folder, &real, text, false, &mut stack, &mut out);
    out
}

/// Exact `==` pins of the constraints files, by name: (version, marker, hashed).
fn constrained(entries: &[Entry]) -> BTreeMap<String, (String, String, bool)> {
    let mut pins = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.constraint) {
        if let Ok(Req { name, exact: Some(version), url: None, marker, .. }) = &entry.requirement {
            pins.entry(name.clone()).or_insert_with(|| (version.clone(), marker.clone(), entry.hashed));
        }
    }
    pins
}

/// Whether an editable install names the project folder itself (`-e .`, as `uv export` writes).
fn is_the_project(file: &Path, spec: &str) -> bool {
    let path = spec.strip_prefix("file:").unwrap_or(spec).trim_end_matches('/');
    let path = if path.is_empty() { "." } else { path };
    let folder = crate::artifact::model_dir(file);
    match (folder.canonicalize(), folder.join(path).canonicalize()) {
        (Ok(folder), Ok(target)) => folder == target,
        _ => false,
    }
}

/// The `[project].name` of the pyproject.toml beside `file`, normalized.
fn project_name(file: &Path) -> Option<String> {
    let pyproject = crate::artifact::model_dir(file).join("pyproject.toml");
    let table = read_text(&pyproject).and_then(|t| super::parse_toml(&pyproject, &t)).ok()?;
    table.get("project")?.get("name")?.as_str().map(pep::normalize)
}

/// The verdict on one requirements file (with the files it includes).
pub fn audit_file(file: &Path) -> LockVerdict {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(e) => return LockVerdict::unreadable(file, e),
    };
    let shown = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let collected = collect(file, &text);
    let constraints = constrained(&collected.entries);
    let mut verdict = LockVerdict::new(file);
    for (problem, text) in &collected.problems {
        verdict.finding(*problem, text.clone());
    }
    let requirements: Vec<&Entry> = collected.entries.iter().filter(|e| !e.constraint).collect();
    let (mut pinned, mut hashed, mut counted) = (0, 0, 0);
    for entry in &requirements {
        counted += 1;
        let (place, source) = (entry.place(), entry.from.clone().unwrap_or_else(|| shown.clone()));
        match &entry.requirement {
            Err(spec) if entry.editable && is_the_project(file, spec) => {
                counted -= 1;
                verdict.own_packages.extend(project_name(file));
                verdict.finding(Problem::Note, format!("{place}: editable install '{spec}' is the project itself, not a dependency"));
            }
            Err(spec) if entry.editable => verdict.finding(Problem::Unpinned, format!("{place}: editable install '{spec}' is not pinned")),
            Err(problem) => verdict.finding(Problem::Malformed, format!("{source}:{}: not a valid requirement: {problem}", entry.line)),
            Ok(req) => match (&req.url, &req.exact, constraints.get(&req.name)) {
                (Some(url), _, _) => verdict
                    .finding(Problem::Unpinned, format!("{place}: '{}' comes from a URL or VCS reference ({url}), not a pinned release", req.name)),
                (None, Some(version), _) => {
                    pinned += 1;
                    hashed += usize::from(entry.hashed);
                    verdict.python_with_marker(&req.name, version, &req.marker);
                    verdict.extras.entry(req.name.clone()).or_default().extend(req.extras.iter().cloned());
                }
                (None, None, Some((version, marker, constraint_hashed))) if pep::satisfies(&req.specifiers, version) == Ok(true) => {
                    pinned += 1;
                    hashed += usize::from(entry.hashed || *constraint_hashed);
                    let marker = if req.marker.is_empty() { marker } else { &req.marker };
                    verdict.python_with_marker(&req.name, version, marker);
                    verdict.extras.entry(req.name.clone()).or_default().extend(req.extras.iter().cloned());
                }
                (None, None, _) if req.specifiers.is_empty() => {
                    verdict.finding(Problem::Unpinned, format!("{place}: '{}' is not pinned (no version)", req.name))
                }
                (None, None, _) => {
                    verdict.finding(Problem::Unpinned, format!("{place}: '{}{}' is not pinned (not an exact == pin)", req.name, req.specifiers))
                }
            },
        }
    }
    // What a constraints file pins and nothing here asks for is pinned if something needs it.
    for (name, (version, marker, _)) in &constraints {
        if !verdict.python_pins.contains_key(name) {
            verdict.python_with_marker(name, version, marker);
            verdict.constrained_only.insert(name.clone());
        }
    }
    if requirements.is_empty() {
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
    check_against_in_file(file, &mut verdict);
    verdict.summary = format!("{pinned}/{counted} requirements pinned with ==");
    verdict
}

/// pip-tools: `requirements.in` lists what the project asks for; the `.txt` must satisfy it.
fn check_against_in_file(file: &Path, verdict: &mut LockVerdict) {
    let input = file.with_extension("in");
    let Ok(text) = read_text(&input) else { return };
    let input_name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    verdict.manifest = Some(input_name.clone());
    for wanted in parse(&text) {
        let Ok(wanted) = wanted.requirement else { continue };
        let locked = verdict.python_pins.get(&wanted.name).filter(|_| !verdict.constrained_only.contains(&wanted.name));
        match locked.and_then(|pins| pins.first()).map(|pin| pin.version.clone()) {
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
    fn requirement_and_constraint_options_are_found_in_every_spelling() {
        let found = includes("-r base.txt\n-rdev.txt\n--requirement=a.txt\n--constraint b.txt\n-c c.txt # pins\n--hash=sha256:ab\n-e .\n");
        let got: Vec<(usize, bool, &str)> = found.iter().map(|i| (i.line, i.constraint, i.path.as_str())).collect();
        assert_eq!(got, [(1, false, "base.txt"), (2, false, "dev.txt"), (3, false, "a.txt"), (4, true, "b.txt"), (5, true, "c.txt")]);
    }

    #[test]
    fn a_bare_name_constrained_with_an_exact_pin_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.txt"), "requests==2.34.2\nidna>=3\nsix==1.17.0\n").unwrap();
        let file = dir.path().join("requirements.txt");
        std::fs::write(&file, "-c c.txt\nrequests[socks]\nidna\n").unwrap();
        let verdict = audit_file(&file);
        assert_eq!(verdict.python_pins.keys().collect::<Vec<_>>(), ["requests", "six"]);
        assert_eq!(verdict.constrained_only, ["six".to_string()].into());
        assert_eq!(verdict.extras["requests"], ["socks".to_string()].into());
        assert_eq!(verdict.summary, "1/2 requirements pinned with ==");
        assert_eq!(texts(&verdict)[0], "line 3: 'idna' is not pinned (no version)");
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
