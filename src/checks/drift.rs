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
     `prediction_rows` (2000) reference rows, one drawn from each of as many equal strata by a fixed-seed generator), by the same PSI thresholds; the model failing on a row of \
     its own reference fails, naming the row. A model column the reference lacks warns; a reference sharing none is an \
     error (exit 2). Free text (a column the graph tokenizes, or mostly distinct reference values) is compared by its \
     length in characters, not as categories. A reference with more than 10 bins that the sample cannot fill has \
     adjacent bins merged until PSI with no drift, about (bins - 1)(1/n + 1/m), stays under psi_warn/4. Skipped without \
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
        let text = TextHints { tokenized: super::domain::free_text_columns(ctx), encoded: super::domain::encoded_columns(ctx) };
        for (name, profile) in &compared {
            let (found, score) = compare(sample, name, profile, &text, config);
            findings.extend(found);
            if let Some(score) = score {
                scores.insert((*name).clone(), score);
            }
        }
        findings.extend(missing_finding(ctx, &missing));
        let (finding, prediction) = prediction_drift(ctx, sample, reference, config);
        findings.push(finding);
        let outcome = outcome(findings, scores, compared.len(), sample.rows(), reference);
        match prediction {
            Some(metric) => outcome.with_metric("prediction", metric),
            None => outcome,
        }
    }
}

/// Model columns the reference lacks: a warning naming those that are model inputs themselves
/// (a column the model asks for by name), a note for the others (positions of a tensor input).
fn missing_finding(ctx: &AuditContext<'_>, missing: &[&String]) -> Option<(Status, String)> {
    if missing.is_empty() {
        return None;
    }
    let inputs: Vec<&str> = ctx.runner.as_ref().map(|r| r.inputs().iter().map(|i| i.name.as_str()).collect()).unwrap_or_default();
    let names: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
    let status = if missing.iter().any(|m| inputs.contains(&m.as_str())) { Status::Warn } else { Status::Pass };
    Some((status, format!("model column(s) not in the reference, so not compared: {}", names.join(", "))))
}

/// `--reference` must share a column with the model's columns: else an error naming the file,
/// both lists of columns, and the reference's columns that match a model column but for case.
pub fn require_shared_column(path: &std::path::Path, model: &[String], reference: &[String]) -> Result<(), String> {
    if model.is_empty() || model.iter().any(|m| reference.contains(m)) {
        return Ok(());
    }
    let quoted = |names: &[String]| {
        let shown: Vec<String> = names.iter().take(20).map(|n| format!("'{}'", clip(n, 60))).collect();
        let more = if names.len() > 20 { format!(" and {} more", names.len() - 20) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    let matches: Vec<String> = model
        .iter()
        .filter_map(|m| reference.iter().find(|r| r.to_lowercase() == m.to_lowercase()).map(|r| format!("'{}' for '{}'", clip(r, 60), clip(m, 60))))
        .collect();
    let hint = if matches.is_empty() {
        String::new()
    } else {
        format!("; the names differ only in case ({}): rename the reference's columns", matches.join(", "))
    };
    Err(format!(
        "--reference {}: shares no column with the model's columns: the model reads {}, the reference has {}{hint}",
        path.display(),
        quoted(model),
        if reference.is_empty() { "no columns".to_string() } else { quoted(reference) }
    ))
}

/// What the graph says about the sample's text columns: tokenized ones (with the operator),
/// and ones an encoder lists categories for.
struct TextHints {
    tokenized: BTreeMap<String, String>,
    encoded: std::collections::BTreeSet<String>,
}

/// The share of distinct reference values above which a text column is free text, not categories.
const DISTINCT_SHARE: f64 = 0.5;
/// The fewest reference values for judging a column free text by its distinct values.
const DISTINCT_MIN_VALUES: u64 = 50;

/// Why a text column is free text rather than categories: the graph tokenizes it, or (no encoder
/// lists its categories) more than half of its reference values are distinct.
fn free_text(name: &str, reference: &CategoricalProfile, hints: &TextHints) -> Option<String> {
    if let Some(op) = hints.tokenized.get(name) {
        return Some(format!("the graph tokenizes it: {op}"));
    }
    let distinct = reference.categories.len() as u64;
    (!hints.encoded.contains(name) && reference.count >= DISTINCT_MIN_VALUES && distinct as f64 > DISTINCT_SHARE * reference.count as f64)
        .then(|| format!("{distinct} of its {} reference values are distinct", reference.count))
}

/// A free-text column: nulls as for any column, then drift of its length in characters against
/// the reference values' lengths (category PSI over values that each occur once says nothing).
fn text_lengths(
    name: &str,
    cells: &[Option<String>],
    reference: &CategoricalProfile,
    why: &str,
    config: &DriftConfig,
) -> (Vec<(Status, String)>, Option<Score>) {
    let mut findings: Vec<(Status, String)> = nulls_finding(name, cells, reference.nulls).into_iter().collect();
    findings.push((Status::Pass, format!("column '{name}' is free text ({why}): its length in characters is compared, not its values")));
    let label = format!("column '{name}' (length in characters)");
    let lengths: Vec<f64> = cells.iter().flatten().map(|t| t.chars().count() as f64).collect();
    if let Some(why) = not_judged(lengths.len(), reference.count, config) {
        findings.push((Status::Pass, format!("{label}: {why}: drift not judged")));
        return (findings, None);
    }
    let reference_lengths: Vec<Option<f64>> =
        reference.categories.iter().flat_map(|(text, n)| std::iter::repeat_n(Some(text.chars().count() as f64), *n as usize)).collect();
    let profile = crate::inputs::reference::numeric_profile(&reference_lengths, config.bins);
    let (finding, score) = numeric_drift(&label, &crate::stats::sort::sorted(lengths), &profile, config);
    findings.push(finding);
    (findings, Some(score))
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

/// Why the model gave no predictions on some rows: they were never run (no model, rows that do
/// not bind, outputs ready does not read), or the runtime returned an error.
#[derive(Debug)]
enum Unpredicted {
    NotRun(String),
    Failed(crate::runtime::InferenceError),
}

impl Unpredicted {
    fn why(&self) -> String {
        match self {
            Self::NotRun(why) => why.clone(),
            Self::Failed(e) => format!("inference failed: {}", super::empty_batch::first_line(&e.message)),
        }
    }
}

/// The model's main prediction on `sample`, run once.
fn predict(
    ctx: &AuditContext<'_>,
    sample: &Sample,
    binding: Option<&super::schema_parity::Binding>,
) -> Result<(String, String, Predictions), Unpredicted> {
    let runner = ctx.runner.as_ref().map_err(|_| Unpredicted::NotRun("the model did not load".to_string()))?;
    let batch = binding
        .and_then(|b| b.batch.as_ref())
        .ok_or_else(|| Unpredicted::NotRun("the rows do not match the model's inputs (see schema_parity)".to_string()))?;
    let outputs = runner.run(batch).map_err(Unpredicted::Failed)?;
    main_prediction(&outputs, sample.rows()).map_err(Unpredicted::NotRun)
}

/// Whether the model runs on rows `start..start + len` of `frame` (rows that do not bind count
/// as running: that is schema_parity's finding, not the model's).
fn runs_on(ctx: &AuditContext<'_>, frame: &polars::prelude::DataFrame, start: usize, len: usize) -> Result<(), crate::runtime::InferenceError> {
    let rows = Sample {
        path: "--reference".into(),
        format: crate::sample::SampleFormat::Parquet,
        frame: frame.slice(start as i64, len),
        skipped: Vec::new(),
    };
    let (Ok(runner), Some(binding)) = (ctx.runner.as_ref(), ctx.bind(&rows)) else { return Ok(()) };
    match &binding.batch {
        Some(batch) => runner.run(batch).map(|_| ()),
        None => Ok(()),
    }
}

/// The first row of `frame` the model fails on when run alone, found by halving (a model error
/// on a batch comes from one of its rows): its position and the error.
fn failing_row(ctx: &AuditContext<'_>, frame: &polars::prelude::DataFrame) -> Option<(usize, crate::runtime::InferenceError)> {
    let (mut start, mut len) = (0, frame.height());
    while len > 1 {
        let half = len / 2;
        if runs_on(ctx, frame, start, half).is_err() {
            len = half;
        } else {
            start += half;
            len -= half;
        }
    }
    runs_on(ctx, frame, start, 1).err().map(|e| (start, e))
}

/// The finding when the model fails on the reference's own rows (training data it was fitted
/// on): a failure naming the row of the reference file (data rows counted from 0). Stopped at
/// ready's own time or memory limit (a batch of `prediction_rows` rows, ready's setting), or
/// failing only on the rows together (a batch problem, schema_parity's to judge): a warning that
/// prediction drift is not judged.
fn failed_on_reference(
    ctx: &AuditContext<'_>,
    complete: &polars::prelude::DataFrame,
    rows: &[usize],
    error: &crate::runtime::InferenceError,
) -> (Status, String) {
    if error.limit.is_some() {
        let why = super::empty_batch::first_line(&error.message);
        return (Status::Warn, format!("prediction drift not judged: on {} reference rows, stopped at ready's limit: {why}", complete.height()));
    }
    match failing_row(ctx, complete) {
        Some((row, e)) => (
            Status::Fail,
            format!(
                "the model fails on row {} of its training reference (--reference, data rows counted from 0): {}",
                rows.get(row).copied().unwrap_or(row),
                super::empty_batch::first_line(&e.message)
            ),
        ),
        None => (
            Status::Warn,
            format!(
                "prediction drift not judged: the model fails on a batch of {} reference rows but on no single row alone: {}",
                complete.height(),
                super::empty_batch::first_line(&error.message)
            ),
        ),
    }
}

/// The reference's predictions as a column profile, and where they come from: the configured
/// `prediction_column`, else the model run on the reference's rows drawn one per stratum.
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
    let (_, _, predictions) = predict(ctx, &sample, binding.as_ref()).map_err(|unpredicted| match unpredicted {
        Unpredicted::Failed(error) => failed_on_reference(ctx, &sample.frame, &file_rows(&rows.0, reference.rows), &error),
        Unpredicted::NotRun(why) => {
            let why = blocked.map_or(why, |text| format!("the rows do not match the model's inputs: {text}"));
            (Status::Pass, format!("prediction drift not judged: on the reference rows, {why}"))
        }
    })?;
    let gaps = if left_out > 0 { format!(" ({left_out} with missing values left out)") } else { String::new() };
    let source = format!("the model's predictions on {} reference rows drawn one from each of as many equal strata{gaps}", sample.rows());
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

/// The reference file's data row (from 0) of each complete row of `picked`, the rows drawn one
/// per stratum of a reference of `total` rows ([`crate::inputs::reference::strata_rows`]).
fn file_rows(picked: &polars::prelude::DataFrame, total: u64) -> Vec<usize> {
    let (k, n) = (picked.height(), total as usize);
    let mut complete = vec![true; k];
    for column in picked.columns() {
        for (row, null) in column.as_materialized_series().is_null().iter().enumerate() {
            if null == Some(true) {
                complete[row] = false;
            }
        }
    }
    (0..k).filter(|&i| complete[i]).map(|i| if k < n { crate::inputs::reference::stratum_row(i, n, k) } else { i }).collect()
}

/// The model's main prediction on the sample, or on `cap` rows of a larger one, drawn one per stratum
/// (then said in the returned text).
fn sample_predictions(ctx: &AuditContext<'_>, sample: &Sample, cap: usize) -> Result<(String, String, Predictions, String), Unpredicted> {
    if sample.rows() <= cap {
        let (output, what, predictions) = predict(ctx, sample, ctx.binding())?;
        return Ok((output, what, predictions, String::new()));
    }
    let frame =
        crate::inputs::reference::strata_rows(&sample.frame, cap).map_err(|e| Unpredicted::NotRun(format!("cannot pick sample rows: {e}")))?;
    let rows = Sample { path: sample.path.clone(), format: sample.format, frame, skipped: Vec::new() };
    let (output, what, predictions) = predict(ctx, &rows, ctx.bind(&rows).as_ref())?;
    Ok((output, what, predictions, format!(" on {cap} sample rows drawn one from each of as many equal strata")))
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
        Err(why) => return ((Status::Pass, format!("prediction drift not judged: on the sample, {}", why.why())), None),
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
fn compare(sample: &Sample, name: &str, profile: &ColumnProfile, hints: &TextHints, config: &DriftConfig) -> (Vec<(Status, String)>, Option<Score>) {
    let Ok(column) = sample.frame.column(name) else { return (Vec::new(), None) };
    let series = column.as_materialized_series();
    match profile {
        ColumnProfile::Numeric(reference) => match values::floats(series) {
            Some(cells) => {
                let single = reference.float32 || series.dtype() == &polars::prelude::DataType::Float32;
                numeric(name, &cells, reference, single, config)
            }
            None => (vec![(Status::Warn, format!("column '{name}': numeric in the reference, not numbers in the sample"))], None),
        },
        ColumnProfile::Categorical(reference)
            if series.dtype().is_primitive_numeric() && !hints.encoded.contains(name) && !hints.tokenized.contains_key(name) =>
        {
            let Some((numeric_reference, not_numbers)) = numbers_in_text(reference, config.bins) else {
                return categorical_or_text(name, series, reference, hints, config);
            };
            let cells = values::floats(series).unwrap_or_default();
            let single = series.dtype() == &polars::prelude::DataType::Float32;
            let (mut findings, score) = numeric(name, &cells, &numeric_reference, single, config);
            findings.insert(0, not_numbers_finding(name, &not_numbers, reference.count));
            (findings, score)
        }
        ColumnProfile::Categorical(reference) => categorical_or_text(name, series, reference, hints, config),
    }
}

/// A reference text column judged as categories, or as free text by its length.
fn categorical_or_text(
    name: &str,
    series: &polars::prelude::Series,
    reference: &CategoricalProfile,
    hints: &TextHints,
    config: &DriftConfig,
) -> (Vec<(Status, String)>, Option<Score>) {
    let Some(cells) = values::texts(series) else { return (Vec::new(), None) };
    match free_text(name, reference, hints) {
        Some(why) => text_lengths(name, &cells, reference, &why, config),
        None => categorical(name, &cells, reference, config),
    }
}

/// Reference values that are not numbers, by value, in a column read as numbers.
type NotNumbers = BTreeMap<String, u64>;

/// A reference column read as text whose values are mostly numbers (a numeric training column
/// with a stray `abc` or `?` in it, which pandas and polars read as text), while the sample's
/// column is numbers and no encoder lists it as categories: the reference's numbers as a
/// numeric profile (exact: each value counted as often as it occurs), and the values that are
/// not numbers. `None` when most values are not numbers (then it is text).
fn numbers_in_text(reference: &CategoricalProfile, bins: usize) -> Option<(NumericProfile, NotNumbers)> {
    let mut cells: Vec<Option<f64>> = Vec::new();
    let mut not_numbers = NotNumbers::new();
    for (value, &count) in &reference.categories {
        match value.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => cells.extend(std::iter::repeat_n(Some(number), count as usize)),
            _ => _ = not_numbers.insert(value.clone(), count),
        }
    }
    let numbers = cells.len() as u64;
    if numbers == 0 || numbers <= not_numbers.values().sum::<u64>() {
        return None;
    }
    cells.extend(std::iter::repeat_n(None, reference.nulls as usize));
    Some((crate::inputs::reference::numeric_profile(&cells, bins), not_numbers))
}

/// The line for a reference column read as numbers although it holds some text: which values
/// were left out, and that the column is compared as numbers.
fn not_numbers_finding(name: &str, not_numbers: &NotNumbers, count: u64) -> (Status, String) {
    let left_out: u64 = not_numbers.values().sum();
    if left_out == 0 {
        return (
            Status::Pass,
            format!("column '{name}': the reference lists its values as categories, all numbers, and the sample's are numbers: compared as numbers"),
        );
    }
    let shown: Vec<String> = not_numbers.keys().take(3).map(|v| format!("'{}'", clip(v, 40))).collect();
    let more = if not_numbers.len() > 3 { format!(" and {} more", not_numbers.len() - 3) } else { String::new() };
    (
        Status::Warn,
        format!(
            "column '{name}': the reference holds {left_out} of {count} values that are not numbers ({}{more}), read as text; the sample's column is numbers, so the reference's numbers are compared and those values left out",
            shown.join(", ")
        ),
    )
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
    } else if reference < config.min_rows as u64 {
        // A small reference is as noisy as a small sample: PSI of the same distribution is about
        // (bins - 1) · (1/n + 1/m).
        Some(format!("the reference has {reference} values, fewer than min_rows {}", config.min_rows))
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

/// `value` at the precision both sides hold: rounded to the nearest f32 when the reference or
/// the sample column is float32 (0.1 read from a CSV is then 0.1f32, a float32 maximum's own value).
fn at_precision(value: f64, single: bool) -> f64 {
    if single { f64::from(value as f32) } else { value }
}

/// `single`: the reference or the sample column is float32; the training range is compared at
/// single precision.
fn numeric(
    name: &str,
    cells: &[Option<f64>],
    reference: &NumericProfile,
    single: bool,
    config: &DriftConfig,
) -> (Vec<(Status, String)>, Option<Score>) {
    let mut findings: Vec<(Status, String)> = nulls_finding(name, cells, reference.nulls).into_iter().collect();
    let present: Vec<(usize, f64)> = cells.iter().enumerate().filter_map(|(r, v)| v.map(|v| (r, v))).collect();
    if let (Some(min), Some(max)) = (reference.min, reference.max) {
        let (lo, hi) = (at_precision(min, single), at_precision(max, single));
        let beyond = |v: f64| {
            let v = at_precision(v, single);
            v < lo || v > hi
        };
        let outside: Vec<usize> = present.iter().filter(|(_, v)| beyond(*v)).map(|(r, _)| *r).collect();
        if !outside.is_empty() {
            let share = outside.len() as f64 / present.len() as f64;
            // The range of a small reference is narrower than its population's: not judged.
            let few = reference.count < config.min_rows as u64;
            let status = if share > config.outside_share && !few { Status::Warn } else { Status::Pass };
            let why = if few {
                format!(" (a reference of {} values, fewer than min_rows {}: not judged)", reference.count, config.min_rows)
            } else {
                String::new()
            };
            findings.push((
                status,
                format!(
                    "column '{name}': {} of {} values ({:.1}%) outside the training range [{}, {}]: {}{why}",
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
    // Against float32 reference values, the sample's at float32 too: the same data gives PSI and KS 0.
    let sorted = crate::stats::sort::sorted(present.iter().map(|(_, v)| at_precision(*v, reference.float32)).collect());
    let (finding, score) = numeric_drift(&format!("column '{name}'"), &sorted, reference, config);
    findings.push(finding);
    (findings, Some(score))
}

/// PSI and KS of ascending `sorted` values against a numeric reference; `label` names them.
fn numeric_drift(label: &str, sorted: &[f64], reference: &NumericProfile, config: &DriftConfig) -> ((Status, String), Score) {
    let (psi, bins) = binned_psi(sorted, reference, config);
    let ks = match &reference.sorted {
        Some(values) => drift::ks_statistic(values, sorted),
        None => drift::ks_against_quantiles(&reference.quantiles, sorted),
    };
    let p_value = drift::ks_p_value(ks, reference.count as usize, sorted.len());
    let status = psi_status(psi, config);
    let finding = (
        status,
        format!(
            "{label}: PSI {} on {bins}, KS {} (p = {}); mean {} vs {} in the reference",
            short(psi),
            short(ks),
            short(p_value),
            short(sorted.iter().sum::<f64>() / sorted.len() as f64),
            reference.mean.map_or("-".to_string(), short)
        ),
    );
    (finding, Score { psi, ks: Some(ks), chi_squared: None, p_value })
}

/// Bins always kept: the default profile's 10, which every sample of `min_rows` fills.
const KEPT_BINS: usize = 10;
/// The share of `psi_warn` that PSI between two samples of one distribution may reach.
const NOISE_SHARE: f64 = 0.25;

/// PSI of ascending `sorted` values on the reference's quantile bins, adjacent bins merged when
/// the sample is too small to fill them ([`drift::fillable_bins`]: more than [`KEPT_BINS`] bins
/// whose no-drift PSI would pass `NOISE_SHARE` of `psi_warn`), and the bins used, in words.
fn binned_psi(sorted: &[f64], reference: &NumericProfile, config: &DriftConfig) -> (f64, String) {
    let current = drift::bin_counts(sorted, &reference.bin_edges);
    let bins = reference.bin_counts.len();
    let fillable = drift::fillable_bins(sorted.len(), reference.count, config.psi_warn * NOISE_SHARE).max(KEPT_BINS);
    if fillable >= bins {
        return (drift::psi(&reference.bin_counts, &current), format!("{bins} reference quantile bins"));
    }
    let (_, merged_reference, merged_current) = drift::merge_bins(&reference.bin_edges, &reference.bin_counts, &current, fillable);
    let words = format!(
        "{} of the reference's {bins} quantile bins (adjacent ones merged: {} sample values cannot fill more)",
        merged_reference.len(),
        sorted.len()
    );
    (drift::psi(&merged_reference, &merged_current), words)
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
    fn numbers_read_as_text_become_a_numeric_reference_without_the_words() {
        let cells: Vec<Option<String>> = ["3", "1", "abc", "2", "3", " 4 ", "?"].iter().map(|v| Some(v.to_string())).chain([None]).collect();
        let (numeric, words) = numbers_in_text(&crate::inputs::reference::categorical_profile(&cells), 2).unwrap();
        assert_eq!(words, NotNumbers::from([("?".to_string(), 1), ("abc".to_string(), 1)]));
        assert_eq!((numeric.count, numeric.nulls, numeric.min, numeric.max), (5, 1, Some(1.0), Some(4.0)));
        assert_eq!(numeric.sorted.as_deref(), Some(&[1.0, 2.0, 3.0, 3.0, 4.0][..]));
        assert_eq!(not_numbers_finding("x", &words, 7).0, Status::Warn);
        assert_eq!(not_numbers_finding("x", &NotNumbers::new(), 7).0, Status::Pass);
        // Mostly words: text, not numbers.
        let words: Vec<Option<String>> = ["a", "b", "1"].iter().map(|v| Some(v.to_string())).collect();
        assert!(numbers_in_text(&crate::inputs::reference::categorical_profile(&words), 2).is_none());
    }

    #[test]
    fn a_text_column_is_free_text_when_tokenized_or_mostly_distinct_unless_an_encoder_lists_it() {
        let profile = |values: Vec<String>| crate::inputs::reference::categorical_profile(&values.into_iter().map(Some).collect::<Vec<_>>());
        let none = TextHints { tokenized: BTreeMap::new(), encoded: Default::default() };
        let distinct = profile((0..60).map(|i| format!("note {i}")).collect());
        assert_eq!(free_text("c", &distinct, &none).as_deref(), Some("60 of its 60 reference values are distinct"));
        let encoded = TextHints { tokenized: BTreeMap::new(), encoded: ["c".to_string()].into() };
        assert_eq!(free_text("c", &distinct, &encoded), None);
        // Too few values to tell, and repeated categories: categories.
        assert_eq!(free_text("c", &profile((0..40).map(|i| format!("note {i}")).collect()), &none), None);
        assert_eq!(free_text("c", &profile((0..600).map(|i| format!("city {}", i % 300)).collect()), &none), None);
        let tokenized = TextHints { tokenized: [("c".to_string(), "Tokenizer".to_string())].into(), encoded: Default::default() };
        assert_eq!(free_text("c", &profile(vec!["a".into(); 200]), &tokenized).as_deref(), Some("the graph tokenizes it: Tokenizer"));
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

    #[test]
    fn the_training_range_is_compared_at_float32_precision_when_either_side_is_float32() {
        let mut reference = crate::inputs::reference::numeric_profile(&[Some(f64::from(-0.7f32)), Some(f64::from(0.7f32))], 10);
        // Two reference values: min_rows 1, so that the range is judged.
        let config = DriftConfig { min_rows: 1, ..DriftConfig::default() };
        let outside = |cells: &[Option<f64>], reference: &NumericProfile, single: bool| {
            numeric("x", cells, reference, single, &config).0.into_iter().filter(|(_, t)| t.contains("outside")).map(|(_, t)| t).collect::<Vec<_>>()
        };
        // 0.7f32 is 0.699999988..: 0.7 and -0.7 from a CSV lie just outside the bounds at f64.
        assert_eq!(
            outside(&[Some(0.7), Some(-0.7)], &reference, false),
            ["column 'x': 2 of 2 values (100.0%) outside the training range [-0.7, 0.7]: rows 0, 1"]
        );
        assert_eq!(outside(&[Some(0.7), Some(-0.7)], &reference, true), Vec::<String>::new());
        reference.float32 = true;
        assert_eq!(outside(&[Some(0.7), Some(-0.7), Some(0.0)], &reference, true), Vec::<String>::new());
        let above = f64::from(f32::from_bits(0.7f32.to_bits() + 1));
        assert_eq!(
            outside(&[Some(0.7), Some(above), Some(-0.71)], &reference, true),
            ["column 'x': 2 of 3 values (66.7%) outside the training range [-0.7, 0.7]: rows 1, 2"]
        );
        // A float32 sample against a float64 reference: the reference bounds are rounded.
        let float64 = crate::inputs::reference::numeric_profile(&[Some(-0.3), Some(0.1)], 10);
        assert_eq!(outside(&[Some(f64::from(0.1f32)), Some(f64::from(-0.3f32))], &float64, false).len(), 1);
        assert_eq!(outside(&[Some(f64::from(0.1f32)), Some(f64::from(-0.3f32))], &float64, true), Vec::<String>::new());
    }
}
