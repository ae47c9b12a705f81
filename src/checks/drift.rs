//! Drift: the sample's model columns against the training reference (`--reference`, data or a
//! profile): values outside the training range, categories training never had, missing values
//! where training had none, and per-column drift (PSI on the reference's quantile bins and the
//! two-sample KS statistic for numbers; PSI and chi-squared for categories).

use std::collections::BTreeMap;

use super::{AuditContext, Check, Outcome, Status};
use crate::compare::{Scalar, all_scalars, row_axis, row_scalars_along};
use crate::config::DriftConfig;
use crate::inputs::reference::{CategoricalProfile, ColumnProfile, NumericProfile, Profile};
use crate::inputs::values;
use crate::model::graph_domain::short;
use crate::runtime::{NamedOutput, OutputValue};
use crate::sample::{Sample, clip};
use crate::stats::drift;

pub struct Drift;

/// Most rows named in one finding.
const ROWS_SHOWN: usize = 8;

/// What `ready explain drift` and README say.
pub const EXPLANATION: &str = "What: with --reference (training rows as CSV or Parquet, read with only the model's columns, \
     or a profile written by `ready profile`), compares each model column of the sample with the reference: values \
     outside the training range warn when more than `outside_share` (1%) of them are; categories the reference never \
     had warn; missing values where the reference had none warn; with at least `min_rows` (100) sample rows, the PSI \
     on 10 quantile bins of the reference (categories: one bin per reference category plus one for unseen ones; an \
     empty bin counts as a share of 1e-4) warns at `psi_warn` (0.1) and fails at `psi_fail` (0.25). The two-sample \
     KS statistic (numbers) and the chi-squared statistic (categories) are reported with their p-values. \
     Prediction drift: the model's first output (first value per row: a label, a value, the first probability) on \
     the sample against the reference's predictions (the column `prediction_column`, else the model run on \
     `prediction_rows` (2000) evenly spaced reference rows), by the same PSI thresholds. Skipped without \
     --reference or without a table sample.\n\
     Why: a model is only as good as the match between serving and training data: a shifted distribution, a new \
     category or a column that suddenly has gaps moves predictions without any error.\n\
     Fix: find the upstream change (a new data source, a unit or encoding change, a broken join); if the new \
     distribution is real, retrain on data that covers it and write a new reference profile.";

impl Check for Drift {
    fn id(&self) -> &'static str {
        "drift"
    }

    fn description(&self) -> &'static str {
        "the sample's model columns match the training reference: ranges, categories, nulls, PSI/KS drift"
    }

    fn explanation(&self) -> &'static str {
        EXPLANATION
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let Some(sample) = ctx.sample else {
            return Outcome::skip("no table sample to compare with a training reference (--sample CSV, Parquet or JSON and --reference)");
        };
        let Some(reference) = ctx.reference else {
            return Outcome::skip("no --reference given");
        };
        let columns = super::domain::model_columns(ctx);
        let compared: Vec<(&String, &ColumnProfile)> = columns.iter().filter_map(|c| reference.columns.get_key_value(c)).collect();
        if compared.is_empty() {
            return Outcome::skip("no model column of the sample is in the reference");
        }
        let missing: Vec<&String> = columns.iter().filter(|c| !reference.columns.contains_key(*c)).collect();
        let config = &ctx.config.checks.drift;
        let mut findings = Vec::new();
        let mut scores = BTreeMap::new();
        for (name, profile) in &compared {
            let (found, score) = compare(sample, name, profile, config);
            findings.extend(found);
            if let Some(score) = score {
                scores.insert((*name).clone(), score);
            }
        }
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
            findings.push((Status::Pass, format!("not in the reference (not compared): {}", names.join(", "))));
        }
        let (finding, prediction) = prediction_drift(ctx, sample, reference, config);
        findings.push(finding);
        let outcome = outcome(findings, scores, compared.len(), sample.rows(), reference);
        match prediction {
            Some(metric) => outcome.with_metric("prediction", metric),
            None => outcome,
        }
    }
}

/// The model's main prediction per row: its first output, the first value of each row.
#[derive(Debug, Clone, PartialEq)]
enum Predictions {
    Numbers(Vec<f64>),
    Labels(Vec<String>),
}

/// The first output's first value per row (a label, a regression value, the first probability
/// column, the first key of a ZipMap), with the output's name and which value that is.
fn main_prediction(outputs: &[NamedOutput], rows: usize) -> Result<(String, String, Predictions), String> {
    let output = outputs.first().ok_or("the model has no output")?;
    let unread = || format!("output '{}' has no value per row that ready reads", output.name);
    let (what, scalars): (String, Vec<Scalar>) = match &output.value {
        OutputValue::Sequence(items) if items.len() == rows => {
            let first = |item: &OutputValue| match item {
                OutputValue::Map(entries) => entries.first().map(|(key, v)| (format!("the value of its first key '{key}'"), Scalar::Float(*v))),
                other => all_scalars(other).into_iter().next().map(|s| ("its first value per row".to_string(), s)),
            };
            let picked: Vec<(String, Scalar)> = items.iter().map(first).collect::<Option<_>>().ok_or_else(unread)?;
            (picked.first().map(|(w, _)| w.clone()).unwrap_or_default(), picked.into_iter().map(|(_, s)| s).collect())
        }
        value => {
            let axis = row_axis(value, rows).ok_or_else(unread)?;
            let per_row = match value {
                OutputValue::Tensor(t) => t.len() / rows.max(1),
                _ => 1,
            };
            let what = if per_row > 1 { format!("the first of its {per_row} values per row") } else { "its value per row".to_string() };
            let scalars =
                (0..rows).map(|r| row_scalars_along(value, axis, r).and_then(|v| v.into_iter().next())).collect::<Option<_>>().ok_or_else(unread)?;
            (what, scalars)
        }
    };
    let predictions = if scalars.iter().all(|s| matches!(s, Scalar::Float(_))) {
        Predictions::Numbers(scalars.iter().map(|s| if let Scalar::Float(v) = s { *v } else { f64::NAN }).collect())
    } else {
        Predictions::Labels(scalars.iter().map(|s| if let Scalar::Text(t) = s { t.clone() } else { s.to_string() }).collect())
    };
    Ok((output.name.clone(), what, predictions))
}

/// The model's main prediction on `sample`, run once.
fn predict(
    ctx: &AuditContext<'_>,
    sample: &Sample,
    binding: Option<&super::schema_parity::Binding>,
) -> Result<(String, String, Predictions), String> {
    let runner = ctx.runner.as_ref().map_err(|_| "the model did not load".to_string())?;
    let batch = binding.and_then(|b| b.batch.as_ref()).ok_or("the rows do not match the model's inputs (see schema_parity)")?;
    let outputs = runner.run(batch).map_err(|e| format!("inference failed: {}", super::empty_batch::first_line(&e.message)))?;
    main_prediction(&outputs, sample.rows())
}

/// The reference's predictions as a column profile, and where they come from: the configured
/// `prediction_column`, else the model run on the reference's evenly spaced rows.
fn reference_predictions(ctx: &AuditContext<'_>, reference: &Profile, config: &DriftConfig) -> Result<(String, ColumnProfile), (Status, String)> {
    if let Some(column) = &config.prediction_column {
        return match reference.columns.get(column) {
            Some(profile) => Ok((format!("the reference's column '{column}'"), profile.clone())),
            None => Err((
                Status::Warn,
                format!("checks.drift.prediction_column '{column}' is not a column of the reference: prediction drift not judged"),
            )),
        };
    }
    let Some(rows) = &reference.row_sample else {
        return Err((
            Status::Pass,
            "prediction drift not judged: the reference is a profile and no checks.drift.prediction_column names the reference's predictions"
                .to_string(),
        ));
    };
    // Training data has gaps the pipeline imputed; a sample row may not (schema_parity), so the
    // reference's predictions come from its complete rows.
    let complete = rows.0.drop_nulls::<String>(None).map_err(|e| (Status::Pass, format!("prediction drift not judged: {e}")))?;
    let left_out = rows.0.height() - complete.height();
    if complete.height() == 0 {
        return Err((Status::Pass, "prediction drift not judged: every reference row picked has a missing value".to_string()));
    }
    let sample = Sample { path: "--reference".into(), format: crate::sample::SampleFormat::Parquet, frame: complete, skipped: Vec::new() };
    let binding = ctx.bind(&sample);
    let blocked = binding.as_ref().and_then(|b| b.findings.iter().find(|f| f.blocks)).map(|f| f.text.clone());
    let (_, _, predictions) = predict(ctx, &sample, binding.as_ref()).map_err(|why| {
        let why = blocked.map_or(why, |text| format!("the rows do not match the model's inputs: {text}"));
        (Status::Pass, format!("prediction drift not judged: on the reference rows, {why}"))
    })?;
    let gaps = if left_out > 0 { format!(" ({left_out} with missing values left out)") } else { String::new() };
    let source = format!("the model's predictions on {} evenly spaced reference rows{gaps}", sample.rows());
    let profile = match predictions {
        Predictions::Numbers(v) => {
            ColumnProfile::Numeric(crate::inputs::reference::numeric_profile(&v.into_iter().map(Some).collect::<Vec<_>>(), config.bins))
        }
        Predictions::Labels(v) => {
            ColumnProfile::Categorical(crate::inputs::reference::categorical_profile(&v.into_iter().map(Some).collect::<Vec<_>>()))
        }
    };
    Ok((source, profile))
}

/// The model's main prediction on the sample, or on `cap` evenly spaced rows of a larger one
/// (then said in the returned text).
fn sample_predictions(ctx: &AuditContext<'_>, sample: &Sample, cap: usize) -> Result<(String, String, Predictions, String), String> {
    if sample.rows() <= cap {
        let (output, what, predictions) = predict(ctx, sample, ctx.binding())?;
        return Ok((output, what, predictions, String::new()));
    }
    let frame = crate::inputs::reference::even_rows(&sample.frame, cap).map_err(|e| format!("cannot pick sample rows: {e}"))?;
    let rows = Sample { path: sample.path.clone(), format: sample.format, frame, skipped: Vec::new() };
    let (output, what, predictions) = predict(ctx, &rows, ctx.bind(&rows).as_ref())?;
    Ok((output, what, predictions, format!(" on {cap} evenly spaced sample rows")))
}

/// The sample's predictions against the reference's: one finding, and the metric.
fn prediction_drift(
    ctx: &AuditContext<'_>,
    sample: &Sample,
    reference: &Profile,
    config: &DriftConfig,
) -> ((Status, String), Option<serde_json::Value>) {
    if config.prediction_rows == 0 {
        return ((Status::Pass, "prediction drift not judged: checks.drift.prediction_rows is 0".to_string()), None);
    }
    let (source, profile) = match reference_predictions(ctx, reference, config) {
        Ok(found) => found,
        Err(finding) => return (finding, None),
    };
    let (output, what, predictions, rows) = match sample_predictions(ctx, sample, config.prediction_rows) {
        Ok(found) => found,
        Err(why) => return ((Status::Pass, format!("prediction drift not judged: on the sample, {why}")), None),
    };
    let label = format!("prediction '{output}' (the model's first output, {what}){rows} against {source}");
    let judged = match (&profile, predictions) {
        (ColumnProfile::Numeric(reference), predictions) => {
            let numbers: Option<Vec<f64>> = match predictions {
                Predictions::Numbers(v) => Some(v),
                Predictions::Labels(v) => v.iter().map(|t| t.parse().ok()).collect(),
            };
            let Some(numbers) = numbers else {
                return ((Status::Warn, format!("{label}: the predictions are text labels, the reference's are numbers")), None);
            };
            let sorted = crate::stats::sort::sorted(numbers.into_iter().filter(|v| v.is_finite()).collect());
            not_judged(sorted.len(), reference.count, config).map_or_else(|| Ok(numeric_drift(&label, &sorted, reference, config)), Err)
        }
        (ColumnProfile::Categorical(reference), predictions) => {
            let labels: Vec<String> = match predictions {
                Predictions::Labels(v) => v,
                Predictions::Numbers(v) => v.iter().map(|x| x.to_string()).collect(),
            };
            let mut counts: Vec<u64> = reference.categories.keys().map(|k| labels.iter().filter(|l| *l == k).count() as u64).collect();
            counts.push(labels.iter().filter(|l| !reference.categories.contains_key(*l)).count() as u64);
            not_judged(labels.len(), reference.count, config).map_or_else(|| Ok(categorical_drift(&label, &counts, reference, config)), Err)
        }
    };
    match judged {
        Ok((finding, score)) => {
            let metric = serde_json::json!({ "output": output, "value": what, "reference": source, "score": score });
            (finding, Some(metric))
        }
        Err(why) => ((Status::Pass, format!("{label}: {why}: drift not judged")), None),
    }
}

/// Drift figures of one column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Score {
    pub psi: f64,
    /// The KS statistic (numbers) or the chi-squared statistic (categories).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chi_squared: Option<f64>,
    pub p_value: f64,
}

fn outcome(findings: Vec<(Status, String)>, scores: BTreeMap<String, Score>, compared: usize, rows: usize, reference: &Profile) -> Outcome {
    let status = findings.iter().map(|(s, _)| *s).max().unwrap_or(Status::Pass).max(Status::Pass);
    let problems: Vec<&String> = findings.iter().filter(|(s, _)| *s >= Status::Warn).map(|(_, t)| t).collect();
    let worst = scores.iter().max_by(|a, b| a.1.psi.total_cmp(&b.1.psi));
    let worst_text = worst.map(|(name, s)| format!("; largest PSI {} on '{name}'", short(s.psi))).unwrap_or_default();
    let summary = match problems.as_slice() {
        [] => format!("{compared} column(s) of {rows} row(s) match the reference of {} rows{worst_text}", reference.rows),
        [one] => (*one).clone(),
        [first, ..] => format!("{} problems: {first}", problems.len()),
    };
    let outcome = match status {
        Status::Fail => Outcome::fail(summary),
        Status::Warn => Outcome::warn(summary),
        _ => Outcome::pass(summary),
    };
    outcome
        .with_metric("columns_compared", compared)
        .with_metric("reference_rows", reference.rows)
        .with_metric("columns", serde_json::to_value(&scores).unwrap_or_default())
        .with_details(findings.into_iter().map(|(s, t)| format!("{}: {t}", s.name())))
}

/// Rows as text: the first few, then how many more.
fn rows_text(rows: &[usize]) -> String {
    let shown: Vec<String> = rows.iter().take(ROWS_SHOWN).map(ToString::to_string).collect();
    let word = if rows.len() == 1 { "row" } else { "rows" };
    let more = if rows.len() > ROWS_SHOWN { format!(" and {} more", rows.len() - ROWS_SHOWN) } else { String::new() };
    format!("{word} {}{more}", shown.join(", "))
}

/// The findings and drift figures of one column.
fn compare(sample: &Sample, name: &str, profile: &ColumnProfile, config: &DriftConfig) -> (Vec<(Status, String)>, Option<Score>) {
    let Ok(column) = sample.frame.column(name) else { return (Vec::new(), None) };
    let series = column.as_materialized_series();
    match profile {
        ColumnProfile::Numeric(reference) => match values::floats(series) {
            Some(cells) => numeric(name, &cells, reference, config),
            None => (vec![(Status::Warn, format!("column '{name}': numeric in the reference, not numbers in the sample"))], None),
        },
        ColumnProfile::Categorical(reference) => match values::texts(series) {
            Some(cells) => categorical(name, &cells, reference, config),
            None => (Vec::new(), None),
        },
    }
}

fn nulls_finding<T>(name: &str, cells: &[Option<T>], reference_nulls: u64) -> Option<(Status, String)> {
    let rows: Vec<usize> = cells.iter().enumerate().filter(|(_, c)| c.is_none()).map(|(r, _)| r).collect();
    (!rows.is_empty() && reference_nulls == 0)
        .then(|| (Status::Warn, format!("column '{name}': {} missing value(s) ({}) where the reference had none", rows.len(), rows_text(&rows))))
}

/// Why a column's drift is not judged: too few sample values, or none in the reference.
fn not_judged(present: usize, reference: u64, config: &DriftConfig) -> Option<String> {
    if reference == 0 {
        Some("the reference has no values".to_string())
    } else if present < config.min_rows {
        Some(format!("{present} values, fewer than min_rows {}", config.min_rows))
    } else {
        None
    }
}

fn psi_status(psi: f64, config: &DriftConfig) -> Status {
    if psi >= config.psi_fail {
        Status::Fail
    } else if psi >= config.psi_warn {
        Status::Warn
    } else {
        Status::Pass
    }
}

fn numeric(name: &str, cells: &[Option<f64>], reference: &NumericProfile, config: &DriftConfig) -> (Vec<(Status, String)>, Option<Score>) {
    let mut findings: Vec<(Status, String)> = nulls_finding(name, cells, reference.nulls).into_iter().collect();
    let present: Vec<(usize, f64)> = cells.iter().enumerate().filter_map(|(r, v)| v.map(|v| (r, v))).collect();
    if let (Some(min), Some(max)) = (reference.min, reference.max) {
        let outside: Vec<usize> = present.iter().filter(|(_, v)| *v < min || *v > max).map(|(r, _)| *r).collect();
        if !outside.is_empty() {
            let share = outside.len() as f64 / present.len() as f64;
            let status = if share > config.outside_share { Status::Warn } else { Status::Pass };
            findings.push((
                status,
                format!(
                    "column '{name}': {} of {} values ({:.1}%) outside the training range [{}, {}]: {}",
                    outside.len(),
                    present.len(),
                    share * 100.0,
                    short(min),
                    short(max),
                    rows_text(&outside)
                ),
            ));
        }
    }
    if let Some(why) = not_judged(present.len(), reference.count, config) {
        findings.push((Status::Pass, format!("column '{name}': {why}: drift not judged")));
        return (findings, None);
    }
    let sorted = crate::stats::sort::sorted(present.iter().map(|(_, v)| *v).collect());
    let (finding, score) = numeric_drift(&format!("column '{name}'"), &sorted, reference, config);
    findings.push(finding);
    (findings, Some(score))
}

/// PSI and KS of ascending `sorted` values against a numeric reference; `label` names them.
fn numeric_drift(label: &str, sorted: &[f64], reference: &NumericProfile, config: &DriftConfig) -> ((Status, String), Score) {
    let psi = drift::psi(&reference.bin_counts, &drift::bin_counts(sorted, &reference.bin_edges));
    let ks = match &reference.sorted {
        Some(values) => drift::ks_statistic(values, sorted),
        None => drift::ks_against_quantiles(&reference.quantiles, sorted),
    };
    let p_value = drift::ks_p_value(ks, reference.count as usize, sorted.len());
    let status = psi_status(psi, config);
    let finding = (
        status,
        format!(
            "{label}: PSI {} on {} reference quantile bins, KS {} (p = {}); mean {} vs {} in the reference",
            short(psi),
            reference.bin_counts.len(),
            short(ks),
            short(p_value),
            short(sorted.iter().sum::<f64>() / sorted.len() as f64),
            reference.mean.map_or("-".to_string(), short)
        ),
    );
    (finding, Score { psi, ks: Some(ks), chi_squared: None, p_value })
}

fn categorical(name: &str, cells: &[Option<String>], reference: &CategoricalProfile, config: &DriftConfig) -> (Vec<(Status, String)>, Option<Score>) {
    let mut findings: Vec<(Status, String)> = nulls_finding(name, cells, reference.nulls).into_iter().collect();
    let mut counts: BTreeMap<&String, u64> = reference.categories.keys().map(|k| (k, 0)).collect();
    let mut new_cells = Vec::new();
    for (row, value) in cells.iter().enumerate() {
        let Some(value) = value else { continue };
        match counts.get_mut(value) {
            Some(count) => *count += 1,
            None => new_cells.push((row, value)),
        }
    }
    let unseen = super::domain::group_rows(new_cells.into_iter());
    for (value, rows) in unseen.iter().take(5) {
        findings.push((Status::Warn, format!("column '{name}': '{}' never occurs in the reference ({})", clip(value, 60), rows_text(rows))));
    }
    if unseen.len() > 5 {
        let rest: usize = unseen[5..].iter().map(|(_, r)| r.len()).sum();
        findings.push((Status::Warn, format!("column '{name}': {} more values the reference never had, in {rest} rows", unseen.len() - 5)));
    }
    let present = cells.iter().flatten().count();
    if let Some(why) = not_judged(present, reference.count, config) {
        findings.push((Status::Pass, format!("column '{name}': {why}: drift not judged")));
        return (findings, None);
    }
    let unseen_count: u64 = unseen.iter().map(|(_, r)| r.len() as u64).sum();
    let mut current_counts: Vec<u64> = counts.values().copied().collect();
    current_counts.push(unseen_count);
    let (finding, score) = categorical_drift(&format!("column '{name}'"), &current_counts, reference, config);
    findings.push(finding);
    (findings, Some(score))
}

/// PSI and chi-squared of `current` counts (one per reference category, in its order, then the
/// unseen ones) against a categorical reference; `label` names them.
fn categorical_drift(label: &str, current: &[u64], reference: &CategoricalProfile, config: &DriftConfig) -> ((Status, String), Score) {
    let mut reference_counts: Vec<u64> = reference.categories.values().copied().collect();
    reference_counts.push(0);
    let psi = drift::psi(&reference_counts, current);
    let (chi, p_value) = drift::chi_squared(&reference_counts, current);
    let finding = (
        psi_status(psi, config),
        format!(
            "{label}: PSI {} over {} reference categories (+1 bin for unseen ones), chi-squared {} (p = {})",
            short(psi),
            reference.categories.len(),
            short(chi),
            short(p_value)
        ),
    );
    (finding, Score { psi, ks: None, chi_squared: Some(chi), p_value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::TensorData;
    use ndarray::{ArrayD, IxDyn};

    fn output(name: &str, value: OutputValue) -> NamedOutput {
        NamedOutput { name: name.to_string(), value }
    }

    #[test]
    fn the_main_prediction_is_the_first_outputs_first_value_per_row() {
        let labels = TensorData::I64(ArrayD::from_shape_vec(IxDyn(&[3]), vec![0, 1, 1]).unwrap());
        let probabilities = TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![0.75, 0.25, 0.5, 0.5, 0.125, 0.875]).unwrap());
        let outputs = [output("label", OutputValue::Tensor(labels)), output("probabilities", OutputValue::Tensor(probabilities.clone()))];
        let (name, what, predictions) = main_prediction(&outputs, 3).unwrap();
        assert_eq!((name.as_str(), what.as_str()), ("label", "its value per row"));
        assert_eq!(predictions, Predictions::Labels(vec!["0".into(), "1".into(), "1".into()]));

        let (_, what, predictions) = main_prediction(&outputs[1..], 3).unwrap();
        assert_eq!(what, "the first of its 2 values per row");
        assert_eq!(predictions, Predictions::Numbers(vec![0.75, 0.5, 0.125]));

        // A ZipMap: the first key's probability.
        let maps = (0..2).map(|r| OutputValue::Map(vec![("0".into(), 0.5 + r as f64 / 4.0), ("1".into(), 0.5 - r as f64 / 4.0)])).collect();
        let (_, what, predictions) = main_prediction(&[output("zip", OutputValue::Sequence(maps))], 2).unwrap();
        assert_eq!((what.as_str(), predictions), ("the value of its first key '0'", Predictions::Numbers(vec![0.5, 0.75])));

        assert_eq!(main_prediction(&outputs[1..], 4).unwrap_err(), "output 'probabilities' has no value per row that ready reads");
        assert_eq!(main_prediction(&[], 4).unwrap_err(), "the model has no output");
    }
}
