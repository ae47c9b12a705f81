//! Output sanity: no NaN or Inf in any output, and not the same prediction for every row of a
//! varied batch (the "one class for everything" failure), which warns. Judged on the sample's
//! rows when it has at least 2 different ones; synthetic rows, drawn from the ranges and
//! categories the graph itself states (see `model::graph_domain`), only stand in without one.

use super::{AuditContext, Check, Outcome, distinct_rows, varied_batch};
use crate::compare::row_scalars;
use crate::model::graph_domain::GraphDomain;
use crate::runtime::tensor::batch_rows;
use crate::runtime::{Batch, IoSpec, NamedOutput, NamedTensor, TensorData};

pub struct OutputSanity;

impl Check for OutputSanity {
    fn id(&self) -> &'static str {
        "output_sanity"
    }

    fn description(&self) -> &'static str {
        "outputs are finite, and a varied batch does not get one prediction for every row"
    }

    fn explanation(&self) -> &'static str {
        "What: runs the sample's rows (when it has at least 2 different rows; otherwise 8 synthetic rows \
         drawn from the model's own domain: the ranges a Scaler or tree thresholds imply, the categories \
         its encoders know) and fails when any output holds NaN or Inf. When the input rows differ but \
         every row gets the same prediction in every output, it warns. The summary names the rows used.\n\
         Why: NaN probabilities and a classifier that predicts one class for everything both look like \
         working models to a health check, and both are wrong for every user.\n\
         Fix: for NaN, look for log/division of unguarded values and for missing-value handling that the \
         export lost; for constant predictions, check the preprocessing in the exported pipeline (a \
         scaler fitted on the wrong data, a dropped feature) and the class balance of the training data."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let runner = match ctx.runner() {
            Ok(r) => r,
            Err(skip) => return skip,
        };
        // The sample's rows are judged first; synthetic rows only stand in when there is no
        // sample, or when its rows are all alike.
        let mut inputs: Vec<(String, Batch)> = Vec::new();
        let sample = ctx.binding().and_then(|b| b.batch.clone());
        let sample_varies = sample.as_ref().is_some_and(|b| distinct_rows(b) >= 2);
        if let Some(batch) = sample {
            inputs.push((format!("the sample's {} rows", batch_rows(&batch)), batch));
        }
        if !sample_varies {
            match plausible_batch(runner.inputs(), 8, &ctx.artifact.domain) {
                Ok((batch, label)) => inputs.push((label, batch)),
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
        for (label, batch) in &inputs {
            let outputs = match runner.run(batch) {
                Ok(outputs) => outputs,
                Err(error) => {
                    details.push(format!("{label}: not run ({})", super::empty_batch::first_line(&error.0)));
                    continue;
                }
            };
            ran += 1;
            for output in &outputs {
                let bad = output.value.non_finite_count();
                if bad > 0 {
                    failures.push(format!("output '{}' has {bad} NaN/Inf value(s) on {label}", output.name));
                }
            }
            let rows = batch_rows(batch);
            let distinct = distinct_rows(batch);
            if distinct >= 2 {
                match constant_prediction(&outputs, rows) {
                    Some(prediction) => warnings.push(format!("{distinct} different rows of {label} all get the same prediction ({prediction})")),
                    None => details.push(format!("{label}: {distinct} different rows, predictions vary, all finite")),
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
            let used: Vec<&str> = inputs.iter().map(|(label, _)| label.as_str()).collect();
            Outcome::pass(format!(
                "finite outputs that vary with the input on {}",
                used.join(" and ")
            ))
            .with_details(all)
        }
    }
}

/// Varied synthetic rows, with every column the graph describes drawn from its domain (the
/// encoders' categories, the range of tree thresholds, the Scaler's mean ± 2 std), and how
/// they are named in reports.
fn plausible_batch(
    inputs: &[IoSpec],
    rows: usize,
    domain: &GraphDomain,
) -> Result<(Batch, String), String> {
    let mut drawn = false;
    let batch = varied_batch(inputs, rows)?
        .into_iter()
        .map(|t| {
            let shape = t.data.shape().to_vec();
            let (rows, width) = (
                shape.first().copied().unwrap_or(1),
                shape.iter().skip(1).product::<usize>().max(1),
            );
            let element = t.data.element_type();
            let mut texts = t.data.to_texts();
            for (i, text) in texts.iter_mut().enumerate() {
                if let Some(value) = domain.plausible(&t.name, i % width, i / width, rows) {
                    *text = if element.is_float() || element == crate::runtime::ElementType::String
                    {
                        value
                    } else {
                        value
                            .parse::<f64>()
                            .map_or(value, |v| format!("{}", v.round() as i64))
                    };
                    drawn = true;
                }
            }
            let data = TensorData::from_texts(element, &shape, &texts).unwrap_or(t.data);
            Ok(NamedTensor { name: t.name, data })
        })
        .collect::<Result<Batch, String>>()?;
    let label = if drawn {
        format!(
            "{} synthetic rows from the model's own ranges and categories",
            batch_rows(&batch)
        )
    } else {
        "varied synthetic input".to_string()
    };
    Ok((batch, label))
}

/// When every per-row output has the same value in every row, that value (of the first one).
fn constant_prediction(outputs: &[NamedOutput], rows: usize) -> Option<String> {
    let per_row: Vec<&NamedOutput> = outputs.iter().filter(|o| o.value.rows() == Some(rows)).collect();
    if per_row.is_empty() || rows < 2 {
        return None;
    }
    for output in &per_row {
        let first = row_scalars(&output.value, 0)?;
        if (1..rows).any(|r| row_scalars(&output.value, r).as_ref() != Some(&first)) {
            return None;
        }
    }
    let first = per_row[0];
    Some(format!("{} = {}", first.name, row_scalars(&first.value, 0)?.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")))
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
        let out = TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).unwrap());
        let runner = MockRunner::new(
            vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(2)])],
            Ok(vec![NamedOutput { name: "y".into(), value: OutputValue::Tensor(out) }]),
        );
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        OutputSanity.run(&ctx)
    }

    #[test]
    fn nan_outputs_fail() {
        let outcome = sanity(vec![0.1, f32::NAN, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.summary, "output 'y' has 1 NaN/Inf value(s) on varied synthetic input");
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
