//! Kubernetes manifests read into typed objects: Deployment, StatefulSet, DaemonSet, Pod, Job
//! and CronJob through `k8s-openapi`, a KServe `InferenceService` through small structs that
//! reuse its `Container`. Multi-document files are split on their `---` markers; each document
//! is parsed twice, once into a tree of positions (the line of every field path) and once into
//! its typed object. The items of a `kind: List` (`kubectl get -o yaml`) are read as documents
//! of their own, with field paths `items[2].spec...` and their lines in the file; Lists nest
//! at most `MAX_LIST_DEPTH` deep. Other kinds are listed as skipped, never guessed at.

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

/// How deep `kind: List` objects may nest inside each other before their items are not read.
const MAX_LIST_DEPTH: usize = 4;

/// Where a document sits in its file: the file lines before it, the field path of the object
/// (`items[2]` for an item of a `kind: List`, empty for a document) and how many Lists hold it.
#[derive(Clone, Copy)]
struct Place<'a> {
    offset: usize,
    base: &'a str,
    depth: usize,
}

fn read_document(file: &Path, offset: usize, document: &str, read: &mut FileRead) {
    read_object(file, Place { offset, base: "", depth: 0 }, document, read);
}

fn read_object(file: &Path, place: Place, document: &str, read: &mut FileRead) {
    let offset = place.offset;
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
    if kind == "List" {
        return read_list(file, place, document, &tree, read);
    }
    let mut lines = BTreeMap::new();
    record_lines(&tree, place.base, offset, &mut lines);
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
        Ok(mut containers) => {
            for serving in &mut containers {
                serving.path = field_path(place.base, &serving.path);
            }
            read.workloads.push(Workload { file: file.to_path_buf(), object, containers, lines })
        }
        Err((line, message)) => {
            let kind_line = lines.get(&field_path(place.base, "kind")).copied();
            read.malformed.push((line.map(|l| offset + l).or(kind_line), format!("{object}: {message}")))
        }
    }
}

/// `base.path`, or `path` for a top-level object.
fn field_path(base: &str, path: &str) -> String {
    if base.is_empty() { path.to_string() } else { format!("{base}.{path}") }
}

/// The items of a `kind: List` (what `kubectl get -o yaml` writes), each read as if it were a
/// document of its own: its text is cut out of the List by the parser's byte span and read
/// with the file lines before it, so its lines stay those of the file.
fn read_list(file: &Path, place: Place, document: &str, tree: &Spanned<Node>, read: &mut FileRead) {
    let Some(items) = get(&tree.value, "items") else { return };
    let at = |node: &Spanned<Node>| place.offset + node.referenced.line() as usize;
    let items = match &items.value {
        Node::Seq(items) => items,
        Node::Null => return,
        _ => return read.malformed.push((Some(at(items)), format!("List: {}: not a list of objects", field_path(place.base, "items")))),
    };
    for (i, item) in items.iter().enumerate() {
        let base = field_path(place.base, &format!("items[{i}]"));
        if place.depth + 1 > MAX_LIST_DEPTH {
            let message = format!("{base}: a List nested more than {MAX_LIST_DEPTH} deep: not read");
            read.malformed.push((Some(at(item)), message));
            continue;
        }
        let Some(text) = item_text(document, item) else {
            read.malformed.push((Some(at(item)), format!("{base}: not read (its place in the file is not known)")));
            continue;
        };
        let offset = place.offset + (item.defined.line() as usize).saturating_sub(1);
        read_object(file, Place { offset, base: &base, depth: place.depth + 1 }, &text, read);
    }
}

/// The text of one item of a List, indented to the column it starts at so that a block
/// mapping after `- ` keeps the indentation of its later lines. The parser's span of a mapping
/// is only its start: a block mapping runs to the first line indented less than its column
/// (blank and comment lines aside), a flow mapping (JSON) to its closing bracket.
fn item_text(document: &str, node: &Spanned<Node>) -> Option<String> {
    let start = usize::try_from(node.defined.span().byte_offset()?).ok()?;
    let rest = document.get(start..)?;
    let column = (node.defined.column() as usize).saturating_sub(1);
    let len = if rest.starts_with(['{', '[']) { flow_len(rest)? } else { block_len(rest, column) };
    Some(format!("{}{}\n", " ".repeat(column), &rest[..len]))
}

/// Bytes of a block node that starts `text` and whose later lines are indented `indent` or more.
fn block_len(text: &str, indent: usize) -> usize {
    let mut at = text.find('\n').map_or(text.len(), |i| i + 1);
    for line in text[at..].split_inclusive('\n') {
        let content = line.trim_start_matches(' ');
        let inside = content.trim().is_empty() || content.starts_with('#') || line.len() - content.len() >= indent;
        if !inside {
            break;
        }
        at += line.len();
    }
    at
}

/// Bytes of the flow collection that starts `text`, through its closing bracket; brackets inside
/// quoted scalars and comments do not count. None when it never closes.
fn flow_len(text: &str) -> Option<usize> {
    let (mut depth, mut quote, mut comment, mut escaped) = (0usize, None, false, false);
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        match (quote, comment) {
            (_, true) => comment = c != '\n',
            (Some('"'), _) if escaped => escaped = false,
            (Some('"'), _) if c == '\\' => escaped = true,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, _) => match c {
                '{' | '[' => depth += 1,
                '}' | ']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + c.len_utf8());
                    }
                }
                '"' | '\'' if matches!(previous, '{' | '[' | ',' | ':' | '?') || previous.is_whitespace() => quote = Some(c),
                '#' if previous.is_whitespace() => comment = true,
                _ => {}
            },
        }
        previous = c;
    }
    None
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
        _ if kind.ends_with("List") => "a typed list, whose items carry no kind: not read (`kubectl get -o yaml` writes a kind: List, which is read)",
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
        for case in
            ["correct/deployment.yaml", "multi/app.yaml", "list/kubectl-get.yaml", "kserve/inferenceservice.yaml", "malformed/deployment.yaml"]
        {
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
        let typed = read_manifest(Path::new("k.yaml"), "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata:\n    name: x\n");
        assert_eq!(
            typed.skipped,
            [
                "DeploymentList/(no name) (apps/v1): a typed list, whose items carry no kind: not read (`kubectl get -o yaml` writes a kind: List, which is read)"
            ]
        );
        let old = read_manifest(Path::new("k.yaml"), "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n");
        assert_eq!(old.skipped, ["Deployment/x (extensions/v1beta1): an apiVersion ready does not read"]);
    }

    #[test]
    fn yaml_that_is_not_kubernetes_is_not_read() {
        let read = read_manifest(Path::new("k.yaml"), "name: ci\non: [push]\n");
        assert!(!read.kubernetes && read.workloads.is_empty() && read.malformed.is_empty(), "{read:?}");
    }

    /// `kubectl get svc,deploy -o yaml` as it prints them: managedFields, status, uid, an
    /// annotation holding JSON, block sequences at the indentation of their key.
    const KUBECTL_LIST: &str = r#"apiVersion: v1
items:
- apiVersion: v1
  kind: Service
  metadata:
    creationTimestamp: "2024-05-02T10:11:12Z"
    name: iris
    namespace: default
    resourceVersion: "1200"
    uid: 0b6a3f4e-5a7c-4d2e-9b1f-2c3d4e5f6a7b
  spec:
    clusterIP: 10.96.12.34
    ports:
    - port: 80
      protocol: TCP
      targetPort: 8080
    selector:
      app: iris
    type: ClusterIP
  status:
    loadBalancer: {}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      deployment.kubernetes.io/revision: "1"
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"iris","namespace":"default"}}
    creationTimestamp: "2024-05-02T10:11:12Z"
    generation: 1
    managedFields:
    - apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:template:
            f:spec:
              f:containers:
                k:{"name":"server"}:
                  .: {}
                  f:image: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2024-05-02T10:11:12Z"
    name: iris
    namespace: default
    resourceVersion: "1234"
    uid: 3f1b2c4d-1111-2222-3333-444455556666
  spec:
    progressDeadlineSeconds: 600
    replicas: 2
    selector:
      matchLabels:
        app: iris
    strategy:
      rollingUpdate:
        maxSurge: 25%
        maxUnavailable: 25%
      type: RollingUpdate
    template:
      metadata:
        creationTimestamp: null
        labels:
          app: iris
      spec:
        containers:
        - args:
          - --model
          - /models/iris_rf.onnx
          image: acme/iris-server:1.0
          imagePullPolicy: IfNotPresent
          name: server
          resources:
            limits:
              cpu: "1"
              memory: 512Mi
        dnsPolicy: ClusterFirst
        securityContext: {}
  status:
    availableReplicas: 2
    conditions:
    - lastTransitionTime: "2024-05-02T10:11:20Z"
      lastUpdateTime: "2024-05-02T10:11:20Z"
      message: Deployment has minimum availability.
      reason: MinimumReplicasAvailable
      status: "True"
      type: Available
    observedGeneration: 1
kind: List
metadata:
  resourceVersion: ""
"#;

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn a_kubectl_list_reads_each_item_with_its_path_and_file_lines() {
        let text = format!("# kubectl get svc,deploy -o yaml\n---\n{KUBECTL_LIST}");
        let read = read_manifest(Path::new("k.yaml"), &text);
        assert!(read.kubernetes && read.malformed.is_empty(), "{read:?}");
        assert_eq!(read.skipped, ["Service/iris (v1): not a workload"]);
        assert_eq!(read.workloads.len(), 1);
        let workload = &read.workloads[0];
        assert_eq!(workload.object, "Deployment/iris");
        let c0 = "items[1].spec.template.spec.containers[0]";
        assert_eq!(workload.containers[0].path, c0);
        assert_eq!(workload.containers[0].container.image.as_deref(), Some("acme/iris-server:1.0"));
        assert_eq!(workload.line(&format!("{c0}.image")), Some(line_of(&text, "image: acme/iris-server:1.0")));
        assert_eq!(workload.line(&format!("{c0}.resources.limits.memory")), Some(line_of(&text, "memory: 512Mi")));
        assert_eq!(workload.line(&format!("{c0}.readinessProbe")), Some(line_of(&text, "- args:")));
        assert_eq!(workload.line("items[1].kind"), Some(line_of(&text, "kind: Deployment")));
        assert_eq!(workload.line("spec.template"), None);
    }

    #[test]
    fn a_json_list_and_nested_lists_read_their_items() {
        let value: serde_json::Value = serde_saphyr::from_str(KUBECTL_LIST).unwrap();
        let json = serde_json::to_string_pretty(&value).unwrap();
        let read = read_manifest(Path::new("k.json"), &json);
        assert!(read.malformed.is_empty(), "{read:?}");
        assert_eq!(read.skipped, ["Service/iris (v1): not a workload"]);
        let c0 = "items[1].spec.template.spec.containers[0]";
        assert_eq!(read.workloads[0].line(&format!("{c0}.image")), Some(line_of(&json, "\"image\": \"acme/iris-server:1.0\"")));
        let nested = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap"}, value]});
        let json = serde_json::to_string_pretty(&nested).unwrap();
        let read = read_manifest(Path::new("k.json"), &json);
        assert!(read.malformed.is_empty(), "{read:?}");
        assert_eq!(read.skipped, ["ConfigMap/(no name) (v1): not a workload", "Service/iris (v1): not a workload"]);
        assert_eq!(read.workloads[0].containers[0].path, format!("items[1].{c0}"));
        assert_eq!(read.workloads[0].line(&format!("items[1].{c0}.image")), Some(line_of(&json, "\"image\": \"acme/iris-server:1.0\"")));
        // Flow items in a block list: brackets in quoted scalars and comments do not close them.
        let flow = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, # a } here\n   metadata: {name: 'a}''b'}}\n- {\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"s]\\\"}\"}}\n";
        let read = read_manifest(Path::new("k.yaml"), flow);
        assert!(read.malformed.is_empty(), "{read:?}");
        assert_eq!(read.skipped, ["ConfigMap/a}'b (v1): not a workload", "Secret/s]\"} (v1): not a workload"]);
        let empty = read_manifest(Path::new("k.yaml"), "apiVersion: v1\nkind: List\nitems: []\nmetadata:\n  resourceVersion: \"\"\n");
        assert!(empty.kubernetes && empty.workloads.is_empty() && empty.skipped.is_empty() && empty.malformed.is_empty(), "{empty:?}");
    }

    #[test]
    fn lists_nested_too_deep_and_broken_items_name_their_line() {
        let mut text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n".to_string();
        for _ in 0..=MAX_LIST_DEPTH {
            let indented: String = text.lines().enumerate().map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " })).collect();
            text = format!("apiVersion: v1\nkind: List\nitems:\n{indented}");
        }
        let read = read_manifest(Path::new("k.yaml"), &text);
        assert!(read.workloads.is_empty(), "{read:?}");
        let deepest = "items[0].".repeat(MAX_LIST_DEPTH) + "items[0]";
        assert_eq!(
            read.malformed,
            [(Some(3 * (MAX_LIST_DEPTH + 1) + 1), format!("{deepest}: a List nested more than {MAX_LIST_DEPTH} deep: not read"))]
        );
        let broken = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: x\n  spec:\n    containers: 3\n";
        let read = read_manifest(Path::new("k.yaml"), broken);
        assert_eq!(read.malformed.len(), 1, "{read:?}");
        assert_eq!(read.malformed[0].0, Some(9), "{read:?}");
        assert!(read.malformed[0].1.starts_with("Pod/x: does not match the Kubernetes schema"), "{read:?}");
        let read = read_manifest(Path::new("k.yaml"), "apiVersion: v1\nkind: List\nitems: 3\n");
        assert_eq!(read.malformed, [(Some(3), "List: items: not a list of objects".to_string())]);
    }

    #[test]
    fn list_items_behind_anchors_aliases_and_a_bare_dash_are_read() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- &d\n  apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n  spec:\n    containers:\n    - name: s\n      image: m:1\n- *d\n-\n  apiVersion: v1\n  kind: Service\n  metadata: {name: x}\n";
        let read = read_manifest(Path::new("k.yaml"), text);
        assert!(read.malformed.is_empty(), "{read:?}");
        assert_eq!(read.skipped, ["Service/x (v1): not a workload"]);
        // The alias is the anchored Pod again, at the anchor's lines.
        let found: Vec<_> = read
            .workloads
            .iter()
            .map(|w| (w.object.as_str(), w.containers[0].path.as_str(), w.line(&format!("{}.image", w.containers[0].path))))
            .collect();
        assert_eq!(found, [("Pod/p", "items[0].spec.containers[0]", Some(12)), ("Pod/p", "items[1].spec.containers[0]", Some(12))]);
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
