//! What the file on disk is, before anything loads it: size, SHA-256, format sniffing,
//! and a decode of the ONNX protobuf header (versions, producer, metadata, external data).
//!
//! Nothing here executes or deserializes code from the artifact: pickle-based formats are
//! recognised and refused, and ONNX is decoded with a declared subset of `onnx.proto`
//! (large tensor payloads are skipped, not copied). The subset holds every place a tensor can
//! sit (initializers, sparse initializers, attribute tensors and sparse tensors, subgraphs,
//! functions, training graphs), and the decode is strict: a model it cannot decode (a bad wire
//! type, invalid UTF-8 in a declared string, a tensor naming `location` twice) is an error, and
//! the audit hands no such model to ONNX Runtime.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use prost::Message;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The file formats `ready` tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactFormat {
    Onnx,
    /// Python pickle, joblib, or a PyTorch checkpoint: loading one runs arbitrary code.
    Pickle,
    Unknown,
}

/// Facts about the artifact file.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub sha256: String,
    pub format: ArtifactFormat,
    /// The decoded ONNX header, or why it could not be decoded.
    #[serde(skip)]
    pub onnx: Result<OnnxInfo, String>,
    /// For pickle-based files: what a static scan of the pickle found (nothing is executed).
    pub pickle: Option<crate::pickle_scan::PickleScan>,
    /// External-data references that leave the model's folder, one line each (`tensor 'w': ...`).
    pub external_data_problems: Vec<String>,
    /// What the graph says about each input column (scaler statistics, thresholds, categories).
    #[serde(skip)]
    pub domain: crate::model::graph_domain::GraphDomain,
    /// The locales the graph's string operators need from the machine.
    #[serde(skip)]
    pub locales: Vec<crate::model::locales::LocaleNeed>,
    /// The model's free text that could hold a path (metadata, doc strings, string values).
    #[serde(skip)]
    pub strings: Vec<crate::model::strings::ModelString>,
}

/// The folder a model lives in (`.` for a bare file name).
pub fn model_dir(model: &Path) -> PathBuf {
    model.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// Reads and inspects the artifact (a regular file of at most `limit` bytes). Fails only when
/// the file itself cannot be read.
pub fn inspect(path: &Path, limit: u64) -> Result<Artifact, crate::sandbox::open::OpenError> {
    let bytes = crate::sandbox::open::read(path, limit)?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let format = sniff(path, &bytes);
    let onnx = match format {
        ArtifactFormat::Pickle => Err("pickle-based artifact; not decoded".to_string()),
        _ => decode_onnx(&bytes),
    };
    let format = match (&onnx, format) {
        (Ok(_), ArtifactFormat::Unknown) => ArtifactFormat::Onnx,
        (_, f) => f,
    };
    let pickle = (format == ArtifactFormat::Pickle).then(|| crate::pickle_scan::scan_artifact(&bytes));
    let folder = model_dir(path);
    let external_data_problems = onnx
        .as_ref()
        .map(|info| {
            info.external_data
                .iter()
                .filter_map(|r| external_path_problem(&folder, &r.location).map(|p| format!("tensor '{}': {p}", r.tensor)))
                .collect()
        })
        .unwrap_or_default();
    let domain = if onnx.is_ok() { crate::model::graph_domain::read(&bytes) } else { Default::default() };
    let locales = if onnx.is_ok() { crate::model::locales::needed(&bytes) } else { Vec::new() };
    let strings = if onnx.is_ok() { crate::model::strings::read(&bytes) } else { Vec::new() };
    let artifact = Artifact {
        path: path.to_path_buf(),
        size_bytes: bytes.len() as u64,
        sha256,
        format,
        onnx,
        pickle,
        external_data_problems,
        domain,
        locales,
        strings,
    };
    Ok(artifact)
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Recognises pickle-based formats by extension or content; ONNX is decided by decoding.
fn sniff(path: &Path, bytes: &[u8]) -> ArtifactFormat {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let pickle_ext = matches!(ext.as_str(), "pkl" | "pickle" | "joblib" | "pt" | "pth" | "sav" | "dill");
    // Pickle protocol 2+ starts with PROTO (0x80) and the protocol number.
    let pickle_magic = bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1]);
    // PyTorch checkpoints are zip files holding data.pkl.
    let torch_zip = bytes.starts_with(b"PK\x03\x04") && bytes.windows(8).take(4096).any(|w| w == b"data.pkl");
    if pickle_ext || pickle_magic || torch_zip {
        ArtifactFormat::Pickle
    } else if ext == "onnx" {
        ArtifactFormat::Onnx
    } else {
        ArtifactFormat::Unknown
    }
}

/// Why a model that did not decode was not loaded (the runner's error, shown in serialization).
pub const UNDECODED: &str = "not handed to ONNX Runtime: ready could not decode it in full to check its external data";

/// The parts of an ONNX ModelProto that the audit reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OnnxInfo {
    pub ir_version: i64,
    /// Operator-set versions by domain ("" is the default `ai.onnx` domain).
    pub opsets: BTreeMap<String, i64>,
    pub producer_name: String,
    pub producer_version: String,
    pub domain: String,
    pub model_version: i64,
    pub graph_name: String,
    pub node_count: usize,
    pub initializer_count: usize,
    /// `metadata_props` key/value pairs.
    pub metadata: BTreeMap<String, String>,
    /// Every tensor that stores its data in another file, with the path it names.
    pub external_data: Vec<ExternalReference>,
}

impl OnnxInfo {
    /// Feature names declared in the model's metadata (`feature_names`, comma-separated).
    pub fn feature_names(&self) -> Option<Vec<String>> {
        let raw = self.metadata.get("feature_names")?;
        Some(raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
    }

    /// `ai.onnx` opset version, if imported.
    pub fn default_opset(&self) -> Option<i64> {
        self.opsets.get("").or_else(|| self.opsets.get("ai.onnx")).copied()
    }
}

/// A tensor whose bytes live outside the model file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalReference {
    pub tensor: String,
    pub location: String,
}

/// Decodes an ONNX model header. Errors say what is wrong in the runtime's terms.
pub fn decode_onnx(bytes: &[u8]) -> Result<OnnxInfo, String> {
    if bytes.is_empty() {
        return Err("the file is empty".to_string());
    }
    let model = proto::ModelProto::decode(bytes).map_err(|e| format!("not a valid ONNX protobuf: {e}"))?;
    let Some(graph) = model.graph.as_ref() else {
        return Err("not an ONNX model: no graph".to_string());
    };
    if model.ir_version <= 0 {
        return Err("not an ONNX model: ir_version is missing".to_string());
    }
    let mut external_data = Vec::new();
    let mut node_count = 0;
    walk_graph(graph, &mut external_data, &mut node_count)?;
    for training in &model.training_info {
        for graph in training.initialization.iter().chain(training.algorithm.iter()) {
            walk_graph(graph, &mut external_data, &mut 0)?;
        }
    }
    for function in &model.functions {
        walk_nodes(&function.node, &mut external_data, &mut 0)?;
        walk_attributes(&function.attribute_proto, &mut external_data, &mut 0)?;
    }
    Ok(OnnxInfo {
        ir_version: model.ir_version,
        opsets: model.opset_import.iter().map(|o| (o.domain.clone(), o.version)).collect(),
        producer_name: model.producer_name.clone(),
        producer_version: model.producer_version.clone(),
        domain: model.domain.clone(),
        model_version: model.model_version,
        graph_name: graph.name.clone(),
        node_count,
        initializer_count: graph.initializer.len() + graph.sparse_initializer.len(),
        metadata: model.metadata_props.iter().map(|p| (p.key.clone(), p.value.clone())).collect(),
        external_data,
    })
}

/// Every external reference of a graph (its nodes' subgraphs included); `nodes` counts nodes.
fn walk_graph(graph: &proto::GraphProto, external: &mut Vec<ExternalReference>, nodes: &mut usize) -> Result<(), String> {
    let sparse = graph.sparse_initializer.iter().flat_map(sparse_parts);
    for tensor in graph.initializer.iter().chain(sparse) {
        collect_external(tensor, external)?;
    }
    walk_nodes(&graph.node, external, nodes)
}

fn walk_nodes(list: &[proto::NodeProto], external: &mut Vec<ExternalReference>, nodes: &mut usize) -> Result<(), String> {
    for node in list {
        *nodes += 1;
        walk_attributes(&node.attribute, external, nodes)?;
    }
    Ok(())
}

/// Attribute tensors (`t`, `tensors`), sparse tensors (a Constant's `sparse_value`) and subgraphs.
fn walk_attributes(attributes: &[proto::AttributeProto], external: &mut Vec<ExternalReference>, nodes: &mut usize) -> Result<(), String> {
    for attr in attributes {
        let sparse = attr.sparse_tensor.iter().chain(attr.sparse_tensors.iter()).flat_map(sparse_parts);
        for tensor in attr.t.iter().chain(attr.tensors.iter()).chain(sparse) {
            collect_external(tensor, external)?;
        }
        for sub in attr.g.iter().map(|g| &**g).chain(attr.graphs.iter()) {
            walk_graph(sub, external, nodes)?;
        }
    }
    Ok(())
}

fn sparse_parts(sparse: &proto::SparseTensorProto) -> impl Iterator<Item = &proto::TensorProto> {
    sparse.values.iter().chain(sparse.indices.iter())
}

/// Records a tensor stored outside the file. A key named twice (two `location`s: which one
/// would the runtime read?) is an error.
fn collect_external(tensor: &proto::TensorProto, external: &mut Vec<ExternalReference>) -> Result<(), String> {
    const EXTERNAL: i32 = 1;
    if tensor.data_location != EXTERNAL && tensor.external_data.is_empty() {
        return Ok(());
    }
    let mut keys = std::collections::BTreeSet::new();
    if let Some(twice) = tensor.external_data.iter().find(|e| !keys.insert(e.key.as_str())) {
        return Err(format!("tensor '{}': external_data names '{}' more than once", tensor.name, twice.key));
    }
    let location = tensor.external_data.iter().find(|e| e.key == "location").map(|e| e.value.clone()).unwrap_or_default();
    external.push(ExternalReference { tensor: tensor.name.clone(), location });
    Ok(())
}

/// Checks that an external-data path stays inside `model_dir`: relative, no `..`, and no
/// symlink that resolves outside. Nothing is read. Returns the problem, if any.
pub fn external_path_problem(model_dir: &Path, location: &str) -> Option<String> {
    if location.is_empty() {
        return Some("external data with no location".to_string());
    }
    let relative = Path::new(location);
    if relative.is_absolute() || location.starts_with('/') || location.starts_with('\\') || location.contains(':') {
        return Some(format!("'{location}' is an absolute path"));
    }
    if relative.components().any(|c| matches!(c, Component::ParentDir)) || location.split(['/', '\\']).any(|p| p == "..") {
        return Some(format!("'{location}' climbs out of the model folder with '..'"));
    }
    let joined = model_dir.join(relative);
    if joined.symlink_metadata().is_err() {
        return Some(format!("'{location}' does not exist next to the model"));
    }
    match (joined.canonicalize(), model_dir.canonicalize()) {
        (Ok(target), Ok(root)) if target.starts_with(&root) => None,
        (Ok(target), Ok(_)) => Some(format!("'{location}' is a link to {}, outside the model folder", target.display())),
        (Err(e), _) | (_, Err(e)) => Some(format!("'{location}' cannot be resolved: {e}")),
    }
}

/// A declared subset of `onnx.proto` (field numbers from the ONNX specification).
/// Fields not declared here, such as `raw_data`, are skipped by the decoder.
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(int64, tag = "1")]
        pub ir_version: i64,
        #[prost(string, tag = "2")]
        pub producer_name: String,
        #[prost(string, tag = "3")]
        pub producer_version: String,
        #[prost(string, tag = "4")]
        pub domain: String,
        #[prost(int64, tag = "5")]
        pub model_version: i64,
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        #[prost(message, repeated, tag = "8")]
        pub opset_import: Vec<OperatorSetIdProto>,
        #[prost(message, repeated, tag = "14")]
        pub metadata_props: Vec<StringStringEntryProto>,
        #[prost(message, repeated, tag = "20")]
        pub training_info: Vec<TrainingInfoProto>,
        #[prost(message, repeated, tag = "25")]
        pub functions: Vec<FunctionProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TrainingInfoProto {
        #[prost(message, optional, tag = "1")]
        pub initialization: Option<GraphProto>,
        #[prost(message, optional, tag = "2")]
        pub algorithm: Option<GraphProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FunctionProto {
        #[prost(message, repeated, tag = "7")]
        pub node: Vec<NodeProto>,
        #[prost(message, repeated, tag = "11")]
        pub attribute_proto: Vec<AttributeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OperatorSetIdProto {
        #[prost(string, tag = "1")]
        pub domain: String,
        #[prost(int64, tag = "2")]
        pub version: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringStringEntryProto {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(message, repeated, tag = "15")]
        pub sparse_initializer: Vec<SparseTensorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(message, optional, tag = "5")]
        pub t: Option<TensorProto>,
        #[prost(message, optional, boxed, tag = "6")]
        pub g: Option<Box<GraphProto>>,
        #[prost(message, repeated, tag = "10")]
        pub tensors: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub graphs: Vec<GraphProto>,
        #[prost(message, optional, tag = "22")]
        pub sparse_tensor: Option<SparseTensorProto>,
        #[prost(message, repeated, tag = "23")]
        pub sparse_tensors: Vec<SparseTensorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(string, tag = "8")]
        pub name: String,
        #[prost(message, repeated, tag = "13")]
        pub external_data: Vec<StringStringEntryProto>,
        #[prost(int32, tag = "14")]
        pub data_location: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SparseTensorProto {
        #[prost(message, optional, tag = "1")]
        pub values: Option<TensorProto>,
        #[prost(message, optional, tag = "2")]
        pub indices: Option<TensorProto>,
    }
}

/// Bytes as B / KiB / MiB / GiB with one decimal.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_human_readable() {
        assert_eq!(human_size(39), "39 B");
        assert_eq!(human_size(5906), "5.8 KiB");
        assert_eq!(human_size(300 * 1024 * 1024), "300.0 MiB");
    }

    fn model_with_external(location: &str) -> Vec<u8> {
        let tensor = proto::TensorProto {
            name: "w".into(),
            external_data: vec![proto::StringStringEntryProto { key: "location".into(), value: location.into() }],
            data_location: 1,
        };
        proto::ModelProto {
            ir_version: 8,
            producer_name: "test".into(),
            graph: Some(proto::GraphProto { name: "g".into(), initializer: vec![tensor], ..Default::default() }),
            opset_import: vec![proto::OperatorSetIdProto { domain: String::new(), version: 17 }],
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn decodes_versions_producer_and_external_references() {
        let info = decode_onnx(&model_with_external("weights.bin")).unwrap();
        assert_eq!(info.ir_version, 8);
        assert_eq!(info.default_opset(), Some(17));
        assert_eq!(info.producer_name, "test");
        assert_eq!(info.external_data, vec![ExternalReference { tensor: "w".into(), location: "weights.bin".into() }]);
    }

    #[test]
    fn empty_and_garbage_inputs_are_rejected_with_a_reason() {
        assert!(decode_onnx(b"").unwrap_err().contains("empty"));
        assert!(decode_onnx(b"this is a text file").is_err());
        let truncated = &model_with_external("weights.bin")[..10];
        assert!(decode_onnx(truncated).is_err());
    }

    #[test]
    fn external_paths_must_stay_inside_the_model_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("weights.bin"), b"").unwrap();
        assert_eq!(external_path_problem(dir.path(), "weights.bin"), None);
        assert!(external_path_problem(dir.path(), "../etc/passwd").unwrap().contains(".."));
        assert!(external_path_problem(dir.path(), "/etc/passwd").unwrap().contains("absolute"));
        assert!(external_path_problem(dir.path(), "missing.bin").unwrap().contains("does not exist"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link.bin")).unwrap();
            assert!(external_path_problem(dir.path(), "link.bin").unwrap().contains("outside"));
        }
    }

    #[test]
    fn pickle_formats_are_recognised_by_extension_and_magic() {
        assert_eq!(sniff(Path::new("m.joblib"), b""), ArtifactFormat::Pickle);
        assert_eq!(sniff(Path::new("m.bin"), &[0x80, 0x04, 0x95]), ArtifactFormat::Pickle);
        assert_eq!(sniff(Path::new("m.onnx"), b"\x08\x08"), ArtifactFormat::Onnx);
    }
}
