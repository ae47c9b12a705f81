//! Kubernetes manifests read into typed objects: Deployment, StatefulSet, DaemonSet, Pod, Job
//! and CronJob through `k8s-openapi`, a KServe `InferenceService` through small structs that
//! reuse its `Container`. Multi-document files are split on their `---` markers; each document
//! is parsed twice, once into a tree of positions (the line of every field path) and once into
//! its typed object. Other kinds are listed as skipped, never guessed at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, PodSpec, Probe, ResourceRequirements, VolumeMount};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config_yaml::Node;

/// The container name KServe gives the container it builds from `spec.predictor.model`.
pub const KSERVE_MODEL_CONTAINER: &str = "kserve-container";

/// One container of a workload, with where it sits in the object.
#[derive(Debug, Clone)]
pub struct ServingContainer {
    /// Field path of the container (`spec.template.spec.containers[0]`, `spec.predictor.model`).
    pub path: String,
    pub container: Container,
    /// KServe `storageUri`: where the runtime downloads the model from.
    pub storage_uri: Option<String>,
    /// The image is chosen by a serving runtime (KServe `model:`), not declared here.
    pub runtime_image: bool,
}

/// A Kubernetes object that runs containers.
#[derive(Debug, Clone)]
pub struct Workload {
    pub file: PathBuf,
    /// `Deployment/web`.
    pub object: String,
    pub containers: Vec<ServingContainer>,
    /// 1-based line of each field path in the file.
    lines: BTreeMap<String, usize>,
}

impl Workload {
    /// The line of `path`, or of its nearest ancestor that is in the file (a missing
    /// `resources.limits.memory` points at the container's `resources:` or the container).
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut current = path;
        loop {
            if let Some(line) = self.lines.get(current) {
                return Some(*line);
            }
            let cut = current.rfind(['.', '['])?;
            current = &current[..cut];
        }
    }
}

/// What one manifest file held.
#[derive(Debug, Clone, Default)]
pub struct FileRead {
    /// At least one document has `apiVersion` and `kind`.
    pub kubernetes: bool,
    pub workloads: Vec<Workload>,
    /// Objects not judged, one line each (`Service/web: not a workload`).
    pub skipped: Vec<String>,
    /// Documents that are not YAML or do not match their kind's schema: (line, what is wrong).
    pub malformed: Vec<(Option<usize>, String)>,
}

/// Reads every document of a manifest file. `file` is only used to name it.
pub fn read_manifest(file: &Path, text: &str) -> FileRead {
    let mut read = FileRead::default();
    for (offset, document) in documents(text) {
        read_document(file, offset, &document, &mut read);
    }
    read
}

/// The documents of a YAML stream, each with the number of file lines before it. A line that
/// starts with `---` (then a space or nothing) starts a document, one that is `...` ends one.
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, line) in text.lines().enumerate() {
        let marker = |m: &str| line.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if marker("---") || marker("...") {
            documents.push((start, std::mem::take(&mut current)));
            start = index;
            if marker("...") {
                current.push('\n');
                continue;
            }
        }
        current.push_str(line);
        current.push('\n');
    }
    documents.push((start, current));
    documents.retain(|(_, d)| {
        d.lines().any(|l| !(l.trim().is_empty() || l.trim_start().starts_with('#') || l.starts_with("---") || l.starts_with("...")))
    });
    documents
}

fn read_document(file: &Path, offset: usize, document: &str, read: &mut FileRead) {
    let tree: Spanned<Node> = match serde_saphyr::from_str_with_options(document, yaml_options()) {
        Ok(tree) => tree,
        Err(error) => {
            let line = error.location().map(|l| offset + l.line() as usize);
            read.malformed.push((line, format!("not valid YAML: {}", yaml_message(&error))));
            return;
        }
    };
    let (Some(api_version), Some(kind)) = (string(&tree.value, "apiVersion"), string(&tree.value, "kind")) else { return };
    read.kubernetes = true;
    let name = get(&tree.value, "metadata").and_then(|m| string(&m.value, "name")).unwrap_or_else(|| "(no name)".to_string());
    let object = format!("{kind}/{name}");
    let mut lines = BTreeMap::new();
    record_lines(&tree, "", offset, &mut lines);
    let typed = match (api_version.as_str(), kind.as_str()) {
        ("apps/v1", "Deployment") => typed::<Deployment>(document).map(|d| pod(d.spec.template.spec, "spec.template.spec")),
        ("apps/v1", "StatefulSet") => typed::<StatefulSet>(document).map(|d| pod(d.spec.template.spec, "spec.template.spec")),
        ("apps/v1", "DaemonSet") => typed::<DaemonSet>(document).map(|d| pod(d.spec.template.spec, "spec.template.spec")),
        ("v1", "Pod") => typed::<Pod>(document).map(|d| pod(d.spec, "spec")),
        ("batch/v1", "Job") => typed::<Job>(document).map(|d| pod(d.spec.and_then(|s| s.template.spec), "spec.template.spec")),
        ("batch/v1", "CronJob") => {
            typed::<CronJob>(document).map(|d| pod(d.spec.job_template.spec.and_then(|s| s.template.spec), "spec.jobTemplate.spec.template.spec"))
        }
        ("serving.kserve.io/v1beta1", "InferenceService") => typed::<InferenceService>(document).map(InferenceService::containers),
        _ => {
            read.skipped.push(format!("{object} ({api_version}): {}", skip_reason(&kind)));
            return;
        }
    };
    match typed {
        Ok(containers) => read.workloads.push(Workload { file: file.to_path_buf(), object, containers, lines }),
        Err((line, message)) => {
            read.malformed.push((line.map(|l| offset + l).or_else(|| lines.get("kind").copied()), format!("{object}: {message}")))
        }
    }
}

/// Why a kind is not judged.
fn skip_reason(kind: &str) -> &'static str {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Pod" | "Job" | "CronJob" | "InferenceService" => "an apiVersion ready does not read",
        "Service"
        | "ConfigMap"
        | "Secret"
        | "Ingress"
        | "ServiceAccount"
        | "PersistentVolumeClaim"
        | "HorizontalPodAutoscaler"
        | "Namespace"
        | "NetworkPolicy"
        | "PodDisruptionBudget"
        | "Role"
        | "RoleBinding"
        | "ClusterRole"
        | "ClusterRoleBinding" => "not a workload",
        _ => "a kind ready does not read (not guessed at; render it to a Deployment or Pod to have it judged)",
    }
}

/// The document deserialized into its `k8s-openapi` type, or (line in the document, why not).
fn typed<T: serde::de::DeserializeOwned>(document: &str) -> Result<T, (Option<usize>, String)> {
    serde_saphyr::from_str_with_options::<T>(document, yaml_options())
        .map_err(|e| (e.location().map(|l| l.line() as usize), format!("does not match the Kubernetes schema: {}", yaml_message(&e))))
}

/// YAML as the API server reads it (sigs.k8s.io/yaml, YAML 1.1): `defaultMode: 0644` is octal,
/// 420, as in nearly every Helm chart.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { legacy_octal_numbers: true }
}

/// The parser's message in this project's words where its own ends with advice on its options.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    let mut inner = error;
    while let serde_saphyr::Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    match inner {
        serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => format!("key '{key}' appears twice in one mapping (kubectl refuses it)"),
        serde_saphyr::Error::DuplicateMappingKey { key: None, .. } => "a key appears twice in one mapping (kubectl refuses it)".to_string(),
        _ => first_line(&error.to_string()),
    }
}

fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    let line = line.split(" --> ").next().unwrap_or(line).trim_start_matches("error: ");
    match line.find(": ") {
        Some(i) if line.starts_with("line ") => line[i + 2..].to_string(),
        _ => line.to_string(),
    }
}

/// The containers of a pod spec at `path` (init containers are not the server).
fn pod(spec: Option<PodSpec>, path: &str) -> Vec<ServingContainer> {
    spec.map(|s| s.containers)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, container)| ServingContainer { path: format!("{path}.containers[{i}]"), container, storage_uri: None, runtime_image: false })
        .collect()
}

/// KServe `serving.kserve.io/v1beta1` `InferenceService`: only what the checks read.
#[derive(Debug, Deserialize)]
struct InferenceService {
    spec: IsvcSpec,
}

#[derive(Debug, Deserialize)]
struct IsvcSpec {
    predictor: Predictor,
}

#[derive(Debug, Deserialize)]
struct Predictor {
    #[serde(default)]
    containers: Vec<Container>,
    model: Option<ModelSpec>,
    // The framework-specific predictors of older manifests: the same fields as `model`.
    onnx: Option<ModelSpec>,
    sklearn: Option<ModelSpec>,
    xgboost: Option<ModelSpec>,
    lightgbm: Option<ModelSpec>,
    tensorflow: Option<ModelSpec>,
    pytorch: Option<ModelSpec>,
    triton: Option<ModelSpec>,
    paddle: Option<ModelSpec>,
    pmml: Option<ModelSpec>,
    huggingface: Option<ModelSpec>,
}

/// `spec.predictor.model`: a runtime container's fields inline, plus where the model is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelSpec {
    name: Option<String>,
    image: Option<String>,
    storage_uri: Option<String>,
    resources: Option<ResourceRequirements>,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
    env: Option<Vec<EnvVar>>,
    volume_mounts: Option<Vec<VolumeMount>>,
    readiness_probe: Option<Probe>,
    liveness_probe: Option<Probe>,
    startup_probe: Option<Probe>,
}

impl InferenceService {
    fn containers(self) -> Vec<ServingContainer> {
        let p = self.spec.predictor;
        let mut containers = pod(Some(PodSpec { containers: p.containers, ..PodSpec::default() }), "spec.predictor");
        let runtimes = [
            ("model", p.model),
            ("onnx", p.onnx),
            ("sklearn", p.sklearn),
            ("xgboost", p.xgboost),
            ("lightgbm", p.lightgbm),
            ("tensorflow", p.tensorflow),
            ("pytorch", p.pytorch),
            ("triton", p.triton),
            ("paddle", p.paddle),
            ("pmml", p.pmml),
            ("huggingface", p.huggingface),
        ];
        for (field, model) in runtimes {
            if let Some(model) = model {
                containers.push(model.serving(&format!("spec.predictor.{field}")));
            }
        }
        containers
    }
}

impl ModelSpec {
    /// The container KServe builds from the spec.
    fn serving(self, path: &str) -> ServingContainer {
        let runtime_image = self.image.is_none();
        let container = Container {
            name: self.name.unwrap_or_else(|| KSERVE_MODEL_CONTAINER.to_string()),
            image: self.image,
            resources: self.resources,
            command: self.command,
            args: self.args,
            env: self.env,
            volume_mounts: self.volume_mounts,
            readiness_probe: self.readiness_probe,
            liveness_probe: self.liveness_probe,
            startup_probe: self.startup_probe,
            ..Container::default()
        };
        ServingContainer { path: path.to_string(), container, storage_uri: self.storage_uri, runtime_image }
    }
}

/// `key` of a mapping node.
fn get<'a>(node: &'a Node, key: &str) -> Option<&'a Spanned<Node>> {
    match node {
        Node::Map(entries) => entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v),
        _ => None,
    }
}

/// The text of `key` of a mapping node, when it is a string.
fn string(node: &Node, key: &str) -> Option<String> {
    match &get(node, key)?.value {
        Node::Str(text) => Some(text.clone()),
        _ => None,
    }
}

fn record_lines(node: &Spanned<Node>, path: &str, offset: usize, lines: &mut BTreeMap<String, usize>) {
    match &node.value {
        Node::Map(entries) => {
            for (key, value) in entries {
                let child = if path.is_empty() { key.value.clone() } else { format!("{path}.{}", key.value) };
                lines.insert(child.clone(), offset + key.referenced.line() as usize);
                record_lines(value, &child, offset, lines);
            }
        }
        Node::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let child = format!("{path}[{i}]");
                lines.insert(child.clone(), offset + item.referenced.line() as usize);
                record_lines(item, &child, offset, lines);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: sidecar
          image: envoy:1.30
        - name: server
          image: model:1.0
          resources:
            limits:
              cpu: 1
              memory: 512Mi
";

    #[test]
    fn a_multi_document_file_gives_its_workloads_and_skipped_kinds_with_lines() {
        let read = read_manifest(Path::new("k.yaml"), DEPLOYMENT);
        assert!(read.kubernetes);
        assert!(read.malformed.is_empty(), "{:?}", read.malformed);
        assert_eq!(read.skipped, ["Service/web (v1): not a workload"]);
        let workload = &read.workloads[0];
        assert_eq!(workload.object, "Deployment/web");
        let server = &workload.containers[1];
        assert_eq!(server.path, "spec.template.spec.containers[1]");
        assert_eq!(server.container.name, "server");
        let limits = server.container.resources.as_ref().unwrap().limits.as_ref().unwrap();
        assert_eq!(limits["cpu"].0, "1");
        assert_eq!(workload.line("spec.template.spec.containers[1].resources.limits.memory"), Some(21));
        assert_eq!(workload.line("spec.template.spec.containers[1].resources.requests.memory"), Some(18));
        assert_eq!(workload.line("spec.template.spec.containers[0].readinessProbe"), Some(14));
    }

    #[test]
    fn malformed_yaml_and_schema_errors_name_the_line() {
        let read = read_manifest(Path::new("k.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n");
        assert_eq!(read.malformed.len(), 1, "{read:?}");
        assert!(read.malformed[0].0.is_some(), "{read:?}");
        let read = read_manifest(Path::new("k.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers: 3\n");
        assert_eq!(read.malformed.len(), 1, "{read:?}");
        assert!(read.malformed[0].1.starts_with("Pod/x: does not match the Kubernetes schema"), "{read:?}");
        let read = read_manifest(Path::new("k.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  name: y\n");
        assert_eq!(read.malformed.len(), 1, "{read:?}");
        assert!(read.malformed[0].1.ends_with("key 'name' appears twice in one mapping (kubectl refuses it)"), "{read:?}");
    }

    #[test]
    fn every_truncation_and_byte_flip_of_the_fixtures_reads_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/deploy");
        for case in ["correct/deployment.yaml", "multi/app.yaml", "kserve/inferenceservice.yaml", "malformed/deployment.yaml"] {
            let text = std::fs::read_to_string(root.join(case)).unwrap();
            for cut in (0..text.len()).filter(|&i| text.is_char_boundary(i)).step_by(7) {
                let read = read_manifest(Path::new(case), &text[..cut]);
                assert!(
                    read.malformed.iter().all(|(line, _)| line.is_none_or(|l| l <= text[..cut].lines().count() + 1)),
                    "{case} at {cut}: {read:?}"
                );
            }
            for (i, flip) in text.bytes().enumerate().step_by(11).map(|(i, b)| (i, if b == b' ' { b'-' } else { b' ' })) {
                let mut bytes = text.clone().into_bytes();
                bytes[i] = flip;
                if let Ok(mutated) = String::from_utf8(bytes) {
                    read_manifest(Path::new(case), &mutated);
                }
            }
        }
    }

    #[test]
    fn every_workload_kind_gives_its_container_path() {
        let pod = "containers:\n  - name: server\n    image: m:1\n";
        let indent = |text: &str, by: usize| text.lines().map(|l| format!("{}{l}\n", " ".repeat(by))).collect::<String>();
        let cases = [
            ("apps/v1", "Deployment", format!("spec:\n  template:\n    spec:\n{}", indent(pod, 6)), "spec.template.spec.containers[0]"),
            ("apps/v1", "StatefulSet", format!("spec:\n  template:\n    spec:\n{}", indent(pod, 6)), "spec.template.spec.containers[0]"),
            ("apps/v1", "DaemonSet", format!("spec:\n  template:\n    spec:\n{}", indent(pod, 6)), "spec.template.spec.containers[0]"),
            ("v1", "Pod", format!("spec:\n{}", indent(pod, 2)), "spec.containers[0]"),
            ("batch/v1", "Job", format!("spec:\n  template:\n    spec:\n{}", indent(pod, 6)), "spec.template.spec.containers[0]"),
            (
                "batch/v1",
                "CronJob",
                format!("spec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n{}", indent(pod, 10)),
                "spec.jobTemplate.spec.template.spec.containers[0]",
            ),
        ];
        for (api, kind, spec, path) in cases {
            let text = format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\n{spec}");
            let read = read_manifest(Path::new("k.yaml"), &text);
            assert!(read.malformed.is_empty(), "{kind}: {read:?}");
            let workload = &read.workloads[0];
            assert_eq!(workload.object, format!("{kind}/x"));
            assert_eq!(workload.containers[0].path, path, "{kind}");
            assert_eq!(workload.line(&format!("{path}.image")), Some(text.lines().position(|l| l.contains("image: m:1")).unwrap() + 1), "{kind}");
        }
        let old = read_manifest(Path::new("k.yaml"), "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n");
        assert_eq!(old.skipped, ["Deployment/x (extensions/v1beta1): an apiVersion ready does not read"]);
    }

    #[test]
    fn yaml_that_is_not_kubernetes_is_not_read() {
        let read = read_manifest(Path::new("k.yaml"), "name: ci\non: [push]\n");
        assert!(!read.kubernetes && read.workloads.is_empty() && read.malformed.is_empty(), "{read:?}");
    }

    #[test]
    fn kserve_model_becomes_the_kserve_container() {
        let text = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: iris\nspec:\n  predictor:\n    model:\n      modelFormat:\n        name: onnx\n      storageUri: gs://bucket/model.onnx\n      resources:\n        limits:\n          memory: 1Gi\n";
        let read = read_manifest(Path::new("k.yaml"), text);
        let container = &read.workloads[0].containers[0];
        assert_eq!(container.container.name, KSERVE_MODEL_CONTAINER);
        assert_eq!(container.storage_uri.as_deref(), Some("gs://bucket/model.onnx"));
        assert!(container.runtime_image);
        assert_eq!(read.workloads[0].line("spec.predictor.model.resources.limits.memory"), Some(13));
        // kserve/kserve docs/samples/v1beta1/onnx/onnx.yaml: the older framework-specific form.
        let sample = "apiVersion: \"serving.kserve.io/v1beta1\"\nkind: \"InferenceService\"\nmetadata:\n  name: \"style-sample\"\nspec:\n  predictor:\n    onnx:\n      storageUri: \"gs://kfserving-examples/models/onnx\"\n";
        let read = read_manifest(Path::new("onnx.yaml"), sample);
        assert_eq!(read.workloads[0].object, "InferenceService/style-sample");
        assert_eq!(read.workloads[0].containers[0].path, "spec.predictor.onnx");
    }
}
