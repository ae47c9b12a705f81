//! Finding libonnxruntime: `--ort-lib`, then `ORT_DYLIB_PATH`, then the `onnxruntime` package of
//! the Python environment `ready` is installed in (`pip install` puts it at `<venv>/bin/ready`),
//! then the active Python's, then the system library paths.
//!
//! A library is only accepted after it has been opened and asked for its version, so a
//! broken or too-old file is reported with its path instead of failing later. A library whose
//! file declares a version older than [`MIN_VERSION`] is refused before it is opened.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use super::library_version::MIN_VERSION;
use super::library_version::{self, Version};

/// Where a library candidate came from, in search order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Flag,
    Env,
    Python,
    System,
}

impl Source {
    /// How the report names this source.
    pub fn label(self) -> &'static str {
        match self {
            Self::Flag => "--ort-lib",
            Self::Env => "ORT_DYLIB_PATH",
            Self::Python => "Python onnxruntime package",
            Self::System => "system library path",
        }
    }
}

/// A libonnxruntime that opened and reported a usable version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuntimeLibrary {
    pub path: PathBuf,
    pub version: String,
    pub source: Source,
}

/// Why no runtime could be used, with every place that was searched.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error("{source_label} points to {path}, which is not a usable ONNX Runtime: {reason}")]
    Unusable { source_label: &'static str, path: PathBuf, reason: String },
    #[error(
        "could not find ONNX Runtime (libonnxruntime); looked in: {searched}. \
         Install it with `pip install onnxruntime==1.31.1` (or run scripts/setup.sh), \
         or pass --ort-lib PATH / set ORT_DYLIB_PATH"
    )]
    NotFound { searched: String },
}

/// Finds and validates the library. `flag` is `--ort-lib`; `env` is `ORT_DYLIB_PATH`.
/// An explicit flag or variable that does not work is an error, not a reason to keep looking.
pub fn locate(flag: Option<&Path>, env: Option<&Path>) -> Result<RuntimeLibrary, LocateError> {
    locate_for(flag, env, None)
}

/// [`locate`], looking first in `serving_env` (`--env`: the Python environment the model is
/// served from, a prefix or a `site-packages` folder) after the flag and the variable.
pub fn locate_for(flag: Option<&Path>, env: Option<&Path>, serving_env: Option<&Path>) -> Result<RuntimeLibrary, LocateError> {
    for (source, path) in [(Source::Flag, flag), (Source::Env, env)] {
        if let Some(path) = path {
            return probe(path).map(|version| RuntimeLibrary { path: path.to_path_buf(), version, source }).map_err(|reason| LocateError::Unusable {
                source_label: source.label(),
                path: path.to_path_buf(),
                reason,
            });
        }
    }
    let mut searched = vec!["--ort-lib (not given)".to_string(), "ORT_DYLIB_PATH (not set)".to_string()];
    let mut rejected = Vec::new();
    let mut python_dirs = Vec::new();
    if let Some(prefix) = serving_env {
        searched.push(format!("--env {}", prefix.display()));
        python_dirs.push(prefix.join("onnxruntime").join("capi"));
        python_dirs.extend(site_packages(prefix).into_iter().map(|sp| sp.join("onnxruntime").join("capi")));
    }
    python_dirs.extend(python_package_dirs(&mut searched));
    let system_dirs = system_dirs();
    searched.push(format!("system paths ({})", system_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")));
    for (source, dirs) in [(Source::Python, python_dirs), (Source::System, system_dirs)] {
        for dir in dirs {
            for path in library_files(&dir) {
                match probe(&path) {
                    Ok(version) => return Ok(RuntimeLibrary { path, version, source }),
                    Err(reason) => rejected.push(format!("{} rejected: {reason}", path.display())),
                }
            }
        }
    }
    searched.extend(rejected);
    Err(LocateError::NotFound { searched: searched.join("; ") })
}

/// Checks the version the file declares (without loading it), then opens the library, reads
/// its version, and checks that too.
pub fn probe(path: &Path) -> Result<String, String> {
    if !path.is_file() {
        return Err("no such file".to_string());
    }
    let declared = library_version::declared(path).map_err(|e| format!("cannot read its header: {e}"))?;
    if let Some(version) = declared {
        supported(&version, " (declared in the file; not loaded)")?;
    }
    // SAFETY: loading a shared library runs its initializers. The path comes from the
    // user's flag, environment or an onnxruntime installation, never from the audited artifact.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release.
    let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
        unsafe { library.get(b"OrtGetApiBase") }.map_err(|_| "does not export OrtGetApiBase".to_string())?;
    let base = unsafe { get_base() };
    if base.is_null() {
        return Err("OrtGetApiBase returned null".to_string());
    }
    // SAFETY: the base is a static table owned by the library, which is still loaded.
    let version = unsafe { CStr::from_ptr(((*base).GetVersionString)()) }.to_string_lossy().into_owned();
    supported(&version, "")?;
    Ok(version)
}

/// Whether `version` is one `ready` runs: [`MIN_VERSION`] or newer. `how` says where the
/// version was read, for the error.
fn supported(version: &str, how: &str) -> Result<(), String> {
    match Version::parse(version) {
        Some(v) if v >= MIN_VERSION => Ok(()),
        Some(_) => Err(format!(
            "ONNX Runtime {version}{how} is older than {MIN_VERSION}, the oldest ready supports \
             (1.22 aborts creating a session); install onnxruntime>={MIN_VERSION}"
        )),
        None => Err(format!("unrecognized ONNX Runtime version '{version}'{how}")),
    }
}

/// `onnxruntime/capi` folders of the Python environments: the one `ready` itself is installed
/// in (the wheel's dependency), `$VIRTUAL_ENV`, `$CONDA_PREFIX`, `./.venv`, then whatever
/// `python3` on PATH resolves (without importing it).
fn python_package_dirs(searched: &mut Vec<String>) -> Vec<PathBuf> {
    let mut prefixes = Vec::new();
    match std::env::current_exe().ok().and_then(|exe| own_prefix(&exe)) {
        Some(prefix) => prefixes.push(prefix),
        None => searched.push("ready's own Python environment (not installed in one)".to_string()),
    }
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        match std::env::var_os(var) {
            Some(prefix) => prefixes.push(PathBuf::from(prefix)),
            None => searched.push(format!("${var} (not set)")),
        }
    }
    prefixes.push(PathBuf::from(".venv"));
    let mut dirs = Vec::new();
    for prefix in &prefixes {
        let found = site_packages(prefix);
        searched.push(format!("{}/lib/python*/site-packages/onnxruntime/capi", prefix.display()));
        dirs.extend(found.into_iter().map(|sp| sp.join("onnxruntime").join("capi")));
    }
    match python_spec_dir() {
        Ok(dir) => {
            searched.push(format!("python3's onnxruntime ({})", dir.display()));
            dirs.push(dir.join("capi"));
        }
        Err(reason) => searched.push(format!("python3's onnxruntime ({reason})")),
    }
    dirs
}

/// The Python environment an executable at `<prefix>/bin/ready` (`<prefix>/Scripts/ready.exe`
/// on Windows) was installed into by pip: a prefix with a `pyvenv.cfg` (a venv) or a
/// `lib*/python*` / `Lib` folder (a user or system install, conda). `None` for a binary outside
/// any Python environment (`cargo install`, `target/debug`).
fn own_prefix(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    let name = bin.file_name()?.to_string_lossy();
    if name != "bin" && !name.eq_ignore_ascii_case("Scripts") {
        return None;
    }
    let prefix = bin.parent()?;
    let is_python = prefix.join("pyvenv.cfg").is_file() || !site_packages(prefix).is_empty();
    is_python.then(|| prefix.to_path_buf())
}

fn site_packages(prefix: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for lib in ["lib", "lib64", "Lib"] {
        let Ok(entries) = std::fs::read_dir(prefix.join(lib)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("python") {
                found.push(entry.path().join("site-packages"));
            }
        }
        if lib == "Lib" {
            found.push(prefix.join(lib).join("site-packages"));
        }
    }
    found.sort();
    found
}

/// Asks `python3` where the onnxruntime package lives, without importing it.
fn python_spec_dir() -> Result<PathBuf, String> {
    let script = "import importlib.util as u, sys\n\
                  s = u.find_spec('onnxruntime')\n\
                  sys.stdout.write(list(s.submodule_search_locations)[0] if s else '')";
    let output = Command::new("python3").args(["-c", script]).output().map_err(|e| format!("python3 not runnable: {e}"))?;
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || dir.is_empty() {
        return Err("not installed".to_string());
    }
    Ok(PathBuf::from(dir))
}

fn system_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH").map(|v| std::env::split_paths(&v).collect()).unwrap_or_default();
    if let Some(v) = std::env::var_os("DYLD_LIBRARY_PATH") {
        dirs.extend(std::env::split_paths(&v));
    }
    for dir in ["/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/opt/homebrew/lib"] {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

/// Files in `dir` named like libonnxruntime (`.so`, `.so.1.31.1`, `.dylib`, `.dll`), best first.
fn library_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name == "onnxruntime.dll"
                || name.starts_with("libonnxruntime.so")
                || (name.starts_with("libonnxruntime") && name.ends_with(".dylib") && !name.contains("providers"))
        })
        .collect();
    // Longest (most specific version) first; `libonnxruntime.so` may be a dangling dev symlink.
    files.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_that_does_not_exist_is_an_error_naming_the_flag() {
        let err = locate(Some(Path::new("/nonexistent/libonnxruntime.so")), None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("--ort-lib"), "{text}");
        assert!(text.contains("/nonexistent/libonnxruntime.so"), "{text}");
    }

    #[test]
    fn a_file_that_is_not_a_library_is_rejected_with_the_loader_reason() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("libonnxruntime.so");
        std::fs::write(&fake, b"not a library").unwrap();
        let err = locate(None, Some(&fake)).unwrap_err().to_string();
        assert!(err.contains("ORT_DYLIB_PATH"), "{err}");
    }

    #[test]
    fn the_venv_ready_is_installed_in_is_its_own_prefix() {
        let venv = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(venv.path().join("bin")).unwrap();
        std::fs::create_dir_all(venv.path().join("lib/python3.12/site-packages/onnxruntime/capi")).unwrap();
        let exe = venv.path().join("bin").join("ready");
        assert_eq!(own_prefix(&exe), Some(venv.path().to_path_buf()));
        assert_eq!(site_packages(venv.path()), vec![venv.path().join("lib/python3.12/site-packages")]);
        // A venv without any site-packages yet is recognised by its pyvenv.cfg.
        let bare = tempfile::tempdir().unwrap();
        std::fs::write(bare.path().join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        assert_eq!(own_prefix(&bare.path().join("bin/ready")), Some(bare.path().to_path_buf()));
    }

    #[test]
    fn a_binary_outside_a_python_environment_has_no_own_prefix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        assert_eq!(own_prefix(&dir.path().join("bin/ready")), None, "a bin folder with no Python beside it");
        assert_eq!(own_prefix(&dir.path().join("target/debug/ready")), None, "not under bin/");
    }

    #[test]
    fn library_files_prefers_versioned_names_and_skips_providers() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["libonnxruntime.so", "libonnxruntime.so.1.31.1", "libonnxruntime_providers_shared.so", "README"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let names: Vec<String> = library_files(dir.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, vec!["libonnxruntime.so.1.31.1", "libonnxruntime.so"]);
    }
}
