//! The deployment files of one audit, read once before the checks run: the files found under
//! `--project` and named by `--deploy` ([`files::discover`]), each manifest parsed into its
//! workloads ([`k8s::read_manifest`]) and each Dockerfile's text. A `--deploy` file that is
//! missing, unreadable or not a manifest is the one-line usage error (exit 2). The audit derives
//! its memory budget from the serving container's declared limit ([`DeployRead::declared_memory`]);
//! the `deployment` check judges what was read here, never reading a file again.

use std::path::{Path, PathBuf};

use super::files::{self, DeployFile, Kind};
use super::k8s::{self, Workload};
use super::rules;
use super::{Finding, Level};
use crate::sandbox::open::OpenError;

/// Everything read from the deployment files.
#[derive(Debug, Default)]
pub struct DeployRead {
    /// Manifest files that were Kubernetes (or named by `--deploy`, or malformed).
    pub manifests: usize,
    pub workloads: Vec<Workload>,
    /// Objects and files not judged, one line each.
    pub skipped: Vec<String>,
    /// YAML that does not parse or match its schema, as findings.
    pub malformed: Vec<Finding>,
    /// Each Dockerfile and its text, or why it could not be read.
    pub dockerfiles: Vec<(DeployFile, Result<String, OpenError>)>,
    /// What the discovery did not read (an unrendered chart, a walk cut short).
    pub notes: Vec<String>,
}

/// The memory limit a deployment declares for the container that serves the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredMemory {
    pub bytes: u64,
    pub file: PathBuf,
    pub line: Option<usize>,
    /// `spec.template.spec.containers[0].resources.limits.memory`.
    pub field: String,
}

impl DeclaredMemory {
    /// `deploy/k8s.yaml:23 spec.template.spec.containers[0].resources.limits.memory`.
    pub fn at(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line} {}", self.file.display(), self.field),
            None => format!("{} {}", self.file.display(), self.field),
        }
    }
}

impl DeployRead {
    /// Finds and reads the deployment files under `project` and the `--deploy` paths. `Err` is
    /// the one-line usage error of a `--deploy` path that is missing, not a manifest or a
    /// Dockerfile by its name, unreadable, or YAML without `apiVersion` and `kind`.
    pub fn read(project: Option<&Path>, deploy: &[PathBuf]) -> Result<Self, String> {
        check_names(deploy)?;
        let found = files::discover(project, deploy);
        let mut read = Self { notes: found.notes, ..Self::default() };
        for file in found.files {
            match file.kind {
                Kind::Manifest => read.manifest(&file)?,
                Kind::Dockerfile => {
                    let text = file.read();
                    read.dockerfiles.push((file, text));
                }
            }
        }
        Ok(read)
    }

    /// Reads one manifest file into the workloads, skipped objects and malformed documents.
    fn manifest(&mut self, file: &DeployFile) -> Result<(), String> {
        let shown = file.path.display();
        let text = match file.read() {
            Ok(text) => text,
            Err(e) if file.explicit() => return Err(format!("--deploy {shown}: {e}")),
            Err(e) => {
                self.skipped.push(format!("{shown}: not read: {e}"));
                return Ok(());
            }
        };
        let manifest = k8s::read_manifest(&file.path, &text);
        let plain_yaml = !manifest.kubernetes && manifest.malformed.is_empty();
        if plain_yaml && file.explicit() {
            return Err(format!("--deploy {shown}: not a Kubernetes manifest (no document has apiVersion and kind)"));
        }
        // YAML found by walking that is not Kubernetes (CI configs, compose files) is not ours.
        if plain_yaml {
            return Ok(());
        }
        self.manifests += 1;
        // YAML that does not parse: a manifest (named by --deploy, or with apiVersion/kind
        // lines) fails, since kubectl refuses it too; other YAML found by walking warns.
        let looks_like_manifest = text.lines().any(|l| l.starts_with("apiVersion:") || l.starts_with("kind:"));
        let level = if file.explicit() || manifest.kubernetes || looks_like_manifest { Level::Problem } else { Level::Advice };
        for (line, message) in manifest.malformed {
            self.malformed.push(Finding::whole_file(level, "manifest_yaml", file.path.clone(), line, message));
        }
        self.skipped.extend(manifest.skipped.into_iter().map(|s| format!("{shown}: {s}")));
        self.workloads.extend(manifest.workloads);
        Ok(())
    }

    /// The memory limit declared for the container the deployment check judges (the same
    /// choice: `configured` names it, else the one naming `model_file`, else the only one).
    /// `None` when no container is chosen, the chosen ones disagree, or one declares none.
    pub fn declared_memory(&self, model_file: &str, configured: Option<&str>) -> Option<DeclaredMemory> {
        let choice = rules::choose(&self.workloads, model_file, configured);
        let mut declared = choice.chosen.iter().map(|&(w, c, _)| {
            let workload = &self.workloads[w];
            let serving = &workload.containers[c];
            let bytes = rules::memory_limit_bytes(&serving.container)?;
            let field = format!("{}.resources.limits.memory", serving.path);
            Some(DeclaredMemory { bytes, file: workload.file.clone(), line: workload.line(&field), field })
        });
        let first = declared.next()??;
        declared.all(|d| d.is_some_and(|d| d.bytes == first.bytes)).then_some(first)
    }

    /// The memory limits the judged containers declare, as written (`none` where one declares
    /// none), when there are several and they differ: why no budget comes from them.
    pub fn differing_memory_limits(&self, model_file: &str, configured: Option<&str>) -> Option<Vec<String>> {
        let choice = rules::choose(&self.workloads, model_file, configured);
        let limits: Vec<(Option<u64>, String)> = choice
            .chosen
            .iter()
            .map(|&(w, c, _)| {
                let container = &self.workloads[w].containers[c].container;
                let written = container.resources.as_ref().and_then(|r| r.limits.as_ref()).and_then(|l| l.get("memory"));
                (rules::memory_limit_bytes(container), written.map_or("none".to_string(), |q| q.0.clone()))
            })
            .collect();
        let first = limits.first()?.0;
        limits.iter().any(|(bytes, _)| *bytes != first).then(|| limits.into_iter().map(|(_, written)| written).collect())
    }
}

/// Every `--deploy` path exists, and a file is named like a manifest (`.yaml`, `.yml`, `.json`)
/// or a Dockerfile.
fn check_names(deploy: &[PathBuf]) -> Result<(), String> {
    for path in deploy {
        let shown = path.display();
        if !path.exists() {
            return Err(format!("--deploy {shown}: no such file or folder"));
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // `kubectl get -o json` output is a manifest too (JSON is YAML); only when named, since
        // a project holds many JSON files that are not.
        let json = name.to_ascii_lowercase().ends_with(".json");
        if !path.is_dir() && Kind::of(name).is_none() && !json {
            return Err(format!(
                "--deploy {shown}: not a Kubernetes manifest (.yaml, .yml, .json) or a Dockerfile (Dockerfile, Containerfile, *.Dockerfile)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {}\n  template:\n    spec:\n      containers:\n";

    fn container(name: &str, memory: Option<&str>) -> String {
        let limits = memory.map_or(String::new(), |m| format!("        resources:\n          limits:\n            memory: {m}\n"));
        format!("      - name: {name}\n        image: img\n        args: [\"/models/model.onnx\"]\n{limits}")
    }

    fn read(text: &str) -> DeployRead {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k8s.yaml");
        std::fs::write(&path, text).unwrap();
        DeployRead::read(None, &[path]).unwrap()
    }

    #[test]
    fn the_serving_containers_limit_is_declared_with_its_line_and_field() {
        let declared = read(&format!("{DEPLOYMENT}{}", container("server", Some("200Mi")))).declared_memory("model.onnx", None).unwrap();
        assert_eq!(declared.bytes, 200 << 20);
        assert_eq!(declared.line, Some(15));
        assert_eq!(declared.field, "spec.template.spec.containers[0].resources.limits.memory");
    }

    #[test]
    fn no_limit_or_an_ambiguous_choice_declares_nothing() {
        assert_eq!(read(&format!("{DEPLOYMENT}{}", container("server", None))).declared_memory("model.onnx", None), None);
        let two = read(&format!("{DEPLOYMENT}{}{}", container("a", Some("1Gi")), container("b", Some("2Gi"))));
        assert_eq!(two.declared_memory("model.onnx", None), None);
        assert_eq!(two.declared_memory("model.onnx", Some("b")).map(|d| d.bytes), Some(2 << 30));
    }

    #[test]
    fn judged_containers_whose_limits_differ_say_which_limits() {
        // Both name the model and declare a port: both are judged.
        let served = |name, memory| {
            container(name, memory).replacen("        image: img\n", "        image: img\n        ports: [{containerPort: 8080}]\n", 1)
        };
        let two = read(&format!("{DEPLOYMENT}{}{}", served("a", Some("512Mi")), served("b", Some("256Mi"))));
        assert_eq!(two.declared_memory("model.onnx", None), None);
        assert_eq!(two.differing_memory_limits("model.onnx", None), Some(vec!["512Mi".to_string(), "256Mi".to_string()]));
        assert_eq!(two.differing_memory_limits("model.onnx", Some("b")), None, "one judged container");
        let same = read(&format!("{DEPLOYMENT}{}{}", served("a", Some("1Gi")), served("b", Some("1024Mi"))));
        assert_eq!(same.differing_memory_limits("model.onnx", None), None, "the same limit, written differently");
        let unset = read(&format!("{DEPLOYMENT}{}{}", served("a", Some("1Gi")), served("b", None)));
        assert_eq!(unset.differing_memory_limits("model.onnx", None), Some(vec!["1Gi".to_string(), "none".to_string()]));
    }

    #[test]
    fn a_named_file_that_is_not_kubernetes_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mkdocs.yml");
        std::fs::write(&path, "site_name: x\n").unwrap();
        let err = DeployRead::read(None, std::slice::from_ref(&path)).unwrap_err();
        assert_eq!(err, format!("--deploy {}: not a Kubernetes manifest (no document has apiVersion and kind)", path.display()));
    }
}
