//! The audit configuration (`audits/*.yaml`): which checks deny, warn or are allowed, their
//! thresholds, and the runtime settings. Parsing rejects unknown keys; validation then reports
//! every bad value at once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config_yaml::{self, Problem};
use crate::inputs::spec::InputSpec;
use crate::runtime::RuntimeSettings;

/// The built-in configuration, identical to the documented `audits/default.yaml`.
pub const DEFAULT_YAML: &str = include_str!("../audits/default.yaml");

/// What a failing check does to the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure fails the audit (exit code 1).
    Deny,
    /// A failure is reported as a warning; the exit code is unchanged.
    Warn,
    /// The check is not run.
    Allow,
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// ONNX Runtime session settings.
    pub runtime: RuntimeSettings,
    /// How sample files are read.
    pub sample: SampleSettings,
    /// Per-check settings.
    pub checks: ChecksConfig,
    /// `ready readme --check` tolerances.
    pub readme: ReadmeSettings,
    /// Resource limits: inputs refused before loading, probe memory.
    pub limits: Limits,
    /// Sizes of dynamic dimensions, by symbolic name (`sequence: 128`).
    pub dims: BTreeMap<String, u64>,
    /// What the serving path sends to each input, by input name.
    pub inputs: BTreeMap<String, InputSpec>,
    /// What an audit whose model never ran on a valid input does: `fail` (exit 1) or `warn`.
    pub unverified: Unverified,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            runtime: RuntimeSettings::default(),
            sample: SampleSettings::default(),
            checks: ChecksConfig::default(),
            readme: ReadmeSettings::default(),
            limits: Limits::default(),
            dims: BTreeMap::new(),
            inputs: BTreeMap::new(),
            unverified: Unverified::Fail,
        }
    }
}

/// What an audit that never ran the model on a valid input does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unverified {
    /// Verdict "not verified", exit code 1.
    Fail,
    /// Verdict "not verified", exit code 0: the report still says so.
    Warn,
}

impl Config {
    /// The batch-axis overrides of the input specs, by input name.
    pub fn batch_axis_overrides(&self) -> BTreeMap<String, Option<usize>> {
        self.inputs.iter().filter_map(|(name, spec)| spec.batch_axis.map(|a| (name.clone(), a.axis()))).collect()
    }
}

/// Resource limits. Inputs over a size limit are refused before anything is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest model file, in MiB.
    pub max_model_mb: f64,
    /// Largest CSV or JSON sample or expected-output file, in MiB (they are read whole;
    /// Parquet is read a row group at a time and has no limit).
    pub max_text_sample_mb: f64,
    /// Memory a probe child process may allocate, in MiB; past it the probe dies and fails.
    pub probe_memory_mb: f64,
    /// Longest one inference may run in ready's own process, in seconds; past it ONNX Runtime
    /// is told to stop and the check that ran it fails.
    pub inference_timeout_s: f64,
    /// Memory ONNX Runtime may allocate in ready's own process, in MiB (one arena shared by its
    /// sessions); an inference that needs more fails its check.
    pub inference_memory_mb: f64,
    /// The audit's own memory, in MiB: ready and a probe child together. The oversized batch
    /// and the throughput sessions are sized to fit it; 0 = no budget. Unset: the deployment's
    /// declared memory limit when a manifest declares one, else 1024 (`sandbox::budget::choose`).
    pub memory_budget_mb: f64,
    /// Whether the config file sets `memory_budget_mb` (then it wins over a manifest's limit).
    #[serde(skip)]
    pub memory_budget_set: bool,
    /// Where the deployment declares the limit the budget came from, when it did (set by the
    /// audit, never by the file): what to raise when the budget is too small.
    #[serde(skip)]
    pub memory_budget_from: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_model_mb: 4096.0,
            max_text_sample_mb: 512.0,
            probe_memory_mb: 8192.0,
            inference_timeout_s: 60.0,
            inference_memory_mb: 8192.0,
            memory_budget_mb: 1024.0,
            memory_budget_set: false,
            memory_budget_from: None,
        }
    }
}

/// How far fresh measurements may drift from the README's Operational Constraints before
/// `ready readme --check` fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadmeSettings {
    /// Allowed relative increase of p50/p99 latency and cold start over the documented values
    /// (0.5 = 50% slower). Faster is always fine.
    pub latency_tolerance: f64,
    /// Allowed relative increase of peak memory over the documented value.
    pub memory_tolerance: f64,
    /// Latency drift below this many milliseconds is never reported (timer and scheduler jitter).
    pub latency_floor_ms: f64,
}

impl Default for ReadmeSettings {
    fn default() -> Self {
        Self { latency_tolerance: 0.5, memory_tolerance: 0.25, latency_floor_ms: 0.1 }
    }
}

/// How sample files are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleSettings {
    /// Rows read from the sample file; the rest of the file is never read.
    pub max_rows: usize,
}

impl Default for SampleSettings {
    fn default() -> Self {
        Self { max_rows: 1000 }
    }
}

/// Settings of every check, by check id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    pub serialization: SeverityOnly,
    pub schema_parity: SchemaParityConfig,
    pub domain: DomainConfig,
    pub drift: DriftConfig,
    pub empty_batch: SeverityOnly,
    pub latency: LatencyConfig,
    pub deployment: DeploymentConfig,
    pub lockfile: LockfileConfig,
    pub robustness: RobustnessConfig,
    pub output_sanity: SeverityOnly,
    pub determinism: ToleranceConfig,
    pub golden_parity: ToleranceConfig,
    pub baseline: BaselineConfig,
    pub hardcoded_paths: HardcodedPathsConfig,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        Self {
            serialization: SeverityOnly::default(),
            schema_parity: SchemaParityConfig::default(),
            domain: DomainConfig::default(),
            drift: DriftConfig::default(),
            empty_batch: SeverityOnly::default(),
            latency: LatencyConfig::default(),
            deployment: DeploymentConfig::default(),
            lockfile: LockfileConfig::default(),
            robustness: RobustnessConfig::default(),
            output_sanity: SeverityOnly::default(),
            // A batch and its rows run alone take different GEMM kernels: float32 results differ
            // by ~1e-4 relative through a deep network (seen on magika's transformer). Rows that
            // really depend on their batch differ by far more.
            determinism: ToleranceConfig { atol: 1e-4, rtol: 1e-3, ..ToleranceConfig::default() },
            golden_parity: ToleranceConfig::default(),
            baseline: BaselineConfig::default(),
            hardcoded_paths: HardcodedPathsConfig::default(),
        }
    }
}

/// The one table from a check id to its section of [`ChecksConfig`] (each field is named after
/// its check): the severity accessors and [`ChecksConfig::IDS`] are generated from it, and a test
/// keeps it equal to the check registry (`checks::REGISTRY`).
macro_rules! check_sections {
    ($($id:ident),* $(,)?) => {
        impl ChecksConfig {
            /// Every check id with a config section.
            pub const IDS: &'static [&'static str] = &[$(stringify!($id)),*];

            fn severity_slot(&mut self, id: &str) -> Option<&mut Severity> {
                match id {
                    $(stringify!($id) => Some(&mut self.$id.severity),)*
                    _ => None,
                }
            }

            /// The configured severity of check `id`; `None` for an id with no config section.
            pub fn severity_of(&self, id: &str) -> Option<Severity> {
                match id {
                    $(stringify!($id) => Some(self.$id.severity),)*
                    _ => None,
                }
            }
        }
    };
}

check_sections!(
    serialization,
    schema_parity,
    domain,
    drift,
    empty_batch,
    latency,
    deployment,
    lockfile,
    robustness,
    output_sanity,
    determinism,
    golden_parity,
    baseline,
    hardcoded_paths
);

impl ChecksConfig {
    /// Overrides the severity of check `id`; false when there is no such check.
    pub fn set_severity(&mut self, id: &str, severity: Severity) -> bool {
        match self.severity_slot(id) {
            Some(slot) => {
                *slot = severity;
                true
            }
            None => false,
        }
    }

    /// The configured severity of check `id` (deny for an unknown id; every registered check
    /// has a section, see the registry test).
    pub fn severity(&self, id: &str) -> Severity {
        self.severity_of(id).unwrap_or(Severity::Deny)
    }
}

/// A check whose only setting is its severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityOnly {
    pub severity: Severity,
}

impl Default for SeverityOnly {
    fn default() -> Self {
        Self { severity: Severity::Deny }
    }
}

/// Schema parity settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaParityConfig {
    pub severity: Severity,
    /// Column names, in tensor order, for models with one 2-D input. When absent, the model's
    /// `feature_names` metadata is used; when that is absent too, columns are matched by position.
    pub feature_names: Option<Vec<String>>,
    /// A float column passes when its largest rounding error into the model's type, divided by
    /// the column's spread (the Scaler's training std when the graph has one), stays under this.
    pub float_tolerance: f64,
    /// What columns matched by position (no feature names known) give: `warn` or `fail`.
    pub positional_columns: PositionalColumns,
}

/// The status of columns whose order cannot be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionalColumns {
    Warn,
    Fail,
}

impl Default for SchemaParityConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, feature_names: None, float_tolerance: 1e-4, positional_columns: PositionalColumns::Warn }
    }
}

/// Domain settings: sample values against the domain the graph states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DomainConfig {
    pub severity: Severity,
    /// A value further than this many Scaler units (a std, an IQR, a largest |value|) from its
    /// centre, or this many range widths outside a MinMaxScaler's range, warns.
    pub max_std: f64,
    /// This share of a column's values beyond every tree split, on one side, warns.
    pub split_share: f64,
}

impl Default for DomainConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, max_std: 10.0, split_share: 0.9 }
    }
}

/// Drift settings: the sample against the training reference (`--reference`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftConfig {
    pub severity: Severity,
    /// Quantile bins of the reference for numeric PSI (when ready profiles the data).
    pub bins: usize,
    /// PSI at or above this warns...
    pub psi_warn: f64,
    /// ...and at or above this fails.
    pub psi_fail: f64,
    /// Fewer sample values than this in a column: PSI and KS are not judged (noise dominates).
    pub min_rows: usize,
    /// A larger share of values outside the training range warns.
    pub outside_share: f64,
    /// A reference column holding the reference's predictions (the model's first output: its
    /// label, or its first value per row), compared with the sample's predictions.
    pub prediction_column: Option<String>,
    /// The most rows the model runs on for prediction drift, on each side (one drawn from each
    /// of as many equal strata, the same rows every run): the reference's (without `prediction_column`) and the sample's; 0
    /// turns prediction drift off.
    pub prediction_rows: usize,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            severity: Severity::Deny,
            bins: 10,
            psi_warn: 0.1,
            psi_fail: 0.25,
            min_rows: 100,
            outside_share: 0.01,
            prediction_column: None,
            prediction_rows: 2000,
        }
    }
}

/// Latency settings. Thresholds are in milliseconds; an absent threshold is not checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    pub severity: Severity,
    /// Untimed runs before measuring (caches, allocator, lazy initialization)...
    pub warmup_runs: usize,
    /// ...and for at least this long, whichever ends later.
    pub warmup_seconds: f64,
    /// End the warm-up early (after `warmup_seconds`) once the latency settles: three runs in a
    /// row within 20% of each other; `warmup_runs` is then the most it runs.
    pub warmup_settle: bool,
    /// At most this many timed runs per batch size.
    pub runs: usize,
    /// At most this long timing one batch size.
    pub max_seconds: f64,
    /// Stop as soon as every threshold is met by its upper confidence bound.
    pub early_stop: bool,
    /// Confidence of the upper bounds that thresholds are judged on.
    pub confidence: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Rows per request; thresholds apply to the first. A model with a static batch size
    /// is timed at that size only.
    pub batch_sizes: Vec<usize>,
    /// Threads for the throughput measurement (0 = not measured).
    pub concurrency: usize,
    /// Seconds of the throughput measurement per mode (it also ends after `runs` requests).
    pub throughput_seconds: f64,
    /// Peak resident memory of the audit after the timed runs, in MiB.
    pub max_peak_rss_mb: Option<f64>,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        Self {
            severity: Severity::Deny,
            warmup_runs: 20,
            warmup_seconds: 0.0,
            warmup_settle: true,
            runs: 2000,
            max_seconds: 10.0,
            early_stop: true,
            confidence: 0.99,
            p50_ms: None,
            p90_ms: None,
            p95_ms: None,
            p99_ms: Some(50.0),
            p999_ms: None,
            max_ms: None,
            batch_sizes: vec![1],
            concurrency: 2,
            throughput_seconds: 0.25,
            max_peak_rss_mb: None,
        }
    }
}

/// Lockfile settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockfileConfig {
    pub severity: Severity,
    /// Missing hashes fail instead of warning.
    pub require_hashes: bool,
}

impl Default for LockfileConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, require_hashes: false }
    }
}

/// Negative probes, each in a child process with a time limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RobustnessConfig {
    pub severity: Severity,
    /// Rows in the oversized-batch probe (fewer when one row is large: at most 2^26 elements).
    pub oversized_rows: usize,
    /// Seconds before a probe (and its child process) is killed and reported as a failure.
    pub timeout_s: f64,
    /// The largest batch the serving path accepts; running out of memory at or below it fails.
    pub max_batch_rows: Option<usize>,
}

impl Default for RobustnessConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, oversized_rows: 4096, timeout_s: 60.0, max_batch_rows: None }
    }
}

/// A check that compares numbers: floats match within `atol + rtol·|expected|`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToleranceConfig {
    pub severity: Severity,
    pub atol: f64,
    pub rtol: f64,
}

impl Default for ToleranceConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, atol: 1e-5, rtol: 1e-4 }
    }
}

/// Comparison with an earlier audit (`--baseline previous.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    pub severity: Severity,
    /// Relative p50 or p99 latency increase over the baseline that fails (0.2 = 20% slower).
    pub max_latency_regression: f64,
    /// A regression must also exceed this many milliseconds: microsecond-scale timings jitter
    /// by more than 20% between runs without anything having changed.
    pub min_regression_ms: f64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, max_latency_regression: 0.2, min_regression_ms: 0.05 }
    }
}

/// The deployment check: which container serves the model, and the margins above the
/// measured numbers that its declared values must leave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentConfig {
    pub severity: Severity,
    /// The container that serves the model, by name (default: the one naming the model file,
    /// else the only one).
    pub container: Option<String>,
    /// `limits.memory` >= peak memory after loading x this.
    pub memory_headroom: f64,
    /// The probes' start-up budget >= cold start x this.
    pub startup_margin: f64,
    /// Every probe's `timeoutSeconds` >= p99 x this.
    pub probe_timeout_margin: f64,
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        let margins = crate::env::deploy::Margins::default();
        Self {
            severity: Severity::Deny,
            container: None,
            memory_headroom: margins.memory_headroom,
            startup_margin: margins.startup_margin,
            probe_timeout_margin: margins.probe_timeout_margin,
        }
    }
}

impl DeploymentConfig {
    /// Every problem of the section, as (dotted field path, what is wrong).
    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (field, value) in
            [("memory_headroom", self.memory_headroom), ("startup_margin", self.startup_margin), ("probe_timeout_margin", self.probe_timeout_margin)]
        {
            if !(value.is_finite() && (1.0..=100.0).contains(&value)) {
                problems.push((format!("checks.deployment.{field}"), format!("must be a factor from 1 to 100, got {}", short(value))));
            }
        }
        if let Some(name) = &self.container
            && (name.is_empty() || name.len() > 253)
        {
            problems.push(("checks.deployment.container".into(), "must be a container name of 1 to 253 characters".into()));
        }
        problems
    }
}

/// Hardcoded paths in the model, the config and the project's serving code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HardcodedPathsConfig {
    pub severity: Severity,
    /// Path prefixes that are not findings (`/home/runner/` on a CI machine you serve from).
    pub allow: Vec<String>,
    /// Files read under --project at most; past it the scan stops and warns.
    pub max_files: usize,
    /// Larger files under --project are skipped (and counted), in KiB.
    pub max_file_kb: u64,
}

impl Default for HardcodedPathsConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, allow: Vec::new(), max_files: 5000, max_file_kb: 1024 }
    }
}

impl HardcodedPathsConfig {
    /// Every problem of the section, as (dotted field path, what is wrong).
    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let at = |field: &str| format!("checks.hardcoded_paths.{field}");
        if self.allow.len() > 1000 {
            problems.push((at("allow"), format!("must list at most 1000 prefixes, got {}", self.allow.len())));
        }
        let mut seen = std::collections::BTreeSet::new();
        for prefix in &self.allow {
            if prefix.trim().is_empty() {
                problems.push((at("allow"), "an empty prefix would allow every path".into()));
            } else if prefix.chars().count() > 4096 {
                problems.push((at("allow"), "a prefix is longer than 4096 characters".into()));
            } else if !seen.insert(prefix) {
                problems.push((at("allow"), format!("'{prefix}' is listed twice")));
            }
        }
        if !(1..=1_000_000).contains(&self.max_files) {
            problems.push((at("max_files"), format!("must be 1 to 1000000 files, got {}", self.max_files)));
        }
        if !(1..=65_536).contains(&self.max_file_kb) {
            problems.push((at("max_file_kb"), format!("must be 1 to 65536 KiB, got {}", self.max_file_kb)));
        }
        problems
    }
}

/// Most threads any thread-count setting may ask for.
pub const MAX_THREADS: usize = 1024;
/// Most rows in one latency batch.
pub const MAX_BATCH_ROWS: usize = 1 << 20;
/// Longest duration any seconds setting may give (one hour).
pub const MAX_SECONDS: f64 = 3600.0;
/// Largest millisecond threshold or floor (one hour).
pub const MAX_MS: f64 = 3_600_000.0;
/// Largest MiB setting (1 TiB).
pub const MAX_MB: f64 = 1_048_576.0;
/// Largest tolerance or relative regression (atol, rtol, 1e6 = 100,000,000%).
pub const MAX_TOLERANCE: f64 = 1e6;

/// A number as the message shows it: `1e300`, not three hundred digits.
fn short(value: f64) -> String {
    if value.abs() >= 1e15 { format!("{value:e}") } else { value.to_string() }
}

impl Config {
    /// Parses YAML text; `origin` names the file in error messages. Every unknown key, wrong
    /// type and bad value is reported in one line, each with its line and column.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, String> {
        let report = |problems: Vec<Problem>| {
            let count = problems.len();
            let noun = if count == 1 { "problem" } else { "problems" };
            let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
            format!("{origin}: {count} {noun}: {}", listed.join("; "))
        };
        let parsed = config_yaml::parse_all::<Self>(text);
        let mut problems = parsed.problems;
        // Values are validated even when other keys had the wrong type, so one run lists every
        // problem (the mistyped keys sit at their defaults, which validate).
        if let Some(config) = &parsed.value
            && let Err(invalid) = config.validate()
        {
            let at = |path: &String| parsed.positions.get(path).copied();
            problems.extend(invalid.into_iter().map(|(path, message)| Problem { position: at(&path), path, message }));
            problems.sort_by_key(|p| p.position);
        }
        match parsed.value {
            Some(mut config) if problems.is_empty() => {
                config.limits.memory_budget_set = parsed.positions.contains_key("limits.memory_budget_mb");
                Ok(config)
            }
            _ => Err(report(problems)),
        }
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Err(format!("{shown}: is a directory, expected a YAML file"));
        }
        let text = crate::sandbox::open::read_text(path, crate::sandbox::open::MAX_CONFIG_BYTES).map_err(|e| format!("{shown}: {e}"))?;
        Self::from_yaml(&text, &shown)
    }

    /// Every value problem, as (dotted field path, what is wrong). Every number has a range
    /// (README, "Configuration"): a value that parses but no audit could use (`runs: 2^64-1`,
    /// `timeout_s: 1e300`) is an error here, not a hang or a panic later.
    pub fn validate(&self) -> Result<(), Vec<(String, String)>> {
        let mut problems = crate::inputs::spec::validate(&self.dims, &self.inputs);
        if let Some(rows) = self.checks.robustness.max_batch_rows.filter(|&r| r == 0 || r > MAX_BATCH_ROWS) {
            problems.push(("checks.robustness.max_batch_rows".into(), format!("must be 1 to {MAX_BATCH_ROWS} rows, got {rows}")));
        }
        let latency = &self.checks.latency;
        let robustness = &self.checks.robustness;
        let counts = [
            ("runtime.intra_op_threads", self.runtime.intra_op_threads, 0, MAX_THREADS),
            ("runtime.inter_op_threads", self.runtime.inter_op_threads, 0, MAX_THREADS),
            ("sample.max_rows", self.sample.max_rows, 1, 10_000_000),
            ("checks.latency.warmup_runs", latency.warmup_runs, 0, 1_000_000),
            ("checks.latency.runs", latency.runs, 1, 10_000_000),
            ("checks.latency.concurrency", latency.concurrency, 0, MAX_THREADS),
            ("checks.robustness.oversized_rows", robustness.oversized_rows, 2, 1 << 26),
        ];
        for (path, value, min, max) in counts {
            if value < min {
                problems.push((path.to_string(), format!("must be at least {min}")));
            } else if value > max {
                problems.push((path.to_string(), format!("must be at most {max}, got {value}")));
            }
        }
        let sizes = &latency.batch_sizes;
        if sizes.is_empty() || sizes.len() > 64 || sizes.iter().any(|&b| b == 0 || b > MAX_BATCH_ROWS) {
            problems.push(("checks.latency.batch_sizes".into(), format!("must list 1 to 64 batch sizes of 1 to {MAX_BATCH_ROWS} rows")));
        }
        for (name, value) in [
            ("p50_ms", latency.p50_ms),
            ("p90_ms", latency.p90_ms),
            ("p95_ms", latency.p95_ms),
            ("p99_ms", latency.p99_ms),
            ("p999_ms", latency.p999_ms),
            ("max_ms", latency.max_ms),
            ("max_peak_rss_mb", latency.max_peak_rss_mb),
        ] {
            match value {
                Some(v) if !(v.is_finite() && v > 0.0) => {
                    problems.push((format!("checks.latency.{name}"), format!("must be a positive number, got {v}")));
                }
                Some(v) if v > MAX_MS => problems.push((format!("checks.latency.{name}"), format!("must be at most {MAX_MS}, got {}", short(v)))),
                _ => {}
            }
        }
        if let Some(names) = &self.checks.schema_parity.feature_names {
            if names.is_empty() {
                problems.push(("checks.schema_parity.feature_names".into(), "must list at least one column".into()));
            }
            let mut seen = std::collections::BTreeSet::new();
            for name in names {
                if !seen.insert(name) {
                    problems.push(("checks.schema_parity.feature_names".into(), format!("'{name}' is listed twice")));
                }
            }
        }
        if !(latency.confidence > 0.5 && latency.confidence < 1.0) {
            problems.push(("checks.latency.confidence".into(), format!("must be between 0.5 and 1 (exclusive), got {}", latency.confidence)));
        }
        for (name, value) in
            [("warmup_seconds", latency.warmup_seconds), ("max_seconds", latency.max_seconds), ("throughput_seconds", latency.throughput_seconds)]
        {
            if !(value.is_finite() && value >= 0.0) {
                problems.push((format!("checks.latency.{name}"), format!("must be a number of seconds ≥ 0, got {value}")));
            } else if value > MAX_SECONDS {
                problems.push((format!("checks.latency.{name}"), format!("must be at most {MAX_SECONDS} seconds, got {}", short(value))));
            }
        }
        if latency.max_seconds == 0.0 {
            problems.push(("checks.latency.max_seconds".into(), "must be more than 0".into()));
        }
        for (path, timeout) in
            [("checks.robustness.timeout_s", robustness.timeout_s), ("limits.inference_timeout_s", self.limits.inference_timeout_s)]
        {
            if !(timeout.is_finite() && timeout > 0.0) {
                problems.push((path.into(), format!("must be a positive number of seconds, got {timeout}")));
            } else if timeout > MAX_SECONDS {
                problems.push((path.into(), format!("must be at most {MAX_SECONDS} seconds, got {}", short(timeout))));
            }
        }
        for (path, value, max) in [
            ("checks.determinism.atol", self.checks.determinism.atol, MAX_TOLERANCE),
            ("checks.determinism.rtol", self.checks.determinism.rtol, MAX_TOLERANCE),
            ("checks.schema_parity.float_tolerance", self.checks.schema_parity.float_tolerance, MAX_TOLERANCE),
            ("checks.golden_parity.atol", self.checks.golden_parity.atol, MAX_TOLERANCE),
            ("checks.golden_parity.rtol", self.checks.golden_parity.rtol, MAX_TOLERANCE),
            ("checks.baseline.max_latency_regression", self.checks.baseline.max_latency_regression, MAX_TOLERANCE),
            ("readme.latency_tolerance", self.readme.latency_tolerance, MAX_TOLERANCE),
            ("readme.memory_tolerance", self.readme.memory_tolerance, MAX_TOLERANCE),
            ("checks.baseline.min_regression_ms", self.checks.baseline.min_regression_ms, MAX_MS),
            ("readme.latency_floor_ms", self.readme.latency_floor_ms, MAX_MS),
            ("limits.max_model_mb", self.limits.max_model_mb, MAX_MB),
            ("limits.max_text_sample_mb", self.limits.max_text_sample_mb, MAX_MB),
            ("limits.probe_memory_mb", self.limits.probe_memory_mb, MAX_MB),
            ("limits.inference_memory_mb", self.limits.inference_memory_mb, MAX_MB),
            ("limits.memory_budget_mb", self.limits.memory_budget_mb, MAX_MB),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                problems.push((path.to_string(), format!("must be a number ≥ 0, got {value}")));
            } else if value > max {
                problems.push((path.to_string(), format!("must be at most {max}, got {}", short(value))));
            }
        }
        let domain = &self.checks.domain;
        if !(domain.max_std.is_finite() && domain.max_std > 0.0 && domain.max_std <= MAX_TOLERANCE) {
            problems.push((
                "checks.domain.max_std".into(),
                format!("must be a number of standard deviations above 0 and at most {MAX_TOLERANCE}, got {}", short(domain.max_std)),
            ));
        }
        if !(domain.split_share > 0.0 && domain.split_share <= 1.0) {
            problems.push(("checks.domain.split_share".into(), format!("must be a share above 0 and at most 1, got {}", domain.split_share)));
        }
        let drift = &self.checks.drift;
        if !(2..=1000).contains(&drift.bins) {
            problems.push(("checks.drift.bins".into(), format!("must be 2 to 1000 bins, got {}", drift.bins)));
        }
        if !(1..=10_000_000).contains(&drift.min_rows) {
            problems.push(("checks.drift.min_rows".into(), format!("must be 1 to 10000000 rows, got {}", drift.min_rows)));
        }
        for (path, value) in [("checks.drift.psi_warn", drift.psi_warn), ("checks.drift.psi_fail", drift.psi_fail)] {
            if !(value.is_finite() && value > 0.0 && value <= 100.0) {
                problems.push((path.into(), format!("must be a PSI above 0 and at most 100, got {value}")));
            }
        }
        if drift.psi_warn > drift.psi_fail {
            problems.push(("checks.drift.psi_warn".into(), format!("must not exceed psi_fail ({}), got {}", drift.psi_fail, drift.psi_warn)));
        }
        if drift.prediction_rows > 1_000_000 {
            problems.push(("checks.drift.prediction_rows".into(), format!("must be 0 to 1000000 rows, got {}", drift.prediction_rows)));
        }
        if drift.prediction_column.as_deref().is_some_and(|c| c.trim().is_empty()) {
            problems.push(("checks.drift.prediction_column".into(), "must name a column, got an empty name".to_string()));
        }
        if !(drift.outside_share >= 0.0 && drift.outside_share <= 1.0) {
            problems.push(("checks.drift.outside_share".into(), format!("must be a share from 0 to 1, got {}", drift.outside_share)));
        }
        // 0 would be the arena's "no limit".
        if self.limits.inference_memory_mb < 1.0 && self.limits.inference_memory_mb >= 0.0 {
            problems.push(("limits.inference_memory_mb".into(), format!("must be at least 1, got {}", self.limits.inference_memory_mb)));
        }
        problems.extend(self.checks.hardcoded_paths.problems());
        problems.extend(self.checks.deployment.problems());
        // Below this no model loads beside ready itself: a typo for GiB, say.
        let budget = self.limits.memory_budget_mb;
        if budget > 0.0 && budget < MIN_BUDGET_MB {
            problems.push(("limits.memory_budget_mb".into(), format!("must be 0 (no budget) or at least {MIN_BUDGET_MB}, got {budget}")));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// The smallest memory budget, in MiB.
pub const MIN_BUDGET_MB: f64 = 128.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_default_file_is_the_built_in_default() {
        assert_eq!(Config::from_yaml(DEFAULT_YAML, "audits/default.yaml").unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let err = Config::from_yaml("checks:\n  latency:\n    p99: 5\n", "x.yaml").unwrap_err();
        assert!(err.starts_with("x.yaml: 1 problem: line 3 column 5: checks.latency.p99: unknown key"), "{err}");
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let yaml = "sample:\n  max_rows: 0\nchecks:\n  latency:\n    runs: 0\n    p99_ms: -1\n";
        let err = Config::from_yaml(yaml, "x.yaml").unwrap_err();
        assert_eq!(
            err,
            "x.yaml: 3 problems: line 2 column 13: sample.max_rows: must be at least 1; \
             line 5 column 11: checks.latency.runs: must be at least 1; \
             line 6 column 13: checks.latency.p99_ms: must be a positive number, got -1"
        );
    }

    #[test]
    fn the_memory_budget_is_none_or_at_least_enough_for_a_model() {
        let err = Config::from_yaml("limits:\n  memory_budget_mb: 64\n", "x.yaml").unwrap_err();
        assert_eq!(err, "x.yaml: 1 problem: line 2 column 21: limits.memory_budget_mb: must be 0 (no budget) or at least 128, got 64");
        let err = Config::from_yaml("limits:\n  memory_budget_mb: -1\n", "x.yaml").unwrap_err();
        assert_eq!(err, "x.yaml: 1 problem: line 2 column 21: limits.memory_budget_mb: must be a number ≥ 0, got -1");
        assert_eq!(Config::from_yaml("limits:\n  memory_budget_mb: 0\n", "x.yaml").unwrap().limits.memory_budget_mb, 0.0);
        assert_eq!(Config::default().limits.memory_budget_mb, 1024.0);
        // Set in the file or not: a manifest's limit applies only when it is not.
        assert!(Config::from_yaml("limits:\n  memory_budget_mb: 1024\n", "x.yaml").unwrap().limits.memory_budget_set);
        assert!(!Config::from_yaml("limits:\n  max_model_mb: 100\n", "x.yaml").unwrap().limits.memory_budget_set);
        assert!(!Config::default().limits.memory_budget_set);
    }

    #[test]
    fn severities_parse_and_apply_per_check() {
        let config = Config::from_yaml("checks:\n  lockfile:\n    severity: warn\n", "x.yaml").unwrap();
        assert_eq!(config.checks.severity("lockfile"), Severity::Warn);
        assert_eq!(config.checks.severity("latency"), Severity::Deny);
    }

    #[test]
    fn unknown_keys_wrong_types_and_bad_enums_are_reported_together() {
        let yaml = "runtime:\n  graph_optimization: fastest\nchecks:\n  latency:\n    runs: many\n  lockfil:\n    severity: deny\n";
        let err = Config::from_yaml(yaml, "x.yaml").unwrap_err();
        assert!(err.starts_with("x.yaml: 3 problems: "), "{err}");
        assert!(err.contains("line 2 column 23: runtime.graph_optimization: unknown variant `fastest`"), "{err}");
        assert!(err.contains("line 5 column 11: checks.latency.runs: invalid type: string \"many\""), "{err}");
        assert!(err.contains("line 6 column 3: checks.lockfil: unknown key"), "{err}");
    }

    #[test]
    fn a_wrong_type_does_not_hide_a_bad_value_elsewhere() {
        let yaml = "checks:\n  latency:\n    runs: many\n  determinism:\n    rtol: -1\nunknown: 1\n";
        let err = Config::from_yaml(yaml, "x.yaml").unwrap_err();
        assert_eq!(
            err,
            "x.yaml: 3 problems: line 3 column 11: checks.latency.runs: invalid type: string \"many\", expected usize; \
             line 5 column 11: checks.determinism.rtol: must be a number ≥ 0, got -1; \
             line 6 column 1: unknown: unknown key (expected one of: checks, dims, inputs, limits, readme, runtime, sample, unverified)"
        );
    }

    #[test]
    fn hardcoded_path_settings_are_validated_together() {
        let yaml = "checks:\n  hardcoded_paths:\n    allow: ['', /home/ci/, /home/ci/]\n    max_files: 0\n    max_file_kb: 100000\n";
        let err = Config::from_yaml(yaml, "x.yaml").unwrap_err();
        assert_eq!(
            err,
            "x.yaml: 4 problems: line 3 column 12: checks.hardcoded_paths.allow: an empty prefix would allow every path; \
             line 3 column 12: checks.hardcoded_paths.allow: '/home/ci/' is listed twice; \
             line 4 column 16: checks.hardcoded_paths.max_files: must be 1 to 1000000 files, got 0; \
             line 5 column 18: checks.hardcoded_paths.max_file_kb: must be 1 to 65536 KiB, got 100000"
        );
        let ok = Config::from_yaml("checks:\n  hardcoded_paths:\n    allow: [/home/runner/]\n", "x.yaml").unwrap();
        assert_eq!(ok.checks.hardcoded_paths.allow, ["/home/runner/"]);
        assert!(Config::from_yaml("checks:\n  hardcoded_paths:\n    alow: []\n", "x.yaml").unwrap_err().contains("unknown key"));
    }

    #[test]
    fn domain_and_drift_settings_are_range_checked() {
        let yaml = "checks:\n  domain:\n    max_std: 0\n    split_share: 1.5\n  drift:\n    bins: 1\n    psi_warn: 0.3\n    psi_fail: 0.2\n    min_rows: 0\n    outside_share: -1\n    prediction_rows: 2000000\n";
        let err = Config::from_yaml(yaml, "x.yaml").unwrap_err();
        assert!(err.starts_with("x.yaml: 7 problems: "), "{err}");
        for path in [
            "checks.domain.max_std",
            "checks.domain.split_share",
            "checks.drift.bins",
            "checks.drift.psi_warn",
            "checks.drift.min_rows",
            "checks.drift.outside_share",
            "checks.drift.prediction_rows",
        ] {
            assert!(err.contains(path), "{path}: {err}");
        }
    }

    #[test]
    fn deployment_margins_and_container_are_validated() {
        let yaml = "checks:\n  deployment:\n    memory_headroom: 0.5\n    startup_margin: -1\n    probe_timeout_margin: 200\n    container: ''\n";
        let err = Config::from_yaml(yaml, "x.yaml").unwrap_err();
        assert_eq!(
            err,
            "x.yaml: 4 problems: line 3 column 22: checks.deployment.memory_headroom: must be a factor from 1 to 100, got 0.5; \
             line 4 column 21: checks.deployment.startup_margin: must be a factor from 1 to 100, got -1; \
             line 5 column 27: checks.deployment.probe_timeout_margin: must be a factor from 1 to 100, got 200; \
             line 6 column 16: checks.deployment.container: must be a container name of 1 to 253 characters"
        );
        let ok = Config::from_yaml("checks:\n  deployment:\n    container: server\n    memory_headroom: 2\n", "x.yaml").unwrap();
        assert_eq!(ok.checks.deployment.container.as_deref(), Some("server"));
        assert_eq!(ok.checks.deployment.margins().memory_headroom, 2.0);
    }

    #[test]
    fn an_empty_file_is_the_default() {
        assert_eq!(Config::from_yaml("  \n", "x.yaml").unwrap(), Config::default());
    }
}
