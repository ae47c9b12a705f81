//! Schema parity: the sample's columns against the model's inputs (names, order, element types,
//! static and dynamic dimensions), then one inference on the sample with its prediction shown.
//!
//! Two kinds of models are understood: one input per column (matched by name), and one 2-D
//! tensor input whose columns come from `feature_names` (config, then model metadata) or, when
//! no names are known, from the sample's column order.

use ndarray::{Axis, concatenate};

use super::{AuditContext, Check, Outcome, Status, slice_batch};
use crate::model::graph_domain::GraphDomain;
use crate::runtime::ElementType;
use crate::runtime::tensor::batch_rows;
use crate::runtime::{Batch, Dim, IoSpec, NamedTensor, TensorData};
use crate::sample::{Judge, Missing, Rounding, Safety, Sample, dtype_name, short};

pub struct SchemaParity;

/// How sample columns were mapped onto model inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Each input is one column with the same name.
    PerColumn,
    /// One 2-D input fed from several columns.
    SingleTensor { input: String, names_from: NamesFrom },
    /// Inputs read from an ONNX test data set folder.
    TestDataSet { dir: String, by_name: bool },
}

/// Where a single-tensor model's column names came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamesFrom {
    Config,
    ModelMetadata,
    Position,
}

/// One statement about the sample against the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    pub text: String,
    /// Whether the finding keeps the sample from being fed. A value that only rounds (a lossy
    /// cast) does not: the converted values still run, so golden parity shows the effect.
    pub blocks: bool,
    /// A shorter form for the summary line, when `text` is too long for it.
    pub headline: Option<&'static str>,
}

/// The result of matching a sample to the model inputs.
#[derive(Debug, Clone)]
pub struct Binding {
    pub mode: Mode,
    pub findings: Vec<Finding>,
    /// The model inputs built from the sample, unless a blocking finding stopped it.
    pub batch: Option<Batch>,
}

impl Binding {
    fn worst(&self) -> Status {
        self.findings.iter().map(|f| f.status).max().unwrap_or(Status::Pass)
    }
}

/// What the binding is judged by, besides the sample and the inputs.
pub struct Rules<'a> {
    /// Float rounding tolerance, relative to a column's spread.
    pub tolerance: f64,
    /// The status of columns matched by position (warn or fail).
    pub positional: Status,
    /// What the graph says about the input columns (Scaler statistics, NaN handling).
    pub domain: &'a GraphDomain,
}

impl Default for Rules<'static> {
    fn default() -> Self {
        static NONE: std::sync::OnceLock<GraphDomain> = std::sync::OnceLock::new();
        Rules { tolerance: 1e-4, positional: Status::Warn, domain: NONE.get_or_init(GraphDomain::default) }
    }
}

/// The findings so far, and the columns whose values convert exactly into another type (one
/// line per pair of types, not one per column, however wide the model).
struct Findings(Vec<Finding>, Vec<(String, ElementType, String)>);

impl Findings {
    fn exact(&mut self, column: &str, source: String, target: ElementType) {
        self.1.push((source, target, column.to_string()));
    }
    /// Turns the exact conversions into one pass finding per (source type, target type).
    fn group_exact(&mut self) {
        let exact = std::mem::take(&mut self.1);
        let mut pairs: Vec<(&String, ElementType)> = Vec::new();
        for (source, target, _) in &exact {
            if !pairs.contains(&(source, *target)) {
                pairs.push((source, *target));
            }
        }
        for (source, target) in pairs {
            let columns: Vec<String> = exact.iter().filter(|(s, t, _)| s == source && *t == target).map(|(_, _, c)| format!("'{c}'")).collect();
            let (word, shown) = if columns.len() == 1 {
                ("column", columns[0].clone())
            } else {
                ("columns", columns.iter().take(5).cloned().collect::<Vec<_>>().join(", "))
            };
            let more = if columns.len() > 5 { format!(" and {} more", columns.len() - 5) } else { String::new() };
            self.add(Status::Pass, format!("{word} {shown}{more}: {source} values convert exactly to {target}"));
        }
    }
    fn add(&mut self, status: Status, text: String) {
        self.0.push(Finding { status, text, blocks: status == Status::Fail, headline: None });
    }
    /// A finding that is reported but lets the sample run.
    fn note(&mut self, status: Status, text: String) {
        self.0.push(Finding { status, text, blocks: false, headline: None });
    }
    fn blocked(&self) -> bool {
        self.0.iter().any(|f| f.blocks)
    }
}

/// Matches `sample` against `inputs`. `feature_names` are the column names of a single 2-D
/// input and where they came from (config or model metadata).
pub fn bind(sample: &Sample, inputs: &[IoSpec], feature_names: Option<(&[String], NamesFrom)>, rules: &Rules<'_>) -> Binding {
    let columns: Vec<String> = sample.columns().into_iter().map(|(name, _)| name).collect();
    let all_named = inputs.iter().all(|i| columns.contains(&i.name));
    let single = match inputs {
        [only] if !all_named => only.kind.as_tensor().is_some_and(|(_, dims)| dims.len() == 2),
        _ => false,
    };
    let mut findings = Findings(Vec::new(), Vec::new());
    let (mode, batch) = if single {
        bind_single(sample, &inputs[0], &columns, feature_names, rules, &mut findings)
    } else {
        (Mode::PerColumn, bind_per_column(sample, inputs, &columns, rules, &mut findings))
    };
    // Columns of a type ready does not read (a Parquet timestamp) the model does not take.
    for column in &sample.skipped {
        findings.add(Status::Warn, format!("extra column '{}' has Parquet type {}, which ready does not read (ignored)", column.name, column.kind));
    }
    findings.group_exact();
    let batch = if findings.blocked() { None } else { batch.map(|b| fit_batch_dim(b, inputs, &mut findings)) };
    let batch = if findings.blocked() { None } else { batch };
    Binding { mode, findings: findings.0, batch }
}

/// Matches the tensors of a test data set to the model inputs: by name when every tensor is
/// named after an input, otherwise by position. Element types must be equal and static
/// dimensions must agree.
pub fn bind_tensors(set: &crate::sample::TensorSample, inputs: &[IoSpec], rules: &Rules<'_>) -> Binding {
    let mut findings = Findings(Vec::new(), Vec::new());
    // By name as soon as one tensor is named after an input (a misnamed array is then named as
    // missing, never fed by position); by position only when no name matches (input_0.pb sets,
    // a single .npy).
    let by_name = set.tensors.iter().any(|t| inputs.iter().any(|i| i.name == t.name));
    let names: Vec<&str> = set.tensors.iter().map(|t| t.name.as_str()).collect();
    if by_name {
        for extra in set.tensors.iter().filter(|t| !inputs.iter().any(|i| i.name == t.name)) {
            findings.add(Status::Warn, format!("tensor '{}' in the sample is not a model input (ignored)", extra.name));
        }
    } else if set.tensors.len() != inputs.len() {
        findings.add(
            Status::Fail,
            format!("the sample has {} input tensor(s) and no name matches an input; the model takes {}", set.tensors.len(), inputs.len()),
        );
    } else if set.tensors.iter().any(|t| named_by_user(set, &t.name)) || (inputs.len() > 1 && is_array_file(set)) {
        // One unnamed array for a one-input model is unambiguous; anything else by position is not.
        let wanted: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        findings.note(
            Status::Warn,
            format!(
                "tensors matched by position: no tensor is named after an input (the sample has {}; the model takes {}); name them after the inputs",
                names.join(", "),
                wanted.join(", ")
            ),
        );
    }
    let mut batch = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let tensor = if by_name { set.tensors.iter().find(|t| t.name == input.name) } else { set.tensors.get(index) };
        let Some(tensor) = tensor else {
            findings.add(Status::Fail, format!("missing tensor for input '{}' ({}); the sample has: {}", input.name, input.kind, names.join(", ")));
            continue;
        };
        let Some((element, dims)) = input.kind.as_tensor() else {
            findings.add(Status::Fail, format!("input '{}' is a {}; ready feeds tensors only", input.name, input.kind));
            continue;
        };
        let shape = tensor.data.shape();
        let fits = shape.len() == dims.len() && dims.iter().zip(shape).all(|(d, &s)| d.fixed().is_none_or(|n| n == s as i64));
        if !fits {
            findings.add(Status::Fail, format!("input '{}': shape {shape:?} does not fit {}", input.name, input.kind));
            continue;
        }
        let data = tensor_values(input, &tensor.data, element, set.untyped, rules, &mut findings);
        batch.extend(data.map(|data| NamedTensor { name: input.name.clone(), data }));
    }
    let failed = findings.blocked();
    Binding {
        mode: Mode::TestDataSet { dir: set.dir.display().to_string(), by_name },
        findings: findings.0,
        batch: if failed { None } else { Some(batch) },
    }
}

/// Whether a tensor's name was chosen by whoever wrote the sample: a named `.npz` member or
/// JSON key, not numpy's `arr_0` or a `.npy` file's stem. An ONNX test data set is positional by
/// its own convention (`input_0.pb` feeds the first input), so none of its names count.
fn named_by_user(set: &crate::sample::TensorSample, name: &str) -> bool {
    if !is_array_file(set) {
        return false;
    }
    let is_npy = set.dir.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let default = ["arr_", "input_"].iter().any(|p| name.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())));
    !is_npy && !name.is_empty() && !default
}

/// Whether the sample is a `.npy`/`.npz`/JSON file (not an ONNX test data set).
fn is_array_file(set: &crate::sample::TensorSample) -> bool {
    matches!(crate::sample::SampleFormat::from_path(&set.dir), Some(crate::sample::SampleFormat::Numpy | crate::sample::SampleFormat::Json))
}

/// How one sample tensor is judged: which input, what it is called in messages, where its
/// elements sit in the file's tensor, and whether its type already is the input's.
struct TensorPart<'a> {
    /// `input 'x'`, or `input 'x' column 2` for one feature of a table given as a tensor.
    label: String,
    /// Where element `k` of the part sits in the sample's tensor (`[r, 2]`).
    at: &'a dyn Fn(usize) -> String,
    /// The source type for messages (`float64`, `JSON`), `None` when it is the input's type.
    source: Option<String>,
    judge: Judge,
}

/// The values of one sample tensor for its input: a table given as a 2-D tensor (the graph knows
/// its columns) is judged column by column, against each column's Scaler like a CSV, and its
/// column order is unverifiable; any other tensor is judged whole. A tensor of the input's type
/// is fed as it is, unless it holds NaN.
fn tensor_values(
    input: &IoSpec,
    data: &TensorData,
    element: ElementType,
    json: bool,
    rules: &Rules<'_>,
    findings: &mut Findings,
) -> Option<TensorData> {
    let source = (data.element_type() != element).then(|| if json { "JSON".to_string() } else { data.element_type().to_string() });
    let shape = data.shape().to_vec();
    let width = if shape.len() == 2 { shape[1] } else { 0 };
    let tabular = width > 1 && (0..width).any(|j| rules.domain.column(&input.name, j).is_some());
    if !tabular {
        let at = |flat: usize| crate::inputs::tensor_values::index_text(flat, &shape);
        let part = TensorPart { label: format!("input '{}'", input.name), at: &at, source, judge: Judge { tolerance: rules.tolerance, scale: None } };
        return convert_tensor(&part, data, element, findings);
    }
    findings.note(
        rules.positional,
        format!("input '{}': the sample gives its {width} columns as a tensor, matched by position: {POSITIONAL_TENSOR}", input.name),
    );
    let columns: Vec<TensorData> = (0..width).filter_map(|j| data.slice_columns(j, j + 1)).collect();
    let named: Vec<(String, Vec<f64>)> = columns
        .iter()
        .enumerate()
        .map(|(j, c)| (format!("{j}"), f64_values(crate::inputs::tensor_values::convert(c, ElementType::Float64, Judge::default()).values)))
        .collect();
    if let Some(text) = misplaced_columns(&named, &input.name, rules.domain) {
        // Judging each column against another column's Scaler would only blame rounding.
        findings.add(Status::Fail, text);
        return None;
    }
    let mut parts = Vec::new();
    for (j, column) in columns.iter().enumerate() {
        let at = move |row: usize| format!("[{row}, {j}]");
        let scale = rules.domain.column(&input.name, j).and_then(|c| c.scaler).map(|(_, std)| std);
        let part = TensorPart {
            label: format!("input '{}' column {j}", input.name),
            at: &at,
            source: source.clone(),
            judge: Judge { tolerance: rules.tolerance, scale },
        };
        parts.extend(convert_tensor(&part, column, element, findings));
    }
    if parts.len() == width { stack_columns(parts) } else { None }
}

/// Told when a table arrives as a 2-D tensor (`.npy`, `.npz`, JSON): arrays carry no column names.
const POSITIONAL_TENSOR: &str = "arrays carry no column names, so their order cannot be verified; give the sample as CSV or Parquet with \
     named columns and record the order in checks.schema_parity.feature_names";

/// Converts a sample tensor into its input's element type by the rule columns follow (values,
/// not the file's type, decide) and records what happened to its values.
fn convert_tensor(part: &TensorPart<'_>, data: &TensorData, element: ElementType, findings: &mut Findings) -> Option<TensorData> {
    let conversion = crate::inputs::tensor_values::convert(data, element, part.judge);
    let (label, at, total, tolerance) = (&part.label, part.at, data.len(), part.judge.tolerance);
    let source = part.source.as_deref();
    match (&conversion.safety, source) {
        (Safety::Exact, None | Some("JSON")) => {}
        (Safety::Exact, Some(source)) => findings.add(Status::Pass, format!("{label}: {source} values convert exactly to {element}")),
        (Safety::Rounded(_), None) => {}
        (Safety::Rounded(r), Some(source)) if r.value.is_infinite() => findings.add(
            Status::Pass,
            format!("{label}: {source} values round into {element} within the tolerance {tolerance:e}; {}", infinite_text(r, &at(r.row))),
        ),
        (Safety::Rounded(r), Some(source)) => findings.add(
            Status::Pass,
            format!("{label}: {source} values round into {element} by at most {:.1e} of {} (tolerance {tolerance:e})", r.relative, spread_text(r)),
        ),
        (Safety::Lossy(r), _) => {
            let what = match r.spread {
                Some(_) => format!("changes by {:.1e} of {} (tolerance {tolerance:e})", r.relative, spread_text(r)),
                None if r.value.fract() != 0.0 => "has a fraction".to_string(),
                None => "does not fit".to_string(),
            };
            findings.note(
                Status::Fail,
                format!(
                    "{label}: value {} at {} {what}: {element} makes it {}; {} of {total} values",
                    r.value_text(),
                    at(r.row),
                    r.becomes_text(),
                    r.affected
                ),
            );
        }
        (Safety::Missing(m), _) => {
            findings.add(Status::Fail, format!("{label}: NaN at {} ({} of {total} values); a sample holds real values", at(m.row), m.count))
        }
        (Safety::Incompatible(why), _) => findings.add(Status::Fail, format!("{label} ({element}): {} values: {why}", source.unwrap_or("its"))),
    }
    conversion.values
}

/// The worst "rounding" was an infinite value (its error inf - inf is NaN): it stays infinite.
fn infinite_text(r: &Rounding, at: &str) -> String {
    format!("the value {} at {at} is infinite and stays infinite", r.value_text())
}

/// What a tensor's rounding error was measured against.
fn spread_text(r: &Rounding) -> String {
    match r.spread {
        Some(spread @ crate::sample::Spread::ScalerStd(_)) => spread.to_string(),
        _ => "the values' spread".to_string(),
    }
}

/// Converts one column and records what happened to its values.
fn convert_column(sample: &Sample, column: &str, input: &IoSpec, index: usize, rules: &Rules<'_>, findings: &mut Findings) -> Option<TensorData> {
    let (element, _) = input.kind.as_tensor()?;
    let scale = rules.domain.column(&input.name, index).and_then(|c| c.scaler).map(|(_, std)| std);
    let conversion = sample.convert(column, element, Judge { tolerance: rules.tolerance, scale });
    let source = sample.frame.column(column).map(|c| dtype_name(c.dtype())).unwrap_or_default();
    match &conversion.safety {
        Safety::Exact if source != element.name() => findings.exact(column, source, element),
        Safety::Exact => {}
        Safety::Rounded(r) if r.value.is_infinite() => findings.add(
            Status::Pass,
            format!(
                "column '{column}': values round into {element} within the tolerance {:e}; {}",
                rules.tolerance,
                infinite_text(r, &format!("row {}", r.row))
            ),
        ),
        Safety::Rounded(r) => findings.add(
            Status::Pass,
            format!(
                "column '{column}': values round into {element} by at most {:.1e} of {} (tolerance {:e})",
                r.relative,
                describe_spread(r),
                rules.tolerance
            ),
        ),
        Safety::Lossy(r) => findings.note(Status::Fail, lossy_text(column, element, r, rules.tolerance)),
        Safety::Missing(m) => findings.add(Status::Fail, missing_text(column, element, m, sample.rows(), rules.domain)),
        Safety::Incompatible(why) => findings.add(Status::Fail, format!("column '{column}': wrong type for input '{}': {why}", input.name)),
    }
    conversion.values
}

fn describe_spread(r: &Rounding) -> String {
    r.spread.map_or_else(|| "the value".to_string(), |s| s.to_string())
}

fn lossy_text(column: &str, element: ElementType, r: &Rounding, tolerance: f64) -> String {
    let (value, becomes) = (r.value_text(), r.becomes_text());
    let what = match r.spread {
        Some(spread) => format!(
            "row {} value {value} becomes {becomes} in {element} (error {} = {:.1e} of {spread}; tolerance {tolerance:e})",
            r.row,
            r.error_text(),
            r.relative
        ),
        None if r.value.fract() != 0.0 => format!("row {} value {value} has a fraction: {element} makes it {becomes}", r.row),
        None => format!("row {} value {value} does not fit {element} (becomes {becomes})", r.row),
    };
    format!("column '{column}': {what}; {} of {} rows", r.affected, r.rows)
}

fn missing_text(column: &str, element: ElementType, m: &Missing, rows: usize, domain: &GraphDomain) -> String {
    let nan = if !element.is_float() {
        format!("a {element} input cannot hold NaN")
    } else {
        match domain.takes_nan() {
            Some(step) => format!("the model can take NaN ({step})"),
            None => "the model has no step that handles NaN (no Imputer)".to_string(),
        }
    };
    format!("column '{column}': missing value in row {} ({} of {rows} rows); {nan}", m.row, m.count)
}

fn bind_per_column(sample: &Sample, inputs: &[IoSpec], columns: &[String], rules: &Rules<'_>, findings: &mut Findings) -> Option<Batch> {
    let mut batch = Vec::new();
    for input in inputs {
        let Some((_, dims)) = input.kind.as_tensor() else {
            findings.add(Status::Fail, format!("input '{}' is a {}; a column cannot feed it", input.name, input.kind));
            continue;
        };
        if !columns.contains(&input.name) {
            findings.add(Status::Fail, format!("missing column '{}' (model input {})", input.name, input.kind));
            continue;
        }
        let per_row_ok = match dims {
            [_] => true,
            [_, d] => d.fixed().is_none_or(|n| n == 1),
            _ => false,
        };
        if !per_row_ok {
            findings.add(Status::Fail, format!("input '{}' is {}: one column holds one value per row", input.name, input.kind));
            continue;
        }
        if let Some(values) = convert_column(sample, &input.name, input, 0, rules, findings) {
            let data = if dims.len() == 2 { insert_column_axis(values) } else { values };
            batch.push(NamedTensor { name: input.name.clone(), data });
        }
    }
    for extra in columns.iter().filter(|c| !inputs.iter().any(|i| &&i.name == c)) {
        findings.add(Status::Warn, format!("extra column '{extra}' is not a model input (ignored)"));
    }
    if findings.blocked() { None } else { Some(batch) }
}

fn bind_single(
    sample: &Sample,
    input: &IoSpec,
    columns: &[String],
    named: Option<(&[String], NamesFrom)>,
    rules: &Rules<'_>,
    findings: &mut Findings,
) -> (Mode, Option<Batch>) {
    let (_, dims) = input.kind.as_tensor().expect("checked by caller");
    let width = dims[1].fixed();
    let (names_from, used): (NamesFrom, Vec<String>) = match named {
        Some((names, from)) => (from, names.to_vec()),
        None => (NamesFrom::Position, columns.to_vec()),
    };
    let mode = Mode::SingleTensor { input: input.name.clone(), names_from };
    if names_from == NamesFrom::Position {
        findings.0.push(Finding { status: rules.positional, text: POSITIONAL.to_string(), blocks: false, headline: Some(POSITIONAL_HEADLINE) });
    }
    if let Some(width) = width
        && used.len() as i64 != width
    {
        let what = if names_from == NamesFrom::Position { "the sample has" } else { "feature_names lists" };
        findings.add(Status::Fail, format!("{what} {} columns; input '{}' ({}) takes {width}", used.len(), input.name, input.kind));
        return (mode, None);
    }
    if names_from != NamesFrom::Position {
        for name in used.iter().filter(|n| !columns.contains(n)) {
            findings.add(Status::Fail, format!("missing column '{name}' (feature of input '{}')", input.name));
        }
        for extra in columns.iter().filter(|c| !used.contains(c)) {
            findings.add(Status::Warn, format!("extra column '{extra}' is not a model feature (ignored)"));
        }
        let sample_order: Vec<&String> = columns.iter().filter(|c| used.contains(c)).collect();
        let model_order: Vec<&String> = used.iter().filter(|n| columns.contains(n)).collect();
        if sample_order != model_order {
            findings.add(Status::Fail, moved_text(&sample_order, &model_order));
        }
    }
    if names_from == NamesFrom::Position
        && let Some(text) = misplaced_columns(
            &used.iter().map(|c| (c.clone(), f64_values(sample.convert(c, ElementType::Float64, Judge::default()).values))).collect::<Vec<_>>(),
            &input.name,
            rules.domain,
        )
    {
        findings.add(Status::Fail, text);
    }
    if findings.blocked() {
        return (mode, None);
    }
    let mut parts = Vec::new();
    for (index, name) in used.iter().enumerate() {
        if let Some(values) = convert_column(sample, name, input, index, rules, findings) {
            parts.push(insert_column_axis(values));
        }
    }
    if findings.blocked() {
        return (mode, None);
    }
    let stacked = stack_columns(parts);
    (mode, stacked.map(|data| vec![NamedTensor { name: input.name.clone(), data }]))
}

/// How far (in training standard deviations) a column must sit from its position's Scaler mean,
/// and how close to another position's, before columns matched by position are called out of order.
const MISPLACED_STDS: f64 = 10.0;
const FITS_STDS: f64 = 3.0;

/// Pairs of columns matched by position that fit each other's Scaler far better than their
/// own: together they sit more than [`MISPLACED_STDS`] training standard deviations from their
/// positions' Scaler means, and swapped within [`FITS_STDS`] each. The sample's columns are
/// then in another order than the model's features, a failure that rounding or types would
/// otherwise be blamed for. A column far from its Scaler that no swap explains (a units
/// mistake) is not called out of order. `columns` are (name, values) in position order.
fn misplaced_columns(columns: &[(String, Vec<f64>)], input: &str, domain: &GraphDomain) -> Option<String> {
    let scalers: Vec<Option<(f64, f64)>> =
        (0..columns.len()).map(|i| domain.column(input, i).and_then(|c| c.scaler).filter(|(_, std)| *std > 0.0)).collect();
    // The median distance of a column's values from position `at`'s Scaler mean, in its stds.
    let cost = |column: usize, at: usize| -> Option<f64> {
        let (mean, std) = scalers[at]?;
        let mut d: Vec<f64> = columns[column].1.iter().filter(|v| v.is_finite()).map(|v| (v - mean).abs() / std).collect();
        d.sort_by(f64::total_cmp);
        d.get(d.len() / 2).copied()
    };
    let mut swaps: Vec<(f64, usize, usize)> = Vec::new();
    for i in 0..columns.len() {
        for j in i + 1..columns.len() {
            let (Some(ii), Some(jj), Some(ij), Some(ji)) = (cost(i, i), cost(j, j), cost(i, j), cost(j, i)) else { continue };
            if ii + jj > MISPLACED_STDS && ij <= FITS_STDS && ji <= FITS_STDS {
                swaps.push((ii + jj - ij - ji, i, j));
            }
        }
    }
    swaps.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut taken = vec![false; columns.len()];
    let mut moved = Vec::new();
    for (_, i, j) in swaps {
        if taken[i] || taken[j] {
            continue;
        }
        (taken[i], taken[j]) = (true, true);
        for (here, other) in [(i, j), (j, i)] {
            let (mean, _) = scalers[here].expect("costed");
            moved.push((
                here,
                format!(
                    "column '{}' (position {here}) lies {} training stds from feature {here}'s Scaler mean {}, and {:.1} from feature {other}'s",
                    columns[here].0,
                    stds(cost(here, here).unwrap_or_default()),
                    short((mean * 1e4).round() / 1e4),
                    cost(here, other).unwrap_or_default()
                ),
            ));
        }
    }
    moved.sort_by_key(|(position, _)| *position);
    (!moved.is_empty()).then(|| {
        let listed: Vec<String> = moved.into_iter().map(|(_, text)| text).collect();
        format!(
            "the sample's columns look out of the model's feature order (matched by position): {}; list the order in checks.schema_parity.feature_names",
            listed.join("; ")
        )
    })
}

/// A number of standard deviations for messages: `3.1`, `2.8e3`.
fn stds(v: f64) -> String {
    if v < 1000.0 { format!("{v:.1}") } else { format!("{v:.1e}") }
}

/// Values converted to float64 as a plain list (empty when they did not convert: not numbers).
fn f64_values(converted: Option<TensorData>) -> Vec<f64> {
    match converted {
        Some(TensorData::F64(values)) => values.into_raw_vec_and_offset().0,
        _ => Vec::new(),
    }
}

/// The first finding of `status` (and how many there are), for a summary line.
fn headline(findings: &[Finding], status: Status) -> String {
    let problems: Vec<&Finding> = findings.iter().filter(|f| f.status == status).collect();
    let first = problems.first().map_or(String::new(), |f| f.headline.map_or_else(|| f.text.clone(), str::to_string));
    if problems.len() > 1 { format!("{} problems: {first}", problems.len()) } else { first }
}

/// The summary line's form of [`POSITIONAL`].
const POSITIONAL_HEADLINE: &str = "columns matched by position (order unverified)";

/// What a single-tensor model whose columns are matched by position is told.
pub const POSITIONAL: &str = "columns matched by position: no feature_names in config or model metadata, so their order cannot be verified; \
     record it in checks.schema_parity.feature_names (`ready init MODEL --sample FILE` writes it) or in the exporter's feature_names metadata";

/// Which columns sit at another position in the sample than in the model's feature order.
fn moved_text(sample_order: &[&String], model_order: &[&String]) -> String {
    let moved: Vec<String> = model_order
        .iter()
        .enumerate()
        .filter_map(|(feature, name)| {
            let at = sample_order.iter().position(|c| c == name)?;
            (at != feature).then(|| format!("'{name}' is sample column {at}, model feature {feature}"))
        })
        .collect();
    let shown: Vec<&str> = moved.iter().take(4).map(String::as_str).collect();
    let more = if moved.len() > 4 { format!(" and {} more", moved.len() - 4) } else { String::new() };
    format!("{} column(s) moved from the model's feature order: {}{more}", moved.len(), shown.join("; "))
}

fn insert_column_axis(values: TensorData) -> TensorData {
    macro_rules! go {
        ($($v:ident),*) => {
            match values { $(TensorData::$v(a) => TensorData::$v(a.insert_axis(Axis(1))),)* }
        };
    }
    go!(F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool, Str)
}

fn stack_columns(parts: Vec<TensorData>) -> Option<TensorData> {
    macro_rules! go {
        ($($v:ident),*) => {
            match parts.first()? {
                $(TensorData::$v(_) => {
                    let views: Vec<_> = parts.iter().filter_map(|p| match p { TensorData::$v(a) => Some(a.view()), _ => None }).collect();
                    TensorData::$v(concatenate(Axis(1), &views).ok()?)
                })*
            }
        };
    }
    Some(go!(F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool, Str))
}

/// Applies a static batch dimension: uses the first B rows, or fails when there are fewer.
fn fit_batch_dim(batch: Batch, inputs: &[IoSpec], findings: &mut Findings) -> Batch {
    let rows = batch_rows(&batch);
    let fixed = inputs.iter().filter_map(|i| i.kind.as_tensor()).filter_map(|(_, dims)| dims.first().and_then(Dim::fixed)).min();
    match fixed {
        Some(b) if (b as usize) < rows => {
            findings.add(Status::Pass, format!("static batch size {b}: fed the first {b} of {rows} rows"));
            slice_batch(&batch, 0, b as usize)
        }
        Some(b) if (b as usize) > rows => {
            findings.add(Status::Fail, format!("the model takes batches of exactly {b} rows; the sample has {rows}"));
            batch
        }
        _ => batch,
    }
}

impl Check for SchemaParity {
    fn id(&self) -> &'static str {
        "schema_parity"
    }

    fn description(&self) -> &'static str {
        "the sample's columns match the model inputs in name, order, type and shape"
    }

    fn explanation(&self) -> &'static str {
        "What: compares the columns of --sample (CSV, Parquet, JSON) with the model's inputs: a missing \
         column fails, an extra column warns, a column order that differs from the model's feature order \
         fails, and columns matched by position (no feature names known) warn (`positional_columns`). \
         Types are judged on the values, the same for every format: into an integer input every value \
         must convert exactly; into a float input the largest rounding error divided by the column's \
         spread (std or IQR; a Scaler's training std) must stay under `float_tolerance` (1e-4). A failure \
         names the column, the row, the value and what it becomes; rounded values still run, so golden \
         parity shows their effect. Missing values fail naming their row. Then it runs the model on the \
         sample and shows the prediction.\n\
         Why: training/serving skew starts here: a renamed column, a reordered feature vector or epoch \
         seconds rounded to float32 steps of 128 s produce confident, wrong predictions.\n\
         Fix: make the serving payload's columns, order and types match the model's inputs, or re-export \
         the model with the input types the serving side sends (float64, or rescaled columns). For \
         single-tensor models, record the feature order in the model metadata (`feature_names`) or in \
         the config (`ready init MODEL --sample FILE` writes it)."
    }

    fn runs_model(&self) -> bool {
        true
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        if !ctx.has_sample() {
            return Outcome::skip("no --sample given");
        }
        let runner = match ctx.runner() {
            Ok(r) => r,
            Err(skip) => return skip,
        };
        let binding = ctx.binding().expect("sample and runner are present");
        let details: Vec<String> = binding.findings.iter().map(|f| format!("{}: {}", f.status.name(), f.text)).collect();
        let mode = match &binding.mode {
            Mode::PerColumn => format!("{} input(s) matched by column name", runner.inputs().len()),
            Mode::TestDataSet { dir, by_name } => {
                format!("{} input(s) from {dir} (by {})", runner.inputs().len(), if *by_name { "name" } else { "position" })
            }
            Mode::SingleTensor { input, names_from } => {
                let from = match names_from {
                    NamesFrom::Config => "config feature_names",
                    NamesFrom::ModelMetadata => "model metadata",
                    NamesFrom::Position => "column position",
                };
                let width = binding.batch.as_ref().and_then(|b| b.first()).and_then(|t| t.data.shape().get(1).copied());
                match width {
                    Some(w) => format!("input '{input}' built from {w} columns ({from})"),
                    None => format!("input '{input}' from columns by {from}"),
                }
            }
        };
        let status = binding.worst();
        let (rows, columns) = match (ctx.sample, ctx.tensors) {
            (Some(sample), _) => (sample.rows(), sample.columns().len()),
            (None, Some(set)) => (binding.batch.as_ref().map_or(0, batch_rows), set.tensors.len()),
            (None, None) => (0, 0),
        };
        let base = |o: Outcome| o.with_metric("rows", rows).with_metric("columns", columns);
        let Some(batch) = binding.batch.clone() else {
            return base(Outcome::fail(headline(&binding.findings, Status::Fail))).with_details(details);
        };
        let outputs = match runner.run(&batch) {
            Ok(outputs) => outputs,
            Err(error) => {
                // The summary is bounded; the runtime's whole reason goes to the details.
                let reason = super::empty_batch::first_line(&error.message);
                return base(Outcome::fail(format!("inference on the sample failed: {reason}")))
                    .with_details(details)
                    .with_details([format!("the runtime said: {}", super::one_line(&error.message, 4000))]);
            }
        };
        // NaN/Inf in the predictions is output_sanity's finding, not a schema problem.
        let mut details = details;
        for output in &outputs {
            details.push(format!("prediction {} = {}", output.name, output.value.preview(3)));
        }
        let first = outputs.first().map(|o| format!("; {} = {}", o.name, o.value.preview(3))).unwrap_or_default();
        let summary = format!("{mode}; {rows} row(s) ran{first}");
        let outcome = match status {
            // The values ran converted: the failure leads; the details show the prediction.
            Status::Fail => Outcome::fail(headline(&binding.findings, Status::Fail)),
            Status::Warn => Outcome::warn(format!("{}; {summary}", headline(&binding.findings, Status::Warn))),
            _ => Outcome::pass(summary),
        };
        base(outcome).with_details(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame};

    #[test]
    fn exact_conversions_are_one_line_however_wide_the_model() {
        let columns: Vec<Column> = (0..30).map(|i| Column::new(format!("c{i}").into(), &[17i64, 79, 40])).collect();
        let frame = DataFrame::new(3, columns).unwrap();
        let sample = Sample { path: "rows.parquet".into(), format: crate::sample::SampleFormat::Parquet, frame, skipped: Vec::new() };
        let inputs = vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(30)])];
        let names: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
        let binding = bind(&sample, &inputs, Some((&names, NamesFrom::Config)), &Rules::default());
        let texts: Vec<&str> = binding.findings.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["columns 'c0', 'c1', 'c2', 'c3', 'c4' and 25 more: int64 values convert exactly to float32"]);
        assert!(binding.batch.is_some());
    }
}
