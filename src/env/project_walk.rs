//! The bounded walk of a project folder shared by the scans that read it (hardcoded paths,
//! deployment files): files in name order, folders after the files beside them, never into
//! hidden folders, dependencies, build outputs, vendored code or environments, and never
//! through a symlink into a folder (a symlinked file is left to the opener, which keeps it
//! inside the project).

use std::path::{Path, PathBuf};

/// Folders never entered: environments, dependencies, build outputs, vendored code.
const SKIPPED_DIRS: &[&str] = &[
    "venv",
    "node_modules",
    "build",
    "dist",
    "target",
    "site-packages",
    "__pycache__",
    "vendor",
    "vendored",
    "_vendor",
    "third_party",
    "third-party",
];

/// What a walk found.
#[derive(Debug)]
pub struct Walk<T> {
    /// Paths relative to the root, with what `classify` said of each.
    pub files: Vec<(PathBuf, T)>,
    /// Folders that could not be read, or that `enter` kept the walk out of (as `enter` said).
    pub notes: Vec<String>,
    /// Whether the walk stopped at `max_files` before every candidate was found.
    pub truncated: bool,
}

/// The files under `root` that `classify` (given the file name) keeps, at most `max_files`.
/// `enter` sees every folder before it is read (the root included) and may keep the walk out
/// of it with a note.
pub fn walk<T>(root: &Path, max_files: usize, classify: impl Fn(&str) -> Option<T>, enter: impl Fn(&Path) -> Result<(), String>) -> Walk<T> {
    let mut walk = Walk { files: Vec::new(), notes: Vec::new(), truncated: false };
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let folder = root.join(&relative);
        if let Err(note) = enter(&folder) {
            walk.notes.push(note);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&folder) else {
            walk.notes.push(format!("{}: folder not readable", folder.display()));
            continue;
        };
        let mut entries: Vec<(String, std::fs::FileType)> =
            entries.flatten().filter_map(|e| Some((e.file_name().into_string().ok()?, e.file_type().ok()?))).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut folders = Vec::new();
        for (name, file_type) in entries {
            let inner = relative.join(&name);
            if file_type.is_dir() {
                if !skipped_dir(&root.join(&inner), &name) {
                    folders.push(inner);
                }
                continue;
            }
            let Some(kind) = classify(&name) else { continue };
            if walk.files.len() >= max_files {
                walk.truncated = true;
                return walk;
            }
            walk.files.push((inner, kind));
        }
        // Popped last first: reversed so that folders are read in name order.
        stack.extend(folders.into_iter().rev());
    }
    walk
}

/// Whether a folder is never entered: hidden, in [`SKIPPED_DIRS`], an egg-info, or a virtual
/// environment or conda prefix (it holds `pyvenv.cfg` or `conda-meta`).
fn skipped_dir(dir: &Path, name: &str) -> bool {
    name.starts_with('.')
        || SKIPPED_DIRS.contains(&name)
        || name.ends_with(".egg-info")
        || dir.join("pyvenv.cfg").exists()
        || dir.join("conda-meta").is_dir()
}
