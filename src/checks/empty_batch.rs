//! Empty batch: a request with zero rows must give empty outputs or a clean error. Runs as a
//! probe in a child process, so a runtime that crashes on it fails the check, not the audit.

use super::{AuditContext, Check, Outcome};
use crate::probe::{ProbeKind, ProbeResult};

pub struct EmptyBatch;

impl Check for EmptyBatch {
    fn id(&self) -> &'static str {
        "empty_batch"
    }

    fn description(&self) -> &'static str {
        "a 0-row request returns empty outputs or a clean error"
    }

    fn explanation(&self) -> &'static str {
        "What: runs the model on a batch with zero rows (same inputs, same types), in a child process. \
         Empty outputs or a clean runtime error pass; outputs with rows, a crash or a timeout fail.\n\
         Why: empty requests happen (a filter that matched nothing, a client bug). A model that returns \
         rows for no input, or crashes the server, turns a harmless request into an outage or wrong data.\n\
         Fix: guard the serving path against empty batches, or export the model with a dynamic batch \
         dimension so the runtime returns empty outputs."
    }

    fn runs_model(&self) -> bool {
        true
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let (runner, base, source) = match ctx.request() {
            Ok(request) => request,
            Err(skip) => return skip,
        };
        // A clean error on 0 rows means nothing when one row fails too.
        let reference = match runner.run(&base) {
            Ok(outputs) => outputs,
            Err(error) => {
                let rejected = || Outcome::skip(format!("the model rejects the {} itself ({})", source.label(), first_line(&error.message)));
                return super::stopped_at_limit(&error).unwrap_or_else(rejected);
            }
        };
        let per_row = super::per_row_outputs(&reference, ctx.axes().rows(&base));
        match ctx.run_probe(ProbeKind::EmptyBatch, &base) {
            ProbeResult::NotApplicable(reason) => Outcome::skip(reason),
            ProbeResult::CleanError(error) => Outcome::pass("clean error on a 0-row batch")
                .with_details([format!("runtime: {}", first_line(&error)), format!("built from {}", source.label())])
                .with_details(ctx.axes().fixed.map(|b| format!("the model fixes its batch size at {b}")))
                .with_metric("result", "clean_error"),
            ProbeResult::Output { outputs, .. } => {
                // Only outputs with a row per request row must be empty: a state [2, 0, 128] is not.
                let non_empty: Vec<String> = outputs
                    .iter()
                    .filter(|o| per_row.contains(&o.name))
                    .filter_map(|o| o.rows.filter(|&r| r > 0).map(|r| format!("output '{}' has {r} rows", o.name)))
                    .collect();
                if non_empty.is_empty() {
                    Outcome::pass("empty outputs for a 0-row batch").with_metric("result", "empty_output")
                } else {
                    Outcome::fail("a 0-row batch produced rows").with_details(non_empty).with_metric("result", "garbage")
                }
            }
            ProbeResult::Crash(message) => Outcome::fail(format!("the runtime crashed on a 0-row batch: {message}")).with_metric("result", "crash"),
            ProbeResult::Timeout(limit) => {
                Outcome::fail(format!("a 0-row batch ran past the {:.0} s limit", limit.as_secs_f64())).with_metric("result", "timeout")
            }
        }
    }
}

/// A runtime message on one line (ONNX Runtime puts the useful part, the index and sizes of a
/// shape error, on its later lines), at most 400 characters.
pub fn first_line(text: &str) -> String {
    super::one_line(text, 400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::checks::mock::MockRunner;
    use crate::config::Config;
    use crate::runtime::{ElementType, InferenceError, IoSpec, NamedOutput, OutputValue, TensorData};

    fn run_with(result: Result<Vec<NamedOutput>, InferenceError>) -> (Outcome, Vec<usize>) {
        let one_row = TensorData::filled(ElementType::Int64, &[1]).unwrap();
        let mut runner = MockRunner::new(
            vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(4)])],
            Ok(vec![NamedOutput { name: "label".into(), value: OutputValue::Tensor(one_row) }]),
        );
        runner.empty_result = Some(result);
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        let outcome = EmptyBatch.run(&ctx);
        let rows = runner.runs.lock().unwrap().clone();
        (outcome, rows)
    }

    #[test]
    fn a_clean_error_passes() {
        let (outcome, rows) = run_with(Err(InferenceError::new("Invalid input shape")));
        assert_eq!(outcome.status, Status::Pass);
        assert!(outcome.details[0].contains("Invalid input shape"));
        // One valid row first, then all probes together; the empty batch goes first, with 0 rows.
        assert_eq!(rows.get(..2), Some(&[1, 0][..]));
    }

    #[test]
    fn a_model_that_rejects_one_row_too_is_not_judged() {
        let runner = MockRunner::new(vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(4)])], Err(InferenceError::new("bad input")));
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        let outcome = EmptyBatch.run(&ctx);
        assert_eq!((outcome.status, outcome.summary.as_str()), (Status::Skip, "the model rejects the synthetic input itself (bad input)"));
    }

    #[test]
    fn rows_out_of_nothing_fail() {
        let out = TensorData::filled(ElementType::Int64, &[2]).unwrap();
        let (outcome, _) = run_with(Ok(vec![NamedOutput { name: "label".into(), value: OutputValue::Tensor(out) }]));
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.details, vec!["output 'label' has 2 rows"]);
    }

    #[test]
    fn empty_outputs_pass() {
        let out = TensorData::filled(ElementType::Int64, &[0]).unwrap();
        let (outcome, _) = run_with(Ok(vec![NamedOutput { name: "label".into(), value: OutputValue::Tensor(out) }]));
        assert_eq!(outcome.status, Status::Pass);
    }
}
