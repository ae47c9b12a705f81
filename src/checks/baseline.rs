//! Baseline: compares this audit with an earlier JSON report (`--baseline previous.json`).
//! A p50 or p99 regression beyond `max_latency_regression` fails; a changed model hash is
//! reported; a changed input/output schema or different runtime settings warn.

use serde_json::Value;

use super::{AuditContext, Check, Outcome, Status};
use crate::report::Report;
use crate::runtime::tensor::format_ms;

pub struct Baseline;

impl Check for Baseline {
    fn id(&self) -> &'static str {
        "baseline"
    }

    fn description(&self) -> &'static str {
        "latency has not regressed and the schema has not changed since a baseline audit"
    }

    fn explanation(&self) -> &'static str {
        "What: with --baseline previous.json (an earlier `ready audit --format json`), compares p50 and p99 \
         latency (fails when either is slower by more than checks.baseline.max_latency_regression), the model's \
         SHA-256 (reported), the input/output schema (a change warns) and the runtime version and thread \
         settings (a difference warns: the latency comparison is then not like for like).\n\
         Why: a retrained or re-exported model can be slower or take different inputs without anyone \
         deciding so; comparing with the last audit of the main branch catches it at review time.\n\
         Fix: profile the new model, or accept the change by updating the baseline report the pipeline keeps."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let Some(previous) = ctx.baseline else {
            return Outcome::skip("no --baseline given");
        };
        let mut comparison = Comparison::default();
        compare_model(previous, &ctx.artifact.sha256, &mut comparison);
        let serialization = ctx.earlier_outcome("serialization");
        let previous_serialization = previous.check("serialization");
        for key in ["inputs", "outputs"] {
            let before = previous_serialization.and_then(|c| c.metrics.get(key));
            let now = serialization.as_ref().and_then(|o| o.metrics.get(key));
            if let (Some(before), Some(now)) = (before, now)
                && before != now
            {
                comparison.note(Status::Warn, format!("{key} changed: {} → {}", signature(before), signature(now)));
            }
        }
        compare_settings(previous, ctx, &mut comparison);
        let latency = ctx.earlier_outcome("latency");
        let previous_latency = previous.check("latency").map(|c| &c.metrics);
        let limit = ctx.config.checks.baseline.max_latency_regression;
        let floor = ctx.config.checks.baseline.min_regression_ms;
        let mut changes = Vec::new();
        for key in ["p50_ms", "p99_ms"] {
            let before = previous_latency.and_then(|m| m.get(key)).and_then(Value::as_f64);
            let now = latency.as_ref().and_then(|o| o.metrics.get(key)).and_then(Value::as_f64);
            match (before, now) {
                (Some(before), Some(now)) if before > 0.0 => {
                    let change = (now - before) / before;
                    let name = &key[..3];
                    changes.push(format!("{name} {:+.0}%", change * 100.0));
                    let line = format!("{name} {} → {} ({:+.1}%)", format_ms(before), format_ms(now), change * 100.0);
                    if change > limit && now - before > floor {
                        comparison.note(Status::Fail, format!("{line}, over the {:.0}% allowed", limit * 100.0));
                    } else if change > limit {
                        comparison.note(Status::Pass, format!("{line}: under the {} noise floor", format_ms(floor)));
                    } else {
                        comparison.note(Status::Pass, line);
                    }
                }
                _ => comparison.note(Status::Pass, format!("{key}: not measured in both audits")),
            }
        }
        let worst = comparison.worst();
        let headline = comparison.lines.iter().find(|(s, _)| *s == worst && worst != Status::Pass).map(|(_, l)| l.clone());
        let summary = match headline {
            Some(line) => line,
            None if changes.is_empty() => "nothing comparable in the baseline".to_string(),
            None => format!("{} vs baseline", changes.join(", ")),
        };
        let details = comparison.lines.into_iter().map(|(_, l)| l).collect::<Vec<_>>();
        match worst {
            Status::Fail => Outcome::fail(summary),
            Status::Warn => Outcome::warn(summary),
            _ => Outcome::pass(summary),
        }
        .with_details(details)
    }
}

#[derive(Default)]
struct Comparison {
    lines: Vec<(Status, String)>,
}

impl Comparison {
    fn note(&mut self, status: Status, line: String) {
        self.lines.push((status, line));
    }
    fn worst(&self) -> Status {
        self.lines.iter().map(|(s, _)| *s).max().unwrap_or(Status::Pass)
    }
}

fn compare_model(previous: &Report, sha256: &str, comparison: &mut Comparison) {
    let before = &previous.model.sha256;
    if before == sha256 {
        comparison.note(Status::Pass, "model unchanged (same SHA-256)".into());
    } else {
        comparison.note(Status::Pass, format!("model changed: sha256 {} → {}", short(before), short(sha256)));
    }
}

fn compare_settings(previous: &Report, ctx: &AuditContext<'_>, comparison: &mut Comparison) {
    let Some(before) = &previous.runtime else { return };
    if let Some(now) = ctx.runtime
        && before.version != now.version
    {
        comparison.note(Status::Warn, format!("ONNX Runtime {} → {}: latency is not compared like for like", before.version, now.version));
    }
    if before.settings != ctx.config.runtime {
        let show = |s| serde_json::to_value(s).unwrap_or_default();
        comparison.note(
            Status::Warn,
            format!("runtime settings differ: {} → {}: latency is not compared like for like", show(&before.settings), show(&ctx.config.runtime)),
        );
    }
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

fn signature(specs: &Value) -> String {
    let Some(items) = specs.as_array() else { return specs.to_string() };
    let parts: Vec<String> = items
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap_or("?");
            let ty = &s["type"];
            match (ty["element"].as_str(), ty["dims"].as_array()) {
                (Some(element), Some(dims)) => {
                    let dims: Vec<String> =
                        dims.iter().map(|d| if d.is_null() { "?".into() } else { d.to_string().trim_matches('"').to_string() }).collect();
                    format!("{name}: {element}[{}]", dims.join(","))
                }
                _ => format!("{name}: {}", ty["kind"].as_str().unwrap_or("?")),
            }
        })
        .collect();
    format!("({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::mock::MockRunner;
    use crate::config::Config;
    use crate::runtime::{ElementType, IoSpec};

    fn compare(previous: Report, p50: f64, p99: f64) -> Outcome {
        let runner = MockRunner::new(vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(4)])], Ok(vec![]));
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let mut ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        ctx.baseline = Some(&previous);
        let latency = Outcome::pass("timed").with_metric("p50_ms", p50).with_metric("p99_ms", p99);
        ctx.record("latency", &latency);
        Baseline.run(&ctx)
    }

    fn report(sha: &str, p50: f64, p99: f64) -> Report {
        let model =
            crate::report::ModelFacts { path: "m.onnx".into(), size_bytes: 1, sha256: sha.into(), format: crate::artifact::ArtifactFormat::Onnx };
        let latency = Outcome::pass("timed").with_metric("p50_ms", p50).with_metric("p99_ms", p99);
        let checks = vec![crate::report::CheckResult::new("latency", crate::config::Severity::Deny, latency)];
        Report::new(model, None, None, None, checks, false)
    }

    #[test]
    fn a_p99_regression_beyond_the_limit_fails() {
        let outcome = compare(report(&"0".repeat(64), 1.0, 2.0), 1.05, 3.0);
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.summary, "p99 2 ms → 3 ms (+50.0%), over the 20% allowed");
        assert!(outcome.details.contains(&"model unchanged (same SHA-256)".to_string()));
    }

    #[test]
    fn microsecond_jitter_under_the_floor_passes() {
        let outcome = compare(report(&"0".repeat(64), 0.005, 0.006), 0.008, 0.009);
        assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
        assert!(outcome.details.iter().any(|d| d.contains("under the 50 µs noise floor")), "{:?}", outcome.details);
    }

    #[test]
    fn small_changes_pass_and_a_new_model_is_reported() {
        let outcome = compare(report(&"a".repeat(64), 1.0, 2.0), 1.1, 1.9);
        assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
        assert_eq!(outcome.summary, "p50 +10%, p99 -5% vs baseline");
        assert!(outcome.details[0].starts_with("model changed: sha256 aaaaaaaaaaaa → 000000000000"));
    }

    #[test]
    fn without_a_baseline_the_check_is_skipped() {
        let runner = MockRunner::new(vec![], Ok(vec![]));
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        assert_eq!(Baseline.run(&ctx).status, Status::Skip);
    }
}
