//! The domain of each input column as the graph itself states it: a Scaler's training mean and
//! standard deviation, the range the split thresholds of tree ensembles span, and the categories
//! encoders know. Read from the ONNX protobuf alone; nothing is run.
//!
//! Columns are followed from a graph input through Cast, Identity, Concat (axis 1), column
//! selection (Gather, ArrayFeatureExtractor) and a Scaler (thresholds behind it are mapped back to raw values).

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;

/// What the graph says about one input column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnDomain {
    /// The Scaler's (mean, std) for this column, in raw units.
    pub scaler: Option<(f64, f64)>,
    /// The smallest and largest split threshold on this column, in raw units.
    pub thresholds: Option<(f64, f64)>,
    /// Categories an encoder knows (strings, or integers written as text).
    pub categories: Vec<String>,
}

/// Per-column domains of a model's inputs, keyed by (input name, column index).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphDomain {
    pub columns: BTreeMap<(String, usize), ColumnDomain>,
    /// Operator types in the main graph.
    pub ops: BTreeSet<String>,
}

impl GraphDomain {
    /// The domain of column `index` of `input`, if the graph says anything about it.
    pub fn column(&self, input: &str, index: usize) -> Option<&ColumnDomain> {
        self.columns.get(&(input.to_string(), index))
    }

    /// The step that takes NaN, if the graph has one: an Imputer, or tree ensembles (whose
    /// splits send a missing value down one side).
    pub fn takes_nan(&self) -> Option<&'static str> {
        if self.ops.contains("Imputer") {
            Some("it has an Imputer")
        } else if self.ops.iter().any(|op| op.starts_with("TreeEnsemble")) {
            Some("its trees send NaN down one side of each split")
        } else {
            None
        }
    }

    /// A plausible value for `row` of column `index` of `input`: cycling through the known
    /// categories, or spread across the thresholds' range (else the Scaler's mean ± 2 std).
    pub fn plausible(&self, input: &str, index: usize, row: usize, rows: usize) -> Option<String> {
        let column = self.column(input, index)?;
        if !column.categories.is_empty() {
            return Some(column.categories[row % column.categories.len()].clone());
        }
        let (lo, hi) = match (column.thresholds, column.scaler) {
            (Some((lo, hi)), _) => {
                let margin = ((hi - lo) * 0.1).max(1e-3);
                (lo - margin, hi + margin)
            }
            (None, Some((mean, std))) => (mean - 2.0 * std, mean + 2.0 * std),
            (None, None) => return None,
        };
        // Rows walk the range in a different order per column so that columns do not move together.
        let k = (row * 7 + index * 3) % rows.max(1);
        let t = if rows > 1 { k as f64 / (rows - 1) as f64 } else { 0.5 };
        Some(format!("{}", lo + (hi - lo) * t))
    }
}

/// Reads the domains from model bytes; a model that does not decode has none.
pub fn read(bytes: &[u8]) -> GraphDomain {
    let Ok(model) = proto::ModelProto::decode(bytes) else {
        return GraphDomain::default();
    };
    let Some(graph) = model.graph else {
        return GraphDomain::default();
    };
    let mut domain = GraphDomain { ops: graph.node.iter().map(|n| n.op_type.clone()).collect(), ..GraphDomain::default() };
    let mut tensors: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    for input in &graph.input {
        if let Some(width) = input_width(input) {
            let sources = (0..width).map(|index| Source { input: input.name.clone(), index, mean: 0.0, scale: 1.0 }).collect();
            tensors.insert(input.name.clone(), sources);
        }
    }
    let indices: BTreeMap<String, Vec<i64>> = graph.initializer.iter().filter_map(|t| Some((t.name.clone(), t.int64s()?))).collect();
    for node in &graph.node {
        follow(node, &mut tensors, &indices, &mut domain);
    }
    domain
}

/// One column of a tensor, traced to a graph input: value = (raw - mean) * scale.
#[derive(Debug, Clone)]
struct Source {
    input: String,
    index: usize,
    mean: f64,
    scale: f64,
}

impl Source {
    fn raw(&self, value: f64) -> f64 {
        if self.scale == 0.0 { self.mean } else { value / self.scale + self.mean }
    }
}

fn input_width(input: &proto::ValueInfoProto) -> Option<usize> {
    let tensor = input.r#type.as_ref()?.tensor_type.as_ref()?;
    let dims = &tensor.shape.as_ref()?.dim;
    match dims.len() {
        1 => Some(1),
        2 => usize::try_from(dims[1].dim_value).ok().filter(|w| (1..=100_000).contains(w)),
        _ => None,
    }
}

fn follow(node: &proto::NodeProto, tensors: &mut BTreeMap<String, Vec<Source>>, indices: &BTreeMap<String, Vec<i64>>, domain: &mut GraphDomain) {
    let first = node.input.first().and_then(|name| tensors.get(name)).cloned();
    let output = node.output.first().cloned().unwrap_or_default();
    match node.op_type.as_str() {
        "Cast" | "Identity" => {
            if let Some(sources) = first {
                tensors.insert(output, sources);
            }
        }
        "Concat" if matches!(int_attr(node, "axis"), Some(1) | Some(-1)) => {
            let parts: Option<Vec<Vec<Source>>> = node.input.iter().map(|name| tensors.get(name).cloned()).collect();
            if let Some(parts) = parts {
                tensors.insert(output, parts.concat());
            }
        }
        // Column selection by constant indices (how ColumnTransformer picks its columns).
        "Gather" | "ArrayFeatureExtractor" if node.op_type == "ArrayFeatureExtractor" || matches!(int_attr(node, "axis"), Some(1) | Some(-1)) => {
            let (Some(sources), Some(picked)) = (first, node.input.get(1).and_then(|name| indices.get(name))) else {
                return;
            };
            let selected: Option<Vec<Source>> = picked.iter().map(|&i| usize::try_from(i).ok().and_then(|i| sources.get(i).cloned())).collect();
            if let Some(selected) = selected {
                tensors.insert(output, selected);
            }
        }
        "Scaler" => {
            let Some(sources) = first else { return };
            let (offsets, scales) = (floats_attr(node, "offset"), floats_attr(node, "scale"));
            let pick = |values: &[f64], i: usize, default: f64| {
                if values.len() == 1 { values[0] } else { values.get(i).copied().unwrap_or(default) }
            };
            let scaled: Vec<Source> = sources
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (offset, scale) = (pick(&offsets, i, 0.0), pick(&scales, i, 1.0));
                    // raw → (raw - s.mean) * s.scale → ((..) - offset) * scale
                    let mean = s.raw(offset);
                    let total = s.scale * scale;
                    if s.scale == 1.0 && s.mean == 0.0 && scale != 0.0 {
                        domain.columns.entry((s.input.clone(), s.index)).or_default().scaler = Some((offset, 1.0 / scale.abs()));
                    }
                    Source { input: s.input.clone(), index: s.index, mean, scale: total }
                })
                .collect();
            tensors.insert(output, scaled);
        }
        op if op.starts_with("TreeEnsemble") => {
            if let Some(sources) = first {
                record_thresholds(node, &sources, domain);
            }
        }
        "OneHotEncoder" | "LabelEncoder" => {
            if let Some([source]) = first.as_deref() {
                let (texts, ints) = match node.op_type.as_str() {
                    "OneHotEncoder" => ("cats_strings", "cats_int64s"),
                    _ => ("keys_strings", "keys_int64s"),
                };
                let mut categories: Vec<String> = strings_attr(node, texts);
                categories.extend(ints_attr(node, ints).iter().map(ToString::to_string));
                if !categories.is_empty() {
                    domain.columns.entry((source.input.clone(), source.index)).or_default().categories = categories;
                }
            }
        }
        _ => {}
    }
}

fn record_thresholds(node: &proto::NodeProto, sources: &[Source], domain: &mut GraphDomain) {
    let features = ints_attr(node, "nodes_featureids");
    let values = floats_attr(node, "nodes_values");
    let modes = strings_attr(node, "nodes_modes");
    for (i, (&feature, &value)) in features.iter().zip(&values).enumerate() {
        if modes.get(i).is_some_and(|m| m == "LEAF") || !value.is_finite() {
            continue;
        }
        let Some(source) = usize::try_from(feature).ok().and_then(|f| sources.get(f)) else {
            continue;
        };
        let raw = source.raw(value);
        let entry = domain.columns.entry((source.input.clone(), source.index)).or_default();
        entry.thresholds = Some(match entry.thresholds {
            Some((lo, hi)) => (lo.min(raw), hi.max(raw)),
            None => (raw, raw),
        });
    }
}

fn attr<'n>(node: &'n proto::NodeProto, name: &str) -> Option<&'n proto::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attr(node: &proto::NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

fn ints_attr(node: &proto::NodeProto, name: &str) -> Vec<i64> {
    attr(node, name).map(|a| a.ints.clone()).unwrap_or_default()
}

fn floats_attr(node: &proto::NodeProto, name: &str) -> Vec<f64> {
    attr(node, name).map(|a| a.floats.iter().map(|&f| f64::from(f)).collect()).unwrap_or_default()
}

fn strings_attr(node: &proto::NodeProto, name: &str) -> Vec<String> {
    attr(node, name).map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect()).unwrap_or_default()
}

/// The part of `onnx.proto` this module reads (field numbers from the ONNX specification).
pub(crate) mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfoProto>,
    }

    /// Only typed int64 values are read (how converters store column indices): `raw_data` and
    /// the other typed fields are skipped, so weights are never copied.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(int64, repeated, tag = "7")]
        pub int64_data: Vec<i64>,
        #[prost(string, tag = "8")]
        pub name: String,
    }

    impl TensorProto {
        /// The values of an int64 tensor stored in `int64_data` (column indices).
        pub fn int64s(&self) -> Option<Vec<i64>> {
            const INT64: i32 = 7;
            (self.data_type == INT64 && !self.int64_data.is_empty()).then(|| self.int64_data.clone())
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        #[prost(string, tag = "4")]
        pub op_type: String,
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(int64, tag = "3")]
        pub i: i64,
        #[prost(bytes = "vec", tag = "4")]
        pub s: Vec<u8>,
        #[prost(float, repeated, tag = "7")]
        pub floats: Vec<f32>,
        #[prost(int64, repeated, tag = "8")]
        pub ints: Vec<i64>,
        #[prost(bytes = "vec", repeated, tag = "9")]
        pub strings: Vec<Vec<u8>>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfoProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub r#type: Option<TypeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeProto {
        #[prost(message, optional, tag = "1")]
        pub tensor_type: Option<TensorTypeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorTypeProto {
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorShapeProto {
        #[prost(message, repeated, tag = "1")]
        pub dim: Vec<Dimension>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        #[prost(int64, tag = "1")]
        pub dim_value: i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iris() -> GraphDomain {
        read(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/models/iris_rf.onnx")).unwrap())
    }

    #[test]
    fn scaler_statistics_and_thresholds_come_back_in_raw_units() {
        let domain = iris();
        let petal = domain.column("input", 2).expect("petal_length has a domain");
        let (mean, std) = petal.scaler.unwrap();
        assert!((3.0..4.5).contains(&mean) && (1.5..2.0).contains(&std), "{petal:?}");
        let (lo, hi) = petal.thresholds.unwrap();
        assert!(lo >= 1.0 && hi <= 6.9 && lo < hi, "thresholds in centimetres: {petal:?}");
        assert_eq!(domain.takes_nan(), Some("its trees send NaN down one side of each split"));
    }

    #[test]
    fn encoders_name_their_categories_and_garbage_has_no_domain() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/models/mixed_types.onnx")).unwrap();
        let domain = read(&bytes);
        assert_eq!(domain.column("color", 0).unwrap().categories, vec!["blue", "green", "red"]);
        assert_eq!(domain.plausible("color", 0, 4, 8).as_deref(), Some("green"));
        assert_eq!(read(b"not a model"), GraphDomain::default());
    }
}
