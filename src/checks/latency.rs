//! Latency: warm-up runs, then timed single-row runs; nearest-rank percentiles compared with
//! the configured thresholds.

use std::ops::ControlFlow;
use std::time::Duration;

use super::{AuditContext, Check, InputSource, Outcome, single_request, static_batch_size};
use crate::progress::Progress;
use crate::runtime::tensor::format_ms;
use crate::stats::LatencySummary;

pub struct Latency;

impl Check for Latency {
    fn id(&self) -> &'static str {
        "latency"
    }

    fn description(&self) -> &'static str {
        "single-row latency percentiles after warm-up are within the configured thresholds"
    }

    fn explanation(&self) -> &'static str {
        "What: runs the model `warmup_runs` times untimed, then `runs` times timed, one row per request \
         (the first sample row, or a synthetic row built from the input types). Reports min, mean, p50, \
         p95, p99 and max with the nearest-rank method (each percentile is an observed run) and fails \
         when a configured threshold (p50_ms, p95_ms, p99_ms, max_ms) is exceeded. Thread and graph \
         optimization settings come from the config and are recorded in the report.\n\
         Why: a model that meets accuracy targets but misses its latency budget breaks the service \
         that calls it; tail latency (p99) is what users feel.\n\
         Fix: simplify the model (fewer trees, smaller depth, quantization), raise intra_op_threads, \
         enable graph optimization, or renegotiate the budget in the config."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let runner = match ctx.runner() {
            Ok(r) => r,
            Err(skip) => return skip,
        };
        let (batch, source) = match ctx.model_batch(1) {
            Ok(b) => b,
            Err(reason) => return Outcome::skip(format!("cannot build inputs: {reason}")),
        };
        let single = single_request(&batch, runner.inputs());
        let rows_per_run = static_batch_size(runner.inputs()).map_or(1, |b| b.max(0) as usize);
        let config = &ctx.config.checks.latency;
        let mut remaining = config.warmup_runs;
        if remaining > 0 {
            let warmup = runner.bench(&single, &mut |_| {
                remaining -= 1;
                if remaining == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            });
            if let Err(error) = warmup {
                return inference_failed(source, &error.0);
            }
        }
        let mut durations: Vec<Duration> = Vec::with_capacity(config.runs);
        let mut progress = Progress::new(config.runs as u64, "latency", ctx.show_progress);
        let timed = runner.bench(&single, &mut |elapsed| {
            durations.push(elapsed);
            progress.tick();
            if durations.len() >= config.runs { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        drop(progress);
        if let Err(error) = timed {
            return inference_failed(source, &error.0);
        }
        let Some(summary) = LatencySummary::from_durations(&durations) else {
            return Outcome::skip("no timed runs");
        };
        judge(&summary, config, ctx, source.label(), rows_per_run)
    }
}

/// A failed run on sample rows is the model's failure; on synthetic input it may be ready's
/// (zeros are not a valid shape or index tensor), so it only warns and asks for a sample.
fn inference_failed(source: InputSource, error: &str) -> Outcome {
    let reason = super::empty_batch::first_line(error);
    match source {
        InputSource::Sample => Outcome::fail(format!("inference on the sample failed: {reason}")),
        InputSource::Synthetic => Outcome::warn(format!("not timed: the model rejected synthetic input: {reason}"))
            .with_details(["pass --sample with real rows to time this model".to_string()]),
    }
}

fn judge(
    summary: &LatencySummary,
    config: &crate::config::LatencyConfig,
    ctx: &AuditContext<'_>,
    source: &str,
    rows_per_run: usize,
) -> Outcome {
    let ms = format_ms;
    let limits = [
        ("p50", summary.p50_ms, config.p50_ms),
        ("p95", summary.p95_ms, config.p95_ms),
        ("p99", summary.p99_ms, config.p99_ms),
        ("max", summary.max_ms, config.max_ms),
    ];
    let exceeded: Vec<String> = limits
        .iter()
        .filter_map(|(name, value, limit)| limit.filter(|l| value > l).map(|l| format!("{name} {} exceeds {}", ms(*value), ms(l))))
        .collect();
    let thresholds: Vec<String> =
        limits.iter().filter_map(|(name, _, limit)| limit.map(|l| format!("{name} ≤ {}", ms(l)))).collect();
    let line = format!(
        "p50 {}, p95 {}, p99 {}, max {} over {} runs",
        ms(summary.p50_ms),
        ms(summary.p95_ms),
        ms(summary.p99_ms),
        ms(summary.max_ms),
        summary.samples
    );
    let settings = &ctx.config.runtime;
    let mut details = vec![
        format!("min {}, mean {}", ms(summary.min_ms), ms(summary.mean_ms)),
        match rows_per_run {
            1 => format!("{} warm-up runs; one row of {source} per run; nearest-rank percentiles", config.warmup_runs),
            n => format!(
                "{} warm-up runs; {n} rows of {source} per run (the model's static batch size); nearest-rank percentiles",
                config.warmup_runs
            ),
        },
        format!(
            "intra_op_threads {}, inter_op_threads {}, graph_optimization {:?}",
            settings.intra_op_threads, settings.inter_op_threads, settings.graph_optimization
        ),
    ];
    if summary.samples < 100 {
        details.push(format!("only {} runs: p99 is the slowest run, not an estimate of the tail", summary.samples));
    }
    if thresholds.is_empty() {
        details.push("no thresholds configured".to_string());
    } else {
        details.push(format!("thresholds: {}", thresholds.join(", ")));
    }
    let peak = crate::machine::peak_rss_bytes();
    if let Some(peak) = peak {
        details.push(format!("peak memory after the timed runs: {}", crate::artifact::human_size(peak)));
    }
    let outcome = if exceeded.is_empty() {
        Outcome::pass(line)
    } else {
        Outcome::fail(exceeded.join("; ")).with_details([line])
    };
    outcome
        .with_details(details)
        .with_metric("runs", summary.samples)
        .with_metric("rows_per_run", rows_per_run)
        .with_metric("min_ms", summary.min_ms)
        .with_metric("mean_ms", summary.mean_ms)
        .with_metric("p50_ms", summary.p50_ms)
        .with_metric("p95_ms", summary.p95_ms)
        .with_metric("p99_ms", summary.p99_ms)
        .with_metric("max_ms", summary.max_ms)
        .with_metric("peak_rss_bytes", peak)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;
    use crate::checks::mock::MockRunner;
    use crate::config::Config;
    use crate::runtime::{ElementType, IoSpec};

    fn audit_latency(durations_ms: &[u64], edit: impl FnOnce(&mut Config)) -> Outcome {
        let mut runner = MockRunner::new(vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(4)])], Ok(vec![]));
        runner.durations = durations_ms.iter().map(|&ms| Duration::from_millis(ms)).collect();
        let mut config = Config::default();
        config.checks.latency.warmup_runs = 0;
        edit(&mut config);
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        Latency.run(&ctx)
    }

    #[test]
    fn percentiles_come_from_the_runner_timings() {
        let durations: Vec<u64> = (1..=100).collect();
        let outcome = audit_latency(&durations, |c| {
            c.checks.latency.runs = 100;
            c.checks.latency.p99_ms = None;
        });
        assert_eq!(outcome.status, Status::Pass);
        assert_eq!(outcome.metrics["p50_ms"], 50.0);
        assert_eq!(outcome.metrics["p99_ms"], 99.0);
        assert_eq!(outcome.metrics["max_ms"], 100.0);
        assert_eq!(outcome.summary, "p50 50 ms, p95 95 ms, p99 99 ms, max 100 ms over 100 runs");
    }

    #[test]
    fn a_threshold_over_its_limit_fails_naming_both_values() {
        let outcome = audit_latency(&[10, 10, 10, 80], |c| {
            c.checks.latency.runs = 4;
            c.checks.latency.p99_ms = Some(50.0);
        });
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.summary, "p99 80 ms exceeds 50 ms");
        assert!(outcome.details.iter().any(|d| d.contains("only 4 runs")));
    }

    #[test]
    fn a_rejected_synthetic_input_warns_instead_of_failing() {
        let runner = MockRunner::new(
            vec![IoSpec::tensor("shape", ElementType::Int64, &[Some(2)])],
            Err(crate::runtime::InferenceError("invalid expand shape".into())),
        );
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        let outcome = Latency.run(&ctx);
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(outcome.summary, "not timed: the model rejected synthetic input: invalid expand shape");
    }

    #[test]
    fn warm_up_runs_are_not_timed() {
        // The first run is slow (cold caches); one warm-up run absorbs it.
        let outcome = audit_latency(&[1000, 1, 1, 1], |c| {
            c.checks.latency.warmup_runs = 1;
            c.checks.latency.runs = 3;
            c.checks.latency.p99_ms = Some(5.0);
        });
        assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
    }
}
