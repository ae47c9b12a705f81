//! The audit report: a serializable record of every check result, and pure renderers that
//! turn it into bytes (table for people, JSON for machines). Nothing here prints. The same
//! types read an earlier JSON report back (`--baseline`, `readme --check`): [`Report::from_json`].

pub mod cost;
pub mod escape;
mod json;
mod junit;
mod markdown;
mod sarif;
mod table;

use serde::{Deserialize, Serialize};

use crate::artifact::ArtifactFormat;
use crate::checks::{Metrics, Outcome, Status};
use crate::config::Severity;
use crate::env::deploy::recommend::{Recommendation, measured_from, recommend};
use crate::env::deploy::{Margins, Measured};
use crate::machine::Machine;
use crate::runtime::RuntimeSettings;
use crate::sample::SampleFormat;

pub use json::render_json;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use sarif::render_sarif;
pub use table::render_table;

/// Version of the JSON report layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// The versioned JSON report.
    Json,
    /// JUnit XML, one testcase per check.
    Junit,
    /// A Markdown summary for CI pages.
    Markdown,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

impl Format {
    /// The format a file name implies: `.json`, `.xml`, `.md`, `.txt`, `.sarif`.
    pub fn from_extension(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "xml" => Some(Self::Junit),
            "md" | "markdown" => Some(Self::Markdown),
            "txt" => Some(Self::Table),
            "sarif" => Some(Self::Sarif),
            _ => None,
        }
    }
}

/// Renders `report` in `format`. `verbose` shows every detail line in the table.
pub fn render(report: &Report, format: Format, verbose: bool) -> Vec<u8> {
    match format {
        Format::Table => render_table(report, verbose).into_bytes(),
        Format::Json => render_json(report),
        Format::Junit => render_junit(report),
        Format::Markdown => render_markdown(report).into_bytes(),
        Format::Sarif => render_sarif(report),
    }
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ready,
    NotReady,
    /// The model loaded but never ran on a valid input: nothing about its behaviour is known.
    NotVerified,
}

/// Why an audit could not verify the model's behaviour, and what to give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotVerified {
    /// The checks that run the model and could not run.
    pub checks: Vec<String>,
    /// What the user should give so that the model runs.
    pub advice: String,
}

impl NotVerified {
    /// The one line reports print under the table.
    pub fn line(&self) -> String {
        format!("the model never ran on a valid input; could not run: {}. {}", self.checks.join(", "), self.advice)
    }
}

/// The audited file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFacts {
    pub path: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub format: ArtifactFormat,
}

/// The sample that was read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleFacts {
    pub path: String,
    pub format: SampleFormat,
    pub rows: usize,
    pub columns: Vec<String>,
    /// The shape of each tensor, for tensor samples (`.npy`, `.npz`, JSON tensors, `.pb` sets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shapes: Vec<Vec<usize>>,
    /// Set when the file holds more rows than `sample.max_rows`: only the first were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<SampleCut>,
}

/// A sample file read only in part: its first `max_rows` rows (`sample.max_rows`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleCut {
    pub max_rows: usize,
    /// Rows in the whole file, when known (Parquet's footer, JSON's text); `None` for a CSV,
    /// which is read no further than one row past the cap.
    pub file_rows: Option<u64>,
}

impl SampleFacts {
    /// `3 rows, 4 columns` for a table; `2 tensors: input [1, 512], sr []` for tensors.
    pub fn describe(&self) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if self.shapes.is_empty() {
            let rows = match &self.cut {
                None => plural(self.rows, "row", "rows"),
                Some(SampleCut { max_rows, file_rows: Some(total) }) => format!("the first {} of {total} rows (sample.max_rows)", max_rows),
                Some(SampleCut { max_rows, file_rows: None }) => format!("the first {max_rows} rows (sample.max_rows; the file holds more)"),
            };
            return format!("{rows}, {}", plural(self.columns.len(), "column", "columns"));
        }
        let named: Vec<String> = self.columns.iter().zip(&self.shapes).take(4).map(|(name, shape)| format!("{name} {shape:?}")).collect();
        let more = if self.columns.len() > 4 { format!(" and {} more", self.columns.len() - 4) } else { String::new() };
        format!("{}: {}{more}", plural(self.columns.len(), "tensor", "tensors"), named.join(", "))
    }
}

/// The runtime that ran the audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeFacts {
    pub library: String,
    pub version: String,
    pub found_via: String,
    pub settings: RuntimeSettings,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub severity: Severity,
    /// The final status after severity: a denied failure is `fail`, a warned one `warn`.
    pub status: Status,
    /// What the check itself found, before severity.
    pub found: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub metrics: Metrics,
}

impl CheckResult {
    /// Applies `severity` to a check's outcome.
    pub fn new(id: &'static str, severity: Severity, outcome: Outcome) -> Self {
        let status = match (outcome.status, severity) {
            (Status::Fail, Severity::Warn) => Status::Warn,
            (status, _) => status,
        };
        Self {
            id: id.to_string(),
            severity,
            status,
            found: outcome.status,
            summary: outcome.summary,
            details: outcome.details,
            metrics: outcome.metrics,
        }
    }
}

/// The longest summary a table cell or a JUnit message shows; JSON keeps the check's summary
/// (one line of at most [`crate::checks::SUMMARY_CHARS`]) and the details keep everything.
pub const SHORT_SUMMARY_CHARS: usize = 120;

impl CheckResult {
    /// The summary for a table cell, a JUnit message or a Markdown cell.
    pub fn short_summary(&self) -> String {
        crate::checks::one_line(&self.summary, SHORT_SUMMARY_CHARS)
    }
}

/// How many checks ended in each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

/// A whole audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub ready_version: String,
    pub verdict: Verdict,
    pub exit_code: u8,
    pub counts: Counts,
    /// Whether warnings were counted as failures (`--deny-warnings`).
    pub deny_warnings: bool,
    pub machine: Machine,
    pub model: ModelFacts,
    pub sample: Option<SampleFacts>,
    pub runtime: Option<RuntimeFacts>,
    /// The config file used, or `null` for the built-in defaults.
    pub config: Option<String>,
    pub checks: Vec<CheckResult>,
    /// Set when the verdict is `not_verified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_verified: Option<NotVerified>,
    /// What the audit itself cost (time per check and probe, memory against the budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::AuditCost>,
    /// Deployment values recommended from what was measured (memory, probes, CPU), for a
    /// pipeline to template manifests from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_recommendation: Option<Recommendation>,
}

impl Report {
    /// Assembles a report and derives its verdict: any `fail` row (or, with `deny_warnings`,
    /// any `warn` row) means not ready (exit 1).
    pub fn new(
        model: ModelFacts,
        sample: Option<SampleFacts>,
        runtime: Option<RuntimeFacts>,
        config: Option<String>,
        checks: Vec<CheckResult>,
        deny_warnings: bool,
    ) -> Self {
        let mut counts = Counts::default();
        for check in &checks {
            match check.status {
                Status::Pass => counts.pass += 1,
                Status::Warn => counts.warn += 1,
                Status::Fail => counts.fail += 1,
                Status::Skip => counts.skip += 1,
            }
        }
        let failed = counts.fail > 0 || (deny_warnings && counts.warn > 0);
        let verdict = if failed { Verdict::NotReady } else { Verdict::Ready };
        Self {
            schema_version: SCHEMA_VERSION,
            ready_version: env!("CARGO_PKG_VERSION").to_string(),
            verdict,
            exit_code: if verdict == Verdict::Ready { 0 } else { 1 },
            counts,
            deny_warnings,
            machine: Machine::current(),
            model,
            sample,
            runtime,
            config,
            checks,
            not_verified: None,
            cost: None,
            deployment_recommendation: None,
        }
    }

    /// What this audit measured that a deployment is judged against (see
    /// [`crate::env::deploy::recommend::measured_from`]): read from the serialization and
    /// latency metrics, so a report read back gives the same numbers.
    pub fn measured(&self) -> Measured {
        let metrics = |id: &str| self.check(id).map(|c| &c.metrics);
        let threads = self.runtime.as_ref().map_or(0, |r| r.settings.intra_op_threads);
        measured_from(metrics("serialization"), metrics("latency"), threads, self.machine.logical_cores)
    }

    /// Adds the deployment values recommended for what this audit measured, with `margins`.
    pub fn with_deployment_recommendation(mut self, measured: &Measured, margins: &Margins) -> Self {
        self.deployment_recommendation = Some(recommend(measured, margins));
        self
    }

    /// Adds what the audit cost.
    pub fn with_cost(mut self, cost: cost::AuditCost) -> Self {
        self.cost = Some(cost);
        self
    }

    /// Marks an audit whose model never ran on a valid input. With no failed check, the verdict
    /// becomes `not_verified`, exit code 1 when `fail` (0 otherwise); a failed audit stays
    /// `not_ready` and carries the reason too.
    pub fn mark_not_verified_if(self, why: Option<NotVerified>, fail: bool) -> Self {
        match why {
            Some(why) => self.mark_not_verified(why, fail),
            None => self,
        }
    }

    /// Reads a JSON report this `ready` (schema version [`SCHEMA_VERSION`]) wrote.
    /// The version is read first, so a report of another layout is named as such.
    pub fn from_json(text: &str) -> Result<Self, ReadReportError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(ReadReportError::NotJson)?;
        crate::inputs::unique_keys::check(text).map_err(ReadReportError::DuplicateKey)?;
        match value.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => Self::deserialize(value).map_err(ReadReportError::Layout),
            Some(found) => Err(ReadReportError::Version(found)),
            None => Err(ReadReportError::NoVersion),
        }
    }

    /// The result of check `id`, if the report has one.
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// See [`Self::mark_not_verified_if`].
    pub fn mark_not_verified(mut self, why: NotVerified, fail: bool) -> Self {
        if self.verdict == Verdict::Ready {
            self.verdict = Verdict::NotVerified;
            self.exit_code = u8::from(fail);
        }
        self.not_verified = Some(why);
        self
    }
}

/// Why a file could not be read back as a JSON report.
#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    #[error("not a JSON report: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("not a ready JSON report (no schema_version)")]
    NoVersion,
    #[error("schema_version {0} is not supported (this ready writes and reads {SCHEMA_VERSION})")]
    Version(u64),
    #[error("not a ready JSON report of schema_version {SCHEMA_VERSION}: {0}")]
    Layout(#[source] serde_json::Error),
    /// A key given twice in one object (`line 5: key 'p99_ms' appears twice ...`).
    #[error("{0}")]
    DuplicateKey(String),
}
