//! Output sanity: no NaN or Inf in any output, and not the same prediction for every row of a
//! varied batch (the "one class for everything" failure), which warns. Judged on the sample's
//! rows when it has at least 2 different ones; synthetic rows, drawn from the ranges and
//! categories the graph itself states (see `model::graph_domain`), only stand in without one.

use super::{AuditContext, Check, InputSource, Outcome, distinct_rows};
use crate::compare::{row_scalars, rows_equal};
use crate::model::graph_domain::GraphDomain;
use crate::runtime::{Batch, NamedOutput, NamedTensor, OutputValue, TensorData};

pub struct OutputSanity;

impl Check for OutputSanity {
    fn id(&self) -> &'static str {
        "output_sanity"
    }

    fn description(&self) -> &'static str {
        "outputs are finite, and a varied batch does not get one prediction for every row"
    }

    fn explanation(&self) -> &'static str {
        "What: runs the sample rows and a varied synthetic batch (8 rows whose values differ) and fails \
         when any output holds NaN or Inf. When the input rows differ but every row gets the same \
         prediction in every output, it warns.\n\
         Why: NaN probabilities and a classifier that predicts one class for everything both look like \
         working models to a health check, and both are wrong for every user.\n\
         Fix: for NaN, look for log/division of unguarded values and for missing-value handling that the \
         export lost; for constant predictions, check the preprocessing in the exported pipeline (a \
         scaler fitted on the wrong data, a dropped feature) and the class balance of the training data."
    }

    fn runs_model(&self) -> bool {
        true
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let runner = match ctx.runner() {
            Ok(r) => r,
            Err(skip) => return skip,
        };
        // The sample's rows are judged first; synthetic rows only stand in when there is no
        // sample, or when its rows are all alike.
        let axes = ctx.axes();
        let mut inputs: Vec<(InputSource, String, Batch)> = Vec::new();
        let sample = ctx.binding().and_then(|b| b.batch.clone());
        let sample_varies = sample.as_ref().is_some_and(|b| distinct_rows(b, axes) >= 2);
        if let Some(batch) = sample {
            let label = match axes.rows(&batch) {
                0 => "the sample".to_string(),
                1 => "the sample's row".to_string(),
                rows => format!("the sample's {rows} rows"),
            };
            inputs.push((InputSource::Sample, label, batch));
        }
        if !sample_varies {
            match ctx.synthetic(ctx.budget_rows(8)) {
                Ok((batch, source)) => {
                    let (batch, label) = plausible_batch(batch, source, &ctx.artifact.domain);
                    inputs.push((source, label, batch));
                }
                Err(reason) => {
                    if inputs.is_empty() {
                        return Outcome::skip(format!("cannot build inputs: {reason}"));
                    }
                }
            }
        }
        let mut failures = Vec::new();
        let mut warnings = Vec::new();
        let mut details = Vec::new();
        let mut ran = 0;
        let mut varied = false;
        let axes = ctx.axes();
        for (source, label, batch) in &inputs {
            let outputs = match runner.run(batch) {
                Ok(outputs) => outputs,
                Err(error) => {
                    if let Some(stopped) = super::stopped_at_limit(&error) {
                        return stopped;
                    }
                    details.push(format!("{label}: not run ({})", super::empty_batch::first_line(&error.message)));
                    continue;
                }
            };
            ran += 1;
            let mut non_finite = 0;
            for output in &outputs {
                let bad = output.value.non_finite_count();
                non_finite += bad;
                if bad == 0 {
                    continue;
                }
                let finding = format!("output '{}' has {bad} NaN/Inf value(s) on {label}", output.name);
                if source.is_invented() {
                    // ready made these values up: the model is not to blame for them.
                    warnings.push(format!(
                        "{finding}, which ready invented: describe real inputs (--sample, or inputs: in the config) to judge the model"
                    ));
                } else {
                    failures.push(finding);
                }
            }
            let rows = axes.rows(batch);
            let distinct = distinct_rows(batch, axes);
            if distinct >= 2 {
                match constant_prediction(&outputs, rows) {
                    Some(prediction) => warnings.push(format!("{distinct} different rows of {label} all get the same prediction ({prediction})")),
                    None => {
                        varied = true;
                        let finite = if non_finite == 0 { "all finite".to_string() } else { format!("{non_finite} NaN/Inf value(s) among them") };
                        details.push(format!("{label}: {distinct} different rows, predictions vary, {finite}"));
                    }
                }
            } else {
                details.push(format!("{label}: fewer than 2 different rows, constant predictions not checked"));
            }
        }
        if ran == 0 {
            return Outcome::skip("the model rejected every input (see schema_parity, latency)").with_details(details);
        }
        let mut all = failures.clone();
        all.extend(warnings.iter().cloned());
        all.extend(details);
        if let Some(first) = failures.first() {
            Outcome::fail(first.clone()).with_details(all)
        } else if let Some(first) = warnings.first() {
            Outcome::warn(first.clone()).with_details(all)
        } else {
            let used: Vec<&str> = inputs.iter().map(|(_, label, _)| label.as_str()).collect();
            let summary = if varied {
                format!("finite outputs that vary with the input on {}", used.join(" and "))
            } else {
                format!("finite outputs on {}; constant predictions not checked (fewer than 2 different rows)", used.join(" and "))
            };
            Outcome::pass(summary).with_details(all)
        }
    }
}

/// For ready's own synthetic rows (not the config's specs), every value of a 2-D input column
/// the graph describes drawn from its domain (the encoders' categories, the range of tree
/// thresholds, the Scaler's mean ± 2 std), and how the rows are named in reports.
fn plausible_batch(batch: Batch, source: InputSource, domain: &GraphDomain) -> (Batch, String) {
    let rows = batch.first().and_then(|t| t.data.shape().first().copied()).unwrap_or(0);
    if source != InputSource::Synthetic {
        return (batch, source.label().to_string());
    }
    let mut drawn = false;
    let batch = batch
        .into_iter()
        .map(|t| {
            let shape = t.data.shape().to_vec();
            if shape.len() != 2 {
                return t;
            }
            let (rows, width) = (shape[0], shape[1].max(1));
            let element = t.data.element_type();
            let mut texts = t.data.to_texts();
            for (i, text) in texts.iter_mut().enumerate() {
                if let Some(value) = domain.plausible(&t.name, i % width, i / width, rows) {
                    let integer = !element.is_float() && element != crate::runtime::ElementType::String;
                    *text = if integer { value.parse::<f64>().map_or(value, |v| format!("{}", v.round() as i64)) } else { value };
                    drawn = true;
                }
            }
            let data = TensorData::from_texts(element, &shape, &texts).unwrap_or(t.data);
            NamedTensor { name: t.name, data }
        })
        .collect();
    let label = if drawn { format!("{rows} synthetic rows from the model's own ranges and categories") } else { source.label().to_string() };
    (batch, label)
}

/// When every per-row output has the same value in every row, that value (of the first one).
fn constant_prediction(outputs: &[NamedOutput], rows: usize) -> Option<String> {
    let per_row: Vec<&NamedOutput> = outputs.iter().filter(|o| o.value.rows() == Some(rows)).collect();
    if per_row.is_empty() || rows < 2 {
        return None;
    }
    for output in &per_row {
        let has_rows = match &output.value {
            OutputValue::Tensor(t) => t.shape().first().is_some_and(|&len| len > 0),
            OutputValue::Sequence(items) => !items.is_empty(),
            _ => false,
        };
        if !has_rows {
            return None;
        }
        if (1..rows).any(|r| !rows_equal(&output.value, 0, r)) {
            return None;
        }
    }
    let first = per_row[0];
    // A detector's prediction is a whole map: show its first values, not thousands.
    let values = row_scalars(&first.value, 0)?;
    let mut shown: Vec<String> = values.iter().take(4).map(ToString::to_string).collect();
    if values.len() > 4 {
        shown.push(format!("… {} values", values.len()));
    }
    Some(format!("{} = {}", first.name, shown.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::checks::mock::MockRunner;
    use crate::config::Config;
    use crate::runtime::{ElementType, IoSpec, OutputValue, TensorData};
    use ndarray::{ArrayD, IxDyn};

    fn sanity(values: Vec<f32>) -> Outcome {
        sanity_with(values, Config::default())
    }

    fn sanity_with(values: Vec<f32>, config: Config) -> Outcome {
        let out = TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).unwrap());
        let runner = MockRunner::new(
            vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(2)])],
            Ok(vec![NamedOutput { name: "y".into(), value: OutputValue::Tensor(out) }]),
        );
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        OutputSanity.run(&ctx)
    }

    #[test]
    fn nan_outputs_on_input_ready_invented_warn_and_say_so() {
        let outcome = sanity(vec![0.1, f32::NAN, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
        assert_eq!(outcome.status, Status::Warn);
        assert!(outcome.summary.starts_with("output 'y' has 1 NaN/Inf value(s) on synthetic input, which ready invented"), "{}", outcome.summary);
    }

    #[test]
    fn nan_outputs_on_the_inputs_the_config_describes_fail() {
        let config = Config { inputs: serde_saphyr::from_str("x: {values: {uniform: [0, 1]}}\n").unwrap(), ..Config::default() };
        let outcome = sanity_with(vec![0.1, f32::NAN, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], config);
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.summary, "output 'y' has 1 NaN/Inf value(s) on input built from the config's input specs");
        // The rows' predictions vary, but they are not all finite: the details must not say so.
        let details: Vec<&str> = outcome.details.iter().map(String::as_str).filter(|d| d.contains("predictions vary")).collect();
        assert_eq!(details.len(), 1, "{:?}", outcome.details);
        assert!(details[0].ends_with("different rows, predictions vary, 1 NaN/Inf value(s) among them"), "{}", details[0]);
    }

    #[test]
    fn one_prediction_for_every_row_warns() {
        let outcome = sanity(vec![1.0; 8]);
        assert_eq!(outcome.status, Status::Warn);
        assert!(outcome.summary.ends_with("all get the same prediction (y = 1)"), "{}", outcome.summary);
    }

    #[test]
    fn varying_finite_predictions_pass() {
        let outcome = sanity((0..8).map(|i| i as f32).collect());
        assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
    }
}
