//! Finding the deployment files: Kubernetes manifests (`*.yaml`, `*.yml`) and Dockerfiles
//! (`Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*`) under `--project`, and the
//! files and folders named by `--deploy`. The walk is bounded: regular files only, at most
//! [`MAX_FILES`] candidates of at most [`MAX_FILE_BYTES`] each, no link out of the folder,
//! environments, dependencies, build outputs and hidden folders never entered, an unrendered
//! Helm chart (a folder with `Chart.yaml`) noted and not read.

use std::path::{Path, PathBuf};

use crate::env::project_walk;
use crate::sandbox::open;

/// Candidate files considered at most per folder walked.
pub const MAX_FILES: usize = 5000;
/// Larger deployment files are not read.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// What kind of deployment file a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Manifest,
    Dockerfile,
}

impl Kind {
    /// The kind of a file, by its name.
    pub fn of(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Self::Manifest)
        } else if matches!(name, "Dockerfile" | "Containerfile")
            || name.ends_with(".Dockerfile")
            || name.ends_with(".dockerfile")
            || name.starts_with("Dockerfile.")
            || name.starts_with("Containerfile.")
        {
            Some(Self::Dockerfile)
        } else {
            None
        }
    }
}

/// One deployment file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployFile {
    pub path: PathBuf,
    pub kind: Kind,
    /// The folder it was found in (reads stay inside it); `None` for a file named by `--deploy`.
    pub root: Option<PathBuf>,
}

impl DeployFile {
    /// Reads the file through the sandbox opener (contained in its folder when found by walking).
    pub fn read(&self) -> Result<String, open::OpenError> {
        match &self.root {
            Some(root) => open::read_text_within(root, &self.path, MAX_FILE_BYTES),
            None => open::read_text(&self.path, MAX_FILE_BYTES),
        }
    }

    /// Whether `--deploy` named this file (a file that is not what it should be is an error then).
    pub fn explicit(&self) -> bool {
        self.root.is_none()
    }
}

/// The deployment files found, and what was not read.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub files: Vec<DeployFile>,
    /// One line each: an unrendered chart, a walk cut at [`MAX_FILES`].
    pub notes: Vec<String>,
}

/// The deployment files under `project` and the `--deploy` paths (files and folders), each
/// file once, in the order given then by name.
pub fn discover(project: Option<&Path>, deploy: &[PathBuf]) -> Discovered {
    let mut found = Discovered::default();
    for path in deploy {
        if path.is_dir() {
            walk(path, &mut found);
        } else {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            found.files.push(DeployFile { path: path.clone(), kind: Kind::of(name).unwrap_or(Kind::Manifest), root: None });
        }
    }
    if let Some(project) = project {
        walk(project, &mut found);
    }
    let mut seen = std::collections::BTreeSet::new();
    found.files.retain(|f| seen.insert(f.path.canonicalize().unwrap_or_else(|_| f.path.clone())));
    found
}

/// Adds the deployment files under `root` (see [`project_walk`]); an unrendered Helm chart is
/// noted and not entered.
fn walk(root: &Path, found: &mut Discovered) {
    let helm = |folder: &Path| match folder.join("Chart.yaml").is_file() {
        true => Err(format!("{}: a Helm chart, not read (render it with `helm template` and pass the output with --deploy)", folder.display())),
        false => Ok(()),
    };
    let walk = project_walk::walk(root, MAX_FILES, Kind::of, helm);
    found.notes.extend(walk.notes);
    let files = walk.files.into_iter().map(|(inner, kind)| DeployFile { path: root.join(inner), kind, root: Some(root.to_path_buf()) });
    found.files.extend(files);
    if walk.truncated {
        found.notes.push(format!("{}: more than {MAX_FILES} YAML files and Dockerfiles; the rest were not read", root.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_the_kind() {
        assert_eq!(Kind::of("deploy.yaml"), Some(Kind::Manifest));
        assert_eq!(Kind::of("k8s.YML"), Some(Kind::Manifest));
        assert_eq!(Kind::of("Dockerfile"), Some(Kind::Dockerfile));
        assert_eq!(Kind::of("Containerfile"), Some(Kind::Dockerfile));
        assert_eq!(Kind::of("serve.Dockerfile"), Some(Kind::Dockerfile));
        assert_eq!(Kind::of("Dockerfile.gpu"), Some(Kind::Dockerfile));
        assert_eq!(Kind::of("serve.py"), None);
    }

    #[test]
    fn the_walk_skips_environments_hidden_folders_and_charts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("k8s/app.yaml", "a: 1\n"),
            ("Dockerfile", "FROM x\n"),
            (".git/x.yaml", "a: 1\n"),
            ("node_modules/y.yaml", "a: 1\n"),
            ("env/pyvenv.cfg", "home = /usr\n"),
            ("env/z.yaml", "a: 1\n"),
            ("chart/Chart.yaml", "name: c\n"),
            ("chart/templates/d.yaml", "{{ .Values }}\n"),
            ("serve.py", "print()\n"),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), text).unwrap();
        }
        let found = discover(Some(root), &[]);
        let names: Vec<PathBuf> = found.files.iter().map(|f| f.path.strip_prefix(root).unwrap().to_path_buf()).collect();
        assert_eq!(names, [PathBuf::from("Dockerfile"), PathBuf::from("k8s/app.yaml")]);
        assert_eq!(found.notes.len(), 1, "{:?}", found.notes);
        assert!(found.notes[0].contains("a Helm chart, not read"), "{:?}", found.notes);
    }
}
