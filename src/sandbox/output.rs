//! `--output` files: every path is checked before the audit starts (a known report format, an
//! existing writable folder, not one of the audit's own input files), and each report is
//! written whole or not at all.

use std::path::{Path, PathBuf};

use crate::UsageError;
use crate::report::Format;

/// An `--output` path that passed the checks, with the format its extension names.
#[derive(Debug, Clone)]
pub struct Output {
    pub path: PathBuf,
    pub format: Format,
}

/// Checks every `--output` path against the audit's `inputs` (model, sample, config, ...).
pub fn check(paths: &[PathBuf], inputs: &[&PathBuf]) -> Result<Vec<Output>, UsageError> {
    let inputs: Vec<PathBuf> = inputs.iter().filter_map(|p| p.canonicalize().ok()).collect();
    paths.iter().map(|path| check_one(path, &inputs)).collect()
}

fn check_one(path: &Path, inputs: &[PathBuf]) -> Result<Output, UsageError> {
    let shown = path.display();
    let error = |text: String| UsageError(format!("--output {shown}: {text}"));
    let format = Format::from_extension(path)
        .ok_or_else(|| error("unknown report format (use .json, .xml for JUnit, .md for Markdown, .sarif or .txt)".into()))?;
    let folder = crate::artifact::model_dir(path);
    if !folder.is_dir() {
        return Err(error(format!("the folder {} does not exist", folder.display())));
    }
    if path.is_dir() {
        return Err(error("is a directory".into()));
    }
    if !writable(&folder) {
        return Err(error(format!("the folder {} is not writable", folder.display())));
    }
    let real = path.canonicalize().ok().or_else(|| Some(folder.canonicalize().ok()?.join(path.file_name()?)));
    if real.is_some_and(|real| inputs.contains(&real)) {
        return Err(error("is one of the audit's input files; it would be overwritten".into()));
    }
    Ok(Output { path: path.to_path_buf(), format })
}

/// Whether this process may create files in `folder`.
fn writable(folder: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(name) = std::ffi::CString::new(folder.as_os_str().as_bytes()) else { return false };
        // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
        unsafe { libc::access(name.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        !std::fs::metadata(folder).is_ok_and(|m| m.permissions().readonly())
    }
}

/// Writes every output, each whole or not at all; the error names every file not written.
pub fn write(outputs: &[Output], render: impl Fn(Format) -> Vec<u8>) -> Option<UsageError> {
    let failures: Vec<String> = outputs
        .iter()
        .filter_map(|o| {
            super::write::atomic_write(&o.path, &render(o.format)).err().map(|e| format!("--output {}: not written: {e}", o.path.display()))
        })
        .collect();
    (!failures.is_empty()).then(|| UsageError(failures.join("; ")))
}
