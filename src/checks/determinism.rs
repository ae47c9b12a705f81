//! Determinism: the same input twice gives identical outputs, and a batch of N rows gives the
//! same outputs as the N rows run one at a time (within `atol`/`rtol`).

use super::{AuditContext, Check, Outcome};
use crate::compare::{first_value_mismatch, row_along, row_axis};

pub struct Determinism;

/// Rows compared one at a time against the batch (the first ones).
const MAX_SINGLE_ROWS: usize = 32;

impl Check for Determinism {
    fn id(&self) -> &'static str {
        "determinism"
    }

    fn description(&self) -> &'static str {
        "the same input gives the same output, and a batch agrees with its rows run one at a time"
    }

    fn explanation(&self) -> &'static str {
        "What: runs the sample (or a varied synthetic batch) twice and requires identical outputs; then \
         runs up to 32 of its rows one at a time and requires each to match its row of the batch output \
         within atol + rtol·|batch value| (labels and integers exactly).\n\
         Why: a model whose answer depends on what else is in the batch, or on the run, gives users \
         different answers for the same request and makes every bug report unreproducible. Causes: \
         random ops left in the graph (Dropout in training mode, RandomNormal), batch statistics \
         (BatchNorm in training mode), or numerically unstable reductions.\n\
         Fix: export in inference mode (model.eval() before torch.onnx.export), remove random ops, and \
         fix seeds in preprocessing that is part of the graph."
    }

    fn runs_model(&self) -> bool {
        true
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let runner = match ctx.runner() {
            Ok(r) => r,
            Err(skip) => return skip,
        };
        let rows_fit = ctx.budget_rows(8);
        let (batch, label) = match ctx.model_batch(rows_fit) {
            Ok((batch, source)) => (batch, source.label()),
            Err(reason) => return Outcome::skip(format!("cannot build inputs: {reason}")),
        };
        let first = match runner.run(&batch) {
            Ok(o) => o,
            Err(e) => {
                let rejected = || Outcome::skip(format!("the model rejected {label}: {}", super::empty_batch::first_line(&e.message)));
                return super::stopped_at_limit(&e).unwrap_or_else(rejected);
            }
        };
        let second = match runner.run(&batch) {
            Ok(o) => o,
            Err(e) => return Outcome::fail(format!("the same request failed the second time: {}", super::empty_batch::first_line(&e.message))),
        };
        for (a, b) in first.iter().zip(&second) {
            if let Some(mismatch) = first_value_mismatch(&b.value, &a.value, 0.0, 0.0) {
                return Outcome::fail(format!("output '{}' changed between two identical runs ({mismatch})", a.name));
            }
        }
        let mut details = vec![format!("two runs of {label} gave identical outputs")];
        if rows_fit < 8 && label != super::InputSource::Sample.label() {
            details.push(format!("{rows_fit} synthetic rows instead of 8: more would not fit the memory budget (limits.memory_budget_mb)"));
        }
        let axes = ctx.axes();
        let rows = axes.rows(&batch);
        let config = &ctx.config.checks.determinism;
        if axes.fixed.is_some() || !axes.has_batch() {
            details.push(format!("batch vs single rows: not applicable ({})", axes.describe()));
            return Outcome::pass(details[0].clone()).with_details(details);
        }
        if rows < 2 {
            details.push("batch vs single rows: not applicable (one row)".to_string());
            return Outcome::pass(details[0].clone()).with_details(details);
        }
        // Each output is compared along its own row axis: a `[classes, batch]` output has it second.
        let row_axes: Vec<Option<usize>> = first.iter().map(|o| row_axis(&o.value, rows)).collect();
        let compared: Vec<&str> = first.iter().zip(&row_axes).filter(|(_, a)| a.is_some()).map(|(o, _)| o.name.as_str()).collect();
        if compared.is_empty() {
            details.push(format!("batch vs single rows: not compared (no output has an axis of {rows}, one per request row)"));
            return Outcome::pass("identical on repeat; batch vs single rows not compared (no output has a row per input row)").with_details(details);
        }
        let checked = rows.min(MAX_SINGLE_ROWS);
        for row in 0..checked {
            let single = match runner.run(&axes.slice(&batch, row, row + 1)) {
                Ok(o) => o,
                Err(e) => return Outcome::fail(format!("row {row} fails alone but not in a batch: {}", super::empty_batch::first_line(&e.message))),
            };
            for ((in_batch, alone), axis) in first.iter().zip(&single).zip(&row_axes) {
                let Some(axis) = *axis else { continue }; // not a per-row output
                let (Some(expected), Some(actual)) = (row_along(&in_batch.value, axis, row), row_along(&alone.value, axis, 0)) else {
                    continue;
                };
                if let Some(mismatch) = first_value_mismatch(&actual, &expected, config.atol, config.rtol) {
                    return Outcome::fail(format!(
                        "row {row} of output '{}' differs between the batch of {rows} and a single-row run ({mismatch})",
                        in_batch.name
                    ))
                    .with_details(details);
                }
            }
        }
        details.push(format!(
            "{checked} row(s) run alone match the batch of {rows} in {} (atol {}, rtol {})",
            compared.join(", "),
            config.atol,
            config.rtol
        ));
        Outcome::pass(format!("identical on repeat; batch of {rows} = {checked} single-row runs")).with_details(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::checks::mock::MockRunner;
    use crate::config::Config;
    use crate::runtime::{ElementType, IoSpec, NamedOutput, OutputValue, TensorData};

    #[test]
    fn a_model_whose_rows_depend_on_the_batch_fails() {
        // The mock returns 8 rows for every request: a single-row run's row 0 is compared
        // with row r of the batch, and the values differ from row 1 on.
        let out = TensorData::I64(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[8]), (0..8).collect()).unwrap());
        let runner = MockRunner::new(
            vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(2)])],
            Ok(vec![NamedOutput { name: "label".into(), value: OutputValue::Tensor(out) }]),
        );
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        let outcome = Determinism.run(&ctx);
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.summary, "row 1 of output 'label' differs between the batch of 8 and a single-row run (value 0: got 0, expected 1)");
    }

    #[test]
    fn an_output_whose_rows_run_along_its_second_axis_is_compared_there() {
        // [4 features, 8 rows]: the batch axis is second; the mock answers the same for any
        // request, so a single-row run's column 0 is compared with column r of the batch.
        let out = TensorData::F32(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[4, 8]), (0..32).map(|v| v as f32).collect()).unwrap());
        let runner = MockRunner::new(
            vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(2)])],
            Ok(vec![NamedOutput { name: "y".into(), value: OutputValue::Tensor(out) }]),
        );
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        let outcome = Determinism.run(&ctx);
        assert_eq!(outcome.status, Status::Fail);
        assert!(outcome.summary.starts_with("row 1 of output 'y' differs between the batch of 8 and a single-row run"), "{}", outcome.summary);
    }
}
