//! Latency: warm-up (by count and time), timed runs that stop by count, by duration, or early
//! once every threshold is met by its upper confidence bound; nearest-rank percentiles with
//! their bounds; thresholds judged on the bound; latency per batch size; throughput at a
//! concurrency (threads sharing one session, and one session per thread); peak memory.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::{AuditContext, Check, InputSource, Outcome, Status};
use crate::config::LatencyConfig;
use crate::progress::Progress;
use crate::runtime::tensor::format_ms;
use crate::runtime::{Batch, InferenceError, ModelRunner};
use crate::stats::{LatencySummary, min_runs_for_bound, sorted_ms, upper_bound};

pub struct Latency;

/// The percentile thresholds: name, quantile, configured limit.
fn thresholds(config: &LatencyConfig) -> Vec<(&'static str, f64, f64)> {
    [
        ("p50", 0.50, config.p50_ms),
        ("p90", 0.90, config.p90_ms),
        ("p95", 0.95, config.p95_ms),
        ("p99", 0.99, config.p99_ms),
        ("p999", 0.999, config.p999_ms),
    ]
    .into_iter()
    .filter_map(|(name, q, limit)| limit.map(|l| (name, q, l)))
    .collect()
}

impl Check for Latency {
    fn id(&self) -> &'static str {
        "latency"
    }

    fn description(&self) -> &'static str {
        "latency percentiles, judged on upper confidence bounds, are within the thresholds"
    }

    fn explanation(&self) -> &'static str {
        "What: warms up (warmup_runs and warmup_seconds), then times requests of one row (the first sample \
         row, or a synthetic row; the model's static batch size if it fixes one) until `runs` or \
         `max_seconds`, or earlier once every threshold is met by its upper confidence bound (early_stop). \
         Reports min, mean, stddev, p50, p90, p95, p99, p999 and max with the nearest-rank method, each \
         percentile with the order-statistic upper bound at `confidence` (as MLPerf LoadGen: 64 runs bound \
         p90 and 662 bound p99 at 0.99). A threshold passes only when its bound is within it; too few runs \
         to bound a thresholded percentile warn. Also times each of `batch_sizes`, measures throughput with \
         `concurrency` threads (sharing one session, and one session each within the memory budget; \
         `throughput_seconds` or `runs` requests per mode, whichever comes first; not measured when one \
         request takes longer than `throughput_seconds`), and checks peak memory.\n\
         Why: a model that misses its latency budget breaks the service that calls it, and a p99 from 30 \
         runs is the slowest of 30, not a tail estimate.\n\
         Fix: simplify or quantize the model, raise intra_op_threads, enable graph optimization, or \
         renegotiate the budget; for trustworthy tails, allow more runs (runs, max_seconds)."
    }

    fn runs_model(&self) -> bool {
        true
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let (runner, base, source) = match ctx.request() {
            Ok(request) => request,
            Err(skip) => return skip,
        };
        let config = &ctx.config.checks.latency;
        // Sessions prepared in the background are waited for here, before anything is timed.
        let prepared = ctx.take_prepared_sessions();
        let warmed = match warm_up(runner, &base, config) {
            Ok(runs) => runs,
            Err(error) => return super::stopped_at_limit(&error).unwrap_or_else(|| inference_failed(source, &error.message)),
        };
        let axes = ctx.axes();
        let static_batch = axes.fixed.or_else(|| (!axes.has_batch()).then_some(1));
        let sizes: Vec<usize> = match static_batch {
            Some(b) => vec![b],
            None => config.batch_sizes.clone(),
        };
        let targets = thresholds(config);
        let mut progress = Progress::new((config.runs * sizes.len()) as u64, "latency", ctx.show_progress);
        let mut timed: Vec<(usize, Vec<f64>)> = Vec::new();
        for (index, &size) in sizes.iter().enumerate() {
            let request = if static_batch.is_some() || size == 1 { base.clone() } else { axes.repeat_first(&base, size) };
            let stop_targets = if index == 0 { targets.clone() } else { Vec::new() };
            match time_runs(runner, &request, config, &stop_targets, &mut progress) {
                Ok(durations) => timed.push((size, sorted_ms(&durations))),
                Err(error) => return super::stopped_at_limit(&error).unwrap_or_else(|| inference_failed(source, &error.message)),
            }
        }
        drop(progress);
        let Some((rows_per_run, sorted)) = timed.first().cloned() else {
            return Outcome::skip("no batch size to time");
        };
        let Some(summary) = LatencySummary::from_sorted_ms(&sorted) else {
            return Outcome::skip("no timed runs");
        };
        let mut verdicts = judge(&summary, &sorted, config);
        let mut outcome_details = Vec::new();
        let mut metrics = serde_json::Map::new();
        for (size, sorted) in timed.iter().skip(1) {
            if let Some(s) = LatencySummary::from_sorted_ms(sorted) {
                outcome_details.push(format!(
                    "batch of {size}: p50 {}, p99 {}, {:.0} rows/s",
                    format_ms(s.p50_ms),
                    format_ms(s.p99_ms),
                    *size as f64 / (s.mean_ms / 1e3)
                ));
                metrics.insert(size.to_string(), serde_json::to_value(&s).unwrap_or_default());
            }
        }
        let throughput = (config.concurrency > 0 && config.throughput_seconds > 0.0).then(|| {
            // A mode shorter than one request measures nothing: say so instead of spending it.
            if summary.p50_ms / 1e3 >= config.throughput_seconds {
                let why = format!(
                    "one request takes {} at p50, longer than throughput_seconds ({} s)",
                    format_ms(summary.p50_ms),
                    config.throughput_seconds
                );
                return Throughput { threads: config.concurrency, seconds: 0.0, shared: Err(why.clone()), per_thread: Err(why) };
            }
            let budget = (ctx.config.limits.memory_budget_mb * 1024.0 * 1024.0) as u64;
            let seconds = mode_seconds(config.throughput_seconds, summary.p50_ms, summary.mean_ms * summary.samples as f64 / 1e3);
            let forks = prepared.unwrap_or_else(|| per_thread_sessions(runner, config.concurrency, budget, session_bytes(ctx)));
            measure_throughput(runner, &base, config, seconds, forks)
        });
        if let Some(t) = &throughput {
            outcome_details.extend(t.lines());
        }
        let peak = crate::machine::peak_rss_bytes();
        if let Some(peak) = peak {
            let mib = peak as f64 / (1024.0 * 1024.0);
            let line = format!("peak memory after the timed runs: {}", crate::artifact::human_size(peak));
            match config.max_peak_rss_mb {
                Some(limit) if mib > limit => verdicts.push((Status::Fail, format!("{line} exceeds {limit} MiB"))),
                Some(limit) => outcome_details.push(format!("{line} (limit {limit} MiB)")),
                None => outcome_details.push(line),
            }
        }
        let settings = &ctx.config.runtime;
        // Too few runs bound no p99: say so instead of printing a bound of "?".
        let bound = match upper_bound(&sorted, 0.99, config.confidence) {
            Some(bound) => format!("≤ {} at {:.0}%", format_ms(bound), config.confidence * 100.0),
            None => format!("unbounded at {:.0}% with {} runs", config.confidence * 100.0, summary.samples),
        };
        let head = format!(
            "p50 {}, p99 {} ({bound}), max {} over {} runs",
            format_ms(summary.p50_ms),
            format_ms(summary.p99_ms),
            format_ms(summary.max_ms),
            summary.samples
        );
        let mut details = vec![
            format!(
                "min {}, mean {}, stddev {}, p90 {}, p95 {}, p999 {}",
                format_ms(summary.min_ms),
                format_ms(summary.mean_ms),
                format_ms(summary.stddev_ms),
                format_ms(summary.p90_ms),
                format_ms(summary.p95_ms),
                format_ms(summary.p999_ms)
            ),
            format!(
                "{} row(s) of {} per request{}; nearest-rank percentiles; bounds at {} confidence",
                rows_per_run,
                source.label(),
                if static_batch.is_some() { " (the model's static batch size)" } else { "" },
                config.confidence
            ),
            format!(
                "intra_op_threads {}, inter_op_threads {}, graph_optimization {:?}",
                settings.intra_op_threads, settings.inter_op_threads, settings.graph_optimization
            ),
            format!("{warmed} untimed warm-up run(s) first{}", if config.warmup_settle { ", until the latency settled" } else { "" }),
        ];
        // Say which input sizes were timed: a dynamic size ready had to guess makes the numbers a guess too.
        let synth = ctx.synthesizer().ok().filter(|_| source != InputSource::Sample);
        let shapes = synth.as_ref().map(|s| s.describe(1)).unwrap_or_default();
        let guessed = synth.as_ref().is_some_and(|s| s.guessed_any(1));
        details.extend(shapes.iter().map(|s| format!("timed input: {s}")));
        details.extend(verdicts.iter().map(|(s, t)| format!("{}: {t}", s.name())));
        details.extend(outcome_details);
        let worst = verdicts.iter().map(|(s, _)| *s).max().unwrap_or(Status::Pass);
        let summary_line = match verdicts.iter().find(|(s, _)| *s == worst && worst != Status::Pass) {
            Some((_, text)) => text.clone(),
            None => head,
        };
        let summary_line = if guessed { format!("{summary_line} (at guessed input sizes)") } else { summary_line };
        let outcome = match worst {
            Status::Fail => Outcome::fail(summary_line),
            Status::Warn => Outcome::warn(summary_line),
            _ => Outcome::pass(summary_line),
        };
        let mut outcome = outcome
            .with_details(details)
            .with_metric("runs", summary.samples)
            .with_metric("rows_per_run", rows_per_run)
            .with_metric("min_ms", summary.min_ms)
            .with_metric("mean_ms", summary.mean_ms)
            .with_metric("stddev_ms", summary.stddev_ms)
            .with_metric("p50_ms", summary.p50_ms)
            .with_metric("p90_ms", summary.p90_ms)
            .with_metric("p95_ms", summary.p95_ms)
            .with_metric("p99_ms", summary.p99_ms)
            .with_metric("p999_ms", summary.p999_ms)
            .with_metric("max_ms", summary.max_ms)
            .with_metric("confidence", config.confidence)
            .with_metric("warmup_runs", warmed)
            .with_metric("peak_rss_bytes", peak);
        for (name, quantile) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
            outcome = outcome.with_metric(&format!("{name}_upper_bound_ms"), upper_bound(&sorted, quantile, config.confidence));
        }
        if !metrics.is_empty() {
            outcome = outcome.with_metric("batch_sizes", serde_json::Value::Object(metrics));
        }
        if let Some(t) = throughput {
            outcome = outcome.with_metric("throughput", t.to_json());
        }
        outcome
    }
}

/// Each threshold judged on the upper bound of its percentile.
fn judge(summary: &LatencySummary, sorted: &[f64], config: &LatencyConfig) -> Vec<(Status, String)> {
    let mut verdicts = Vec::new();
    let estimate = |q: f64| crate::stats::percentile_nearest_rank(sorted, q * 100.0).unwrap_or(f64::NAN);
    for (name, quantile, limit) in thresholds(config) {
        let point = estimate(quantile);
        match upper_bound(sorted, quantile, config.confidence) {
            Some(bound) if bound <= limit => {
                verdicts.push((Status::Pass, format!("{name} ≤ {}: bound {} (estimate {})", format_ms(limit), format_ms(bound), format_ms(point))))
            }
            Some(bound) => verdicts
                .push((Status::Fail, format!("{name} bound {} exceeds {} (estimate {})", format_ms(bound), format_ms(limit), format_ms(point)))),
            None if point > limit => {
                verdicts.push((Status::Fail, format!("{name} {} exceeds {} (too few runs for a bound)", format_ms(point), format_ms(limit))))
            }
            None => verdicts.push((
                Status::Warn,
                format!(
                    "{} runs cannot bound {name} at {} confidence (needs {}): the {name} limit is not proven",
                    summary.samples,
                    config.confidence,
                    min_runs_for_bound(quantile, config.confidence)
                ),
            )),
        }
    }
    if let Some(limit) = config.max_ms {
        let status = if summary.max_ms > limit { Status::Fail } else { Status::Pass };
        verdicts.push((status, format!("max {} against a limit of {}", format_ms(summary.max_ms), format_ms(limit))));
    }
    verdicts
}

/// Untimed runs until `warmup_runs` and `warmup_seconds` (or, with `warmup_settle`, until the
/// latency settles after `warmup_seconds`): how many ran.
fn warm_up(runner: &dyn ModelRunner, request: &Batch, config: &LatencyConfig) -> Result<usize, InferenceError> {
    if config.warmup_runs == 0 && config.warmup_seconds <= 0.0 {
        return Ok(0);
    }
    let mut recent: Vec<Duration> = Vec::new();
    let mut spent = Duration::ZERO;
    let minimum = Duration::from_secs_f64(config.warmup_seconds.max(0.0));
    runner.bench(request, &mut |elapsed| {
        recent.push(elapsed);
        spent += elapsed;
        let enough = recent.len() >= config.warmup_runs || (config.warmup_settle && settled(&recent));
        if enough && spent >= minimum { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    Ok(recent.len())
}

/// Runs in a row that must agree for the latency to count as settled, and by how much.
const SETTLE_RUNS: usize = 3;
const SETTLE_RATIO: f64 = 1.2;

/// Whether the last [`SETTLE_RUNS`] runs lie within [`SETTLE_RATIO`] of each other.
fn settled(runs: &[Duration]) -> bool {
    let Some(last) = runs.len().checked_sub(SETTLE_RUNS).map(|start| &runs[start..]) else { return false };
    let (min, max) = last.iter().fold((Duration::MAX, Duration::ZERO), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
    max.as_secs_f64() <= min.as_secs_f64() * SETTLE_RATIO
}

/// The timing harness: times `request` until `runs`, `max_seconds` of measured time, or an early decision: every
/// target's upper bound within its limit (checked every 64 runs once a bound can exist).
pub fn time_runs(
    runner: &dyn ModelRunner,
    request: &Batch,
    config: &LatencyConfig,
    targets: &[(&'static str, f64, f64)],
    progress: &mut Progress,
) -> Result<Vec<Duration>, InferenceError> {
    let mut durations: Vec<Duration> = Vec::with_capacity(config.runs.min(1 << 20));
    let budget = Duration::from_secs_f64(config.max_seconds);
    let mut spent = Duration::ZERO;
    let needed = targets.iter().map(|(_, q, _)| min_runs_for_bound(*q, config.confidence)).max().unwrap_or(usize::MAX);
    runner.bench(request, &mut |elapsed| {
        durations.push(elapsed);
        spent += elapsed;
        progress.tick();
        let n = durations.len();
        if n >= config.runs || spent >= budget {
            return ControlFlow::Break(());
        }
        if config.early_stop && !targets.is_empty() && n >= needed && n.is_multiple_of(64) {
            let sorted = sorted_ms(&durations);
            let decided = targets.iter().all(|(_, q, limit)| upper_bound(&sorted, *q, config.confidence).is_some_and(|b| b <= *limit));
            if decided {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    Ok(durations)
}

/// Requests per second and latency under load, for one sharing mode.
#[derive(Debug, Clone)]
struct Load {
    requests: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

struct Throughput {
    threads: usize,
    /// How long each mode could run (see [`mode_seconds`]).
    seconds: f64,
    shared: Result<Load, String>,
    per_thread: Result<Load, String>,
}

impl Throughput {
    fn lines(&self) -> Vec<String> {
        let show = |mode: &str, load: &Result<Load, String>| match load {
            Ok(l) => format!(
                "throughput, {} threads {mode}: {:.0} requests/s (p50 {}, p99 {} under load, {} requests)",
                self.threads,
                l.rps,
                format_ms(l.p50_ms),
                format_ms(l.p99_ms),
                l.requests
            ),
            Err(e) => format!("throughput, {} threads {mode}: not measured ({e})", self.threads),
        };
        vec![show("sharing one session", &self.shared), show("with a session each", &self.per_thread)]
    }

    fn to_json(&self) -> serde_json::Value {
        let load = |l: &Result<Load, String>| match l {
            Ok(l) => serde_json::json!({"requests": l.requests, "requests_per_second": l.rps, "p50_ms": l.p50_ms, "p99_ms": l.p99_ms}),
            Err(e) => serde_json::json!({"error": e}),
        };
        serde_json::json!({
            "threads": self.threads,
            "seconds_per_mode": self.seconds,
            "shared_session": load(&self.shared),
            "session_per_thread": load(&self.per_thread)
        })
    }
}

/// The share of the timed runs' measured time each throughput mode may take...
const THROUGHPUT_SHARE: f64 = 0.05;
/// ...but never less than this many requests' time at the p50...
const THROUGHPUT_MIN_REQUESTS: f64 = 64.0;
/// ...nor less than this (starting the threads alone takes tens of microseconds).
const THROUGHPUT_MIN_SECONDS: f64 = 0.02;

/// Seconds each throughput mode may run: `throughput_seconds`, or less when that would be a
/// large share of a short audit: 5% of the time the timed runs took (`timed_seconds`), or 64
/// requests at the p50, or 20 ms, whichever is longest. The modes also end after `runs` requests.
fn mode_seconds(throughput_seconds: f64, p50_ms: f64, timed_seconds: f64) -> f64 {
    let proportional = (THROUGHPUT_SHARE * timed_seconds).max(THROUGHPUT_MIN_REQUESTS * p50_ms / 1e3).max(THROUGHPUT_MIN_SECONDS);
    throughput_seconds.min(proportional)
}

/// Runs `threads` threads for `seconds` or until `max_requests` requests in all, each looping
/// over `request`.
fn load_test(runners: &[&dyn ModelRunner], request: &Batch, seconds: f64, max_requests: usize) -> Result<Load, String> {
    let deadline = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let done = &done;
    let results: Vec<Result<Vec<Duration>, InferenceError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = runners
            .iter()
            .map(|runner| {
                scope.spawn(move || {
                    let mut durations = Vec::new();
                    runner
                        .bench(request, &mut |d| {
                            durations.push(d);
                            let total = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if total >= max_requests || started.elapsed() >= deadline { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
                        })
                        .map(|()| durations)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(InferenceError::new("a load thread panicked")))).collect()
    });
    let wall = started.elapsed().as_secs_f64();
    let mut all = Vec::new();
    for result in results {
        all.extend(result.map_err(|e| e.message)?);
    }
    let sorted = sorted_ms(&all);
    let summary = LatencySummary::from_sorted_ms(&sorted).ok_or("no request completed")?;
    Ok(Load { requests: sorted.len(), rps: sorted.len() as f64 / wall.max(1e-9), p50_ms: summary.p50_ms, p99_ms: summary.p99_ms })
}

/// Both throughput modes, each for `seconds`. The per-thread mode gives the loaded session to
/// the first thread and `forks` (from [`per_thread_sessions`], created by the audit while the
/// checks before this one ran, or just now) to the others.
///
/// Why not one session run from several threads at once: ONNX Runtime documents `Run` as
/// thread-safe, but `ort` 2.0.0-rc.15 takes `&mut self` in every public run method on purpose
/// (`src/session/run.rs`, `run_inner`: its author holds that `Run` is not thread-safe in
/// practice, some allocators and statistics trackers inside it not being so, and forbids
/// calling the internal `&self` path concurrently; `Session`'s own documentation recommends a
/// session per thread; rc.13 is the same). The only other way, the C API's `Run` on
/// `Session::ptr()`, would bypass exactly that guard, and ready's per-session time limit (one
/// `RunOptions` whose terminate flag one watchdog arms per run) serves one run at a time. So
/// the shared mode serializes its threads on one session, and concurrency needs a session per
/// thread, capped by the memory budget.
fn measure_throughput(
    runner: &dyn ModelRunner,
    request: &Batch,
    config: &LatencyConfig,
    seconds: f64,
    forks: Result<Vec<Box<dyn ModelRunner>>, String>,
) -> Throughput {
    let (threads, max_requests) = (config.concurrency, config.runs);
    let shared_runners: Vec<&dyn ModelRunner> = (0..threads).map(|_| runner).collect();
    let shared = load_test(&shared_runners, request, seconds, max_requests);
    let per_thread = forks.and_then(|forks| {
        let refs: Vec<&dyn ModelRunner> = std::iter::once(runner).chain(forks.iter().map(|f| f.as_ref())).collect();
        load_test(&refs, request, seconds, max_requests)
    });
    Throughput { threads, seconds, shared, per_thread }
}

/// What the runtime's first session in a process takes once, beyond the model (kernel
/// registries, allocators): measured with iris_rf.onnx, 9 MiB for the first session and 0.2 MiB
/// for the next.
pub const FIRST_SESSION_OVERHEAD: u64 = 16 << 20;

/// What one more session of the model is estimated to cost before one is made: the model
/// file, or what creating ready's own session of it added to ready's memory (less
/// [`FIRST_SESSION_OVERHEAD`]) when that is more: weights built at load time
/// (light_resnet50.onnx: a 78 KiB file, 240 MiB loaded, 264 MiB for a second session).
pub fn session_bytes(ctx: &AuditContext<'_>) -> u64 {
    let loaded = ctx.cold_start.and_then(|c| c.load_rss_bytes).unwrap_or(0);
    ctx.artifact.size_bytes.max(loaded.saturating_sub(FIRST_SESSION_OVERHEAD))
}

/// `threads - 1` more sessions of the model, within the memory budget; `model_bytes`: what one
/// is estimated to cost ([`session_bytes`]) until the first one made measures it.
pub fn per_thread_sessions(runner: &dyn ModelRunner, threads: usize, budget: u64, model_bytes: u64) -> Result<Vec<Box<dyn ModelRunner>>, String> {
    let mut forks = Vec::new();
    let mut per_session = model_bytes;
    for _ in 1..threads {
        let before = crate::machine::current_rss_bytes().unwrap_or(0);
        if budget > 0 && before.saturating_add(per_session).saturating_add(crate::sandbox::budget::MARGIN) > budget {
            return Err(format!(
                "{} more session(s) of about {} each would pass the memory budget of {} (limits.memory_budget_mb)",
                threads - 1 - forks.len(),
                crate::artifact::human_size(per_session),
                crate::artifact::human_size(budget)
            ));
        }
        forks.push(runner.fork().map_err(|e| e.message)?);
        per_session = per_session.max(crate::machine::current_rss_bytes().unwrap_or(0).saturating_sub(before));
    }
    Ok(forks)
}

/// A failed run on sample rows is the model's failure; on input ready built it may be ready's
/// (a guessed size, a made-up value), so it only warns and asks for a sample or an input spec.
fn inference_failed(source: InputSource, error: &str) -> Outcome {
    let reason = super::empty_batch::first_line(error);
    match source {
        InputSource::Sample => Outcome::fail(format!("inference on the sample failed: {reason}")),
        InputSource::Synthetic | InputSource::Configured => Outcome::warn(format!("not timed: the model rejected the {}: {reason}", source.label()))
            .with_details([
                "pass --sample with real rows, or describe the inputs under inputs: and dims: in the config (ready init writes a starter)"
                    .to_string(),
            ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::mock::MockRunner;
    use crate::config::Config;
    use crate::runtime::{ElementType, IoSpec};

    fn audit_latency(durations_us: &[u64], edit: impl FnOnce(&mut LatencyConfig)) -> Outcome {
        let mut runner = MockRunner::new(vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(4)])], Ok(vec![]));
        runner.durations = durations_us.iter().map(|&us| Duration::from_micros(us)).collect();
        let mut config = Config::default();
        config.checks.latency.warmup_runs = 0;
        config.checks.latency.concurrency = 0;
        edit(&mut config.checks.latency);
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        Latency.run(&ctx)
    }

    #[test]
    fn percentiles_and_bounds_come_from_the_runner_timings() {
        let durations: Vec<u64> = (1..=1000).map(|i| i * 1000).collect(); // 1..1000 ms
        let outcome = audit_latency(&durations, |c| {
            c.runs = 1000;
            c.p99_ms = None;
            c.max_seconds = 1e6;
        });
        assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
        assert_eq!(outcome.metrics["p50_ms"], 500.0);
        assert_eq!(outcome.metrics["p90_ms"], 900.0);
        assert_eq!(outcome.metrics["p99_ms"], 990.0);
        assert_eq!(outcome.metrics["p999_ms"], 999.0);
        let bound = outcome.metrics["p99_upper_bound_ms"].as_f64().unwrap();
        assert!(bound > 990.0 && bound < 1000.0, "{bound}");
        assert_eq!(outcome.summary, format!("p50 500 ms, p99 990 ms (≤ {} at 99%), max 1 s over 1000 runs", format_ms(bound)));
    }

    #[test]
    fn a_threshold_is_judged_on_the_bound_not_the_estimate() {
        // 1000 runs of 1 ms with 1.5% of runs at 10 ms: p99 estimate 10 ms.
        let durations: Vec<u64> = (0..1000).map(|i| if i % 67 == 0 { 10_000 } else { 1_000 }).collect();
        let outcome = audit_latency(&durations, |c| {
            c.runs = 1000;
            c.p99_ms = Some(5.0);
            c.max_seconds = 1e6;
        });
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.summary, "p99 bound 10 ms exceeds 5 ms (estimate 10 ms)");
    }

    #[test]
    fn too_few_runs_to_bound_p99_warn() {
        let outcome = audit_latency(&[1_000], |c| {
            c.runs = 100;
            c.p99_ms = Some(50.0);
        });
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(outcome.summary, "100 runs cannot bound p99 at 0.99 confidence (needs 662): the p99 limit is not proven");
    }

    #[test]
    fn early_stopping_ends_the_run_once_the_bound_is_within_the_limit() {
        let outcome = audit_latency(&[1_000], |c| {
            c.runs = 100_000;
            c.p99_ms = Some(5.0);
            c.max_seconds = 1e6;
        });
        assert_eq!(outcome.status, Status::Pass);
        assert_eq!(outcome.metrics["runs"], 704, "the first multiple of 64 past the 662 runs a p99 bound needs");
        let no_early = audit_latency(&[1_000], |c| {
            c.runs = 3000;
            c.early_stop = false;
            c.p99_ms = Some(5.0);
            c.max_seconds = 1e6;
        });
        assert_eq!(no_early.metrics["runs"], 3000);
    }

    #[test]
    fn measured_time_caps_the_run() {
        let outcome = audit_latency(&[100_000], |c| {
            c.runs = 1000;
            c.max_seconds = 1.0;
            c.p99_ms = None;
        });
        assert_eq!(outcome.metrics["runs"], 10, "10 runs of 100 ms fill the 1 s budget");
    }

    #[test]
    fn warm_up_runs_are_not_timed() {
        // The first run is slow (cold caches); one warm-up run absorbs it.
        let outcome = audit_latency(&[1_000_000, 1_000, 1_000, 1_000], |c| {
            c.warmup_runs = 1;
            c.runs = 3;
            c.p99_ms = None;
            c.max_ms = Some(5.0);
        });
        assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
    }

    #[test]
    fn warm_up_ends_once_three_runs_agree_and_never_past_warmup_runs() {
        // Two cold runs, then steady: settled after the fifth run (runs 3 to 5 agree).
        let outcome = audit_latency(&[50_000, 20_000, 1_000, 1_100, 1_050, 1_000, 1_000, 1_000], |c| {
            c.warmup_runs = 20;
            c.runs = 3;
            c.p99_ms = None;
        });
        assert_eq!(outcome.metrics["warmup_runs"], 5);
        let fixed = audit_latency(&[1_000], |c| {
            c.warmup_runs = 20;
            c.warmup_settle = false;
            c.runs = 3;
            c.p99_ms = None;
        });
        assert_eq!(fixed.metrics["warmup_runs"], 20);
        assert!(settled(&[Duration::from_millis(10), Duration::from_millis(11), Duration::from_millis(12)]));
        assert!(!settled(&[Duration::from_millis(10), Duration::from_millis(13), Duration::from_millis(12)]));
        assert!(!settled(&[Duration::from_millis(10), Duration::from_millis(10)]));
    }

    #[test]
    fn throughput_is_not_measured_when_one_request_outlasts_the_mode() {
        let outcome = audit_latency(&[400_000], |c| {
            c.runs = 3;
            c.p99_ms = None;
            c.concurrency = 2;
            c.throughput_seconds = 0.25;
        });
        assert_eq!(
            outcome.metrics["throughput"]["shared_session"]["error"],
            "one request takes 400 ms at p50, longer than throughput_seconds (0.25 s)"
        );
        assert_eq!(
            outcome.metrics["throughput"]["session_per_thread"]["error"],
            "one request takes 400 ms at p50, longer than throughput_seconds (0.25 s)"
        );
    }

    #[test]
    fn throughput_modes_take_a_share_of_the_timed_runs_never_under_64_requests() {
        assert_eq!(mode_seconds(0.25, 10.0, 7.04), 0.25, "7 s of timed runs: the configured 0.25 s");
        assert_eq!(mode_seconds(0.25, 1.0, 0.704), 0.064, "0.7 s of timed runs: 64 requests of 1 ms");
        assert!((mode_seconds(0.25, 0.1, 2.0) - 0.1).abs() < 1e-12, "5% of 2 s");
        assert_eq!(mode_seconds(0.25, 0.004, 0.003), 0.02, "microsecond requests: 20 ms");
        assert_eq!(mode_seconds(0.01, 0.004, 0.003), 0.01, "never more than throughput_seconds");
    }

    #[test]
    fn per_thread_sessions_stay_within_the_memory_budget() {
        let runner = MockRunner::new(vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(4)])], Ok(vec![]));
        let rss = crate::machine::current_rss_bytes().unwrap();
        let error = per_thread_sessions(&runner, 3, rss + (1 << 20), 1 << 30).err().unwrap();
        assert_eq!(
            error,
            "2 more session(s) of about 1.0 GiB each would pass the memory budget of ".to_string()
                + &crate::artifact::human_size(rss + (1 << 20))
                + " (limits.memory_budget_mb)"
        );
        assert_eq!(per_thread_sessions(&runner, 3, 0, 1 << 30).unwrap().len(), 2, "no budget: a session for each thread but the first");
    }

    #[test]
    fn batch_sizes_and_throughput_are_reported() {
        let outcome = audit_latency(&[1_000], |c| {
            c.runs = 10;
            c.p99_ms = None;
            c.batch_sizes = vec![1, 8];
            c.concurrency = 2;
            c.throughput_seconds = 0.05;
        });
        assert!(outcome.details.iter().any(|d| d.starts_with("batch of 8: p50 1 ms")), "{:?}", outcome.details);
        assert!(outcome.metrics["batch_sizes"]["8"]["p50_ms"].as_f64().is_some());
        let throughput = &outcome.metrics["throughput"];
        assert_eq!(throughput["threads"], 2);
        assert!(throughput["shared_session"]["requests"].as_u64().unwrap() > 0);
        assert!(throughput["session_per_thread"]["requests"].as_u64().unwrap() > 0);
    }

    #[test]
    fn a_session_is_estimated_at_what_loading_the_model_cost_when_that_is_more_than_the_file() {
        let runner = MockRunner::new(vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(4)])], Ok(vec![]));
        let config = Config::default();
        let mut artifact = crate::test_support::artifact();
        artifact.size_bytes = 80 << 10;
        let mut ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        assert_eq!(session_bytes(&ctx), 80 << 10, "nothing measured: the file");
        let cold =
            |load| super::super::ColdStart { session_create: Duration::ZERO, first_inference: None, peak_rss_after_load: None, load_rss_bytes: load };
        // Weights built at load (light_resnet50.onnx: 78 KiB of file, 244 MiB loaded).
        ctx.cold_start = Some(cold(Some(240 << 20)));
        assert_eq!(session_bytes(&ctx), 224 << 20, "less what the runtime's first session takes once");
        ctx.cold_start = Some(cold(Some(9 << 20)));
        assert_eq!(session_bytes(&ctx), 80 << 10, "a load that cost no more than the runtime's own start: the file");
    }

    #[test]
    fn a_rejected_synthetic_input_warns_instead_of_failing() {
        let runner = MockRunner::new(vec![IoSpec::tensor("shape", ElementType::Int64, &[Some(2)])], Err(InferenceError::new("invalid expand shape")));
        let config = Config::default();
        let artifact = crate::test_support::artifact();
        let ctx = AuditContext::new(&config, &artifact, Ok(&runner), None);
        let outcome = Latency.run(&ctx);
        assert_eq!(outcome.status, Status::Warn);
        assert_eq!(outcome.summary, "not timed: the model rejected the synthetic input: invalid expand shape");
    }
}
