//! `dependencies_locked`: whether each install command in a `RUN` installs from the project's
//! lock. The shell text (or the exec form's words, or a heredoc fed to a shell) is split into
//! simple commands, and each install command gets one finding:
//! - `pip install -r requirements*.txt` (also `uv pip install -r`, `pip-sync`, `uv pip sync`) Ok;
//!   Advice without `--require-hashes` when that file, found in the build context, has `--hash=`;
//! - `pip install numpy` or `numpy>=1` (unpinned names) Problem; names pinned with `==` Advice
//!   (their own dependencies are not pinned); names constrained by `-c` Ok; packaging tools
//!   (`pip install -U pip setuptools wheel`) unpinned Advice, pinned Ok; a URL Advice; `$PKGS` Advice;
//!   local paths (`.`, wheels) are not judged;
//! - `uv sync --locked`/`--frozen` Ok, plain `uv sync` Advice; `poetry install` Ok with a
//!   `poetry.lock` in the context (or copied), else Advice; `pipenv install --deploy` /
//!   `--ignore-pipfile`, `pipenv sync` Ok, plain `pipenv install` Advice, with names a Problem;
//!   `conda env create -f`, `conda|mamba|micromamba install|create -f` Ok, with names the pin rule
//!   (`name=1.2` pinned).

use std::path::{Component, Path, PathBuf};

use super::parse::{Args, Instruction, Stage, clip};
use super::shell;
use super::{DockerContext, Dockerfile, Keyword, finding};
use crate::env::deploy::{Finding, Level};

const RULE: &str = "dependencies_locked";

/// Packaging tools: installing them unpinned moves the build, not the model's dependencies.
const TOOLS: [&str; 9] = ["pip", "setuptools", "wheel", "uv", "poetry", "pipenv", "pip-tools", "virtualenv", "build"];

/// pip and `uv pip` options that take a value as the next word.
const VALUE_OPTIONS: [&str; 44] = [
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--src",
    "--upgrade-strategy",
    "--progress-bar",
    "--cache-dir",
    "--log",
    "--trusted-host",
    "--only-binary",
    "--no-binary",
    "-C",
    "--config-settings",
    "--global-option",
    "--report",
    "--python",
    "-p",
    "--retries",
    "--timeout",
    "--proxy",
    "--group",
    "--index-strategy",
    "--torch-backend",
    "--index",
    "--default-index",
    "--resolution",
    "--prerelease",
    "--link-mode",
    "--keyring-provider",
    "--exclude-newer",
    "--override",
    "--upgrade-package",
    "-P",
    "--reinstall-package",
];

/// What the judging of every `RUN` of one file shares: the context, the file's `COPY`s (read
/// once), and which requirements files were found to carry hashes (read once each).
pub struct Judge<'a> {
    pub ctx: &'a DockerContext,
    copies: Vec<(Vec<String>, String)>,
    resolved: std::cell::RefCell<std::collections::HashMap<String, Option<PathBuf>>>,
    hashed: std::cell::RefCell<std::collections::HashMap<PathBuf, bool>>,
}

impl<'a> Judge<'a> {
    pub fn new(file: &Dockerfile, ctx: &'a DockerContext) -> Self {
        Judge { ctx, copies: copies(file), resolved: Default::default(), hashed: Default::default() }
    }
}

/// The findings of one `RUN`: one per install command.
pub fn judge(file: &Dockerfile, stage: &Stage, run: &Instruction, judge: &Judge) -> Vec<Finding> {
    let mut commands = match &run.args {
        Args::Exec(words) => match words.as_slice() {
            [sh, c, script, ..] if is_shell(sh) && c == "-c" => shell::commands(script),
            _ => vec![words.clone()],
        },
        Args::Shell(text) => shell::commands(text),
    };
    let feeds_shell = commands.first().is_none_or(|first| first.first().is_some_and(|w| is_shell(w)));
    if feeds_shell {
        for doc in &run.heredocs {
            commands.extend(shell::commands(&doc.body));
        }
    }
    commands
        .iter()
        .filter_map(|words| command(strip_prefixes(words), judge))
        .map(|(level, message)| finding(file, stage, run.line, "RUN", RULE, level, message))
        .collect()
}

fn is_shell(word: &str) -> bool {
    matches!(basename(word), "sh" | "bash" | "ash" | "dash" | "zsh")
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The command after `VAR=value` assignments, wrappers (`sudo`, `env`, `exec`, `time`) and the
/// shell's reserved words (`then pip install ...` in an `if`).
fn strip_prefixes(words: &[String]) -> &[String] {
    let mut rest = words;
    while let Some((first, tail)) = rest.split_first() {
        let assignment = first.split_once('=').is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if assignment
            || matches!(
                first.as_str(),
                "sudo" | "env" | "exec" | "time" | "command" | "nice" | "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "!" | "{"
            )
            || (first.starts_with('-') && rest.len() < words.len())
        {
            rest = tail;
        } else {
            break;
        }
    }
    rest
}

/// The verdict on one simple command, when it installs Python dependencies.
fn command(words: &[String], judge: &Judge) -> Option<(Level, String)> {
    let program = basename(words.first()?);
    let arg = |i: usize| words.get(i).map(String::as_str);
    if is_pip(program) && arg(1) == Some("install") {
        return Some(pip_install(&words[2..], judge));
    }
    if program.starts_with("python") && arg(1) == Some("-m") && arg(2).is_some_and(is_pip) && arg(3) == Some("install") {
        return Some(pip_install(&words[4..], judge));
    }
    let has = |flag: &str| words.iter().any(|w| w == flag);
    match (program, arg(1), arg(2)) {
        ("uv", Some("pip"), Some("install")) => Some(pip_install(&words[3..], judge)),
        ("uv", Some("pip"), Some("sync")) | ("pip-sync", _, _) => Some((Level::Ok, "installs exactly the lock (pip sync)".into())),
        ("uv", Some("sync"), _) if has("--locked") || has("--frozen") => Some((Level::Ok, "uv sync from uv.lock (--locked/--frozen)".into())),
        ("uv", Some("sync"), _) => {
            Some((Level::Advice, "uv sync without --locked or --frozen may re-resolve and rewrite uv.lock during the build: add --locked".into()))
        }
        ("poetry", Some("install"), _) => Some(poetry(judge)),
        ("pipenv", Some("sync"), _) => Some((Level::Ok, "pipenv sync installs Pipfile.lock".into())),
        ("pipenv", Some("install"), _) => Some(pipenv(&words[2..])),
        ("conda" | "mamba" | "micromamba", Some("env"), Some("create" | "update")) if has("-f") || has("--file") => {
            Some((Level::Ok, format!("{program} env from a file")))
        }
        ("conda" | "mamba" | "micromamba", Some("install" | "create"), _) => conda(program, &words[2..]),
        _ => None,
    }
}

fn is_pip(program: &str) -> bool {
    program.strip_prefix("pip").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// What a `pip install` names.
#[derive(Default)]
struct PipArgs {
    requirements: Vec<String>,
    constraints: bool,
    require_hashes: bool,
    no_index: bool,
    unpinned: Vec<String>,
    tools: Vec<String>,
    pinned_tools: Vec<String>,
    pinned: Vec<String>,
    urls: Vec<String>,
    variables: Vec<String>,
}

fn pip_args(args: &[String]) -> PipArgs {
    let mut out = PipArgs::default();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let w = word.as_str();
        if let Some(file) = value_of(w, &["-r", "--requirement"], &mut words) {
            out.requirements.push(file);
        } else if value_of(w, &["-c", "--constraint"], &mut words).is_some() {
            out.constraints = true;
        } else if value_of(w, &["-e", "--editable"], &mut words).is_some() {
        } else if w == "--require-hashes" {
            out.require_hashes = true;
        } else if w == "--no-index" {
            out.no_index = true;
        } else if VALUE_OPTIONS.contains(&w) {
            words.next();
        } else if !w.starts_with('-') {
            target(w, &mut out);
        }
    }
    out
}

/// The value of an option among `names` written `-r x`, `-rx` (short) or `--requirement=x`.
fn value_of<'a>(word: &str, names: &[&str], rest: &mut impl Iterator<Item = &'a String>) -> Option<String> {
    for name in names {
        if word == *name {
            return Some(rest.next().cloned().unwrap_or_default());
        }
        let glued = if name.starts_with("--") { word.strip_prefix(name).and_then(|v| v.strip_prefix('=')) } else { word.strip_prefix(name) };
        if let Some(value) = glued.filter(|v| !v.is_empty()) {
            return Some(value.to_string());
        }
    }
    None
}

/// Files one positional `pip install` argument.
fn target(word: &str, out: &mut PipArgs) {
    let shown = clip(word);
    if word.contains('$') {
        out.variables.push(shown);
    } else if word.contains("://") || word.starts_with("git+") {
        out.urls.push(shown);
    } else if word.starts_with(['.', '/', '~']) || word.contains('/') || [".whl", ".tar.gz", ".zip"].iter().any(|e| word.ends_with(e)) {
        // A local project or wheel: its own dependencies are judged where they are locked.
    } else {
        match crate::lockfiles::pep::parse(word) {
            Ok(req) if req.url.is_some() => out.urls.push(shown),
            Ok(req) if TOOLS.contains(&req.name.as_str()) && req.exact.is_some() => out.pinned_tools.push(shown),
            Ok(req) if TOOLS.contains(&req.name.as_str()) => out.tools.push(shown),
            Ok(req) if req.exact.is_some() => out.pinned.push(shown),
            _ => out.unpinned.push(shown),
        }
    }
}

/// The verdict on a `pip install` (or `uv pip install`): the worst of what it names.
fn pip_install(args: &[String], judge: &Judge) -> (Level, String) {
    let pip = pip_args(args);
    let list = |names: &[String]| names.join(", ");
    if !pip.unpinned.is_empty() && !pip.constraints && !pip.no_index {
        return (Level::Problem, format!("pip install {}: installs outside the lock: the image is not reproducible", list(&pip.unpinned)));
    }
    if !pip.variables.is_empty() {
        return (Level::Advice, format!("pip install {}: names decided by a variable, not judged; install from the lock", list(&pip.variables)));
    }
    if !pip.urls.is_empty() {
        return (Level::Advice, format!("pip install {}: installs from a URL outside the lock", list(&pip.urls)));
    }
    if !pip.pinned.is_empty() && !pip.constraints {
        return (Level::Advice, format!("pip install {}: pinned, but outside the lock: their own dependencies are not pinned", list(&pip.pinned)));
    }
    if let Some(verdict) = pip.requirements.iter().find_map(|r| unhashed(r, &pip, judge)) {
        return verdict;
    }
    if !pip.requirements.is_empty() {
        return (Level::Ok, format!("installs from {}", list(&pip.requirements)));
    }
    if !pip.tools.is_empty() {
        return (Level::Advice, format!("pip install {}: packaging tools unpinned; the build may change with their next release", list(&pip.tools)));
    }
    if !pip.pinned_tools.is_empty() {
        return (Level::Ok, format!("installs pinned packaging tools ({})", list(&pip.pinned_tools)));
    }
    (Level::Ok, "installs local files, a wheelhouse or constrained names".into())
}

/// Advice when requirements file `name` has `--hash=` lines but the install does not say
/// `--require-hashes`.
fn unhashed(name: &str, pip: &PipArgs, judge: &Judge) -> Option<(Level, String)> {
    if pip.require_hashes {
        return None;
    }
    let path = resolve(name, judge)?;
    let mut cache = judge.hashed.borrow_mut();
    let hashed = *cache.entry(path.clone()).or_insert_with(|| {
        let text = crate::sandbox::open::read_text_within(&judge.ctx.context_dir, &path, crate::sandbox::open::MAX_TEXT_BYTES);
        text.is_ok_and(|text| text.lines().any(|l| l.split('#').next().unwrap_or("").contains("--hash")))
    });
    hashed.then(|| {
        let message =
            format!("installs from {} whose lines carry --hash: add --require-hashes so a line that loses its hash fails the build", clip(name));
        (Level::Advice, message)
    })
}

/// Where a file the image uses (`requirements.txt`, `poetry.lock`) lies in the build context:
/// as named relative to the context, as the source of a `COPY`/`ADD` whose destination is that
/// file, as a source with that name, inside a copied folder, or at the context's top. Only
/// regular files inside the context are returned.
pub fn resolve(name: &str, judge: &Judge) -> Option<PathBuf> {
    judge.resolved.borrow_mut().entry(name.to_string()).or_insert_with(|| find(name, judge)).clone()
}

fn find(name: &str, judge: &Judge) -> Option<PathBuf> {
    let ctx = judge.ctx;
    let base = Path::new(name).file_name()?;
    let mut candidates = vec![relative(name).map(|r| ctx.context_dir.join(r))];
    for (sources, dest) in &judge.copies {
        if let [source] = sources.as_slice()
            && !dest.ends_with('/')
            && Path::new(dest).file_name() == Some(base)
        {
            candidates.push(relative(source).map(|r| ctx.context_dir.join(r)));
        }
        for source in sources.iter().filter_map(|s| relative(s)) {
            let path = ctx.context_dir.join(source);
            candidates.push(Some(if path.file_name() == Some(base) { path } else { path.join(base) }));
        }
    }
    candidates.push(Some(ctx.context_dir.join(base)));
    candidates.into_iter().flatten().find(|p| crate::sandbox::open::contain(&ctx.context_dir, p).is_ok_and(|real| real.is_file()))
}

/// `name` as a path relative to the build context (`/app/x` and `./x` are relative to it as
/// `COPY` reads them); `None` with a `..` or a variable.
pub fn relative(name: &str) -> Option<PathBuf> {
    let path = Path::new(name.trim_start_matches('/'));
    let ok = !name.contains('$') && path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    ok.then(|| path.to_path_buf())
}

/// How many `COPY`/`ADD` instructions a file is looked up through (a real Dockerfile has a few).
const MAX_COPIES: usize = 64;

/// The context sources and the destination of the first `COPY`/`ADD`s (not `--from`; URLs and
/// heredocs left out of the sources).
fn copies(file: &Dockerfile) -> Vec<(Vec<String>, String)> {
    let copies =
        file.stages.iter().flat_map(|s| &s.instructions).filter(|i| matches!(i.keyword, Keyword::Copy | Keyword::Add) && i.flag("from").is_none());
    let copies = copies.take(MAX_COPIES);
    let mut out = Vec::new();
    for copy in copies {
        let words = copy.words();
        if let Some((dest, srcs)) = words.split_last() {
            let sources = srcs.iter().filter(|s| !s.contains("://") && !s.starts_with("<<")).map(|s| s.to_string()).collect();
            out.push((sources, dest.to_string()));
        }
    }
    out
}

/// `poetry install`: Ok when a `poetry.lock` is in the context or copied in.
fn poetry(judge: &Judge) -> (Level, String) {
    match resolve("poetry.lock", judge) {
        Some(_) => (Level::Ok, "poetry install from poetry.lock".into()),
        None => (Level::Advice, "poetry install, but no poetry.lock in the build context: versions are resolved afresh".into()),
    }
}

/// `pipenv install`: `--deploy` (fails on a stale lock) or `--ignore-pipfile` installs the lock.
fn pipenv(args: &[String]) -> (Level, String) {
    let names: Vec<String> = args.iter().filter(|a| !a.starts_with('-')).map(|a| clip(a)).collect();
    if !names.is_empty() {
        return (Level::Problem, format!("pipenv install {}: installs outside the lock: the image is not reproducible", names.join(", ")));
    }
    if args.iter().any(|a| a == "--deploy" || a == "--ignore-pipfile") {
        return (Level::Ok, "pipenv install from Pipfile.lock".into());
    }
    (Level::Advice, "pipenv install without --deploy may install from a Pipfile.lock out of date with the Pipfile: add --deploy".into())
}

/// `conda install` / `create`: Ok from a file; named packages follow the pin rule (`name=1.2`).
fn conda(program: &str, args: &[String]) -> Option<(Level, String)> {
    let mut names = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "-f" | "--file" => return Some((Level::Ok, format!("{program} installs from a file"))),
            "-n" | "--name" | "-p" | "--prefix" | "-c" | "--channel" | "-r" | "--root-prefix" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => names.push(w),
        }
    }
    let unpinned: Vec<String> = names.iter().filter(|n| !n.contains('=') && !n.contains('$')).map(|n| clip(n)).collect();
    if !unpinned.is_empty() {
        return Some((
            Level::Problem,
            format!("{program} install {}: installs outside the lock: the image is not reproducible", unpinned.join(", ")),
        ));
    }
    let pinned: Vec<String> = names.iter().map(|n| clip(n)).collect();
    (!pinned.is_empty()).then(|| (Level::Advice, format!("{program} install {}: pinned, but outside the lock", pinned.join(", "))))
}
