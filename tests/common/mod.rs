//! Helpers for the integration tests: the real `ready` binary, pointed at the ONNX Runtime that
//! scripts/setup.sh installed into .venv, run from the repository root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The site-packages folder of the project's .venv.
pub fn site_packages() -> PathBuf {
    let lib = root().join(".venv/lib");
    let found = std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| entries.flatten().map(|e| e.path().join("site-packages")).find(|p| p.join("onnxruntime").is_dir()));
    found.unwrap_or_else(|| panic!("no onnxruntime under {}: run scripts/setup.sh first", lib.display()))
}

/// libonnxruntime from the pinned wheel.
pub fn ort_lib() -> PathBuf {
    let capi = site_packages().join("onnxruntime/capi");
    std::fs::read_dir(&capi)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("libonnxruntime.so"))
        .unwrap_or_else(|| panic!("no libonnxruntime in {}", capi.display()))
}

/// `ready` with the runtime found through ORT_DYLIB_PATH.
pub fn ready() -> Command {
    let mut cmd = Command::cargo_bin("ready").unwrap();
    cmd.current_dir(root()).env("ORT_DYLIB_PATH", ort_lib()).env_remove("VIRTUAL_ENV").env_remove("CONDA_PREFIX");
    cmd
}

/// The result of one audit run with `--format json`.
pub struct Audit {
    pub code: i32,
    pub json: serde_json::Value,
    pub stderr: String,
}

impl Audit {
    /// The final status of check `id`.
    pub fn status(&self, id: &str) -> String {
        self.check(id)["status"].as_str().unwrap().to_string()
    }

    /// The whole result object of check `id`.
    pub fn check(&self, id: &str) -> &serde_json::Value {
        self.json["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id} in {}", self.json))
    }

    /// Statuses of every check, in report order, as `id=status`.
    pub fn statuses(&self) -> Vec<String> {
        self.json["checks"].as_array().unwrap().iter().map(|c| format!("{}={}", c["id"].as_str().unwrap(), c["status"].as_str().unwrap())).collect()
    }

    /// Every detail line of check `id`.
    pub fn details(&self, id: &str) -> Vec<String> {
        self.check(id)["details"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect()
    }
}

/// Runs `ready audit MODEL ARGS --format json` with the fast test config unless one is given.
pub fn audit(model: &str, args: &[&str]) -> Audit {
    audit_env(&[], model, args)
}

/// [`audit`] with extra environment variables.
pub fn audit_env(env: &[(&str, &std::path::Path)], model: &str, args: &[&str]) -> Audit {
    let mut cmd = ready();
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.arg("audit").arg(model).args(args).args(["--format", "json", "--quiet"]);
    if !args.contains(&"--config") {
        cmd.args(["--config", "fixtures/configs/fast.yaml"]);
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let code = output.status.code().unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("exit {code}, stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"));
    Audit { code, json, stderr }
}

/// Runs `ready ARGS` expecting exit code 2 and returns stderr.
pub fn usage_error(args: &[&str]) -> String {
    let output = ready().args(args).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "args {args:?}: stderr {stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout for a usage error");
    stderr
}

/// Whether `path` exists relative to the repository root.
pub fn exists(path: &str) -> bool {
    Path::new(&root()).join(path).exists()
}

/// A glibc locale folder holding en_US.UTF-8, built once with `localedef` (the C library reads
/// locales from `LOCPATH` instead of the system's when it is set), so the string models'
/// verdicts do not depend on which locales the test machine happens to have.
pub fn with_en_us_locale() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("localedef")
            .args(["-i", "en_US", "-f", "UTF-8"])
            .arg(dir.path().join("en_US.UTF-8"))
            .status()
            .expect("localedef (glibc's locale compiler, Debian package libc-bin) runs");
        assert!(status.success(), "localedef -i en_US -f UTF-8 failed: install the Debian package `locales`");
        dir
    })
    .path()
}

/// A `.npy` file (format 1.0, C order) of `descr` elements (`<f8`, `<f4`) given as raw bytes.
pub fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let dims = if dims.len() == 1 { format!("{},", dims[0]) } else { dims.join(", ") };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

/// A `.npy` file of float64 values (numpy's default dtype).
pub fn write_f64_npy(path: &Path, shape: &[usize], values: &[f64]) {
    write_npy(path, "<f8", shape, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
}

/// A `.npy` file of float32 values.
pub fn write_f32_npy(path: &Path, shape: &[usize], values: &[f32]) {
    write_npy(path, "<f4", shape, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
}

/// Every entry under `dir`, recursively: relative path to its kind and content (a file's bytes,
/// a link's target), so that two snapshots compare byte for byte.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    let mut entries = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            let kind = entry.file_type().unwrap();
            let content = if kind.is_symlink() {
                format!("link -> {}", std::fs::read_link(&path).unwrap().display())
            } else if kind.is_dir() {
                pending.push(path.clone());
                "folder".to_string()
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!("file of {} bytes, sha256 {}", bytes.len(), ready::artifact::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
            };
            entries.insert(relative, content);
        }
    }
    entries
}
