//! The domain of each input column as the graph itself states it: a Scaler's offset and scale,
//! the range a Mul/Add pair maps onto [0, 1], Normalizer and Imputer settings, the range the
//! split thresholds of tree ensembles span, and the categories encoders (OneHotEncoder,
//! LabelEncoder, CategoryMapper) know. Read from the ONNX protobuf alone; nothing is run.
//!
//! What the scalers become (skl2onnx 1.20): StandardScaler and RobustScaler are a `Scaler` with
//! offset = training mean / median and scale = 1/std / 1/IQR, MaxAbsScaler (and a StandardScaler
//! without centring) a `Scaler` with offset 0 and scale = 1/largest |value| (1/std): the graph
//! cannot tell these apart, and the wording says so. MinMaxScaler is `Cast`, `Mul` by scale_ and
//! `Add` of min_: the raw range it maps onto [0, 1] is its training range when feature_range is
//! the default (0, 1).
//!
//! Trees: TreeEnsembleClassifier/Regressor (ai.onnx.ml 1 and 3: `nodes_values` or
//! `nodes_values_as_tensor`, `LEAF` entries skipped) and the ai.onnx.ml 5 `TreeEnsemble`
//! (`nodes_splits` tensor, modes as a uint8 tensor; its leaves live apart, in `leaf_*`; a
//! set-membership split has no threshold and is not counted).
//!
//! Columns are followed from a graph input through Cast, Identity, Concat (axis 1), column
//! selection with constant indices (Gather, ArrayFeatureExtractor, Slice), Reshape to
//! `[-1, width]`, Imputer, Scaler and Mul/Add by constants (thresholds behind them are mapped
//! back to raw values). Where a column's path goes through another operator,
//! [`GraphDomain::unfollowed`] names it.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;

/// What the graph says about one input column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnDomain {
    /// The Scaler's (offset, 1/|scale|) for this column, in raw units: its centre and unit (a
    /// StandardScaler's training mean and std, a RobustScaler's median and IQR; with offset 0, a
    /// MaxAbsScaler's largest |value| or an uncentred StandardScaler's std).
    pub scaler: Option<(f64, f64)>,
    /// The raw range a constant Mul then Add (skl2onnx's MinMaxScaler) maps onto [0, 1].
    pub minmax: Option<(f64, f64)>,
    /// The smallest and largest split threshold on this column, in raw units.
    pub thresholds: Option<(f64, f64)>,
    /// How many tree splits test this column.
    pub splits: usize,
    /// Categories an encoder knows (strings, or integers written as text).
    pub categories: Vec<String>,
    /// The operator that states the categories (`OneHotEncoder`, `LabelEncoder`, `CategoryMapper`).
    pub encoder: Option<String>,
    /// What an unknown category becomes, in the encoder's words.
    pub unknown: Option<String>,
    /// The value an Imputer puts in place of a missing one.
    pub imputed: Option<f64>,
    /// The norm of a Normalizer that rescales each row this column is part of.
    pub normalizer: Option<String>,
}

/// Per-column domains of a model's inputs, keyed by (input name, column index).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphDomain {
    pub columns: BTreeMap<(String, usize), ColumnDomain>,
    /// Operator types in the main graph.
    pub ops: BTreeSet<String>,
    /// Inputs whose columns reach operators ready does not follow, with those operators.
    pub unfollowed: BTreeMap<String, BTreeSet<String>>,
    /// Inputs ready could not trace at all, and why (no fixed column count).
    pub untraced: BTreeMap<String, String>,
    /// The graph inputs that hold strings, with their rank and column count where fixed (a
    /// sample's text columns are read as text for them, never as numbers).
    pub text_inputs: BTreeMap<String, (usize, Option<usize>)>,
    /// How many graph inputs there are (initializers left out).
    pub input_count: usize,
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
        let (lo, hi) = match (column.thresholds, column.minmax, column.scaler) {
            (Some((lo, hi)), _, _) => {
                let margin = ((hi - lo) * 0.1).max(1e-3);
                (lo - margin, hi + margin)
            }
            (None, Some(range), _) => range,
            (None, None, Some((mean, std))) => (mean - 2.0 * std, mean + 2.0 * std),
            (None, None, None) => return None,
        };
        // Rows walk the range in a different order per column so that columns do not move together.
        let k = (row * 7 + index * 3) % rows.max(1);
        let t = if rows > 1 { k as f64 / (rows - 1) as f64 } else { 0.5 };
        Some(format!("{}", lo + (hi - lo) * t))
    }

    /// One line per column the graph says something about, then one per input whose path
    /// ready could not follow (for a report's details).
    pub fn describe(&self, name_of: &dyn Fn(&str, usize) -> String) -> Vec<String> {
        let mut lines: Vec<String> = self.columns.iter().map(|((input, index), c)| format!("{}: {}", name_of(input, *index), c.describe())).collect();
        for (input, ops) in &self.unfollowed {
            let ops: Vec<&str> = ops.iter().map(String::as_str).collect();
            lines.push(format!("input '{input}' also goes through {} (not followed: what lies behind is not read)", ops.join(", ")));
        }
        for (input, why) in &self.untraced {
            lines.push(format!("input '{input}': not traced ({why})"));
        }
        lines
    }
}

impl ColumnDomain {
    /// The facts, in one line.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(encoder) = &self.encoder {
            let shown: Vec<String> = self.categories.iter().take(12).map(|c| format!("'{c}'")).collect();
            let more = if self.categories.len() > 12 { format!(" and {} more", self.categories.len() - 12) } else { String::new() };
            parts.push(format!("{encoder} knows {} categories: {}{more}", self.categories.len(), shown.join(", ")));
        }
        if let Some((centre, unit)) = self.scaler {
            parts.push(if centre == 0.0 {
                format!("Scaler offset 0 scale 1/{} (no centring: {UNCENTRED})", short(unit))
            } else {
                format!("Scaler offset {} scale 1/{} ({CENTRED})", short(centre), short(unit))
            });
        }
        if let Some((lo, hi)) = self.minmax {
            parts.push(format!("Mul/Add maps [{}, {}] onto [0, 1] ({MINMAX})", short(lo), short(hi)));
        }
        if let Some(value) = self.imputed {
            parts.push(format!("Imputer fills missing values with {}", short(value)));
        }
        if let Some(norm) = &self.normalizer {
            parts.push(format!("Normalizer ({norm}) rescales each row"));
        }
        if let Some((lo, hi)) = self.thresholds {
            parts.push(format!("{} tree split(s) between {} and {}", self.splits, short(lo), short(hi)));
        }
        parts.join("; ")
    }
}

/// What a centred Scaler's offset and scale are, as far as the graph tells.
pub const CENTRED: &str = "a StandardScaler's training mean and std, or a RobustScaler's median and IQR: the graph does not say which";
/// What an uncentred Scaler's scale is, as far as the graph tells.
pub const UNCENTRED: &str = "1/scale is a MaxAbsScaler's largest training |value|, or a StandardScaler's std: the graph does not say which";
/// What a Mul/Add pair's [0, 1] range is.
pub const MINMAX: &str = "skl2onnx's MinMaxScaler export: its training range if feature_range was (0, 1)";

/// A number in at most 6 significant digits.
pub fn short(value: f64) -> String {
    if value == 0.0 || (1e-4..1e9).contains(&value.abs()) {
        let text = format!("{value:.6}");
        let significant = format!("{:.*}", 6usize.saturating_sub(value.abs().log10().floor().max(0.0) as usize + 1), value);
        let chosen = if significant.len() < text.len() { significant } else { text };
        if chosen.contains('.') { chosen.trim_end_matches('0').trim_end_matches('.').to_string() } else { chosen }
    } else {
        format!("{value:.5e}")
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
    let mut tensors: Tensors = BTreeMap::new();
    let initializers: BTreeSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    for input in graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())) {
        domain.input_count += 1;
        if let Some(tensor) = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).filter(|t| t.elem_type == STRING) {
            let rank = tensor.shape.as_ref().map_or(0, |s| s.dim.len());
            domain.text_inputs.insert(input.name.clone(), (rank, input_width(input).ok()));
        }
        match input_width(input) {
            Ok(width) => {
                let text = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).is_some_and(|t| t.elem_type == STRING);
                let sources = (0..width)
                    .map(|index| Some(Source { input: input.name.clone(), index, mean: 0.0, scale: 1.0, text, multiplied: false }))
                    .collect();
                tensors.insert(input.name.clone(), sources);
            }
            Err(why) => {
                domain.untraced.insert(input.name.clone(), why);
            }
        }
    }
    let indices: BTreeMap<String, Vec<i64>> = graph.initializer.iter().filter_map(|t| Some((t.name.clone(), t.int64s()?))).collect();
    let floats: BTreeMap<String, Vec<f64>> = graph.initializer.iter().filter_map(|t| Some((t.name.clone(), t.floats()?))).collect();
    let constants = Constants { indices, floats };
    for node in &graph.node {
        let followed = follow(node, &mut tensors, &constants, &mut domain);
        if !followed && !TERMINAL.iter().any(|op| node.op_type.starts_with(op)) {
            note_unfollowed(node, &tensors, &mut domain);
        }
    }
    domain
}

/// Operators that read traced columns and have nothing more to say about them (models, and
/// the ops a column ends in).
const TERMINAL: &[&str] = &["TreeEnsemble", "LinearClassifier", "LinearRegressor", "SVMClassifier", "SVMRegressor", "ZipMap", "Shape", "Size"];

const STRING: i32 = 8;

/// Each traced tensor's columns: the input column behind it, or `None` where the value no longer
/// is one input column (an encoder's output, a sum of columns).
type Tensors = BTreeMap<String, Vec<Option<Source>>>;

/// The graph's constant initializers that ready reads: int64 ones (column indices, shapes) and
/// float ones kept in `float_data` (a Mul's or an Add's per-column constants).
struct Constants {
    indices: BTreeMap<String, Vec<i64>>,
    floats: BTreeMap<String, Vec<f64>>,
}

/// One column of a tensor, traced to a graph input: value = (raw - mean) * scale.
#[derive(Debug, Clone)]
struct Source {
    input: String,
    index: usize,
    mean: f64,
    scale: f64,
    /// The input holds strings.
    text: bool,
    /// The value is the raw value times a constant, nothing else (a Mul's output).
    multiplied: bool,
}

impl Source {
    fn raw(&self, value: f64) -> f64 {
        if self.scale == 0.0 { self.mean } else { value / self.scale + self.mean }
    }
    fn is_raw(&self) -> bool {
        self.scale == 1.0 && self.mean == 0.0
    }
}

fn input_width(input: &proto::ValueInfoProto) -> Result<usize, String> {
    let tensor = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).ok_or("not a tensor")?;
    let dims = &tensor.shape.as_ref().ok_or("no declared shape")?.dim;
    match dims.len() {
        1 => Ok(1),
        2 => usize::try_from(dims[1].dim_value).ok().filter(|w| (1..=100_000).contains(w)).ok_or_else(|| "its column count is not fixed".to_string()),
        n => Err(format!("{n}-D, not a table of columns")),
    }
}

/// Records that the traced columns of `node`'s inputs reach an operator ready does not follow.
fn note_unfollowed(node: &proto::NodeProto, tensors: &Tensors, domain: &mut GraphDomain) {
    for name in &node.input {
        for source in tensors.get(name).into_iter().flatten().flatten() {
            domain.unfollowed.entry(source.input.clone()).or_default().insert(node.op_type.clone());
        }
    }
}

/// Follows one node; false when it consumes traced columns that it does not pass on or
/// describe.
fn follow(node: &proto::NodeProto, tensors: &mut Tensors, constants: &Constants, domain: &mut GraphDomain) -> bool {
    let indices = &constants.indices;
    let first = node.input.first().and_then(|name| tensors.get(name)).cloned();
    let Some(sources) = first else {
        // The first input is not traced: a Concat may still be, when every part is; any other
        // node reading a traced column is not followed.
        if node.op_type == "Concat" && concat(node, tensors) {
            return true;
        }
        return !node.input.iter().any(|name| tensors.contains_key(name));
    };
    let output = node.output.first().cloned().unwrap_or_default();
    let passed: Option<Vec<Option<Source>>> = match node.op_type.as_str() {
        "Cast" | "Identity" => Some(sources),
        "Concat" => return concat(node, tensors),
        "Gather" | "ArrayFeatureExtractor" => gather(node, &sources, indices),
        "Slice" => slice(node, &sources, indices),
        "Reshape" => reshape(node, sources, indices),
        "Scaler" => Some(scaler(node, &sources, domain)),
        "Mul" | "Add" => affine(node, &sources, constants, domain),
        "Imputer" => Some(imputer(node, sources, domain)),
        "Normalizer" => {
            let norm = string_attr(node, "norm").unwrap_or_else(|| "MAX".into());
            for s in sources.iter().flatten() {
                domain.columns.entry((s.input.clone(), s.index)).or_default().normalizer = Some(norm.clone());
            }
            // Each row is rescaled by its own norm: no column is its raw value any more.
            Some(vec![None; sources.len()])
        }
        "OneHotEncoder" => Some(encoder(node, &sources, domain)),
        "LabelEncoder" | "CategoryMapper" => {
            encoder(node, &sources, domain);
            Some(vec![None; sources.len()])
        }
        op if op.starts_with("TreeEnsemble") => {
            record_thresholds(node, &sources, domain);
            return true;
        }
        _ => None,
    };
    match passed {
        Some(columns) => {
            tensors.insert(output, columns);
            true
        }
        None => false,
    }
}

/// Concat along the column axis: every part must be traced (its width known).
fn concat(node: &proto::NodeProto, tensors: &mut Tensors) -> bool {
    if !matches!(int_attr(node, "axis"), Some(1) | Some(-1)) {
        return false;
    }
    let parts: Option<Vec<Vec<Option<Source>>>> = node.input.iter().map(|name| tensors.get(name).cloned()).collect();
    match (parts, node.output.first()) {
        (Some(parts), Some(output)) => {
            tensors.insert(output.clone(), parts.concat());
            true
        }
        _ => false,
    }
}

/// Column selection by constant indices (how ColumnTransformer picks its columns).
fn gather(node: &proto::NodeProto, sources: &[Option<Source>], indices: &BTreeMap<String, Vec<i64>>) -> Option<Vec<Option<Source>>> {
    let by_column = node.op_type == "ArrayFeatureExtractor" || matches!(int_attr(node, "axis"), Some(1) | Some(-1));
    if !by_column {
        return None;
    }
    let picked = node.input.get(1).and_then(|name| indices.get(name))?;
    picked.iter().map(|&i| column_at(sources.len(), i).map(|i| sources[i].clone())).collect()
}

/// A column index, negative ones counted from the end.
fn column_at(width: usize, index: i64) -> Option<usize> {
    let index = if index < 0 { index + width as i64 } else { index };
    usize::try_from(index).ok().filter(|&i| i < width)
}

/// Slice of columns with constant starts, ends, axes and steps (opset 10+: inputs).
fn slice(node: &proto::NodeProto, sources: &[Option<Source>], indices: &BTreeMap<String, Vec<i64>>) -> Option<Vec<Option<Source>>> {
    let constant = |at: usize| node.input.get(at).filter(|n| !n.is_empty()).map(|n| indices.get(n).cloned());
    let (starts, ends) = (constant(1)??, constant(2)??);
    let axes = match constant(3) {
        Some(axes) => axes?,
        None => (0..starts.len() as i64).collect(),
    };
    let steps = match constant(4) {
        Some(steps) => steps?,
        None => vec![1; starts.len()],
    };
    let mut range = None;
    for (k, &axis) in axes.iter().enumerate() {
        let (start, end, step) = (*starts.get(k)?, *ends.get(k)?, *steps.get(k)?);
        match axis {
            // Rows: only "every row" keeps the columns as they are.
            0 | -2 if start == 0 && end >= i64::from(i32::MAX) && step == 1 => {}
            1 | -1 if step == 1 => range = Some((start, end)),
            _ => return None,
        }
    }
    let width = sources.len() as i64;
    let Some((start, end)) = range else { return Some(sources.to_vec()) };
    let clamp = |v: i64| if v < 0 { (v + width).max(0) } else { v.min(width) };
    let (start, end) = (clamp(start) as usize, clamp(end) as usize);
    Some(sources.get(start..end.max(start))?.to_vec())
}

/// Reshape to `[-1, width]` (or `[0, width]`) of a tensor `width` columns wide keeps the columns.
fn reshape(node: &proto::NodeProto, sources: Vec<Option<Source>>, indices: &BTreeMap<String, Vec<i64>>) -> Option<Vec<Option<Source>>> {
    let shape = node.input.get(1).and_then(|name| indices.get(name))?;
    match shape.as_slice() {
        [-1 | 0, width] if *width == sources.len() as i64 => Some(sources),
        _ => None,
    }
}

fn scaler(node: &proto::NodeProto, sources: &[Option<Source>], domain: &mut GraphDomain) -> Vec<Option<Source>> {
    let (offsets, scales) = (floats_attr(node, "offset"), floats_attr(node, "scale"));
    let pick = |values: &[f64], i: usize, default: f64| {
        if values.len() == 1 { values[0] } else { values.get(i).copied().unwrap_or(default) }
    };
    sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.as_ref()?;
            let (offset, scale) = (pick(&offsets, i, 0.0), pick(&scales, i, 1.0));
            // raw → (raw - s.mean) * s.scale → ((..) - offset) * scale
            let mean = s.raw(offset);
            if s.is_raw() && scale != 0.0 {
                domain.columns.entry((s.input.clone(), s.index)).or_default().scaler = Some((offset, 1.0 / scale.abs()));
            }
            Some(Source { mean, scale: s.scale * scale, multiplied: false, ..s.clone() })
        })
        .collect()
}

/// Mul or Add of a traced tensor by a constant, one value or one per column. An Add right after
/// a Mul of raw values (skl2onnx's MinMaxScaler: raw * scale_ + min_) records the raw range it
/// maps onto [0, 1].
fn affine(node: &proto::NodeProto, sources: &[Option<Source>], constants: &Constants, domain: &mut GraphDomain) -> Option<Vec<Option<Source>>> {
    let values = node.input.get(1).and_then(|name| constants.floats.get(name))?;
    if values.len() != 1 && values.len() != sources.len() {
        return None;
    }
    let value = |i: usize| if values.len() == 1 { values[0] } else { values[i] };
    let multiply = node.op_type == "Mul";
    let mut out = Vec::with_capacity(sources.len());
    for (i, s) in sources.iter().enumerate() {
        let Some(s) = s else {
            out.push(None);
            continue;
        };
        let c = value(i);
        let next = if multiply {
            Source { scale: s.scale * c, multiplied: s.is_raw(), ..s.clone() }
        } else if s.scale != 0.0 {
            // (raw - mean) * scale + c = (raw - (mean - c / scale)) * scale
            Source { mean: s.mean - c / s.scale, multiplied: false, ..s.clone() }
        } else {
            return None;
        };
        if !multiply && s.multiplied && next.scale.is_finite() && next.mean.is_finite() {
            let (zero, one) = (next.raw(0.0), next.raw(1.0));
            domain.columns.entry((s.input.clone(), s.index)).or_default().minmax = Some((zero.min(one), zero.max(one)));
        }
        out.push(Some(next));
    }
    Some(out)
}

/// Records each column's replacement value; the columns pass on unchanged.
fn imputer(node: &proto::NodeProto, sources: Vec<Option<Source>>, domain: &mut GraphDomain) -> Vec<Option<Source>> {
    let values = floats_attr(node, "imputed_value_floats");
    let ints = ints_attr(node, "imputed_value_int64s");
    for (i, s) in sources.iter().enumerate() {
        let Some(s) = s.as_ref().filter(|s| s.is_raw()) else { continue };
        let value = match (values.as_slice(), ints.as_slice()) {
            ([one], _) => Some(*one),
            (many, _) if many.len() > 1 => many.get(i).copied(),
            (_, [one]) => Some(*one as f64),
            (_, many) => many.get(i).map(|&v| v as f64),
        };
        if let Some(value) = value {
            domain.columns.entry((s.input.clone(), s.index)).or_default().imputed = Some(value);
        }
    }
    sources
}

/// Records the categories an encoder knows for each raw column it reads. A OneHotEncoder's
/// output is one (untraced) column per category and input column.
fn encoder(node: &proto::NodeProto, sources: &[Option<Source>], domain: &mut GraphDomain) -> Vec<Option<Source>> {
    let op = node.op_type.as_str();
    let categories: Vec<String> = match op {
        "OneHotEncoder" => {
            let mut c = strings_attr(node, "cats_strings");
            c.extend(ints_attr(node, "cats_int64s").iter().map(ToString::to_string));
            c
        }
        "LabelEncoder" => {
            let mut c = strings_attr(node, "keys_strings");
            c.extend(ints_attr(node, "keys_int64s").iter().map(ToString::to_string));
            c
        }
        // CategoryMapper maps both ways: the side of the input's type is what it knows.
        _ if sources.iter().flatten().any(|s| s.text) => strings_attr(node, "cats_strings"),
        _ => ints_attr(node, "cats_int64s").iter().map(ToString::to_string).collect(),
    };
    let unknown = match op {
        "OneHotEncoder" if int_attr(node, "zeros") == Some(0) => "an error (zeros=0)".to_string(),
        "OneHotEncoder" => "all zeros, as if the column were absent".to_string(),
        "LabelEncoder" => match (string_attr(node, "default_string"), attr(node, "default_int64")) {
            (Some(text), _) => format!("the default '{text}'"),
            (None, Some(a)) => format!("the default {}", a.i),
            (None, None) => "the default -1".to_string(),
        },
        _ => "the default value".to_string(),
    };
    for s in sources.iter().flatten().filter(|s| s.is_raw()) {
        if categories.is_empty() {
            continue;
        }
        let entry = domain.columns.entry((s.input.clone(), s.index)).or_default();
        entry.categories = categories.clone();
        entry.encoder = Some(op.to_string());
        entry.unknown = Some(unknown.clone());
    }
    vec![None; sources.len() * categories.len().max(1)]
}

/// The split thresholds of one tree ensemble, per traced column, in raw units.
fn record_thresholds(node: &proto::NodeProto, sources: &[Option<Source>], domain: &mut GraphDomain) {
    let features = ints_attr(node, "nodes_featureids");
    // ai.onnx.ml 5 TreeEnsemble: every node is a branch; mode 6 is set membership (no threshold).
    const SET_MEMBER: f64 = 6.0;
    let (values, skip): (Vec<f64>, Vec<bool>) = if node.op_type == "TreeEnsemble" {
        let modes = tensor_attr(node, "nodes_modes");
        (tensor_attr(node, "nodes_splits"), (0..features.len()).map(|i| modes.get(i) == Some(&SET_MEMBER)).collect())
    } else {
        let mut values = floats_attr(node, "nodes_values");
        if values.is_empty() {
            values = tensor_attr(node, "nodes_values_as_tensor");
        }
        (values, strings_attr(node, "nodes_modes").iter().map(|m| m == "LEAF").collect())
    };
    for (i, (&feature, &value)) in features.iter().zip(&values).enumerate() {
        if skip.get(i).copied().unwrap_or(false) || !value.is_finite() {
            continue;
        }
        let Some(source) = usize::try_from(feature).ok().and_then(|f| sources.get(f)).and_then(Option::as_ref) else {
            continue;
        };
        let raw = source.raw(value);
        let entry = domain.columns.entry((source.input.clone(), source.index)).or_default();
        entry.splits += 1;
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

/// The values of a tensor attribute (float, double, uint8 or int32 elements), as f64.
fn tensor_attr(node: &proto::NodeProto, name: &str) -> Vec<f64> {
    attr(node, name).and_then(|a| a.t.as_ref()).map(proto::AttributeTensor::values).unwrap_or_default()
}

fn string_attr(node: &proto::NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
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

    /// Only typed int64 and float values are read (how converters store column indices and a
    /// MinMaxScaler's constants): `raw_data`, where weights live, is skipped, so they are never
    /// copied.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(float, repeated, tag = "4")]
        pub float_data: Vec<f32>,
        #[prost(int64, repeated, tag = "7")]
        pub int64_data: Vec<i64>,
        #[prost(string, tag = "8")]
        pub name: String,
    }

    const FLOAT: i32 = 1;
    const UINT8: i32 = 2;
    const INT32: i32 = 6;
    const DOUBLE: i32 = 11;

    impl TensorProto {
        /// The values of an int64 tensor stored in `int64_data` (column indices).
        pub fn int64s(&self) -> Option<Vec<i64>> {
            const INT64: i32 = 7;
            (self.data_type == INT64 && !self.int64_data.is_empty()).then(|| self.int64_data.clone())
        }

        /// The values of a float tensor stored in `float_data` (small constants).
        pub fn floats(&self) -> Option<Vec<f64>> {
            (self.data_type == FLOAT && !self.float_data.is_empty()).then(|| self.float_data.iter().map(|&f| f64::from(f)).collect())
        }
    }

    /// A tensor held in an attribute (TreeEnsemble's `nodes_splits`, `nodes_modes`): small, so
    /// `raw_data` is read too.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeTensor {
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(float, repeated, tag = "4")]
        pub float_data: Vec<f32>,
        #[prost(int32, repeated, tag = "5")]
        pub int32_data: Vec<i32>,
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
        #[prost(double, repeated, tag = "10")]
        pub double_data: Vec<f64>,
    }

    impl AttributeTensor {
        /// Its elements as f64 (float, double, uint8, int32; little-endian `raw_data`); empty for
        /// other element types.
        pub fn values(&self) -> Vec<f64> {
            let raw = &self.raw_data;
            match self.data_type {
                FLOAT if raw.is_empty() => self.float_data.iter().map(|&f| f64::from(f)).collect(),
                FLOAT => raw.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect(),
                DOUBLE if raw.is_empty() => self.double_data.clone(),
                DOUBLE => raw.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).collect(),
                UINT8 | INT32 if raw.is_empty() => self.int32_data.iter().map(|&v| f64::from(v)).collect(),
                UINT8 => raw.iter().map(|&v| f64::from(v)).collect(),
                INT32 => raw.chunks_exact(4).map(|b| f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect(),
                _ => Vec::new(),
            }
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
        #[prost(message, optional, tag = "5")]
        pub t: Option<AttributeTensor>,
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

    fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<proto::AttributeProto>) -> proto::NodeProto {
        proto::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            op_type: op.to_string(),
            attribute: attributes,
        }
    }

    fn attribute(name: &str) -> proto::AttributeProto {
        proto::AttributeProto { name: name.to_string(), ..Default::default() }
    }

    fn ints(values: &[i64], name: &str) -> proto::TensorProto {
        proto::TensorProto { data_type: 7, int64_data: values.to_vec(), name: name.to_string(), ..Default::default() }
    }

    /// A graph with one input `x` of `width` columns (elem_type 1 float, 8 string).
    fn model(width: i64, elem_type: i32, nodes: Vec<proto::NodeProto>, initializer: Vec<proto::TensorProto>) -> GraphDomain {
        let shape = proto::TensorShapeProto { dim: vec![proto::Dimension { dim_value: 0 }, proto::Dimension { dim_value: width }] };
        let input = proto::ValueInfoProto {
            name: "x".into(),
            r#type: Some(proto::TypeProto { tensor_type: Some(proto::TensorTypeProto { elem_type, shape: Some(shape) }) }),
        };
        let graph = proto::GraphProto { node: nodes, initializer, input: vec![input] };
        read(&proto::ModelProto { graph: Some(graph) }.encode_to_vec())
    }

    #[test]
    fn slice_imputer_and_scaler_reach_the_right_columns_and_trees_behind_them_map_back() {
        // Columns 2..4 of x, imputed, scaled, then split on by a tree.
        let imputer = proto::AttributeProto { floats: vec![7.5, 9.0], ..attribute("imputed_value_floats") };
        let offset = proto::AttributeProto { floats: vec![10.0, 20.0], ..attribute("offset") };
        let scale = proto::AttributeProto { floats: vec![0.5, 0.25], ..attribute("scale") };
        let features = proto::AttributeProto { ints: vec![0, 1, 0], ..attribute("nodes_featureids") };
        let values = proto::AttributeProto { floats: vec![1.0, -2.0, 0.0], ..attribute("nodes_values") };
        let modes =
            proto::AttributeProto { strings: vec![b"BRANCH_LEQ".to_vec(), b"BRANCH_LEQ".to_vec(), b"LEAF".to_vec()], ..attribute("nodes_modes") };
        let domain = model(
            5,
            1,
            vec![
                node("Slice", &["x", "starts", "ends", "axes"], "s", vec![]),
                node("Imputer", &["s"], "i", vec![imputer]),
                node("Scaler", &["i"], "z", vec![offset, scale]),
                node("TreeEnsembleRegressor", &["z"], "y", vec![features, values, modes]),
            ],
            vec![ints(&[2], "starts"), ints(&[4], "ends"), ints(&[1], "axes")],
        );
        let two = domain.column("x", 2).unwrap();
        assert_eq!((two.imputed, two.scaler, two.thresholds, two.splits), (Some(7.5), Some((10.0, 2.0)), Some((12.0, 12.0)), 1));
        // -2 / 0.25 + 20 = 12: the threshold in raw units.
        let three = domain.column("x", 3).unwrap();
        assert_eq!((three.imputed, three.thresholds), (Some(9.0), Some((12.0, 12.0))));
        assert_eq!(domain.columns.len(), 2);
        assert!(domain.unfollowed.is_empty());
    }

    #[test]
    fn tree_ensemble_v5_tensors_skip_set_membership_and_v3_double_tensors_are_read() {
        let tensor = |name: &str, data_type: i32, raw_data: Vec<u8>| proto::AttributeProto {
            t: Some(proto::AttributeTensor { data_type, raw_data, ..Default::default() }),
            ..attribute(name)
        };
        let features = proto::AttributeProto { ints: vec![0, 1, 0], ..attribute("nodes_featureids") };
        let splits: Vec<u8> = [1.5f32, 9.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        // Modes: LEQ, SET_MEMBER (its split value means nothing), GT.
        let v5 = vec![features.clone(), tensor("nodes_splits", 1, splits), tensor("nodes_modes", 2, vec![0, 6, 3])];
        let domain = model(2, 1, vec![node("TreeEnsemble", &["x"], "y", v5)], vec![]);
        let zero = domain.column("x", 0).unwrap();
        assert_eq!((zero.thresholds, zero.splits), (Some((1.5, 4.0)), 2));
        assert_eq!(domain.column("x", 1), None);

        let doubles = proto::AttributeProto {
            t: Some(proto::AttributeTensor { data_type: 11, double_data: vec![2.0, 3.0, 0.0], ..Default::default() }),
            ..attribute("nodes_values_as_tensor")
        };
        let modes =
            proto::AttributeProto { strings: vec![b"BRANCH_LEQ".to_vec(), b"BRANCH_LT".to_vec(), b"LEAF".to_vec()], ..attribute("nodes_modes") };
        let domain = model(2, 1, vec![node("TreeEnsembleRegressor", &["x"], "y", vec![features, doubles, modes])], vec![]);
        assert_eq!((domain.column("x", 0).unwrap().thresholds, domain.column("x", 1).unwrap().thresholds), (Some((2.0, 2.0)), Some((3.0, 3.0))));
    }

    #[test]
    fn label_encoders_and_category_mappers_know_their_side_and_other_ops_are_named() {
        let keys = proto::AttributeProto { strings: vec![b"cat".to_vec(), b"dog".to_vec()], ..attribute("keys_strings") };
        let labels = model(1, 8, vec![node("LabelEncoder", &["x"], "y", vec![keys])], vec![]);
        let column = labels.column("x", 0).unwrap();
        assert_eq!((column.categories.clone(), column.encoder.as_deref()), (vec!["cat".to_string(), "dog".to_string()], Some("LabelEncoder")));
        assert_eq!(column.unknown.as_deref(), Some("the default -1"));

        let strings = proto::AttributeProto { strings: vec![b"a".to_vec()], ..attribute("cats_strings") };
        let numbers = proto::AttributeProto { ints: vec![4, 5], ..attribute("cats_int64s") };
        let mapper = |elem| model(1, elem, vec![node("CategoryMapper", &["x"], "y", vec![strings.clone(), numbers.clone()])], vec![]);
        assert_eq!(mapper(8).column("x", 0).unwrap().categories, ["a"]);
        assert_eq!(mapper(7).column("x", 0).unwrap().categories, ["4", "5"]);

        // A Normalizer rescales rows: recorded, and nothing behind it is read as raw units.
        let norm = proto::AttributeProto { s: b"L2".to_vec(), ..attribute("norm") };
        let offset = proto::AttributeProto { floats: vec![1.0], ..attribute("offset") };
        let domain = model(
            2,
            1,
            vec![node("Normalizer", &["x"], "n", vec![norm]), node("Scaler", &["n"], "z", vec![offset]), node("MatMul", &["x", "w"], "m", vec![])],
            vec![],
        );
        let column = domain.column("x", 1).unwrap();
        assert_eq!((column.normalizer.as_deref(), column.scaler), (Some("L2"), None));
        assert_eq!(domain.unfollowed["x"], BTreeSet::from(["MatMul".to_string()]));
    }
}
