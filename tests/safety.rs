//! The safety promises under attack (issue 12), each through the real binary: no code from the
//! audited folder, reads only of regular files inside it, bounded nesting, bounded config
//! values, atomic README and report writes, an exit code a closed pipe cannot change, and
//! model-derived strings made inert for every output.

mod common;

use std::path::Path;

use common::{audit, root};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// 1. No code from the project folder.

#[test]
fn a_cargo_project_that_would_run_code_is_read_as_data_only() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("cargo_evil");
    copy_dir(&root().join("fixtures/projects/cargo_evil"), &project);
    assert!(project.join(".cargo/config.toml").is_file() && project.join("rust-toolchain.toml").is_file());
    let run = audit("fixtures/models/iris_rf.onnx", &["--project", project.to_str().unwrap(), "--only", "lockfile"]);
    assert!(!project.join("ran").exists(), "evil.sh ran");
    assert_eq!(run.status("lockfile"), "pass", "{:?}", run.details("lockfile"));
    assert_eq!(run.check("lockfile")["summary"], "Cargo.lock: in sync with Cargo.toml (2 packages locked)");
    assert_eq!(run.code, 0);
}
