//! Golden parity: the model's outputs on the sample match reference outputs (`--expected`),
//! typically the training pipeline's own predictions: the training/serving skew check.
//!
//! A table (CSV/Parquet/JSON) has one row per sample row and columns named after outputs:
//! `label` (one value per row), `probabilities[1]` (element 1 of a row), or
//! `output_probability.1` (key 1 of a ZipMap row). A test data set folder holds `output_*.pb`
//! tensors matched to outputs by name or position. Labels, integers and strings are compared
//! exactly; floats within `atol + rtol·|expected|`.

use polars::prelude::AnyValue;

use super::{AuditContext, Check, Outcome};
use crate::compare::{Scalar, close, first_mismatch, max_abs_diff, row_scalars, tensor_scalars};
use crate::runtime::tensor::batch_rows;
use crate::runtime::{NamedOutput, OutputValue};
use crate::sample::{Expected, Sample};

pub struct GoldenParity;

impl Check for GoldenParity {
    fn id(&self) -> &'static str {
        "golden_parity"
    }

    fn description(&self) -> &'static str {
        "outputs on the sample match the reference outputs given with --expected"
    }

    fn explanation(&self) -> &'static str {
        "What: runs the model on --sample and compares its outputs with --expected: a CSV/Parquet/JSON \
         file with one row per sample row (columns `label`, `probabilities[1]` for element 1 of a row, \
         `output_probability.1` for key 1 of a ZipMap row), or an ONNX test data set folder \
         (output_0.pb, ...). Labels, integers and strings must match exactly, floats within \
         atol + rtol·|expected| (checks.golden_parity).\n\
         Why: this is the training/serving skew check: the exported model must predict what the \
         training pipeline predicted for the same rows. Conversion bugs (a dropped preprocessing step, \
         float64 → float32 rounding at a tree threshold, a different category order) show up here.\n\
         Fix: compare the pipeline step by step (skl2onnx's `intermediate` outputs), keep float64 where \
         thresholds are sensitive (`options={'cast': False}` / `zipmap`), and regenerate the expected file \
         from the same pipeline object that was exported."
    }

    fn runs_model(&self) -> bool {
        true
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let Some(expected) = ctx.expected else {
            return Outcome::skip("no --expected given");
        };
        let runner = match ctx.runner() {
            Ok(r) => r,
            Err(skip) => return skip,
        };
        let Some(batch) = ctx.binding().and_then(|b| b.batch.clone()) else {
            return Outcome::skip("no sample that binds to the model (see schema_parity): nothing to compare");
        };
        let outputs = match runner.run(&batch) {
            Ok(o) => o,
            Err(e) => return Outcome::fail(format!("inference on the sample failed: {}", super::empty_batch::first_line(&e.message))),
        };
        let config = &ctx.config.checks.golden_parity;
        let comparison = match expected {
            Expected::Tensors { tensors, .. } => compare_tensors(&outputs, tensors, config.atol, config.rtol),
            Expected::Table(table) => compare_table(&outputs, table, batch_rows(&batch), config.atol, config.rtol),
        };
        let Comparison { compared, mismatches, notes, max_diff, uncompared, differing } = match comparison {
            Ok(c) => c,
            // The summary is bounded; the details keep the whole problem (every valid column).
            Err(problem) => return Outcome::fail(problem.clone()).with_details([problem]),
        };
        let mut details = notes;
        details.push(format!("tolerance: atol {}, rtol {}; labels and strings exact", config.atol, config.rtol));
        let left_out = if uncompared.is_empty() { String::new() } else { format!("; {} not in the expected file", uncompared.join(", ")) };
        if !uncompared.is_empty() {
            details.push(format!("not compared: {}", uncompared.join(", ")));
        }
        if compared == 0 {
            Outcome::fail(format!("no value was compared{left_out}")).with_details(details).with_metric("compared", 0)
        } else if mismatches.is_empty() {
            Outcome::pass(format!("{compared} value(s) match the expected outputs (max |diff| {max_diff:.3e}){left_out}"))
                .with_details(details)
                .with_metric("compared", compared)
                .with_metric("max_abs_diff", max_diff)
        } else {
            let summary = format!("{differing} of {compared} value(s) differ: {}{left_out}", mismatches[0]);
            details.splice(0..0, mismatches.iter().take(20).cloned());
            Outcome::fail(summary).with_details(details).with_metric("mismatches", differing).with_metric("compared", compared)
        }
    }
}

#[derive(Default)]
struct Comparison {
    compared: usize,
    mismatches: Vec<String>,
    notes: Vec<String>,
    max_diff: f64,
    /// Outputs, or elements and keys of an output, that no expected value addressed.
    uncompared: Vec<String>,
    /// Values that differ (a tensor's mismatch line stands for all of its differing values).
    differing: usize,
}

fn compare_tensors(outputs: &[NamedOutput], expected: &[crate::tensor_proto::NamedProto], atol: f64, rtol: f64) -> Result<Comparison, String> {
    let by_name = expected.iter().all(|e| !e.name.is_empty() && outputs.iter().any(|o| o.name == e.name));
    if !by_name && expected.len() > outputs.len() {
        return Err(format!("{} expected tensors for {} model outputs", expected.len(), outputs.len()));
    }
    let mut result = Comparison::default();
    for (index, reference) in expected.iter().enumerate() {
        let output = if by_name { outputs.iter().find(|o| o.name == reference.name) } else { outputs.get(index) };
        let Some(output) = output else { continue };
        let OutputValue::Tensor(actual) = &output.value else {
            result.notes.push(format!("output '{}' is not a tensor: not compared", output.name));
            continue;
        };
        if actual.shape() != reference.data.shape() {
            result.mismatches.push(format!("output '{}': shape {:?}, expected {:?}", output.name, actual.shape(), reference.data.shape()));
            result.compared += reference.data.len();
            result.differing += reference.data.len();
            continue;
        }
        let (a, e) = (tensor_scalars(actual), tensor_scalars(&reference.data));
        result.compared += e.len();
        result.max_diff = result.max_diff.max(max_abs_diff(&a, &e));
        if let Some(m) = first_mismatch(&a, &e, atol, rtol) {
            let count = a.iter().zip(&e).filter(|(x, y)| !close(x, y, atol, rtol)).count();
            result.mismatches.push(format!("output '{}': {count} value(s) differ, first at {m}", output.name));
            result.differing += count;
        }
    }
    result.notes.push(format!("{} output tensor(s) matched by {}", expected.len(), if by_name { "name" } else { "position" }));
    result.uncompared = outputs
        .iter()
        .enumerate()
        .filter(|(index, o)| if by_name { !expected.iter().any(|e| e.name == o.name) } else { *index >= expected.len() })
        .map(|(_, o)| o.name.clone())
        .collect();
    Ok(result)
}

/// How a table column addresses an output value.
enum Selector {
    Whole,
    Index(usize),
    Key(String),
}

fn resolve_column<'o>(column: &str, outputs: &'o [NamedOutput]) -> Option<(&'o NamedOutput, Selector)> {
    if let Some(output) = outputs.iter().find(|o| o.name == column) {
        return Some((output, Selector::Whole));
    }
    if let Some(open) = column.rfind('[')
        && column.ends_with(']')
        && let Ok(index) = column[open + 1..column.len() - 1].parse()
        && let Some(output) = outputs.iter().find(|o| o.name == column[..open])
    {
        return Some((output, Selector::Index(index)));
    }
    let dot = column.rfind('.')?;
    let output = outputs.iter().find(|o| o.name == column[..dot])?;
    Some((output, Selector::Key(column[dot + 1..].to_string())))
}

/// Whether each row of `output` is a map (a ZipMap: columns name keys, `NAME.key`).
fn is_map(output: &NamedOutput) -> bool {
    matches!(&output.value, OutputValue::Sequence(items) if matches!(items.first(), Some(OutputValue::Map(_))))
}

/// Every column name that addresses one value of a row of `output`, from its first row.
fn valid_columns(output: &NamedOutput) -> Vec<String> {
    let name = &output.name;
    match &output.value {
        OutputValue::Sequence(items) => match items.first() {
            Some(OutputValue::Map(entries)) => entries.iter().map(|(key, _)| format!("{name}.{key}")).collect(),
            _ => vec![name.clone()],
        },
        OutputValue::Tensor(_) => match row_scalars(&output.value, 0).map_or(1, |row| row.len()) {
            0 | 1 => vec![name.clone()],
            n => (0..n).map(|i| format!("{name}[{i}]")).collect(),
        },
        _ => Vec::new(),
    }
}

/// A column form is wrong for its output (an index on a map, a key on a tensor): the form to use.
fn wrong_form(column: &str, output: &NamedOutput, selector: &Selector) -> Option<String> {
    let name = &output.name;
    match selector {
        Selector::Index(i) if is_map(output) => {
            let valid = valid_columns(output);
            let same_key = format!("{name}.{i}");
            let suggestion = if valid.contains(&same_key) { same_key } else { valid.get(*i).cloned().unwrap_or(same_key) };
            Some(format!("column '{column}': '{name}' is a map per row (ZipMap), name its keys: use '{suggestion}'"))
        }
        Selector::Key(key) if !is_map(output) => {
            let index = key.parse::<usize>().ok()?;
            Some(format!("column '{column}': '{name}' is a tensor, name its elements by position: use '{name}[{index}]'"))
        }
        _ => None,
    }
}

/// The valid column nearest to `column`: the same name written in another form
/// (`p[0]` for `p.0`), else the closest spelling.
fn nearest<'a>(column: &str, valid: &'a [String]) -> Option<&'a String> {
    let canonical = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let wanted = canonical(column);
    if let Some(same) = valid.iter().find(|v| canonical(v) == wanted) {
        return Some(same);
    }
    let (best, distance) = valid.iter().map(|v| (v, edit_distance(&wanted, &canonical(v)))).min_by_key(|(_, d)| *d)?;
    (distance <= wanted.chars().count().div_ceil(3).max(2)).then_some(best)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            current.push((previous[j] + usize::from(ca != *cb)).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The error for a column that names no output, with the nearest valid form.
fn unknown_column(shown: &str, column: &str, outputs: &[NamedOutput]) -> String {
    let valid: Vec<String> = outputs.iter().flat_map(valid_columns).collect();
    let hint = nearest(column, &valid).map_or(String::new(), |v| format!("; did you mean '{v}'?"));
    let listed: Vec<&str> = valid.iter().take(6).map(String::as_str).collect();
    let more = if valid.len() > 6 { format!(", and {} more", valid.len() - 6) } else { String::new() };
    format!("{shown}: column '{column}' names no model output{hint} (valid columns: {}{more})", listed.join(", "))
}

fn cell(value: AnyValue<'_>) -> Option<Scalar> {
    Some(match value {
        AnyValue::Null => return None,
        AnyValue::Boolean(b) => Scalar::Bool(b),
        AnyValue::Float32(v) => Scalar::Float(f64::from(v)),
        AnyValue::Float64(v) => Scalar::Float(v),
        AnyValue::Int8(v) => Scalar::Int(v.into()),
        AnyValue::Int16(v) => Scalar::Int(v.into()),
        AnyValue::Int32(v) => Scalar::Int(v.into()),
        AnyValue::Int64(v) => Scalar::Int(v.into()),
        AnyValue::UInt8(v) => Scalar::Int(v.into()),
        AnyValue::UInt16(v) => Scalar::Int(v.into()),
        AnyValue::UInt32(v) => Scalar::Int(v.into()),
        AnyValue::UInt64(v) => Scalar::Int(v.into()),
        AnyValue::String(s) => Scalar::Text(s.to_string()),
        AnyValue::StringOwned(s) => Scalar::Text(s.to_string()),
        other => Scalar::Text(other.to_string()),
    })
}

fn select(row: &[Scalar], selector: &Selector) -> Result<Scalar, String> {
    match selector {
        Selector::Whole if row.len() == 1 => Ok(row[0].clone()),
        Selector::Whole => Err(format!("{} values per row; name one column per value (NAME[0], NAME.key)", row.len())),
        Selector::Index(i) => row.get(*i).cloned().ok_or_else(|| format!("index {i} is past the {} values of a row", row.len())),
        Selector::Key(key) => row
            .chunks(2)
            .find(|pair| matches!(&pair[0], Scalar::Text(k) if k == key))
            .and_then(|pair| pair.get(1).cloned())
            .ok_or_else(|| format!("no key '{key}' in the row's map")),
    }
}

fn compare_table(outputs: &[NamedOutput], table: &Sample, rows: usize, atol: f64, rtol: f64) -> Result<Comparison, String> {
    let shown = table.path.display();
    if table.rows() != rows {
        return Err(format!("{shown} has {} row(s); the sample ran {rows}", table.rows()));
    }
    let mut result = Comparison::default();
    let mut matched_columns = 0;
    let mut addressed: Vec<String> = Vec::new();
    for column in table.frame.columns() {
        let name = column.name().to_string();
        let Some((output, selector)) = resolve_column(&name, outputs) else {
            return Err(unknown_column(&shown.to_string(), &name, outputs));
        };
        if let Some(problem) = wrong_form(&name, output, &selector) {
            return Err(format!("{shown}: {problem}"));
        }
        addressed.push(match &selector {
            Selector::Whole => output.name.clone(),
            _ => name.clone(),
        });
        matched_columns += 1;
        for row in 0..rows {
            let values = row_scalars(&output.value, row).ok_or_else(|| format!("output '{}' has no row {row}", output.name))?;
            let actual = select(&values, &selector).map_err(|e| format!("{shown}: column '{name}': {e}"))?;
            let expected = column.get(row).ok().and_then(cell).ok_or_else(|| format!("{shown}: column '{name}' row {row} is empty"))?;
            result.compared += 1;
            result.max_diff = result.max_diff.max(max_abs_diff(std::slice::from_ref(&actual), std::slice::from_ref(&expected)));
            if !close(&actual, &expected, atol, rtol) {
                result.mismatches.push(format!("{name} row {row}: got {actual}, expected {expected}"));
                result.differing += 1;
            }
        }
    }
    result.notes.push(format!("{matched_columns} column(s) of {shown} against {rows} sample row(s)"));
    result.uncompared = uncompared(outputs, &addressed);
    Ok(result)
}

/// Outputs no column addressed, and the elements or keys left out of outputs that some did.
fn uncompared(outputs: &[NamedOutput], addressed: &[String]) -> Vec<String> {
    let mut left = Vec::new();
    for output in outputs {
        if addressed.contains(&output.name) {
            continue;
        }
        let valid = valid_columns(output);
        let missing: Vec<&String> = valid.iter().filter(|v| !addressed.contains(v)).collect();
        if missing.len() == valid.len() {
            left.push(output.name.clone());
        } else if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(3).map(|s| s.as_str()).collect();
            let more = if missing.len() > 3 { format!(" and {} more", missing.len() - 3) } else { String::new() };
            left.push(format!("{}{more}", shown.join(", ")));
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::all_scalars;
    use crate::runtime::TensorData;

    #[test]
    fn columns_address_whole_values_elements_and_map_keys() {
        let outputs = vec![
            NamedOutput { name: "label".into(), value: OutputValue::Tensor(TensorData::filled(crate::runtime::ElementType::Int64, &[2]).unwrap()) },
            NamedOutput { name: "p".into(), value: OutputValue::Sequence(vec![OutputValue::Map(vec![("1".into(), 0.5)])]) },
        ];
        assert!(matches!(resolve_column("label", &outputs), Some((_, Selector::Whole))));
        assert!(matches!(resolve_column("label[0]", &outputs), Some((_, Selector::Index(0)))));
        assert!(matches!(resolve_column("p.1", &outputs), Some((_, Selector::Key(k))) if k == "1"));
        assert!(resolve_column("nope", &outputs).is_none());
        let row = all_scalars(&OutputValue::Map(vec![("0".into(), 0.25), ("1".into(), 0.75)]));
        assert_eq!(select(&row, &Selector::Key("1".into())).unwrap(), Scalar::Float(0.75));
        assert!(select(&row, &Selector::Whole).unwrap_err().contains("4 values per row"));
    }

    #[test]
    fn wrong_forms_and_unknown_columns_suggest_the_valid_form() {
        let probabilities = TensorData::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[1, 2]), vec![0.25, 0.75]).unwrap());
        let outputs = vec![
            NamedOutput { name: "probabilities".into(), value: OutputValue::Tensor(probabilities) },
            NamedOutput { name: "zip".into(), value: OutputValue::Sequence(vec![OutputValue::Map(vec![("0".into(), 0.25), ("1".into(), 0.75)])]) },
        ];
        let (output, selector) = resolve_column("zip[1]", &outputs).unwrap();
        assert_eq!(wrong_form("zip[1]", output, &selector).unwrap(), "column 'zip[1]': 'zip' is a map per row (ZipMap), name its keys: use 'zip.1'");
        let (output, selector) = resolve_column("probabilities.1", &outputs).unwrap();
        assert_eq!(
            wrong_form("probabilities.1", output, &selector).unwrap(),
            "column 'probabilities.1': 'probabilities' is a tensor, name its elements by position: use 'probabilities[1]'"
        );
        assert_eq!(
            unknown_column("e.csv", "probabilty_1", &outputs),
            "e.csv: column 'probabilty_1' names no model output; did you mean 'probabilities[1]'? (valid columns: probabilities[0], probabilities[1], zip.0, zip.1)"
        );
        assert_eq!(uncompared(&outputs, &["probabilities".to_string(), "zip.0".to_string()]), vec!["zip.1".to_string()]);
    }
}
