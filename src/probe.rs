//! Negative probes: requests a serving path will eventually receive (an empty batch, a missing
//! input, the wrong type, NaN and ±Inf, an oversized batch), each run in a child process of
//! `ready` (`ready __probe`) with a time limit, so that a runtime abort or segfault becomes a
//! failed check row instead of a dead audit.
//!
//! [`ProbeRunner`] hides the process boundary: checks are unit-tested with [`InProcess`].

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::inputs::batch_axis::BatchAxes;
use crate::runtime::{Batch, ElementType, ModelRunner, NamedOutput, NamedTensor, RuntimeSettings, TensorData};
use crate::sandbox::budget::{self, ChildLimit, Sizing};
use crate::sandbox::resources::{ResourceError, Shortage};

/// Tensors larger than this many elements are never built by a probe.
pub const MAX_PROBE_ELEMENTS: usize = 1 << 26;

/// The probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    EmptyBatch,
    MissingInput,
    WrongDtype,
    Nan,
    PosInf,
    NegInf,
    Oversized,
}

impl ProbeKind {
    /// The probes of the robustness check (the empty batch has its own check).
    pub const NEGATIVE: [ProbeKind; 6] = [Self::MissingInput, Self::WrongDtype, Self::Nan, Self::PosInf, Self::NegInf, Self::Oversized];

    /// Every probe, in the order they run.
    pub const ALL: [ProbeKind; 7] = [Self::EmptyBatch, Self::MissingInput, Self::WrongDtype, Self::Nan, Self::PosInf, Self::NegInf, Self::Oversized];

    /// How reports name the probe.
    pub fn label(self) -> &'static str {
        match self {
            Self::EmptyBatch => "empty batch",
            Self::MissingInput => "missing column",
            Self::WrongDtype => "wrong dtype",
            Self::Nan => "NaN values",
            Self::PosInf => "+Inf values",
            Self::NegInf => "-Inf values",
            Self::Oversized => "oversized batch",
        }
    }
}

/// A summary of one output of a probe run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSummary {
    pub name: String,
    /// First-axis length (tensor) or item count (sequence).
    pub rows: Option<usize>,
    /// NaN or infinite numbers anywhere in the output.
    pub non_finite: usize,
}

/// Summarizes decoded outputs.
pub fn summarize(outputs: &[NamedOutput]) -> Vec<OutputSummary> {
    outputs.iter().map(|o| OutputSummary { name: o.name.clone(), rows: o.value.rows(), non_finite: o.value.non_finite_count() }).collect()
}

/// What a probe did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeResult {
    /// The runtime refused the request with an error message.
    CleanError(String),
    /// The model produced outputs.
    Output { rows: usize, outputs: Vec<OutputSummary> },
    /// The process running the probe died (abort, segfault, panic).
    Crash(String),
    /// The probe ran past its time limit and was killed.
    Timeout(Duration),
    /// The probe does not apply to this model (no float input for NaN, ...).
    NotApplicable(String),
}

/// Builds the probe's request from `base`, one valid request for the model; rows are taken
/// along `axes`, and inputs without a batch axis stay as they are.
pub fn build_probe(kind: ProbeKind, base: &Batch, axes: &BatchAxes, oversized_rows: usize) -> Result<Batch, String> {
    let no_batch = || format!("the model has no batch axis: there is no batch to {}", if kind == ProbeKind::EmptyBatch { "empty" } else { "grow" });
    match kind {
        ProbeKind::EmptyBatch => {
            if !axes.has_batch() {
                return Err(no_batch());
            }
            Ok(axes.slice(base, 0, 0))
        }
        ProbeKind::MissingInput => {
            if base.len() > 1 {
                return Ok(base[1..].to_vec());
            }
            let only = base.first().ok_or("the model has no inputs")?;
            let width = only.data.shape().get(1).copied().unwrap_or(0);
            match only.data.slice_columns(0, width.saturating_sub(1)) {
                Some(data) if width >= 2 => Ok(vec![NamedTensor { name: only.name.clone(), data }]),
                _ => Err("one input with a single column: nothing can be left out".into()),
            }
        }
        ProbeKind::WrongDtype => {
            let first = base.first().ok_or("the model has no inputs")?;
            let shape = first.data.shape().to_vec();
            let data = if first.data.element_type() == ElementType::String {
                TensorData::filled(ElementType::Float32, &shape)
            } else {
                let texts = vec!["not a number".to_string(); shape.iter().product()];
                TensorData::from_texts(ElementType::String, &shape, &texts).ok()
            }
            .ok_or("cannot build a tensor of the wrong type")?;
            let mut batch = base.clone();
            batch[0].data = data;
            Ok(batch)
        }
        ProbeKind::Nan | ProbeKind::PosInf | ProbeKind::NegInf => {
            let value = match kind {
                ProbeKind::Nan => f64::NAN,
                ProbeKind::PosInf => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            };
            let mut replaced = 0;
            let batch = base
                .iter()
                .map(|t| {
                    let data = t.data.float_filled(value).inspect(|_| replaced += 1).unwrap_or_else(|| t.data.clone());
                    NamedTensor { name: t.name.clone(), data }
                })
                .collect();
            if replaced == 0 { Err("no float input".into()) } else { Ok(batch) }
        }
        ProbeKind::Oversized => {
            if !axes.has_batch() {
                return Err(no_batch());
            }
            Ok(axes.repeat_first(base, oversized_batch_rows(base, axes, oversized_rows)))
        }
    }
}

/// Rows of the oversized probe: `wanted`, fewer when one row is large (the whole request stays
/// within [`MAX_PROBE_ELEMENTS`]), never fewer than 2.
pub fn oversized_batch_rows(base: &Batch, axes: &BatchAxes, wanted: usize) -> usize {
    let rows = axes.rows(base).max(1);
    let per_row: usize = base.iter().filter(|t| axes.axis(&t.name).is_some()).map(|t| t.data.len() / rows).sum::<usize>().max(1);
    wanted.min(MAX_PROBE_ELEMENTS / per_row).max(2)
}

/// Runs probes.
pub trait ProbeRunner: Sync {
    /// Runs each of `kinds`, built from `base` (one valid request), in order.
    fn run_all(&self, kinds: &[ProbeKind], base: &Batch, axes: &BatchAxes) -> Vec<(ProbeKind, ProbeResult)>;

    /// Runs the oversized probe with exactly `rows` rows (the search for the largest batch that fits).
    fn run_rows(&self, base: &Batch, axes: &BatchAxes, rows: usize) -> ProbeResult;

    /// How the oversized batch of [`ProbeRunner::run_all`] was sized from the memory budget
    /// (`None`: it asked for `oversized_rows`, capped only by [`MAX_PROBE_ELEMENTS`]).
    fn sizing(&self) -> Option<Sizing> {
        None
    }

    /// What each child process cost, in the order they ran.
    fn costs(&self) -> Vec<ChildCost> {
        Vec::new()
    }
}

/// What one probe cost in its child process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeCost {
    pub probe: ProbeKind,
    /// Rows of the request (a probe that ran).
    pub rows: Option<usize>,
    /// Building the request and running it, in the child.
    pub wall_ms: f64,
    /// The child's peak resident memory when the probe ended.
    pub child_peak_rss_bytes: Option<u64>,
}

/// What one probe child process cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildCost {
    /// From starting the child to its exit, model loading included.
    pub wall_ms: f64,
    /// ready's own resident memory while the child ran.
    pub ready_rss_bytes: Option<u64>,
    /// The child's memory limit and which setting bound it.
    pub limit: ChildLimit,
    pub probes: Vec<ProbeCost>,
}

impl ChildCost {
    /// ready and this child together, at the child's peak.
    pub fn together_bytes(&self) -> Option<u64> {
        let child = self.probes.iter().filter_map(|p| p.child_peak_rss_bytes).max()?;
        Some(child + self.ready_rss_bytes.unwrap_or(0))
    }
}

/// Probes in this process (unit tests, and where no child process can be started).
pub struct InProcess<'a> {
    pub runner: &'a dyn ModelRunner,
    pub oversized_rows: usize,
}

impl InProcess<'_> {
    fn run(&self, kind: ProbeKind, base: &Batch, axes: &BatchAxes, oversized_rows: usize) -> ProbeResult {
        let batch = match build_probe(kind, base, axes, oversized_rows) {
            Ok(b) => b,
            Err(reason) => return ProbeResult::NotApplicable(reason),
        };
        let rows = axes.rows(&batch);
        match self.runner.run(&batch) {
            Ok(outputs) => ProbeResult::Output { rows, outputs: summarize(&outputs) },
            Err(e) => ProbeResult::CleanError(e.message),
        }
    }
}

impl ProbeRunner for InProcess<'_> {
    fn run_all(&self, kinds: &[ProbeKind], base: &Batch, axes: &BatchAxes) -> Vec<(ProbeKind, ProbeResult)> {
        kinds.iter().map(|&kind| (kind, self.run(kind, base, axes, self.oversized_rows))).collect()
    }

    fn run_rows(&self, base: &Batch, axes: &BatchAxes, rows: usize) -> ProbeResult {
        self.run(ProbeKind::Oversized, base, axes, rows)
    }
}

/// A tensor on the wire between `ready` and its probe child (text values round-trip exactly).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WireTensor {
    name: String,
    element: ElementType,
    shape: Vec<usize>,
    values: Vec<String>,
}

/// The job a probe child reads from stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProbeJob {
    model: PathBuf,
    ort_lib: PathBuf,
    settings: RuntimeSettings,
    kinds: Vec<ProbeKind>,
    oversized_rows: usize,
    base: Vec<WireTensor>,
    axes: BatchAxes,
    /// How long the child may go without finishing a probe before it ends itself: the
    /// parent's limit plus [`WATCHDOG_GRACE`], enforced even when the parent is gone.
    time_limit: Duration,
    /// Set when the child sizes the oversized batch from its memory limit (a small batch
    /// measured first); unset when it runs exactly `oversized_rows` (the halving search).
    #[serde(default)]
    size_under: Option<ChildLimit>,
}

/// Exit code of a probe child whose watchdog ended it (a probe ran past its time limit).
pub const WATCHDOG_EXIT: i32 = 124;

/// Exit code of a probe child that could not start its watchdog thread: the process or thread
/// limit, ready's environment.
pub const RESOURCE_EXIT: i32 = 125;

/// How much longer than the parent's limit the child's own watchdog waits, so that the parent,
/// which kills the child at its limit, normally reports the timeout itself.
const WATCHDOG_GRACE: Duration = Duration::from_secs(1);

/// What one child reported before it stopped, and the failure of the probe it was running
/// when it stopped early (crash or timeout).
type ChildOutcome = (Vec<(ProbeKind, ProbeResult, Option<ProbeCost>)>, Option<ProbeResult>);

/// One line of a probe child's stdout: the result of one probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProbeLine {
    kind: ProbeKind,
    #[serde(flatten)]
    reply: ProbeReply,
    #[serde(default)]
    cost: Option<ProbeCost>,
    /// How the oversized batch was sized (that probe only, when the job asked for it).
    #[serde(default)]
    sizing: Option<Sizing>,
}

/// A line a probe child writes before the oversized batch it sized from its memory limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SizingLine {
    sizing: Sizing,
}

/// What a probe child reports for one probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum ProbeReply {
    Error { message: String },
    Output { rows: usize, outputs: Vec<OutputSummary> },
    NotApplicable { reason: String },
}

/// Probes in a child process of `ready`, each with a time limit.
pub struct ChildProcess {
    pub exe: PathBuf,
    pub model: PathBuf,
    pub ort_lib: PathBuf,
    pub settings: RuntimeSettings,
    pub oversized_rows: usize,
    pub timeout: Duration,
    /// `limits.probe_memory_mb` in bytes: memory the model may use in a child; 0 = unlimited.
    pub memory_bytes: u64,
    /// `limits.memory_budget_mb` in bytes: ready and its child together; 0 = no budget.
    pub budget_bytes: u64,
    /// The least a child gets whatever the budget says: what loading the model needs.
    pub floor_bytes: u64,
    /// How the oversized batch was sized, once it was.
    pub sizing: std::sync::Mutex<Option<Sizing>>,
    /// What each child cost.
    pub log: std::sync::Mutex<Vec<ChildCost>>,
    /// Set when ready itself ran out of a resource while running a child (a child that could
    /// not start for lack of file descriptors says nothing about the model).
    pub resource_failure: std::sync::Mutex<Option<ResourceError>>,
}

impl ProbeRunner for ChildProcess {
    fn run_all(&self, kinds: &[ProbeKind], base: &Batch, axes: &BatchAxes) -> Vec<(ProbeKind, ProbeResult)> {
        self.run_jobs(kinds, base, axes, self.oversized_rows, true)
    }

    fn run_rows(&self, base: &Batch, axes: &BatchAxes, rows: usize) -> ProbeResult {
        let results = self.run_jobs(&[ProbeKind::Oversized], base, axes, rows, false);
        results.into_iter().next().map_or_else(|| ProbeResult::Crash("the probe process gave no result".into()), |(_, r)| r)
    }

    fn sizing(&self) -> Option<Sizing> {
        *self.sizing.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn costs(&self) -> Vec<ChildCost> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ChildProcess {
    /// Runs `kinds` in child processes: one child runs them in order; if it dies or hangs, the
    /// probe in flight gets the crash or timeout, and a new child carries on with the rest.
    fn run_jobs(&self, kinds: &[ProbeKind], base: &Batch, axes: &BatchAxes, oversized_rows: usize, sized: bool) -> Vec<(ProbeKind, ProbeResult)> {
        let wire: Vec<WireTensor> = base
            .iter()
            .map(|t| WireTensor { name: t.name.clone(), element: t.data.element_type(), shape: t.data.shape().to_vec(), values: t.data.to_texts() })
            .collect();
        // One child runs the probes in order. If it dies or hangs, the probe in flight gets
        // the crash or timeout, and a new child carries on with the rest.
        let mut results: Vec<(ProbeKind, ProbeResult)> = Vec::new();
        let mut remaining: Vec<ProbeKind> = kinds.to_vec();
        while !remaining.is_empty() {
            let ready_rss = crate::machine::current_rss_bytes();
            let limit = budget::child_limit(self.budget_bytes, self.memory_bytes, ready_rss.unwrap_or(0), self.floor_bytes);
            let job = ProbeJob {
                model: self.model.clone(),
                ort_lib: self.ort_lib.clone(),
                settings: self.settings.clone(),
                kinds: remaining.clone(),
                oversized_rows,
                base: wire.clone(),
                axes: axes.clone(),
                time_limit: self.timeout.saturating_add(WATCHDOG_GRACE),
                size_under: sized.then_some(limit),
            };
            let started = Instant::now();
            let spawned = self.spawn(&job, limit.bytes);
            let probes = match &spawned {
                Ok((done, _)) => done.iter().filter_map(|(_, _, cost)| cost.clone()).collect(),
                Err(_) => Vec::new(),
            };
            let cost = ChildCost { wall_ms: started.elapsed().as_secs_f64() * 1e3, ready_rss_bytes: ready_rss, limit, probes };
            self.log.lock().unwrap_or_else(|p| p.into_inner()).push(cost);
            let spawned = spawned.map(|(done, failure)| (done.into_iter().map(|(kind, result, _)| (kind, result)).collect::<Vec<_>>(), failure));
            let (done, failure) = match spawned {
                Ok(outcome) => outcome,
                Err(e) => match ResourceError::classify(&e, "starting the probe process") {
                    Some(shortage) => {
                        self.record_resource_failure(shortage);
                        break;
                    }
                    None => (Vec::new(), Some(ProbeResult::Crash(format!("could not run the probe process: {e}")))),
                },
            };
            let finished = done.len();
            results.extend(done);
            remaining.drain(..finished.min(remaining.len()));
            if let Some(failure) = failure {
                let Some(kind) = (!remaining.is_empty()).then(|| remaining.remove(0)) else { break };
                results.push((kind, failure));
            }
        }
        results
    }

    /// Reads one line of a child: a probe's reply, or the oversized batch's sizing.
    fn take_text(&self, text: &str, results: &mut Vec<(ProbeKind, ProbeResult, Option<ProbeCost>)>) {
        if let Ok(parsed) = serde_json::from_str::<SizingLine>(text) {
            self.sizing.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(parsed.sizing);
        } else if let Ok(parsed) = serde_json::from_str::<ProbeLine>(text) {
            self.take_line(parsed, results);
        }
    }

    /// Records one reply of a child: its result and cost, and the oversized batch's sizing.
    fn take_line(&self, line: ProbeLine, results: &mut Vec<(ProbeKind, ProbeResult, Option<ProbeCost>)>) {
        if let Some(sizing) = line.sizing {
            self.sizing.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(sizing);
        }
        results.push((line.kind, line.reply.into_result(), line.cost));
    }

    /// The resource ready ran out of while running probe children, if it did: the audit
    /// cannot be trusted and ends with exit code 2.
    pub fn resource_failure(&self) -> Option<ResourceError> {
        self.resource_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn record_resource_failure(&self, error: ResourceError) {
        self.resource_failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
    }

    /// Runs one child over `job.kinds`: the results it reported, and the failure (crash or
    /// timeout) of the probe it was running when it stopped, if it did not finish.
    fn spawn(&self, job: &ProbeJob, memory_bytes: u64) -> std::io::Result<ChildOutcome> {
        let mut command = Command::new(&self.exe);
        command.arg("__probe").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.env(crate::runtime::TELEMETRY_OFF_VAR, "1");
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let limit = memory_bytes;
            let parent = std::process::id();
            // SAFETY: `child_setup` makes only async-signal-safe calls (prctl, getppid, setrlimit).
            unsafe {
                command.pre_exec(move || child_setup(parent, limit));
            }
        }
        let mut child = command.spawn()?;
        let payload = serde_json::to_vec(job).map_err(std::io::Error::other)?;
        let mut stdin = child.stdin.take().expect("piped");
        // Write from a thread: a child that dies early must not block us on a full pipe.
        let writer = thread_for(&mut child, move || {
            let _ = stdin.write_all(&payload);
        })?;
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
        let reader = thread_for(&mut child, move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        })?;
        let err_reader = thread_for(&mut child, move || {
            let mut err = Vec::new();
            let _ = stderr.read_to_end(&mut err);
            err
        })?;
        let mut results = Vec::new();
        let mut last_progress = Instant::now();
        let status = loop {
            while let Ok(line) = lines_rx.try_recv() {
                self.take_text(&line, &mut results);
                last_progress = Instant::now();
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if last_progress.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                let _ = writer.join();
                return Ok((results, Some(ProbeResult::Timeout(self.timeout))));
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let _ = writer.join();
        let _ = reader.join();
        while let Ok(line) = lines_rx.try_recv() {
            self.take_text(&line, &mut results);
        }
        let err = err_reader.join().unwrap_or_default();
        let last_err = String::from_utf8_lossy(&err).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
        if results.len() < job.kinds.len() {
            let failure = if status.code() == Some(WATCHDOG_EXIT) {
                ProbeResult::Timeout(self.timeout)
            } else if status.code() == Some(RESOURCE_EXIT) {
                let doing = format!("in the probe process: {last_err}");
                self.record_resource_failure(ResourceError { shortage: Shortage::ProcessesOrThreads, doing });
                return Ok((results, None));
            } else if status.success() {
                ProbeResult::Crash(format!("the probe process stopped without a result; {last_err}"))
            } else {
                ProbeResult::Crash(describe_exit(status, &last_err))
            };
            return Ok((results, Some(failure)));
        }
        Ok((results, None))
    }
}

/// Starts a thread for `child`'s pipes; when no thread can be started, kills the child first.
fn thread_for<T: Send + 'static>(
    child: &mut std::process::Child,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new().spawn(work).inspect_err(|_| {
        let _ = child.kill();
        let _ = child.wait();
    })
}

/// Runs in the forked child before `exec`: the child dies with `ready` (on Linux the kernel
/// sends it SIGKILL when the thread that started it exits, even by SIGKILL) and gets its
/// memory limit (`memory` bytes of RLIMIT_DATA; 0 = unlimited).
#[cfg(unix)]
fn child_setup(parent: u32, memory: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl and getppid are async-signal-safe and take no pointers.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // `ready` may have died between fork and prctl: then nobody waits for this child.
        if unsafe { libc::getppid() } as u32 != parent {
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    let _ = parent;
    if memory > 0 {
        let rlimit = libc::rlimit { rlim_cur: memory as libc::rlim_t, rlim_max: memory as libc::rlim_t };
        // SAFETY: setrlimit is async-signal-safe; `rlimit` outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &rlimit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

impl ProbeReply {
    fn into_result(self) -> ProbeResult {
        match self {
            ProbeReply::Error { message } => ProbeResult::CleanError(message),
            ProbeReply::Output { rows, outputs } => ProbeResult::Output { rows, outputs },
            ProbeReply::NotApplicable { reason } => ProbeResult::NotApplicable(reason),
        }
    }
}

fn describe_exit(status: std::process::ExitStatus, stderr: &str) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                libc::SIGSEGV => "SIGSEGV, segmentation fault",
                libc::SIGABRT => "SIGABRT, abort",
                libc::SIGKILL => "SIGKILL, killed (out of memory?)",
                libc::SIGBUS => "SIGBUS",
                libc::SIGILL => "SIGILL",
                libc::SIGFPE => "SIGFPE",
                _ => "signal",
            };
            return format!("the probe process died with signal {signal} ({name})");
        }
    }
    let code = status.code().map_or("unknown".to_string(), |c| c.to_string());
    if stderr.is_empty() {
        format!("the probe process exited with code {code}")
    } else {
        format!("the probe process exited with code {code}: {stderr}")
    }
}

/// The `ready __probe` child: reads a job on stdin, runs one probe, writes the reply on stdout.
pub fn child_main() -> Result<(), String> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| e.to_string())?;
    let job: ProbeJob = serde_json::from_slice(&input).map_err(|e| format!("bad probe job: {e}"))?;
    let progress = match start_watchdog(job.time_limit) {
        Ok(progress) => progress,
        Err(e) => {
            eprintln!("could not start the watchdog thread: {e}");
            std::process::exit(RESOURCE_EXIT);
        }
    };
    let base: Batch = job
        .base
        .iter()
        .map(|w| Ok(NamedTensor { name: w.name.clone(), data: TensorData::from_texts(w.element, &w.shape, &w.values)? }))
        .collect::<Result<_, String>>()?;
    let version = crate::runtime::locate::probe(&job.ort_lib)?;
    let library = crate::runtime::locate::RuntimeLibrary { path: job.ort_lib.clone(), version, source: crate::runtime::locate::Source::Flag };
    let runtime = crate::runtime::ort_runner::OrtRuntime::init(library)?;
    // The child enforces the job's time limit itself (start_watchdog above).
    let (runner, _) = runtime.load(&job.model, &job.settings, None)?;
    let loaded_rss = crate::machine::current_rss_bytes().unwrap_or(0);
    let mut stdout = std::io::stdout().lock();
    for &kind in &job.kinds {
        let started = Instant::now();
        // Under a memory limit the request itself must fit too (a model with a fixed batch
        // size, which no measurement can size, refuses any other size just as cleanly).
        let request_cap = match job.size_under {
            Some(limit) if limit.bytes > 0 && kind == ProbeKind::Oversized => {
                let free = limit.bytes.saturating_sub(crate::machine::peak_rss_bytes().unwrap_or(0));
                budget::input_rows_cap(free, input_bytes_per_row(&base, &job.axes))
            }
            _ => usize::MAX,
        };
        let oversized_rows = job.oversized_rows.min(request_cap);
        let sized = match (kind, job.size_under) {
            (ProbeKind::Oversized, Some(limit)) if limit.bytes > 0 && job.axes.has_batch() && job.axes.fixed.is_none() => {
                // Sized from the configured rows: the sizing says what was asked for and what ran.
                Some(size_oversized(&runner, &base, &job.axes, (job.oversized_rows, request_cap, loaded_rss), limit))
            }
            _ => None,
        };
        let (reply, rows, sizing) = match sized {
            Some((sizing, Some(failed))) => (failed, Some(sizing.rows), Some(sizing)),
            Some((sizing, None)) => {
                // Said before the big batch runs: if it kills the child, the parent still knows
                // which limit and size it died at.
                serde_json::to_writer(&mut stdout, &SizingLine { sizing }).map_err(|e| e.to_string())?;
                stdout.write_all(b"\n").and_then(|()| stdout.flush()).map_err(|e| e.to_string())?;
                let (reply, rows) = run_one(&runner, kind, &base, &job.axes, sizing.rows);
                (reply, rows, Some(sizing))
            }
            None => {
                let (reply, rows) = run_one(&runner, kind, &base, &job.axes, oversized_rows);
                (reply, rows, None)
            }
        };
        let cost =
            ProbeCost { probe: kind, rows, wall_ms: started.elapsed().as_secs_f64() * 1e3, child_peak_rss_bytes: crate::machine::peak_rss_bytes() };
        // One line per probe, flushed at once: if a later probe kills the process, the parent
        // still has every earlier result.
        serde_json::to_writer(&mut stdout, &ProbeLine { kind, reply, cost: Some(cost), sizing }).map_err(|e| e.to_string())?;
        stdout.write_all(b"\n").map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())?;
        let _ = progress.send(());
    }
    Ok(())
}

/// Builds and runs one probe in the child: its reply, and the rows of the request it ran.
fn run_one(runner: &dyn ModelRunner, kind: ProbeKind, base: &Batch, axes: &BatchAxes, oversized_rows: usize) -> (ProbeReply, Option<usize>) {
    match build_probe(kind, base, axes, oversized_rows) {
        Err(reason) => (ProbeReply::NotApplicable { reason }, None),
        Ok(batch) => {
            test_hook(kind);
            let rows = axes.rows(&batch);
            let reply = match runner.run(&batch) {
                Ok(outputs) => ProbeReply::Output { rows, outputs: summarize(&outputs) },
                Err(e) => ProbeReply::Error { message: e.message },
            };
            (reply, Some(rows))
        }
    }
}

/// Sizes the oversized batch under `limit`: runs batches of 2, 4, 8, ... rows (see
/// [`budget::next_measure_rows`]), takes what a row costs from what the child holds after each
/// (the runtime's arena keeps what a batch needed): the growth since before the first per
/// added row, or all it holds beyond the loaded model (`loaded_rss`) per row, whichever is
/// more (an arena that rounded one row's share up hides the second row's), and asks for the
/// largest size on the halving chain from `wanted` that fits twice over and is at most `cap`
/// rows (whose request alone fits). When a measuring batch fails, its failure is the probe's
/// reply (at its row count).
fn size_oversized(
    runner: &dyn ModelRunner,
    base: &Batch,
    axes: &BatchAxes,
    (wanted, cap, loaded_rss): (usize, usize, u64),
    limit: ChildLimit,
) -> (Sizing, Option<ProbeReply>) {
    let wanted = oversized_batch_rows(base, axes, wanted);
    let cap = cap.min(wanted);
    let input_bytes = input_bytes_per_row(base, axes);
    let before = crate::machine::current_rss_bytes().unwrap_or(0);
    let mut measuring = 2.min(cap);
    loop {
        let measured = runner.run(&axes.repeat_first(base, measuring));
        let held = crate::machine::current_rss_bytes().unwrap_or(0);
        let grown = held.saturating_sub(before);
        let per_row_bytes = budget::per_row_bytes(grown, measuring, input_bytes).max(held.saturating_sub(loaded_rss) / measuring as u64);
        let used = crate::machine::peak_rss_bytes().unwrap_or(0).max(before + grown);
        let available_bytes = limit.bytes.saturating_sub(used);
        let sizing = |rows| Sizing { wanted, rows, per_row_bytes, available_bytes, limit };
        if let Err(e) = measured {
            return (sizing(measuring), Some(ProbeReply::Error { message: e.message }));
        }
        match budget::next_measure_rows(measuring, grown, per_row_bytes, cap, available_bytes) {
            Some(next) => measuring = next,
            None => return (sizing(budget::start_rows(wanted, cap, per_row_bytes, available_bytes)), None),
        }
    }
}

/// Bytes of one row of `base` (8 a value, at least: strings count their pointers only), over
/// the inputs with a batch axis, or all of them when none has one.
fn input_bytes_per_row(base: &Batch, axes: &BatchAxes) -> u64 {
    let rows = axes.rows(base).max(1);
    let along: u64 = base.iter().filter(|t| axes.axis(&t.name).is_some()).map(|t| (t.data.len() / rows) as u64 * 8).sum();
    if along > 0 { along } else { base.iter().map(|t| t.data.len() as u64 * 8).sum() }
}

/// The child's own time limit, enforced even when no parent is left to kill it: a thread
/// that ends the process with [`WATCHDOG_EXIT`] when `limit` passes without a message on the
/// returned channel (one is sent after each probe). Dropping the sender stops the watchdog.
fn start_watchdog(limit: Duration) -> std::io::Result<std::sync::mpsc::Sender<()>> {
    let (progress, heartbeat) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new().spawn(move || {
        loop {
            match heartbeat.recv_timeout(limit) {
                Ok(()) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    eprintln!("probe ran past its time limit of {:.3} s", limit.as_secs_f64());
                    // SAFETY: ends the process at once; the stuck probe thread holds ORT locks
                    // that exit handlers could wait on.
                    unsafe { libc::_exit(WATCHDOG_EXIT) };
                }
            }
        }
    })?;
    Ok(progress)
}

/// Debug builds only: `READY_TEST_PROBE_ABORT=<probe>` aborts the child at that probe and
/// `READY_TEST_PROBE_HANG=<probe>` makes it hang there (as a model stuck in a loop would), so
/// the tests can show how a crashing or stuck runtime is handled. Release builds ignore both.
fn test_hook(kind: ProbeKind) {
    #[cfg(debug_assertions)]
    {
        let named = |var: &str| {
            std::env::var(var).is_ok_and(|target| serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(|s| s == target)) == Some(true))
        };
        if named("READY_TEST_PROBE_ABORT") {
            std::process::abort();
        }
        if named("READY_TEST_PROBE_HANG") {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = kind;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn base() -> Batch {
        vec![NamedTensor { name: "x".into(), data: TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![1.0, 2.0, 3.0]).unwrap()) }]
    }

    #[test]
    fn probes_are_built_from_one_valid_request() {
        let axes = BatchAxes::leading(&base());
        let empty = build_probe(ProbeKind::EmptyBatch, &base(), &axes, 10).unwrap();
        assert_eq!(empty[0].data.shape(), &[0, 3]);
        let missing = build_probe(ProbeKind::MissingInput, &base(), &axes, 10).unwrap();
        assert_eq!(missing[0].data.shape(), &[1, 2]);
        let wrong = build_probe(ProbeKind::WrongDtype, &base(), &axes, 10).unwrap();
        assert_eq!(wrong[0].data.element_type(), ElementType::String);
        let nan = build_probe(ProbeKind::Nan, &base(), &axes, 10).unwrap();
        assert_eq!(nan[0].data.non_finite_count(), 3);
        let big = build_probe(ProbeKind::Oversized, &base(), &axes, 4096).unwrap();
        assert_eq!(big[0].data.shape(), &[4096, 3]);
    }

    #[test]
    fn inapplicable_probes_say_why() {
        let ints = vec![NamedTensor { name: "k".into(), data: TensorData::filled(ElementType::Int64, &[1, 1]).unwrap() }];
        let axes = BatchAxes::leading(&ints);
        assert_eq!(build_probe(ProbeKind::Nan, &ints, &axes, 10).unwrap_err(), "no float input");
        assert!(build_probe(ProbeKind::MissingInput, &ints, &axes, 10).unwrap_err().contains("single column"));
        let none = BatchAxes::none(&[crate::runtime::IoSpec::tensor("k", ElementType::Int64, &[Some(1), Some(1)])]);
        assert_eq!(build_probe(ProbeKind::EmptyBatch, &ints, &none, 10).unwrap_err(), "the model has no batch axis: there is no batch to empty");
    }

    #[test]
    fn oversized_probes_grow_only_the_batch_axis_and_stay_within_the_element_budget() {
        let wide = vec![
            NamedTensor { name: "img".into(), data: TensorData::filled(ElementType::Float32, &[1, 3, 224, 224]).unwrap() },
            NamedTensor { name: "sr".into(), data: TensorData::filled(ElementType::Int64, &[]).unwrap() },
        ];
        let axes = BatchAxes::leading(&wide);
        let probe = build_probe(ProbeKind::Oversized, &wide, &axes, 4096).unwrap();
        let elements: usize = probe[0].data.shape().iter().product();
        assert!(elements <= MAX_PROBE_ELEMENTS, "{elements}");
        assert_eq!(probe[0].data.shape()[0], MAX_PROBE_ELEMENTS / (3 * 224 * 224));
        assert_eq!(probe[1].data.shape(), &[] as &[usize], "a scalar input is passed unchanged");
    }
}
