//! `model_file`: whether a `COPY`/`ADD` ships the audited model. A source that names the
//! model's file (`COPY model.onnx /srv/`), a glob that matches it (`COPY *.onnx /srv/`) or a
//! folder that holds it (`COPY . /app`, `COPY models/ /srv/models/`) is resolved inside the build
//! context and hashed: the audited SHA-256 is Ok, another one a Problem ("the image ships a
//! different model"), a source that does not resolve (missing, a symlink out of the context,
//! over the hashing limit) is Advice. Symlinks are never followed out of the context, folders
//! are searched to a bounded depth and size, and an `ADD` of a URL naming the model is Advice.
//! A `COPY --from=<stage>` copies from the image, not the context: not judged here (the stage
//! that copied the file in is). A Dockerfile that never names the model gets no finding.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::deps::relative;
use super::parse::{Instruction, Stage, clip};
use super::{DockerContext, Dockerfile, Keyword, finding};
use crate::env::deploy::{Finding, Level};

const RULE: &str = "model_file";
/// How deep a copied folder is searched for the model.
const MAX_DEPTH: usize = 8;
/// How many folder entries the searches of one Dockerfile read at most, all together.
const MAX_ENTRIES: usize = 50_000;

/// What the `COPY`s of one Dockerfile share: the folder entries left to read, the sources
/// already searched and the files already hashed (`COPY . /app` twice walks and hashes once).
pub struct Walk {
    budget: usize,
    searched: std::collections::HashMap<PathBuf, Vec<PathBuf>>,
    hashed: std::collections::HashMap<PathBuf, Hashed>,
}

impl Default for Walk {
    fn default() -> Self {
        Walk { budget: MAX_ENTRIES, searched: Default::default(), hashed: Default::default() }
    }
}

/// What one model file found in the context hashed to.
#[derive(Clone)]
enum Hashed {
    Same(PathBuf),
    Different(PathBuf, String),
    Unreadable(PathBuf, String),
}

/// The finding of one `COPY`/`ADD`, when a source can hold the model.
pub fn judge(file: &Dockerfile, stage: &Stage, copy: &Instruction, ctx: &DockerContext, walk: &mut Walk) -> Option<Finding> {
    if copy.flag("from").is_some() {
        return None;
    }
    let field = copy.keyword.as_str();
    let words = copy.words();
    let (_, sources) = words.split_last()?;
    let model = ctx.model_file_name.as_str();
    let mut found = Vec::new();
    for source in sources.iter().filter(|s| !s.starts_with("<<")) {
        if source.contains("://") {
            if source.trim_end_matches('/').rsplit('/').next() == Some(model) && copy.keyword == Keyword::Add {
                let message = format!("ADD downloads {} at build time: not compared with the audited model; copy the audited file", clip(source));
                return Some(finding(file, stage, copy.line, field, RULE, Level::Advice, message));
            }
            continue;
        }
        let named = Path::new(*source).file_name().is_some_and(|n| n == model);
        let Some(rel) = relative(source) else {
            if named {
                let message = format!("{} names the model but leaves the build context: not compared", clip(source));
                return Some(finding(file, stage, copy.line, field, RULE, Level::Advice, message));
            }
            continue;
        };
        let Walk { budget, searched, .. } = walk;
        let here = searched.entry(rel.clone()).or_insert_with(|| {
            let mut here = Vec::new();
            candidates(&ctx.context_dir, &rel, model, &mut here, budget);
            here
        });
        found.extend(here.iter().cloned());
        if named && here.is_empty() {
            let message = format!(
                "{} names the model but is not in the build context {}: not compared",
                clip(source),
                clip(&ctx.context_dir.display().to_string())
            );
            return Some(finding(file, stage, copy.line, field, RULE, Level::Advice, message));
        }
    }
    if found.is_empty() {
        return None;
    }
    let hashed = found.iter().map(|p| walk.hashed.entry(p.clone()).or_insert_with(|| hash(p, ctx)).clone()).collect();
    let (level, message) = verdict(hashed, ctx);
    Some(finding(file, stage, copy.line, field, RULE, level, message))
}

/// Ok when any copy is the audited model, else a Problem for the first different one, else
/// Advice for what could not be read.
fn verdict(hashed: Vec<Hashed>, ctx: &DockerContext) -> (Level, String) {
    let shown = |p: &Path| clip(&p.strip_prefix(&ctx.context_dir).unwrap_or(p).display().to_string());
    if let Some(Hashed::Same(path)) = hashed.iter().find(|h| matches!(h, Hashed::Same(_))) {
        return (Level::Ok, format!("copies {}, the audited model (sha256 {})", shown(path), short(&ctx.model_sha256)));
    }
    if let Some(Hashed::Different(path, sha)) = hashed.iter().find(|h| matches!(h, Hashed::Different(..))) {
        let message = format!("the image ships a different model: {} has sha256 {} vs audited {}", shown(path), short(sha), short(&ctx.model_sha256));
        return (Level::Problem, message);
    }
    match hashed.first() {
        Some(Hashed::Unreadable(path, why)) => (Level::Advice, format!("{}: {why}; not compared with the audited model", shown(path))),
        _ => (Level::Advice, "the model's copy could not be compared".into()),
    }
}

/// The first 12 hex digits of a SHA-256, enough to tell two files apart in a message.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The files named `model` that the source `rel` copies: itself, what a glob in its last
/// component matches, or what a folder holds.
fn candidates(root: &Path, rel: &Path, model: &str, found: &mut Vec<PathBuf>, budget: &mut usize) {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.contains(['*', '?', '[']) {
        let parent = root.join(rel.parent().unwrap_or(Path::new("")));
        for entry in entries(&parent, budget) {
            let entry_name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            if glob(name, &entry_name) {
                visit(&entry, model, 0, found, budget);
            }
        }
        return;
    }
    visit(&root.join(rel), model, 0, found, budget);
}

/// A file named `model` is a candidate; a real folder (not a symlink) is searched.
fn visit(path: &Path, model: &str, depth: usize, found: &mut Vec<PathBuf>, budget: &mut usize) {
    let Ok(meta) = path.symlink_metadata() else { return };
    if meta.is_dir() {
        if depth < MAX_DEPTH {
            for entry in entries(path, budget) {
                visit(&entry, model, depth + 1, found, budget);
            }
        }
    } else if path.file_name().is_some_and(|n| n == model) {
        found.push(path.to_path_buf());
    }
}

/// A folder's entries, sorted, within the remaining budget.
fn entries(dir: &Path, budget: &mut usize) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = read.take(*budget).filter_map(|e| e.ok().map(|e| e.path())).collect();
    *budget = budget.saturating_sub(paths.len());
    paths.sort();
    paths
}

/// Docker's glob on one path component: `*`, `?`, and `[...]` taken as one unknown character.
fn glob(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point for the last `*`: linear enough for names.
    let (mut p, mut n, mut star, mut mark) = (0, 0, None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '[' {
            p = pattern[p..].iter().position(|c| *c == ']').map_or(pattern.len(), |end| p + end + 1);
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = n;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            n = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Hashes one candidate: contained in the context (no symlink out), a regular file, within the
/// hashing limit, streamed.
fn hash(path: &Path, ctx: &DockerContext) -> Hashed {
    use sha2::{Digest, Sha256};
    let unreadable = |why: String| Hashed::Unreadable(path.to_path_buf(), why);
    let real = match crate::sandbox::open::contain(&ctx.context_dir, path) {
        Ok(real) => real,
        Err(e) => return unreadable(e.to_string()),
    };
    let (file, _) = match crate::sandbox::open::open(&real, ctx.max_hash_bytes) {
        Ok(opened) => opened,
        Err(e) => return unreadable(e.to_string()),
    };
    let mut hasher = Sha256::new();
    let mut reader = file.take(ctx.max_hash_bytes);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) => return unreadable(e.to_string()),
        }
    }
    let sha = crate::artifact::hex(&hasher.finalize());
    if sha.eq_ignore_ascii_case(&ctx.model_sha256) { Hashed::Same(path.to_path_buf()) } else { Hashed::Different(path.to_path_buf(), sha) }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_one_component() {
        assert!(glob("*.onnx", "model.onnx"));
        assert!(glob("mod?l.onnx", "model.onnx"));
        assert!(glob("m[a-z]del.*", "model.onnx"));
        assert!(glob("*", "x"));
        assert!(!glob("*.onnx", "model.onnx.bak"));
        assert!(!glob("a*b*c", "abx"));
        assert!(glob("a*b*c", "axxbyyc"));
    }
}
