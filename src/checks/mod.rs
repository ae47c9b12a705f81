//! The checks: the [`Check`] trait, the [`AuditContext`] each check reads, and the registry.
//!
//! A check returns facts ([`Outcome`]: status, summary, details, metrics); the configuration
//! decides what a failure means (deny, warn, allow). Adding a check touches its own file,
//! [`REGISTRY`] and `config.rs`.

mod baseline;
pub mod deployment;
mod determinism;
pub mod domain;
pub mod drift;
mod empty_batch;
mod golden_parity;
mod hardcoded_paths;
pub mod latency;
mod lockfile;
mod output_sanity;
mod robustness;
pub mod schema_parity;
mod serialization;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;

use crate::artifact::Artifact;
use crate::config::Config;
use crate::inputs::batch_axis::BatchAxes;
use crate::inputs::synth::Synthesizer;
use crate::probe::{InProcess, ProbeKind, ProbeResult, ProbeRunner};
use crate::runtime::locate::RuntimeLibrary;
use crate::runtime::{Batch, ModelRunner};
use crate::sample::{Expected, Sample, TensorSample};

/// Every check, in the order the audit runs and reports them.
pub static REGISTRY: &[&dyn Check] = &[
    &serialization::Serialization,
    &schema_parity::SchemaParity,
    &domain::Domain,
    &drift::Drift,
    &empty_batch::EmptyBatch,
    &robustness::Robustness,
    &output_sanity::OutputSanity,
    &determinism::Determinism,
    &golden_parity::GoldenParity,
    &latency::Latency,
    &deployment::Deployment,
    &lockfile::Lockfile,
    &baseline::Baseline,
    &hardcoded_paths::HardcodedPaths,
];

/// Looks a check up by id.
pub fn find(id: &str) -> Option<&'static dyn Check> {
    REGISTRY.iter().copied().find(|c| c.id() == id)
}

/// One audit check.
pub trait Check: Sync {
    /// Stable identifier used in configs, flags and reports (`schema_parity`).
    fn id(&self) -> &'static str;
    /// One line: what the check verifies.
    fn description(&self) -> &'static str;
    /// What it checks, why it matters, and how to fix a failure (for `ready explain`).
    fn explanation(&self) -> &'static str;
    /// Runs the check.
    fn run(&self, ctx: &AuditContext<'_>) -> Outcome;
    /// Whether the check runs the model on valid input (an audit where none of these could
    /// run the model is "not verified").
    fn runs_model(&self) -> bool {
        false
    }
}

/// What a check found, before severity is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Pass,
    Skip,
    Warn,
    Fail,
}

impl Status {
    /// The lower-case name used in tables and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Skip => "skip",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// A metric value in a report.
pub type Metrics = BTreeMap<String, serde_json::Value>;

/// The facts a check returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: Status,
    /// One line for the table.
    pub summary: String,
    /// Supporting lines: each finding, each measured value worth reading.
    pub details: Vec<String>,
    pub metrics: Metrics,
}

impl Outcome {
    /// The summary is one line of at most [`SUMMARY_CHARS`] characters (a table cell); the
    /// details and metrics keep the full text.
    fn new(status: Status, summary: impl Into<String>) -> Self {
        Self { status, summary: one_line(&summary.into(), SUMMARY_CHARS), details: Vec::new(), metrics: Metrics::new() }
    }
    pub fn pass(summary: impl Into<String>) -> Self {
        Self::new(Status::Pass, summary)
    }
    pub fn warn(summary: impl Into<String>) -> Self {
        Self::new(Status::Warn, summary)
    }
    pub fn fail(summary: impl Into<String>) -> Self {
        Self::new(Status::Fail, summary)
    }
    pub fn skip(summary: impl Into<String>) -> Self {
        Self::new(Status::Skip, summary)
    }
    /// Adds supporting lines.
    pub fn with_details(mut self, details: impl IntoIterator<Item = String>) -> Self {
        self.details.extend(details);
        self
    }
    /// Adds a metric.
    pub fn with_metric(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.metrics.insert(name.to_string(), value.into());
        self
    }
}

/// The longest summary, in characters.
pub const SUMMARY_CHARS: usize = 160;

/// `text` on one line (every run of whitespace, newlines included, becomes one space), cut to
/// `max` characters with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= max { joined } else { format!("{}…", joined.chars().take(max.saturating_sub(1)).collect::<String>()) }
}

/// Session creation and first-inference times, measured once when the model loads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColdStart {
    pub session_create: Duration,
    pub first_inference: Option<Duration>,
    /// Peak resident memory of the audit process right after loading and the first inference.
    pub peak_rss_after_load: Option<u64>,
    /// What creating the model's session added to ready's resident memory (a small file whose
    /// weights are built at load costs far more than its size).
    pub load_rss_bytes: Option<u64>,
}

/// Where a check's model inputs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSource {
    Sample,
    /// Built by ready from the declared types, with no input spec in the config.
    Synthetic,
    /// Built by ready following the config's input specs (`inputs:`, `dims:`).
    Configured,
}

impl InputSource {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sample => "sample rows",
            Self::Synthetic => "synthetic input",
            Self::Configured => "input built from the config's input specs",
        }
    }

    /// Whether ready made the values up (so a failure may be ready's, not the model's).
    pub fn is_invented(self) -> bool {
        self == Self::Synthetic
    }
}

/// Everything a check may read. Built once per audit; the model is loaded once.
pub struct AuditContext<'a> {
    pub config: &'a Config,
    pub artifact: &'a Artifact,
    /// The loaded model, or why it did not load.
    pub runner: Result<&'a dyn ModelRunner, String>,
    pub cold_start: Option<ColdStart>,
    pub runtime: Option<&'a RuntimeLibrary>,
    pub sample: Option<&'a Sample>,
    /// Folders searched for lockfiles.
    pub project_dirs: Vec<PathBuf>,
    /// `--project`, when given (the serving code scanned for hardcoded paths).
    pub project: Option<PathBuf>,
    /// `--deploy`: Kubernetes manifests and Dockerfiles, files or folders.
    pub deploy: Vec<PathBuf>,
    /// The deployment files, read once by the audit before the checks (`None`: the check reads them).
    pub deploy_read: Option<&'a crate::env::deploy::read::DeployRead>,
    /// The audit config file, when one was given.
    pub config_path: Option<PathBuf>,
    /// `--env`, read: the installed Python environment to compare the locks with (when
    /// `None`, the lockfile check looks in the default places).
    pub python_env: Option<&'a crate::env::python_env::PythonEnv>,
    /// `--env none`: no environment is read for the lockfile check, not even a default one.
    pub env_off: bool,
    /// Show progress bars on stderr.
    pub show_progress: bool,
    /// An earlier audit to compare with (`--baseline`).
    pub baseline: Option<&'a crate::report::Report>,
    /// Inputs from an ONNX test data set folder (`--sample DIR`).
    pub tensors: Option<&'a TensorSample>,
    /// Reference outputs (`--expected`).
    pub expected: Option<&'a Expected>,
    /// The training reference (`--reference`).
    pub reference: Option<&'a crate::inputs::reference::Profile>,
    /// Where negative probes run (a child process in real audits; in-process when `None`).
    pub probes: Option<&'a dyn ProbeRunner>,
    binding: OnceLock<Option<schema_parity::Binding>>,
    axes: OnceLock<BatchAxes>,
    probes_done: OnceLock<Vec<(ProbeKind, ProbeResult)>>,
    earlier: Mutex<Vec<(&'static str, Outcome)>>,
    /// The per-thread throughput mode's extra sessions, being created in the background while
    /// the checks before latency run (see `audit::prepare_sessions`); `None`: latency creates them.
    pub prepared_sessions: Mutex<Option<PreparedSessions>>,
}

/// Where the per-thread throughput mode's extra sessions arrive once created: the sessions, or
/// why they were not (the memory budget).
pub type PreparedSessions = std::sync::mpsc::Receiver<Result<Vec<Box<dyn ModelRunner>>, String>>;

impl<'a> AuditContext<'a> {
    /// Creates a context; the sample binding is computed on first use.
    pub fn new(config: &'a Config, artifact: &'a Artifact, runner: Result<&'a dyn ModelRunner, String>, sample: Option<&'a Sample>) -> Self {
        Self {
            config,
            artifact,
            runner,
            cold_start: None,
            runtime: None,
            sample,
            project_dirs: Vec::new(),
            project: None,
            deploy: Vec::new(),
            deploy_read: None,
            config_path: None,
            python_env: None,
            env_off: false,
            show_progress: false,
            baseline: None,
            tensors: None,
            expected: None,
            reference: None,
            probes: None,
            binding: OnceLock::new(),
            axes: OnceLock::new(),
            probes_done: OnceLock::new(),
            earlier: Mutex::new(Vec::new()),
            prepared_sessions: Mutex::new(None),
        }
    }

    /// The per-thread throughput mode's extra sessions when they were prepared in the
    /// background, waiting until they are (`None`: none were).
    pub fn take_prepared_sessions(&self) -> Option<Result<Vec<Box<dyn ModelRunner>>, String>> {
        let receiver = self.prepared_sessions.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(receiver.recv().unwrap_or_else(|_| Err("the thread creating the sessions stopped".to_string())))
    }

    /// Records a finished check so that later checks (the baseline comparison) can read it.
    pub fn record(&self, id: &'static str, outcome: &Outcome) {
        self.earlier.lock().unwrap_or_else(|p| p.into_inner()).push((id, outcome.clone()));
    }

    /// The outcome of check `id`, if it already ran in this audit.
    pub fn earlier_outcome(&self, id: &str) -> Option<Outcome> {
        let earlier = self.earlier.lock().unwrap_or_else(|p| p.into_inner());
        earlier.iter().find(|(i, _)| *i == id).map(|(_, o)| o.clone())
    }

    /// The loaded model, or a skip outcome naming why there is none.
    pub fn runner(&self) -> Result<&'a dyn ModelRunner, Outcome> {
        self.runner.as_ref().copied().map_err(|_| Outcome::skip("model did not load (see serialization)"))
    }

    /// The sample matched against the model inputs (`None` without a sample or a model).
    pub fn binding(&self) -> Option<&schema_parity::Binding> {
        self.binding
            .get_or_init(|| {
                let runner = self.runner.as_ref().ok()?;
                if let Some(set) = self.tensors {
                    return Some(schema_parity::bind_tensors(set, runner.inputs(), &self.binding_rules()));
                }
                self.bind(self.sample?)
            })
            .as_ref()
    }

    /// How a sample is judged against the model inputs (`checks.schema_parity`).
    fn binding_rules(&self) -> schema_parity::Rules<'_> {
        let settings = &self.config.checks.schema_parity;
        let positional = match settings.positional_columns {
            crate::config::PositionalColumns::Warn => Status::Warn,
            crate::config::PositionalColumns::Fail => Status::Fail,
        };
        schema_parity::Rules { tolerance: settings.float_tolerance, positional, domain: &self.artifact.domain }
    }

    /// `sample` matched against the model inputs as the sample is (the reference's rows, for
    /// prediction drift); `None` without a model.
    pub fn bind(&self, sample: &Sample) -> Option<schema_parity::Binding> {
        let runner = self.runner.as_ref().ok()?;
        let rules = self.binding_rules();
        let configured = self.config.checks.schema_parity.feature_names.clone();
        let metadata = self.artifact.onnx.as_ref().ok().and_then(|i| i.feature_names());
        let named = match (configured, metadata) {
            (Some(names), _) => Some((names, schema_parity::NamesFrom::Config)),
            (None, Some(names)) => Some((names, schema_parity::NamesFrom::ModelMetadata)),
            (None, None) => None,
        };
        let named = named.as_ref().map(|(names, from)| (names.as_slice(), *from));
        Some(schema_parity::bind(sample, runner.inputs(), named, &rules))
    }

    /// The loaded model and its smallest valid request (from the sample, else synthetic), or
    /// the skip outcome that says why there is none.
    pub fn request(&self) -> Result<(&'a dyn ModelRunner, Batch, InputSource), Outcome> {
        let runner = self.runner()?;
        let (batch, source) = self.model_batch(1).map_err(|reason| Outcome::skip(format!("cannot build inputs: {reason}")))?;
        Ok((runner, self.axes().single_request(&batch), source))
    }

    /// The result of negative probe `kind`, built from `base`. All probes run together on
    /// first use (in one child process when one is configured, in this process otherwise).
    pub fn run_probe(&self, kind: ProbeKind, base: &Batch) -> ProbeResult {
        let all = self.probes_done.get_or_init(|| match (self.probes, &self.runner) {
            (Some(probes), _) => probes.run_all(&ProbeKind::ALL, base, self.axes()),
            (None, Ok(runner)) => InProcess { runner: *runner, oversized_rows: self.config.checks.robustness.oversized_rows }.run_all(
                &ProbeKind::ALL,
                base,
                self.axes(),
            ),
            (None, Err(_)) => ProbeKind::ALL.iter().map(|&k| (k, ProbeResult::NotApplicable("model did not load".into()))).collect(),
        });
        all.iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| ProbeResult::Crash("the probe process gave no result for this probe".into()))
    }

    /// The oversized probe with exactly `rows` rows (the search for the largest batch that fits).
    pub fn run_probe_rows(&self, base: &Batch, rows: usize) -> ProbeResult {
        match (self.probes, &self.runner) {
            (Some(probes), _) => probes.run_rows(base, self.axes(), rows),
            (None, Ok(runner)) => InProcess { runner: *runner, oversized_rows: rows }.run_rows(base, self.axes(), rows),
            (None, Err(_)) => ProbeResult::NotApplicable("model did not load".into()),
        }
    }

    /// Rows for a synthetic batch run in ready's own process: `wanted`, fewer (never under 2)
    /// when the per-row memory the probe child measured says `wanted` rows would not fit twice
    /// over in what `limits.memory_budget_mb` leaves beside ready now.
    pub fn budget_rows(&self, wanted: usize) -> usize {
        use crate::sandbox::budget::{MARGIN, SAFETY_DIVISOR};
        let budget = (self.config.limits.memory_budget_mb * 1024.0 * 1024.0) as u64;
        let Some(sizing) = self.probes.and_then(|p| p.sizing()).filter(|_| budget > 0) else { return wanted };
        let left = budget.saturating_sub(crate::machine::current_rss_bytes().unwrap_or(0)).saturating_sub(MARGIN);
        let fit = left / sizing.per_row_bytes.max(1).saturating_mul(SAFETY_DIVISOR);
        wanted.min(usize::try_from(fit).unwrap_or(usize::MAX)).max(wanted.min(2))
    }

    /// Whether any sample was given (a table or a test data set).
    pub fn has_sample(&self) -> bool {
        self.sample.is_some() || self.tensors.is_some()
    }

    /// Inputs for model runs: the sample rows when they bind to the model, otherwise a
    /// synthetic batch of `synthetic_rows` rows built from the input specs.
    pub fn model_batch(&self, synthetic_rows: usize) -> Result<(Batch, InputSource), String> {
        if let Some(batch) = self.binding().and_then(|b| b.batch.clone()) {
            return Ok((batch, InputSource::Sample));
        }
        self.synthetic(synthetic_rows)
    }

    /// A synthetic batch of `rows` rows (the model's own batch size when it fixes one), and
    /// whether the config's input specs shaped it.
    pub fn synthetic(&self, rows: usize) -> Result<(Batch, InputSource), String> {
        let source = if self.config.inputs.is_empty() && self.config.dims.is_empty() { InputSource::Synthetic } else { InputSource::Configured };
        self.synthesizer()?.batch(rows).map(|b| (b, source))
    }

    /// What builds synthetic requests for the loaded model from the config's specs.
    pub fn synthesizer(&self) -> Result<Synthesizer<'_>, String> {
        let runner = self.runner.as_ref().map_err(Clone::clone)?;
        Ok(Synthesizer { inputs: runner.inputs(), axes: self.axes(), dims: &self.config.dims, specs: &self.config.inputs })
    }

    /// The batch axis of every model input (none without a loaded model).
    pub fn axes(&self) -> &BatchAxes {
        self.axes.get_or_init(|| match &self.runner {
            Ok(runner) => BatchAxes::infer(runner.inputs(), runner.outputs(), &self.config.batch_axis_overrides()),
            Err(_) => BatchAxes::none(&[]),
        })
    }
}

/// A failed check when ready stopped the inference at its own time or memory limit: a model
/// that never answers, or outgrows the memory it may use, fails whatever input it was given
/// (it is not "rejecting" an invented input).
pub fn stopped_at_limit(error: &crate::runtime::InferenceError) -> Option<Outcome> {
    error.limit.map(|_| Outcome::fail(empty_batch::first_line(&error.message)))
}

/// The outputs with one row per request row (their first axis is as long as the request's
/// `rows`): a recurrent state `[2, rows, 128]` or a summary is not one of them.
pub fn per_row_outputs(outputs: &[crate::runtime::NamedOutput], rows: usize) -> std::collections::BTreeSet<String> {
    outputs.iter().filter(|o| o.value.rows() == Some(rows)).map(|o| o.name.clone()).collect()
}

/// Number of distinct rows in a batch (looking at the first 256), rows taken along `axes`.
pub fn distinct_rows(batch: &Batch, axes: &BatchAxes) -> usize {
    let rows = axes.rows(batch).min(256);
    let keys: Vec<Vec<String>> = (0..rows).map(|r| axes.slice(batch, r, r + 1).iter().flat_map(|t| t.data.to_texts()).collect()).collect();
    let mut unique: Vec<&Vec<String>> = Vec::new();
    for key in &keys {
        if !unique.contains(&key) {
            unique.push(key);
        }
    }
    unique.len()
}

/// The batch restricted to rows `start..end` along the first axis of every input (tabular
/// samples, whose inputs are all `[rows, columns]`).
pub fn slice_batch(batch: &Batch, start: usize, end: usize) -> Batch {
    BatchAxes::leading(batch).slice(batch, start, end)
}

#[cfg(test)]
pub(crate) mod mock {
    //! A scripted [`ModelRunner`] for deterministic check tests.
    use std::ops::ControlFlow;
    use std::sync::Mutex;
    use std::time::Duration;

    use crate::runtime::{Batch, InferenceError, IoSpec, ModelRunner, NamedOutput};

    /// Returns `outputs` from every run (or `error`), and replays `durations` in a cycle for `bench`.
    pub struct MockRunner {
        pub inputs: Vec<IoSpec>,
        pub outputs: Vec<IoSpec>,
        pub result: Result<Vec<NamedOutput>, InferenceError>,
        /// Returned instead of `result` for a request of 0 rows, when set.
        pub empty_result: Option<Result<Vec<NamedOutput>, InferenceError>>,
        pub durations: Vec<Duration>,
        pub runs: Mutex<Vec<usize>>,
        /// Position in `durations`, kept across `bench` calls (warm-up, then timing).
        pub cursor: Mutex<usize>,
    }

    impl MockRunner {
        pub fn new(inputs: Vec<IoSpec>, result: Result<Vec<NamedOutput>, InferenceError>) -> Self {
            Self {
                inputs,
                outputs: Vec::new(),
                result,
                empty_result: None,
                durations: vec![Duration::from_millis(1)],
                runs: Mutex::new(Vec::new()),
                cursor: Mutex::new(0),
            }
        }
    }

    impl ModelRunner for MockRunner {
        fn inputs(&self) -> &[IoSpec] {
            &self.inputs
        }
        fn outputs(&self) -> &[IoSpec] {
            &self.outputs
        }
        fn run(&self, batch: &Batch) -> Result<Vec<NamedOutput>, InferenceError> {
            let rows = crate::runtime::tensor::batch_rows(batch);
            self.runs.lock().unwrap().push(rows);
            match &self.empty_result {
                Some(result) if rows == 0 => result.clone(),
                _ => self.result.clone(),
            }
        }
        fn bench(&self, _batch: &Batch, on_run: &mut dyn FnMut(Duration) -> ControlFlow<()>) -> Result<(), InferenceError> {
            self.result.clone()?;
            let mut cursor = self.cursor.lock().unwrap();
            loop {
                let d = self.durations[*cursor % self.durations.len()];
                *cursor += 1;
                if on_run(d).is_break() {
                    return Ok(());
                }
            }
        }
        fn fork(&self) -> Result<Box<dyn ModelRunner>, InferenceError> {
            let mut twin = MockRunner::new(self.inputs.clone(), self.result.clone());
            twin.durations = self.durations.clone();
            Ok(Box::new(twin))
        }
    }
}

#[cfg(test)]
mod registry_tests {
    use super::REGISTRY;
    use crate::config::{ChecksConfig, DEFAULT_YAML};

    /// The `### id` headings of README's "Checks" section.
    fn readme_check_sections() -> Vec<String> {
        let readme = include_str!("../../README.md");
        let start = readme.find("\n## Checks\n").expect("README has a Checks section");
        let section = &readme[start + 1..];
        let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
        section[..end].lines().filter_map(|l| l.strip_prefix("### ")).map(str::to_string).collect()
    }

    #[test]
    fn every_registered_check_has_config_explain_text_and_a_readme_section() {
        let ids: Vec<&str> = REGISTRY.iter().map(|c| c.id()).collect();
        let mut config_ids = ChecksConfig::IDS.to_vec();
        let mut sorted_ids = ids.clone();
        config_ids.sort_unstable();
        sorted_ids.sort_unstable();
        assert_eq!(config_ids, sorted_ids, "ChecksConfig sections (config.rs check_sections!) and the registry differ");
        let defaults: serde_json::Value = serde_json::to_value(crate::config::Config::default()).unwrap();
        let mut yaml_sections: Vec<&str> = DEFAULT_YAML
            .lines()
            .skip_while(|l| *l != "checks:")
            .skip(1)
            .take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#'))
            .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with([' ', '#'])).and_then(|l| l.split(':').next()))
            .collect();
        yaml_sections.sort_unstable();
        assert_eq!(yaml_sections, sorted_ids, "audits/default.yaml's checks: sections");
        assert_eq!(readme_check_sections(), ids, "README's ### sections under ## Checks, in registry order");
        for check in REGISTRY {
            let id = check.id();
            assert!(defaults["checks"][id]["severity"].is_string(), "{id}: no severity in the default config");
            assert!(!check.description().is_empty(), "{id}: no description");
            let explanation = check.explanation();
            for part in ["What:", "Why:", "Fix:"] {
                assert!(explanation.contains(part), "{id}: `ready explain` text has no {part}");
            }
        }
    }
}
