//! One audit, start to finish: inspect the artifact, read the sample, find the runtime, load the
//! model once, time its cold start, run every enabled check, and apply severities.
//!
//! Errors returned here mean `ready` itself could not run (exit code 2); everything about the
//! model becomes a check result instead.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::artifact::{self, ArtifactFormat};
use crate::checks::{self, AuditContext, ColdStart, Outcome, REGISTRY};
use crate::config::{Config, Severity};
use crate::report::cost::{AuditCost, CheckCost, MemoryCost};
use crate::report::{CheckResult, ModelFacts, NotVerified, Report, RuntimeFacts, SampleFacts};
use crate::runtime::ModelRunner;
use crate::runtime::locate;
use crate::runtime::ort_runner::OrtRuntime;
use crate::sample;

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub model: PathBuf,
    pub sample: Option<PathBuf>,
    /// Reference outputs (`--expected`).
    pub expected: Option<PathBuf>,
    /// Training reference (`--reference`).
    pub reference: Option<PathBuf>,
    pub config: Config,
    /// Where the configuration came from (`None`: built-in defaults).
    pub config_path: Option<PathBuf>,
    /// Folder searched for lockfiles (default: the model's folder).
    pub project: Option<PathBuf>,
    /// `--deploy`: Kubernetes manifests and Dockerfiles (files or folders) for the deployment check.
    pub deploy: Vec<PathBuf>,
    /// `--env`: the installed Python environment the locks are compared with.
    pub env: Option<PathBuf>,
    /// `--env none`: compare the locks with no environment (not even `$VIRTUAL_ENV`'s).
    pub env_off: bool,
    /// `--ort-lib`.
    pub ort_lib: Option<PathBuf>,
    /// `ORT_DYLIB_PATH`.
    pub ort_env: Option<PathBuf>,
    pub show_progress: bool,
    /// Run only these checks (`--only`); empty means all.
    pub only: Vec<String>,
    /// Do not run these checks (`--skip`).
    pub skip: Vec<String>,
    /// Count warnings as failures (`--deny-warnings`).
    pub deny_warnings: bool,
    /// An earlier JSON report to compare with (`--baseline`).
    pub baseline: Option<PathBuf>,
}

impl AuditOptions {
    /// Options for `model` with the built-in configuration and nothing else set.
    pub fn new(model: PathBuf) -> Self {
        Self {
            model,
            sample: None,
            expected: None,
            reference: None,
            config: Config::default(),
            config_path: None,
            project: None,
            deploy: Vec::new(),
            env: None,
            env_off: false,
            ort_lib: None,
            ort_env: None,
            show_progress: false,
            only: Vec::new(),
            skip: Vec::new(),
            deny_warnings: false,
            baseline: None,
        }
    }
}

/// Reads an earlier JSON report for `--baseline`.
fn read_baseline(path: &Path) -> Result<Report, String> {
    let shown = path.display();
    let text = crate::sandbox::open::read_text(path, crate::sandbox::open::MAX_TEXT_BYTES).map_err(|e| format!("--baseline {shown}: {e}"))?;
    Report::from_json(&text).map_err(|e| format!("--baseline {shown}: {e}"))
}

/// Runs the audit. `Err` is a one-line reason `ready` could not run.
///
/// The steps, each a function of its own: inspect the model, read the sample, expected outputs,
/// baseline, environment and reference, start the runtime and load the model, assemble the
/// context the checks read, run the checks, assemble the report. What is left inline is the
/// context assembly (one line per field, borrowing what the steps returned), which is why this
/// function is longer than the others.
pub fn run_audit(options: &AuditOptions) -> Result<Report, String> {
    let audit_started = Instant::now();
    crate::sandbox::resources::ensure_open_files().map_err(|e| e.to_string())?;
    let model_path = &options.model;
    let artifact = inspect_model(options)?;
    let baseline = options.baseline.as_deref().map(read_baseline).transpose()?;
    let ReadInputs { expected, sample, tensors } = read_sample_and_expected(options, &text_columns(options, &artifact))?;
    // An environment named on the command line must be one: a bad --env is a usage error.
    let python_env = match &options.env {
        Some(path) => Some(crate::env::python_env::read(path, crate::env::python_env::Origin::Flag).map_err(|e| format!("--env {e}"))?),
        None => None,
    };
    let project_dirs = project_dirs(options)?;
    // Read once, before the checks: the deployment check judges them, the budget may come from them.
    let deploy_read = crate::env::deploy::read::DeployRead::read(options.project.as_deref(), &options.deploy)?;
    let budget = memory_budget(options, &artifact, &deploy_read);
    let effective = AuditOptions { config: with_budget(&options.config, &budget), ..options.clone() };
    let options = &effective;

    let refuse = refusal(&artifact);
    let runtime = match refuse {
        Some(_) => None,
        None => Some(start_runtime(options)?),
    };
    let rss_before_load = crate::machine::current_rss_bytes();
    let loaded = match (&runtime, refuse) {
        (Some(runtime), _) => runtime.load(model_path, &options.config.runtime, Some(inference_time_limit(&options.config))),
        (None, reason) => Err(reason.unwrap_or("not loaded").to_string()),
    };
    // What creating the session added to ready's memory: what one more session costs.
    let load_rss_bytes = rss_before_load.zip(crate::machine::current_rss_bytes()).map(|(before, after)| after.saturating_sub(before));
    let (runner, session_create) = match loaded {
        Ok((runner, time)) => (Ok(runner), Some(time)),
        Err(_) if runtime.is_some() && !missing_locales(&artifact).is_empty() => return Err(missing_locales(&artifact)),
        Err(reason) => (Err(reason), None),
    };
    if let Ok(runner) = &runner {
        check_specs(options, runner.inputs())?;
        if let Some(sample) = &sample {
            let metadata = artifact.onnx.as_ref().ok().and_then(|i| i.feature_names());
            sample.refuse_unread_inputs(runner.inputs(), options.config.checks.schema_parity.feature_names.clone(), metadata)?;
        }
        // A sample that cannot be one request is a bad sample, found before any check runs.
        if let Some(tensors) = &tensors {
            crate::inputs::sample_fit::check(tensors, runner.inputs(), runner.outputs(), &options.config.batch_axis_overrides())?;
        }
    }
    // Only the model's columns are read from training data (the sample's, when no model loaded).
    let reference = load_reference(options, &artifact, sample.as_ref(), runner.as_ref().ok().map(|r| r.inputs()))?;
    let watched = runner.as_ref().ok().map(|r| Watched { inner: r as &dyn ModelRunner, answered: AtomicUsize::new(0), stopped: AtomicUsize::new(0) });
    let runner_ref: Result<&dyn ModelRunner, String> = match (&watched, &runner) {
        (Some(w), _) => Ok(w as &dyn ModelRunner),
        (None, Err(reason)) => Err(reason.clone()),
        (None, Ok(_)) => Err("not loaded".to_string()),
    };

    let mut ctx = AuditContext::new(&options.config, &artifact, runner_ref, sample.as_ref());
    ctx.runtime = runtime.as_ref().map(|r| &r.library);
    ctx.project_dirs = project_dirs;
    ctx.project = options.project.clone();
    ctx.deploy = options.deploy.clone();
    ctx.deploy_read = Some(&deploy_read);
    ctx.config_path = options.config_path.clone();
    ctx.python_env = python_env.as_ref();
    ctx.env_off = options.env_off;
    ctx.show_progress = options.show_progress;
    ctx.baseline = baseline.as_ref();
    ctx.tensors = tensors.as_ref();
    ctx.expected = expected.as_ref();
    ctx.reference = reference.as_ref();
    // Probes run in a child process of this binary, so a runtime crash is a failed row.
    let child_probes = child_probes(options, runtime.as_ref(), &artifact, ctx.runner.is_ok());
    ctx.probes = child_probes.as_ref().map(|p| p as &dyn crate::probe::ProbeRunner);
    ctx.cold_start = session_create.and_then(|created| cold_start(&ctx, created, load_rss_bytes));
    let load_ms = ctx.cold_start.as_ref().map(|c| (c.session_create + c.first_inference.unwrap_or_default()).as_secs_f64() * 1e3);

    let (results, check_costs) = run_checks(options, &ctx)?;
    if let Some(error) = child_probes.as_ref().and_then(|p| p.resource_failure()) {
        return Err(error.to_string());
    }
    let unverified = match &watched {
        // A model stopped at ready's time or memory limit failed those checks: no input advice.
        Some(w) if w.answered.load(Ordering::Relaxed) == 0 && w.stopped.load(Ordering::Relaxed) == 0 => {
            not_verified(options, &results, ctx.has_sample())
        }
        _ => None,
    };
    let fail_unverified = options.config.unverified == crate::config::Unverified::Fail;
    Ok(Report::new(
        ModelFacts {
            path: artifact.path.display().to_string(),
            size_bytes: artifact.size_bytes,
            sha256: artifact.sha256.clone(),
            format: artifact.format,
        },
        sample_facts(sample.as_ref(), tensors.as_ref(), options.config.sample.max_rows),
        runtime.as_ref().map(|r| RuntimeFacts {
            library: r.library.path.display().to_string(),
            version: r.library.version.clone(),
            found_via: r.library.source.label().to_string(),
            settings: options.config.runtime.clone(),
        }),
        options.config_path.as_ref().map(|p| p.display().to_string()),
        results,
        options.deny_warnings,
    )
    .mark_not_verified_if(unverified, fail_unverified)
    .with_cost(audit_cost(&budget, &ctx, child_probes.as_ref(), check_costs, load_ms, audit_started))
    .with_deployment_recommendation(&crate::checks::deployment::measured(&ctx), &crate::env::deploy::recommend::margins(&options.config)))
}

/// A spec naming an input or dimension the model lacks is a typo, not a spec to ignore: an
/// error naming the config file the spec came from.
fn check_specs(options: &AuditOptions, inputs: &[crate::runtime::IoSpec]) -> Result<(), String> {
    crate::inputs::spec::check_against_model(&options.config.dims, &options.config.inputs, inputs).map_err(|problem| match &options.config_path {
        Some(path) => format!("{}: {}", path.display(), problem.trim_start_matches("config ")),
        None => problem,
    })
}

/// The first inference after the session was created (timed only when it succeeds), the
/// peak memory once the model has loaded and answered, and what creating the session added to
/// ready's resident memory (`load_rss_bytes`).
fn cold_start(ctx: &AuditContext<'_>, session_create: std::time::Duration, load_rss_bytes: Option<u64>) -> Option<ColdStart> {
    let runner = ctx.runner.clone().ok()?;
    let first_inference = ctx.model_batch(1).ok().and_then(|(batch, _)| {
        let single = ctx.axes().single_request(&batch);
        let started = Instant::now();
        let ran = runner.run(&single);
        let elapsed = started.elapsed();
        ran.ok().map(|_| elapsed)
    });
    Some(ColdStart { session_create, first_inference, peak_rss_after_load: crate::machine::peak_rss_bytes(), load_rss_bytes })
}

/// The model file, refused before anything reads it when it (or a text sample) is over its size
/// limit, then inspected (format, hash, graph facts) without running it.
fn inspect_model(options: &AuditOptions) -> Result<artifact::Artifact, String> {
    let model_path = &options.model;
    let shown = model_path.display();
    if model_path.is_dir() {
        return Err(format!("{shown}: is a directory, expected a model file"));
    }
    let limits = &options.config.limits;
    refuse_oversized(model_path, limits.max_model_mb, "limits.max_model_mb")?;
    for path in options.sample.iter().chain(options.expected.iter()) {
        let text = matches!(sample::SampleFormat::from_path(path), Some(f) if f.is_text());
        if text {
            refuse_oversized(path, limits.max_text_sample_mb, "limits.max_text_sample_mb")?;
        }
    }
    artifact::inspect(model_path, mib_to_bytes(limits.max_model_mb)).map_err(|e| match &e {
        crate::sandbox::open::OpenError::Io(io) => read_error(io, &shown.to_string()),
        other => format!("{shown}: {other}"),
    })
}

/// Why the artifact is never handed to ONNX Runtime, if it is not: a pickle, a model whose
/// external data escapes its folder, or one ready could not decode in full (so could not check
/// for external data).
fn refusal(artifact: &artifact::Artifact) -> Option<&'static str> {
    let escapes = !artifact.external_data_problems.is_empty();
    match (artifact.format, escapes, &artifact.onnx) {
        (ArtifactFormat::Pickle, _, _) => Some("refused: pickle-based artifact"),
        (_, true, _) => Some("refused: external data outside the model folder"),
        (_, _, Err(_)) => Some(artifact::UNDECODED),
        _ => None,
    }
}

/// `--expected` and the sample (`--sample`, or the inputs of a test data set given as
/// `--expected`), read within the config's limits: the table, or the tensors.
fn read_sample_and_expected(options: &AuditOptions, text: &crate::inputs::text_columns::TextColumns) -> Result<ReadInputs, String> {
    let limits = &options.config.limits;
    let max_rows = options.config.sample.max_rows;
    let max_bytes = (limits.max_text_sample_mb * 1024.0 * 1024.0) as u64;
    let expected = options.expected.as_deref().map(|p| sample::read_expected(p, max_rows, max_bytes)).transpose()?;
    let sample_input = match (&options.sample, &options.expected) {
        (Some(path), _) => Some(sample::read_sample_input(path, max_rows, max_bytes, text)?),
        // A test data set given as --expected carries its inputs too.
        (None, Some(dir)) if dir.is_dir() && dir.join("input_0.pb").is_file() => Some(sample::read_sample_input(dir, max_rows, max_bytes, text)?),
        (None, _) => None,
    };
    let (sample, tensors) = match sample_input {
        Some(sample::SampleInput::Table(t)) => (Some(t), None),
        Some(sample::SampleInput::Tensors(t)) => (None, Some(t)),
        None => (None, None),
    };
    Ok(ReadInputs { expected, sample, tensors })
}

/// The columns the model reads as strings, known from the graph before any sample is read:
/// a CSV sample or reference reads them as text, so "01234" is not inferred as 1234.
fn text_columns(options: &AuditOptions, artifact: &artifact::Artifact) -> crate::inputs::text_columns::TextColumns {
    let metadata = artifact.onnx.as_ref().ok().and_then(|i| i.feature_names());
    let configured = options.config.checks.schema_parity.feature_names.clone();
    crate::inputs::text_columns::TextColumns::from_model(&artifact.domain, configured, metadata)
}

/// The files the audit compares the model with: `--expected`, and the sample as a table or tensors.
struct ReadInputs {
    expected: Option<sample::Expected>,
    sample: Option<sample::Sample>,
    tensors: Option<sample::TensorSample>,
}

/// The folders searched for lockfiles: `--project`, or by default the model's folder and the
/// root of the git checkout it lives in.
fn project_dirs(options: &AuditOptions) -> Result<Vec<PathBuf>, String> {
    let model_path = &options.model;
    Ok(match &options.project {
        Some(dir) if !dir.is_dir() => return Err(format!("--project {}: not a directory", dir.display())),
        Some(dir) => vec![dir.clone()],
        // By default: the model's folder and the root of the git checkout it lives in.
        None => {
            let model_dir = artifact::model_dir(model_path);
            let root = crate::lockfiles::git_root(&model_dir);
            std::iter::once(model_dir).chain(root).collect()
        }
    })
}

/// ONNX Runtime, found (`--ort-lib`, `ORT_DYLIB_PATH`, `--env`, ...), initialized and capped at
/// `limits.inference_memory_mb`.
fn start_runtime(options: &AuditOptions) -> Result<OrtRuntime, String> {
    let library = locate::locate_for(options.ort_lib.as_deref(), options.ort_env.as_deref(), options.env.as_deref()).map_err(|e| e.to_string())?;
    let shown_lib = library.path.display().to_string();
    let mut runtime = OrtRuntime::init(library).map_err(|e| format!("{shown_lib}: cannot initialize ONNX Runtime: {e}"))?;
    let memory_mb = options.config.limits.inference_memory_mb.ceil() as u64;
    runtime.limit_memory(memory_mb).map_err(|e| format!("{shown_lib}: cannot set the ONNX Runtime memory limit: {e}"))?;
    Ok(runtime)
}

/// What the report says about the sample.
fn sample_facts(sample: Option<&sample::Sample>, tensors: Option<&sample::TensorSample>, max_rows: usize) -> Option<SampleFacts> {
    match (sample, tensors) {
        (Some(s), _) => Some(SampleFacts {
            path: s.path.display().to_string(),
            format: s.format,
            rows: s.rows(),
            columns: s.columns().into_iter().map(|(name, _)| name).collect(),
            shapes: Vec::new(),
            cut: sample::cut_at(s, max_rows),
        }),
        (None, Some(t)) => Some(SampleFacts {
            path: t.dir.display().to_string(),
            format: sample::SampleFormat::from_path(&t.dir).unwrap_or(sample::SampleFormat::TestDataSet),
            rows: t.tensors.first().and_then(|p| p.data.shape().first().copied()).unwrap_or(1),
            columns: t.tensors.iter().enumerate().map(|(i, p)| if p.name.is_empty() { format!("input_{i}") } else { p.name.clone() }).collect(),
            shapes: t.tensors.iter().map(|p| p.data.shape().to_vec()).collect(),
            cut: None,
        }),
        (None, None) => None,
    }
}

/// `--reference`, reading only the model's columns (the sample's, when no model loaded).
fn load_reference(
    options: &AuditOptions,
    artifact: &artifact::Artifact,
    sample: Option<&sample::Sample>,
    inputs: Option<&[crate::runtime::IoSpec]>,
) -> Result<Option<crate::inputs::reference::Profile>, String> {
    Ok(match &options.reference {
        // Without a table sample nothing is compared: the data is not read, only opened.
        Some(path) if sample.is_none() && path.extension().is_none_or(|e| e != "json") => {
            crate::sandbox::open::open(path, u64::MAX).map_err(|e| format!("--reference {}: {e}", path.display()))?;
            None
        }
        Some(path) => {
            let sample_columns: Option<Vec<String>> = sample.as_ref().map(|s| s.columns().into_iter().map(|(name, _)| name).collect());
            let columns = match (inputs, &sample_columns) {
                (Some(inputs), Some(columns)) => {
                    let metadata = artifact.onnx.as_ref().ok().and_then(|i| i.feature_names());
                    let configured = options.config.checks.schema_parity.feature_names.clone();
                    Some(crate::inputs::columns::used(&crate::inputs::columns::map(columns, inputs, configured, metadata)))
                }
                _ => sample_columns,
            };
            let drift = &options.config.checks.drift;
            let model_columns = columns.clone();
            // The reference's own predictions, when it carries them, are read with the model's columns.
            let columns = columns.map(|mut c| {
                c.extend(drift.prediction_column.iter().filter(|p| !c.contains(p)).cloned().collect::<Vec<_>>());
                c
            });
            let rows = if drift.prediction_column.is_some() { 0 } else { drift.prediction_rows };
            let keep = crate::inputs::reference::Keep { rows, sorted: true, skip_unreadable: inputs.is_none() };
            // The model's string columns are read as text: profiled as the categories they are.
            let text = text_columns(options, artifact).pick(columns.as_deref().unwrap_or_default());
            let profile =
                crate::inputs::reference::load(path, columns.as_deref(), &text, drift.bins, keep).map_err(|e| format!("--reference {e}"))?;
            // A user who passes --reference expects a comparison: none possible is a usage error.
            if let Some(model) = model_columns.filter(|m| !m.iter().any(|c| profile.columns.contains_key(c))) {
                let names = crate::inputs::reference::file_columns(path).map_err(|e| format!("--reference {e}"))?;
                crate::checks::drift::require_shared_column(path, &model, &names)?;
            }
            Some(profile)
        }
        None => None,
    })
}

/// The child process the probes run in (so a runtime crash is a failed row), limited by the
/// probe memory limit and the audit's budget; none without a loaded model.
fn child_probes(
    options: &AuditOptions,
    runtime: Option<&OrtRuntime>,
    artifact: &artifact::Artifact,
    model_loaded: bool,
) -> Option<crate::probe::ChildProcess> {
    match (runtime, std::env::current_exe()) {
        (Some(runtime), Ok(exe)) if model_loaded => Some(crate::probe::ChildProcess {
            exe,
            model: options.model.clone(),
            ort_lib: runtime.library.path.clone(),
            settings: options.config.runtime.clone(),
            oversized_rows: options.config.checks.robustness.oversized_rows,
            timeout: std::time::Duration::from_secs_f64(options.config.checks.robustness.timeout_s),
            memory_bytes: mib_to_bytes(options.config.limits.probe_memory_mb),
            budget_bytes: mib_to_bytes(options.config.limits.memory_budget_mb),
            floor_bytes: crate::sandbox::budget::load_floor(artifact.size_bytes, crate::machine::peak_rss_bytes()),
            sizing: Default::default(),
            log: Default::default(),
            resource_failure: Default::default(),
        }),
        _ => None,
    }
}

/// The audit's memory budget: `limits.memory_budget_mb` when the config sets it, else the
/// memory limit the deployment declares for the container the deployment check judges (capped
/// by what this machine has available, at least [`crate::config::MIN_BUDGET_MB`]), else the default.
fn memory_budget(
    options: &AuditOptions,
    artifact: &artifact::Artifact,
    deploy: &crate::env::deploy::read::DeployRead,
) -> crate::sandbox::budget::Budget {
    let limits = &options.config.limits;
    let model_file = artifact.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let declared = match limits.memory_budget_set {
        true => None,
        false => deploy.declared_memory(model_file, options.config.checks.deployment.container.as_deref()).map(|d| (d.bytes, d.at())),
    };
    let floor = mib_to_bytes(crate::config::MIN_BUDGET_MB);
    let available = declared.as_ref().and_then(|_| crate::machine::available_memory_bytes());
    let differing = match (&declared, limits.memory_budget_set) {
        (None, false) => deploy.differing_memory_limits(model_file, options.config.checks.deployment.container.as_deref()),
        _ => None,
    };
    let mut budget = crate::sandbox::budget::choose(mib_to_bytes(limits.memory_budget_mb), limits.memory_budget_set, declared, available, floor);
    if let Some(differing) = differing {
        budget.source = format!("default: the judged containers declare different limits: {}", differing.join(", "));
    }
    budget
}

/// The configuration with `budget` as `limits.memory_budget_mb`, so that every reader of the
/// budget (the probe child, synthetic batches, throughput sessions) sizes from the one chosen.
fn with_budget(config: &Config, budget: &crate::sandbox::budget::Budget) -> Config {
    let mut config = config.clone();
    config.limits.memory_budget_mb = budget.bytes as f64 / (1024.0 * 1024.0);
    config.limits.memory_budget_from = budget.declared_bytes.map(|_| budget.source.clone());
    config
}

/// What the audit itself cost, measured as it ran.
fn audit_cost(
    budget: &crate::sandbox::budget::Budget,
    ctx: &AuditContext<'_>,
    probes: Option<&crate::probe::ChildProcess>,
    checks: Vec<CheckCost>,
    load_ms: Option<f64>,
    started: Instant,
) -> AuditCost {
    use crate::probe::ProbeRunner;
    let children = probes.map(|p| p.costs()).unwrap_or_default();
    let serving = ctx.cold_start.and_then(|c| c.peak_rss_after_load);
    let sizing = probes.and_then(|p| p.sizing());
    let bytes = (budget.bytes > 0).then_some(budget.bytes);
    let memory = MemoryCost::new(bytes, crate::machine::peak_rss_bytes(), &children, serving, sizing).with_budget_source(budget);
    AuditCost { wall_ms: started.elapsed().as_secs_f64() * 1e3, load_ms, checks, probe_children: children, memory }
}

/// Runs every check in registry order, applying --only, --skip and severities.
fn run_checks(options: &AuditOptions, ctx: &AuditContext<'_>) -> Result<(Vec<CheckResult>, Vec<CheckCost>), String> {
    let mut costs = Vec::new();
    std::thread::scope(|scope| {
        let results = REGISTRY
            .iter()
            .map(|check| {
                let started = Instant::now();
                let severity = options.config.checks.severity(check.id());
                let id = check.id();
                let outcome = match not_selected(options, id) {
                    Some(reason) => Outcome::skip(reason),
                    None => run_guarded(*check, ctx)?,
                };
                ctx.record(check.id(), &outcome);
                if id == PREPARE_SESSIONS_AFTER {
                    prepare_sessions(options, ctx, scope);
                }
                costs.push(CheckCost { id: check.id().to_string(), wall_ms: started.elapsed().as_secs_f64() * 1e3 });
                Ok(CheckResult::new(check.id(), severity, outcome))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok((results, costs))
    })
}

/// Whether `sessions` more bytes fit in the budget beside ready now and what output_sanity and
/// determinism may still add while they are created (8 rows at the per-row cost the probe child
/// measured, twice over, as [`AuditContext::budget_rows`] sizes them): when they might not,
/// latency creates them after those checks, as it always did, and decides on what ready holds then.
fn room_beside_checks(ctx: &AuditContext<'_>, budget: u64, sessions: u64) -> bool {
    use crate::sandbox::budget::{MARGIN, SAFETY_DIVISOR};
    let per_row = ctx.probes.and_then(|p| p.sizing()).map_or(0, |s| s.per_row_bytes);
    let checks = per_row.saturating_mul(8 * SAFETY_DIVISOR);
    let held = crate::machine::current_rss_bytes().unwrap_or(0);
    budget == 0 || held.saturating_add(sessions).saturating_add(checks).saturating_add(MARGIN) <= budget
}

/// The last check that runs probe children: the throughput mode's extra sessions are created
/// after it, so that they never share the memory budget with a child.
const PREPARE_SESSIONS_AFTER: &str = "robustness";

/// Starts creating the per-thread throughput mode's extra sessions on a thread of their own,
/// so that loading them overlaps the checks between the probes and latency (output_sanity,
/// determinism, ...: checks that time nothing) instead of adding to the audit's time; latency
/// waits for them before it times anything. Only when latency will measure that mode: it is
/// selected, `concurrency` is 2 or more, and the model's first inference took less than
/// `throughput_seconds` (a longer one is no promise the p50 is, so latency then decides and
/// creates them itself). Within the memory budget as latency would be
/// ([`crate::checks::latency::per_thread_sessions`]).
fn prepare_sessions<'scope, 'a: 'scope>(options: &AuditOptions, ctx: &AuditContext<'a>, scope: &'scope std::thread::Scope<'scope, '_>) {
    let latency = &options.config.checks.latency;
    let first = ctx.cold_start.as_ref().and_then(|c| c.first_inference);
    let quick = first.is_some_and(|f| f.as_secs_f64() < latency.throughput_seconds);
    let Ok(runner) = ctx.runner.clone() else { return };
    if not_selected(options, "latency").is_some() || latency.concurrency < 2 || !quick {
        return;
    }
    let (threads, budget, model_bytes) =
        (latency.concurrency, mib_to_bytes(options.config.limits.memory_budget_mb), crate::checks::latency::session_bytes(ctx));
    if !room_beside_checks(ctx, budget, model_bytes.saturating_mul(threads as u64 - 1)) {
        return;
    }
    let (sender, receiver) = std::sync::mpsc::channel();
    let started = std::thread::Builder::new().spawn_scoped(scope, move || {
        let made = crate::guard::catch(|| crate::checks::latency::per_thread_sessions(runner, threads, budget, model_bytes));
        let _ = sender.send(made.unwrap_or_else(|panic| Err(format!("internal error in ready while creating sessions: {panic}"))));
    });
    if started.is_ok() {
        *ctx.prepared_sessions.lock().unwrap_or_else(|p| p.into_inner()) = Some(receiver);
    }
}

/// Why check `id` does not run in this audit (`--only`, `--skip`, or allowed by the config), or
/// `None` when it runs: the one place the selection is decided.
fn not_selected(options: &AuditOptions, id: &str) -> Option<&'static str> {
    if !options.only.is_empty() && !options.only.iter().any(|o| o == id) {
        Some("not selected (--only)")
    } else if options.skip.iter().any(|s| s == id) {
        Some("skipped (--skip)")
    } else if options.config.checks.severity(id) == Severity::Allow {
        Some("allowed by config: not run")
    } else {
        None
    }
}

/// Why reading `shown` failed: ready's own shortage (file descriptors, memory) when that is
/// what the OS error says, else the file's problem.
fn read_error(error: &std::io::Error, shown: &str) -> String {
    match crate::sandbox::resources::ResourceError::classify(error, &format!("reading {shown}")) {
        Some(shortage) => shortage.to_string(),
        None => format!("{shown}: {error}"),
    }
}

/// Refuses a file over `limit_mb` before anything reads it. Missing files pass here and are
/// reported by whatever opens them.
fn refuse_oversized(path: &Path, limit_mb: f64, setting: &str) -> Result<(), String> {
    let Ok(metadata) = std::fs::metadata(path) else { return Ok(()) };
    let mb = metadata.len() as f64 / (1024.0 * 1024.0);
    if metadata.is_file() && mb > limit_mb {
        return Err(format!(
            "{}: {} exceeds {setting} ({limit_mb} MiB); raise the limit in the config to audit it",
            path.display(),
            artifact::human_size(metadata.len())
        ));
    }
    Ok(())
}

/// How long one inference may run in this process (`limits.inference_timeout_s`, validated
/// to lie in (0, 3600]).
fn inference_time_limit(config: &Config) -> std::time::Duration {
    std::time::Duration::from_secs_f64(config.limits.inference_timeout_s)
}

/// A limit in MiB from the config, in bytes (saturating: the config bounds it anyway).
fn mib_to_bytes(mb: f64) -> u64 {
    (mb * 1024.0 * 1024.0) as u64
}

/// The model's declared inputs and outputs, and its decoded header.
pub type ModelSignature = (Vec<crate::runtime::IoSpec>, Vec<crate::runtime::IoSpec>, Option<artifact::OnnxInfo>);

/// Loads the model only to read its declared inputs, outputs and header (for `ready init`).
pub fn model_inputs(options: &AuditOptions) -> Result<ModelSignature, String> {
    let shown = options.model.display();
    if options.model.is_dir() {
        return Err(format!("{shown}: is a directory, expected a model file"));
    }
    let limit = mib_to_bytes(options.config.limits.max_model_mb);
    let artifact = artifact::inspect(&options.model, limit).map_err(|e| format!("{shown}: {e}"))?;
    if artifact.format == ArtifactFormat::Pickle {
        return Err(format!("{shown}: pickle-based artifact; ready never loads these (export the model to ONNX)"));
    }
    let library = locate::locate_for(options.ort_lib.as_deref(), options.ort_env.as_deref(), options.env.as_deref()).map_err(|e| e.to_string())?;
    let runtime = OrtRuntime::init(library).map_err(|e| format!("cannot initialize ONNX Runtime: {e}"))?;
    let (runner, _) = runtime.load(&options.model, &options.config.runtime, None).map_err(|e| format!("{shown}: {e}"))?;
    Ok((runner.inputs().to_vec(), runner.outputs().to_vec(), artifact.onnx.ok()))
}

/// Runs a check. A panic inside it is a bug in ready, never a verdict on the model: it ends the
/// audit with an internal error (exit code 2), in every output format.
fn run_guarded(check: &dyn checks::Check, ctx: &AuditContext<'_>) -> Result<Outcome, String> {
    crate::guard::catch(|| {
        #[cfg(debug_assertions)]
        if std::env::var("READY_TEST_CHECK_PANIC").is_ok_and(|id| id == check.id()) {
            panic!("READY_TEST_CHECK_PANIC names this check");
        }
        check.run(ctx)
    })
    .map_err(|message| format!("internal error in ready while running check {}: {message} (please report this bug)", check.id()))
}

/// The loaded model, counting the valid requests it answered: an audit where it answered none
/// (and none was stopped at ready's own limits) is "not verified", whatever the checks say.
struct Watched<'a> {
    inner: &'a dyn ModelRunner,
    answered: AtomicUsize,
    /// Runs stopped at `limits.inference_timeout_s` or `limits.inference_memory_mb`.
    stopped: AtomicUsize,
}

impl Watched<'_> {
    fn count<T>(&self, result: Result<T, crate::runtime::InferenceError>) -> Result<T, crate::runtime::InferenceError> {
        match &result {
            Ok(_) => self.answered.fetch_add(1, Ordering::Relaxed),
            Err(e) if e.limit.is_some() => self.stopped.fetch_add(1, Ordering::Relaxed),
            Err(_) => 0,
        };
        result
    }
}

impl ModelRunner for Watched<'_> {
    fn inputs(&self) -> &[crate::runtime::IoSpec] {
        self.inner.inputs()
    }
    fn outputs(&self) -> &[crate::runtime::IoSpec] {
        self.inner.outputs()
    }
    fn run(&self, batch: &crate::runtime::Batch) -> Result<Vec<crate::runtime::NamedOutput>, crate::runtime::InferenceError> {
        self.count(self.inner.run(batch))
    }
    fn bench(
        &self,
        batch: &crate::runtime::Batch,
        on_run: &mut dyn FnMut(std::time::Duration) -> std::ops::ControlFlow<()>,
    ) -> Result<(), crate::runtime::InferenceError> {
        self.count(self.inner.bench(batch, on_run))
    }
    fn fork(&self) -> Result<Box<dyn ModelRunner>, crate::runtime::InferenceError> {
        self.inner.fork()
    }
}

/// Why the audit could not verify the model, when none of the selected checks that run the
/// model got an answer to a valid request.
fn not_verified(options: &AuditOptions, results: &[CheckResult], has_sample: bool) -> Option<NotVerified> {
    let checks: Vec<String> = REGISTRY
        .iter()
        .filter(|c| c.runs_model())
        .filter(|c| not_selected(options, c.id()).is_none())
        .filter_map(|c| results.iter().find(|r| r.id == c.id()))
        .map(|r| r.id.clone())
        .collect();
    if checks.is_empty() {
        return None;
    }
    let advice = if has_sample {
        "The sample's rows were rejected too (see schema_parity): fix the sample, or describe the inputs under inputs: and dims: in the config."
    } else {
        "Give --sample with real rows (CSV, Parquet, JSON, .npy/.npz or an ONNX test-data folder), or describe the inputs under inputs: and dims: in the config (`ready init MODEL` writes a starter)."
    };
    Some(NotVerified { checks, advice: advice.to_string() })
}

/// Why this machine cannot run the model's string operators (empty when it can): a locale the
/// machine lacks is a problem of the audit's environment (exit 2), not a model failure.
fn missing_locales(artifact: &artifact::Artifact) -> String {
    let missing = crate::model::locales::missing_here(&artifact.locales);
    let Some(first) = missing.first() else { return String::new() };
    format!(
        "{}: ONNX Runtime cannot create the session on this machine: {} needs the locale {}, which is not installed here; \
         install it (Debian/Ubuntu: `locale-gen {}`) or audit on a machine like the one that serves the model",
        artifact.path.display(),
        first.node,
        first.locale,
        first.locale
    )
}
