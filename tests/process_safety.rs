//! Safety promises about ready's own process, through the real binary: no writes outside
//! `--output` (ONNX Runtime telemetry included), no orphaned probe children, resource limits of
//! ready's own process reported as "could not run" (exit 2), the minimum ONNX Runtime refused
//! before it is loaded, and bounded scans of untrusted archives.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{ready, root};
use sha2::Digest;

/// Every entry under `dir`, recursively: relative path to its kind and content (a file's bytes,
/// a link's target), so that two snapshots compare byte for byte.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut entries = BTreeMap::new();
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
                format!(
                    "file of {} bytes, sha256 {}",
                    bytes.len(),
                    ready::artifact::hex(&sha2::Sha256::digest(&bytes))
                )
            };
            entries.insert(relative, content);
        }
    }
    entries
}

/// A scratch world for one audit: a working folder holding a copy of the model, a HOME, a
/// TMPDIR and an XDG cache folder, all empty but for the model.
struct World {
    _root: tempfile::TempDir,
    base: PathBuf,
}

impl World {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().to_path_buf();
        for dir in ["cwd", "home", "tmp", "cache"] {
            std::fs::create_dir(base.join(dir)).unwrap();
        }
        std::fs::copy(
            common::root().join("fixtures/models/iris_rf.onnx"),
            base.join("cwd/model.onnx"),
        )
        .unwrap();
        std::fs::write(base.join("a-file"), b"not a folder").unwrap();
        Self { _root: root, base }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.base.join(name)
    }

    /// An audit of the copied model from the working folder, with probes in child processes.
    fn audit(&self) -> assert_cmd::Command {
        let mut cmd = ready();
        cmd.current_dir(self.path("cwd"))
            .env("TMPDIR", self.path("tmp"))
            .env_remove("XDG_CACHE_HOME")
            .env_remove("ORT_DISABLE_TELEMETRY")
            .args(["audit", "model.onnx", "--format", "json", "-q", "--config"])
            .arg(root().join("fixtures/configs/fast.yaml"));
        cmd
    }
}

/// Runs `cmd` and asserts a completed, passing audit whose probes ran in a child process.
fn assert_audit_passed(cmd: &mut assert_cmd::Command) {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let robustness = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "robustness")
        .unwrap();
    assert_eq!(robustness["status"], "pass", "{robustness}");
}

#[test]
fn an_audit_leaves_home_cwd_and_tmpdir_byte_for_byte_untouched() {
    let world = World::new();
    let before = snapshot(&world.base);
    assert_audit_passed(world.audit().env("HOME", world.path("home")));
    assert_eq!(snapshot(&world.base), before);
}

#[test]
fn an_audit_with_home_missing_unusable_or_unset_creates_nothing() {
    let world = World::new();
    let before = snapshot(&world.base);
    // A HOME that does not exist (ONNX Runtime's telemetry used to create it), one below a
    // regular file, and no HOME at all (the XDG cache folder is the fallback).
    assert_audit_passed(world.audit().env("HOME", world.path("missing/home")));
    assert_audit_passed(world.audit().env("HOME", world.path("a-file/home")));
    assert_audit_passed(
        world
            .audit()
            .env_remove("HOME")
            .env("XDG_CACHE_HOME", world.path("cache")),
    );
    assert_eq!(snapshot(&world.base), before);
}
