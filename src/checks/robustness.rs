//! Robustness: negative probes (missing column, wrong dtype, NaN, ±Inf, oversized batch), each
//! in a child process with a time limit. A clean error or valid output passes; garbage (NaN/Inf
//! output, wrong row count), a crash or a timeout fails; a malformed request that is silently
//! accepted warns.

use std::collections::BTreeSet;

use super::{AuditContext, Check, InputSource, Outcome, Status};
use crate::probe::{OutputSummary, ProbeKind, ProbeResult};
use crate::runtime::Batch;
use crate::sandbox::budget::Bound;

pub struct Robustness;

/// A probe's outcome as reported: status, outcome name, and what happened.
pub struct Judged {
    pub status: Status,
    pub outcome: &'static str,
    pub text: String,
}

/// Judges one probe result. `per_row` names the outputs that have one row per input row;
/// `base_non_finite`: the valid request the probes start from already gives NaN/Inf.
pub fn judge(kind: ProbeKind, result: &ProbeResult, per_row: &BTreeSet<String>, base_non_finite: bool) -> Judged {
    let judged = |status, outcome, text: String| Judged { status, outcome, text };
    match result {
        ProbeResult::NotApplicable(reason) => judged(Status::Skip, "not applicable", reason.clone()),
        ProbeResult::CleanError(message) => judged(Status::Pass, "clean error", super::empty_batch::first_line(message)),
        ProbeResult::Crash(message) => judged(Status::Fail, "crash", message.clone()),
        ProbeResult::Timeout(limit) => judged(Status::Fail, "timeout", format!("killed after {:.0} s", limit.as_secs_f64())),
        ProbeResult::Output { rows, outputs } => match garbage(*rows, outputs, per_row) {
            Some(Garbage::NonFinite(problem)) if base_non_finite => {
                judged(Status::Skip, "not judged", format!("{problem}, but the request it was built from gives NaN/Inf already (see output_sanity)"))
            }
            // NaN in, NaN out is IEEE arithmetic, not a model bug: the serving path must
            // validate inputs. It warns; NaN from finite input fails in output_sanity.
            Some(Garbage::NonFinite(problem)) if matches!(kind, ProbeKind::Nan | ProbeKind::PosInf | ProbeKind::NegInf) => {
                judged(Status::Warn, "garbage", format!("{problem}: non-finite input propagates, validate inputs before inference"))
            }
            Some(Garbage::NonFinite(problem) | Garbage::WrongRows(problem)) => judged(Status::Fail, "garbage", problem),
            None if matches!(kind, ProbeKind::MissingInput | ProbeKind::WrongDtype) => {
                judged(Status::Warn, "valid output", "the model answered a malformed request instead of refusing it".to_string())
            }
            None => judged(Status::Pass, "valid output", format!("{rows} row(s) of finite output")),
        },
    }
}

/// What makes an output garbage.
enum Garbage {
    NonFinite(String),
    WrongRows(String),
}

/// A per-row output whose row count is not the request's, or NaN/Inf anywhere.
fn garbage(rows: usize, outputs: &[OutputSummary], per_row: &BTreeSet<String>) -> Option<Garbage> {
    let wrong_rows = outputs.iter().filter(|o| per_row.contains(&o.name)).find(|o| o.rows != Some(rows)).map(|o| {
        Garbage::WrongRows(format!("output '{}' has {} row(s) for a request of {rows}", o.name, o.rows.map_or("no".into(), |r| r.to_string())))
    });
    wrong_rows.or_else(|| {
        outputs
            .iter()
            .find(|o| o.non_finite > 0)
            .map(|bad| Garbage::NonFinite(format!("output '{}' has {} NaN/Inf value(s)", bad.name, bad.non_finite)))
    })
}

impl Check for Robustness {
    fn id(&self) -> &'static str {
        "robustness"
    }

    fn description(&self) -> &'static str {
        "malformed, non-finite and oversized requests give a clean error or valid output, never a crash"
    }

    fn explanation(&self) -> &'static str {
        "What: sends requests a serving path will eventually receive, built from one valid request: one \
         input (or column) missing, a string where a number is expected (or the reverse), every float \
         NaN, +Inf, -Inf, and a batch of `oversized_rows` rows. Each runs in a child process of ready with \
         a time limit (`timeout_s`). A clean error or valid output passes; garbage (NaN/Inf in an output, \
         a per-row output with the wrong number of rows), a crash (abort, segfault) or a timeout fails; \
         a malformed request that is answered instead of refused warns.\n\
         Why: a model that fails silently is worse than one not deployed: NaN probabilities, a crashed \
         worker or a request that hangs reach users as wrong answers or outages.\n\
         Fix: validate requests before inference (reject missing fields, non-finite values, batches over \
         a limit), replace NaN-propagating preprocessing with imputation inside the exported pipeline, \
         and cap batch sizes in the server."
    }

    fn runs_model(&self) -> bool {
        true
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let (runner, base, source) = match ctx.request() {
            Ok(request) => request,
            Err(skip) => return skip,
        };
        let reference = match runner.run(&base) {
            Ok(outputs) => outputs,
            Err(error) => {
                if let Some(stopped) = super::stopped_at_limit(&error) {
                    return stopped;
                }
                let why = super::empty_batch::first_line(&error.message);
                return match source {
                    InputSource::Sample => Outcome::skip(format!("the sample request itself fails ({why}); see schema_parity")),
                    InputSource::Synthetic | InputSource::Configured => Outcome::skip(format!(
                        "the model rejects the {} ({why}); pass --sample with real rows or describe the inputs in the config",
                        source.label()
                    )),
                };
            }
        };
        let base_rows = ctx.axes().rows(&base);
        let per_row = super::per_row_outputs(&reference, base_rows);
        let base_non_finite = reference.iter().any(|o| o.value.non_finite_count() > 0);
        let mut details = Vec::new();
        let mut worst = Status::Pass;
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        let mut metrics = serde_json::Map::new();
        let mut headline = None;
        let mut limit = None;
        let mut limit_reason = None;
        for kind in ProbeKind::NEGATIVE {
            let result = ctx.run_probe(kind, &base);
            let mut judged = judge(kind, &result, &per_row, base_non_finite);
            if kind == ProbeKind::Oversized {
                (judged, limit) = judge_oversized(ctx, &base, &result, judged);
                if let (Some(_), ProbeResult::CleanError(message) | ProbeResult::Crash(message)) = (limit, &result) {
                    limit_reason = Some(format!("oversized batch: the runtime said: {}", super::empty_batch::first_line(message)));
                }
            }
            *counts.entry(judged.outcome).or_default() += 1;
            details.push(format!("{}: {}: {}", kind.label(), judged.outcome, judged.text));
            metrics.insert(serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(), judged.outcome.into());
            if judged.status > worst && judged.status != Status::Skip {
                worst = judged.status;
                headline = Some(format!("{}: {} ({})", kind.label(), judged.outcome, judged.text));
            }
        }
        let isolation = if ctx.probes.is_some() { "each ran in a child process" } else { "each ran in this process" };
        details.push(format!("probes built from one request of {}; {isolation}; {}", source.label(), ctx.axes().describe()));
        let tally: Vec<String> = counts.iter().map(|(outcome, n)| format!("{n} {outcome}")).collect();
        let summary = headline.unwrap_or_else(|| format!("{} probes: {}", ProbeKind::NEGATIVE.len(), tally.join(", ")));
        let outcome = match worst {
            Status::Fail => Outcome::fail(summary),
            Status::Warn => Outcome::warn(summary),
            _ => Outcome::pass(summary),
        };
        details.extend(limit_reason);
        let outcome = outcome.with_details(details).with_metric("probes", serde_json::Value::Object(metrics));
        match limit {
            Some(l) => outcome.with_metric("largest_batch_rows", l.fits).with_metric("failing_batch_rows", l.fails),
            None => outcome,
        }
    }
}

/// Where a growing batch stops working: `fits` rows ran, `fails` rows did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimit {
    pub fits: usize,
    pub fails: usize,
}

/// When the oversized probe failed (error or crash) but one row runs, halves the batch until a
/// size runs: a failure that depends on the batch size is the model running out of memory (or
/// another size limit), never a "clean error". Warns with the largest batch that fits; fails when
/// that is below the serving path's declared cap (`max_batch_rows`).
///
/// Under a memory budget the probe child sized the batch from a measured small batch (see
/// `sandbox::budget`): under the probe limit a smaller batch that ran is grown back up the
/// halving chain to find the same boundary; under what the budget leaves (ready's own limit, not
/// the model's), the probe reports the largest batch that ran and the budget.
fn judge_oversized(ctx: &AuditContext<'_>, base: &Batch, result: &ProbeResult, judged: Judged) -> (Judged, Option<BatchLimit>) {
    // A model that fixes its batch size refuses any other size: nothing to search.
    if ctx.axes().fixed.is_some() {
        return (judged, None);
    }
    let config = &ctx.config.checks.robustness;
    let sizing = ctx.probes.and_then(|p| p.sizing());
    let tried = sizing.map_or_else(|| crate::probe::oversized_batch_rows(base, ctx.axes(), config.oversized_rows), |s| s.rows);
    let budget_bound = sizing.filter(|s| s.limit.bound == Bound::Budget);
    let run = |rows| ctx.run_probe_rows(base, rows);
    let limit = match (result, sizing) {
        (ProbeResult::CleanError(_) | ProbeResult::Crash(_), _) => find_batch_limit(run, tried),
        (ProbeResult::Output { .. }, Some(s)) if judged.status == Status::Pass && s.rows < s.wanted => {
            if let Some(s) = budget_bound {
                let text = format!(
                    "{} of the {} rows asked for (checks.robustness.oversized_rows) ran, with finite output: {} (the probe had {} to spare under its {} limit, about {} a row by a measured estimate); raise {} to try {} rows",
                    s.rows,
                    s.wanted,
                    budget_limited(ctx),
                    crate::artifact::human_size(s.available_bytes),
                    mib(s.limit.bytes),
                    crate::artifact::human_size(s.per_row_bytes),
                    what_to_raise(ctx),
                    s.wanted
                );
                return (Judged { text, ..judged }, None);
            }
            grow_batch_limit(run, &halving_chain(s.wanted), s.rows)
        }
        _ => return (judged, None),
    };
    let Some(limit) = limit else { return (judged, None) };
    if limit.fits == 1 {
        let text = format!("{}; the model takes one row per request (2 rows fail too)", judged.text);
        return (Judged { text, ..judged }, Some(limit));
    }
    let memory = match budget_bound {
        // ready's own budget stopped the batch, not the model's memory limit: not a finding.
        Some(s) => {
            let text = format!(
                "{} of the {} rows asked for (checks.robustness.oversized_rows) ran, with finite output: {} ({} left for the probe; {} rows did not run); raise {} to try {} rows",
                limit.fits,
                s.wanted,
                budget_limited(ctx),
                mib(s.limit.bytes),
                limit.fails,
                what_to_raise(ctx),
                s.wanted
            );
            return (Judged { status: Status::Pass, outcome: "valid output", text }, None);
        }
        None => format!("{:.0} MiB probe limit", ctx.config.limits.probe_memory_mb),
    };
    let found = format!("between {} and {} rows under the {memory}", limit.fits, limit.fails);
    let judged = match config.max_batch_rows {
        None => Judged { status: Status::Warn, outcome: "out of memory", text: format!("{found}; cap batches at {} rows", limit.fits) },
        Some(cap) if cap <= limit.fits || (cap < limit.fails && matches!(ctx.run_probe_rows(base, cap), ProbeResult::Output { .. })) => {
            Judged { status: Status::Pass, outcome: "out of memory", text: format!("{found}; within the serving cap max_batch_rows = {cap}") }
        }
        Some(cap) => {
            Judged { status: Status::Fail, outcome: "out of memory", text: format!("{found}: below the serving cap max_batch_rows = {cap}") }
        }
    };
    (judged, Some(limit))
}

/// `ready's memory budget (1024 MiB, the default) limited the batch`: the budget and where it came from.
fn budget_limited(ctx: &AuditContext<'_>) -> String {
    let limits = &ctx.config.limits;
    let source = match (&limits.memory_budget_from, limits.memory_budget_set) {
        (Some(at), _) => format!(", the limit declared at {at}"),
        (None, true) => ", limits.memory_budget_mb".to_string(),
        (None, false) => ", the default".to_string(),
    };
    format!("ready's memory budget ({}{source}) limited the batch", mib(mib_to_bytes(limits.memory_budget_mb)))
}

/// What to raise for a larger oversized batch: the config's budget, or the manifest's limit
/// the budget came from.
fn what_to_raise(ctx: &AuditContext<'_>) -> &'static str {
    match ctx.config.limits.memory_budget_from {
        Some(_) => "that limit or set limits.memory_budget_mb",
        None => "limits.memory_budget_mb",
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes / crate::sandbox::budget::MIB)
}

fn mib_to_bytes(mb: f64) -> u64 {
    (mb * 1024.0 * 1024.0) as u64
}

/// The sizes the halving search walks from `wanted`: `wanted`, `wanted / 2`, ..., 1.
pub fn halving_chain(wanted: usize) -> Vec<usize> {
    std::iter::successors(Some(wanted), |&rows| (rows > 1).then_some(rows / 2)).collect()
}

/// From `fits` rows that ran, tries the next larger sizes of `chain` until one fails: where
/// the batch stops fitting (`None`: all ran, or a run timed out and nothing was learned).
pub fn grow_batch_limit(run: impl Fn(usize) -> ProbeResult, chain: &[usize], fits: usize) -> Option<BatchLimit> {
    let start = fits;
    let mut fits = fits;
    for &rows in chain.iter().rev().filter(|&&rows| rows > start) {
        match run(rows) {
            ProbeResult::Output { .. } => fits = rows,
            ProbeResult::Timeout(_) | ProbeResult::NotApplicable(_) => return None,
            ProbeResult::CleanError(_) | ProbeResult::Crash(_) => return Some(BatchLimit { fits, fails: rows }),
        }
    }
    None
}

/// Halves `failed` rows until `run` gives output: `None` when a run times out (nothing learned).
pub fn find_batch_limit(run: impl Fn(usize) -> ProbeResult, failed: usize) -> Option<BatchLimit> {
    let mut fails = failed;
    while fails > 1 {
        let half = fails / 2;
        match run(half) {
            ProbeResult::Output { .. } => return Some(BatchLimit { fits: half, fails }),
            ProbeResult::Timeout(_) | ProbeResult::NotApplicable(_) => return None,
            ProbeResult::CleanError(_) | ProbeResult::Crash(_) => fails = half,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn per_row() -> BTreeSet<String> {
        ["label".to_string()].into_iter().collect()
    }

    fn output(rows: usize, non_finite: usize) -> ProbeResult {
        ProbeResult::Output { rows, outputs: vec![OutputSummary { name: "label".into(), rows: Some(rows), non_finite }] }
    }

    #[test]
    fn each_outcome_maps_to_its_status() {
        let cases = [
            (ProbeKind::Nan, ProbeResult::CleanError("bad".into()), Status::Pass, "clean error"),
            (ProbeKind::Nan, output(1, 0), Status::Pass, "valid output"),
            (ProbeKind::Nan, output(1, 2), Status::Warn, "garbage"),
            (ProbeKind::Oversized, output(4096, 2), Status::Fail, "garbage"),
            (ProbeKind::MissingInput, output(1, 0), Status::Warn, "valid output"),
            (ProbeKind::Oversized, ProbeResult::Crash("signal 11".into()), Status::Fail, "crash"),
            (ProbeKind::Oversized, ProbeResult::Timeout(Duration::from_secs(5)), Status::Fail, "timeout"),
            (ProbeKind::Nan, ProbeResult::NotApplicable("no float input".into()), Status::Skip, "not applicable"),
        ];
        for (kind, result, status, outcome) in cases {
            let judged = judge(kind, &result, &per_row(), false);
            assert_eq!((judged.status, judged.outcome), (status, outcome), "{kind:?} {result:?}");
        }
    }

    #[test]
    fn a_per_row_output_with_the_wrong_row_count_is_garbage() {
        let result = ProbeResult::Output { rows: 4096, outputs: vec![OutputSummary { name: "label".into(), rows: Some(1), non_finite: 0 }] };
        let judged = judge(ProbeKind::Oversized, &result, &per_row(), false);
        assert_eq!(judged.status, Status::Fail);
        assert_eq!(judged.text, "output 'label' has 1 row(s) for a request of 4096");
        // An output that is not per-row (a summary) may have any row count.
        assert_eq!(judge(ProbeKind::Oversized, &result, &BTreeSet::new(), false).status, Status::Pass);
    }

    #[test]
    fn nan_inherited_from_the_base_request_is_not_blamed_on_the_probe() {
        let judged = judge(ProbeKind::Oversized, &output(4096, 2), &per_row(), true);
        assert_eq!((judged.status, judged.outcome), (Status::Skip, "not judged"));
    }

    #[test]
    fn halving_finds_where_a_growing_batch_stops_fitting() {
        let run = |rows: usize| if rows <= 1400 { output(rows, 0) } else { ProbeResult::CleanError("Failed to allocate memory".into()) };
        assert_eq!(find_batch_limit(run, 4096), Some(BatchLimit { fits: 1024, fails: 2048 }));
        let refuses = |rows: usize| if rows == 1 { output(1, 0) } else { ProbeResult::CleanError("batch must be 1".into()) };
        assert_eq!(find_batch_limit(refuses, 4096), Some(BatchLimit { fits: 1, fails: 2 }));
        let hangs = |_| ProbeResult::Timeout(Duration::from_secs(1));
        assert_eq!(find_batch_limit(hangs, 4096), None);
    }

    #[test]
    fn growing_from_a_budget_sized_batch_finds_the_boundary_halving_would() {
        let run = |rows: usize| if rows <= 300 { output(rows, 0) } else { ProbeResult::CleanError("Failed to allocate memory".into()) };
        let chain = halving_chain(4096);
        assert_eq!(chain, [4096, 2048, 1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1]);
        assert_eq!(grow_batch_limit(run, &chain, 128), Some(BatchLimit { fits: 256, fails: 512 }));
        assert_eq!(find_batch_limit(run, 4096), Some(BatchLimit { fits: 256, fails: 512 }));
        assert_eq!(grow_batch_limit(|rows: usize| output(rows, 0), &chain, 128), None, "every size up to 4096 ran");
        assert_eq!(halving_chain(1456)[..4], [1456, 728, 364, 182]);
    }
}
